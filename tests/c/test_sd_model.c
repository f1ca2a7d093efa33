/* Model loading: both layouts of the golden tiny model give the same
 * configuration and bit-identical weights through the name mapping; broken
 * files are refused naming the tensor and the expected shape; configs
 * round-trip through the writer. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "core/file.h"
#include "core/json.h"
#include "models/sd_model.h"

static void check_tiny_config(const fk_sd_config *c, const char *what) {
  CHECK(c->text.hidden == 64 && c->text.layers == 4 && c->text.heads == 4, "%s text", what);
  CHECK(c->text.intermediate == 128 && c->text.act == FK_ACT_QUICK_GELU, "%s text mlp", what);
  CHECK(c->text.pad_id == 49407 && c->text.eos_id == 49407, "%s pad %d", what, c->text.pad_id);
  const fk_unet_config *u = &c->unet;
  CHECK(u->levels == 4 && u->channels[0] == 32 && u->channels[1] == 64 && u->channels[3] == 64,
        "%s unet channels", what);
  CHECK(u->attention[0] && u->attention[2] && !u->attention[3], "%s unet attention", what);
  CHECK(u->heads[0] == 8 && u->heads[3] == 8 && u->cross_attention_dim == 64, "%s heads", what);
  CHECK(!u->linear_projection && u->flip_sin_to_cos && u->layers_per_block == 2, "%s unet", what);
  const fk_vae_config *v = &c->vae;
  CHECK(v->levels == 4 && v->channels[1] == 32 && v->channels[2] == 64 && v->layers_per_block == 1,
        "%s vae", what);
  CHECK(fabs(v->scaling_factor - 0.18215) < 1e-12 && fabs(v->norm_eps - 1e-6) < 1e-15,
        "%s vae scale", what);
  CHECK(!strcmp(c->sched.type, "DDIMScheduler") && c->sched.steps_offset == 1 &&
            c->sched.prediction == FK_PRED_EPSILON,
        "%s scheduler %s", what, c->sched.type);
}

/* Every weight of both layouts, converted, is identical. */
static void compare_layouts(fk_sd_model *a, fk_sd_model *b) {
  for (fk_sd_part p = 0; p < FK_PART_N; p++) {
    size_t n = fk_sd_weight_count(a, p), bad = 0;
    CHECK(n == fk_sd_weight_count(b, p) && n > 0, "%s weight counts", fk_sd_part_name(p));
    for (size_t i = 0; i < n && i < fk_sd_weight_count(b, p); i++) {
      const fk_sd_weight *x = fk_sd_weight_at(a, p, i), *y = fk_sd_weight_at(b, p, i);
      size_t k = 1;
      for (int d = 0; d < x->spec.ndim; d++) k *= (size_t)x->spec.shape[d];
      float *u = malloc(k * 4), *v = malloc(k * 4);
      fk_err e = {0};
      if (!u || !v || fk_sd_weight_f32(x, u, &e) || fk_sd_weight_f32(y, v, &e) ||
          memcmp(u, v, k * 4)) {
        if (!bad++) fprintf(stderr, "differs: %s / %s %s\n", x->spec.name, y->spec.ldm, e.msg);
      }
      free(u);
      free(v);
    }
    CHECK(bad == 0, "%zu %s weights differ between the layouts", bad, fk_sd_part_name(p));
  }
}

