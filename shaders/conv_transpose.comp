#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Transposed 2-d convolution (RIFE's 4x4 stride 2 upsampler), gathered:
// y[co, oy, ox] = bias[co] + sum over ci, ky, kx with oy = iy*S - P + ky
// (and likewise x) of x[ci, iy, ix] * w[ci, co, ky, kx]; torch's
// ConvTranspose2d weight layout [Cin, Cout, K, K]. One output per invocation.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const int K = 4;
layout(constant_id = 4) const int S = 2;
layout(constant_id = 5) const uint HAS_BIAS = 1;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) readonly buffer W { T w[]; };
layout(std430, binding = 2) readonly buffer Bias { T bias[]; };
layout(std430, binding = 3) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint total;
  int cin, h, w, cout, oh, ow, pad;
} p;

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.total) return;
  int ox = int(i % uint(p.ow)), oy = int((i / uint(p.ow)) % uint(p.oh));
  int co = int((i / uint(p.ow * p.oh)) % uint(p.cout)), n = int(i / uint(p.ow * p.oh * p.cout));
  float acc = HAS_BIAS != 0 ? LD(bias[co]) : 0.0;
  for (int ky = 0; ky < K; ky++) {
    int ty = oy + p.pad - ky;
    if (ty < 0 || ty % S != 0 || ty / S >= p.h) continue;
    int iy = ty / S;
    for (int kx = 0; kx < K; kx++) {
      int tx = ox + p.pad - kx;
      if (tx < 0 || tx % S != 0 || tx / S >= p.w) continue;
      int ix = tx / S;
      for (int ci = 0; ci < p.cin; ci++)
        acc += LD(x[((n * p.cin + ci) * p.h + iy) * p.w + ix]) * LD(w[((ci * p.cout + co) * K + ky) * K + kx]);
    }
  }
  y[i] = ST(acc);
}
