#include "models/sd_random.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/half.h"
#include "core/hash.h"
#include "models/sd_tensors.h"
#include "text/clip_merges.h"
#include "text/tokenizer.h"

#include <zlib.h>

typedef struct entry {
  char *name;
  int ndim;
  int64_t shape[4];
  size_t numel;
  void *data;
} entry;

typedef struct writer {
  const fk_sd_random_opts *o;
  entry *ents;
  size_t n, cap;
  uint64_t index; /* tensor counter, so values do not depend on names */
} writer;

static void fill(const writer *w, const fk_sd_spec *s, void *dst, size_t offset, size_t n) {
  size_t fan_in = 1;
  for (int i = 1; i < s->ndim; i++) fan_in *= (size_t)s->shape[i];
  int is_norm = s->ndim == 1 && strstr(s->name, "norm") != NULL;
  int is_weight = strstr(s->name, ".weight") != NULL;
  int is_embed = strstr(s->name, "embedding") != NULL;
  double scale = s->ndim >= 2 ? 1.0 / sqrt((double)fan_in) : is_norm ? 0.1 : 0.02;
  if (is_embed) scale = 0.05;
  double centre = is_norm && is_weight ? 1.0 : 0.0;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = fk_hash3(w->o->seed, w->index, i);
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
    float v = (float)(centre + scale * u);
    if (w->o->dtype == FK_ST_F16)
      ((uint16_t *)dst)[offset + i] = fk_half_from_float(v);
    else
      ((float *)dst)[offset + i] = v;
  }
}

static int add(void *ctx, const fk_sd_spec *s, fk_err *e) {
  writer *w = ctx;
  const char *name = w->o->single ? s->ldm : s->name;
  size_t n = 1;
  for (int i = 0; i < s->ndim; i++) n *= (size_t)s->shape[i];
  size_t es = fk_st_dtype_size(w->o->dtype);
  entry *t = NULL;
  if (s->slices > 1 && s->slice > 0) /* q/k/v packed into one OpenCLIP tensor */
    for (size_t i = w->n; i-- > 0 && !t;)
      if (!strcmp(w->ents[i].name, name)) t = &w->ents[i];
  if (!t) {
    if (w->n == w->cap) {
      size_t nc = w->cap ? w->cap * 2 : 512;
      entry *p = realloc(w->ents, nc * sizeof *p);
      if (!p) return fk_err_oom(e, "tensor list", nc * sizeof *p);
      w->ents = p;
      w->cap = nc;
    }
    t = &w->ents[w->n];
    memset(t, 0, sizeof *t);
    t->ndim = s->ndim;
    memcpy(t->shape, s->shape, sizeof t->shape);
    t->shape[0] *= s->slices;
    t->numel = n * (size_t)s->slices;
    if (w->o->single && s->ldm_conv) { /* the LDM VAE's 1x1 convolution form */
      t->ndim = 4;
      t->shape[2] = t->shape[3] = 1;
    }
    size_t l = strlen(name) + 1;
    t->name = fk_alloc(l, 1);
    t->data = fk_alloc(t->numel, es);
    if (!t->name || !t->data) {
      free(t->name);
      free(t->data);
      return fk_err_oom(e, "random weights", t->numel * es);
    }
    memcpy(t->name, name, l);
    w->n++;
  }
  fill(w, s, t->data, (size_t)s->slice * n, n);
  w->index++;
  return FK_OK;
}

static void clear(writer *w) {
  for (size_t i = 0; i < w->n; i++) {
    free(w->ents[i].name);
    free(w->ents[i].data);
  }
  w->n = 0;
}

static int flush(writer *w, const char *path, fk_err *e) {
  fk_st_desc *d = fk_alloc(w->n ? w->n : 1, sizeof *d);
  if (!d) return fk_err_oom(e, "tensor list", w->n * sizeof *d);
  for (size_t i = 0; i < w->n; i++)
    d[i] = (fk_st_desc){w->ents[i].name, w->o->dtype, w->ents[i].ndim, w->ents[i].shape,
                        w->ents[i].data};
  fk_st_kv meta[] = {{"format", "pt"}, {"generator", "funky model random"}};
  int rc = fk_st_write(path, d, w->n, meta, 2, e);
  free(d);
  clear(w);
  return rc;
}

static int write_text(const char *dir, const char *name, const char *text, fk_err *e) {
  char p[4096];
  if (fk_path_join(p, sizeof p, dir, name, e)) return e->code;
  return fk_file_write_atomic(p, text, strlen(text), e);
}

static const char *const model_index =
    "{\n  \"_class_name\": \"StableDiffusionPipeline\",\n  \"_diffusers_version\": \"0.27.2\",\n"
    "  \"feature_extractor\": [null, null],\n  \"requires_safety_checker\": false,\n"
    "  \"safety_checker\": [null, null],\n  \"scheduler\": [\"diffusers\", \"%s\"],\n"
    "  \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],\n"
    "  \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"],\n"
    "  \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],\n"
    "  \"vae\": [\"diffusers\", \"AutoencoderKL\"]\n}\n";

/* tokenizer/: the built-in CLIP vocabulary as vocab.json and merges.txt,
 * and the pad token the family uses (SD 2.x pads with "!"). */
