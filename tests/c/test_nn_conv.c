/* conv2d on Vulkan against the CPU reference: 3x3 stride 1 and 2 with
 * padding 1, 1x1, FILM's 2x2 with right/bottom padding, odd sizes (7x5,
 * 1 and 33 channels), batches, bias and fused activations; NaN-poisoned
 * outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_test_util.h"
#include "nn/backend.h"

static uint64_t rng = 7;
static float frand(void) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static fk_tensor *make_dt(fk_nn *nn, fk_nn_dtype dt, const int64_t *shape, const float *v) {
  fk_err e = {0};
  fk_tensor *t;
  if (fk_tensor_new(nn, dt, 4, shape, &t, &e) && fk_tensor_new(nn, dt, 1, shape, &t, &e)) {
    CHECK(0, "tensor: %s", e.msg);
    return NULL;
  }
  float *buf = malloc(t->numel * sizeof *buf);
  for (size_t i = 0; i < t->numel; i++) buf[i] = v ? v[i] : NAN;
  fk_tensor_write(t, buf, &e);
  free(buf);
  return t;
}
static fk_tensor *make(fk_nn *nn, const int64_t *shape, const float *v) {
  return make_dt(nn, FK_NN_F32, shape, v);
}

/* dt F16: fp16 storage on the GPU (where supported), compared loosely. */
static void one_dt(fk_nn *cpu, fk_nn *gpu, fk_nn_dtype dt, int64_t n, int64_t cin, int64_t h,
                   int64_t w, int64_t cout, int k, fk_nn_conv c, int with_bias) {
  int64_t oh = (h + c.pad_t + c.pad_b - k) / c.stride + 1,
          ow = (w + c.pad_l + c.pad_r - k) / c.stride + 1;
  int64_t sx[4] = {n, cin, h, w}, sw[4] = {cout, cin, k, k}, sy[4] = {n, cout, oh, ow};
  size_t nx = (size_t)(n * cin * h * w), nw = (size_t)(cout * cin * k * k),
         ny = (size_t)(n * cout * oh * ow);
  float *x = malloc(nx * 4), *wt = malloc(nw * 4), *b = malloc((size_t)cout * 4);
  for (size_t i = 0; i < nx; i++) x[i] = frand();
  for (size_t i = 0; i < nw; i++) wt[i] = frand() / sqrtf((float)(cin * k * k));
  for (int64_t i = 0; i < cout; i++) b[i] = frand();
  fk_nn *nns[2] = {cpu, gpu};
  float *out[2];
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    int64_t sb[4] = {cout, 1, 1, 1};
    fk_tensor *tx = make_dt(nns[d], dt, sx, x), *tw = make_dt(nns[d], dt, sw, wt),
              *ty = make_dt(nns[d], dt, sy, NULL);
    fk_tensor *tb = NULL;
    if (with_bias) {
      fk_tensor_new(nns[d], dt, 1, sb, &tb, &e);
      fk_tensor_write(tb, b, &e);
    }
    CHECK(!fk_nn_conv2d(nns[d], tx, tw, tb, ty, &c, &e), "conv: %s", e.msg);
    out[d] = malloc(ny * 4);
    fk_tensor_read(ty, out[d], &e);
    fk_tensor_free(tx);
    fk_tensor_free(tw);
    fk_tensor_free(ty);
    fk_tensor_free(tb);
  }
  double num = 0, den = 0;
  for (size_t i = 0; i < ny; i++) {
    double dd = (double)out[1][i] - out[0][i];
    num += isfinite(out[1][i]) ? dd * dd : INFINITY;
    den += (double)out[0][i] * out[0][i];
  }
  CHECK(num / den < (dt == FK_NN_F16 ? 1e-5 : 1e-10),
        "conv%s n%lld %lldx%lldx%lld -> %lld k%d s%d pad %d,%d,%d,%d act %d: nmse %.3g",
        dt == FK_NN_F16 ? " f16" : "", (long long)n, (long long)cin, (long long)h, (long long)w,
        (long long)cout, k, c.stride, c.pad_t, c.pad_l, c.pad_b, c.pad_r, c.act, num / den);
  free(out[0]);
  free(out[1]);
  free(x);
  free(wt);
  free(b);
}
static void one(fk_nn *cpu, fk_nn *gpu, int64_t n, int64_t cin, int64_t h, int64_t w, int64_t cout,
                int k, fk_nn_conv c, int with_bias) {
  one_dt(cpu, gpu, FK_NN_F32, n, cin, h, w, cout, k, c, with_bias);
}

