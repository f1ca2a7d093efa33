#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// conv2d as an implicit GEMM (no im2col buffer): C[co, pixel] =
// sum over k = (ci, ky, kx) of W[co, k] * X[ci, iy, ix], with the input
// patch gathered into shared memory tile by tile. Any kernel size, stride,
// and per-side zero padding (3x3 pad 1, 1x1, FILM's 2x2 with right/bottom
// padding). Bias and an activation (ACT: 0 none, 1 SiLU, 2 LeakyReLU) are
// fused into the store; ACCUM adds what y holds (the sum over input-channel
// groups of a split convolution, vk_ops.c). NCHW, fp32 accumulation.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint KH = 3;
layout(constant_id = 4) const uint KW = 3;
layout(constant_id = 5) const uint STRIDE = 1;
layout(constant_id = 6) const uint ACT = 0;
layout(constant_id = 7) const uint HAS_BIAS = 1;
layout(constant_id = 8) const uint ACCUM = 0;
const uint WG = 16, TM = 4, TN = 4, TK = 16, BM = WG * TM, BN = WG * TN;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) readonly buffer W { T w[]; };
layout(std430, binding = 2) readonly buffer Bias { T bias[]; };
layout(std430, binding = 3) buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint cin, h, w, cout, oh, ow;
  int pad_t, pad_l;
  float alpha;
} p;

shared float As[TK][BM];
shared float Bs[TK][BN];

void main() {
  uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y, tid = ly * WG + lx;
  uint n = gl_WorkGroupID.z;
  uint m0 = gl_WorkGroupID.y * BM, p0 = gl_WorkGroupID.x * BN;
  uint K = p.cin * KH * KW, npix = p.oh * p.ow;
  uint xbase = n * p.cin * p.h * p.w;
  float acc[TM][TN];
  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;
  for (uint k0 = 0; k0 < K; k0 += TK) {
    for (uint t = tid; t < TK * BM; t += WG * WG) {
      uint mm = t / TK, kk = t % TK, gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = gm < p.cout && gk < K ? LD(w[gm * K + gk]) : 0.0;
    }
    for (uint t = tid; t < TK * BN; t += WG * WG) {
      uint kk = t / BN, nn = t % BN, gk = k0 + kk, gp = p0 + nn;
      float v = 0.0;
      if (gk < K && gp < npix) {
        uint ci = gk / (KH * KW), r = gk % (KH * KW), ky = r / KW, kx = r % KW;
        int iy = int((gp / p.ow) * STRIDE + ky) - p.pad_t;
        int ix = int((gp % p.ow) * STRIDE + kx) - p.pad_l;
        if (iy >= 0 && iy < int(p.h) && ix >= 0 && ix < int(p.w))
          v = LD(x[xbase + (ci * p.h + uint(iy)) * p.w + uint(ix)]);
      }
      Bs[kk][nn] = v;
    }
    barrier();
    for (uint kk = 0; kk < TK; kk++) {
      float av[TM], bv[TN];
      for (uint i = 0; i < TM; i++) av[i] = As[kk][ly + i * WG];
      for (uint j = 0; j < TN; j++) bv[j] = Bs[kk][lx + j * WG];
      for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++) acc[i][j] += av[i] * bv[j];
    }
    barrier();
  }
  for (uint i = 0; i < TM; i++) {
    uint co = m0 + ly + i * WG;
    if (co >= p.cout) continue;
    for (uint j = 0; j < TN; j++) {
      uint gp = p0 + lx + j * WG;
      if (gp >= npix) continue;
      float v = acc[i][j];
      if (HAS_BIAS != 0) v += LD(bias[co]);
      if (ACCUM != 0) v += LD(y[(n * p.cout + co) * npix + gp]);
      if (ACT == 1) v = v / (1.0 + exp(-v));
      else if (ACT == 2) v = v >= 0.0 ? v : p.alpha * v;
      y[(n * p.cout + co) * npix + gp] = ST(v);
    }
  }
}
