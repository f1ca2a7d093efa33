#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Group norm, pass 2: y = (x - mean) * rstd * gamma[c] + beta[c], with
// SiLU fused when SILU (spec 3) is set.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint SILU = 0;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) readonly buffer S { float stats[]; };
layout(std430, binding = 2) readonly buffer G { T gamma[]; };
layout(std430, binding = 3) readonly buffer B { T beta[]; };
layout(std430, binding = 4) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint n, c, hw, groups;
} p;

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  uint ch = (i / p.hw) % p.c, b = i / (p.hw * p.c);
  uint id = b * p.groups + ch / (p.c / p.groups);
  float v = (LD(x[i]) - stats[2 * id]) * stats[2 * id + 1] * LD(gamma[ch]) + LD(beta[ch]);
  if (SILU != 0) v = v / (1.0 + exp(-v));
  y[i] = ST(v);
}
