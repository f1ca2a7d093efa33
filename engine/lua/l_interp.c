/* funky.interp: frame interpolation (FILM or RIFE, told apart by the
 * file's tensor names) in a script. Images in give an
 * image out, clamped to [0, 1]; {1, 3, H, W} tensors in give the
 * network's raw output (what parity checks compare). */
#include <stdlib.h>
#include <string.h>

#include "interp/interp.h"
#include "lua/fk_lua.h"

/* internal: never reaches a script, so not a funky.* type */
#define FK_LUA_INTERP_SCRATCH "fk.interp.scratch"

typedef struct fk_lua_interp {
  fk_nn *nn;
  fk_interp_net net;
  int open;
} fk_lua_interp;

static fk_lua_interp *check_interp(lua_State *L, int idx) {
  fk_lua_interp *s = luaL_checkudata(L, idx, FK_LUA_INTERP);
  if (!s->open) luaL_error(L, "the interpolator was closed");
  return s;
}

static void close_interp(fk_lua_interp *s) {
  fk_interp_free(&s->net);
  fk_nn_close(s->nn);
  memset(s, 0, sizeof *s);
}

static int interp_gc(lua_State *L) {
  close_interp(luaL_checkudata(L, 1, FK_LUA_INTERP));
  return 0;
}

/*** funky.interp.load(path [, opts])
 * Opens a frame interpolator: FILM-net weights in .safetensors with the PyTorch port's tensor
 * names (models/convert_interpolator.py makes them from film_net_fp32.pt), every tensor checked
 * by name and shape.
 * @param path string the .safetensors file
 * @param opts? table options, all optional
 * @field device? string "vulkan" or "gpu" (the best Vulkan device: the default, or
 *   FUNKY_DEVICE / --device), "cpu" (OpenBLAS and one thread per core), "lavapipe" (Mesa's
 *   CPU Vulkan driver by name) or "auto" (a real GPU if there is one, else "cpu")
 * @field f16? boolean 16-bit storage where the device has it (arithmetic stays fp32); default true
 * @return interp the interpolator
 * @error bad argument #2 field 'device' "must be one of cpu, gpu, vulkan, lavapipe or auto"
 * @error a message naming the file and the first missing or wrong tensor with the expected shape
 */
static int interp_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  fk_lua_check_path(L, path, 0);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  int t = lua_istable(L, 2) ? 2 : 0;
  const char *env = getenv("FUNKY_DEVICE"); /* funky render/run --device */
  const char *dev = fk_lua_str_field(L, t, 2, "device", env && *env ? env : "vulkan");
  fk_nn_opts o = {0};
  if (fk_nn_parse_device(dev, &o))
    fk_lua_field_error(L, 2, "device", "must be one of " FK_NN_DEVICES);
  int f16 = 1;
  if (t) {
    lua_getfield(L, t, "f16");
    if (!lua_isnil(L, -1)) f16 = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  fk_lua_interp *s = lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, FK_LUA_INTERP);
  fk_err e = {0};
  if (fk_nn_open(&o, &s->nn, &e) || fk_interp_load(s->nn, path, f16, &s->net, &e))
    return fk_lua_raise(L, &e);
  s->open = 1;
  return 1;
}

/* The two frames of a call: both images or both {1, 3, H, W} tensors of
 * one size, as planar RGB (new buffers for images). */
typedef struct frames {
  int images, h, w;
  const float *x0, *x1;
  float *own0, *own1;
} frames;

static float *planar(const fk_image *img) {
  size_t n = (size_t)img->w * (size_t)img->h;
  float *p = fk_alloc(3 * n, sizeof *p);
  if (!p) return NULL;
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < 3; c++) p[c * n + i] = img->px[3 * i + c];
  return p;
}

static void frames_free(frames *f) {
  free(f->own0);
  free(f->own1);
}

static void frames_arg(lua_State *L, frames *f) {
  memset(f, 0, sizeof *f);
  if (luaL_testudata(L, 2, FK_LUA_IMAGE)) {
    fk_image *a = fk_lua_image_check(L, 2);
    if (!luaL_testudata(L, 3, FK_LUA_IMAGE)) luaL_argerror(L, 3, "an image, like the first frame");
    fk_image *b = fk_lua_image_check(L, 3);
    if (a->w != b->w || a->h != b->h) luaL_argerror(L, 3, "the frames differ in size");
    f->images = 1;
    f->w = a->w;
    f->h = a->h;
    f->own0 = planar(a);
    f->own1 = f->own0 ? planar(b) : NULL;
    if (!f->own1) {
      frames_free(f);
      fk_err e = {0};
      fk_err_oom(&e, "frames", (size_t)a->w * (size_t)a->h * 3 * sizeof(float));
      fk_lua_raise(L, &e);
    }
    f->x0 = f->own0;
    f->x1 = f->own1;
    return;
  }
  fk_lua_tensor *a = luaL_testudata(L, 2, FK_LUA_TENSOR);
  if (!a || a->ndim != 4 || a->shape[0] != 1 || a->shape[1] != 3)
    luaL_argerror(L, 2, "an image or a {1, 3, H, W} tensor");
  fk_lua_tensor *b = luaL_testudata(L, 3, FK_LUA_TENSOR);
  if (!b || b->ndim != 4 || memcmp(a->shape, b->shape, 4 * sizeof *a->shape))
    luaL_argerror(L, 3, "a tensor of the first frame's shape");
  if (a->shape[2] > FK_IMAGE_MAX_SIDE || a->shape[3] > FK_IMAGE_MAX_SIDE)
    luaL_argerror(L, 2, "frames are at most 8192 pixels a side");
  f->h = (int)a->shape[2];
  f->w = (int)a->shape[3];
  f->x0 = a->v;
  f->x1 = b->v;
}

