/* Family defaults are the published configurations (SD 1.5:
 * runwayml/stable-diffusion-v1-5, SD 2.1: stabilityai/stable-diffusion-2-1,
 * tiny: ../shared/golden/tiny-sd). diffusers' UNet config calls the head
 * count 'attention_head_dim' for these families (its num_attention_heads
 * is null), so that key fills heads[]. */
#include "models/sd_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const family_names[] = {"custom", "sd15", "sd21", "tiny"};

const char *fk_sd_family_name(fk_sd_family f) {
  return (unsigned)f < 4 ? family_names[f] : "unknown";
}

int fk_sd_family_parse(const char *s) {
  for (int i = 1; i < 4; i++)
    if (!strcmp(s, family_names[i])) return i;
  return -1;
}

static void set4(int *d, int a, int b, int c, int e) {
  d[0] = a;
  d[1] = b;
  d[2] = c;
  d[3] = e;
}

void fk_sd_config_family(fk_sd_family f, fk_sd_config *c) {
  memset(c, 0, sizeof *c);
  c->family = f;
  fk_clip_config *t = &c->text;
  *t = (fk_clip_config){.vocab = 49408,
                        .hidden = 768,
                        .layers = 12,
                        .heads = 12,
                        .intermediate = 3072,
                        .positions = 77,
                        .act = FK_ACT_QUICK_GELU,
                        .eps = 1e-5,
                        .bos_id = 49406,
                        .eos_id = 49407,
                        .pad_id = 49407};
  fk_unet_config *u = &c->unet;
  *u = (fk_unet_config){.in_channels = 4,
                        .out_channels = 4,
                        .levels = 4,
                        .layers_per_block = 2,
                        .transformer_depth = 1,
                        .cross_attention_dim = 768,
                        .norm_groups = 32,
                        .norm_eps = 1e-5,
                        .flip_sin_to_cos = 1,
                        .act = FK_ACT_SILU,
                        .sample_size = 64};
  set4(u->channels, 320, 640, 1280, 1280);
  set4(u->attention, 1, 1, 1, 0);
  set4(u->heads, 8, 8, 8, 8);
  fk_vae_config *v = &c->vae;
  *v = (fk_vae_config){.in_channels = 3,
                       .out_channels = 3,
                       .latent_channels = 4,
                       .levels = 4,
                       .layers_per_block = 2,
                       .norm_groups = 32,
                       .norm_eps = 1e-6,
                       .scaling_factor = 0.18215,
                       .sample_size = 512};
  set4(v->channels, 128, 256, 512, 512);
  fk_sched_config *s = &c->sched;
  *s = (fk_sched_config){.type = "PNDMScheduler",
                         .train_timesteps = 1000,
                         .steps_offset = 1,
                         .beta_start = 0.00085,
                         .beta_end = 0.012,
                         .beta_schedule = "scaled_linear",
                         .timestep_spacing = "leading"};
  if (f == FK_SD_21) {
    *t = (fk_clip_config){.vocab = 49408,
                          .hidden = 1024,
                          .layers = 23,
                          .heads = 16,
                          .intermediate = 4096,
                          .positions = 77,
                          .act = FK_ACT_GELU,
                          .eps = 1e-5,
                          .bos_id = 49406,
                          .eos_id = 49407,
                          .pad_id = 0,
                          .unused_layers = 1};
    set4(u->heads, 5, 10, 20, 20);
    u->cross_attention_dim = 1024;
    u->linear_projection = 1;
    u->upcast_attention = 1;
    u->sample_size = 96;
    v->sample_size = 768;
    snprintf(s->type, sizeof s->type, "DDIMScheduler");
    s->prediction = FK_PRED_V;
  } else if (f == FK_SD_TINY) {
    t->hidden = 64;
    t->layers = 4;
    t->heads = 4;
    t->intermediate = 128;
    set4(u->channels, 32, 64, 64, 64);
    u->cross_attention_dim = 64;
    u->sample_size = 8;
    set4(v->channels, 32, 32, 64, 64);
    v->layers_per_block = 1;
    v->sample_size = 64;
    snprintf(s->type, sizeof s->type, "DDIMScheduler");
  }
}

