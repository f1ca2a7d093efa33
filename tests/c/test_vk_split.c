/* Tensors larger than one binding may cover (maxStorageBufferRange):
 * the Vulkan ops bind sub-ranges and split their dispatches. With the
 * range lowered (FUNKY_VK_MAX_RANGE, or set on the open device) the
 * splitting paths run at small sizes; every op must give what it gives
 * with the device's range:
 * conv2d (input-channel groups summed in the output, odd channel counts,
 * odd sizes, stride 2, fp32 and fp16 storage, texel and storage-buffer
 * reads, lavapipe's and the tiled kernel), the per-plane ops FILM runs
 * (unary, binary with and without broadcast, channel copies, avg pool,
 * bilinear, nearest, warp) and a whole FILM forward on the random
 * weights of ../shared/golden/film. Ops that do not split fail with a
 * message. Outputs are poisoned with NaN before each run. Four FILM
 * passes and many conv pipelines (seconds each on lavapipe), so it is
 * labelled "heavy" (the main build only). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interp/film.h"
#include "nn/nn_internal.h"
#include "nn_test_util.h"

/* single ops: 8 KiB a binding (a 16x16 fp32 plane is 1 KiB) */
#define SMALL_RANGE 8192
/* FILM at 128x128: 1 MiB (a level-0 fp32 plane is 64 KiB, an image 64 planes) */
#define FILM_RANGE 1048576

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The device's binding range as FUNKY_VK_MAX_RANGE would set it: one
 * device runs both ways, so each pipeline compiles once (lavapipe takes
 * seconds per conv pipeline). */
static uint64_t device_range;
static void set_range(fk_nn *nn, uint64_t bytes) {
  nn->vk->caps.max_storage_range = bytes ? bytes : device_range;
}

/* A tensor of dtype dt from v (NULL: NaN poison). */
static fk_tensor *mk(fk_nn *nn, fk_nn_dtype dt, int nd, const int64_t *shape, const float *v) {
  fk_err e = {0};
  fk_tensor *t = NULL;
  if (fk_tensor_new(nn, dt, nd, shape, &t, &e)) {
    CHECK(0, "tensor: %s", e.msg);
    exit(1);
  }
  float *buf = malloc(t->numel * sizeof *buf);
  for (size_t i = 0; i < t->numel; i++) buf[i] = v ? v[i] : NAN;
  CHECK(!fk_tensor_write(t, buf, &e), "write: %s", e.msg);
  free(buf);
  return t;
}

static float *rnd(size_t n, float lo, float hi) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = test_rand(lo, hi);
  return v;
}

static float *read_all(fk_tensor *t) {
  fk_err e = {0};
  float *v = malloc(t->numel * sizeof *v);
  CHECK(!fk_tensor_read(t, v, &e), "read: %s", e.msg);
  return v;
}

/* Relative error of the split run's output against the whole one's. */
static void same(const char *what, fk_tensor *whole, fk_tensor *split, double limit) {
  float *a = read_all(whole), *b = read_all(split);
  double r = test_rel_err(b, a, whole->numel);
  CHECK(r <= limit, "%s: split differs from unsplit by %.3g (limit %.1g)", what, r, limit);
  free(a);
  free(b);
}

/* Dispatches recorded since the last sync: the split run must take more. */
static uint32_t recorded(fk_nn *nn) {
  return fk_vk_rec_dispatches(nn->rec);
}

typedef struct conv_case {
  int n, cin, h, w, cout, k, stride, pad;
  int bias;
  fk_nn_act act;
} conv_case;

