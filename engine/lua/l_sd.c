/* funky.sd: a Stable Diffusion model in a script. load() maps the weights
 * and checks every tensor; the device, tokenizer and networks are made on
 * first use, so loading a model only to read its configuration is cheap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/img2img.h"
#include "lua/fk_lua.h"
#include "models/clip_text.h"
#include "models/sd_model.h"
#include "text/prompt_weights.h"
#include "text/tokenizer.h"

typedef struct fk_lua_sd {
  fk_sd_model *m;
  fk_tok *tok;
  fk_nn *nn;
  fk_clip_text *text;
  fk_unet *unet;
  fk_vae *vae;
  int f16;
  fk_nn_opts dev; /* where the networks run (device = ...) */
} fk_lua_sd;

static fk_lua_sd *check_sd(lua_State *L, int idx) {
  fk_lua_sd *s = luaL_checkudata(L, idx, FK_LUA_SD);
  if (!s->m) luaL_error(L, "the model was closed");
  return s;
}

static void close_sd(fk_lua_sd *s) {
  fk_clip_text_free(s->text);
  fk_unet_free(s->unet);
  fk_vae_free(s->vae);
  fk_nn_close(s->nn);
  fk_tok_close(s->tok);
  fk_sd_close(s->m);
  memset(s, 0, sizeof *s);
}

static int sd_gc(lua_State *L) {
  close_sd(luaL_checkudata(L, 1, FK_LUA_SD));
  return 0;
}

static fk_tok *tokenizer(lua_State *L, fk_lua_sd *s) {
  fk_err e = {0};
  if (!s->tok && fk_tok_open(fk_sd_tokenizer_dir(s->m), &s->tok, &e)) fk_lua_raise(L, &e);
  return s->tok;
}

static fk_clip_text *text_encoder(lua_State *L, fk_lua_sd *s) {
  fk_err e = {0};
  if (!s->nn) {
    if (fk_nn_open(&s->dev, &s->nn, &e)) fk_lua_raise(L, &e);
  }
  if (!s->text && fk_clip_text_load(s->nn, s->m, s->f16, &s->text, &e)) fk_lua_raise(L, &e);
  return s->text;
}

/* funky.sd.load(path [, {device = "vulkan"|"gpu"|"cpu"|"lavapipe"|"auto", f16 = bool}]) */
static int sd_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  fk_lua_check_path(L, path, 0);
  int t = lua_istable(L, 2) ? 2 : 0;
  const char *env = getenv("FUNKY_DEVICE"); /* funky render/run --device */
  const char *dev = fk_lua_str_field(L, t, 2, "device", env && *env ? env : "vulkan");
  fk_nn_opts dev_opts = {0};
  if (fk_nn_parse_device(dev, &dev_opts))
    fk_lua_field_error(L, 2, "device", "must be one of " FK_NN_DEVICES);
  int f16 = 1;
  if (t) {
    lua_getfield(L, t, "f16");
    if (!lua_isnil(L, -1)) f16 = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  fk_lua_sd *s = lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, FK_LUA_SD);
  s->f16 = f16;
  s->dev = dev_opts;
  fk_err e = {0};
  if (fk_sd_open(path, FK_SD_STRICT, &s->m, &e)) return fk_lua_raise(L, &e);
  return 1;
}

