/* matmul / linear on Vulkan against the CPU reference: odd sizes, batches,
 * shared weights, transposed weights, bias, with every kernel variant;
 * NaN-poisoned outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_test_util.h"
#include "nn/backend.h"

static uint64_t rng = 99;
static float frand(void) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static fk_tensor *make(fk_nn *nn, int nd, const int64_t *shape, const float *v) {
  fk_err e = {0};
  fk_tensor *t;
  if (fk_tensor_new(nn, FK_NN_F32, nd, shape, &t, &e)) {
    CHECK(0, "tensor: %s", e.msg);
    return NULL;
  }
  size_t n = t->numel;
  float *buf = malloc(n * sizeof *buf);
  for (size_t i = 0; i < n; i++) buf[i] = v ? v[i] : NAN;
  fk_tensor_write(t, buf, &e);
  free(buf);
  return t;
}

static void one(fk_nn *cpu, fk_nn *gpu, int64_t batch, int64_t m, int64_t k, int64_t n,
                int shared_b, int trans_b, int with_bias) {
  int64_t sa[3] = {batch, m, k}, sb3[3] = {batch, trans_b ? n : k, trans_b ? k : n};
  int64_t sc[3] = {batch, m, n}, sbias[1] = {n};
  const int64_t *sb = shared_b ? sb3 + 1 : sb3;
  int nbd = shared_b ? 2 : 3;
  size_t na = (size_t)(batch * m * k), nb = (size_t)(shared_b ? k * n : batch * k * n);
  float *a = malloc(na * 4), *b = malloc(nb * 4), *bias = malloc((size_t)n * 4);
  for (size_t i = 0; i < na; i++) a[i] = frand();
  for (size_t i = 0; i < nb; i++) b[i] = frand();
  for (int64_t i = 0; i < n; i++) bias[i] = frand();
  fk_err e = {0};
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {cpu, gpu};
  float *out[2];
  for (int d = 0; d < 2; d++) {
    t[d][0] = make(nns[d], 3, sa, a);
    t[d][1] = make(nns[d], nbd, sb, b);
    t[d][2] = with_bias ? make(nns[d], 1, sbias, bias) : NULL;
    t[d][3] = make(nns[d], 3, sc, NULL);
    CHECK(!fk_nn_matmul(nns[d], t[d][0], t[d][1], t[d][2], t[d][3], trans_b, &e), "matmul: %s",
          e.msg);
    out[d] = malloc((size_t)(batch * m * n) * 4);
    fk_tensor_read(t[d][3], out[d], &e);
  }
  double num = 0, den = 0;
  for (int64_t i = 0; i < batch * m * n; i++) {
    double dd = (double)out[1][i] - out[0][i];
    num += isfinite(out[1][i]) ? dd * dd : INFINITY;
    den += (double)out[0][i] * out[0][i];
  }
  CHECK(num / den < 1e-12, "matmul b%lld %lldx%lldx%lld%s%s%s: nmse %.3g", (long long)batch,
        (long long)m, (long long)k, (long long)n, shared_b ? " shared" : "",
        trans_b ? " transB" : "", with_bias ? " bias" : "", num / den);
  for (int d = 0; d < 2; d++) {
    for (int i = 0; i < 4; i++) fk_tensor_free(t[d][i]);
    free(out[d]);
  }
  free(a);
  free(b);
  free(bias);
}

int main(void) {
  fk_nn *cpu, *gpu;
  fk_err e = {0};
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  /* both kernels: lavapipe's broadcast variant (reading its operands
   * through texel buffers, and through storage buffers as where they do
   * not fit) in each register block it can be given, and the tiled one
   * GPUs use */
  static const struct {
    const char *kind, *texel, *block;
  } variants[] = {{"tiled", "1", "16x8"}, {"lvp", "1", "16x8"},  {"lvp", "1", "8x16"},
                  {"lvp", "1", "8x8"},    {"lvp", "1", "16x16"}, {"lvp", "0", "16x8"},
                  {"lvp", "0", "16x16"}};
  for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
    setenv("FUNKY_VK_MATMUL", variants[v].kind, 1);
    setenv("FUNKY_VK_TEXEL", variants[v].texel, 1);
    setenv("FUNKY_LVP_BLOCK", variants[v].block, 1);
    one(cpu, gpu, 1, 7, 5, 3, 0, 0, 0);
    one(cpu, gpu, 1, 1, 1, 1, 0, 0, 1);
    one(cpu, gpu, 2, 33, 17, 65, 0, 1, 1);
    one(cpu, gpu, 3, 64, 64, 64, 1, 0, 0);
    one(cpu, gpu, 3, 77, 40, 33, 1, 1, 1);
    one(cpu, gpu, 1, 130, 300, 70, 0, 0, 1);
    one(cpu, gpu, 2, 5, 129, 7, 1, 1, 0);
    /* N % 4 == 0 but not a whole 8-column lane: vec4 and scalar stores */
    one(cpu, gpu, 2, 9, 16, 12, 0, 1, 1);
    one(cpu, gpu, 3, 20, 8, 36, 1, 0, 1);
    /* wider than one 128-column tile, vec4 loads, a partial last lane */
    one(cpu, gpu, 2, 19, 32, 136, 0, 1, 1);
    one(cpu, gpu, 1, 21, 12, 132, 0, 0, 1);
  }
  unsetenv("FUNKY_VK_MATMUL");
  unsetenv("FUNKY_VK_TEXEL");
  unsetenv("FUNKY_LVP_BLOCK");
  /* The benchmark's naive baseline computes the same product. */
  if (fk_nn_kind_of(gpu) == FK_NN_VULKAN) { /* a Vulkan-only baseline */
    int64_t sa[2] = {37, 19}, sb[2] = {19, 45}, sc[2] = {37, 45};
    float a[37 * 19], bm[19 * 45];
    for (int i = 0; i < 37 * 19; i++) a[i] = frand();
    for (int i = 0; i < 19 * 45; i++) bm[i] = frand();
    fk_tensor *ca = make(cpu, 2, sa, a), *cb = make(cpu, 2, sb, bm), *cc = make(cpu, 2, sc, NULL);
    fk_tensor *ga = make(gpu, 2, sa, a), *gb = make(gpu, 2, sb, bm), *gc = make(gpu, 2, sc, NULL);
    CHECK(!fk_nn_matmul(cpu, ca, cb, NULL, cc, 0, &e) && !fk_nn_naive_matmul(gpu, ga, gb, gc, &e),
          "naive: %s", e.msg);
    float r1[37 * 45], r2[37 * 45];
    fk_tensor_read(cc, r1, &e);
    fk_tensor_read(gc, r2, &e);
    double worst = 0;
    for (int i = 0; i < 37 * 45; i++) worst = fmax(worst, fabs((double)r1[i] - r2[i]));
    CHECK(worst < 1e-5, "naive matmul off by %g", worst);
    fk_tensor_free(ca), fk_tensor_free(cb), fk_tensor_free(cc);
    fk_tensor_free(ga), fk_tensor_free(gb), fk_tensor_free(gc);
  }
  /* Mismatched shapes are refused with the shapes in the message. */
  int64_t s1[2] = {4, 5}, s2[2] = {6, 7}, s3[2] = {4, 7};
  fk_tensor *x = make(gpu, 2, s1, NULL), *w = make(gpu, 2, s2, NULL), *y = make(gpu, 2, s3, NULL);
  CHECK(fk_nn_matmul(gpu, x, w, NULL, y, 0, &e) != FK_OK && strstr(e.msg, "shapes"),
        "bad shapes: %s", e.msg);
  fk_tensor_free(x);
  fk_tensor_free(w);
  fk_tensor_free(y);
  return test_finish(cpu, gpu);
}
