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
//     10 values (2 vec4 + 2 scalars) serves all three kx taps;
//   2 1x1, stride 1, no padding, (oh*ow) % 8 == 0, cin % 4 == 0: a plain
//     GEMM, B read as 2 vec4 per ci;
//   3 3x3, stride 1, pad 1, "same" size, ow == 4, oh even (the 4x4
//     latents): a lane's 8 columns are two output rows, each input row is one
//     vec4, so 4 vec4 per ci serve all 9 taps.
// Modes 1-3 read W for 4 input channels at once as vec4 and broadcast
// single weights. Built with FK_TEX (conv2d_lvp_tex, for modes 1-3 and
// AVEC), X and W are also bound as RGBA32F / RGBA16F uniform texel buffers
// (bindings 8 and 9) and every vec4 load is a texelFetch, which lavapipe
// runs on its SIMD path instead of the per-lane loop of a buffer load. Out-of-range rows and columns are clamped to valid
// addresses (their results are dropped), and padding is a select after the
// load, so the loops have no data-dependent branches.
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

// acc[row r] += a(row r) * (lo, hi) for the 16 rows; a(row r) is component
// C of lane (r % 8)'s A0 (rows 0-7) or A1 (rows 8-15), broadcast.
#define FMA8(src, base, lo, hi)                                               \
  {                                                                           \
    float s0 = subgroupBroadcast(src, 0), s1 = subgroupBroadcast(src, 1);     \
    float s2 = subgroupBroadcast(src, 2), s3 = subgroupBroadcast(src, 3);     \
    float s4 = subgroupBroadcast(src, 4), s5 = subgroupBroadcast(src, 5);     \
    float s6 = subgroupBroadcast(src, 6), s7 = subgroupBroadcast(src, 7);     \
    acc[base + 0] += s0 * lo; acc[base + 1] += s0 * hi;                       \
    acc[base + 2] += s1 * lo; acc[base + 3] += s1 * hi;                       \
    acc[base + 4] += s2 * lo; acc[base + 5] += s2 * hi;                       \
    acc[base + 6] += s3 * lo; acc[base + 7] += s3 * hi;                       \
    acc[base + 8] += s4 * lo; acc[base + 9] += s4 * hi;                       \
    acc[base + 10] += s5 * lo; acc[base + 11] += s5 * hi;                     \
    acc[base + 12] += s6 * lo; acc[base + 13] += s6 * hi;                     \
    acc[base + 14] += s7 * lo; acc[base + 15] += s7 * hi;                     \
  }
#define FMA16(a0, a1, lo, hi) FMA8(a0, 0, lo, hi) FMA8(a1, 16, lo, hi)

// k-step of 4 with A rows as vec4 broadcasts and bt[j] = B[k..k+3][col j]
#define STEP4(a0, a1, bt)                                                     \
  {                                                                           \
    [[unroll]] for (uint i = 0; i < 4; i++) {                                 \
      vec4 lo = vec4(bt[0][i], bt[1][i], bt[2][i], bt[3][i]);                 \
      vec4 hi = vec4(bt[4][i], bt[5][i], bt[6][i], bt[7][i]);                 \
      FMA16(a0[i], a1[i], lo, hi)                                             \
    }                                                                         \
  }

float la(uint co, uint k, uint K) {
  return k < K ? LD(w[co * K + k]) : 0.0;
}

