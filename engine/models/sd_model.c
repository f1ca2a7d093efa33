/* Layout and family detection. A directory is a diffusers folder; a file
 * is a single-file checkpoint whose family is told by its text encoder:
 * HF CLIP names of width 768 -> SD 1.x, OpenCLIP names of width 1024 ->
 * SD 2.x (which uses the penultimate of OpenCLIP's 24 layers, so the last
 * one is present but unused). Anything else needs a sidecar. */
#include "models/sd_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/half.h"

#define PATH_CAP 4096

struct fk_sd_model {
  char path[PATH_CAP], tok_dir[PATH_CAP], source[PATH_CAP + 64];
  fk_sd_layout layout;
  fk_sd_config cfg;
  int openclip, mode;
  fk_st_file *file[FK_PART_N]; /* single file: all the same */
  fk_sd_weight *w[FK_PART_N];
  size_t nw[FK_PART_N], capw[FK_PART_N];
  char **names; /* owned copies of the specs' names */
  size_t nnames, capnames;
  char **unexpected;
  size_t nunexpected, ignored;
};

static char *keep(fk_sd_model *m, const char *s, fk_err *e) {
  if (m->nnames == m->capnames) {
    size_t nc = m->capnames ? m->capnames * 2 : 1024;
    char **p = realloc(m->names, nc * sizeof *p);
    if (!p) {
      fk_err_oom(e, "tensor names", nc * sizeof *p);
      return NULL;
    }
    m->names = p;
    m->capnames = nc;
  }
  size_t l = strlen(s) + 1;
  char *c = fk_alloc(l, 1);
  if (!c) {
    fk_err_oom(e, "tensor name", l);
    return NULL;
  }
  memcpy(c, s, l);
  m->names[m->nnames++] = c;
  return c;
}

static void fmt_shape(char *o, size_t n, int ndim, const int64_t *s) {
  size_t k = (size_t)snprintf(o, n, "[");
  for (int i = 0; i < ndim && k < n; i++)
    k += (size_t)snprintf(o + k, n - k, "%s%lld", i ? ", " : "", (long long)s[i]);
  if (k < n) snprintf(o + k, n - k, "]");
}

static int is_float(fk_st_dtype d) {
  return d == FK_ST_F32 || d == FK_ST_F16 || d == FK_ST_BF16 || d == FK_ST_F64;
}

/* Does the file tensor t hold spec s (a slice of it, or its 1x1 conv form)? */
static int fits(const fk_sd_spec *s, const fk_st_tensor *t) {
  int64_t want[4];
  memcpy(want, s->shape, sizeof want);
  want[0] *= s->slices;
  if (t->ndim == s->ndim) {
    for (int i = 0; i < s->ndim; i++)
      if (t->shape[i] != want[i]) return 0;
    return 1;
  }
  return s->ldm_conv && t->ndim == 4 && t->shape[0] == want[0] && t->shape[1] == want[1] &&
         t->shape[2] == 1 && t->shape[3] == 1;
}

static int visit(void *ctx, const fk_sd_spec *s, fk_err *e) {
  fk_sd_model *m = ctx;
  fk_sd_part p = s->part;
  const char *key = m->layout == FK_SD_SINGLE ? s->ldm : s->name;
  const fk_st_tensor *t = fk_st_find(m->file[p], key);
  int wrong = t && (!fits(s, t) || !is_float(t->dtype));
  if (m->mode == FK_SD_STRICT && (!t || wrong)) {
    char want[128], have[128] = "";
    fmt_shape(want, sizeof want, s->ndim, s->shape);
    if (s->slices > 1)
      snprintf(want + strlen(want), sizeof want - strlen(want), " (slice %d of 3)", s->slice);
    if (t) fmt_shape(have, sizeof have, t->ndim, t->shape);
    if (!t)
      return fk_err_set(e, FK_EUSER,
                        "%s: the %s tensor '%s' is missing (expected shape %s); the file is not a "
                        "complete SD 1.x/2.x model of this configuration (run funky info on it)",
                        m->path, fk_sd_part_name(p), key, want);
    return fk_err_set(e, FK_EUSER,
                      "%s: the %s tensor '%s' is %s %s but %s was expected; the configuration "
                      "does not match the weights (fix config.json or the sidecar)",
                      m->path, fk_sd_part_name(p), key, fk_st_dtype_name(t->dtype), have, want);
  }
  if (m->nw[p] == m->capw[p]) {
    size_t nc = m->capw[p] ? m->capw[p] * 2 : 256;
    fk_sd_weight *w = realloc(m->w[p], nc * sizeof *w);
    if (!w) return fk_err_oom(e, "weight table", nc * sizeof *w);
    m->w[p] = w;
    m->capw[p] = nc;
  }
  fk_sd_weight *w = &m->w[p][m->nw[p]];
  w->spec = *s;
  w->t = wrong ? NULL : t;
  w->wrong = wrong;
  if (!(w->spec.name = keep(m, s->name, e)) || !(w->spec.ldm = keep(m, s->ldm, e))) return e->code;
  m->nw[p]++;
  return FK_OK;
}

