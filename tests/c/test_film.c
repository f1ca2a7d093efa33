/* FILM-net against the PyTorch port (goldens film_64x64_dt050/dt025:
 * random weights, frames fed unpadded): relative error < 1e-3 in fp32 on
 * both backends, < 2e-2 with fp16 storage; the flow pyramids are compared
 * too, to tell a flow error from a decoder error. Whole-network parity:
 * labelled "heavy" (the plain C reference conv under ASan takes minutes).
 * Also: the weight checks' messages. Padding and midpoints: test_film_pad.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/file.h"
#include "interp/film.h"
#include "models/safetensors.h"
#include "nn_test_util.h"

static char golden_dir[4096];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *golden(fk_st_file *g, const char *name, const fk_st_tensor **t) {
  float *v = NULL;
  fk_err e = {0};
  *t = fk_st_find(g, name);
  if (!*t || fk_st_to_f32(*t, &v, &e)) CHECK(0, "golden %s: %s", name, e.msg);
  return v;
}

/* Entry b of a debug tensor [2, 2, h, w] against the golden [1, 2, h, w]. */
static double debug_err(fk_tensor *t, int b, fk_st_file *g, const char *name) {
  const fk_st_tensor *gt;
  float *ref = golden(g, name, &gt), *all = malloc(t->numel * sizeof *all);
  fk_err e = {0};
  double r = INFINITY;
  if (ref && all && gt->numel * 2 == t->numel && !fk_tensor_read(t, all, &e))
    r = test_rel_err(all + (size_t)b * gt->numel, ref, gt->numel);
  free(ref);
  free(all);
  return r;
}

static fk_tensor *upload(fk_film *f, const float *v, const fk_st_tensor *t) {
  fk_err e = {0};
  fk_tensor *x = NULL;
  if (fk_tensor_new(fk_film_backend(f), fk_film_dtype(f), t->ndim, t->shape, &x, &e) ||
      fk_tensor_write(x, v, &e))
    CHECK(0, "upload: %s", e.msg);
  return x;
}

static void parity(fk_film *f, const char *file, const char *what) {
  char p[4200];
  fk_err e = {0};
  snprintf(p, sizeof p, "%s/%s", golden_dir, file);
  fk_st_file *g;
  if (fk_st_open(p, &g, &e)) {
    CHECK(0, "golden: %s", e.msg);
    return;
  }
  double limit = fk_film_dtype(f) == FK_NN_F16 ? 2e-2 : 1e-3;
  const fk_st_tensor *t0, *t1, *tdt, *timg;
  float *x0 = golden(g, "x0", &t0), *x1 = golden(g, "x1", &t1), *dt = golden(g, "dt", &tdt);
  float *ref = golden(g, "image", &timg);
  fk_tensor *a = upload(f, x0, t0), *b = upload(f, x1, t1), *y = NULL;
  fk_film_debug dbg = {0};
  double t = now_s();
  CHECK(fk_film_forward(f, a, b, dt[0], &y, &dbg, &e) == 0, "%s %s: %s", what, file, e.msg);
  double ms = (now_s() - t) * 1e3;
  if (y) {
    float *got = malloc(timg->numel * sizeof *got);
    CHECK(!fk_tensor_read(y, got, &e), "read: %s", e.msg);
    double r = test_rel_err(got, ref, timg->numel);
    printf("%s %s: image relative error %.3g (%.0f ms)\n", what, file, r, ms);
    CHECK(r < limit, "%s %s: image relative error %.3g (limit %.0e)", what, file, r, limit);
    free(got);
    static const char *const dir[2] = {"forward", "backward"};
    for (int d = 0; d < 2; d++) {
      double worst = 0;
      char n[96];
      for (int l = 0; l < FK_FILM_LEVELS; l++) {
        snprintf(n, sizeof n, "debug_%s_residual_flow_pyramid_%d", dir[d], l);
        double r2 = debug_err(dbg.residual[l], d, g, n);
        CHECK(r2 < limit, "%s %s: %s relative error %.3g", what, file, n, r2);
        worst = r2 > worst ? r2 : worst;
      }
      for (int l = 0; l < FK_FILM_FUSION_LEVELS; l++) {
        snprintf(n, sizeof n, "debug_%s_flow_pyramid_%d", dir[d], l);
        double r2 = debug_err(dbg.flow[l], d, g, n);
        CHECK(r2 < limit, "%s %s: %s relative error %.3g", what, file, n, r2);
        worst = r2 > worst ? r2 : worst;
      }
      printf("%s %s: %s flows, worst level relative error %.3g\n", what, file, dir[d], worst);
    }
  }
  fk_film_debug_free(&dbg);
  fk_tensor_free(y);
  fk_tensor_free(a);
  fk_tensor_free(b);
  free(x0), free(x1), free(dt), free(ref);
  fk_st_close(g);
}

