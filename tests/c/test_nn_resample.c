/* Resampling, channel copies, warp and the timestep embedding on Vulkan
 * against the CPU reference; a few values against hand-computed ones
 * (torch's align_corners=False bilinear, diffusers' embedding). */
#include <string.h>

#include "nn_test_util.h"

static void resample(fk_nn *cpu, fk_nn *gpu, fk_nn_resample mode, int r, const int64_t *sx,
                     const int64_t *sy) {
  size_t nx = (size_t)(sx[0] * sx[1] * sx[2] * sx[3]);
  float *x = malloc(nx * 4);
  for (size_t i = 0; i < nx; i++) x[i] = test_rand(-1, 1);
  fk_tensor *t[2][2];
  fk_nn *nns[2] = {cpu, gpu};
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    t[d][0] = test_tensor(nns[d], 4, sx, x);
    t[d][1] = test_tensor(nns[d], 4, sy, NULL);
    CHECK(!fk_nn_resample_op(nns[d], mode, r, t[d][0], t[d][1], &e), "resample: %s", e.msg);
  }
  char what[96];
  snprintf(what, sizeof what, "resample mode %d %lldx%lld -> %lldx%lld", mode, (long long)sx[2],
           (long long)sx[3], (long long)sy[2], (long long)sy[3]);
  test_compare(what, t[0][1], t[1][1], 1e-12);
  for (int d = 0; d < 2; d++) fk_tensor_free(t[d][0]), fk_tensor_free(t[d][1]);
  free(x);
}

