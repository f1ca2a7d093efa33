/* funky bench sd: the diffusion stages of one img2img frame for a model at
 * a size: text encoding, UNet evaluations (a CFG pair per step), with
 * GFLOP/s and peak memory. The UNet's FLOP count is measured in the same
 * run by counting the work of its convolutions and matmuls analytically
 * from the configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "models/clip_text.h"
#include "models/unet.h"
#include "models/vae.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): on shared cores the wall
 * time also counts other people's work; CPU time / wall time says how many
 * cores a stage really had. */
static double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
         1e-6 * ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec);
}

/* Multiply-adds x2 of the UNet at latent h x w, batch 1. */
static double unet_gflop(const fk_unet_config *c, int h, int w) {
  double f = 0, hw = (double)h * w;
  int n = c->levels, lpb = c->layers_per_block;
  double c0 = c->channels[0];
  f += 2 * hw * c0 * c->in_channels * 9 + 2 * hw * c0 * c->out_channels * 9;
#define RES(ci, co, HW)                                                                            \
  (2 * (HW) * ((ci) * (co)*9 + (co) * (co)*9 + ((ci) != (co) ? (ci) * (co) : 0)))
#define ATT(C, HW)                                                                                 \
  (2 * (HW) * ((C) * (C)*2 + (C) * (C)*4 + (C) * (C)*2 + 12 * (C) * (C)) + 4 * (HW) * (HW) * (C) + \
   4 * (HW)*77 * (C) + 2 * 77 * (C)*c->cross_attention_dim * 2)
  double cin = c0, HW = hw;
  for (int i = 0; i < n; i++) {
    double co = c->channels[i];
    for (int j = 0; j < lpb; j++) {
      f += RES(cin, co, HW);
      if (c->attention[i]) f += ATT(co, HW);
      cin = co;
    }
    if (i < n - 1) {
      HW /= 4;
      f += 2 * HW * co * co * 9;
    }
  }
  double top = c->channels[n - 1];
  f += 2 * RES(top, top, HW) + ATT(top, HW);
  double out = top;
  for (int i = 0; i < n; i++) {
    int r = n - 1 - i;
    double prev = out, in = c->channels[r > 0 ? r - 1 : 0];
    out = c->channels[r];
    for (int j = 0; j <= lpb; j++) {
      double skip = j == lpb ? in : out, rin = j == 0 ? prev : out;
      f += RES(rin + skip, out, HW);
      if (c->attention[r]) f += ATT(out, HW);
    }
    if (i < n - 1) {
      HW *= 4;
      f += 2 * HW * out * out * 9;
    }
  }
  return f / 1e9;
}

