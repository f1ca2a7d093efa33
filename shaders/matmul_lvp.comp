#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_EXT_control_flow_attributes : require
#include "storage.glsl"
// matmul for lavapipe (subgroup size 8, chosen from the capability table):
// no shared memory and no barriers, which lavapipe turns into scalar loops
// and coroutine switches (ANCHORS.md). A workgroup is one subgroup of 8
// lanes computing a 16 x 64 tile of C; lane l owns columns 8l .. 8l+7 of
// the tile. Each k-step of 4, every lane loads rows l and l+8 of A and
// broadcasts them to the others (nearly free), and loads only its own
// columns of B. Accumulators: 32 vec4 (16 rows x 8 columns).
//
// lavapipe compiles every non-uniform buffer load into a scalar loop over
// the 8 lanes, whatever its width: a vec4 load costs what one float costs.
// With VEC (chosen by the host when K, the batch strides and, without
// TRANS_B, N are multiples of 4) A and B are read through vec4 views of the
// same bindings: 10 loads per k-step instead of 40 scalar ones with bounds
// checks. Rows and columns past the edge are clamped to the last one (their
// results are computed and dropped), so the loop has no branches.
//
// Built with FK_TEX (matmul_lvp_tex, used with VEC only), A and B are also
// bound as RGBA32F / RGBA16F uniform texel buffers (bindings 8 and 9, same
// offsets) and read by texelFetch, which takes lavapipe's SIMD path instead
// of the per-lane loop. A variant, not a specialization constant: a
// declared binding counts as used and must be bound.
layout(local_size_x = 8) in;
layout(constant_id = 3) const uint TRANS_B = 0;
layout(constant_id = 4) const uint HAS_BIAS = 0;
layout(constant_id = 5) const uint VEC = 0;
layout(constant_id = 6) const uint CVEC = 0;
#ifdef FK_F16
#define T4 f16vec4
#else
#define T4 vec4
#endif
layout(std430, binding = 0) readonly buffer A { T a[]; };
layout(std430, binding = 0) readonly buffer A4 { T4 a4[]; };
layout(std430, binding = 1) readonly buffer B { T b[]; };
layout(std430, binding = 1) readonly buffer B4 { T4 b4[]; };
#ifdef FK_TEX
layout(binding = 8) uniform samplerBuffer ta;
layout(binding = 9) uniform samplerBuffer tb;
#define LDA4(i) texelFetch(ta, int(i))
#define LDB4(i) texelFetch(tb, int(i))
#else
#define LDA4(i) vec4(a4[i])
#define LDB4(i) vec4(b4[i])
#endif
layout(std430, binding = 2) readonly buffer Bias { T bias[]; };
layout(std430, binding = 3) writeonly buffer C { T c[]; };
layout(std430, binding = 3) writeonly buffer C4 { T4 c4[]; };
layout(push_constant) uniform P {
  uint M, N, K;
  uint sa, sb, sc;
} p;

float la(uint base, uint row, uint k) {
  return row < p.M && k < p.K ? LD(a[base + row * p.K + k]) : 0.0;
}
float lb(uint base, uint k, uint col) {
  if (k >= p.K || col >= p.N) return 0.0;
  return TRANS_B != 0 ? LD(b[base + col * p.K + k]) : LD(b[base + k * p.N + col]);
}

