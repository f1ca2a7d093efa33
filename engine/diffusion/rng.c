/* Philox4x32-10 with the constants of the Random123 paper, and Box-Muller
 * on top of it (see rng.h for the exact layout). */
#include "diffusion/rng.h"

#include <math.h>

enum {
  PHILOX_M0 = 0xD2511F53u, /* round multipliers */
  PHILOX_M1 = 0xCD9E8D57u,
  PHILOX_W0 = 0x9E3779B9u, /* Weyl key increments: golden ratio, sqrt(3) - 1 */
  PHILOX_W1 = 0xBB67AE85u,
  PHILOX_ROUNDS = 10,
};

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
  uint64_t p = (uint64_t)a * b;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

void fk_rng_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < PHILOX_ROUNDS; r++) {
    if (r > 0) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(PHILOX_M0, c0, &hi0, &lo0);
    mulhilo(PHILOX_M1, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* (x + 1) / 2^32: never 0, so the logarithm stays finite. */
static double unit(uint32_t x) {
  return ((double)x + 1.0) * (1.0 / 4294967296.0);
}

void fk_rng_normal(uint64_t seed, uint64_t frame, uint32_t step, uint32_t stream, float *out,
                   size_t n) {
  const double two_pi = 6.283185307179586476925286766559;
  uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ (uint32_t)(frame >> 32)};
  for (size_t i = 0; i < n; i += 4) {
    uint32_t ctr[4] = {(uint32_t)(i / 4), step, stream, (uint32_t)frame}, x[4];
    fk_rng_philox4x32(ctr, key, x);
    double z[4];
    for (int p = 0; p < 2; p++) {
      double r = sqrt(-2.0 * log(unit(x[2 * p]))), a = two_pi * unit(x[2 * p + 1]);
      z[2 * p] = r * cos(a);
      z[2 * p + 1] = r * sin(a);
    }
    for (size_t j = 0; j < 4 && i + j < n; j++) out[i + j] = (float)z[j];
  }
}