/* ---- layout ---------------------------------------------------------------- */

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int load_json_opt(const char *dir, const char *name, fk_json_doc **out, fk_err *e) {
  char p[PATH_CAP];
  *out = NULL;
  if (fk_path_join(p, sizeof p, dir, name, e)) return e->code;
  if (!fk_file_exists(p)) return FK_OK;
  return fk_json_load(p, out, e);
}

static int open_part_file(fk_sd_model *m, fk_sd_part p, fk_err *e) {
  static const char *const names[] = {"model.safetensors", "diffusion_pytorch_model.safetensors",
                                      "model.fp16.safetensors",
                                      "diffusion_pytorch_model.fp16.safetensors"};
  char dir[PATH_CAP], f[PATH_CAP];
  if (fk_path_join(dir, sizeof dir, m->path, fk_sd_part_folder(p), e)) return e->code;
  for (size_t i = 0; i < 4; i++) {
    if (fk_path_join(f, sizeof f, dir, names[i], e)) return e->code;
    if (fk_file_exists(f)) return fk_st_open(f, &m->file[p], e);
  }
  return fk_err_set(e, FK_EUSER,
                    "%s: no %s/model.safetensors or %s/diffusion_pytorch_model.safetensors; "
                    "funky reads .safetensors only (convert .bin weights with diffusers first)",
                    m->path, fk_sd_part_folder(p), fk_sd_part_folder(p));
}

/* The pad id the tokenizer config names (a token string or {content}). */
static int pad_from_tokenizer(fk_sd_model *m, fk_err *e) {
  fk_json_doc *tc = NULL, *vocab = NULL;
  char where[PATH_CAP + 32];
  snprintf(where, sizeof where, "%s/tokenizer_config.json", m->tok_dir);
  if (load_json_opt(m->tok_dir, "tokenizer_config.json", &tc, e)) return e->code;
  if (!tc) return FK_OK;
  const fk_json *pad = fk_json_get(fk_json_root(tc), "pad_token");
  if (pad && pad->type == FK_JSON_OBJECT) pad = fk_json_get(pad, "content");
  int rc = FK_OK;
  if (pad && pad->type == FK_JSON_STRING) {
    if (!strcmp(pad->str, "<|endoftext|>"))
      m->cfg.text.pad_id = m->cfg.text.eos_id;
    else if (!(rc = load_json_opt(m->tok_dir, "vocab.json", &vocab, e)) && vocab) {
      int id = -1;
      rc = fk_json_int(fk_json_root(vocab), pad->str, &id, where, e);
      if (!rc && id < 0)
        rc = fk_err_set(e, FK_EUSER, "%s: pad_token '%s' is not in vocab.json", where, pad->str);
      if (!rc) m->cfg.text.pad_id = id;
    }
  }
  fk_json_free(tc);
  fk_json_free(vocab);
  return rc;
}