static int sd_tokenize(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  const char *text = luaL_checkstring(L, 2);
  int32_t ids[FK_TOK_CONTEXT];
  fk_err e = {0};
  if (fk_tok_ids77(tokenizer(L, s), text, fk_sd_config_of(s->m)->text.pad_id, ids, &e))
    return fk_lua_raise(L, &e);
  lua_createtable(L, FK_TOK_CONTEXT, 0);
  for (int i = 0; i < FK_TOK_CONTEXT; i++) {
    lua_pushinteger(L, ids[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* A1111's emphasis: scale each token's embedding by its weight, then
 * restore the chunk's original mean. */
static void apply_weights(float *z, const float *w, int positions, int width) {
  size_t n = (size_t)positions * (size_t)width;
  double before = 0, after = 0;
  for (size_t i = 0; i < n; i++) before += z[i];
  for (int p = 0; p < positions; p++)
    for (int d = 0; d < width; d++) z[(size_t)p * (size_t)width + (size_t)d] *= w[p];
  for (size_t i = 0; i < n; i++) after += z[i];
  if (after == 0) return;
  float k = (float)(before / after);
  for (size_t i = 0; i < n; i++) z[i] *= k;
}

typedef struct text_opts {
  int a1111, lng, clip_skip;
} text_opts;

/* Reads weighting/long/clip_skip from the option table at t (0: none). */
static text_opts text_options(lua_State *L, int t, int arg) {
  text_opts o;
  const char *wmode = fk_lua_str_field(L, t, arg, "weighting", "a1111");
  o.a1111 = !strcmp(wmode, "a1111");
  if (!o.a1111 && strcmp(wmode, "none"))
    fk_lua_field_error(L, arg, "weighting", "must be \"a1111\" or \"none\"");
  o.clip_skip = (int)fk_lua_int_field(L, t, arg, "clip_skip", 0);
  o.lng = o.a1111;
  if (t) {
    lua_getfield(L, t, "long");
    if (!lua_isnil(L, -1)) o.lng = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  return o;
}

/* Pushes the embedding tensor {1, 77 * chunks, width} of text. */
static fk_lua_tensor *encode(lua_State *L, fk_lua_sd *s, const char *text, const text_opts *o) {
  fk_tok *tok = tokenizer(L, s);
  fk_clip_text *enc = text_encoder(L, s);
  int32_t pad = fk_sd_config_of(s->m)->text.pad_id;
  fk_prompt_chunks ch = {0};
  int32_t one[FK_TOK_CONTEXT];
  fk_err e = {0};
  int rc;
  if (o->lng)
    rc = fk_prompt_chunks_make(tok, text, o->a1111 ? FK_PROMPT_A1111 : FK_PROMPT_PLAIN, pad, &ch,
                               &e);
  else
    rc = fk_tok_ids77(tok, text, pad, one, &e);
  if (rc) fk_lua_raise(L, &e);
  int n = o->lng ? (int)ch.n : 1, width = fk_clip_text_width(enc);
  fk_tensor *out = NULL;
  rc = fk_clip_text_encode(enc, o->lng ? &ch.ids[0][0] : one, n, o->clip_skip, &out, &e);
  int64_t shape[3] = {1, (int64_t)n * FK_TOK_CONTEXT, width};
  fk_lua_tensor *z = rc ? NULL : fk_lua_tensor_new(L, 3, shape);
  if (z) rc = fk_tensor_read(out, z->v, &e);
  fk_tensor_free(out);
  if (!rc && o->a1111)
    for (int c = 0; c < n; c++)
      apply_weights(z->v + (size_t)c * FK_TOK_CONTEXT * (size_t)width, ch.weights[c],
                    FK_TOK_CONTEXT, width);
  fk_prompt_chunks_free(&ch);
  if (rc) fk_lua_raise(L, &e);
  return z;
}

/* encode() through a per-model memo (a registry table weakly keyed by the
 * model's userdata at stack index sd), so a render encodes each section's
 * prompts once, not once per frame. Pushes the tensor. */
static fk_lua_tensor *encode_cached(lua_State *L, int sd, fk_lua_sd *s, const char *text,
                                    const text_opts *o) {
  sd = lua_absindex(L, sd);
  lua_getfield(L, LUA_REGISTRYINDEX, "funky.sd.memo");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "funky.sd.memo");
  }
  lua_pushvalue(L, sd);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, sd);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
  lua_remove(L, -2); /* the per-model table */
  int memo = lua_gettop(L);
  lua_pushfstring(L, "%d %d %d %s", o->a1111, o->lng, o->clip_skip, text);
  int key = lua_gettop(L);
  lua_pushvalue(L, key);
  lua_rawget(L, memo);
  fk_lua_tensor *t = luaL_testudata(L, -1, FK_LUA_TENSOR);
  if (!t) {
    lua_pop(L, 1);
    lua_getfield(L, memo, " count");
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    t = encode(L, s, text, o);
    if (n < 64) { /* a bounded memo: prompts past 64 are encoded each time */
      lua_pushvalue(L, key);
      lua_pushvalue(L, -2);
      lua_rawset(L, memo);
      lua_pushinteger(L, n + 1);
      lua_setfield(L, memo, " count");
    }
  }
  lua_replace(L, memo); /* leave just the tensor */
  lua_settop(L, memo);
  return t;
}

/* sd:encode_text(text [, {weighting = "a1111"|"none", long = bool, clip_skip = n}]) */
static int sd_encode_text(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  const char *text = luaL_checkstring(L, 2);
  int t = lua_istable(L, 3) ? 3 : 0;
  text_opts o = text_options(L, t, 3);
  encode(L, s, text, &o);
  return 1;
}

static void load_nets(lua_State *L, fk_lua_sd *s) {
  fk_err e = {0};
  text_encoder(L, s); /* opens the device */
  if (!s->unet && fk_unet_load(s->nn, s->m, s->f16, &s->unet, &e)) fk_lua_raise(L, &e);
  if (!s->vae && fk_vae_load(s->nn, s->m, s->f16, &s->vae, &e)) fk_lua_raise(L, &e);
}

/* An image argument as a {1, 3, H, W} tensor in [-1, 1] (pushed). */
static fk_lua_tensor *image_arg(lua_State *L, int idx) {
  fk_image *img = luaL_testudata(L, idx, FK_LUA_IMAGE);
  if (!img) {
    fk_lua_tensor *t = luaL_testudata(L, idx, FK_LUA_TENSOR);
    if (!t || t->ndim != 4 || t->shape[0] != 1 || t->shape[1] != 3)
      luaL_argerror(L, idx, "an image or a {1, 3, H, W} tensor in [-1, 1]");
    lua_pushvalue(L, idx);
    return t;
  }
  int64_t sh[4] = {1, 3, img->h, img->w};
  fk_lua_tensor *t = fk_lua_tensor_new(L, 4, sh);
  size_t n = (size_t)img->w * (size_t)img->h;
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < 3; c++) t->v[c * n + i] = 2 * img->px[3 * i + c] - 1;
  return t;
}

/* Pushes the image of a decoder output {3, h, w} in [-1, 1]. */
static int push_image(lua_State *L, const float *chw, int w, int h, fk_err *e) {
  fk_image out = {0};
  if (fk_image_new(&out, w, h, e)) return -1;
  size_t n = (size_t)w * (size_t)h;
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < 3; c++) {
      float v = chw[c * n + i] / 2 + 0.5f;
      out.px[3 * i + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  fk_lua_image_push(L, &out);
  return 0;
}

/* A tensor option of exactly n values (or nil). */
static const float *tensor_field(lua_State *L, int t, const char *name, size_t n) {
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  fk_lua_tensor *x = luaL_testudata(L, -1, FK_LUA_TENSOR);
  if (!x || x->n != n) {
    char msg[96];
    snprintf(msg, sizeof msg, "must be a tensor of %zu values", n);
    fk_lua_field_error(L, 2, name, msg);
  }
  lua_pop(L, 1); /* still referenced by the option table */
  return x->v;
}

/* sd:img2img{init, prompt, negative, start_schedule, steps, guidance,
 * sampler, seed, frame, weighting, clip_skip, noise, vae_noise} -> image,
 * final latents {1, 4, h, w}, {decoded, step_latents, steps} */
static int sd_img2img(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  const fk_sd_config *cfg = fk_sd_config_of(s->m);
  fk_img2img p = {0};
  lua_getfield(L, 2, "init");
  if (!luaL_testudata(L, -1, FK_LUA_IMAGE) && !luaL_testudata(L, -1, FK_LUA_TENSOR))
    fk_lua_field_error(L, 2, "init", "must be an image or a {1, 3, H, W} tensor in [-1, 1]");
  fk_lua_tensor *init = image_arg(L, lua_gettop(L)); /* stays on the stack */
  p.width = (int)init->shape[3];
  p.height = (int)init->shape[2];
  size_t npx = (size_t)p.width * (size_t)p.height;
  p.init = init->v;
  const char *prompt = fk_lua_str_field(L, 2, 2, "prompt", "");
  const char *negative = fk_lua_str_field(L, 2, 2, "negative", "");
  p.strength =
      fk_lua_num_field(L, 2, 2, "start_schedule", fk_lua_num_field(L, 2, 2, "strength", 0.5));
  p.steps = (int)fk_lua_int_field(L, 2, 2, "steps", 20);
  p.guidance = fk_lua_num_field(L, 2, 2, "guidance", 7.5);
  p.sampler = fk_lua_str_field(L, 2, 2, "sampler", "ddim");
  p.seed = (uint64_t)fk_lua_int_field(L, 2, 2, "seed", 0);
  p.frame = (uint64_t)fk_lua_int_field(L, 2, 2, "frame", 0);
  if (p.steps < 1 || p.steps > cfg->sched.train_timesteps)
    fk_lua_field_error(L, 2, "steps", "must be in 1..1000");
  text_opts o = text_options(L, 2, 2);
  size_t nl = (size_t)cfg->unet.in_channels * npx / 64;
  p.noise = tensor_field(L, 2, "noise", nl);
  p.vae_noise = tensor_field(L, 2, "vae_noise", nl);
  load_nets(L, s);
  fk_lua_tensor *cond = encode_cached(L, 1, s, prompt, &o), *unc = NULL;
  if (p.guidance > 1) {
    unc = encode_cached(L, 1, s, negative, &o);
    /* A1111 pads the shorter of prompt and negative with empty-prompt chunks */
    while (cond->shape[1] != unc->shape[1]) {
      fk_lua_tensor *shorter = cond->shape[1] < unc->shape[1] ? cond : unc;
      text_opts plain = {0, 0, o.clip_skip};
      fk_lua_tensor *empty = encode_cached(L, 1, s, "", &plain);
      int64_t sh[3] = {1, shorter->shape[1] + empty->shape[1], shorter->shape[2]};
      fk_lua_tensor *grown = fk_lua_tensor_new(L, 3, sh);
      memcpy(grown->v, shorter->v, shorter->n * sizeof(float));
      memcpy(grown->v + shorter->n, empty->v, empty->n * sizeof(float));
      if (shorter == cond)
        cond = grown;
      else
        unc = grown;
    }
  }
  p.cond = cond->v;
  p.uncond = unc ? unc->v : NULL;
  p.ctx_len = (int)cond->shape[1];
  p.ctx_dim = (int)cond->shape[2];
  fk_sd_nets nets = {.nn = s->nn, .model = s->m, .unet = s->unet, .vae = s->vae};
  fk_img2img_result r;
  fk_err e = {0};
  if (fk_img2img_run(&nets, &p, &r, &e)) return fk_lua_raise(L, &e);
  if (push_image(L, r.image, p.width, p.height, &e)) {
    fk_img2img_result_free(&r);
    return fk_lua_raise(L, &e);
  }
  int64_t ls[4] = {1, cfg->unet.in_channels, p.height / 8, p.width / 8};
  int64_t is[4] = {1, 3, p.height, p.width};
  int64_t ss[5] = {r.steps_run, 1, ls[1], ls[2], ls[3]};
  fk_lua_tensor *lt = fk_lua_tensor_new(L, 4, ls);
  memcpy(lt->v, r.latents, lt->n * sizeof(float));
  lua_createtable(L, 0, 3);
  fk_lua_tensor *dt = fk_lua_tensor_new(L, 4, is);
  memcpy(dt->v, r.image, dt->n * sizeof(float));
  lua_setfield(L, -2, "decoded");
  fk_lua_tensor *st = fk_lua_tensor_new(L, 5, ss);
  memcpy(st->v, r.steps, st->n * sizeof(float));
  lua_setfield(L, -2, "step_latents");
  lua_pushinteger(L, r.steps_run);
  lua_setfield(L, -2, "steps");
  fk_img2img_result_free(&r);
  return 3;
}

/* ---- tensors in, tensors out ------------------------------------------- */

static fk_tensor *to_device(lua_State *L, fk_lua_sd *s, const fk_lua_tensor *t) {
  fk_tensor *x = NULL;
  fk_err e = {0};
  if (t->ndim < 1 || t->ndim > FK_NN_MAX_DIMS) luaL_error(L, "tensors of 1..4 dimensions here");
  if (fk_tensor_new(s->nn, fk_unet_dtype(s->unet), t->ndim, t->shape, &x, &e) ||
      fk_tensor_write(x, t->v, &e)) {
    fk_tensor_free(x);
    fk_lua_raise(L, &e);
  }
  return x;
}

/* Reads x into a new Lua tensor (frees x); raises on error. */
static fk_lua_tensor *to_lua(lua_State *L, fk_tensor *x, fk_err *e) {
  fk_lua_tensor *t = fk_lua_tensor_new(L, x->ndim, x->shape);
  int rc = fk_tensor_read(x, t->v, e);
  fk_tensor_free(x);
  if (rc) fk_lua_raise(L, e);
  return t;
}

/* sd:encode_image(img) -> latents (scaling_factor x posterior mean),
 * {mean, std} of the posterior */
static int sd_encode_image(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  fk_lua_tensor *in = image_arg(L, 2);
  load_nets(L, s);
  fk_tensor *x = to_device(L, s, in), *mean = NULL, *std = NULL;
  fk_err e = {0};
  int rc = fk_vae_encode(s->vae, x, &mean, &std, &e);
  fk_tensor_free(x);
  if (rc) return fk_lua_raise(L, &e);
  fk_lua_tensor *m = to_lua(L, mean, &e);
  int mi = lua_gettop(L);
  fk_lua_tensor *lat = fk_lua_tensor_new(L, m->ndim, m->shape);
  float sf = (float)fk_vae_scaling_factor(s->vae);
  for (size_t i = 0; i < m->n; i++) lat->v[i] = sf * m->v[i];
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, mi);
  lua_setfield(L, -2, "mean");
  to_lua(L, std, &e);
  lua_setfield(L, -2, "std");
  return 2;
}

/* sd:decode_latent(latents {1, 4, h, w}) -> image in [0, 1], the raw
 * decoder output {1, 3, 8h, 8w} (latents are divided by the scaling
 * factor first, as the pipeline does) */
static int sd_decode_latent(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  fk_lua_tensor *z = fk_lua_tensor_check(L, 2);
  if (z->ndim != 4 || z->shape[0] != 1) return luaL_argerror(L, 2, "a {1, C, h, w} latent tensor");
  load_nets(L, s);
  fk_lua_tensor *zs = fk_lua_tensor_new(L, 4, z->shape);
  float inv = (float)(1.0 / fk_vae_scaling_factor(s->vae));
  for (size_t i = 0; i < z->n; i++) zs->v[i] = z->v[i] * inv;
  fk_tensor *x = to_device(L, s, zs), *y = NULL;
  fk_err e = {0};
  int rc = fk_vae_decode(s->vae, x, &y, &e);
  fk_tensor_free(x);
  if (rc) return fk_lua_raise(L, &e);
  fk_lua_tensor *raw = to_lua(L, y, &e);
  int ri = lua_gettop(L);
  if (push_image(L, raw->v, (int)raw->shape[3], (int)raw->shape[2], &e)) return fk_lua_raise(L, &e);
  lua_pushvalue(L, ri);
  return 2;
}

/* sd:unet(latents {B, 4, h, w}, t (number or list of B), context {B, L, D})
 * -> the model's prediction {B, 4, h, w} */
static int sd_unet(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  fk_lua_tensor *x = fk_lua_tensor_check(L, 2), *c = fk_lua_tensor_check(L, 4);
  if (x->ndim != 4 || c->ndim != 3 || c->shape[0] != x->shape[0] || x->shape[0] > 64)
    return luaL_argerror(L, 2, "latents {B, C, h, w} and context {B, L, D} with one B (<= 64)");
  float t[64];
  for (int64_t b = 0; b < x->shape[0]; b++) {
    if (lua_istable(L, 3)) {
      lua_rawgeti(L, 3, (lua_Integer)b + 1);
      t[b] = (float)luaL_checknumber(L, -1);
      lua_pop(L, 1);
    } else {
      t[b] = (float)luaL_checknumber(L, 3);
    }
  }
  load_nets(L, s);
  fk_tensor *dx = to_device(L, s, x), *dc = to_device(L, s, c), *y = NULL;
  fk_err e = {0};
  int rc = fk_unet_forward(s->unet, dx, t, dc, &y, &e);
  fk_tensor_free(dx);
  fk_tensor_free(dc);
  if (rc) return fk_lua_raise(L, &e);
  to_lua(L, y, &e);
  return 1;
}

/* sd:config(): the family, layout and the main sizes, for scripts. */
static int sd_config(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  const fk_sd_config *c = fk_sd_config_of(s->m);
  lua_createtable(L, 0, 8);
  lua_pushstring(L, fk_sd_family_name(c->family));
  lua_setfield(L, -2, "family");
  lua_pushstring(L, fk_sd_layout_of(s->m) == FK_SD_FOLDER ? "folder" : "single");
  lua_setfield(L, -2, "layout");
  lua_pushinteger(L, c->text.hidden);
  lua_setfield(L, -2, "text_width");
  lua_pushinteger(L, c->text.layers);
  lua_setfield(L, -2, "text_layers");
  lua_pushinteger(L, c->text.pad_id);
  lua_setfield(L, -2, "pad_id");
  lua_pushnumber(L, c->vae.scaling_factor);
  lua_setfield(L, -2, "scaling_factor");
  lua_pushstring(L, c->sched.prediction == FK_PRED_V ? "v_prediction" : "epsilon");
  lua_setfield(L, -2, "prediction_type");
  return 1;
}

/* sd:device(): where the networks run, and the validation messages seen
 * (tests require 0). */
static int sd_device(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, s->nn ? fk_nn_name(s->nn) : "none yet");
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, s->nn ? (lua_Integer)fk_nn_validation_messages(s->nn) : 0);
  lua_setfield(L, -2, "validation_messages");
  return 1;
}

static int sd_close(lua_State *L) {
  close_sd(luaL_checkudata(L, 1, FK_LUA_SD));
  return 0;
}

static int sd_tostring(lua_State *L) {
  fk_lua_sd *s = luaL_checkudata(L, 1, FK_LUA_SD);
  if (!s->m)
    lua_pushliteral(L, "sd model (closed)");
  else
    lua_pushfstring(L, "sd model %s (%s)", fk_sd_path(s->m),
                    fk_sd_family_name(fk_sd_config_of(s->m)->family));
  return 1;
}

int fk_lua_open_sd(lua_State *L) {
  static const luaL_Reg methods[] = {{"tokenize", sd_tokenize},
                                     {"encode_text", sd_encode_text},
                                     {"img2img", sd_img2img},
                                     {"encode_image", sd_encode_image},
                                     {"decode_latent", sd_decode_latent},
                                     {"unet", sd_unet},
                                     {"config", sd_config},
                                     {"device", sd_device},
                                     {"close", sd_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__gc", sd_gc}, {"__close", sd_gc}, {"__tostring", sd_tostring}, {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_SD, methods, meta);
  lua_newtable(L);
  lua_pushcfunction(L, sd_load);
  lua_setfield(L, -2, "load");
  return 1;
}