void main() {
  uint lane = gl_SubgroupInvocationID;
  uint m0 = gl_WorkGroupID.y * 16, n0 = gl_WorkGroupID.x * 64 + lane * 8, z = gl_WorkGroupID.z;
  uint abase = z * p.sa, bbase = z * p.sb;
  vec4 acc[32]; // [row * 2 + half]: columns 4 half .. 4 half + 3
  [[unroll]] for (int i = 0; i < 32; i++) acc[i] = vec4(0.0);
  // vec4 indices of this lane's A rows and B columns (VEC only)
  uint ar0 = (abase + min(m0 + lane, p.M - 1) * p.K) / 4;
  uint ar1 = (abase + min(m0 + 8 + lane, p.M - 1) * p.K) / 4;
  uint bc[8];
  [[unroll]] for (uint j = 0; j < 8; j++)
    bc[j] = TRANS_B != 0 ? (bbase + min(n0 + j, p.N - 1) * p.K) / 4
                         : (bbase + min(n0 + 4 * (j & 1), p.N - 4)) / 4;
  for (uint k = 0; k < p.K; k += 4) {
    vec4 a0, a1;
    vec4 bt[8]; // bt[j] = B[k .. k+3][n0 + j]
    if (VEC != 0) {
      a0 = LDA4(ar0 + k / 4);
      a1 = LDA4(ar1 + k / 4);
      if (TRANS_B != 0) {
        [[unroll]] for (uint j = 0; j < 8; j++) bt[j] = LDB4(bc[j] + k / 4);
      } else {
        // rows k .. k+3 of B, columns n0 .. n0+7 as two vec4 each
        vec4 r[8];
        [[unroll]] for (uint i = 0; i < 4; i++) {
          r[2 * i] = LDB4(bc[0] + (k + i) * p.N / 4);
          r[2 * i + 1] = LDB4(bc[1] + (k + i) * p.N / 4);
        }
        [[unroll]] for (uint j = 0; j < 4; j++) {
          bt[j] = vec4(r[0][j], r[2][j], r[4][j], r[6][j]);
          bt[j + 4] = vec4(r[1][j], r[3][j], r[5][j], r[7][j]);
        }
      }
    } else {
      a0 = vec4(la(abase, m0 + lane, k), la(abase, m0 + lane, k + 1),
                la(abase, m0 + lane, k + 2), la(abase, m0 + lane, k + 3));
      a1 = vec4(la(abase, m0 + 8 + lane, k), la(abase, m0 + 8 + lane, k + 1),
                la(abase, m0 + 8 + lane, k + 2), la(abase, m0 + 8 + lane, k + 3));
      [[unroll]] for (uint j = 0; j < 8; j++)
        bt[j] = vec4(lb(bbase, k, n0 + j), lb(bbase, k + 1, n0 + j), lb(bbase, k + 2, n0 + j),
                     lb(bbase, k + 3, n0 + j));
    }
#define ROW(r, src, l)                                                  \
  {                                                                     \
    vec4 av = subgroupBroadcast(src, l);                                \
    acc[2 * r] += vec4(dot(av, bt[0]), dot(av, bt[1]), dot(av, bt[2]), dot(av, bt[3])); \
    acc[2 * r + 1] += vec4(dot(av, bt[4]), dot(av, bt[5]), dot(av, bt[6]), dot(av, bt[7])); \
  }
    ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
    ROW(4, a0, 4) ROW(5, a0, 5) ROW(6, a0, 6) ROW(7, a0, 7)
    ROW(8, a1, 0) ROW(9, a1, 1) ROW(10, a1, 2) ROW(11, a1, 3)
    ROW(12, a1, 4) ROW(13, a1, 5) ROW(14, a1, 6) ROW(15, a1, 7)
#undef ROW
  }
  // acc is only ever indexed with constants (unrolled loops): a dynamically
  // indexed array becomes memory for the whole kernel. The bias is loaded
  // once per column, and with CVEC (N and the batch stride multiples of 4)
  // a row's 8 columns are stored as 2 vec4, not 8 scalar per-lane loops.
  vec4 bv0 = vec4(0.0), bv1 = vec4(0.0);
  if (HAS_BIAS != 0) {
    [[unroll]] for (uint j = 0; j < 4; j++) {
      bv0[j] = LD(bias[min(n0 + j, p.N - 1)]);
      bv1[j] = LD(bias[min(n0 + 4 + j, p.N - 1)]);
    }
  }
  bool full = CVEC != 0 && n0 + 8 <= p.N;
  uint cb = z * p.sc + n0;
  [[unroll]] for (uint r = 0; r < 16; r++) {
    uint gm = m0 + r, o = cb + gm * p.N;
    vec4 v0 = acc[2 * r] + bv0, v1 = acc[2 * r + 1] + bv1;
    if (gm < p.M) {
      if (full) {
        c4[o / 4] = T4(v0);
        c4[o / 4 + 1] = T4(v1);
      } else {
        [[unroll]] for (uint j = 0; j < 4; j++) {
          if (n0 + j < p.N) c[o + j] = ST(v0[j]);
          if (n0 + 4 + j < p.N) c[o + 4 + j] = ST(v1[j]);
        }
      }
    }
  }
}