static int act_parse(const fk_json *j, const char *key, fk_sd_act *a, const char *where,
                     fk_err *e) {
  char s[32] = "";
  if (fk_json_str(j, key, s, sizeof s, where, e)) return e->code;
  if (!*s) return FK_OK;
  if (!strcmp(s, "silu") || !strcmp(s, "swish"))
    *a = FK_ACT_SILU;
  else if (!strcmp(s, "gelu"))
    *a = FK_ACT_GELU;
  else if (!strcmp(s, "quick_gelu"))
    *a = FK_ACT_QUICK_GELU;
  else
    return fk_err_set(e, FK_EUSER, "%s: %s '%s' is not supported (silu, gelu or quick_gelu)", where,
                      key, s);
  return FK_OK;
}

int fk_sd_config_text(const fk_json *j, fk_clip_config *c, const char *where, fk_err *e) {
  if (!j) return FK_OK;
  if (fk_json_int(j, "vocab_size", &c->vocab, where, e) ||
      fk_json_int(j, "hidden_size", &c->hidden, where, e) ||
      fk_json_int(j, "num_hidden_layers", &c->layers, where, e) ||
      fk_json_int(j, "num_attention_heads", &c->heads, where, e) ||
      fk_json_int(j, "intermediate_size", &c->intermediate, where, e) ||
      fk_json_int(j, "max_position_embeddings", &c->positions, where, e) ||
      fk_json_num(j, "layer_norm_eps", &c->eps, where, e) ||
      fk_json_int(j, "bos_token_id", &c->bos_id, where, e) ||
      fk_json_int(j, "eos_token_id", &c->eos_id, where, e) ||
      act_parse(j, "hidden_act", &c->act, where, e))
    return e->code;
  /* the text model's pad_token_id is a transformers default (1) that the
   * tokenizer overrides; the pad id comes from tokenizer_config.json */
  c->unused_layers = 0;
  return FK_OK;
}

/* down_block_types -> which levels have a transformer; the up path must
 * mirror it. */
static int block_types(const fk_json *j, fk_unet_config *c, const char *where, fk_err *e) {
  const fk_json *down = fk_json_get(j, "down_block_types"), *up = fk_json_get(j, "up_block_types");
  if (!down) return FK_OK;
  if (down->type != FK_JSON_ARRAY || down->len < 1 || down->len > FK_SD_MAX_LEVELS)
    return fk_err_set(e, FK_EUSER, "%s: down_block_types must be a list of 1..%d block names",
                      where, FK_SD_MAX_LEVELS);
  c->levels = (int)down->len;
  for (size_t i = 0; i < down->len; i++) {
    const char *s = down->kids[i]->type == FK_JSON_STRING ? down->kids[i]->str : "";
    if (!strcmp(s, "CrossAttnDownBlock2D"))
      c->attention[i] = 1;
    else if (!strcmp(s, "DownBlock2D"))
      c->attention[i] = 0;
    else
      return fk_err_set(e, FK_EUSER,
                        "%s: down block '%s' is not supported (CrossAttnDownBlock2D, DownBlock2D)",
                        where, s);
    const fk_json *u = up && up->type == FK_JSON_ARRAY && up->len == down->len
                           ? up->kids[down->len - 1 - i]
                           : NULL;
    const char *want = c->attention[i] ? "CrossAttnUpBlock2D" : "UpBlock2D";
    if (!u || u->type != FK_JSON_STRING || strcmp(u->str, want))
      return fk_err_set(e, FK_EUSER,
                        "%s: up_block_types must mirror down_block_types (expected '%s' at %zu)",
                        where, want, down->len - 1 - i);
  }
  return FK_OK;
}

