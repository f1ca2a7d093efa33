/* funky bench text: the CLIP text encoder's time per prompt (batch 1, and
 * batch 2 as classifier-free guidance encodes prompt and negative) on the
 * chosen device, against the engine's plain C reference backend in the
 * same run, with weight memory and peak RSS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "models/clip_text.h"
#include "text/tokenizer.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct row {
  double load_s, one_ms, two_ms;
  size_t bytes;
} row;

/* Median-free but warm: the first encode compiles pipelines, then reps. */
static int measure(fk_nn_opts o, int f16, const fk_sd_model *m, const int32_t *ids, int reps,
                   row *r, char *name, size_t name_n, fk_err *e) {
  fk_nn *nn;
  if (fk_nn_open(&o, &nn, e)) return e->code;
  snprintf(name, name_n, "%s%s", fk_nn_name(nn),
           fk_nn_kind_of(nn) == FK_NN_VULKAN && f16 ? " (f16)" : "");
  fk_clip_text *c = NULL;
  double t0 = now();
  int rc = fk_clip_text_load(nn, m, f16, &c, e);
  r->load_s = now() - t0;
  fk_tensor *out = NULL;
  for (int batch = 1; batch <= 2 && !rc; batch++) {
    rc = fk_clip_text_encode(c, ids, batch, 0, &out, e); /* warm-up */
    fk_tensor_free(out);
    t0 = now();
    for (int i = 0; i < reps && !rc; i++) {
      rc = fk_clip_text_encode(c, ids, batch, 0, &out, e);
      fk_tensor_free(out);
    }
    double ms = 1e3 * (now() - t0) / reps;
    *(batch == 1 ? &r->one_ms : &r->two_ms) = ms;
  }
  if (c) r->bytes = fk_clip_text_bytes(c);
  fk_clip_text_free(c);
  fk_nn_close(nn);
  return rc;
}

int fk_cli_bench_text(int argc, char **argv) {
  const char *model = NULL;
  int reps = 5, reference = 1, f16 = 1;
  fk_nn_opts dev_opts = {.kind = FK_NN_VULKAN}, ref_opts = {.kind = FK_NN_CPU, .reference = 1};
  fk_err e = {0};
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--model") && i + 1 < argc)
      model = argv[++i];
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = (int)strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--no-reference"))
      reference = 0;
    else if (!strcmp(argv[i], "--f32"))
      f16 = 0;
    else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
      if (fk_cli_device_opts(argv[++i], &dev_opts, &e)) return fk_cli_fail(&e);
    } else {
      fk_err_set(&e, FK_EUSER, "bench text: unknown option '%s'; see funky --help", argv[i]);
      return fk_cli_fail(&e);
    }
  }
  if (!model || reps < 1 || reps > 1000) {
    fk_err_set(&e, FK_EUSER,
               "bench text: --model PATH is required (funky model random --family sd15 --out "
               "sd15.safetensors makes one); --reps is 1..1000");
    return fk_cli_fail(&e);
  }
  fk_sd_model *m;
  if (fk_sd_open(model, FK_SD_STRICT, &m, &e)) return fk_cli_fail(&e);
  fk_tok *tok;
  int32_t ids[2 * FK_TOK_CONTEXT];
  const fk_sd_config *cfg = fk_sd_config_of(m);
  if (fk_tok_open(fk_sd_tokenizer_dir(m), &tok, &e) ||
      fk_tok_ids77(tok, "iceland vista high res photo 4k cinematic lighting anamorphic 16mm",
                   cfg->text.pad_id, ids, &e) ||
      fk_tok_ids77(tok, "", cfg->text.pad_id, ids + FK_TOK_CONTEXT, &e)) {
    fk_sd_close(m);
    return fk_cli_fail(&e);
  }
  fk_tok_close(tok);
  row dev = {0}, ref = {0};
  char dev_name[400] = "", ref_name[400] = "";
  int rc = measure(dev_opts, f16, m, ids, reps, &dev, dev_name, sizeof dev_name, &e);
  if (!rc && reference) rc = measure(ref_opts, 0, m, ids, 1, &ref, ref_name, sizeof ref_name, &e);
  if (rc) {
    fk_sd_close(m);
    return fk_cli_fail(&e);
  }
  double gflop = 0; /* 2 FLOP per multiply-add of the linear layers and attention */
  {
    double d = cfg->text.hidden, l = cfg->text.positions, k = cfg->text.intermediate;
    gflop = cfg->text.layers * (2 * l * d * (4 * d + 2 * k) + 4 * l * l * d) / 1e9;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("funky bench text: %s (%s, width %d, %d layers), %.1f GFLOP per prompt\n\n", model,
         fk_sd_family_name(cfg->family), cfg->text.hidden, cfg->text.layers, gflop);
  printf("| backend | load s | ms per prompt | ms per CFG pair | GFLOP/s | weights MB | ratio |\n");
  printf("|---|---|---|---|---|---|---|\n");
  printf("| %s | %.2f | %.1f | %.1f | %.1f | %.0f | %s |\n", dev_name, dev.load_s, dev.one_ms,
         dev.two_ms, gflop / (dev.one_ms / 1e3), (double)dev.bytes / 1e6,
         ref.one_ms > 0 ? "" : "-");
  if (ref.one_ms > 0) {
    printf("| %s (plain C reference) | %.2f | %.1f | %.1f | %.1f | %.0f | 1.0 |\n", ref_name,
           ref.load_s, ref.one_ms, ref.two_ms, gflop / (ref.one_ms / 1e3), (double)ref.bytes / 1e6);
    printf("\n%s / reference: %.1fx per prompt\n", dev_name, ref.one_ms / dev.one_ms);
  }
  printf("peak RSS %.0f MB\n", (double)ru.ru_maxrss / 1024.0);
  fk_sd_close(m);
  return 0;
}