int main(void) {
  fk_nn *cpu, *gpu;
  fk_err e = {0};
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  fk_nn_conv same3 = {.stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1};
  fk_nn_conv down3 = {.stride = 2, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1};
  fk_nn_conv one1 = {.stride = 1};
  fk_nn_conv tf2 = {.stride = 1, .pad_b = 1, .pad_r = 1, .act = FK_NN_ACT_LEAKY, .alpha = 0.2f};
  fk_nn_conv silu3 = same3;
  silu3.act = FK_NN_ACT_SILU;
  /* both kernels: lavapipe's broadcast variant (reading its operands
   * through texel buffers, and through storage buffers as where they do
   * not fit) and the tiled one GPUs use */
  static const char *const variants[] = {"tiled", "lvp", "lvp"};
  for (int v = 0; v < 3; v++) {
    setenv("FUNKY_VK_MATMUL", variants[v], 1);
    setenv("FUNKY_VK_TEXEL", v == 2 ? "0" : "1", 1);
    one(cpu, gpu, 1, 3, 7, 5, 4, 3, same3, 1);
    one(cpu, gpu, 2, 1, 9, 11, 33, 3, same3, 0);
    one(cpu, gpu, 1, 33, 7, 5, 17, 3, down3, 1);
    one(cpu, gpu, 1, 16, 8, 8, 16, 3, down3, 1);
    one(cpu, gpu, 2, 33, 6, 7, 65, 1, one1, 1);
    one(cpu, gpu, 1, 5, 7, 9, 6, 2, tf2, 1);
    one(cpu, gpu, 1, 32, 16, 16, 64, 3, silu3, 1);
    /* lavapipe's vec4 modes (batch folded into columns, rows and columns
     * past the tile edges): 3x3 same with ow % 8 == 0 (one and several
     * 8-pixel segments per row), 3x3 same on 4-wide maps, 1x1 with
     * cin % 4 == 0; each also in fp16 storage. */
    for (int f = 0; f < 2; f++) {
      fk_nn_dtype dt = f ? FK_NN_F16 : FK_NN_F32;
      one_dt(cpu, gpu, dt, 2, 8, 5, 8, 20, 3, same3, 1);
      one_dt(cpu, gpu, dt, 3, 4, 3, 24, 9, 3, silu3, 1);
      one_dt(cpu, gpu, dt, 2, 12, 4, 4, 17, 3, same3, 1);
      one_dt(cpu, gpu, dt, 1, 8, 6, 4, 33, 3, same3, 0);
      one_dt(cpu, gpu, dt, 2, 16, 2, 4, 40, 1, one1, 1);
      one_dt(cpu, gpu, dt, 3, 20, 3, 8, 7, 1, one1, 0);
      one_dt(cpu, gpu, dt, 2, 9, 5, 6, 19, 3, down3, 1);
      one_dt(cpu, gpu, dt, 2, 12, 2, 2, 20, 3, same3, 1);
    }
  }
  unsetenv("FUNKY_VK_MATMUL");
  unsetenv("FUNKY_VK_TEXEL");
  /* The benchmark's naive baseline computes the same convolution. */
  if (fk_nn_kind_of(gpu) == FK_NN_VULKAN) { /* a Vulkan-only baseline */
    int64_t sx[4] = {1, 5, 9, 7}, sw[4] = {6, 5, 3, 3}, sy[4] = {1, 6, 9, 7};
    float x[315], w[270], r1[378], r2[378];
    for (int i = 0; i < 315; i++) x[i] = frand();
    for (int i = 0; i < 270; i++) w[i] = frand();
    fk_tensor *cx = make(cpu, sx, x), *cw = make(cpu, sw, w), *cy = make(cpu, sy, NULL);
    fk_tensor *gx = make(gpu, sx, x), *gw = make(gpu, sw, w), *gy = make(gpu, sy, NULL);
    CHECK(!fk_nn_conv2d(cpu, cx, cw, NULL, cy, &same3, &e) &&
              !fk_nn_naive_conv3x3(gpu, gx, gw, gy, &e),
          "naive conv: %s", e.msg);
    fk_tensor_read(cy, r1, &e);
    fk_tensor_read(gy, r2, &e);
    double worst = 0;
    for (int i = 0; i < 378; i++) worst = fmax(worst, fabs((double)r1[i] - r2[i]));
    CHECK(worst < 1e-5, "naive conv off by %g", worst);
    fk_tensor_free(cx), fk_tensor_free(cw), fk_tensor_free(cy);
    fk_tensor_free(gx), fk_tensor_free(gw), fk_tensor_free(gy);
  }
  return test_finish(cpu, gpu);
}
