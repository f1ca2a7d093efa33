#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "storage.glsl"
// Softmax of scale * x over each row, in place, for lavapipe: one 8-lane
// subgroup per row, reduced with subgroup operations (softmax.comp's
// shared-memory reductions need barriers, which lavapipe runs as coroutine
// switches). Lane l reads elements l, l + 8, ...: the 8 lanes together read
// 8 neighbours, which lavapipe's SIMD lanes load as one row segment.
//
// Built with FK_TEX (softmax_lvp_tex, for rows of a multiple of 4), the
// row is read as vec4 texels of a uniform texel buffer over the same
// memory (binding 8), which lavapipe loads on its SIMD path instead of a
// per-lane scalar loop, and the maximum and the sum are taken in one read
// (the sum rescaled when the maximum grows), so the row is read twice
// instead of three times. Every element is read before the same lane
// writes it and never after, so the texel view cannot see a stale value.
layout(local_size_x = 8) in;
layout(std430, binding = 0) buffer X { T x[]; };
#ifdef FK_TEX
#ifdef FK_F16
#define T4 f16vec4
#else
#define T4 vec4
#endif
layout(std430, binding = 0) buffer X4 { T4 x4[]; };
layout(binding = 8) uniform samplerBuffer tx;
#endif
layout(push_constant) uniform P {
  uint d, rows;
  float scale; // > 0
} p;

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return; // the whole subgroup leaves together
  uint l = gl_SubgroupInvocationID;
#ifdef FK_TEX
  uint base = row * (p.d / 4), n = p.d / 4;
  float m = -3.402823466e38, s = 0.0;
  for (uint i = l; i < n; i += 8) {
    vec4 v = p.scale * texelFetch(tx, int(base + i));
    float mn = max(m, max(max(v.x, v.y), max(v.z, v.w)));
    vec4 ev = exp(v - mn);
    s = s * exp(m - mn) + (ev.x + ev.y) + (ev.z + ev.w);
    m = mn;
  }
  float mx = subgroupMax(m);
  float inv = 1.0 / subgroupAdd(s * exp(m - mx));
  for (uint i = l; i < n; i += 8)
    x4[base + i] = T4(exp(p.scale * texelFetch(tx, int(base + i)) - mx) * inv);
#else
  uint base = row * p.d;
  float m = -3.402823466e38;
  for (uint i = l; i < p.d; i += 8) m = max(m, LD(x[base + i]));
  m = subgroupMax(m) * p.scale;
  float s = 0.0;
  for (uint i = l; i < p.d; i += 8) s += exp(p.scale * LD(x[base + i]) - m);
  float inv = 1.0 / subgroupAdd(s);
  for (uint i = l; i < p.d; i += 8) x[base + i] = ST(exp(p.scale * LD(x[base + i]) - m) * inv);
#endif
}