static void broken(const char *golden, const char *tmp) {
  char src[4096], dst[4096];
  snprintf(src, sizeof src, "%.2000s/tiny-sd.safetensors", golden);
  fk_err e = {0};
  fk_st_file *f;
  if (fk_st_open(src, &f, &e)) {
    CHECK(0, "open %s: %s", src, e.msg);
    return;
  }
  size_t n = fk_st_count(f);
  fk_st_desc *d = calloc(n, sizeof *d);
  int64_t wrong[4] = {3, 3, 3, 3};
  const char *drop = "model.diffusion_model.middle_block.1.proj_in.weight";
  const char *reshape = "first_stage_model.decoder.conv_in.weight";
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const fk_st_tensor *t = fk_st_get(f, i);
    if (!strcmp(t->name, drop)) continue;
    d[k] = (fk_st_desc){t->name, t->dtype, t->ndim, t->shape, t->data};
    if (!strcmp(t->name, reshape)) d[k].shape = wrong, d[k].data = t->data; /* smaller: fine */
    k++;
  }
  /* one missing tensor */
  snprintf(dst, sizeof dst, "%.2000s/missing.safetensors", tmp);
  CHECK(fk_st_write(dst, d, k, NULL, 0, &e) == 0, "write: %s", e.msg);
  char side[4096], sj[4096];
  snprintf(side, sizeof side, "%.2000s/tiny-sd.json", golden);
  snprintf(sj, sizeof sj, "%.2000s/missing.json", tmp);
  char *txt;
  size_t len;
  if (!fk_file_read(side, &txt, &len, &e)) {
    fk_file_write_atomic(sj, txt, len, &e);
    free(txt);
  }
  fk_sd_model *m = NULL;
  CHECK(fk_sd_open(dst, FK_SD_STRICT, &m, &e) == FK_EUSER, "missing tensor must fail");
  CHECK(strstr(e.msg, drop) && strstr(e.msg, "[64, 64, 1, 1]") && strstr(e.msg, "missing"),
        "message: %s", e.msg);
  /* report mode opens it and records the problem */
  CHECK(fk_sd_open(dst, FK_SD_REPORT, &m, &e) == 0, "report mode: %s", e.msg);
  if (m) {
    size_t missing = 0, wrongs = 0;
    for (fk_sd_part p = 0; p < FK_PART_N; p++)
      for (size_t i = 0; i < fk_sd_weight_count(m, p); i++) {
        const fk_sd_weight *w = fk_sd_weight_at(m, p, i);
        missing += !w->t && !w->wrong;
        wrongs += w->wrong;
      }
    CHECK(missing == 1 && wrongs == 1, "missing %zu wrong %zu", missing, wrongs);
    fk_sd_close(m);
  }
  fk_st_close(f);
  free(d);
  fk_err_clear(&e);
  /* a wrong-shaped tensor, with the dropped one back */
  fk_st_file *g;
  if (!fk_st_open(src, &g, &e)) {
    d = calloc(fk_st_count(g), sizeof *d);
    for (size_t i = 0; i < fk_st_count(g); i++) {
      const fk_st_tensor *t = fk_st_get(g, i);
      d[i] = (fk_st_desc){t->name, t->dtype, t->ndim, t->shape, t->data};
      if (!strcmp(t->name, reshape)) d[i].shape = wrong;
    }
    snprintf(dst, sizeof dst, "%.2000s/missing.safetensors", tmp);
    CHECK(fk_st_write(dst, d, fk_st_count(g), NULL, 0, &e) == 0, "write: %s", e.msg);
    CHECK(fk_sd_open(dst, FK_SD_STRICT, &m, &e) == FK_EUSER, "wrong shape must fail");
    CHECK(strstr(e.msg, reshape) && strstr(e.msg, "[3, 3, 3, 3]") && strstr(e.msg, "[64, 4, 3, 3]"),
          "message: %s", e.msg);
    free(d);
    fk_st_close(g);
  }
  /* not a model at all */
  CHECK(fk_sd_open(side, FK_SD_STRICT, &m, &e) == FK_EUSER, "a JSON file is not a model");
  CHECK(fk_sd_open("/nonexistent/model", FK_SD_STRICT, &m, &e) == FK_EUSER &&
            strstr(e.msg, "does not exist"),
        "missing path: %s", e.msg);
}

static void config_roundtrip(void) {
  fk_sd_config c, back;
  fk_err e = {0};
  for (int f = FK_SD_15; f <= FK_SD_TINY; f++) {
    fk_sd_config_family((fk_sd_family)f, &c);
    CHECK(fk_sd_config_check(&c, &e) == 0, "family %d: %s", f, e.msg);
    char *u, *v, *t, *s;
    if (fk_sd_config_json(&c, &u, &v, &t, &s, &e)) {
      CHECK(0, "config json: %s", e.msg);
      continue;
    }
    fk_sd_config_family(FK_SD_15, &back);
    back.family = c.family;
    fk_json_doc *d[4] = {0};
    const char *texts[4] = {t, u, v, s};
    int ok = 1;
    for (int i = 0; i < 4; i++)
      ok &= fk_json_parse(texts[i], strlen(texts[i]), "cfg", &d[i], &e) == 0;
    CHECK(ok, "parse written config: %s", e.msg);
    if (ok) {
      CHECK(fk_sd_config_text(fk_json_root(d[0]), &back.text, "t", &e) == 0 &&
                fk_sd_config_unet(fk_json_root(d[1]), &back.unet, "u", &e) == 0 &&
                fk_sd_config_vae(fk_json_root(d[2]), &back.vae, "v", &e) == 0 &&
                fk_sd_config_sched(fk_json_root(d[3]), &back.sched, "s", &e) == 0,
            "read back: %s", e.msg);
      back.text.pad_id = c.text.pad_id; /* lives in the tokenizer config */
      back.text.unused_layers = c.text.unused_layers;
      CHECK(!memcmp(&back.unet, &c.unet, sizeof c.unet), "family %d unet round trip", f);
      CHECK(!memcmp(&back.vae, &c.vae, sizeof c.vae), "family %d vae round trip", f);
      CHECK(!memcmp(&back.text, &c.text, sizeof c.text), "family %d text round trip", f);
      CHECK(!memcmp(&back.sched, &c.sched, sizeof c.sched), "family %d sched round trip", f);
    }
    for (int i = 0; i < 4; i++) fk_json_free(d[i]);
    free(u), free(v), free(t), free(s);
  }
}