int fk_sd_config_unet(const fk_json *j, fk_unet_config *c, const char *where, fk_err *e) {
  if (!j) return FK_OK;
  int n = 0, nh = 0, heads[FK_SD_MAX_LEVELS] = {0};
  if (block_types(j, c, where, e) ||
      fk_json_ints(j, "block_out_channels", c->channels, FK_SD_MAX_LEVELS, &n, where, e))
    return e->code;
  if (n && n != c->levels)
    return fk_err_set(e, FK_EUSER, "%s: block_out_channels has %d entries for %d blocks", where, n,
                      c->levels);
  /* num_attention_heads wins when set; otherwise the SD naming quirk */
  const char *hk = fk_json_get(j, "num_attention_heads") &&
                           fk_json_get(j, "num_attention_heads")->type != FK_JSON_NULL
                       ? "num_attention_heads"
                       : "attention_head_dim";
  if (fk_json_ints(j, hk, heads, c->levels, &nh, where, e)) return e->code;
  if (nh && nh != c->levels)
    return fk_err_set(e, FK_EUSER, "%s: %s has %d entries for %d blocks", where, hk, nh, c->levels);
  if (nh) memcpy(c->heads, heads, sizeof heads);
  if (fk_json_int(j, "in_channels", &c->in_channels, where, e) ||
      fk_json_int(j, "out_channels", &c->out_channels, where, e) ||
      fk_json_int(j, "layers_per_block", &c->layers_per_block, where, e) ||
      fk_json_int(j, "transformer_layers_per_block", &c->transformer_depth, where, e) ||
      fk_json_int(j, "cross_attention_dim", &c->cross_attention_dim, where, e) ||
      fk_json_int(j, "norm_num_groups", &c->norm_groups, where, e) ||
      fk_json_num(j, "norm_eps", &c->norm_eps, where, e) ||
      fk_json_bool(j, "use_linear_projection", &c->linear_projection, where, e) ||
      fk_json_bool(j, "upcast_attention", &c->upcast_attention, where, e) ||
      fk_json_bool(j, "flip_sin_to_cos", &c->flip_sin_to_cos, where, e) ||
      fk_json_num(j, "freq_shift", &c->freq_shift, where, e) ||
      fk_json_int(j, "sample_size", &c->sample_size, where, e) ||
      act_parse(j, "act_fn", &c->act, where, e))
    return e->code;
  /* options this engine does not build refuse clearly instead of silently
   * giving another network */
  static const char *const unsupported[] = {"class_embed_type", "addition_embed_type",
                                            "encoder_hid_dim", "time_cond_proj_dim",
                                            "time_embedding_dim"};
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
    const fk_json *v = fk_json_get(j, unsupported[i]);
    if (v && v->type != FK_JSON_NULL)
      return fk_err_set(e, FK_EUSER,
                        "%s: '%s' is set; this UNet variant (SDXL, LCM-distilled or class-"
                        "conditioned) is not supported, only SD 1.x/2.x",
                        where, unsupported[i]);
  }
  char s[32] = "";
  if (fk_json_str(j, "mid_block_type", s, sizeof s, where, e)) return e->code;
  if (*s && strcmp(s, "UNetMidBlock2DCrossAttn"))
    return fk_err_set(e, FK_EUSER, "%s: mid_block_type '%s' is not supported", where, s);
  return FK_OK;
}

int fk_sd_config_vae(const fk_json *j, fk_vae_config *c, const char *where, fk_err *e) {
  if (!j) return FK_OK;
  int n = 0;
  if (fk_json_ints(j, "block_out_channels", c->channels, FK_SD_MAX_LEVELS, &n, where, e))
    return e->code;
  if (n) c->levels = n;
  fk_sd_act act = FK_ACT_SILU;
  if (fk_json_int(j, "in_channels", &c->in_channels, where, e) ||
      fk_json_int(j, "out_channels", &c->out_channels, where, e) ||
      fk_json_int(j, "latent_channels", &c->latent_channels, where, e) ||
      fk_json_int(j, "layers_per_block", &c->layers_per_block, where, e) ||
      fk_json_int(j, "norm_num_groups", &c->norm_groups, where, e) ||
      fk_json_num(j, "scaling_factor", &c->scaling_factor, where, e) ||
      fk_json_int(j, "sample_size", &c->sample_size, where, e) ||
      act_parse(j, "act_fn", &act, where, e))
    return e->code;
  if (act != FK_ACT_SILU)
    return fk_err_set(e, FK_EUSER, "%s: only act_fn 'silu' is supported for the VAE", where);
  return FK_OK;
}