static int open_folder(fk_sd_model *m, fk_err *e) {
  m->layout = FK_SD_FOLDER;
  fk_json_doc *doc[4] = {0};
  static const char *const cfgs[4] = {"text_encoder/config.json", "unet/config.json",
                                      "vae/config.json", "scheduler/scheduler_config.json"};
  char where[PATH_CAP + 64];
  int rc = FK_OK;
  for (fk_sd_part p = 0; p < FK_PART_N && !rc; p++) rc = open_part_file(m, p, e);
  for (int i = 0; i < 4 && !rc; i++) rc = load_json_opt(m->path, cfgs[i], &doc[i], e);
  if (!rc) {
    /* the family names the defaults for what a config leaves out */
    const fk_st_tensor *emb =
        fk_st_find(m->file[FK_PART_TEXT], "text_model.embeddings.token_embedding.weight");
    int64_t width = emb && emb->ndim == 2 ? emb->shape[1] : 768;
    fk_sd_config_family(width == 1024 ? FK_SD_21 : width == 768 ? FK_SD_15 : FK_SD_CUSTOM, &m->cfg);
    if (width != 1024 && width != 768) m->cfg.family = FK_SD_CUSTOM;
  }
  fk_sd_config *c = &m->cfg;
  for (int i = 0; i < 4 && !rc; i++) {
    if (!doc[i]) {
      if (i == 3) continue; /* no scheduler config: SD defaults */
      rc = fk_err_set(e, FK_EUSER, "%s: %s is missing; a diffusers folder needs it", m->path,
                      cfgs[i]);
      break;
    }
    snprintf(where, sizeof where, "%s/%s", m->path, cfgs[i]);
    const fk_json *r = fk_json_root(doc[i]);
    rc = i == 0   ? fk_sd_config_text(r, &c->text, where, e)
         : i == 1 ? fk_sd_config_unet(r, &c->unet, where, e)
         : i == 2 ? fk_sd_config_vae(r, &c->vae, where, e)
                  : fk_sd_config_sched(r, &c->sched, where, e);
  }
  for (int i = 0; i < 4; i++) fk_json_free(doc[i]);
  if (rc) return rc;
  char vocab[PATH_CAP], merges[PATH_CAP];
  if (fk_path_join(m->tok_dir, sizeof m->tok_dir, m->path, "tokenizer", e) ||
      fk_path_join(vocab, sizeof vocab, m->tok_dir, "vocab.json", e) ||
      fk_path_join(merges, sizeof merges, m->tok_dir, "merges.txt", e))
    return e->code;
  if (!fk_file_exists(vocab) || !fk_file_exists(merges))
    m->tok_dir[0] = 0;
  else if (pad_from_tokenizer(m, e))
    return e->code;
  snprintf(m->source, sizeof m->source, "config.json files");
  return FK_OK;
}

/* A sidecar holds diffusers configs under "unet", "vae", "text_encoder",
 * "scheduler" (at the top or inside "diffusers_configs") and the pad id
 * under "tokenizer". */
static int apply_sidecar(fk_sd_model *m, const fk_json *r, const char *where, fk_err *e) {
  const fk_json *dc = fk_json_get(r, "diffusers_configs");
  const fk_json *base = dc ? dc : r;
  fk_sd_config *c = &m->cfg;
  int layers = c->text.layers;
  char fam[16] = "";
  if (fk_json_str(r, "family", fam, sizeof fam, where, e)) return e->code;
  if (*fam) {
    int f = fk_sd_family_parse(fam);
    if (f < 0)
      return fk_err_set(e, FK_EUSER, "%s: family '%s' is unknown (sd15, sd21, tiny)", where, fam);
    fk_sd_config_family((fk_sd_family)f, c);
  }
  if (fk_sd_config_text(fk_json_get(base, "text_encoder"), &c->text, where, e) ||
      fk_sd_config_unet(fk_json_get(base, "unet"), &c->unet, where, e) ||
      fk_sd_config_vae(fk_json_get(base, "vae"), &c->vae, where, e) ||
      fk_sd_config_sched(fk_json_get(base, "scheduler"), &c->sched, where, e) ||
      fk_json_int(fk_json_get(r, "tokenizer"), "pad_token_id", &c->text.pad_id, where, e))
    return e->code;
  if (m->openclip && c->text.layers != layers) c->text.unused_layers = 0;
  return FK_OK;
}

