/* The CLIP text encoder against transformers' CLIPTextModel (the golden
 * text_encoder case): relative error < 1e-4 in fp32 on both backends and
 * both layouts, < 1e-2 with fp16 storage; clip_skip against the golden's
 * per-layer hidden states. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/clip_text.h"
#include "nn_test_util.h"

static float *golden(fk_st_file *f, const char *name, size_t *n) {
  const fk_st_tensor *t = fk_st_find(f, name);
  float *v = NULL;
  fk_err e = {0};
  if (!t || fk_st_to_f32(t, &v, &e)) {
    CHECK(0, "golden tensor %s: %s", name, e.msg);
    return NULL;
  }
  *n = t->numel;
  return v;
}

/* LayerNorm on the host, for the clip_skip reference. */
static void host_ln(const float *x, float *y, size_t rows, size_t d, const float *w, const float *b,
                    double eps) {
  for (size_t r = 0; r < rows; r++) {
    double m = 0, v = 0;
    for (size_t i = 0; i < d; i++) m += x[r * d + i];
    m /= (double)d;
    for (size_t i = 0; i < d; i++) v += (x[r * d + i] - m) * (x[r * d + i] - m);
    v /= (double)d;
    for (size_t i = 0; i < d; i++)
      y[r * d + i] = (float)((x[r * d + i] - m) / sqrt(v + eps) * w[i] + b[i]);
  }
}

static void run(fk_nn *nn, const fk_sd_model *m, fk_st_file *g, int f16, const char *what) {
  fk_err e = {0};
  fk_clip_text *c;
  if (fk_clip_text_load(nn, m, f16, &c, &e)) {
    CHECK(0, "%s: load: %s", what, e.msg);
    return;
  }
  double limit = f16 && fk_nn_kind_of(nn) == FK_NN_VULKAN ? 1e-2 : 1e-4;
  for (int p = 0; p < 3; p++) {
    char name[64];
    size_t nid, nref, nh;
    snprintf(name, sizeof name, "input_ids_%d", p);
    float *fid = golden(g, name, &nid);
    snprintf(name, sizeof name, "last_hidden_state_%d", p);
    float *ref = golden(g, name, &nref);
    snprintf(name, sizeof name, "debug_hidden_states_%d", p);
    float *hs = golden(g, name, &nh);
    if (!fid || !ref || !hs) return;
    int32_t ids[77];
    for (int i = 0; i < 77; i++) ids[i] = (int32_t)fid[i];
    fk_tensor *out;
    float *got = malloc(nref * sizeof *got);
    CHECK(fk_clip_text_encode(c, ids, 1, 0, &out, &e) == 0, "%s: encode: %s", what, e.msg);
    if (out) {
      CHECK(out->shape[0] == 1 && out->shape[1] == 77 && out->shape[2] == 64, "shape");
      fk_tensor_read(out, got, &e);
      double r = test_rel_err(got, ref, nref);
      CHECK(r < limit, "%s prompt %d: relative error %.3g (limit %.0e)", what, p, r, limit);
      fk_tensor_free(out);
    }
    /* clip_skip 1: final LN of the output of layer 3 (hidden_states[3]) */
    const fk_sd_weight *lw, *lb;
    float w[64], b[64], *skip = malloc(77 * 64 * sizeof *skip);
    fk_sd_weight_get(m, FK_PART_TEXT, "text_model.final_layer_norm.weight", &lw, &e);
    fk_sd_weight_get(m, FK_PART_TEXT, "text_model.final_layer_norm.bias", &lb, &e);
    fk_sd_weight_f32(lw, w, &e);
    fk_sd_weight_f32(lb, b, &e);
    host_ln(hs + 3 * 77 * 64, skip, 77, 64, w, b, 1e-5);
    CHECK(fk_clip_text_encode(c, ids, 1, 1, &out, &e) == 0, "%s: encode skip: %s", what, e.msg);
    if (out) {
      fk_tensor_read(out, got, &e);
      double r = test_rel_err(got, skip, nref);
      CHECK(r < limit, "%s prompt %d clip_skip 1: relative error %.3g", what, p, r);
      fk_tensor_free(out);
    }
    free(skip);
    free(got);
    free(fid);
    free(ref);
    free(hs);
  }
  /* a batch of two gives each sequence's own result */
  int32_t two[154];
  for (int i = 0; i < 154; i++) two[i] = i % 77 == 0 ? 49406 : i % 77 < 5 ? 320 + i : 49407;
  fk_tensor *both, *one;
  if (!fk_clip_text_encode(c, two, 2, 0, &both, &e) &&
      !fk_clip_text_encode(c, two + 77, 1, 0, &one, &e)) {
    float *a = malloc(2 * 77 * 64 * 4), *b1 = malloc(77 * 64 * 4);
    fk_tensor_read(both, a, &e);
    fk_tensor_read(one, b1, &e);
    CHECK(test_rel_err(a + 77 * 64, b1, 77 * 64) < 1e-6, "%s: batch entries independent", what);
    free(a);
    free(b1);
    fk_tensor_free(both);
    fk_tensor_free(one);
  } else {
    CHECK(0, "%s: batch: %s", what, e.msg);
  }
  two[3] = 49408;
  CHECK(fk_clip_text_encode(c, two, 1, 0, &one, &e) == FK_EUSER && strstr(e.msg, "vocabulary"),
        "bad id refused: %s", e.msg);
  CHECK(fk_clip_text_encode(c, two, 1, 4, &one, &e) == FK_EUSER, "clip_skip range");
  fk_clip_text_free(c);
}

int main(void) {
  char p[4096];
  fk_err e = {0};
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return 1;
  test_golden_path(p, sizeof p, "cases/text_encoder.safetensors");
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