static void json_errors(void) {
  static const char *const bad[] = {"",    "{",         "{\"a\":}", "[1,]",      "\"\\ud800\"",
                                    "01x", "{\"a\" 1}", "[1] 2",    "\"a\x01\"", "nul"};
  fk_err e = {0};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    fk_json_doc *d = NULL;
    CHECK(fk_json_parse(bad[i], strlen(bad[i]), "t", &d, &e) == FK_EUSER && !d, "bad json %zu", i);
  }
  char deep[200];
  memset(deep, '[', sizeof deep);
  fk_json_doc *d = NULL;
  CHECK(fk_json_parse(deep, sizeof deep, "t", &d, &e) == FK_EUSER && strstr(e.msg, "deeply"),
        "depth cap: %s", e.msg);
  const char *inf = "{\"lambda_min_clipped\": -Infinity, \"x\": [NaN, Infinity]}";
  CHECK(fk_json_parse(inf, strlen(inf), "t", &d, &e) == 0 &&
            isinf(fk_json_get(fk_json_root(d), "lambda_min_clipped")->num),
        "Python's -Infinity: %s", e.msg);
  fk_json_free(d);
  const char *ok = "{\"s\": \"a\\u00e9\\ud83d\\ude00\", \"n\": [1, 2.5e1, -3], \"b\": true}";
  CHECK(fk_json_parse(ok, strlen(ok), "t", &d, &e) == 0, "good json: %s", e.msg);
  if (d) {
    const fk_json *s = fk_json_get(fk_json_root(d), "s");
    CHECK(s && !strcmp(s->str, "a\xc3\xa9\xf0\x9f\x98\x80"), "unicode escapes");
    int v[3], n = 0;
    CHECK(fk_json_ints(fk_json_root(d), "n", v, 3, &n, "t", &e) == 0 && n == 3 && v[1] == 25 &&
              v[2] == -3,
          "integer list: %s", e.msg);
    CHECK(fk_json_ints(fk_json_root(d), "n", v, 2, &n, "t", &e) == FK_EUSER, "list over cap");
    fk_json_free(d);
  }
}

int main(void) {
  const char *src = getenv("SRC"), *tmp = getenv("TMP");
  char golden[2048], p[4096];
  snprintf(golden, sizeof golden, "%.2000s/../shared/golden", src ? src : ".");
  fk_err e = {0};
  json_errors();
  config_roundtrip();
  snprintf(p, sizeof p, "%.2000s/tiny-sd", golden);
  fk_sd_model *folder = NULL, *single = NULL;
  CHECK(fk_sd_open(p, FK_SD_STRICT, &folder, &e) == 0, "open folder: %s", e.msg);
  snprintf(p, sizeof p, "%.2000s/tiny-sd.safetensors", golden);
  CHECK(fk_sd_open(p, FK_SD_STRICT, &single, &e) == 0, "open single: %s", e.msg);
  if (folder && single) {
    check_tiny_config(fk_sd_config_of(folder), "folder");
    check_tiny_config(fk_sd_config_of(single), "single");
    CHECK(fk_sd_layout_of(folder) == FK_SD_FOLDER && fk_sd_layout_of(single) == FK_SD_SINGLE,
          "layouts");
    CHECK(fk_sd_tokenizer_dir(folder) && !fk_sd_tokenizer_dir(single), "tokenizer dirs");
    CHECK(fk_sd_unexpected_count(folder) == 0 && fk_sd_unexpected_count(single) == 0,
          "unexpected tensors: %zu / %zu (%s)", fk_sd_unexpected_count(folder),
          fk_sd_unexpected_count(single),
          fk_sd_unexpected_count(single) ? fk_sd_unexpected_at(single, 0) : "");
    compare_layouts(folder, single);
  }
  fk_sd_close(folder);
  fk_sd_close(single);
  if (tmp) {
    fk_file_mkdirs(tmp, &e);
    broken(golden, tmp);
  }
  return CHECK_DONE();
}