static int open_single(fk_sd_model *m, fk_err *e) {
  m->layout = FK_SD_SINGLE;
  fk_st_file *f;
  if (fk_st_open(m->path, &f, e)) return e->code;
  for (int p = 0; p < FK_PART_N; p++) m->file[p] = f;
  if (!fk_st_find(f, "model.diffusion_model.input_blocks.0.0.weight"))
    return fk_err_set(e, FK_EUSER,
                      "%s: not a Stable Diffusion checkpoint (no model.diffusion_model.* UNet "
                      "tensors); funky reads SD 1.x/2.x single files and diffusers folders",
                      m->path);
  const fk_st_tensor *hf =
      fk_st_find(f, "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight");
  const fk_st_tensor *oc = fk_st_find(f, "cond_stage_model.model.token_embedding.weight");
  const fk_st_tensor *emb = hf ? hf : oc;
  m->openclip = !hf && oc;
  if (!emb || emb->ndim != 2)
    return fk_err_set(e, FK_EUSER,
                      "%s: no text encoder (cond_stage_model.*) in the checkpoint; funky needs the "
                      "whole model in one file",
                      m->path);
  int64_t width = emb->shape[1];
  fk_sd_family fam = width == 768 && !m->openclip   ? FK_SD_15
                     : width == 1024 && m->openclip ? FK_SD_21
                                                    : FK_SD_CUSTOM;
  fk_sd_config_family(fam == FK_SD_CUSTOM ? FK_SD_15 : fam, &m->cfg);
  m->cfg.family = fam;
  if (m->openclip) { /* OpenCLIP has every layer; SD 2.x uses all but the last */
    int n = 0;
    char k[128];
    for (;; n++) {
      snprintf(k, sizeof k, "cond_stage_model.model.transformer.resblocks.%d.ln_1.weight", n);
      if (!fk_st_find(f, k)) break;
    }
    m->cfg.text.layers = n > 1 ? n - 1 : n;
    m->cfg.text.unused_layers = n > 1;
  }
  char side[PATH_CAP], dir[PATH_CAP], stem[PATH_CAP], name[PATH_CAP];
  fk_path_dir(m->path, dir, sizeof dir);
  fk_path_stem(m->path, stem, sizeof stem);
  if ((size_t)snprintf(name, sizeof name, "%s.json", stem) >= sizeof name ||
      fk_path_join(side, sizeof side, dir, name, e))
    return fk_err_set(e, FK_EUSER, "%s: path too long", m->path);
  snprintf(m->source, sizeof m->source, "%s family defaults", fk_sd_family_name(fam));
  if (fk_file_exists(side)) {
    fk_json_doc *d;
    if (fk_json_load(side, &d, e)) return e->code;
    int rc = apply_sidecar(m, fk_json_root(d), side, e);
    fk_json_free(d);
    if (rc) return rc;
    snprintf(m->source, sizeof m->source, "sidecar %s", side);
  } else if (fam == FK_SD_CUSTOM) {
    return fk_err_set(e, FK_EUSER,
                      "%s: text width %lld is neither SD 1.x (768) nor SD 2.x (1024); put a "
                      "sidecar %s with the model's diffusers configs beside it",
                      m->path, (long long)width, side);
  }
  return FK_OK;
}

/* ---- unexpected tensors ------------------------------------------------- */

static int ignorable(const fk_sd_model *m, const char *n) {
  static const char *const buffers[] = {"betas",
                                        "alphas_cumprod",
                                        "alphas_cumprod_prev",
                                        "sqrt_alphas_cumprod",
                                        "sqrt_one_minus_alphas_cumprod",
                                        "log_one_minus_alphas_cumprod",
                                        "sqrt_recip_alphas_cumprod",
                                        "sqrt_recipm1_alphas_cumprod",
                                        "posterior_variance",
                                        "posterior_log_variance_clipped",
                                        "posterior_mean_coef1",
                                        "posterior_mean_coef2",
                                        "logvar",
                                        "cond_stage_model.model.text_projection",
                                        "cond_stage_model.model.logit_scale"};
  for (size_t i = 0; i < sizeof buffers / sizeof *buffers; i++)
    if (!strcmp(n, buffers[i])) return 1;
  size_t l = strlen(n);
  if (l >= 13 && !strcmp(n + l - 13, ".position_ids")) return 1;
  if (!strncmp(n, "model_ema.", 10)) return 1;
  const char *rb = "cond_stage_model.model.transformer.resblocks.";
  if (m->openclip && !strncmp(n, rb, strlen(rb))) {
    long k = strtol(n + strlen(rb), NULL, 10);
    return k >= m->cfg.text.layers && k < m->cfg.text.layers + m->cfg.text.unused_layers;
  }
  return 0;
}

