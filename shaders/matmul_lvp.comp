#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_EXT_control_flow_attributes : require
#include "storage.glsl"
// matmul for lavapipe (subgroup size 8, chosen from the capability table):
// no shared memory and no barriers, which lavapipe turns into scalar loops
// and coroutine switches (ANCHORS.md). A workgroup is one subgroup of 8
// lanes computing a tile of C of 16 rows (TALL) or 8, and 8 columns per
// lane or 16 (WIDE); lane l owns the tile's columns l*cols .. l*cols +
// cols-1. Each k-step of 4, every lane loads row l (and l+8) of A and
// broadcasts it to the others, and loads only its own columns of B. The
// host picks the block per device: the broadcasts are not free (one per
// row and k per lane), so 16 columns per broadcast (16 x 16) measured
// 1.15x faster than 8 x 16 on AVX2, where all of them spill the
// accumulators anyway; 16 x 8 was measured best on AVX-512.
//
// The accumulators are 4 to 16 x 16 float variables, each taking a 4-term
// dot per k-step: as 32 vec4 in an array (the earlier form) the same loop
// ran 1.66x slower, and as vec4 variables 1.6-1.9x slower (AVX2, same
// run; lavapipe's vectors across lanes make every vec4 4 registers anyway).
//
// lavapipe compiles every non-uniform buffer load into a scalar loop over
// the 8 lanes, whatever its width: a vec4 load costs what one float costs.
// With VEC (chosen by the host when K, the batch strides and, without
// TRANS_B, N are multiples of 4) A and B are read through vec4 views of the
// same bindings: 10 loads per k-step (16 x 8) instead of 40 scalar ones
// with bounds checks. Rows and columns past the edge are clamped to the last one (their
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
layout(constant_id = 7) const uint TALL = 1; // 16 rows per workgroup, else 8
layout(constant_id = 8) const uint WIDE = 0; // 16 columns per lane, else 8
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

// crgJ: the accumulator of row r, column 4g + J (see the header: floats,
// never an array or vec4s)
#define ACC4(r, g) float c##r##_##g##0 = 0.0, c##r##_##g##1 = 0.0, c##r##_##g##2 = 0.0, c##r##_##g##3 = 0.0;
#define ACC(r) ACC4(r, 0) ACC4(r, 1) ACC4(r, 2) ACC4(r, 3)
// columns 4g .. 4g+3 of row r += av times those columns of B
#define D4(r, g, av, x0, x1, x2, x3)                                          \
  c##r##_##g##0 += dot(av, x0);                                               \
  c##r##_##g##1 += dot(av, x1);                                               \
  c##r##_##g##2 += dot(av, x2);                                               \
  c##r##_##g##3 += dot(av, x3);
// row r of the tile += its A values (lane l of src, broadcast) times B
#define ROW(r, src, l)                                                        \
  {                                                                           \
    vec4 av = subgroupBroadcast(src, l);                                      \
    D4(r, 0, av, q0, q1, q2, q3)                                              \
    D4(r, 1, av, q4, q5, q6, q7)                                              \
    if (WIDE != 0) {                                                          \
      D4(r, 2, av, q8, q9, q10, q11)                                          \
      D4(r, 3, av, q12, q13, q14, q15)                                        \
    }                                                                         \
  }
