/* Stable Diffusion's largest shapes on this machine's Vulkan device: the
 * 64x64 self-attention (4096 queries x 4096 keys x 8 heads x 40) and a 3x3
 * conv on 64x64x1280, each within lavapipe's 128 MiB binding limit (the
 * attention never stores its 512 MiB score matrix). Outputs are spot-checked
 * against direct double-precision sums at 48 positions. Slow on lavapipe
 * (minutes): labelled "slow" and run in the main build only. */
#include <math.h>
#include <stdlib.h>

#include "nn_test_util.h"

static float *rand_buf(size_t n, float lo, float hi) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; v && i < n; i++) v[i] = test_rand(lo, hi);
  return v;
}

int main(void) {
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  fk_err e = {0};
  /* attention */
  {
    const int64_t L = 4096, H = 8, D = 40;
    int64_t s[4] = {1, L, H, D};
    size_t n = (size_t)(L * H * D);
    float *q = rand_buf(n, -1, 1), *k = rand_buf(n, -1, 1), *v = rand_buf(n, -1, 1);
    float *o = malloc(n * sizeof *o);
    fk_tensor *tq = test_tensor(gpu, 4, s, q), *tk = test_tensor(gpu, 4, s, k);
    fk_tensor *tv = test_tensor(gpu, 4, s, v), *to = test_tensor(gpu, 4, s, NULL);
    CHECK(!fk_nn_attention(gpu, tq, tk, tv, to, 0, &e) && !fk_tensor_read(to, o, &e),
          "attention 4096x4096x8x40: %s", e.msg);
    double worst = 0;
    for (int t = 0; t < 48; t++) {
      int64_t i = (t * 977) % L, h = t % H;
      double m = -INFINITY, sum = 0, *sc = malloc((size_t)L * sizeof *sc);
      for (int64_t j = 0; j < L; j++) {
        double acc = 0;
        for (int64_t d = 0; d < D; d++)
          acc += (double)q[(i * H + h) * D + d] * k[(j * H + h) * D + d];
        sc[j] = acc / sqrt((double)D);
        m = sc[j] > m ? sc[j] : m;
      }
      for (int64_t j = 0; j < L; j++) sum += sc[j] = exp(sc[j] - m);
      for (int64_t d = 0; d < D; d++) {
        double ref = 0;
        for (int64_t j = 0; j < L; j++) ref += sc[j] * v[(j * H + h) * D + d];
        ref /= sum;
        double got = o[(i * H + h) * D + d];
        worst = fmax(worst, isfinite(got) ? fabs(got - ref) : INFINITY);
      }
      free(sc);
    }
    CHECK(worst < 1e-4, "attention 4096x4096: worst spot error %g", worst);
    printf("attention 4096x4096x8x40: worst spot error %.2e\n", worst);
    fk_tensor_free(tq), fk_tensor_free(tk), fk_tensor_free(tv), fk_tensor_free(to);
    free(q), free(k), free(v), free(o);
  }
  /* conv 3x3, 64x64x1280 -> 1280 */
  {
    const int64_t C = 1280, S = 64;
    int64_t sx[4] = {1, C, S, S}, sw[4] = {C, C, 3, 3};
    size_t nx = (size_t)(C * S * S), nw = (size_t)(C * C * 9);
    float *x = rand_buf(nx, -1, 1), *w = rand_buf(nw, -0.01f, 0.01f), *y = malloc(nx * sizeof *y);
    fk_tensor *tx = test_tensor(gpu, 4, sx, x), *tw = test_tensor(gpu, 4, sw, w);
    fk_tensor *ty = test_tensor(gpu, 4, sx, NULL);
    fk_nn_conv c = {.stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1};
    CHECK(!fk_nn_conv2d(gpu, tx, tw, NULL, ty, &c, &e) && !fk_tensor_read(ty, y, &e),
          "conv 64x64x1280: %s", e.msg);
    double worst = 0;
    for (int t = 0; t < 48; t++) {
      int64_t co = (t * 379) % C, oy = (t * 13) % S, ox = (t * 29) % S;
      if (t == 0) oy = ox = 0; /* a corner, through the padding */
      double ref = 0;
      for (int64_t ci = 0; ci < C; ci++)
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) {
            int64_t iy = oy + ky - 1, ix = ox + kx - 1;
            if (iy < 0 || iy >= S || ix < 0 || ix >= S) continue;
            ref += (double)w[((co * C + ci) * 3 + ky) * 3 + kx] * x[(ci * S + iy) * S + ix];
          }
      double got = y[(co * S + oy) * S + ox];
      worst = fmax(worst, isfinite(got) ? fabs(got - ref) : INFINITY);
    }
    CHECK(worst < 1e-4, "conv 64x64x1280: worst spot error %g", worst);
    printf("conv 64x64x1280: worst spot error %.2e\n", worst);
    fk_tensor_free(tx), fk_tensor_free(tw), fk_tensor_free(ty);
    free(x), free(w), free(y);
  }
  return test_finish(cpu, gpu);
}