static int cmp_ptr(const void *a, const void *b) {
  const void *x = *(const void *const *)a, *y = *(const void *const *)b;
  return x < y ? -1 : x > y;
}

static int find_unexpected(fk_sd_model *m, fk_err *e) {
  size_t nused = 0;
  for (int p = 0; p < FK_PART_N; p++) nused += m->nw[p];
  const void **used = fk_alloc(nused ? nused : 1, sizeof *used);
  if (!used) return fk_err_oom(e, "tensor table", nused * sizeof *used);
  size_t k = 0;
  for (int p = 0; p < FK_PART_N; p++)
    for (size_t i = 0; i < m->nw[p]; i++)
      if (m->w[p][i].t) used[k++] = m->w[p][i].t;
  qsort(used, k, sizeof *used, cmp_ptr);
  int nfiles = m->layout == FK_SD_SINGLE ? 1 : FK_PART_N, rc = FK_OK;
  for (int p = 0; p < nfiles && !rc; p++) {
    for (size_t i = 0; i < fk_st_count(m->file[p]) && !rc; i++) {
      const fk_st_tensor *t = fk_st_get(m->file[p], i);
      if (bsearch(&t, used, k, sizeof *used, cmp_ptr)) continue;
      int wrong = 0;
      for (size_t j = 0; j < m->nw[p] && !wrong; j++)
        wrong = m->w[p][j].wrong &&
                !strcmp(m->layout == FK_SD_SINGLE ? m->w[p][j].spec.ldm : m->w[p][j].spec.name,
                        t->name);
      if (wrong) continue; /* reported as wrong, not as unexpected */
      if (ignorable(m, t->name)) {
        m->ignored++;
        continue;
      }
      char **u = realloc(m->unexpected, (m->nunexpected + 1) * sizeof *u);
      if (!u)
        rc = fk_err_oom(e, "unexpected tensor list", (m->nunexpected + 1) * sizeof *u);
      else {
        m->unexpected = u;
        if (!(u[m->nunexpected] = keep(m, t->name, e)))
          rc = e->code;
        else
          m->nunexpected++;
      }
    }
  }
  free(used);
  return rc;
}

int fk_sd_open(const char *path, int mode, fk_sd_model **out, fk_err *e) {
  *out = NULL;
  fk_sd_model *m = fk_zalloc(1, sizeof *m);
  if (!m) return fk_err_oom(e, "model", sizeof *m);
  m->mode = mode;
  if (strlen(path) >= sizeof m->path) {
    free(m);
    return fk_err_set(e, FK_EUSER, "model path is too long (over %d bytes)", PATH_CAP - 1);
  }
  memcpy(m->path, path, strlen(path) + 1);
  size_t l = strlen(m->path);
  while (l > 1 && m->path[l - 1] == '/') m->path[--l] = 0;
  int rc;
  if (is_dir(m->path))
    rc = open_folder(m, e);
  else if (fk_file_exists(m->path))
    rc = open_single(m, e);
  else
    rc = fk_err_set(e, FK_EUSER,
                    "model '%s' does not exist; give a diffusers folder or a .safetensors "
                    "checkpoint (funky model random makes a test one)",
                    path);
  if (!rc) rc = fk_sd_config_check(&m->cfg, e);
  for (fk_sd_part p = 0; p < FK_PART_N && !rc; p++)
    rc = fk_sd_specs(&m->cfg, p, m->openclip, visit, m, e);
  if (!rc) rc = find_unexpected(m, e);
  if (rc) {
    fk_sd_close(m);
    return rc;
  }
  *out = m;
  return FK_OK;
}