static int write_tokenizer(const fk_sd_config *c, const char *dir, fk_err *e) {
  fk_tok *t;
  if (fk_file_mkdirs(dir, e) || fk_tok_open(NULL, &t, e)) return e->code;
  size_t cap = 2u << 20, n = 0;
  char *buf = fk_alloc(cap, 1);
  int rc = buf ? FK_OK : fk_err_oom(e, "vocab.json", cap);
  if (!rc) buf[n++] = '{';
  for (int32_t id = 0; !rc && id < fk_tok_vocab_size(t); id++) {
    const char *tok = fk_tok_token(t, id);
    if (!tok) continue;
    if (n + 8 * strlen(tok) + 32 > cap) {
      char *p = realloc(buf, cap *= 2);
      if (!p) {
        rc = fk_err_oom(e, "vocab.json", cap);
        break;
      }
      buf = p;
    }
    n += (size_t)snprintf(buf + n, cap - n, "%s\"", id ? ", " : "");
    for (const unsigned char *s = (const unsigned char *)tok; *s; s++) {
      if (*s == '"' || *s == '\\') buf[n++] = '\\';
      if (*s < 0x20)
        n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", *s);
      else
        buf[n++] = (char)*s;
    }
    n += (size_t)snprintf(buf + n, cap - n, "\": %d", id);
  }
  if (!rc) {
    buf[n++] = '}';
    char p[4096];
    rc = fk_path_join(p, sizeof p, dir, "vocab.json", e) || fk_file_write_atomic(p, buf, n, e)
             ? e->code
             : FK_OK;
  }
  free(buf);
  fk_tok_close(t);
  uLongf len = (uLongf)FK_CLIP_MERGES_LEN;
  unsigned char *merges = rc ? NULL : fk_alloc(len, 1);
  if (!rc && !merges) rc = fk_err_oom(e, "merges.txt", len);
  if (!rc && uncompress(merges, &len, FK_CLIP_MERGES_Z, (uLong)FK_CLIP_MERGES_Z_LEN) != Z_OK)
    rc = fk_err_set(e, FK_EINTERNAL, "the built-in merges do not decompress (a build problem)");
  char p[4096];
  if (!rc)
    rc = fk_path_join(p, sizeof p, dir, "merges.txt", e) || fk_file_write_atomic(p, merges, len, e)
             ? e->code
             : FK_OK;
  free(merges);
  char cfg[512];
  snprintf(cfg, sizeof cfg,
           "{\n  \"tokenizer_class\": \"CLIPTokenizer\",\n  \"model_max_length\": 77,\n"
           "  \"bos_token\": \"<|startoftext|>\",\n  \"eos_token\": \"<|endoftext|>\",\n"
           "  \"unk_token\": \"<|endoftext|>\",\n  \"pad_token\": \"%s\"\n}\n",
           c->text.pad_id == c->text.eos_id ? "<|endoftext|>" : "!");
  if (!rc) rc = write_text(dir, "tokenizer_config.json", cfg, e);
  return rc;
}

static int write_folder(writer *w, const fk_sd_config *c, const char *out, fk_err *e) {
  char *cfg[4];
  if (fk_sd_config_json(c, &cfg[1], &cfg[2], &cfg[0], &cfg[3], e)) return e->code;
  char dir[4096], f[4096], idx[1024];
  int rc = fk_file_mkdirs(out, e);
  for (fk_sd_part p = 0; p < FK_PART_N && !rc; p++) {
    if (fk_path_join(dir, sizeof dir, out, fk_sd_part_folder(p), e) || fk_file_mkdirs(dir, e) ||
        write_text(dir, "config.json", cfg[p], e) ||
        fk_path_join(
            f, sizeof f, dir,
            p == FK_PART_TEXT ? "model.safetensors" : "diffusion_pytorch_model.safetensors", e) ||
        fk_sd_specs(c, p, 0, add, w, e) || flush(w, f, e))
      rc = e->code;
  }
  if (!rc && (fk_path_join(dir, sizeof dir, out, "scheduler", e) || fk_file_mkdirs(dir, e) ||
              write_text(dir, "scheduler_config.json", cfg[3], e)))
    rc = e->code;
  snprintf(idx, sizeof idx, model_index, c->sched.type);
  if (!rc) rc = write_text(out, "model_index.json", idx, e);
  if (!rc && fk_path_join(dir, sizeof dir, out, "tokenizer", e)) rc = e->code;
  if (!rc) rc = write_tokenizer(c, dir, e);
  for (int i = 0; i < 4; i++) free(cfg[i]);
  return rc;
}

static int write_single(writer *w, const fk_sd_config *c, const char *out, fk_err *e) {
  fk_sd_config full = *c;
  int openclip = c->family == FK_SD_21;
  /* an SD 2.x checkpoint carries all of OpenCLIP's layers, the last unused */
  full.text.layers += c->text.unused_layers;
  for (fk_sd_part p = 0; p < FK_PART_N; p++)
    if (fk_sd_specs(&full, p, openclip, add, w, e)) return e->code;
  if (flush(w, out, e)) return e->code;
  if (c->family != FK_SD_TINY) return FK_OK;
  /* shapes cannot tell the tiny family: name it in a sidecar */
  char dir[4096], stem[4096], name[4200];
  fk_path_dir(out, dir, sizeof dir);
  fk_path_stem(out, stem, sizeof stem);
  snprintf(name, sizeof name, "%s.json", stem);
  return write_text(dir, name, "{\"family\": \"tiny\"}\n", e);
}

int fk_sd_random_write(const fk_sd_random_opts *o, const char *out, fk_err *e) {
  if (o->dtype != FK_ST_F16 && o->dtype != FK_ST_F32)
    return fk_err_set(e, FK_EUSER, "random models are f16 or f32");
  fk_sd_config c;
  fk_sd_config_family(o->family, &c);
  writer w = {.o = o};
  int rc = o->single ? write_single(&w, &c, out, e) : write_folder(&w, &c, out, e);
  clear(&w);
  free(w.ents);
  return rc;
}