int fk_sd_config_sched(const fk_json *j, fk_sched_config *c, const char *where, fk_err *e) {
  if (!j) return FK_OK;
  char pred[32] = "";
  if (fk_json_str(j, "_class_name", c->type, sizeof c->type, where, e) ||
      fk_json_int(j, "num_train_timesteps", &c->train_timesteps, where, e) ||
      fk_json_int(j, "steps_offset", &c->steps_offset, where, e) ||
      fk_json_bool(j, "set_alpha_to_one", &c->set_alpha_to_one, where, e) ||
      fk_json_bool(j, "clip_sample", &c->clip_sample, where, e) ||
      fk_json_num(j, "beta_start", &c->beta_start, where, e) ||
      fk_json_num(j, "beta_end", &c->beta_end, where, e) ||
      fk_json_str(j, "beta_schedule", c->beta_schedule, sizeof c->beta_schedule, where, e) ||
      fk_json_str(j, "timestep_spacing", c->timestep_spacing, sizeof c->timestep_spacing, where,
                  e) ||
      fk_json_str(j, "prediction_type", pred, sizeof pred, where, e))
    return e->code;
  if (!*pred || !strcmp(pred, "epsilon"))
    c->prediction = FK_PRED_EPSILON;
  else if (!strcmp(pred, "v_prediction"))
    c->prediction = FK_PRED_V;
  else if (!strcmp(pred, "sample"))
    c->prediction = FK_PRED_SAMPLE;
  else
    return fk_err_set(e, FK_EUSER,
                      "%s: prediction_type '%s' is unknown (epsilon, v_prediction, sample)", where,
                      pred);
  if (strcmp(c->beta_schedule, "scaled_linear") && strcmp(c->beta_schedule, "linear"))
    return fk_err_set(e, FK_EUSER,
                      "%s: beta_schedule '%s' is not supported (scaled_linear, linear)", where,
                      c->beta_schedule);
  if (strcmp(c->timestep_spacing, "leading") && strcmp(c->timestep_spacing, "linspace") &&
      strcmp(c->timestep_spacing, "trailing"))
    return fk_err_set(e, FK_EUSER,
                      "%s: timestep_spacing '%s' is unknown (leading, linspace, trailing)", where,
                      c->timestep_spacing);
  return FK_OK;
}

static int bad(fk_err *e, const char *what) {
  return fk_err_set(e, FK_EUSER, "model configuration: %s; fix config.json or the sidecar", what);
}

