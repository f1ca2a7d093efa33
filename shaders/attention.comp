#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Scaled dot-product attention, flash style: one invocation per query row,
// keys and values streamed through shared memory TK rows at a time with an
// online softmax (running max and sum), so no score matrix is ever stored.
// Layout [B, L, H, D] (what the projections produce; no transposes);
// D (spec 3) up to 256, keys and queries of any length (self or cross);
// CAUSAL (spec 4) masks keys after the query (CLIP's text encoder).
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint D = 64;
layout(constant_id = 4) const uint CAUSAL = 0;
const uint TK = 16;
layout(std430, binding = 0) readonly buffer Q { T q[]; };
layout(std430, binding = 1) readonly buffer K { T k[]; };
layout(std430, binding = 2) readonly buffer V { T v[]; };
layout(std430, binding = 3) writeonly buffer O { T o[]; };
layout(push_constant) uniform P {
  uint lq, lk, heads;
  float scale;
} p;

shared float ks[TK * D];
shared float vs[TK * D];

void main() {
  uint row = gl_GlobalInvocationID.x; // query index
  uint bh = gl_WorkGroupID.y, b = bh / p.heads, h = bh % p.heads;
  uint nthreads = gl_WorkGroupSize.x, t = gl_LocalInvocationIndex;
  bool live = row < p.lq;
  float qr[D], acc[D];
  uint qbase = ((b * p.lq + row) * p.heads + h) * D;
  for (uint d = 0; d < D; d++) {
    qr[d] = live ? LD(q[qbase + d]) * p.scale : 0.0;
    acc[d] = 0.0;
  }
  float m = -3.402823466e38, l = 0.0;
  uint kend = p.lk;
  if (CAUSAL != 0) {
    // the whole workgroup must stream the same tiles: stop after its last query
    uint last = min(gl_WorkGroupID.x * nthreads + nthreads, p.lq);
    kend = min(p.lk, last);
  }
  for (uint k0 = 0; k0 < kend; k0 += TK) {
    for (uint i = t; i < TK * D; i += nthreads) {
      uint j = k0 + i / D, d = i % D;
      uint src = ((b * p.lk + j) * p.heads + h) * D + d;
      ks[i] = j < p.lk ? LD(k[src]) : 0.0;
      vs[i] = j < p.lk ? LD(v[src]) : 0.0;
    }
    barrier();
    uint n = min(TK, kend - k0);
    for (uint j = 0; j < n; j++) {
      if (CAUSAL != 0 && k0 + j > row) break;
      float s = 0.0;
      for (uint d = 0; d < D; d++) s += qr[d] * ks[j * D + d];
      float mn = max(m, s);
      float corr = exp(m - mn), w = exp(s - mn);
      l = l * corr + w;
      for (uint d = 0; d < D; d++) acc[d] = acc[d] * corr + w * vs[j * D + d];
      m = mn;
    }
    barrier();
  }
  if (!live) return;
  float inv = 1.0 / l;
  for (uint d = 0; d < D; d++) o[qbase + d] = ST(acc[d] * inv);
}
