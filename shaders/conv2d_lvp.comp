#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_EXT_control_flow_attributes : require
#include "storage.glsl"
// conv2d for lavapipe: matmul_lvp.comp's scheme (no shared memory, A
// broadcast across the 8-lane subgroup, 16 x 64 tiles, lane l owning 8
// columns) on the implicit GEMM C[co, col] = sum_k W[co, k] X[k, col],
// k = (ci, ky, kx). The batch is folded into the columns (col = image *
// oh*ow + pixel), so small feature maps (4x4 latents, batch 2) still fill
// the lanes.
//
// lavapipe compiles every non-uniform buffer load into a scalar loop over
// the 8 lanes, whatever its width (ANCHORS.md), so the modes below exist to
// issue fewer, wider loads; the host picks the mode:
//   0 generic: any kernel/stride/padding; per k-step of 4, W rows as vec4
//     (AVEC: K % 4 == 0) or scalars, and one gathered scalar per column, with
//     the tap (ci, ky, kx) advanced incrementally (no div/mod per element);
//   1 3x3, stride 1, pad 1, "same" size, ow % 8 == 0, cin % 4 == 0: a lane's
//     8 columns are one row segment, so per (ci, ky) the input row segment of
//     10 values (2 vec4 + 2 edge texels) serves all three kx taps;
//   2 1x1, stride 1, no padding, (oh*ow) % 8 == 0, cin % 4 == 0: a plain
//     GEMM, B read as 2 vec4 per ci;
//   3 3x3, stride 1, pad 1, "same" size, ow == 4, oh even (the 4x4
//     latents): a lane's 8 columns are two output rows, each input row is one
//     vec4, so 4 vec4 per ci serve all 9 taps.
// Modes 1-3 read W as vec4 (mode 2 for 4 input channels at once, modes 1
// and 3 one channel's 9 weights as 3) and broadcast single weights. Built with FK_TEX (conv2d_lvp_tex, for modes 1-3 and
// AVEC), X and W are also bound as RGBA32F / RGBA16F uniform texel buffers
// (bindings 8 and 9) and every vec4 load is a texelFetch, which lavapipe
// runs on its SIMD path instead of the per-lane loop of a buffer load.
// Out-of-range rows and columns are clamped to valid addresses (their
// results are dropped), and padding is a select after the load, so the
// loops have no data-dependent branches.
//
// The 128 accumulators are float variables (matmul_lvp.comp's header says
// why), and each takes a chain of products at once: in modes 1 and 3 the
// three kx taps of one kernel row, in modes 0 and 2 a dot over 4 k. Against
// the earlier vec4 array updated once per tap this ran 1.35x faster in all
// three SD shapes of bench kernels (AVX2, same run). Modes 1 and 3 loop over
// single input channels, reading a channel's 9 weights as 3 texels shifted
// by ci % 4: with 4 channels unrolled (the earlier form) LLVM took about
// 5 s to compile one pipeline, now about 1 s, at the same speed. Mode 0
// (rare in the models) still gathers B into a vec4 array: as vec4
// variables, across its tap-advance branches, it compiled about 3x slower.
layout(local_size_x = 8) in;
layout(constant_id = 3) const uint KH = 3;
layout(constant_id = 4) const uint KW = 3;
layout(constant_id = 5) const uint STRIDE = 1;
layout(constant_id = 6) const uint ACT = 0;
layout(constant_id = 7) const uint HAS_BIAS = 1;
layout(constant_id = 8) const uint MODE = 0;
layout(constant_id = 9) const uint AVEC = 0;
#ifdef FK_F16
#define T4 f16vec4
#else
#define T4 vec4
#endif
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 0) readonly buffer X4 { T4 x4[]; };
layout(std430, binding = 1) readonly buffer W { T w[]; };
layout(std430, binding = 1) readonly buffer W4 { T4 w4[]; };
#ifdef FK_TEX
layout(binding = 8) uniform samplerBuffer tx;
layout(binding = 9) uniform samplerBuffer tw;
#define LDX4(i) texelFetch(tx, int(i))
#define LDW4(i) texelFetch(tw, int(i))
#else
#define LDX4(i) vec4(x4[i])
#define LDW4(i) vec4(w4[i])
#endif
layout(std430, binding = 2) readonly buffer Bias { T bias[]; };
layout(std430, binding = 3) writeonly buffer Y { T y[]; };
// ACCUM: add what y holds (later input-channel groups of a split conv, vk_ops.c)
layout(constant_id = 10) const uint ACCUM = 0;
layout(std430, binding = 3) readonly buffer YR { T yr[]; };
layout(push_constant) uniform P {
  uint cin, h, w, cout, oh, ow;
  int pad_t, pad_l;
  float alpha;
  uint n;
} p;

