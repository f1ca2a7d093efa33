#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Spatial resampling of NCHW tensors, one output element per invocation.
// MODE (spec 3): 0 nearest (to any size, usually twice), 1 bilinear resize (torch's
// align_corners=False: source = (dst + 0.5) * in/out - 0.5, clamped at 0),
// 2 average pool 2x2 (floor halving), 3 pixel shuffle by R (spec 4).
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint MODE = 0;
layout(constant_id = 4) const uint R = 2;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint total;      // output elements
  uint c, h, w;    // input channels and size
  uint oc, oh, ow; // output channels and size
} p;

float at(uint plane, uint yy, uint xx) { return LD(x[(plane * p.h + yy) * p.w + xx]); }

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.total) return;
  uint ox = i % p.ow, oy = (i / p.ow) % p.oh, plane = i / (p.ow * p.oh); // n * oc + c
  float v;
  if (MODE == 0) {
    v = at(plane, oy * p.h / p.oh, ox * p.w / p.ow);
  } else if (MODE == 1) {
    float sy = max((float(oy) + 0.5) * float(p.h) / float(p.oh) - 0.5, 0.0);
    float sx = max((float(ox) + 0.5) * float(p.w) / float(p.ow) - 0.5, 0.0);
    uint y0 = min(uint(sy), p.h - 1), x0 = min(uint(sx), p.w - 1);
    uint y1 = min(y0 + 1, p.h - 1), x1 = min(x0 + 1, p.w - 1);
    float ly = sy - float(y0), lx = sx - float(x0);
    v = (1.0 - ly) * ((1.0 - lx) * at(plane, y0, x0) + lx * at(plane, y0, x1)) +
        ly * ((1.0 - lx) * at(plane, y1, x0) + lx * at(plane, y1, x1));
  } else if (MODE == 2) {
    v = 0.25 * (at(plane, 2 * oy, 2 * ox) + at(plane, 2 * oy, 2 * ox + 1) +
                at(plane, 2 * oy + 1, 2 * ox) + at(plane, 2 * oy + 1, 2 * ox + 1));
  } else {
    uint n = plane / p.oc, c = plane % p.oc;
    uint src = (n * p.c + c * R * R + (oy % R) * R + (ox % R));
    v = at(src, oy / R, ox / R);
  }
  y[i] = ST(v);
}
