/* Group norm (with and without fused SiLU), layer norm and softmax on
 * Vulkan against the CPU reference, odd sizes included, NaN-poisoned
 * outputs; a group with a large mean checks the two-pass variance. */
#include <string.h>

#include "nn_test_util.h"

static void group_norm(fk_nn *cpu, fk_nn *gpu, int64_t n, int64_t c, int64_t h, int64_t w,
                       int groups, int silu, float offset) {
  int64_t sx[4] = {n, c, h, w}, sc[1] = {c};
  size_t nx = (size_t)(n * c * h * w);
  float *x = malloc(nx * 4), *g = malloc((size_t)c * 4), *b = malloc((size_t)c * 4);
  for (size_t i = 0; i < nx; i++) x[i] = test_rand(-2, 2) + offset;
  for (int64_t i = 0; i < c; i++) g[i] = test_rand(0.5f, 1.5f), b[i] = test_rand(-0.5f, 0.5f);
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {cpu, gpu};
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    t[d][0] = test_tensor(nns[d], 4, sx, x);
    t[d][1] = test_tensor(nns[d], 1, sc, g);
    t[d][2] = test_tensor(nns[d], 1, sc, b);
    t[d][3] = test_tensor(nns[d], 4, sx, NULL);
    CHECK(!fk_nn_group_norm(nns[d], t[d][0], t[d][1], t[d][2], t[d][3], groups, 1e-6f, silu, &e),
          "group norm: %s", e.msg);
  }
  char what[128];
  snprintf(what, sizeof what, "group norm %lldx%lldx%lldx%lld g%d%s offset %g", (long long)n,
           (long long)c, (long long)h, (long long)w, groups, silu ? " silu" : "", offset);
  test_compare(what, t[0][3], t[1][3], 1e-10);
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[d][i]);
  free(x);
  free(g);
  free(b);
}

static void rows(fk_nn *cpu, fk_nn *gpu, int64_t r, int64_t dim, int softmax) {
  int64_t sx[2] = {r, dim}, sd[1] = {dim};
  size_t nx = (size_t)(r * dim);
  float *x = malloc(nx * 4), *g = malloc((size_t)dim * 4), *b = malloc((size_t)dim * 4);
  for (size_t i = 0; i < nx; i++) x[i] = test_rand(-8, 8);
  for (int64_t i = 0; i < dim; i++) g[i] = test_rand(0.5f, 1.5f), b[i] = test_rand(-0.5f, 0.5f);
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {cpu, gpu};
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    t[d][0] = test_tensor(nns[d], 2, sx, x);
    t[d][1] = test_tensor(nns[d], 1, sd, g);
    t[d][2] = test_tensor(nns[d], 1, sd, b);
    t[d][3] = test_tensor(nns[d], 2, sx, NULL);
    int rc = softmax ? fk_nn_softmax(nns[d], t[d][0], t[d][3], &e)
                     : fk_nn_layer_norm(nns[d], t[d][0], t[d][1], t[d][2], t[d][3], 1e-5f, &e);
    CHECK(!rc, "%s", e.msg);
  }
  char what[96];
  snprintf(what, sizeof what, "%s %lldx%lld", softmax ? "softmax" : "layer norm", (long long)r,
           (long long)dim);
  test_compare(what, t[0][3], t[1][3], 1e-10);
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[d][i]);
  free(x);
  free(g);
  free(b);
}

int main(void) {
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  group_norm(cpu, gpu, 1, 32, 7, 5, 32, 0, 0);
  group_norm(cpu, gpu, 2, 64, 8, 8, 32, 1, 0);
  group_norm(cpu, gpu, 1, 96, 9, 3, 32, 1, 100);
  group_norm(cpu, gpu, 2, 33, 5, 7, 1, 0, 0);
  group_norm(cpu, gpu, 1, 320, 16, 16, 32, 1, 0);
  rows(cpu, gpu, 1, 1, 0);
  rows(cpu, gpu, 7, 33, 0);
  rows(cpu, gpu, 77, 768, 0);
  rows(cpu, gpu, 5, 1000, 0);
  rows(cpu, gpu, 1, 1, 1);
  rows(cpu, gpu, 7, 33, 1);
  rows(cpu, gpu, 64, 4096, 1);
  rows(cpu, gpu, 300, 77, 1);
  return test_finish(cpu, gpu);
}
