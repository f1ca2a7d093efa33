#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Layer norm over the last dimension, one row per workgroup.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) readonly buffer G { T gamma[]; };
layout(std430, binding = 2) readonly buffer B { T beta[]; };
layout(std430, binding = 3) writeonly buffer Y { T y[]; };
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
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256) s += LD(x[base + i]);
  float mean = wg_sum(s) / float(p.d);
  float q = 0.0;
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256) {
    float dd = LD(x[base + i]) - mean;
    q += dd * dd;
  }
  float rstd = inversesqrt(wg_sum(q) / float(p.d) + p.eps);
  for (uint i = gl_LocalInvocationIndex; i < p.d; i += 256)
    y[base + i] = ST((LD(x[base + i]) - mean) * rstd * LD(gamma[i]) + LD(beta[i]));
}
