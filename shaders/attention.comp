#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Scaled dot-product attention, flash style: one invocation per query row,
// keys and values streamed through shared memory TK rows at a time with an
// online softmax (running max and sum), so no score matrix is ever stored.
// Layout [B, L, H, D] (what the projections produce; no transposes);
// D (spec 3) a multiple of 4 up to 256, keys and queries of any length (self or cross);
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

const uint D4 = D / 4;
const uint DA = D4 < 32 ? D4 : 32;      // first part of the head
const uint DB = D4 > 32 ? D4 - 32 : 1;  // the rest (a dummy entry when none)
const uint NB = D4 > 32 ? D4 - 32 : 0;
shared vec4 ks[TK * D4];
shared vec4 vs[TK * D4];

void main() {
  uint row = gl_GlobalInvocationID.x; // query index
  uint bh = gl_WorkGroupID.y, b = bh / p.heads, h = bh % p.heads;
  uint nthreads = gl_WorkGroupSize.x, t = gl_LocalInvocationIndex;
  bool live = row < p.lq;
  // The query and accumulator live in vec4 arrays of at most 32 entries:
  // lavapipe keeps arrays that small in registers, while longer ones went
  // to memory that its barrier (a coroutine switch) did not preserve (NaN
  // after a few hundred keys at head dim 40 as float[40]).
  vec4 qa[DA], qb[DB], aa[DA], ab[DB];
  uint qbase = ((b * p.lq + row) * p.heads + h) * D;
  for (uint d = 0; d < D4; d++) {
    vec4 v = vec4(0.0);
    if (live)
      v = vec4(LD(q[qbase + 4 * d]), LD(q[qbase + 4 * d + 1]), LD(q[qbase + 4 * d + 2]),
               LD(q[qbase + 4 * d + 3]));
    if (d < DA) qa[d] = v * p.scale; else qb[d - DA] = v * p.scale;
  }
  for (uint d = 0; d < DA; d++) aa[d] = vec4(0.0);
  for (uint d = 0; d < DB; d++) ab[d] = vec4(0.0);
  float m = -3.402823466e38, l = 0.0;
  uint kend = p.lk;
  if (CAUSAL != 0) {
    // the whole workgroup must stream the same tiles: stop after its last query
    uint last = min(gl_WorkGroupID.x * nthreads + nthreads, p.lq);
    kend = min(p.lk, last);
  }
  for (uint k0 = 0; k0 < kend; k0 += TK) {
    for (uint i = t; i < TK * D4; i += nthreads) {
      uint j = k0 + i / D4, d = i % D4;
      uint src = ((b * p.lk + j) * p.heads + h) * D + 4 * d;
      vec4 kv = vec4(0.0), vv = vec4(0.0);
      if (j < p.lk) {
        kv = vec4(LD(k[src]), LD(k[src + 1]), LD(k[src + 2]), LD(k[src + 3]));
        vv = vec4(LD(v[src]), LD(v[src + 1]), LD(v[src + 2]), LD(v[src + 3]));
      }
      ks[i] = kv;
      vs[i] = vv;
    }
    barrier();
    uint n = min(TK, kend - k0);
    for (uint j = 0; j < n; j++) {
      if (CAUSAL != 0 && k0 + j > row) break;
      float s = 0.0;
      for (uint d = 0; d < DA; d++) s += dot(qa[d], ks[j * D4 + d]);
      for (uint d = 0; d < NB; d++) s += dot(qb[d], ks[j * D4 + DA + d]);
      float mn = max(m, s);
      float corr = exp(m - mn), w = exp(s - mn);
      l = l * corr + w;
      for (uint d = 0; d < DA; d++) aa[d] = aa[d] * corr + w * vs[j * D4 + d];
      for (uint d = 0; d < NB; d++) ab[d] = ab[d] * corr + w * vs[j * D4 + DA + d];
      m = mn;
    }
    barrier();
  }
  if (!live) return;
  float inv = 1.0 / l;
  for (uint d = 0; d < D4; d++) {
    vec4 r = (d < DA ? aa[d] : ab[d - DA]) * inv;
    for (uint c = 0; c < 4; c++) o[qbase + 4 * d + c] = ST(r[c]);
  }
}
