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

/*** funky.sd.load(path [, opts])
 * Opens a Stable Diffusion model: maps the weights and checks every tensor by name and shape;
 * the device and networks are made on first use, so reading a model's configuration is cheap.
 * A single .safetensors file is detected as SD 1.x (CLIP width 768) or SD 2.x (OpenCLIP 1024);
 * anything else needs a sidecar MODEL.json beside it (diffusers configs, or {"family": "sd21"}).
 * A diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/) works too.
 * @param path string a .safetensors file or a diffusers folder
 * @param opts? table options, all optional
 * @field device? string "vulkan" or "gpu" (the best Vulkan device: the default, or
 *   FUNKY_DEVICE / --device), "cpu" (OpenBLAS and one thread per core: 5-25x lavapipe's
 *   speed), "lavapipe" (Mesa's CPU Vulkan driver by name) or "auto" (a real GPU if there
 *   is one, else "cpu")
 * @field f16? boolean keep weights and activations in 16-bit storage where the device has it
 *   (arithmetic stays fp32); default true
 * @return sd the model
 * @error bad argument #2 field 'device' "must be one of cpu, gpu, vulkan, lavapipe or auto"
 * @error a message naming the file and the first missing or wrong tensor with the expected
 *   shape ("PATH: the unet tensor 'KEY' is missing (expected shape ...)"), or what is missing
 *   from a folder
 * @error sandboxed recipe: "sandbox: a recipe may read only under its own folder ..."
 */
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

/*** @type sd
 * A loaded Stable Diffusion model (funky.sd.load). Freed when collected, or at once by
 * sd:close() or `<close>`; a closed model raises "the model was closed". Methods that run a
 * network open the device and load the networks on first use, which can fail with a device or
 * memory error.
 * @metatable funky.sd
 */
/*** sd:tokenize(text)
 * The 77 token ids the diffusers pipeline feeds the text encoder: BOS, at most 75 BPE tokens,
 * EOS, then the model's pad token; identical to transformers' CLIPTokenizer with ftfy.
 * @param text string the prompt (UTF-8); longer prompts are truncated to 75 tokens
 * @return integer[] 77 token ids
 */
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
/*** sd:encode_text(text [, opts])
 * The text encoder's embeddings of a prompt. With A1111 weighting the prompt is cut into chunks
 * of 75 tokens (at a comma when one is within the last 20), each encoded with BOS/EOS and
 * concatenated; each token's embedding is scaled by its weight and the chunk's mean restored.
 * @param text string the prompt; with "a1111": (word) x1.1, [word] /1.1, (word:1.3), nesting
 *   multiplies, \( escapes, BREAK starts a new chunk
 * @param opts? table options, all optional
 * @field weighting? string "a1111" (default) or "none" (the plain text as diffusers treats it)
 * @field long? boolean more than 75 tokens in chunks; default true with "a1111", false with
 *   "none" (truncated to 75 tokens)
 * @field clip_skip? integer leave out the last n encoder layers, >= 0 (A1111's "clip skip 2" is
 *   1); the final layer norm is applied either way; default 0
 * @return tensor shape {1, 77 * chunks, text_width}
 * @error bad argument #2 field 'weighting' "must be \"a1111\" or \"none\"", field 'clip_skip'
 *   "must be an integer"
 */
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

/* A1111 pads the shorter of two prompts' embeddings with empty-prompt
 * chunks until both have as many (pushes the tensors it makes). */
static void pad_pair(lua_State *L, fk_lua_sd *s, fk_lua_tensor **a, fk_lua_tensor **b,
                     int clip_skip) {
  while ((*a)->shape[1] != (*b)->shape[1]) {
    fk_lua_tensor **shorter = (*a)->shape[1] < (*b)->shape[1] ? a : b;
    text_opts plain = {0, 0, clip_skip};
    fk_lua_tensor *empty = encode_cached(L, 1, s, "", &plain);
    int64_t sh[3] = {1, (*shorter)->shape[1] + empty->shape[1], (*shorter)->shape[2]};
    fk_lua_tensor *grown = fk_lua_tensor_new(L, 3, sh);
    memcpy(grown->v, (*shorter)->v, (*shorter)->n * sizeof(float));
    memcpy(grown->v + (*shorter)->n, empty->v, empty->n * sizeof(float));
    *shorter = grown;
  }
}

