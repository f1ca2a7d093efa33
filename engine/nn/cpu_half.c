/* fp16 <-> fp32 for the CPU backend's weight storage. Widening runs once
 * per weight per model pass (the UNet's 860M weights) and narrowing once
 * per weight at load, so both use the CPU's F16C conversion when present
 * (core/half.c widens): about 10x the portable loops. */
#include <string.h>

#include "core/half.h"
#include "nn/cpu_internal.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,f16c"))) static int narrow_f16c(const float *f, uint16_t *h, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(f + i);
    __m128i hv = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    __m256 back = _mm256_cvtph_ps(hv);
    /* exact round trip, NaN included (NaN != NaN, so compare bits) */
    __m256i a = _mm256_castps_si256(v), b = _mm256_castps_si256(back);
    if (_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b))) != 0xff) {
      for (int j = 0; j < 8; j++) {
        float x = f[i + j], y = fk_half_to_float(fk_half_from_float(x));
        if (memcmp(&x, &y, sizeof x)) return 0;
      }
    }
    _mm_storeu_si128((__m128i *)(h + i), hv);
  }
  for (; i < n; i++) {
    h[i] = fk_half_from_float(f[i]);
    float y = fk_half_to_float(h[i]);
    if (memcmp(&f[i], &y, sizeof y)) return 0;
  }
  return 1;
}

static int have_f16c(void) {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
}
#else
static int have_f16c(void) {
  return 0;
}
static int narrow_f16c(const float *f, uint16_t *h, size_t n) {
  (void)h, (void)f, (void)n;
  return 0;
}
#endif

void fk_cpu_widen(const uint16_t *h, float *f, size_t n) {
  fk_half_to_float_n(h, f, n); /* F16C inside */
}

int fk_cpu_narrow_exact(const float *f, uint16_t *h, size_t n) {
  if (have_f16c()) return narrow_f16c(f, h, n);
  for (size_t i = 0; i < n; i++) {
    h[i] = fk_half_from_float(f[i]);
    float y = fk_half_to_float(h[i]);
    if (memcmp(&f[i], &y, sizeof y)) return 0;
  }
  return 1;
}