int fk_sd_config_check(const fk_sd_config *c, fk_err *e) {
  const fk_clip_config *t = &c->text;
  if (t->hidden < 1 || t->heads < 1 || t->hidden % t->heads || (t->hidden / t->heads) % 4 ||
      t->hidden / t->heads > 256)
    return bad(e, "text hidden_size must split into heads of a multiple of 4 up to 256");
  if (t->layers < 1 || t->layers > 64 || t->intermediate < 1 || t->positions < 2 ||
      t->positions > 1024 || t->vocab < 1 || t->vocab > 1 << 22)
    return bad(e, "text encoder sizes out of range");
  if (t->pad_id < 0 || t->pad_id >= t->vocab || t->bos_id < 0 || t->bos_id >= t->vocab ||
      t->eos_id < 0 || t->eos_id >= t->vocab)
    return bad(e, "token ids outside the vocabulary");
  const fk_unet_config *u = &c->unet;
  if (u->levels < 1 || u->levels > FK_SD_MAX_LEVELS || u->layers_per_block < 1 ||
      u->layers_per_block > 8 || u->transformer_depth < 1 || u->transformer_depth > 16 ||
      u->norm_groups < 1 || u->cross_attention_dim < 1)
    return bad(e, "UNet sizes out of range");
  for (int i = 0; i < u->levels; i++) {
    int ch = u->channels[i], h = u->heads[i];
    if (ch < 1 || ch % u->norm_groups) return bad(e, "UNet channels must divide into norm groups");
    if (h < 1 || ch % h || (ch / h) % 4 || ch / h > 256)
      return bad(e, "UNet heads must split channels into heads of a multiple of 4 up to 256");
  }
  const fk_vae_config *v = &c->vae;
  if (v->levels < 1 || v->levels > FK_SD_MAX_LEVELS || v->layers_per_block < 1 ||
      v->layers_per_block > 8 || v->latent_channels < 1 || v->norm_groups < 1)
    return bad(e, "VAE sizes out of range");
  for (int i = 0; i < v->levels; i++)
    if (v->channels[i] < 1 || v->channels[i] % v->norm_groups)
      return bad(e, "VAE channels must divide into norm groups");
  if (v->channels[v->levels - 1] % 4) return bad(e, "VAE mid attention needs channels % 4 == 0");
  return FK_OK;
}

/* ---- writing diffusers configs ------------------------------------------ */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) FK_PRINTF(2, 3);
static void put(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->n + (size_t)k < b->cap) {
      b->n += (size_t)k;
      return;
    }
    size_t nc = (b->cap + (size_t)k + 1) * 2;
    char *q = realloc(b->p, nc);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = nc;
  }
}

static void put_ints(sbuf *b, const char *key, const int *v, int n) {
  put(b, "  \"%s\": [", key);
  for (int i = 0; i < n; i++) put(b, "%s%d", i ? ", " : "", v[i]);
  put(b, "],\n");
}

static void put_types(sbuf *b, const char *key, const int *attn, int n, int up, const char *a,
                      const char *plain) {
  put(b, "  \"%s\": [", key);
  for (int i = 0; i < n; i++)
    put(b, "%s\"%s\"", i ? ", " : "", attn[up ? n - 1 - i : i] ? a : plain);
  put(b, "],\n");
}

static const char *act_name(fk_sd_act a) {
  return a == FK_ACT_GELU ? "gelu" : a == FK_ACT_QUICK_GELU ? "quick_gelu" : "silu";
}

static char *finish(sbuf *b) {
  if (b->oom) {
    free(b->p);
    return NULL;
  }
  return b->p;
}