/* `pad` of the option table at idx (0 = none): 64 by default. */
static int pad_option(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return FK_INTERP_ALIGN;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_getfield(L, idx, "pad");
  int pad = FK_INTERP_ALIGN;
  if (lua_isboolean(L, -1)) {
    if (lua_toboolean(L, -1)) fk_lua_field_error(L, idx, "pad", "must be a number or false");
    pad = 0;
  } else if (!lua_isnil(L, -1)) {
    double v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (!(v >= 1 && v <= 1024) || v != (double)(int)v)
      fk_lua_field_error(L, idx, "pad", "must be an integer in 1..1024 or false");
    pad = (int)v;
  }
  lua_pop(L, 1);
  return pad;
}

/* Output frames of interp:midpoints while they are being made. */
typedef struct scratch {
  float **outs;
  int64_t count;
} scratch;

static void scratch_free(scratch *sc) {
  for (int64_t i = 0; sc->outs && i < sc->count; i++) free(sc->outs[i]);
  free(sc->outs);
  sc->outs = NULL;
  sc->count = 0;
}

static int scratch_gc(lua_State *L) {
  scratch_free(lua_touserdata(L, 1));
  return 0;
}

/* Pushes a result: an image (clamped) or a {1, 3, H, W} tensor. */
static void push_frame(lua_State *L, const frames *f, const float *chw) {
  size_t n = (size_t)f->w * (size_t)f->h;
  if (!f->images) {
    int64_t shape[4] = {1, 3, f->h, f->w};
    fk_lua_tensor *t = fk_lua_tensor_new(L, 4, shape);
    memcpy(t->v, chw, 3 * n * sizeof *chw);
    return;
  }
  fk_image img = {0};
  fk_err e = {0};
  if (fk_image_new(&img, f->w, f->h, &e)) fk_lua_raise(L, &e);
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < 3; c++) {
      float v = chw[c * n + i];
      img.px[3 * i + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  fk_lua_image_push(L, &img);
}

/*** @type interp
 * A loaded frame interpolator (funky.interp.load). Freed when collected, or at once by
 * interp:close() or `<close>`; a closed one raises "the interpolator was closed".
 * @metatable funky.interp
 */
/*** interp:between(a, b [, t] [, opts])
 * The frame at time t between a and b. Images in give an image out, clamped to 0..1; {1, 3, H,
 * W} tensors in 0..1 give the network's raw output tensor, unclamped (what parity checks use).
 * @param a image|tensor the frame at t = 0
 * @param b image|tensor the frame at t = 1, of the same kind and size as a
 * @param t? number time between the frames, 0..1; default 0.5
 * @param opts? table options
 * @field pad? integer|false 64 (default): pad the frames to a multiple of 64 with zeros and crop
 *   back, as the original FILM evaluation does; false: feed them as they are (as the PyTorch port
 *   and ComfyUI do; at least 64x64 pixels); another integer 1..1024: pad to its multiple
 * @return image|tensor the in-between frame
 * @error bad argument #4 "t must be in [0, 1]"; frames of different sizes or kinds are refused
 */
/* interp:between(a, b [, t = 0.5] [, {pad = 64|false}]) */
static int interp_between(lua_State *L) {
  fk_lua_interp *s = check_interp(L, 1);
  int opt = 5;
  double t = 0.5;
  if (lua_istable(L, 4) && lua_isnoneornil(L, 5))
    opt = 4;
  else if (!lua_isnoneornil(L, 4))
    t = luaL_checknumber(L, 4);
  if (!(t >= 0 && t <= 1)) luaL_argerror(L, 4, "t must be in [0, 1]");
  int pad = pad_option(L, opt);
  frames f;
  frames_arg(L, &f);
  size_t n = (size_t)3 * (size_t)f.w * (size_t)f.h;
  float *out = fk_alloc(n, sizeof *out);
  fk_err e = {0};
  int rc = out ? fk_interp_between(&s->net, f.x0, f.x1, f.h, f.w, (float)t, pad, out, &e)
               : fk_err_oom(&e, "the in-between frame", n * sizeof *out);
  frames_free(&f);
  if (rc) {
    free(out);
    return fk_lua_raise(L, &e);
  }
  push_frame(L, &f, out);
  free(out);
  return 1;
}

/*** interp:midpoints(a, b, n [, opts])
 * The n = 2^k - 1 frames evenly spaced between a and b, in order, made by recursive midpoints
 * (how the original FILM makes more than one in-between).
 * @param a image|tensor the first frame
 * @param b image|tensor the last frame, of the same kind and size as a
 * @param n integer 1, 3, 7, 15, 31, 63, 127 or 255
 * @param opts? table as interp:between
 * @field pad? integer|false as interp:between; default 64
 * @return table n frames (images or tensors, as interp:between)
 * @error bad argument #4 "n must be 1, 3, 7, 15, 31, 63, 127 or 255 (2^k - 1)"
 */
/* interp:midpoints(a, b, n [, {pad = 64|false}]): the n = 2^k - 1 frames
 * evenly spaced between a and b, by recursive midpoints, in order. */
static int interp_midpoints(lua_State *L) {
  fk_lua_interp *s = check_interp(L, 1);
  int64_t count = fk_lua_check_int(L, 4), depth = 0;
  while (depth < 8 && ((int64_t)1 << depth) - 1 < count) depth++;
  if (count < 1 || ((int64_t)1 << depth) - 1 != count)
    luaL_argerror(L, 4, "n must be 1, 3, 7, 15, 31, 63, 127 or 255 (2^k - 1)");
  int pad = pad_option(L, 5);
  frames f;
  frames_arg(L, &f);
  size_t n = (size_t)3 * (size_t)f.w * (size_t)f.h;
  /* the frames are owned by a collectable userdata, so an error raised
   * while pushing them (out of memory) leaks nothing */
  scratch *sc = lua_newuserdata(L, sizeof *sc);
  memset(sc, 0, sizeof *sc);
  luaL_setmetatable(L, FK_LUA_INTERP_SCRATCH);
  fk_err e = {0};
  int rc = (sc->outs = fk_zalloc((size_t)count, sizeof *sc->outs))
               ? FK_OK
               : fk_err_oom(&e, "in-between frames", (size_t)count * sizeof *sc->outs);
  sc->count = rc ? 0 : count;
  for (int64_t i = 0; !rc && i < count; i++)
    if (!(sc->outs[i] = fk_alloc(n, sizeof **sc->outs)))
      rc = fk_err_oom(&e, "an in-between frame", n * sizeof **sc->outs);
  if (!rc) rc = fk_interp_midpoints(&s->net, f.x0, f.x1, f.h, f.w, (int)depth, pad, sc->outs, &e);
  frames_free(&f);
  if (rc) return fk_lua_raise(L, &e);
  lua_createtable(L, (int)count, 0);
  for (int64_t i = 0; i < count; i++) {
    push_frame(L, &f, sc->outs[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  scratch_free(sc);
  return 1;
}

/*** interp:device()
 * Where the network runs.
 * @return table name (the device), storage ("f16" or "f32"), model ("film" or "rife") and
 *   validation_messages (Vulkan validation messages seen; tests require 0)
 */
static int interp_device(lua_State *L) {
  fk_lua_interp *s = check_interp(L, 1);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, fk_interp_model(&s->net));
  lua_setfield(L, -2, "model");
  lua_pushstring(L, fk_nn_name(s->nn));
  lua_setfield(L, -2, "name");
  lua_pushstring(L, fk_interp_dtype(&s->net) == FK_NN_F16 ? "f16" : "f32");
  lua_setfield(L, -2, "storage");
  lua_pushinteger(L, (lua_Integer)fk_nn_validation_messages(s->nn));
  lua_setfield(L, -2, "validation_messages");
  return 1;
}

/*** interp:close()
 * Frees the weights and the device now instead of at collection.
 */
static int interp_close(lua_State *L) {
  close_interp(luaL_checkudata(L, 1, FK_LUA_INTERP));
  return 0;
}

static int interp_tostring(lua_State *L) {
  fk_lua_interp *s = luaL_checkudata(L, 1, FK_LUA_INTERP);
  if (!s->open)
    lua_pushliteral(L, "interpolator (closed)");
  else
    lua_pushfstring(L, "interpolator %s (%s)", fk_interp_model(&s->net), fk_nn_name(s->nn));
  return 1;
}

int fk_lua_open_interp(lua_State *L) {
  static const luaL_Reg methods[] = {{"between", interp_between},
                                     {"midpoints", interp_midpoints},
                                     {"device", interp_device},
                                     {"close", interp_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__gc", interp_gc}, {"__close", interp_gc}, {"__tostring", interp_tostring}, {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_INTERP, methods, meta);
  static const luaL_Reg scratch_meta[] = {{"__gc", scratch_gc}, {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_INTERP_SCRATCH, NULL, scratch_meta);
  lua_newtable(L);
  lua_pushcfunction(L, interp_load);
  lua_setfield(L, -2, "load");
  return 1;
}
