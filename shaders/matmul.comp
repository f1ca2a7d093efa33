#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Batched C = A x B (+ bias), fp32, A [M, K] row-major, B [K, N] or, with
// TRANS_B, [N, K] (a linear layer's weight). Classic shared-memory tiling:
// a 16x16 workgroup computes a 64x64 tile of C, each invocation a 4x4
// block at a stride of 16 (so neighbouring invocations touch neighbouring
// shared-memory words). fp32 accumulation.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint TRANS_B = 0;
layout(constant_id = 4) const uint HAS_BIAS = 0;
const uint WG = 16, TM = 4, TN = 4, TK = 16, BM = WG * TM, BN = WG * TN;
layout(std430, binding = 0) readonly buffer A { T a[]; };
layout(std430, binding = 1) readonly buffer B { T b[]; };
layout(std430, binding = 2) readonly buffer Bias { T bias[]; };
layout(std430, binding = 3) writeonly buffer C { T c[]; };
layout(push_constant) uniform P {
  uint M, N, K;
  uint sa, sb, sc; // batch strides in elements (0: shared across the batch)
} p;

shared float As[TK][BM];
shared float Bs[TK][BN];

void main() {
  uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y, tid = ly * WG + lx;
  uint z = gl_WorkGroupID.z;
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint abase = z * p.sa, bbase = z * p.sb;
  float acc[TM][TN];
  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;
  for (uint k0 = 0; k0 < p.K; k0 += TK) {
    for (uint t = tid; t < TK * BM; t += WG * WG) {
      uint mm = t / TK, kk = t % TK, gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = gm < p.M && gk < p.K ? LD(a[abase + gm * p.K + gk]) : 0.0;
    }
    for (uint t = tid; t < TK * BN; t += WG * WG) {
      uint nn, kk;
      if (TRANS_B != 0) { nn = t / TK; kk = t % TK; }
      else { kk = t / BN; nn = t % BN; }
      uint gn = n0 + nn, gk = k0 + kk;
      float v = 0.0;
      if (gn < p.N && gk < p.K) v = TRANS_B != 0 ? LD(b[bbase + gn * p.K + gk]) : LD(b[bbase + gk * p.N + gn]);
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
    uint gm = m0 + ly + i * WG;
    if (gm >= p.M) continue;
    for (uint j = 0; j < TN; j++) {
      uint gn = n0 + lx + j * WG;
      if (gn >= p.N) continue;
      float v = acc[i][j];
      if (HAS_BIAS != 0) v += LD(bias[gn]);
      c[z * p.sc + gm * p.N + gn] = ST(v);
    }
  }
}