static fk_film *load(fk_nn *nn, int f16, const char *what) {
  char p[4200];
  fk_err e = {0};
  fk_film *f = NULL;
  snprintf(p, sizeof p, "%s/film-random.safetensors", golden_dir);
  CHECK(fk_film_load(nn, p, f16, &f, &e) == 0, "%s: load: %s", what, e.msg);
  return f;
}

/* A file that is not FILM's names the first missing tensor and its shape. */
static void wrong_file(fk_nn *nn) {
  char p[4200];
  fk_err e = {0};
  fk_film *f = NULL;
  snprintf(p, sizeof p, "%s/film_64x64_dt050.safetensors", golden_dir);
  CHECK(fk_film_load(nn, p, 0, &f, &e) == FK_EUSER && !f, "a golden file loads as weights");
  CHECK(strstr(e.msg, "'extract.extract_sublevels.convs.0.0.0.weight' [64, 3, 3, 3] is missing"),
        "message: %s", e.msg);
  /* a tensor of another shape: both shapes in the message */
  const char *tmp = getenv("TMP");
  char dir[4096];
  snprintf(dir, sizeof dir, "%.4000s", tmp ? tmp : "/tmp");
  fk_file_mkdirs(dir, &e);
  snprintf(p, sizeof p, "%s/film-wrong-shape.safetensors", dir);
  static float w[64 * 3 * 5 * 5];
  int64_t shape[4] = {64, 3, 5, 5};
  fk_st_desc d = {"extract.extract_sublevels.convs.0.0.0.weight", FK_ST_F32, 4, shape, w};
  CHECK(fk_st_write(p, &d, 1, NULL, 0, &e) == 0, "write: %s", e.msg);
  CHECK(fk_film_load(nn, p, 0, &f, &e) == FK_EUSER && !f, "a wrong shape loads");
  CHECK(strstr(e.msg, "has shape [64, 3, 5, 5], expected [64, 3, 3, 3]"), "message: %s", e.msg);
}

/* Frames that need more device memory than the device has fail up
 * front with a message saying what to do, not halfway in the allocator.
 * (Tensors past the binding range are split: test_vk_split.c.) */
static void too_big(fk_film *f) {
  fk_nn *nn = fk_film_backend(f);
  int64_t shape[4] = {1, 3, 2560, 2560};
  /* twice both frames' level-0 features in fp32: more than it needs */
  if (fk_nn_device_budget(nn) >= (size_t)4 * 64 * 2560 * 2560 * 4) return; /* it may run */
  fk_err e = {0};
  fk_tensor *a = NULL, *b = NULL, *y = NULL;
  CHECK(fk_tensor_new(nn, fk_film_dtype(f), 4, shape, &a, &e) == 0 &&
            fk_tensor_new(nn, fk_film_dtype(f), 4, shape, &b, &e) == 0,
        "frames: %s", e.msg);
  if (a && b) {
    size_t used = fk_nn_device_used(nn);
    CHECK(fk_film_forward(f, a, b, 0.5f, &y, NULL, &e) == FK_EUSER && !y,
          "2560x2560 ran or failed otherwise: %s", e.msg);
    /* fp16: 1.6 GiB features fit one allocation, not the 2 GiB heap with
     * the other levels; fp32 (no fp16 storage): they exceed an allocation */
    CHECK((strstr(e.msg, "device memory") || strstr(e.msg, "maxMemoryAllocationSize")) &&
              strstr(e.msg, "RIFE"),
          "message: %s", e.msg);
    CHECK(fk_nn_device_used(nn) == used, "the refusal allocated device memory");
  }
  fk_tensor_free(a);
  fk_tensor_free(b);
}

int main(void) {
  const char *src = getenv("SRC");
  snprintf(golden_dir, sizeof golden_dir, "%.2000s/../shared/golden/film", src ? src : ".");
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return 1;
  wrong_file(cpu);
  fk_film *f = load(gpu, 0, "vulkan");
  if (f) {
    parity(f, "film_64x64_dt050.safetensors", "vulkan fp32");
    parity(f, "film_64x64_dt025.safetensors", "vulkan fp32");
    fk_film_free(f);
  }
  if ((f = load(gpu, 1, "vulkan f16"))) {
    parity(f, "film_64x64_dt050.safetensors",
           fk_film_dtype(f) == FK_NN_F16 ? "vulkan fp16" : "vulkan (no fp16)");
    too_big(f);
    fk_film_free(f);
  }
  if ((f = load(cpu, 0, "cpu"))) {
    parity(f, "film_64x64_dt025.safetensors", "cpu fp32");
    fk_film_free(f);
  }
  return test_finish(cpu, gpu);
}