/* (1 - w) a + w b, the shorter padded first (pushed). */
static fk_lua_tensor *blend(lua_State *L, fk_lua_sd *s, fk_lua_tensor *a, fk_lua_tensor *b,
                            double w, int clip_skip) {
  pad_pair(L, s, &a, &b, clip_skip);
  fk_lua_tensor *m = fk_lua_tensor_new(L, 3, a->shape);
  for (size_t i = 0; i < m->n; i++) m->v[i] = (float)((1 - w) * a->v[i] + w * b->v[i]);
  return m;
}

/* sd:img2img{init, prompt, negative, start_schedule, steps, guidance,
 * sampler, seed, frame, weighting, clip_skip, noise, vae_noise, mix} -> image,
 * final latents {1, 4, h, w}, {decoded, step_latents, steps} */
/*** @type img2img_info
 * The third result of sd:img2img.
 * @field decoded tensor the decoder's raw output {1, 3, H, W}, about -1..1
 * @field step_latents tensor {steps, 1, 4, H/8, W/8}: the latents after each step run
 * @field steps integer the number of steps run (about steps * start_schedule)
 */
/*** sd:img2img(opts)
 * Diffuses an init image towards a prompt (diffusers' img2img pipeline): encodes the init with
 * the VAE, noises it to the start timestep, denoises with the sampler and decodes. All
 * randomness is a pure function of (seed, frame, step) (Philox), the same on every device.
 * Prompt embeddings are memoised per model (64 prompts), so a render encodes each once.
 * @param opts table the job
 * @field init image|tensor the init image, or a {1, 3, H, W} tensor in -1..1; width and height
 *   multiples of 8 pixels (required)
 * @field prompt? string the prompt (A1111 syntax by default); default ""
 * @field negative? string the negative prompt, used when guidance > 1; default ""
 * @field start_schedule? number diffusers' strength, (0, 1]: the last steps * start_schedule
 *   timesteps are run; default 0.5 (`strength` is accepted as another name)
 * @field strength? number the same as start_schedule
 * @field steps? integer sampler steps of the full schedule, 1..1000; default 20
 * @field guidance? number classifier-free guidance scale; > 1 runs the negative prompt too (one
 *   batch of 2); default 7.5
 * @field sampler? string "ddim" (default), "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras",
 *   "lcm" or "pndm", each with the model's scheduler config
 * @field seed? integer the noise seed; default 0
 * @field frame? integer frame number, a second key of the noise (so frames differ with one
 *   seed); default 0
 * @field weighting? string "a1111" (default) or "none", as sd:encode_text
 * @field long? boolean as sd:encode_text
 * @field clip_skip? integer as sd:encode_text; default 0
 * @field noise? tensor replaces the latent noise: {1, 4, H/8, W/8} values
 * @field vae_noise? tensor replaces the VAE posterior sample's noise: {1, 4, H/8, W/8} values
 * @field mix? table blends another prompt's embeddings in: (1 - weight) x this one's + weight x
 *   that one's (the shorter padded with empty chunks, as A1111 does); section cross-fades use it
 * @field mix.prompt? string the other prompt; default this prompt
 * @field mix.negative? string the other negative prompt; default this negative
 * @field mix.weight? number the other prompt's share, 0..1; default 0.5
 * @return image the result, clamped to 0..1
 * @return tensor the final latents {1, 4, H/8, W/8}
 * @return img2img_info the raw decoder output and the latents after each step
 * @error bad argument #1 field 'init' "must be an image or a {1, 3, H, W} tensor in [-1, 1]",
 *   field 'steps' "must be in 1..1000", field 'noise'/'vae_noise' "must be a tensor of N
 *   values", field 'mix' "must be { prompt = text, weight = 0..1 [, negative = text] }" or
 *   "weight must be in 0..1"
 * @error "img2img: size WxH must be multiples of 8 pixels", "img2img: strength must be in (0,
 *   1]", "unknown sampler \"NAME\" (use ddim, euler, ...)"
 * @error "img2img: the latents became NaN or infinite at step K of N ...; try fp32 weights (f16 =
 *   false), another sampler or fewer steps"
 */
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
  if (p.guidance > 1) unc = encode_cached(L, 1, s, negative, &o);
  lua_getfield(L, 2, "mix");
  if (!lua_isnil(L, -1)) { /* a cross-fade from another prompt */
    int mt = lua_gettop(L);
    if (!lua_istable(L, mt))
      fk_lua_field_error(L, 2, "mix",
                         "must be { prompt = text, weight = 0..1 [, negative = text] }");
    double w = fk_lua_num_field(L, mt, 2, "weight", 0.5);
    if (!(w >= 0 && w <= 1)) fk_lua_field_error(L, 2, "mix", "weight must be in 0..1");
    const char *mp = fk_lua_str_field(L, mt, 2, "prompt", prompt);
    const char *mn = fk_lua_str_field(L, mt, 2, "negative", negative);
    cond = blend(L, s, cond, encode_cached(L, 1, s, mp, &o), w, o.clip_skip);
    if (unc && strcmp(mn, negative))
      unc = blend(L, s, unc, encode_cached(L, 1, s, mn, &o), w, o.clip_skip);
  }
  if (unc) pad_pair(L, s, &cond, &unc, o.clip_skip);
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
/*** sd:encode_image(img)
 * The VAE posterior of an image.
 * @param img image|tensor an image, or a {1, 3, H, W} tensor in -1..1; H and W multiples of 8
 * @return tensor latents {1, 4, H/8, W/8}: the scaling factor x the posterior mean
 * @return {mean:tensor,std:tensor} the posterior's mean and standard deviation
 * @error bad argument #1 "an image or a {1, 3, H, W} tensor in [-1, 1]"
 */
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
/*** sd:decode_latent(latents)
 * Decodes latents with the VAE (tiled when large), dividing them by the scaling factor first
 * as the pipeline does.
 * @param latents tensor {1, 4, h, w} latents
 * @return image the decoded image, 8w x 8h pixels, clamped to 0..1
 * @return tensor the decoder's raw output {1, 3, 8h, 8w}, about -1..1
 * @error bad argument #1 "a {1, C, h, w} latent tensor"
 */
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
/*** sd:unet(latents, t, context)
 * One UNet evaluation: the model's prediction (epsilon or v, see sd:config().prediction_type).
 * @param latents tensor {B, 4, h, w} latents, B <= 64
 * @param t number|number[] the timestep (0..999), or one per batch element
 * @param context tensor text embeddings {B, L, text_width} (from sd:encode_text)
 * @return tensor the prediction {B, 4, h, w}
 * @error bad argument #1 "latents {B, C, h, w} and context {B, L, D} with one B (<= 64)"
 */
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
/*** @type sd_config
 * What sd:config returns.
 * @field family string the model family: "sd15", "sd21", "tiny" or "custom"
 * @field layout string "single" (one .safetensors file) or "folder" (diffusers layout)
 * @field text_width integer width of the text embeddings (768 for SD 1.x, 1024 for SD 2.x)
 * @field text_layers integer layers of the text encoder
 * @field pad_id integer the tokenizer's pad token id
 * @field scaling_factor number the VAE's latent scaling factor
 * @field prediction_type string what the UNet predicts: "epsilon" or "v_prediction"
 */
/*** sd:config()
 * The model's family, layout and main sizes.
 * @return sd_config the configuration
 */
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
/*** sd:device()
 * Where the networks run.
 * @return {name:string,validation_messages:integer} the device's name ("none yet" before the
 *   first network runs) and the number of Vulkan validation messages seen (tests require 0)
 */
static int sd_device(lua_State *L) {
  fk_lua_sd *s = check_sd(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, s->nn ? fk_nn_name(s->nn) : "none yet");
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, s->nn ? (lua_Integer)fk_nn_validation_messages(s->nn) : 0);
  lua_setfield(L, -2, "validation_messages");
  return 1;
}

/*** sd:close()
 * Frees the model's device memory and mapped weights now instead of at collection; later calls
 * on it raise "the model was closed". Closing twice is harmless.
 */
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

/*** @module funky.sd
 * Stable Diffusion in a script: load a model (see the `sd` type), encode text and images, run
 * img2img, the UNet and the VAE on tensors.
 */
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
