/* Philox4x32-10 against the Random123 known-answer vectors, and the
 * normals built on it: pure in (seed, frame, step, stream), prefix-stable,
 * and standard (mean, variance, tails) over 10^6 draws. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diffusion/rng.h"

static void kat(void) {
  static const struct {
    uint32_t ctr[4], key[2], out[4];
  } v[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    uint32_t out[4];
    fk_rng_philox4x32(v[i].ctr, v[i].key, out);
    for (int j = 0; j < 4; j++)
      CHECK(out[j] == v[i].out[j], "vector %zu word %d: %08x vs %08x", i, j, (unsigned)out[j],
            (unsigned)v[i].out[j]);
  }
}

static void normals(void) {
  const size_t n = 1000000;
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  CHECK(a && b, "out of memory");
  if (!a || !b) {
    free(a);
    free(b);
    return;
  }
  fk_rng_normal(42, 7, 3, 0, a, n);
  double sum = 0, sq = 0;
  size_t beyond3 = 0;
  int finite = 1;
  for (size_t i = 0; i < n; i++) {
    finite &= isfinite(a[i]) != 0;
    sum += a[i];
    sq += (double)a[i] * a[i];
    beyond3 += fabsf(a[i]) > 3.0f;
  }
  double mean = sum / n, var = sq / n - mean * mean;
  CHECK(finite, "non-finite normals");
  /* standard errors: 0.001 for the mean, 0.0014 for the variance */
  CHECK_NEAR(mean, 0.0, 0.005);
  CHECK_NEAR(var, 1.0, 0.007);
  /* P(|z| > 3) = 0.0027 */
  CHECK_NEAR((double)beyond3 / n, 0.0027, 0.0004);
  printf("1e6 normals: mean %.5f variance %.5f P(|z|>3) %.5f\n", mean, var, (double)beyond3 / n);

  fk_rng_normal(42, 7, 3, 0, b, n);
  CHECK(!memcmp(a, b, n * sizeof *a), "same arguments, different noise");
  float p[7];
  fk_rng_normal(42, 7, 3, 0, p, 7);
  CHECK(!memcmp(a, p, sizeof p), "a shorter draw is not a prefix of a longer one");
  const struct {
    uint64_t seed, frame;
    uint32_t step, stream;
  } other[] = {
      {43, 7, 3, 0}, {42, 8, 3, 0}, {42, 7, 4, 0}, {42, 7, 3, 1}, {42, 7 + (1ull << 32), 3, 0}};
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
    fk_rng_normal(other[i].seed, other[i].frame, other[i].step, other[i].stream, b, 64);
    int same = 0;
    for (int j = 0; j < 64; j++) same += a[j] == b[j];
    CHECK(same < 4, "variation %zu repeats %d of 64 values", i, same);
  }
  free(a);
  free(b);
}

int main(void) {
  kat();
  normals();
  return CHECK_DONE();
}
