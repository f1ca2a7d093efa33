/* Attention on Vulkan against the CPU reference (which builds the full
 * softmax): head dims 8..160 (SD's 40, 64, 80, 160), self and cross
 * attention, CLIP's causal mask, batches, lengths that are not multiples of
 * the tiles; NaN-poisoned outputs. */
#include <string.h>

#include "nn_test_util.h"

static void one(fk_nn *cpu, fk_nn *gpu, int64_t b, int64_t lq, int64_t lk, int64_t h, int64_t d,
                int causal) {
  int64_t sq[4] = {b, lq, h, d}, sk[4] = {b, lk, h, d};
  size_t nq = (size_t)(b * lq * h * d), nk = (size_t)(b * lk * h * d);
  float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4);
  for (size_t i = 0; i < nq; i++) q[i] = test_rand(-2, 2);
  for (size_t i = 0; i < nk; i++) k[i] = test_rand(-2, 2), v[i] = test_rand(-1, 1);
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {cpu, gpu};
  fk_err e = {0};
  for (int x = 0; x < 2; x++) {
    t[x][0] = test_tensor(nns[x], 4, sq, q);
    t[x][1] = test_tensor(nns[x], 4, sk, k);
    t[x][2] = test_tensor(nns[x], 4, sk, v);
    t[x][3] = test_tensor(nns[x], 4, sq, NULL);
    CHECK(!fk_nn_attention(nns[x], t[x][0], t[x][1], t[x][2], t[x][3], causal, &e), "attention: %s",
          e.msg);
  }
  char what[128];
  snprintf(what, sizeof what, "attention b%lld q%lld k%lld h%lld d%lld%s", (long long)b,
           (long long)lq, (long long)lk, (long long)h, (long long)d, causal ? " causal" : "");
  test_compare(what, t[0][3], t[1][3], 1e-10);
  for (int x = 0; x < 2; x++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[x][i]);
  free(q);
  free(k);
  free(v);
}

int main(void) {
  fk_nn *cpu, *gpu;
  fk_err e = {0};
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  one(cpu, gpu, 1, 7, 5, 1, 8, 0);
  one(cpu, gpu, 2, 77, 77, 4, 16, 1);   /* CLIP-like, causal */
  one(cpu, gpu, 2, 100, 77, 8, 40, 0);  /* SD cross attention */
  one(cpu, gpu, 1, 256, 256, 8, 40, 0); /* SD self attention at a small size */
  one(cpu, gpu, 1, 64, 77, 8, 80, 0);
  one(cpu, gpu, 1, 33, 70, 2, 160, 0);
  one(cpu, gpu, 1, 65, 65, 3, 64, 1);
  one(cpu, gpu, 1, 17, 1, 2, 24, 0); /* one key */
  one(cpu, gpu, 1, 9, 12, 2, 8, 0);  /* lavapipe's vec4 softmax: 3 texels a row, 5 lanes idle */
  /* lavapipe makes scores for as many heads as fit 64 MiB at a time: 13
   * of these 16 heads (4.8 MB each), then 3 */
  one(cpu, gpu, 2, 1100, 1100, 8, 8, 0);
  int64_t s1[4] = {1, 4, 2, 300}, s2[4] = {1, 4, 2, 300};
  fk_tensor *a = test_tensor(gpu, 4, s1, NULL), *b = test_tensor(gpu, 4, s2, NULL);
  CHECK(fk_nn_attention(gpu, a, a, a, b, 0, &e) != FK_OK && strstr(e.msg, "256"),
        "head dim over 256 refused: %s", e.msg);
  fk_tensor_free(a);
  fk_tensor_free(b);
  return test_finish(cpu, gpu);
}
