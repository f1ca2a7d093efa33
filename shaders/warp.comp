#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Bilinear backward warp with edge clamp: y[n, c, i, j] samples x[n, c] at
// (i + flow[n, 1, i, j], j + flow[n, 0, i, j]), coordinates clamped to the
// image (the interpolation networks' warp). Flow is [N, 2, H, W], x first.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) readonly buffer F { T flow[]; };
layout(std430, binding = 2) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint total, c, h, w;
} p;

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.total) return;
  uint hw = p.h * p.w, pix = i % hw, plane = i / hw, n = plane / p.c;
  uint oy = pix / p.w, ox = pix % p.w;
  float sx = clamp(float(ox) + LD(flow[(n * 2) * hw + pix]), 0.0, float(p.w - 1));
  float sy = clamp(float(oy) + LD(flow[(n * 2 + 1) * hw + pix]), 0.0, float(p.h - 1));
  uint x0 = uint(sx), y0 = uint(sy), x1 = min(x0 + 1, p.w - 1), y1 = min(y0 + 1, p.h - 1);
  float lx = sx - float(x0), ly = sy - float(y0);
  uint base = plane * hw;
  y[i] = ST((1.0 - ly) * ((1.0 - lx) * LD(x[base + y0 * p.w + x0]) + lx * LD(x[base + y0 * p.w + x1])) +
            ly * ((1.0 - lx) * LD(x[base + y1 * p.w + x0]) + lx * LD(x[base + y1 * p.w + x1])));
}