static void conv(fk_nn *nn, const conv_case *c, fk_nn_dtype dt, const char *how) {
  fk_err e = {0};
  int oh = (c->h + 2 * c->pad - c->k) / c->stride + 1,
      ow = (c->w + 2 * c->pad - c->k) / c->stride + 1;
  int64_t xs[4] = {c->n, c->cin, c->h, c->w}, ws[4] = {c->cout, c->cin, c->k, c->k};
  int64_t bs[1] = {c->cout}, ys[4] = {c->n, c->cout, oh, ow};
  size_t nx = (size_t)c->n * c->cin * c->h * c->w, nw = (size_t)c->cout * c->cin * c->k * c->k;
  float *xv = rnd(nx, -1, 1), *wv = rnd(nw, -0.2f, 0.2f), *bv = rnd((size_t)c->cout, -0.5f, 0.5f);
  fk_nn_conv cv = {.stride = c->stride,
                   .pad_t = c->pad,
                   .pad_l = c->pad,
                   .pad_b = c->pad,
                   .pad_r = c->pad,
                   .act = c->act,
                   .alpha = 0.2f};
  fk_tensor *y[2];
  uint32_t calls[2];
  for (int i = 0; i < 2; i++) {
    set_range(nn, i ? SMALL_RANGE : 0);
    fk_tensor *x = mk(nn, dt, 4, xs, xv), *w = mk(nn, dt, 4, ws, wv);
    fk_tensor *b = c->bias ? mk(nn, dt, 1, bs, bv) : NULL;
    y[i] = mk(nn, dt, 4, ys, NULL);
    CHECK(fk_nn_conv2d(nn, x, w, b, y[i], &cv, &e) == 0, "conv %s: %s", how, e.msg);
    calls[i] = recorded(nn);
    CHECK(fk_nn_sync(nn, &e) == 0, "sync: %s", e.msg);
    fk_tensor_free(x);
    fk_tensor_free(w);
    fk_tensor_free(b);
  }
  set_range(nn, 0);
  char what[160];
  snprintf(what, sizeof what, "conv %s %s n%d %d->%d %dx%d k%d s%d%s", how,
           dt == FK_NN_F16 ? "fp16" : "fp32", c->n, c->cin, c->cout, c->h, c->w, c->k, c->stride,
           c->bias ? " bias" : "");
  /* fp16: the split run rounds its partial sums to fp16 between groups */
  same(what, y[0], y[1], dt == FK_NN_F16 ? 2e-2 : 1e-5);
  CHECK(calls[1] > calls[0] + 2, "%s: %u dispatches split, %u whole: not split", what, calls[1],
        calls[0]);
  printf("%s: %u dispatches split\n", what, calls[1]);
  fk_tensor_free(y[0]);
  fk_tensor_free(y[1]);
  free(xv), free(wv), free(bv);
}

static void convs(fk_nn *nn) {
  static const conv_case cases[] = {
      {2, 33, 16, 16, 40, 3, 1, 1, 1, FK_NN_ACT_LEAKY}, /* odd channels, cin and cout split */
      {2, 64, 16, 16, 24, 3, 1, 1, 1, FK_NN_ACT_NONE},  /* mode 1 (cin % 4, ow % 8) */
      {1, 36, 15, 15, 20, 3, 1, 1, 0, FK_NN_ACT_LEAKY}, /* odd size: aligned groups */
      {2, 32, 17, 17, 24, 3, 2, 1, 1, FK_NN_ACT_SILU},  /* stride 2 */
      {2, 48, 16, 16, 33, 1, 1, 0, 1, FK_NN_ACT_LEAKY}, /* 1x1 (mode 2) */
      {1, 32, 16, 16, 16, 2, 1, 0, 1, FK_NN_ACT_NONE},  /* 2x2 (FILM's decoder) */
  };
  static const char *const how[3] = {"texel", "ssbo", "tiled"};
  for (int m = 0; m < 3; m++) {
    setenv("FUNKY_VK_TEXEL", m == 1 ? "0" : "1", 1);
    if (m == 2) setenv("FUNKY_VK_MATMUL", "tiled", 1);
    /* every case on lavapipe's texel path; its storage-buffer reads and
     * the tiled kernel on the first two (each pipeline takes seconds) */
    size_t n = m == 0 ? sizeof cases / sizeof *cases : 2;
    for (size_t i = 0; i < n; i++) {
      conv(nn, &cases[i], FK_NN_F32, how[m]);
      conv(nn, &cases[i], FK_NN_F16, how[m]);
    }
    unsetenv("FUNKY_VK_TEXEL");
    unsetenv("FUNKY_VK_MATMUL");
  }
}

/* One per-plane op on both devices; op runs it on (x, x2, y). */
typedef int (*plane_op)(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e);

static void plane(fk_nn *nn, const char *what, fk_nn_dtype dt, const int64_t *xs,
                  const int64_t *x2s, const int64_t *ys, plane_op op) {
  fk_err e = {0};
  size_t nx = (size_t)(xs[0] * xs[1] * xs[2] * xs[3]),
         n2 = (size_t)(x2s[0] * x2s[1] * x2s[2] * x2s[3]);
  float *xv = rnd(nx, -1, 1), *x2v = rnd(n2, -3, 3);
  fk_tensor *y[2];
  uint32_t calls[2];
  for (int i = 0; i < 2; i++) {
    set_range(nn, i ? SMALL_RANGE : 0);
    fk_tensor *x = mk(nn, dt, 4, xs, xv), *x2 = mk(nn, dt, 4, x2s, x2v);
    y[i] = mk(nn, dt, 4, ys, NULL);
    CHECK(op(nn, x, x2, y[i], &e) == 0, "%s: %s", what, e.msg);
    calls[i] = recorded(nn);
    CHECK(fk_nn_sync(nn, &e) == 0, "sync: %s", e.msg);
    fk_tensor_free(x);
    fk_tensor_free(x2);
  }
  set_range(nn, 0);
  char w2[160];
  snprintf(w2, sizeof w2, "%s %s", what, dt == FK_NN_F16 ? "fp16" : "fp32");
  same(w2, y[0], y[1], 0); /* the same arithmetic per element: exact */
  CHECK(calls[1] > calls[0], "%s: not split (%u dispatches)", w2, calls[1]);
  fk_tensor_free(y[0]);
  fk_tensor_free(y[1]);
  free(xv), free(x2v);
}