int fk_sd_config_json(const fk_sd_config *c, char **unet, char **vae, char **text, char **sched,
                      fk_err *e) {
  const fk_unet_config *u = &c->unet;
  sbuf b = {0};
  put(&b,
      "{\n  \"_class_name\": \"UNet2DConditionModel\",\n  \"_diffusers_version\": \"0.27.2\",\n");
  put(&b, "  \"act_fn\": \"%s\",\n", act_name(u->act));
  put_ints(&b, "attention_head_dim", u->heads, u->levels);
  put_ints(&b, "block_out_channels", u->channels, u->levels);
  put(&b, "  \"cross_attention_dim\": %d,\n", u->cross_attention_dim);
  put_types(&b, "down_block_types", u->attention, u->levels, 0, "CrossAttnDownBlock2D",
            "DownBlock2D");
  put(&b, "  \"flip_sin_to_cos\": %s,\n  \"freq_shift\": %g,\n",
      u->flip_sin_to_cos ? "true" : "false", u->freq_shift);
  put(&b, "  \"in_channels\": %d,\n  \"layers_per_block\": %d,\n", u->in_channels,
      u->layers_per_block);
  put(&b, "  \"mid_block_type\": \"UNetMidBlock2DCrossAttn\",\n  \"norm_eps\": %g,\n", u->norm_eps);
  put(&b, "  \"norm_num_groups\": %d,\n  \"out_channels\": %d,\n  \"sample_size\": %d,\n",
      u->norm_groups, u->out_channels, u->sample_size);
  put(&b, "  \"transformer_layers_per_block\": %d,\n", u->transformer_depth);
  put_types(&b, "up_block_types", u->attention, u->levels, 1, "CrossAttnUpBlock2D", "UpBlock2D");
  put(&b, "  \"upcast_attention\": %s,\n  \"use_linear_projection\": %s\n}\n",
      u->upcast_attention ? "true" : "false", u->linear_projection ? "true" : "false");
  *unet = finish(&b);

  const fk_vae_config *v = &c->vae;
  int none[FK_SD_MAX_LEVELS] = {0};
  b = (sbuf){0};
  put(&b, "{\n  \"_class_name\": \"AutoencoderKL\",\n  \"_diffusers_version\": \"0.27.2\",\n");
  put(&b, "  \"act_fn\": \"silu\",\n");
  put_ints(&b, "block_out_channels", v->channels, v->levels);
  put_types(&b, "down_block_types", none, v->levels, 0, "", "DownEncoderBlock2D");
  put(&b, "  \"in_channels\": %d,\n  \"latent_channels\": %d,\n  \"layers_per_block\": %d,\n",
      v->in_channels, v->latent_channels, v->layers_per_block);
  put(&b, "  \"norm_num_groups\": %d,\n  \"out_channels\": %d,\n  \"sample_size\": %d,\n",
      v->norm_groups, v->out_channels, v->sample_size);
  put(&b, "  \"scaling_factor\": %.17g,\n", v->scaling_factor);
  put_types(&b, "up_block_types", none, v->levels, 1, "", "UpDecoderBlock2D");
  b.n -= 2; /* the last ",\n" */
  put(&b, "\n}\n");
  *vae = finish(&b);

  const fk_clip_config *t = &c->text;
  b = (sbuf){0};
  put(&b, "{\n  \"architectures\": [\"CLIPTextModel\"],\n  \"model_type\": \"clip_text_model\",\n");
  put(&b, "  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"hidden_act\": \"%s\",\n",
      t->bos_id, t->eos_id, act_name(t->act));
  put(&b, "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n  \"layer_norm_eps\": %g,\n",
      t->hidden, t->intermediate, t->eps);
  put(&b, "  \"max_position_embeddings\": %d,\n  \"num_attention_heads\": %d,\n", t->positions,
      t->heads);
  put(&b, "  \"num_hidden_layers\": %d,\n  \"vocab_size\": %d\n}\n", t->layers, t->vocab);
  *text = finish(&b);

  const fk_sched_config *s = &c->sched;
  static const char *const preds[] = {"epsilon", "v_prediction", "sample"};
  b = (sbuf){0};
  put(&b, "{\n  \"_class_name\": \"%s\",\n  \"_diffusers_version\": \"0.27.2\",\n", s->type);
  put(&b, "  \"beta_end\": %g,\n  \"beta_schedule\": \"%s\",\n  \"beta_start\": %g,\n", s->beta_end,
      s->beta_schedule, s->beta_start);
  put(&b, "  \"clip_sample\": %s,\n  \"num_train_timesteps\": %d,\n",
      s->clip_sample ? "true" : "false", s->train_timesteps);
  put(&b, "  \"prediction_type\": \"%s\",\n  \"set_alpha_to_one\": %s,\n", preds[s->prediction],
      s->set_alpha_to_one ? "true" : "false");
  put(&b,
      "  \"skip_prk_steps\": true,\n  \"steps_offset\": %d,\n  \"timestep_spacing\": \"%s\"\n}\n",
      s->steps_offset, s->timestep_spacing);
  *sched = finish(&b);
  if (*unet && *vae && *text && *sched) return FK_OK;
  free(*unet);
  free(*vae);
  free(*text);
  free(*sched);
  *unet = *vae = *text = *sched = NULL;
  return fk_err_oom(e, "model configuration text", 4096);
}