void fk_sd_close(fk_sd_model *m) {
  if (!m) return;
  int nfiles = m->layout == FK_SD_SINGLE ? 1 : FK_PART_N;
  for (int p = 0; p < nfiles; p++) fk_st_close(m->file[p]);
  for (int p = 0; p < FK_PART_N; p++) free(m->w[p]);
  for (size_t i = 0; i < m->nnames; i++) free(m->names[i]);
  free(m->names);
  free(m->unexpected);
  free(m);
}

const char *fk_sd_path(const fk_sd_model *m) {
  return m->path;
}
fk_sd_layout fk_sd_layout_of(const fk_sd_model *m) {
  return m->layout;
}
const fk_sd_config *fk_sd_config_of(const fk_sd_model *m) {
  return &m->cfg;
}
const char *fk_sd_tokenizer_dir(const fk_sd_model *m) {
  return m->tok_dir[0] ? m->tok_dir : NULL;
}
const char *fk_sd_config_source(const fk_sd_model *m) {
  return m->source;
}
size_t fk_sd_weight_count(const fk_sd_model *m, fk_sd_part p) {
  return m->nw[p];
}
const fk_sd_weight *fk_sd_weight_at(const fk_sd_model *m, fk_sd_part p, size_t i) {
  return i < m->nw[p] ? &m->w[p][i] : NULL;
}
size_t fk_sd_unexpected_count(const fk_sd_model *m) {
  return m->nunexpected;
}
const char *fk_sd_unexpected_at(const fk_sd_model *m, size_t i) {
  return i < m->nunexpected ? m->unexpected[i] : NULL;
}
size_t fk_sd_ignored_count(const fk_sd_model *m) {
  return m->ignored;
}

int fk_sd_weight_get(const fk_sd_model *m, fk_sd_part p, const char *name, const fk_sd_weight **out,
                     fk_err *e) {
  for (size_t i = 0; i < m->nw[p]; i++)
    if (!strcmp(m->w[p][i].spec.name, name)) {
      *out = &m->w[p][i];
      if (m->w[p][i].t) return FK_OK;
      break;
    }
  return fk_err_set(e, FK_EINTERNAL, "%s: %s weight '%s' is not available (a bug in funky)",
                    m->path, fk_sd_part_name(p), name);
}

void fk_sd_weight_release(const fk_sd_model *m, fk_sd_part part, const fk_sd_weight *w) {
  if (part >= 0 && part < FK_PART_N) fk_st_release(m->file[part], w->t);
}

int fk_sd_weight_f32(const fk_sd_weight *w, float *dst, fk_err *e) {
  const fk_st_tensor *t = w->t;
  if (!t) return fk_err_set(e, FK_EINTERNAL, "weight '%s' is missing", w->spec.name);
  size_t n = 1;
  for (int i = 0; i < w->spec.ndim; i++) n *= (size_t)w->spec.shape[i];
  size_t es = fk_st_dtype_size(t->dtype);
  const unsigned char *src = (const unsigned char *)t->data + (size_t)w->spec.slice * n * es;
  switch (t->dtype) {
  case FK_ST_F32: memcpy(dst, src, n * 4); break;
  case FK_ST_F16: { /* through an aligned block: the file's data may be at an odd offset */
    uint16_t blk[4096];
    for (size_t i = 0; i < n; i += 4096) {
      size_t m = n - i < 4096 ? n - i : 4096;
      memcpy(blk, src + 2 * i, 2 * m);
      fk_half_to_float_n(blk, dst + i, m);
    }
    break;
  }
  case FK_ST_BF16:
    for (size_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      dst[i] = fk_st_bf16_to_f32(h);
    }
    break;
  case FK_ST_F64:
    for (size_t i = 0; i < n; i++) {
      double d;
      memcpy(&d, src + 8 * i, 8);
      dst[i] = (float)d;
    }
    break;
  default: return fk_err_set(e, FK_EUSER, "weight '%s' is not a float tensor", w->spec.name);
  }
  return FK_OK;
}
