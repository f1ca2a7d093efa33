#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Softmax over the last dimension, one row per workgroup, max-subtracted.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint d, rows;
} p;
#include "reduce.glsl"

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return;
  uint base = row * p.d;
  float m = -3.402823466e38;
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256) m = max(m, LD(x[base + i]));
  m = wg_max(m);
  float s = 0.0;
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256) s += exp(LD(x[base + i]) - m);
  float inv = 1.0 / wg_sum(s);
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256) y[base + i] = ST(exp(LD(x[base + i]) - m) * inv);
}