// One float accumulator per output row r and column j (crJ), never a vec4
// or an array: lavapipe kept local arrays in memory and vec4 accumulators
// updated per component ran 1.6x slower (matmul_lvp.comp measured the same
// loop both ways on AVX2). Each accumulator takes a chain of 3 or 4
// products at once (a dot over taps), not one update per tap.
#define ACC(r) float c##r##_0 = 0.0, c##r##_1 = 0.0, c##r##_2 = 0.0, c##r##_3 = 0.0, c##r##_4 = 0.0, c##r##_5 = 0.0, c##r##_6 = 0.0, c##r##_7 = 0.0;
// rows 0-7 take their A values from lane r of A0, rows 8-15 from A1
#define ROWS16(R) R(0, 0, A0) R(1, 1, A0) R(2, 2, A0) R(3, 3, A0) R(4, 4, A0) R(5, 5, A0) R(6, 6, A0) R(7, 7, A0) \
  R(8, 0, A1) R(9, 1, A1) R(10, 2, A1) R(11, 3, A1) R(12, 4, A1) R(13, 5, A1) R(14, 6, A1) R(15, 7, A1)
// k-step of 4 (modes 0 and 2): a0/a1 the lane's A rows over k .. k+3, bJ
// B[k .. k+3][column J]
#define DOT8(r, l, A)                                                         \
  {                                                                           \
    vec4 av = subgroupBroadcast(A, l);                                        \
    c##r##_0 += dot(av, b0); c##r##_1 += dot(av, b1);                         \
    c##r##_2 += dot(av, b2); c##r##_3 += dot(av, b3);                         \
    c##r##_4 += dot(av, b4); c##r##_5 += dot(av, b5);                         \
    c##r##_6 += dot(av, b6); c##r##_7 += dot(av, b7);                         \
  }
// three taps t .. t+2 (one kernel row, modes 1 and 3): s0..s2 the row's
// weights, COLS3 (per mode) the inputs each column multiplies them with
// weight t (a constant, ky * 3 + kx) of the 9 of one input channel:
// A_0.xyzw, A_1.xyzw, A_2
#define WT(A, t) ((t) < 4 ? A##_0[(t) % 4] : (t) < 8 ? A##_1[(t) % 4] : A##_2)
// one input channel's 9 weights of a row, from texel base on, shifted by s
// (the channel's offset into its texel, ci % 4: K is a multiple of 4)
#define LDW9(A, base)                                                         \
  vec4 A##_0, A##_1;                                                          \
  float A##_2;                                                                \
  {                                                                           \
    vec4 t0 = LDW4(base), t1 = LDW4(base + 1), t2 = LDW4(base + 2);           \
    A##_0 = s == 0 ? t0 : s == 1 ? vec4(t0.yzw, t1.x) : s == 2 ? vec4(t0.zw, t1.xy) : vec4(t0.w, t1.xyz); \
    A##_1 = s == 0 ? t1 : s == 1 ? vec4(t1.yzw, t2.x) : s == 2 ? vec4(t1.zw, t2.xy) : vec4(t1.w, t2.xyz); \
    A##_2 = s == 0 ? t2.x : s == 1 ? t2.y : s == 2 ? t2.z : t2.w;            \
  }
