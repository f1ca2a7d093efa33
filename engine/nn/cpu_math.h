/* Branch-free exp and erf for the CPU kernels' inner loops: libm's expf
 * and erff are calls the compiler cannot vectorise, and the UNet spends
 * tens of millions of them per step in softmax, SiLU and GELU. Both are
 * accurate to a few float ulps (exp) and 1.5e-7 absolute (erf), well
 * inside the kernel tests' tolerances. */
#ifndef FK_NN_CPU_MATH_H
#define FK_NN_CPU_MATH_H

#include <stdint.h>
#include <string.h>

/* Forced: GCC will not inline a plain inline function into a target_clones
 * clone (their -march differs), and a call per element stops vectorising. */
#if defined(__GNUC__)
#define FK_CPU_INLINE static inline __attribute__((always_inline))
#else
#define FK_CPU_INLINE static inline
#endif

/* exp(x) for x in float range; x below -87.3 gives about 1e-38 (callers
 * that need an exact 0 for masked entries write it themselves). */
FK_CPU_INLINE float fk_cpu_expf(float x) {
  x = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x;
  /* x = k ln2 + r, |r| <= ln2 / 2; k rounded with the 1.5 * 2^23 trick
   * (no floorf call, so the loop vectorises without SSE4.1). */
  float kf = x * 1.44269504088896341f + 12582912.0f;
  kf -= 12582912.0f;
  float r = x - kf * 0.693359375f;
  r -= kf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t k = (int32_t)kf;
  uint32_t bits = (uint32_t)(k + 127) << 23;
  float s;
  memcpy(&s, &bits, sizeof s);
  return p * s;
}

FK_CPU_INLINE float fk_cpu_silu(float v) {
  return v / (1.0f + fk_cpu_expf(-v));
}

/* erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7). */
FK_CPU_INLINE float fk_cpu_erff(float x) {
  float ax = x < 0 ? -x : x;
  float t = 1.0f / (1.0f + 0.3275911f * ax);
  float y = 1.061405429f;
  y = y * t - 1.453152027f;
  y = y * t + 1.421413741f;
  y = y * t - 0.284496736f;
  y = y * t + 0.254829592f;
  y = 1.0f - y * t * fk_cpu_expf(-ax * ax);
  return x < 0 ? -y : y;
}

FK_CPU_INLINE float fk_cpu_gelu(float v) {
  return 0.5f * v * (1.0f + fk_cpu_erff(v * 0.70710678118654752f));
}

#endif
