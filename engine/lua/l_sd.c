/* funky.sd: a Stable Diffusion model in a script. load() maps the weights
 * and checks every tensor; the device, tokenizer and networks are made on
 * first use, so loading a model only to read its configuration is cheap. */
#include <stdlib.h>
#include <string.h>

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
  int f16, cpu;
} fk_lua_sd;

static fk_lua_sd *check_sd(lua_State *L, int idx) {
  fk_lua_sd *s = luaL_checkudata(L, idx, FK_LUA_SD);
  if (!s->m) luaL_error(L, "the model was closed");
  return s;
}

static void close_sd(fk_lua_sd *s) {
  fk_clip_text_free(s->text);
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
    fk_nn_opts o = {.kind = s->cpu ? FK_NN_CPU : FK_NN_VULKAN};
    if (fk_nn_open(&o, &s->nn, &e)) fk_lua_raise(L, &e);
  }
  if (!s->text && fk_clip_text_load(s->nn, s->m, s->f16, &s->text, &e)) fk_lua_raise(L, &e);
  return s->text;
}

/* funky.sd.load(path [, {device = "vulkan"|"cpu", f16 = bool}]) */
static int sd_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  fk_lua_check_path(L, path, 0);
  int t = lua_istable(L, 2) ? 2 : 0;
  const char *dev = fk_lua_str_field(L, t, 2, "device", "vulkan");
  if (strcmp(dev, "vulkan") && strcmp(dev, "cpu"))
    fk_lua_field_error(L, 2, "device", "must be \"vulkan\" or \"cpu\"");
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
  s->cpu = !strcmp(dev, "cpu");
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

/* sd:encode_text(text [, {weighting = "a1111"|"none", long = bool, clip_skip = n}]) */
static int sd_encode_text(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  const char *text = luaL_checkstring(L, 2);
  int t = lua_istable(L, 3) ? 3 : 0;
  const char *wmode = fk_lua_str_field(L, t, 3, "weighting", "a1111");
  int a1111 = !strcmp(wmode, "a1111");
  if (!a1111 && strcmp(wmode, "none"))
    fk_lua_field_error(L, 3, "weighting", "must be \"a1111\" or \"none\"");
  int clip_skip = (int)fk_lua_int_field(L, t, 3, "clip_skip", 0), lng = a1111;
  if (t) {
    lua_getfield(L, t, "long");
    if (!lua_isnil(L, -1)) lng = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  fk_tok *tok = tokenizer(L, s);
  fk_clip_text *enc = text_encoder(L, s);
  int32_t pad = fk_sd_config_of(s->m)->text.pad_id;
  fk_prompt_chunks ch = {0};
  int32_t one[FK_TOK_CONTEXT];
  fk_err e = {0};
  int rc;
  if (lng)
    rc = fk_prompt_chunks_make(tok, text, a1111 ? FK_PROMPT_A1111 : FK_PROMPT_PLAIN, pad, &ch, &e);
  else
    rc = fk_tok_ids77(tok, text, pad, one, &e);
  if (rc) return fk_lua_raise(L, &e);
  int n = lng ? (int)ch.n : 1, width = fk_clip_text_width(enc);
  fk_tensor *out = NULL;
  rc = fk_clip_text_encode(enc, lng ? &ch.ids[0][0] : one, n, clip_skip, &out, &e);
  int64_t shape[3] = {1, (int64_t)n * FK_TOK_CONTEXT, width};
  fk_lua_tensor *z = rc ? NULL : fk_lua_tensor_new(L, 3, shape);
  if (z) rc = fk_tensor_read(out, z->v, &e);
  fk_tensor_free(out);
  if (!rc && a1111)
    for (int c = 0; c < n; c++)
      apply_weights(z->v + (size_t)c * FK_TOK_CONTEXT * (size_t)width, ch.weights[c],
                    FK_TOK_CONTEXT, width);
  fk_prompt_chunks_free(&ch);
  if (rc) return fk_lua_raise(L, &e);
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
  static const luaL_Reg methods[] = {{"tokenize", sd_tokenize}, {"encode_text", sd_encode_text},
                                     {"config", sd_config},     {"device", sd_device},
                                     {"close", sd_close},       {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__gc", sd_gc}, {"__close", sd_gc}, {"__tostring", sd_tostring}, {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_SD, methods, meta);
  lua_newtable(L);
  lua_pushcfunction(L, sd_load);
  lua_setfield(L, -2, "load");
  return 1;
}
