#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
#include "storage.glsl"
// conv2d for lavapipe: matmul_lvp.comp's scheme (no shared memory, A
// broadcast across the 8-lane subgroup, 16 x 64 tiles) on the implicit GEMM
// C[co, pixel] = sum_k W[co, k] X[k, pixel], k = (ci, ky, kx), with each
// lane gathering its 8 pixels' input patch values directly (zero padding).
layout(local_size_x = 8) in;
layout(constant_id = 3) const uint KH = 3;
layout(constant_id = 4) const uint KW = 3;
layout(constant_id = 5) const uint STRIDE = 1;
layout(constant_id = 6) const uint ACT = 0;
layout(constant_id = 7) const uint HAS_BIAS = 1;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) readonly buffer W { T w[]; };
layout(std430, binding = 2) readonly buffer Bias { T bias[]; };
layout(std430, binding = 3) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint cin, h, w, cout, oh, ow;
  int pad_t, pad_l;
  float alpha;
} p;

float la(uint base, uint co, uint k) {
  return co < p.cout && k < p.cin * KH * KW ? LD(w[co * p.cin * KH * KW + k]) : 0.0;
}
float lb(uint base, uint k, uint pix) {
  if (k >= p.cin * KH * KW || pix >= p.oh * p.ow) return 0.0;
  uint ci = k / (KH * KW), r = k % (KH * KW), ky = r / KW, kx = r % KW;
  int iy = int((pix / p.ow) * STRIDE + ky) - p.pad_t;
  int ix = int((pix % p.ow) * STRIDE + kx) - p.pad_l;
  if (iy < 0 || iy >= int(p.h) || ix < 0 || ix >= int(p.w)) return 0.0;
  return LD(x[base + (ci * p.h + uint(iy)) * p.w + uint(ix)]);
}

void main() {
  uint lane = gl_SubgroupInvocationID;
  uint m0 = gl_WorkGroupID.y * 16, n0 = gl_WorkGroupID.x * 64 + lane * 8, z = gl_WorkGroupID.z;
  uint abase = 0, bbase = z * p.cin * p.h * p.w, K = p.cin * KH * KW, npix = p.oh * p.ow;
  vec4 acc[32]; // [row * 2 + half]: columns 4 half .. 4 half + 3
  for (int i = 0; i < 32; i++) acc[i] = vec4(0.0);
  for (uint k = 0; k < K; k += 4) {
    vec4 a0 = vec4(la(abase, m0 + lane, k), la(abase, m0 + lane, k + 1),
                   la(abase, m0 + lane, k + 2), la(abase, m0 + lane, k + 3));
    vec4 a1 = vec4(la(abase, m0 + 8 + lane, k), la(abase, m0 + 8 + lane, k + 1),
                   la(abase, m0 + 8 + lane, k + 2), la(abase, m0 + 8 + lane, k + 3));
    vec4 bt[8]; // bt[j] = B[k .. k+3][n0 + j]
    for (uint j = 0; j < 8; j++)
      bt[j] = vec4(lb(bbase, k, n0 + j), lb(bbase, k + 1, n0 + j), lb(bbase, k + 2, n0 + j),
                   lb(bbase, k + 3, n0 + j));
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
  for (uint r = 0; r < 16; r++) {
    uint co = m0 + r;
    if (co >= p.cout) break;
    for (uint j = 0; j < 8; j++) {
      uint gp = n0 + j;
      if (gp >= npix) break;
      float v = acc[2 * r + j / 4][j % 4];
      if (HAS_BIAS != 0) v += LD(bias[co]);
      if (ACT == 1) v = v / (1.0 + exp(-v));
      else if (ACT == 2) v = v >= 0.0 ? v : p.alpha * v;
      y[(z * p.cout + co) * npix + gp] = ST(v);
    }
  }
}
