/* Helpers for the kernel tests: deterministic random data, tensors made on
 * a backend from host data (NULL data = NaN poison), and NMSE. */
#ifndef FK_TEST_NN_UTIL_H
#define FK_TEST_NN_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/backend.h"

/* A file under ../shared/golden beside the repo ($SRC, else "."). */
static inline void test_golden_path(char *out, size_t n, const char *rel) {
  const char *src = getenv("SRC");
  snprintf(out, n, "%.2000s/../shared/golden/%s", src ? src : ".", rel);
}

static uint64_t test_rng = 12345;
static inline float test_rand(float lo, float hi) {
  test_rng = test_rng * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * (float)((double)(test_rng >> 11) / 9007199254740992.0);
}

static inline fk_tensor *test_tensor(fk_nn *nn, int nd, const int64_t *shape, const float *v) {
  fk_err e = {0};
  fk_tensor *t;
  if (fk_tensor_new(nn, FK_NN_F32, nd, shape, &t, &e)) {
    CHECK(0, "tensor: %s", e.msg);
    exit(1);
  }
  float *buf = malloc(t->numel * sizeof *buf);
  for (size_t i = 0; i < t->numel; i++) buf[i] = v ? v[i] : NAN;
  fk_tensor_write(t, buf, &e);
  free(buf);
  return t;
}

/* NMSE of got against ref; infinite if got has a NaN or Inf. */
static inline double test_nmse(const float *got, const float *ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(got[i])) return INFINITY;
    double d = (double)got[i] - ref[i];
    num += d * d;
    den += (double)ref[i] * ref[i];
  }
  return den > 0 ? num / den : num;
}

/* Relative L2 error of got against ref (the goldens' measure); infinite
 * if got has a NaN or Inf. */
static inline double test_rel_err(const float *got, const float *ref, size_t n) {
  return sqrt(test_nmse(got, ref, n));
}

/* Reads both tensors and checks their NMSE. */
static inline void test_compare(const char *what, fk_tensor *ref, fk_tensor *got, double limit) {
  fk_err e = {0};
  float *a = malloc(ref->numel * sizeof *a), *b = malloc(got->numel * sizeof *b);
  CHECK(!fk_tensor_read(ref, a, &e) && !fk_tensor_read(got, b, &e), "%s: read: %s", what, e.msg);
  double err = test_nmse(b, a, ref->numel);
  CHECK(err < limit, "%s: nmse %.3g (limit %.3g)", what, err, limit);
  free(a);
  free(b);
}

/* The backend under test: Vulkan (validation on), or the fast CPU
 * backend when FUNKY_TEST_NN=cpu (ctest runs each kernel test both ways).
 * The fast CPU gets small scratch tiles so that small shapes already
 * cross its panel and tile boundaries. */
static inline fk_nn_opts test_device_opts(void) {
  const char *d = getenv("FUNKY_TEST_NN");
  if (d && !strcmp(d, "cpu")) return (fk_nn_opts){.kind = FK_NN_CPU, .tile_floats = 4096};
  return (fk_nn_opts){.kind = FK_NN_VULKAN, .validation = 1};
}

/* Opens the CPU reference and the backend under test. */
static inline int test_backends(fk_nn **cpu, fk_nn **gpu) {
  fk_err e = {0};
  fk_nn_opts co = {.kind = FK_NN_CPU, .reference = 1}, go = test_device_opts();
  if (fk_nn_open(&co, cpu, &e) || fk_nn_open(&go, gpu, &e)) {
    CHECK(0, "backends: %s", e.msg);
    return -1;
  }
  return 0;
}

/* Checks the validation layer stayed silent, closes both, returns the status. */
static inline int test_finish(fk_nn *cpu, fk_nn *gpu) {
  CHECK(fk_nn_validation_messages(gpu) == 0, "%u validation messages",
        fk_nn_validation_messages(gpu));
  fk_nn_close(cpu);
  fk_nn_close(gpu);
  return CHECK_DONE();
}

#endif
