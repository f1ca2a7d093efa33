/* The UNet against diffusers' UNet2DConditionModel (golden unet case:
 * timesteps 999/500/1, a CFG batch of 2, a fractional timestep): relative
 * error < 1e-4 in fp32 on both backends and both layouts, < 1e-2 with
 * fp16 storage. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/unet.h"
#include "nn_test_util.h"

static float *golden(fk_st_file *f, const char *name, const fk_st_tensor **t) {
  float *v = NULL;
  fk_err e = {0};
  *t = fk_st_find(f, name);
  if (!*t || fk_st_to_f32(*t, &v, &e)) CHECK(0, "golden %s: %s", name, e.msg);
  return v;
}

static fk_tensor *upload(fk_nn *nn, fk_nn_dtype dt, const fk_st_tensor *t, const float *v) {
  fk_err e = {0};
  fk_tensor *x = NULL;
  if (fk_tensor_new(nn, dt, t->ndim, t->shape, &x, &e) || fk_tensor_write(x, v, &e))
    CHECK(0, "upload: %s", e.msg);
  return x;
}

static void run(fk_nn *nn, const fk_sd_model *m, fk_st_file *g, int f16, const char *what) {
  fk_err e = {0};
  fk_unet *u;
  if (fk_unet_load(nn, m, f16, &u, &e)) {
    CHECK(0, "%s: load: %s", what, e.msg);
    return;
  }
  double limit = fk_unet_dtype(u) == FK_NN_F16 ? 1e-2 : 1e-4;
  static const char *const cases[] = {"case0", "case1", "case2", "cfg", "float_t"};
  for (int c = 0; c < 5; c++) {
    char n[64];
    const fk_st_tensor *ts, *tt, *tc, *to;
    snprintf(n, sizeof n, "%s_sample", cases[c]);
    float *sample = golden(g, n, &ts);
    snprintf(n, sizeof n, "%s_timestep", cases[c]);
    float *t = golden(g, n, &tt);
    snprintf(n, sizeof n, "%s_encoder_hidden_states", cases[c]);
    float *ctx = golden(g, n, &tc);
    snprintf(n, sizeof n, "%s_out", cases[c]);
    float *ref = golden(g, n, &to);
    if (!sample || !t || !ctx || !ref) return;
    float tb[2] = {t[0], t[0]}; /* a scalar timestep broadcasts over the batch */
    fk_tensor *xs = upload(nn, fk_unet_dtype(u), ts, sample);
    fk_tensor *xc = upload(nn, fk_unet_dtype(u), tc, ctx), *out = NULL;
    CHECK(fk_unet_forward(u, xs, tb, xc, &out, &e) == 0, "%s %s: %s", what, cases[c], e.msg);
    if (out) {
      float *got = malloc(to->numel * sizeof *got);
      fk_tensor_read(out, got, &e);
      double num = 0, den = 0;
      for (size_t i = 0; i < to->numel; i++) {
        num += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
        den += (double)ref[i] * ref[i];
      }
      double r = sqrt(num / den);
      CHECK(r < limit, "%s %s: relative error %.3g (limit %.0e)", what, cases[c], r, limit);
      printf("%s %s: relative error %.3g\n", what, cases[c], r);
      free(got);
      fk_tensor_free(out);
    }
    fk_tensor_free(xs);
    fk_tensor_free(xc);
    free(sample), free(t), free(ctx), free(ref);
  }
  /* odd latent sizes (images a multiple of 8 but not of 64) run: the
   * output keeps the input's size */
  fk_tensor *odd = NULL, *ctx = NULL, *out = NULL;
  fk_tensor_new(nn, fk_unet_dtype(u), 4, (int64_t[]){1, 4, 5, 7}, &odd, &e);
  fk_tensor_new(nn, fk_unet_dtype(u), 3, (int64_t[]){1, 77, 64}, &ctx, &e);
  float v[140], c[77 * 64], t1 = 1;
  for (int i = 0; i < 140; i++) v[i] = test_rand(-1, 1);
  for (int i = 0; i < 77 * 64; i++) c[i] = test_rand(-1, 1);
  fk_tensor_write(odd, v, &e);
  fk_tensor_write(ctx, c, &e);
  CHECK(fk_unet_forward(u, odd, &t1, ctx, &out, &e) == 0 && out->shape[2] == 5 &&
            out->shape[3] == 7,
        "odd size 5x7: %s", e.msg);
  if (out) {
    float o[140];
    fk_tensor_read(out, o, &e);
    double s = 0;
    for (int i = 0; i < 140; i++) s += o[i];
    printf("%s odd 5x7 output sum %.6f\n", what, s);
    CHECK(isfinite(s), "odd size output finite");
  }
  fk_tensor_free(out);
  fk_tensor_free(odd);
  fk_tensor_free(ctx);
  fk_unet_free(u);
}

int main(void) {
  char p[4096];
  fk_err e = {0};
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return 1;
  test_golden_path(p, sizeof p, "cases/unet.safetensors");
  fk_st_file *g;
  if (fk_st_open(p, &g, &e)) {
    CHECK(0, "golden: %s", e.msg);
    return CHECK_DONE();
  }
  static const char *const layouts[] = {"tiny-sd", "tiny-sd.safetensors"};
  for (int l = 0; l < 2; l++) {
    test_golden_path(p, sizeof p, layouts[l]);
    fk_sd_model *m;
    if (fk_sd_open(p, FK_SD_STRICT, &m, &e)) {
      CHECK(0, "open %s: %s", p, e.msg);
      continue;
    }
    run(cpu, m, g, 0, l ? "cpu single" : "cpu folder");
    run(gpu, m, g, 0, l ? "vulkan single" : "vulkan folder");
    if (!l) run(gpu, m, g, 1, "vulkan f16");
    fk_sd_close(m);
  }
  fk_st_close(g);
  return test_finish(cpu, gpu);
}
