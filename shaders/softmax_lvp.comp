#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "storage.glsl"
// Softmax of scale * x over each row, in place, for lavapipe: one 8-lane
// subgroup per row, reduced with subgroup operations (softmax.comp's
// shared-memory reductions need barriers, which lavapipe runs as coroutine
// switches). Lane l reads elements l, l + 8, ...: the 8 lanes together read
// 8 neighbours, which lavapipe's SIMD lanes load as one row segment.
layout(local_size_x = 8) in;
layout(std430, binding = 0) buffer X { T x[]; };
layout(push_constant) uniform P {
  uint d, rows;
  float scale; // > 0
} p;

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return; // the whole subgroup leaves together
  uint base = row * p.d, l = gl_SubgroupInvocationID;
  float m = -3.402823466e38;
  for (uint i = l; i < p.d; i += 8) m = max(m, LD(x[base + i]));
  m = subgroupMax(m) * p.scale;
  float s = 0.0;
  for (uint i = l; i < p.d; i += 8) s += exp(p.scale * LD(x[base + i]) - m);
  float inv = 1.0 / subgroupAdd(s);
  for (uint i = l; i < p.d; i += 8) x[base + i] = ST(exp(p.scale * LD(x[base + i]) - m) * inv);
}