#define T3(r, j, x, y, z) c##r##_##j += s0 * x + s1 * y + s2 * z;
#define TAP3(r, l, A)                                                         \
  {                                                                           \
    float s0 = subgroupBroadcast(WT(A, t), l);                                \
    float s1 = subgroupBroadcast(WT(A, t + 1), l);                            \
    float s2 = subgroupBroadcast(WT(A, t + 2), l);                            \
    COLS3(r)                                                                  \
  }

float la(uint co, uint k, uint K) {
  return k < K ? LD(w[co * K + k]) : 0.0;
}

void main() {
  uint lane = gl_SubgroupInvocationID;
  uint m0 = gl_WorkGroupID.y * 16, n0 = gl_WorkGroupID.x * 64 + lane * 8;
  uint K = p.cin * KH * KW, npix = p.oh * p.ow, ncols = p.n * npix, hw = p.h * p.w;
  ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5) ACC(6) ACC(7)
  ACC(8) ACC(9) ACC(10) ACC(11) ACC(12) ACC(13) ACC(14) ACC(15)
  // this lane's weight rows, clamped
  uint co0 = min(m0 + lane, p.cout - 1), co1 = min(m0 + 8 + lane, p.cout - 1);

  if (MODE == 0) {
    // per-column input coordinates, computed once
    uint xb[8];
    int iy0[8], ix0[8];
    [[unroll]] for (uint j = 0; j < 8; j++) {
      uint col = min(n0 + j, ncols - 1), img = col / npix, pix = col % npix;
      xb[j] = img * p.cin * hw;
      iy0[j] = int((pix / p.ow) * STRIDE) - p.pad_t;
      ix0[j] = int((pix % p.ow) * STRIDE) - p.pad_l;
    }
    uint ci = 0, ky = 0, kx = 0; // the tap of k, advanced incrementally
    for (uint k = 0; k < K; k += 4) {
      vec4 A0, A1;
      if (AVEC != 0) {
        A0 = LDW4((co0 * K + k) / 4);
        A1 = LDW4((co1 * K + k) / 4);
      } else {
        A0 = vec4(la(co0, k, K), la(co0, k + 1, K), la(co0, k + 2, K), la(co0, k + 3, K));
        A1 = vec4(la(co1, k, K), la(co1, k + 1, K), la(co1, k + 2, K), la(co1, k + 3, K));
      }
      vec4 bt[8]; // bt[j] = B[k .. k+3][column j]
      [[unroll]] for (uint i = 0; i < 4; i++) {
        bool kok = k + i < K;
        uint cb = ci * hw;
        [[unroll]] for (uint j = 0; j < 8; j++) {
          int iy = iy0[j] + int(ky), ix = ix0[j] + int(kx);
          bool ok = kok && iy >= 0 && iy < int(p.h) && ix >= 0 && ix < int(p.w);
          uint idx = ok ? xb[j] + cb + uint(iy) * p.w + uint(ix) : 0;
          float v = LD(x[idx]);
          bt[j][i] = ok ? v : 0.0;
        }
        if (++kx == KW) {
          kx = 0;
          if (++ky == KH) {
            ky = 0;
            ci++;
          }
        }
      }
      vec4 b0 = bt[0], b1 = bt[1], b2 = bt[2], b3 = bt[3], b4 = bt[4], b5 = bt[5], b6 = bt[6],
           b7 = bt[7];
      ROWS16(DOT8)
    }
  } else if (MODE == 2) {
    // 1x1: B[ci][col .. col+7] is contiguous within one image
    uint col0 = min(n0, ncols - 8), img = col0 / npix, pix0 = col0 % npix;
    uint xb = (img * p.cin * npix + pix0) / 4, q = npix / 4;
    for (uint k = 0; k < K; k += 4) {
      vec4 A0 = LDW4((co0 * K + k) / 4), A1 = LDW4((co1 * K + k) / 4);
      vec4 l0 = LDX4(xb + k * q), h0 = LDX4(xb + k * q + 1);
      vec4 l1 = LDX4(xb + (k + 1) * q), h1 = LDX4(xb + (k + 1) * q + 1);
      vec4 l2 = LDX4(xb + (k + 2) * q), h2 = LDX4(xb + (k + 2) * q + 1);
      vec4 l3 = LDX4(xb + (k + 3) * q), h3 = LDX4(xb + (k + 3) * q + 1);
      vec4 b0 = vec4(l0.x, l1.x, l2.x, l3.x), b1 = vec4(l0.y, l1.y, l2.y, l3.y);
      vec4 b2 = vec4(l0.z, l1.z, l2.z, l3.z), b3 = vec4(l0.w, l1.w, l2.w, l3.w);
      vec4 b4 = vec4(h0.x, h1.x, h2.x, h3.x), b5 = vec4(h0.y, h1.y, h2.y, h3.y);
      vec4 b6 = vec4(h0.z, h1.z, h2.z, h3.z), b7 = vec4(h0.w, h1.w, h2.w, h3.w);
      ROWS16(DOT8)
    }
  } else if (MODE == 1) {
    // 3x3 same, ow % 8 == 0: the lane's columns are pixels ox0 .. ox0+7 of
    // row oy; tap (ky, kx) of column j reads input (oy+ky-1, ox0+j+kx-1).
    uint col0 = min(n0, ncols - 8), img = col0 / npix, pix = col0 % npix;
    uint oy = pix / p.ow, ox0 = pix % p.ow;
    bool hasl = ox0 > 0, hasr = ox0 + 8 < p.w;
    uint xb = img * p.cin * hw + ox0;
    // one input channel per iteration: a loop body of 3 kernel rows (LLVM
    // compiles 4 channels unrolled several times slower, for no speed)
    for (uint ci = 0; ci < p.cin; ci++) {
      uint s = ci % 4;
      LDW9(A0, (co0 * K + ci * 9) / 4)
      LDW9(A1, (co1 * K + ci * 9) / 4)
      [[unroll]] for (uint ky = 0; ky < 3; ky++) {
        int iy = int(oy + ky) - 1;
        bool rok = iy >= 0 && iy < int(p.h);
        uint rb = xb + ci * hw + uint(clamp(iy, 0, int(p.h) - 1)) * p.w;
        // the input row from ox0-1 to ox0+8: x0 .. x9
        vec4 m0v = LDX4(rb / 4), m1v = LDX4(rb / 4 + 1);
#ifdef FK_TEX
        // rb is a multiple of 4 (ow % 8 == 0): the edge values are the
        // last of the texel before and the first of the one after
        float l = LDX4(hasl ? rb / 4 - 1 : rb / 4).w, r = LDX4(hasr ? rb / 4 + 2 : rb / 4).x;
#else
        float l = LD(x[hasl ? rb - 1 : rb]), r = LD(x[hasr ? rb + 8 : rb]);
#endif
        m0v = rok ? m0v : vec4(0.0);
        m1v = rok ? m1v : vec4(0.0);
        float x0 = rok && hasl ? l : 0.0, x9 = rok && hasr ? r : 0.0;
        float x1 = m0v.x, x2 = m0v.y, x3 = m0v.z, x4 = m0v.w;
        float x5 = m1v.x, x6 = m1v.y, x7 = m1v.z, x8 = m1v.w;
        uint t = ky * 3;
#define COLS3(r)                                                              \
  T3(r, 0, x0, x1, x2) T3(r, 1, x1, x2, x3) T3(r, 2, x2, x3, x4)              \
  T3(r, 3, x3, x4, x5) T3(r, 4, x4, x5, x6) T3(r, 5, x5, x6, x7)              \
  T3(r, 6, x6, x7, x8) T3(r, 7, x7, x8, x9)
        ROWS16(TAP3)
#undef COLS3
      }
    }
  } else if (MODE == 3) {
    // 3x3 same on 4-wide maps, oh even: columns j are pixels (oy0 + j/4,
    // j%4); input rows oy0-1 .. oy0+2, one vec4 each, zero outside.
    uint col0 = min(n0, ncols - 8), img = col0 / npix, oy0 = (col0 % npix) / 4;
    uint xb = (img * p.cin * hw) / 4;
    for (uint ci = 0; ci < p.cin; ci++) {
      uint s = ci % 4;
      LDW9(A0, (co0 * K + ci * 9) / 4)
      LDW9(A1, (co1 * K + ci * 9) / 4)
      // input rows oy0-1 .. oy0+2 of channel ci, zero outside
      vec4 i0, i1, i2, i3;
#define IROW(i, v)                                                            \
  {                                                                           \
    int iy = int(oy0 + i) - 1;                                                \
    v = LDX4(xb + ci * (hw / 4) + uint(clamp(iy, 0, int(p.h) - 1)));          \
    v = iy >= 0 && iy < int(p.h) ? v : vec4(0.0);                            \
  }
      IROW(0, i0) IROW(1, i1) IROW(2, i2) IROW(3, i3)
#undef IROW
      [[unroll]] for (uint ky = 0; ky < 3; ky++) {
        // zero-padded rows ky (output row oy0) and ky+1 (oy0+1): u, v
        vec4 ur = ky == 0 ? i0 : ky == 1 ? i1 : i2, vr = ky == 0 ? i1 : ky == 1 ? i2 : i3;
        float u1 = ur.x, u2 = ur.y, u3 = ur.z, u4 = ur.w;
        float v1 = vr.x, v2 = vr.y, v3 = vr.z, v4 = vr.w;
        uint t = ky * 3;
#define COLS3(r)                                                              \
  T3(r, 0, 0.0, u1, u2) T3(r, 1, u1, u2, u3) T3(r, 2, u2, u3, u4)             \
  T3(r, 3, u3, u4, 0.0) T3(r, 4, 0.0, v1, v2) T3(r, 5, v1, v2, v3)            \
  T3(r, 6, v2, v3, v4) T3(r, 7, v3, v4, 0.0)
        ROWS16(TAP3)
#undef COLS3
      }
    }
  }

  // the store below reads acc[row * 2 + half] (columns 4 half .. 4 half +
  // 3); built once from the accumulators, after the loops