int main(void) {
  fk_nn *cpu, *gpu;
  fk_err e = {0};
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  resample(cpu, gpu, FK_NN_UPSAMPLE2X, 0, (int64_t[]){2, 3, 7, 5}, (int64_t[]){2, 3, 14, 10});
  resample(cpu, gpu, FK_NN_UPSAMPLE2X, 0, (int64_t[]){1, 2, 3, 3}, (int64_t[]){1, 2, 5, 6});
  resample(cpu, gpu, FK_NN_BILINEAR, 0, (int64_t[]){1, 2, 7, 5}, (int64_t[]){1, 2, 13, 17});
  resample(cpu, gpu, FK_NN_BILINEAR, 0, (int64_t[]){1, 33, 16, 16}, (int64_t[]){1, 33, 7, 9});
  resample(cpu, gpu, FK_NN_AVGPOOL2X2, 0, (int64_t[]){2, 4, 7, 9}, (int64_t[]){2, 4, 3, 4});
  resample(cpu, gpu, FK_NN_PIXEL_SHUFFLE, 2, (int64_t[]){1, 12, 5, 3}, (int64_t[]){1, 3, 10, 6});
  /* Bilinear by hand: 2x2 [0 1; 2 3] to 4x4, torch gives first row
   * 0, 0.25, 0.75, 1 (align_corners=False, edges clamped). */
  {
    float x[4] = {0, 1, 2, 3}, y[16];
    fk_tensor *tx = test_tensor(cpu, 4, (int64_t[]){1, 1, 2, 2}, x);
    fk_tensor *ty = test_tensor(cpu, 4, (int64_t[]){1, 1, 4, 4}, NULL);
    fk_nn_resample_op(cpu, FK_NN_BILINEAR, 0, tx, ty, &e);
    fk_tensor_read(ty, y, &e);
    CHECK(y[0] == 0 && y[1] == 0.25f && y[2] == 0.75f && y[3] == 1 && y[4] == 0.5f && y[15] == 3,
          "bilinear by hand: %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[15]);
    fk_tensor_free(tx);
    fk_tensor_free(ty);
  }
  /* Concatenation of two tensors along channels, then a slice back, with
   * planes of 20 (whole vec4s: the Vulkan kernel's plane grid) and 15. */
  for (int hw = 20; hw >= 15; hw -= 5) {
    int64_t h = hw / 5, sa[4] = {2, 3, h, 5}, sb[4] = {2, 2, h, 5}, sc[4] = {2, 5, h, 5};
    float a[120], b[80];
    for (int i = 0; i < 6 * hw; i++) a[i] = test_rand(-1, 1);
    for (int i = 0; i < 4 * hw; i++) b[i] = test_rand(-1, 1);
    fk_nn *nns[2] = {cpu, gpu};
    for (int d = 0; d < 2; d++) {
      fk_tensor *ta = test_tensor(nns[d], 4, sa, a), *tb = test_tensor(nns[d], 4, sb, b);
      fk_tensor *tc = test_tensor(nns[d], 4, sc, NULL), *ts = test_tensor(nns[d], 4, sb, NULL);
      CHECK(!fk_nn_copy_channels(nns[d], ta, 0, 3, tc, 0, &e) &&
                !fk_nn_copy_channels(nns[d], tb, 0, 2, tc, 3, &e) &&
                !fk_nn_copy_channels(nns[d], tc, 3, 2, ts, 0, &e),
            "concat: %s", e.msg);
      float c[200], s[80];
      fk_tensor_read(tc, c, &e);
      fk_tensor_read(ts, s, &e);
      int bad = 0;
      for (int n = 0; n < 2; n++)
        for (int ch = 0; ch < 5; ch++)
          for (int i = 0; i < hw; i++) {
            float want = ch < 3 ? a[(n * 3 + ch) * hw + i] : b[(n * 2 + ch - 3) * hw + i];
            bad += c[(n * 5 + ch) * hw + i] != want;
          }
      CHECK(bad == 0 && !memcmp(s, b, 4 * hw * sizeof *b),
            "%s concat/slice (planes of %d): %d wrong", d ? "gpu" : "cpu", hw, bad);
      CHECK(fk_nn_copy_channels(nns[d], ta, 2, 2, tc, 0, &e) != FK_OK, "out of range refused");
      fk_tensor_free(ta), fk_tensor_free(tb), fk_tensor_free(tc), fk_tensor_free(ts);
    }
  }
  /* Transpose: exact on both backends, batched and 2-d. */
  {
    float x[2 * 5 * 7], y[2 * 5 * 7];
    for (int i = 0; i < 70; i++) x[i] = test_rand(-1, 1);
    fk_nn *nns[2] = {cpu, gpu};
    for (int d = 0; d < 2; d++) {
      fk_tensor *tx = test_tensor(nns[d], 3, (int64_t[]){2, 5, 7}, x);
      fk_tensor *ty = test_tensor(nns[d], 3, (int64_t[]){2, 7, 5}, NULL);
      CHECK(!fk_nn_transpose(nns[d], tx, ty, &e), "transpose: %s", e.msg);
      fk_tensor_read(ty, y, &e);
      int bad = 0;
      for (int b = 0; b < 2; b++)
        for (int i = 0; i < 5; i++)
          for (int j = 0; j < 7; j++) bad += y[(b * 7 + j) * 5 + i] != x[(b * 5 + i) * 7 + j];
      CHECK(bad == 0, "%s transpose: %d wrong", d ? "gpu" : "cpu", bad);
      CHECK(fk_nn_transpose(nns[d], tx, tx, &e) != FK_OK, "in-place transpose refused");
      fk_tensor_free(tx), fk_tensor_free(ty);
    }
  }
  /* Warp: GPU against CPU with flows that leave the image; zero flow is
   * the identity. */
  {
    int64_t sx[4] = {2, 3, 9, 7}, sf[4] = {2, 2, 9, 7};
    float x[378], f[252], zero[252] = {0}, out[378];
    for (int i = 0; i < 378; i++) x[i] = test_rand(-1, 1);
    for (int i = 0; i < 252; i++) f[i] = test_rand(-4, 4);
    fk_tensor *t[2][3];
    fk_nn *nns[2] = {cpu, gpu};
    for (int d = 0; d < 2; d++) {
      t[d][0] = test_tensor(nns[d], 4, sx, x);
      t[d][1] = test_tensor(nns[d], 4, sf, f);
      t[d][2] = test_tensor(nns[d], 4, sx, NULL);
      CHECK(!fk_nn_warp(nns[d], t[d][0], t[d][1], t[d][2], &e), "warp: %s", e.msg);
    }
    test_compare("warp", t[0][2], t[1][2], 1e-12);
    fk_tensor_write(t[1][1], zero, &e);
    fk_nn_warp(gpu, t[1][0], t[1][1], t[1][2], &e);
    fk_tensor_read(t[1][2], out, &e);
    CHECK(!memcmp(out, x, sizeof x), "zero flow is the identity");
    for (int d = 0; d < 2; d++)
      for (int i = 0; i < 3; i++) fk_tensor_free(t[d][i]);
  }
  /* Timestep embedding: diffusers, dim 4, t = 1, flip, shift 0:
   * freqs exp(-ln(10000) * [0, 1] / 2) = [1, 0.01]; [cos, sin]. */
  {
    float t1 = 1, y[4];
    fk_tensor *ty = test_tensor(gpu, 2, (int64_t[]){1, 4}, NULL);
    CHECK(!fk_nn_timestep_embedding(gpu, &t1, 1, 1, 0, 10000, ty, &e), "%s", e.msg);
    fk_tensor_read(ty, y, &e);
    CHECK(fabsf(y[0] - cosf(1)) < 1e-6f && fabsf(y[1] - cosf(0.01f)) < 1e-6f &&
              fabsf(y[2] - sinf(1)) < 1e-6f && fabsf(y[3] - sinf(0.01f)) < 1e-6f,
          "embedding %g %g %g %g", y[0], y[1], y[2], y[3]);
    fk_tensor_free(ty);
  }
  return test_finish(cpu, gpu);
}
