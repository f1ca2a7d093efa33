#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Group norm, pass 1: mean and 1/sqrt(var + eps) of each (batch, group),
// one workgroup each. Two-pass variance (mean first) for accuracy on
// activations with a large mean.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) writeonly buffer S { float stats[]; };
layout(push_constant) uniform P {
  uint c, hw, groups;
  float eps;
} p;
#include "reduce.glsl"

void main() {
  uint id = gl_WorkGroupID.x; // n * groups + g
  uint cpg = p.c / p.groups, count = cpg * p.hw;
  uint base = (id / p.groups) * p.c * p.hw + (id % p.groups) * cpg * p.hw;
  float s = 0.0;
  for (uint i = gl_LocalInvocationIndex; i < count; i += 256) s += LD(x[base + i]);
  float mean = wg_sum(s) / float(count);
  float q = 0.0;
  for (uint i = gl_LocalInvocationIndex; i < count; i += 256) {
    float d = LD(x[base + i]) - mean;
    q += d * d;
  }
  float var = wg_sum(q) / float(count);
  if (gl_LocalInvocationIndex == 0) {
    stats[2 * id] = mean;
    stats[2 * id + 1] = inversesqrt(var + p.eps);
  }
}