static int op_leaky(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  (void)x2;
  return fk_nn_unary_op(nn, FK_NN_LEAKY_RELU, x, y, 0.2f, 0, e);
}
static int op_add(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  return fk_nn_binary_op(nn, FK_NN_ADD, x, x2, y, e);
}
static int op_mul(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  return fk_nn_binary_op(nn, FK_NN_MUL, x, x2, y, e);
}
/* a concatenation: channels 3.. of x after 5 channels of x2, into y */
static int op_concat(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  int cx = (int)x->shape[1];
  return fk_nn_copy_channels(nn, x2, 0, 5, y, 0, e) ||
                 fk_nn_copy_channels(nn, x, 3, cx - 3, y, 5, e)
             ? e->code
             : FK_OK;
}
static int op_avg(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  (void)x2;
  return fk_nn_resample_op(nn, FK_NN_AVGPOOL2X2, 0, x, y, e);
}
static int op_bilinear(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  (void)x2;
  return fk_nn_resample_op(nn, FK_NN_BILINEAR, 0, x, y, e);
}
static int op_nearest(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  (void)x2;
  return fk_nn_resample_op(nn, FK_NN_UPSAMPLE2X, 0, x, y, e);
}
static int op_warp(fk_nn *nn, fk_tensor *x, fk_tensor *x2, fk_tensor *y, fk_err *e) {
  return fk_nn_warp(nn, x, x2, y, e);
}

static void planes(fk_nn *nn) {
  for (int f = 0; f < 2; f++) {
    fk_nn_dtype dt = f ? FK_NN_F16 : FK_NN_F32;
    const int64_t x[4] = {2, 37, 16, 24}, per_n[4] = {2, 1, 1, 1}, per_c[4] = {1, 37, 1, 1};
    const int64_t half[4] = {2, 37, 8, 12}, dbl[4] = {2, 37, 32, 48}, odd[4] = {2, 37, 11, 13};
    const int64_t cat[4] = {2, 39, 16, 24}, five[4] = {2, 5, 16, 24}, flow[4] = {2, 2, 16, 24};
    plane(nn, "leaky relu", dt, x, x, x, op_leaky);
    plane(nn, "add", dt, x, x, x, op_add);
    plane(nn, "mul by [N,1,1,1]", dt, x, per_n, x, op_mul);
    plane(nn, "add [1,C,1,1]", dt, x, per_c, x, op_add);
    plane(nn, "concatenation", dt, x, five, cat, op_concat);
    plane(nn, "avg pool", dt, x, x, half, op_avg);
    plane(nn, "bilinear", dt, x, x, odd, op_bilinear);
    plane(nn, "nearest", dt, x, x, dbl, op_nearest);
    plane(nn, "warp", dt, x, flow, x, op_warp);
  }
}

/* An op that does not split says so instead of binding past the range. */
static void unsplit_ops(fk_nn *split) {
  fk_err e = {0};
  set_range(split, SMALL_RANGE);
  int64_t as[2] = {64, 64};
  fk_tensor *a = mk(split, FK_NN_F32, 2, as, NULL), *c = mk(split, FK_NN_F32, 2, as, NULL);
  CHECK(fk_nn_matmul(split, a, a, NULL, c, 0, &e) == FK_EUSER, "a 16 KiB matmul ran");
  CHECK(strstr(e.msg, "maxStorageBufferRange") && strstr(e.msg, "matmul"), "message: %s", e.msg);
  fk_tensor_free(a);
  fk_tensor_free(c);
  /* an image whose planes cannot start aligned: 33 channels of 15x15 fp32 */
  int64_t xs[4] = {2, 33, 15, 15};
  fk_tensor *x = mk(split, FK_NN_F32, 4, xs, NULL), *y = mk(split, FK_NN_F32, 4, xs, NULL);
  CHECK(fk_nn_unary_op(split, FK_NN_SIGMOID, x, y, 0, 0, &e) == 0, "elementwise: %s", e.msg);
  CHECK(fk_nn_copy_channels(split, x, 0, 33, y, 0, &e) == FK_EUSER, "a misaligned copy ran");
  CHECK(strstr(e.msg, "pad"), "message: %s", e.msg);
  fk_nn_sync(split, &e);
  fk_tensor_free(x);
  fk_tensor_free(y);
  set_range(split, 0);
}

