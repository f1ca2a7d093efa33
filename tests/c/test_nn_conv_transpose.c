/* Transposed convolution (RIFE's 4x4 stride 2 pad 1 and other shapes) on
 * Vulkan against the CPU reference (the scatter definition), and by hand:
 * a 1x1 input through a 4x4 kernel is the kernel itself, cropped. */
#include <string.h>

#include "nn_test_util.h"

static void one(fk_nn *cpu, fk_nn *gpu, int64_t n, int64_t cin, int64_t h, int64_t w, int64_t cout,
                int k, int s, int pad, int with_bias) {
  int64_t oh = (h - 1) * s - 2 * pad + k, ow = (w - 1) * s - 2 * pad + k;
  int64_t sx[4] = {n, cin, h, w}, sw[4] = {cin, cout, k, k}, sb[1] = {cout},
          sy[4] = {n, cout, oh, ow};
  size_t nx = (size_t)(n * cin * h * w), nw = (size_t)(cin * cout * k * k);
  float *x = malloc(nx * 4), *wt = malloc(nw * 4), *b = malloc((size_t)cout * 4);
  for (size_t i = 0; i < nx; i++) x[i] = test_rand(-1, 1);
  for (size_t i = 0; i < nw; i++) wt[i] = test_rand(-0.3f, 0.3f);
  for (int64_t i = 0; i < cout; i++) b[i] = test_rand(-1, 1);
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {cpu, gpu};
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    t[d][0] = test_tensor(nns[d], 4, sx, x);
    t[d][1] = test_tensor(nns[d], 4, sw, wt);
    t[d][2] = with_bias ? test_tensor(nns[d], 1, sb, b) : NULL;
    t[d][3] = test_tensor(nns[d], 4, sy, NULL);
    CHECK(!fk_nn_conv_transpose2d(nns[d], t[d][0], t[d][1], t[d][2], t[d][3], s, pad, &e),
          "conv transpose: %s", e.msg);
  }
  char what[128];
  snprintf(what, sizeof what, "conv transpose n%lld %lld->%lld %lldx%lld k%d s%d p%d", (long long)n,
           (long long)cin, (long long)cout, (long long)h, (long long)w, k, s, pad);
  test_compare(what, t[0][3], t[1][3], 1e-10);
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[d][i]);
  free(x), free(wt), free(b);
}

int main(void) {
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  one(cpu, gpu, 1, 3, 5, 7, 4, 4, 2, 1, 1); /* RIFE */
  one(cpu, gpu, 2, 8, 8, 8, 8, 4, 2, 1, 0);
  one(cpu, gpu, 1, 1, 1, 1, 1, 4, 2, 0, 0);
  one(cpu, gpu, 1, 5, 3, 4, 2, 3, 1, 1, 1);
  one(cpu, gpu, 1, 2, 4, 3, 33, 2, 2, 0, 1);
  /* 1x1 input, 4x4 kernel, stride 2, no padding: the output is the kernel */
  fk_err e = {0};
  float x = 2.0f, w[16], y[16];
  for (int i = 0; i < 16; i++) w[i] = (float)i;
  fk_tensor *tx = test_tensor(gpu, 4, (int64_t[]){1, 1, 1, 1}, &x);
  fk_tensor *tw = test_tensor(gpu, 4, (int64_t[]){1, 1, 4, 4}, w);
  fk_tensor *ty = test_tensor(gpu, 4, (int64_t[]){1, 1, 4, 4}, NULL);
  CHECK(!fk_nn_conv_transpose2d(gpu, tx, tw, NULL, ty, 2, 0, &e) && !fk_tensor_read(ty, y, &e),
        "%s", e.msg);
  int bad = 0;
  for (int i = 0; i < 16; i++) bad += y[i] != 2.0f * (float)i;
  CHECK(bad == 0, "1x1 through the kernel: %d wrong", bad);
  fk_tensor_free(tx), fk_tensor_free(tw), fk_tensor_free(ty);
  return test_finish(cpu, gpu);
}
