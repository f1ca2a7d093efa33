#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// One pass of the separable Gaussian blur over an [H, W, C] image, edge
// pixels repeated (scipy's mode 'nearest'). DIR (spec 3): 0 along x, 1 along y.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint DIR = 0;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) writeonly buffer Y { T y[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(push_constant) uniform P {
  int h;
  int w;
  int c;
  int radius;
} p;

void main() {
  int q = int(gl_GlobalInvocationID.x); // column
  int r = int(gl_GlobalInvocationID.y); // row
  if (q >= p.w || r >= p.h) return;
  for (int k = 0; k < p.c; k++) {
    float acc = 0.0;
    for (int j = -p.radius; j <= p.radius; j++) {
      int qq = DIR == 0 ? clamp(q + j, 0, p.w - 1) : q;
      int rr = DIR == 1 ? clamp(r + j, 0, p.h - 1) : r;
      acc += wt[j + p.radius] * LD(x[(rr * p.w + qq) * p.c + k]);
    }
    y[(r * p.w + q) * p.c + k] = ST(acc);
  }
}