/* A whole FILM forward (random weights, random 128x128 frames). */
static void film(fk_nn *nn, int f16) {
  char p[4200];
  test_golden_path(p, sizeof p, "film/film-random.safetensors");
  enum { H = 128, W = 128 };
  int64_t fs[4] = {1, 3, H, W};
  float *f0 = rnd(3 * H * W, 0, 1), *f1 = malloc(3 * H * W * sizeof *f1);
  for (int i = 0; i < 3 * H * W; i++) /* the first frame moved two pixels */
    f1[i] = f0[(i % W) >= 2 ? i - 2 : i];
  fk_tensor *y[2] = {NULL, NULL};
  fk_film *fm = NULL;
  fk_err e = {0};
  if (fk_film_load(nn, p, f16, &fm, &e)) {
    CHECK(0, "load: %s", e.msg);
    free(f0);
    free(f1);
    return;
  }
  const char *what = f16 ? "FILM 128x128 fp16" : "FILM 128x128 fp32";
  for (int i = 0; i < 2; i++) {
    set_range(nn, i ? FILM_RANGE : 0);
    fk_tensor *a = mk(nn, fk_film_dtype(fm), 4, fs, f0), *b = mk(nn, fk_film_dtype(fm), 4, fs, f1);
    double t0 = now_s();
    CHECK(fk_film_forward(fm, a, b, 0.5f, &y[i], NULL, &e) == 0, "%s %s: %s", what,
          i ? "split" : "whole", e.msg);
    printf("%s %s: %.0f ms\n", what, i ? "split" : "whole", (now_s() - t0) * 1e3);
    fk_tensor_free(a);
    fk_tensor_free(b);
  }
  set_range(nn, 0);
  fk_film_free(fm);
  if (y[0] && y[1]) same(what, y[0], y[1], f16 ? 2e-2 : 1e-5);
  fk_tensor_free(y[0]);
  fk_tensor_free(y[1]);
  free(f0);
  free(f1);
}

int main(void) {
  const char *which = getenv("FUNKY_TEST_NN");
  if (which && !strcmp(which, "cpu")) {
    printf("Vulkan only: nothing to split on the CPU\n");
    return 0;
  }
  unsetenv("FUNKY_VK_TEXEL");
  unsetenv("FUNKY_VK_MATMUL");
  fk_err e = {0};
  fk_nn *nn = NULL;
  fk_nn_opts o = {.kind = FK_NN_VULKAN, .validation = 1};
  /* FUNKY_VK_MAX_RANGE lowers the range a device opens with */
  setenv("FUNKY_VK_MAX_RANGE", "70000", 1);
  CHECK(fk_nn_open(&o, &nn, &e) == 0, "open with FUNKY_VK_MAX_RANGE: %s", e.msg);
  if (nn) CHECK(fk_nn_max_binding_bytes(nn) == 69888, "range %zu", fk_nn_max_binding_bytes(nn));
  fk_nn_close(nn);
  setenv("FUNKY_VK_MAX_RANGE", "12", 1);
  CHECK(fk_nn_open(&o, &nn, &e) == FK_EUSER && strstr(e.msg, "FUNKY_VK_MAX_RANGE"),
        "a bad FUNKY_VK_MAX_RANGE: %s", e.msg);
  unsetenv("FUNKY_VK_MAX_RANGE");
  if (fk_nn_open(&o, &nn, &e)) {
    CHECK(0, "open: %s", e.msg);
    return CHECK_DONE();
  }
  device_range = nn->vk->caps.max_storage_range;
  CHECK(fk_nn_max_tensor_bytes(nn) > device_range, "a tensor may exceed the binding range");
  double t0 = now_s();
  convs(nn);
  double t1 = now_s();
  planes(nn);
  unsplit_ops(nn);
  double t2 = now_s();
  film(nn, 0);
  film(nn, 1);
  printf("convs %.1f s, per-plane ops %.1f s, FILM %.1f s\n", t1 - t0, t2 - t1, now_s() - t2);
  CHECK(fk_nn_validation_messages(nn) == 0, "%u validation messages",
        fk_nn_validation_messages(nn));
  fk_nn_close(nn);
  return CHECK_DONE();
}
