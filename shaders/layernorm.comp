#version 450
#extension GL_GOOGLE_include_directive : require
// Layer norm over the last dimension, one row per workgroup.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer B { float beta[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint d, rows;
  float eps;
} p;
#include "reduce.glsl"

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return;
  uint base = row * p.d;
  float s = 0.0;
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256) s += x[base + i];
  float mean = wg_sum(s) / float(p.d);
  float q = 0.0;
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256) {
    float dd = x[base + i] - mean;
    q += dd * dd;
  }
  float rstd = inversesqrt(wg_sum(q) / float(p.d) + p.eps);
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256)
    y[base + i] = (x[base + i] - mean) * rstd * gamma[i] + beta[i];
}
