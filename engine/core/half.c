#include "core/half.h"

#include <string.h>

float fk_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13); /* inf, NaN */
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign; /* zero */
  } else {       /* subnormal: normalise */
    int e = -1;
    do {
      man <<= 1;
      e++;
    } while (!(man & 0x400u));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t fk_half_from_float(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0)); /* inf, NaN */
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u); /* overflow */
  if (e <= 0) {                                   /* subnormal or zero */
    if (e < -10) return sign;
    man |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - e), half = 1u << (shift - 1);
    uint32_t m = man >> shift, rest = man & ((1u << shift) - 1);
    if (rest > half || (rest == half && (m & 1u))) m++;
    return (uint16_t)(sign | m);
  }
  uint32_t m = man >> 13, rest = man & 0x1fffu;
  uint32_t h = ((uint32_t)e << 10) | m;
  if (rest > 0x1000u || (rest == 0x1000u && (m & 1u))) h++; /* may carry into the exponent */
  return (uint16_t)(sign | h);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* The CPU's F16C conversion (exact, like the loop below, about 10x as
 * fast): model loading and the CPU backend widen hundreds of millions. */
__attribute__((target("avx,f16c"))) static void to_float_f16c(const uint16_t *in, float *out,
                                                              size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
  for (; i < n; i++) out[i] = fk_half_to_float(in[i]);
}

/* F16C and AVX usable (the OS saves the YMM registers), from cpuid:
 * clang 14 (the fuzz build) does not know __builtin_cpu_supports("f16c").
 * A cpuid per call is noise beside the widening of a panel. */
static int have_f16c(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_F16C)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  (void)hi;
  return (lo & 6u) == 6u;
}

void fk_half_to_float_n(const uint16_t *in, float *out, size_t n) {
  if (have_f16c()) {
    to_float_f16c(in, out, n);
    return;
  }
  for (size_t i = 0; i < n; i++) out[i] = fk_half_to_float(in[i]);
}
#else
void fk_half_to_float_n(const uint16_t *in, float *out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = fk_half_to_float(in[i]);
}
#endif

void fk_half_from_float_n(const float *in, uint16_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = fk_half_from_float(in[i]);
}