#define ACCV(r) vec4(c##r##_0, c##r##_1, c##r##_2, c##r##_3), vec4(c##r##_4, c##r##_5, c##r##_6, c##r##_7)
  vec4 acc[32] = vec4[32](ACCV(0), ACCV(1), ACCV(2), ACCV(3), ACCV(4), ACCV(5), ACCV(6), ACCV(7),
                          ACCV(8), ACCV(9), ACCV(10), ACCV(11), ACCV(12), ACCV(13), ACCV(14), ACCV(15));
  uint yb[8]; // output offset of each column, without the channel
  [[unroll]] for (uint j = 0; j < 8; j++) {
    uint col = min(n0 + j, ncols - 1), img = col / npix;
    yb[j] = img * p.cout * npix + col % npix;
  }
  [[unroll]] for (uint r = 0; r < 16; r++) {
    uint co = m0 + r;
    float bv = HAS_BIAS != 0 ? LD(bias[min(co, p.cout - 1)]) : 0.0;
    [[unroll]] for (uint j = 0; j < 8; j++) {
      float v = acc[2 * r + j / 4][j % 4] + bv;
      if (ACCUM != 0 && co < p.cout && n0 + j < ncols) v += LD(yr[yb[j] + co * npix]);
      if (ACT == 1) v = v / (1.0 + exp(-v));
      else if (ACT == 2) v = v >= 0.0 ? v : p.alpha * v;
      if (co < p.cout && n0 + j < ncols) y[yb[j] + co * npix] = ST(v);
    }
  }
}