int fk_cli_bench_sd(int argc, char **argv) {
  const char *model = NULL;
  int size = 256, steps = 2, f16 = 1, vae = 1;
  fk_nn_opts o = {.kind = FK_NN_VULKAN};
  fk_err e = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--model") && v)
      model = argv[++i];
    else if (!strcmp(a, "--size") && v)
      size = (int)strtol(argv[++i], NULL, 10);
    else if (!strcmp(a, "--steps") && v)
      steps = (int)strtol(argv[++i], NULL, 10);
    else if (!strcmp(a, "--device") && v) {
      if (fk_cli_device_opts(argv[++i], &o, &e)) return fk_cli_fail(&e);
    } else if (!strcmp(a, "--f32"))
      f16 = 0;
    else if (!strcmp(a, "--no-vae"))
      vae = 0;
    else {
      fk_err_set(&e, FK_EUSER, "bench sd: unknown option '%s'; see funky --help", a);
      return fk_cli_fail(&e);
    }
  }
  if (!model || size < 64 || size % 64 || size > 2048 || steps < 1 || steps > 100) {
    fk_err_set(
        &e, FK_EUSER,
        "bench sd: --model PATH is required (funky model random --family sd15 --out "
        "sd15.safetensors makes one); --size is a multiple of 64 up to 2048; --steps 1..100; "
        "--device " FK_NN_DEVICES);
    return fk_cli_fail(&e);
  }
  fk_sd_model *m;
  if (fk_sd_open(model, FK_SD_STRICT, &m, &e)) return fk_cli_fail(&e);
  const fk_sd_config *cfg = fk_sd_config_of(m);
  fk_nn *nn = NULL;
  fk_unet *u = NULL;
  fk_tensor *x = NULL, *ctx = NULL, *out = NULL;
  int h = size / 8, rc = fk_nn_open(&o, &nn, &e);
  double t0 = now(), c0 = cpu_now(), load = 0, first = 0, steady = 0;
  double c_load = 0, c_first = 0, c_steady = 0, c_text = 0, c_enc = 0, c_dec = 0;
  if (!rc) rc = fk_unet_load(nn, m, f16, &u, &e);
  load = now() - t0;
  c_load = cpu_now() - c0;
  int64_t xs[4] = {2, cfg->unet.in_channels, h, h}, cs[3] = {2, 77, cfg->unet.cross_attention_dim};
  if (!rc) rc = fk_tensor_new(nn, fk_unet_dtype(u), 4, xs, &x, &e);
  if (!rc) rc = fk_tensor_new(nn, fk_unet_dtype(u), 3, cs, &ctx, &e);
  if (!rc) {
    size_t nmax = x->numel > ctx->numel ? x->numel : ctx->numel;
    float *v = fk_alloc(nmax, sizeof *v);
    if (!v) rc = fk_err_oom(&e, "inputs", nmax * sizeof *v);
    for (size_t i = 0; v && i < nmax; i++) v[i] = (float)((double)(i * 7919 % 2001) / 1000.0 - 1);
    if (!rc) rc = fk_tensor_write(x, v, &e) || fk_tensor_write(ctx, v, &e) ? e.code : FK_OK;
    free(v);
  }
  float ts[2] = {500, 500};
  size_t unet_bytes = u ? fk_unet_bytes(u) : 0;
  for (int s = 0; s <= steps && !rc; s++) {
    t0 = now();
    c0 = cpu_now();
    rc = fk_unet_forward(u, x, ts, ctx, &out, &e);
    fk_tensor_free(out);
    out = NULL;
    if (s == 0) {
      first = now() - t0;
      c_first = cpu_now() - c0;
    } else {
      steady += now() - t0;
      c_steady += cpu_now() - c0;
    }
  }
  /* the other stages: text encoder (prompt + negative), VAE encode, decode */
  double t_text = 0, t_enc = 0, t_dec = 0;
  size_t vae_bytes = 0;
  int tiles_enc = 0, tiles_dec = 0;
  fk_unet_free(u);
  u = NULL;
  if (!rc) {
    fk_clip_text *ct = NULL;
    int32_t ids[2 * 77];
    for (int i = 0; i < 2 * 77; i++) ids[i] = i % 77 == 0 ? 49406 : i % 77 < 12 ? 320 + i : 49407;
    rc = fk_clip_text_load(nn, m, f16, &ct, &e);
    if (!rc) rc = fk_clip_text_encode(ct, ids, 2, 0, &out, &e); /* warm-up */
    fk_tensor_free(out);
    out = NULL;
    t0 = now();
    c0 = cpu_now();
    if (!rc) rc = fk_clip_text_encode(ct, ids, 2, 0, &out, &e);
    t_text = now() - t0;
    c_text = cpu_now() - c0;
    fk_tensor_free(out);
    out = NULL;
    fk_clip_text_free(ct);
  }
  if (!rc && vae) {
    fk_vae *v = NULL;
    fk_tensor *img = NULL, *mean = NULL, *std = NULL, *dec = NULL;
    int64_t is[4] = {1, 3, size, size};
    rc = fk_vae_load(nn, m, f16, &v, &e);
    if (!rc) rc = fk_tensor_new(nn, f16 ? FK_NN_F16 : FK_NN_F32, 4, is, &img, &e);
    if (!rc) {
      float *px = fk_alloc(img->numel, sizeof *px);
      for (size_t i = 0; px && i < img->numel; i++) px[i] = (float)((i * 31 % 200) / 100.0 - 1);
      rc = px ? fk_tensor_write(img, px, &e) : fk_err_oom(&e, "image", img->numel * 4);
      free(px);
    }
    t0 = now();
    c0 = cpu_now();
    if (!rc) rc = fk_vae_encode(v, img, &mean, &std, &e);
    t_enc = now() - t0;
    c_enc = cpu_now() - c0;
    if (!rc) tiles_enc = fk_vae_last_tiles(v);
    t0 = now();
    c0 = cpu_now();
    if (!rc) rc = fk_vae_decode(v, mean, &dec, &e);
    t_dec = now() - t0;
    c_dec = cpu_now() - c0;
    if (!rc) tiles_dec = fk_vae_last_tiles(v);
    if (v) vae_bytes = fk_vae_bytes(v);
    fk_tensor_free(img), fk_tensor_free(mean), fk_tensor_free(std), fk_tensor_free(dec);
    fk_vae_free(v);
  }
  if (!rc) {
    double gf = 2 * unet_gflop(&cfg->unet, h, h), per = steady / steps;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("funky bench sd: %s (%s), %dx%d, %s\n\n", model, fk_sd_family_name(cfg->family), size,
           size, fk_nn_name(nn));
    /* CPU s / wall s: the cores the stage really had (shared machines) */
    printf("| stage | seconds | CPU s | cores | GFLOP | GFLOP/s |\n|---|---|---|---|---|---|\n");
#define CORES(c, t) ((t) > 0 ? (c) / (t) : 0.0)
    printf("| UNet load (%.0f MB %s) | %.2f | %.2f | %.2f | | |\n", (double)unet_bytes / 1e6,
           f16 ? "f16" : "f32", load, c_load, CORES(c_load, load));
    printf("| text encoder, prompt + negative (warm) | %.2f | %.2f | %.2f | | |\n", t_text, c_text,
           CORES(c_text, t_text));
    printf("| UNet CFG pair, first (compiles pipelines) | %.2f | %.2f | %.2f | %.0f | %.1f |\n",
           first, c_first, CORES(c_first, first), gf, gf / first);
    printf("| UNet CFG pair = one step, steady (mean of %d) | %.2f | %.2f | %.2f | %.0f | %.1f |\n",
           steps, per, c_steady / steps, CORES(c_steady, steady), gf, gf / per);
    if (vae) {
      printf("| VAE encode %dx%d (%d tile%s, first run) | %.2f | %.2f | %.2f | | |\n", size, size,
             tiles_enc, tiles_enc == 1 ? "" : "s", t_enc, c_enc, CORES(c_enc, t_enc));
      printf("| VAE decode %dx%d (%d tile%s) | %.2f | %.2f | %.2f | | |\n", size, size, tiles_dec,
             tiles_dec == 1 ? "" : "s", t_dec, c_dec, CORES(c_dec, t_dec));
    }
#undef CORES
    printf("\npeak RSS %.0f MB; %s memory for weights: UNet %.0f MB, VAE %.0f MB",
           (double)ru.ru_maxrss / 1024.0, fk_nn_kind_of(nn) == FK_NN_CPU ? "host" : "device",
           (double)unet_bytes / 1e6, (double)vae_bytes / 1e6);
    if (fk_nn_kind_of(nn) == FK_NN_VULKAN) /* on the CPU, peak RSS says it */
      printf("; device memory peak (weights, text encoder and activations) %.0f MB",
             (double)fk_nn_device_peak(nn) / 1e6);
    printf("\n");
  }
  fk_tensor_free(x);
  fk_tensor_free(ctx);
  fk_unet_free(u);
  fk_nn_close(nn);
  fk_sd_close(m);
  return rc ? fk_cli_fail(&e) : 0;
}