void main() {
  uint lane = gl_SubgroupInvocationID;
  uint m0 = gl_WorkGroupID.y * 16, n0 = gl_WorkGroupID.x * 64 + lane * 8;
  uint K = p.cin * KH * KW, npix = p.oh * p.ow, ncols = p.n * npix, hw = p.h * p.w;
  // [row * 2 + half]: columns 4 half .. 4 half + 3. Only ever indexed with
  // constants (unrolled loops): a dynamically indexed array becomes memory,
  // which lavapipe's coroutine frames make very slow to compile.
  vec4 acc[32];
  [[unroll]] for (int i = 0; i < 32; i++) acc[i] = vec4(0.0);
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
      vec4 a0, a1;
      if (AVEC != 0) {
        a0 = LDW4((co0 * K + k) / 4);
        a1 = LDW4((co1 * K + k) / 4);
      } else {
        a0 = vec4(la(co0, k, K), la(co0, k + 1, K), la(co0, k + 2, K), la(co0, k + 3, K));
        a1 = vec4(la(co1, k, K), la(co1, k + 1, K), la(co1, k + 2, K), la(co1, k + 3, K));
      }
      vec4 bt[8];
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
      STEP4(a0, a1, bt)
    }
  } else if (MODE == 2) {
    // 1x1: B[ci][col .. col+7] is contiguous within one image
    uint col0 = min(n0, ncols - 8), img = col0 / npix, pix0 = col0 % npix;
    uint xb = (img * p.cin * npix + pix0) / 4, q = npix / 4;
    for (uint k = 0; k < K; k += 4) {
      vec4 a0 = LDW4((co0 * K + k) / 4), a1 = LDW4((co1 * K + k) / 4);
      [[unroll]] for (uint i = 0; i < 4; i++) {
        vec4 lo = LDX4(xb + (k + i) * q), hi = LDX4(xb + (k + i) * q + 1);
        FMA16(a0[i], a1[i], lo, hi)
      }
    }
  } else if (MODE == 1) {
    // 3x3 same, ow % 8 == 0: the lane's columns are pixels ox0 .. ox0+7 of
    // row oy; tap (ky, kx) of column j reads input (oy+ky-1, ox0+j+kx-1).
    uint col0 = min(n0, ncols - 8), img = col0 / npix, pix = col0 % npix;
    uint oy = pix / p.ow, ox0 = pix % p.ow;
    bool hasl = ox0 > 0, hasr = ox0 + 8 < p.w;
    uint xb = img * p.cin * hw + ox0;
    for (uint c4 = 0; c4 < p.cin; c4 += 4) {
      // W[co][c4 .. c4+3][3][3]: 36 weights = 9 vec4 per row
      vec4 A0[9], A1[9];
      uint wb0 = (co0 * K + c4 * 9) / 4, wb1 = (co1 * K + c4 * 9) / 4;
      [[unroll]] for (uint v = 0; v < 9; v++) {
        A0[v] = LDW4(wb0 + v);
        A1[v] = LDW4(wb1 + v);
      }
      [[unroll]] for (uint cl = 0; cl < 4; cl++) {
        [[unroll]] for (uint ky = 0; ky < 3; ky++) {
          int iy = int(oy + ky) - 1;
          bool rok = iy >= 0 && iy < int(p.h);
          uint rb = xb + (c4 + cl) * hw + uint(clamp(iy, 0, int(p.h) - 1)) * p.w;
          // the input row from ox0-1 to ox0+8
          vec4 m0v = LDX4(rb / 4), m1v = LDX4(rb / 4 + 1);
#ifdef FK_TEX
          // rb is a multiple of 4 (ow % 8 == 0): the edge values are the
          // last of the texel before and the first of the one after
          float l = LDX4(hasl ? rb / 4 - 1 : rb / 4).w, r = LDX4(hasr ? rb / 4 + 2 : rb / 4).x;
#else
          float l = LD(x[hasl ? rb - 1 : rb]), r = LD(x[hasr ? rb + 8 : rb]);
#endif
          l = hasl ? l : 0.0;
          r = hasr ? r : 0.0;
          float row[10] = float[10](l, m0v.x, m0v.y, m0v.z, m0v.w, m1v.x, m1v.y, m1v.z, m1v.w, r);
          if (!rok)
            [[unroll]] for (uint i = 0; i < 10; i++) row[i] = 0.0;
          [[unroll]] for (uint kx = 0; kx < 3; kx++) {
            uint t = cl * 9 + ky * 3 + kx;
            vec4 lo = vec4(row[kx], row[kx + 1], row[kx + 2], row[kx + 3]);
            vec4 hi = vec4(row[kx + 4], row[kx + 5], row[kx + 6], row[kx + 7]);
            FMA16(A0[t / 4][t % 4], A1[t / 4][t % 4], lo, hi)
          }
        }
      }
    }
  } else if (MODE == 3) {
    // 3x3 same on 4-wide maps, oh even: columns j are pixels (oy0 + j/4,
    // j%4); input rows oy0-1 .. oy0+2, one vec4 each, zero outside.
    uint col0 = min(n0, ncols - 8), img = col0 / npix, oy0 = (col0 % npix) / 4;
    uint xb = (img * p.cin * hw) / 4;
    for (uint c4 = 0; c4 < p.cin; c4 += 4) {
      vec4 A0[9], A1[9];
      uint wb0 = (co0 * K + c4 * 9) / 4, wb1 = (co1 * K + c4 * 9) / 4;
      [[unroll]] for (uint v = 0; v < 9; v++) {
        A0[v] = LDW4(wb0 + v);
        A1[v] = LDW4(wb1 + v);
      }
      [[unroll]] for (uint cl = 0; cl < 4; cl++) {
        float rows[4][6]; // zero-padded input rows: rows[i][ix + 1]
        [[unroll]] for (uint i = 0; i < 4; i++) {
          int iy = int(oy0 + i) - 1;
          bool rok = iy >= 0 && iy < int(p.h);
          vec4 v = LDX4(xb + (c4 + cl) * (hw / 4) + uint(clamp(iy, 0, int(p.h) - 1)));
          v = rok ? v : vec4(0.0);
          rows[i] = float[6](0.0, v.x, v.y, v.z, v.w, 0.0);
        }
        [[unroll]] for (uint ky = 0; ky < 3; ky++) {
          [[unroll]] for (uint kx = 0; kx < 3; kx++) {
            uint t = cl * 9 + ky * 3 + kx;
            vec4 lo = vec4(rows[ky][kx], rows[ky][kx + 1], rows[ky][kx + 2], rows[ky][kx + 3]);
            vec4 hi = vec4(rows[ky + 1][kx], rows[ky + 1][kx + 1], rows[ky + 1][kx + 2],
                           rows[ky + 1][kx + 3]);
            FMA16(A0[t / 4][t % 4], A1[t / 4][t % 4], lo, hi)
          }
        }
      }
    }
  }

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