// B[k .. k+3][column j] into bj: a vec4 of column j's row (TRANS_B), or the
// transpose of 4 row segments
#define LDBT(j) q##j = LDB4(bc##j + k / 4);
#define LDBR(g, j0, j1, j2, j3)                                               \
  {                                                                           \
    vec4 r0 = LDB4(bg##g + k * p.N / 4), r1 = LDB4(bg##g + (k + 1) * p.N / 4);   \
    vec4 r2 = LDB4(bg##g + (k + 2) * p.N / 4), r3 = LDB4(bg##g + (k + 3) * p.N / 4); \
    q##j0 = vec4(r0.x, r1.x, r2.x, r3.x);                                     \
    q##j1 = vec4(r0.y, r1.y, r2.y, r3.y);                                     \
    q##j2 = vec4(r0.z, r1.z, r2.z, r3.z);                                     \
    q##j3 = vec4(r0.w, r1.w, r2.w, r3.w);                                     \
  }
#define LDBS(j) q##j = vec4(lb(bbase, k, n0 + j), lb(bbase, k + 1, n0 + j), lb(bbase, k + 2, n0 + j), lb(bbase, k + 3, n0 + j));

void main() {
  uint lane = gl_SubgroupInvocationID, rows = TALL != 0 ? 16 : 8, cols = WIDE != 0 ? 16 : 8;
  uint m0 = gl_WorkGroupID.y * rows, n0 = gl_WorkGroupID.x * 8 * cols + lane * cols;
  uint z = gl_WorkGroupID.z, abase = z * p.sa, bbase = z * p.sb;
  ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5) ACC(6) ACC(7)
  ACC(8) ACC(9) ACC(10) ACC(11) ACC(12) ACC(13) ACC(14) ACC(15)
  // vec4 indices of this lane's A rows and B columns (VEC only), clamped
  uint ar0 = (abase + min(m0 + lane, p.M - 1) * p.K) / 4;
  uint ar1 = (abase + min(m0 + 8 + lane, p.M - 1) * p.K) / 4;
#define BC(j) uint bc##j = (bbase + min(n0 + j, p.N - 1) * p.K) / 4;
  BC(0) BC(1) BC(2) BC(3) BC(4) BC(5) BC(6) BC(7)
  BC(8) BC(9) BC(10) BC(11) BC(12) BC(13) BC(14) BC(15)
#undef BC
#define BG(g) uint bg##g = (bbase + min(n0 + 4 * g, p.N - 4)) / 4;
  BG(0) BG(1) BG(2) BG(3)
#undef BG
  for (uint k = 0; k < p.K; k += 4) {
    vec4 a0, a1 = vec4(0.0);
    vec4 q0, q1, q2, q3, q4, q5, q6, q7;
    vec4 q8 = vec4(0.0), q9 = q8, q10 = q8, q11 = q8, q12 = q8, q13 = q8, q14 = q8, q15 = q8;
    if (VEC != 0) {
      a0 = LDA4(ar0 + k / 4);
      if (TALL != 0) a1 = LDA4(ar1 + k / 4);
      if (TRANS_B != 0) {
        LDBT(0) LDBT(1) LDBT(2) LDBT(3) LDBT(4) LDBT(5) LDBT(6) LDBT(7)
        if (WIDE != 0) { LDBT(8) LDBT(9) LDBT(10) LDBT(11) LDBT(12) LDBT(13) LDBT(14) LDBT(15) }
      } else {
        LDBR(0, 0, 1, 2, 3) LDBR(1, 4, 5, 6, 7)
        if (WIDE != 0) { LDBR(2, 8, 9, 10, 11) LDBR(3, 12, 13, 14, 15) }
      }
    } else {
      a0 = vec4(la(abase, m0 + lane, k), la(abase, m0 + lane, k + 1),
                la(abase, m0 + lane, k + 2), la(abase, m0 + lane, k + 3));
      if (TALL != 0)
        a1 = vec4(la(abase, m0 + 8 + lane, k), la(abase, m0 + 8 + lane, k + 1),
                  la(abase, m0 + 8 + lane, k + 2), la(abase, m0 + 8 + lane, k + 3));
      LDBS(0) LDBS(1) LDBS(2) LDBS(3) LDBS(4) LDBS(5) LDBS(6) LDBS(7)
      if (WIDE != 0) { LDBS(8) LDBS(9) LDBS(10) LDBS(11) LDBS(12) LDBS(13) LDBS(14) LDBS(15) }
    }
    ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
    ROW(4, a0, 4) ROW(5, a0, 5) ROW(6, a0, 6) ROW(7, a0, 7)
    if (TALL != 0) {
      ROW(8, a1, 0) ROW(9, a1, 1) ROW(10, a1, 2) ROW(11, a1, 3)
      ROW(12, a1, 4) ROW(13, a1, 5) ROW(14, a1, 6) ROW(15, a1, 7)
    }
  }
  // The bias is loaded once per column, and with CVEC (N and the batch
  // stride multiples of 4) a row's columns are stored as vec4s, not scalar
  // per-lane loops.
  vec4 bv0 = vec4(0.0), bv1 = bv0, bv2 = bv0, bv3 = bv0;
  if (HAS_BIAS != 0) {
    [[unroll]] for (uint j = 0; j < 4; j++) {
      bv0[j] = LD(bias[min(n0 + j, p.N - 1)]);
      bv1[j] = LD(bias[min(n0 + 4 + j, p.N - 1)]);
      if (WIDE != 0) {
        bv2[j] = LD(bias[min(n0 + 8 + j, p.N - 1)]);
        bv3[j] = LD(bias[min(n0 + 12 + j, p.N - 1)]);
      }
    }
  }
  bool full = CVEC != 0 && n0 + cols <= p.N;
  uint cb = z * p.sc + n0;
#define STG(r, g, v)                                                          \
  if (full)                                                                   \
    c4[o / 4 + g] = T4(v);                                                    \
  else                                                                        \
    [[unroll]] for (uint j = 0; j < 4; j++)                                   \
      if (n0 + 4 * g + j < p.N) c[o + 4 * g + j] = ST(v[j]);
#define V4(r, g) vec4(c##r##_##g##0, c##r##_##g##1, c##r##_##g##2, c##r##_##g##3)
#define STR(r)                                                                \
  if (m0 + r < p.M && (r < 8 || TALL != 0)) {                                 \
    uint o = cb + (m0 + r) * p.N;                                             \
    STG(r, 0, (V4(r, 0) + bv0)) STG(r, 1, (V4(r, 1) + bv1))                   \
    if (WIDE != 0) { STG(r, 2, (V4(r, 2) + bv2)) STG(r, 3, (V4(r, 3) + bv3)) } \
  }
  STR(0) STR(1) STR(2) STR(3) STR(4) STR(5) STR(6) STR(7)
  STR(8) STR(9) STR(10) STR(11) STR(12) STR(13) STR(14) STR(15)
}
