/* funky.image (image handles) and funky.colour (colour schemes). Pixel
 * coordinates are from 0: x in [0, w), y in [0, h); values are floats,
 * nominally [0, 1], clamped when saved. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "lua/fk_lua.h"

typedef struct lua_image {
  fk_image img;
} lua_image;

fk_image *fk_lua_image_push(lua_State *L, fk_image *img) {
  lua_image *u = lua_newuserdata(L, sizeof *u);
  u->img = *img;
  img->px = NULL;
  luaL_setmetatable(L, FK_LUA_IMAGE);
  return &u->img;
}

fk_image *fk_lua_image_check(lua_State *L, int idx) {
  lua_image *u = luaL_checkudata(L, idx, FK_LUA_IMAGE);
  if (!u->img.px) luaL_argerror(L, idx, "image is closed");
  return &u->img;
}

static int push_new(lua_State *L, fk_image *img) {
  fk_lua_image_push(L, img);
  return 1;
}

static void rgb_table(lua_State *L, int idx, const char *name, int arg, float rgb[3]) {
  if (!lua_istable(L, idx)) fk_lua_field_error(L, arg, name, "must be {r, g, b}");
  for (int i = 0; i < 3; i++) {
    lua_rawgeti(L, idx, i + 1);
    if (lua_type(L, -1) != LUA_TNUMBER) fk_lua_field_error(L, arg, name, "must be {r, g, b}");
    rgb[i] = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
}

void fk_lua_rgb_field(lua_State *L, int t, int arg, const char *name, float rgb[3]) {
  lua_getfield(L, t, name);
  if (!lua_isnil(L, -1)) rgb_table(L, lua_gettop(L), name, arg, rgb);
  lua_pop(L, 1);
}

/* Reads `size = {w, h}` of the option table at t, checked against the limits. */
void fk_lua_size_field(lua_State *L, int t, int arg, int *w, int *h) {
  lua_getfield(L, t, "size");
  if (!lua_istable(L, -1)) fk_lua_field_error(L, arg, "size", "must be {width, height}");
  lua_rawgeti(L, -1, 1);
  lua_rawgeti(L, -2, 2);
  double fw = lua_tonumber(L, -2), fh = lua_tonumber(L, -1);
  if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1) || fw != (int)fw || fh != (int)fh)
    fk_lua_field_error(L, arg, "size", "must be {width, height} in whole pixels");
  lua_pop(L, 3);
  if (fw < 1 || fh < 1 || fw > FK_IMAGE_MAX_SIDE || fh > FK_IMAGE_MAX_SIDE) {
    char msg[128];
    snprintf(msg, sizeof msg, "%gx%g is outside 1..%d pixels per side", fw, fh, FK_IMAGE_MAX_SIDE);
    fk_lua_field_error(L, arg, "size", msg);
  }
  *w = (int)fw;
  *h = (int)fh;
}

/* funky.image.new(w, h [, {r, g, b}]) or funky.image.new{ size = {w, h}, colour = {r, g, b} } */
static int image_new(lua_State *L) {
  int w, h;
  float rgb[3] = {0, 0, 0};
  if (lua_istable(L, 1)) {
    fk_lua_size_field(L, 1, 1, &w, &h);
    fk_lua_rgb_field(L, 1, 1, "colour", rgb);
  } else {
    int64_t iw = fk_lua_check_int(L, 1), ih = fk_lua_check_int(L, 2);
    if (iw < 1 || iw > FK_IMAGE_MAX_SIDE) luaL_argerror(L, 1, "width must be in 1..8192");
    if (ih < 1 || ih > FK_IMAGE_MAX_SIDE) luaL_argerror(L, 2, "height must be in 1..8192");
    w = (int)iw;
    h = (int)ih;
    if (!lua_isnoneornil(L, 3)) rgb_table(L, 3, "colour", 3, rgb);
  }
  fk_image img;
  fk_err e = {0};
  if (fk_image_new(&img, w, h, &e)) return fk_lua_raise(L, &e);
  fk_image_fill(&img, rgb[0], rgb[1], rgb[2]);
  return push_new(L, &img);
}

static int image_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  fk_lua_check_path(L, path, 0);
  fk_image img;
  fk_err e = {0};
  if (fk_image_load(path, &img, &e)) return fk_lua_raise(L, &e);
  return push_new(L, &img);
}

/* img:blur(sigma) -> a new, blurred image (sigma in pixels; 0 copies). */
static int m_blur(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  double sigma = luaL_checknumber(L, 2);
  if (!(sigma >= 0) || sigma > 1000) luaL_argerror(L, 2, "sigma must be in [0, 1000] pixels");
  fk_image out;
  fk_err e = {0};
  if (fk_image_blur(img, &out, sigma, &e)) return fk_lua_raise(L, &e);
  return push_new(L, &out);
}

static int m_desaturate(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  double amount = luaL_optnumber(L, 2, 1.0);
  if (!(amount >= 0 && amount <= 1)) luaL_argerror(L, 2, "amount must be in [0, 1]");
  fk_image_desaturate(img, amount);
  lua_settop(L, 1);
  return 1;
}

static int m_autocontrast(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  double cutoff = luaL_optnumber(L, 2, 0.0);
  if (!(cutoff >= 0 && cutoff < 0.5)) luaL_argerror(L, 2, "cutoff must be in [0, 0.5)");
  fk_image_autocontrast(img, cutoff);
  lua_settop(L, 1);
  return 1;
}

static int m_clamp(lua_State *L) {
  fk_image_clamp(fk_lua_image_check(L, 1));
  lua_settop(L, 1);
  return 1;
}

static int m_copy(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  fk_image out;
  fk_err e = {0};
  if (fk_image_copy(img, &out, &e)) return fk_lua_raise(L, &e);
  return push_new(L, &out);
}

/* img:tensor(): {1, 3, H, W} planar RGB, the values as they are ([0, 1]). */
static int m_tensor(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  int64_t shape[4] = {1, 3, img->h, img->w};
  fk_lua_tensor *t = fk_lua_tensor_new(L, 4, shape);
  size_t n = (size_t)img->w * (size_t)img->h;
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < 3; c++) t->v[c * n + i] = img->px[3 * i + c];
  return 1;
}

static int m_save(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  const char *path = luaL_checkstring(L, 2);
  fk_lua_check_path(L, path, 1);
  fk_err e = {0};
  if (fk_image_save_png(img, path, &e)) return fk_lua_raise(L, &e);
  lua_pushboolean(L, 1);
  return 1;
}

/* img:save_raw(path): little-endian float32 pixels, w*h*3, for tests and tools. */
static int m_save_raw(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  const char *path = luaL_checkstring(L, 2);
  fk_lua_check_path(L, path, 1);
  fk_err e = {0};
  if (fk_file_write_atomic(path, img->px, (size_t)img->w * (size_t)img->h * 3 * sizeof(float), &e))
    return fk_lua_raise(L, &e);
  lua_pushboolean(L, 1);
  return 1;
}

static float *pixel(lua_State *L, fk_image *img) {
  int64_t x = fk_lua_check_int(L, 2), y = fk_lua_check_int(L, 3);
  if (x < 0 || x >= img->w) luaL_argerror(L, 2, "x is outside the image (0 .. w-1)");
  if (y < 0 || y >= img->h) luaL_argerror(L, 3, "y is outside the image (0 .. h-1)");
  return img->px + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
}

static int m_get(lua_State *L) {
  float *p = pixel(L, fk_lua_image_check(L, 1));
  for (int i = 0; i < 3; i++) lua_pushnumber(L, p[i]);
  return 3;
}

static int m_set(lua_State *L) {
  float *p = pixel(L, fk_lua_image_check(L, 1));
  for (int i = 0; i < 3; i++) p[i] = (float)luaL_checknumber(L, 4 + i);
  return 0;
}

static int m_size(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  lua_pushinteger(L, img->w);
  lua_pushinteger(L, img->h);
  return 2;
}

static int image_index(lua_State *L) {
  lua_image *u = luaL_checkudata(L, 1, FK_LUA_IMAGE);
  const char *k = luaL_checkstring(L, 2);
  if (u->img.px && (!strcmp(k, "w") || !strcmp(k, "h"))) {
    lua_pushinteger(L, k[0] == 'w' ? u->img.w : u->img.h);
    return 1;
  }
  luaL_getmetafield(L, 1, "methods");
  lua_getfield(L, -1, k);
  return 1;
}

static int image_gc(lua_State *L) {
  lua_image *u = luaL_checkudata(L, 1, FK_LUA_IMAGE);
  fk_image_free(&u->img);
  return 0;
}

static int image_tostring(lua_State *L) {
  lua_image *u = luaL_checkudata(L, 1, FK_LUA_IMAGE);
  if (u->img.px)
    lua_pushfstring(L, "image %dx%d", u->img.w, u->img.h);
  else
    lua_pushliteral(L, "image (closed)");
  return 1;
}

int fk_lua_open_image(lua_State *L) {
  static const luaL_Reg methods[] = {{"blur", m_blur},
                                     {"desaturate", m_desaturate},
                                     {"autocontrast", m_autocontrast},
                                     {"clamp", m_clamp},
                                     {"copy", m_copy},
                                     {"save", m_save},
                                     {"save_raw", m_save_raw},
                                     {"get", m_get},
                                     {"set", m_set},
                                     {"size", m_size},
                                     {"tensor", m_tensor},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__index", image_index},
                                  {"__gc", image_gc},
                                  {"__close", image_gc},
                                  {"__tostring", image_tostring},
                                  {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_IMAGE, methods, meta);
  static const luaL_Reg fns[] = {{"new", image_new}, {"load", image_load}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}

/* ---- colour schemes ---------------------------------------------------- */

static int call_lua_colour(void *ctx, size_t bin, size_t count, float rgb[3]) {
  fk_lua_colour *c = ctx;
  lua_State *L = c->L;
  lua_pushvalue(L, c->fn_index);
  lua_pushinteger(L, (lua_Integer)bin + 1);
  lua_pushinteger(L, (lua_Integer)count);
  if (lua_pcall(L, 2, 3, 0) != 0) {
    c->failed = luaL_ref(L, LUA_REGISTRYINDEX); /* the error, re-raised by finish */
    return 1;
  }
  for (int i = 0; i < 3; i++) {
    if (lua_type(L, i - 3) != LUA_TNUMBER) {
      lua_pop(L, 3);
      lua_pushfstring(L, "colour function must return r, g, b numbers (bin %d)", (int)bin + 1);
      c->failed = luaL_ref(L, LUA_REGISTRYINDEX);
      return 1;
    }
    double v = lua_tonumber(L, i - 3);
    rgb[i] = (float)(v > 0 ? (v < 1 ? v : 1) : 0);
  }
  lua_pop(L, 3);
  return 0;
}

void fk_lua_colour_arg(lua_State *L, int idx, const char *field, int arg, fk_lua_colour *c,
                       fk_colour_fn *fn) {
  c->L = L;
  c->fn_index = 0;
  c->failed = LUA_NOREF;
  c->scheme = FK_SCHEME_RAINBOW;
  if (lua_isnoneornil(L, idx)) {
    *fn = fk_colour_named;
    return;
  }
  if (lua_type(L, idx) == LUA_TSTRING) {
    c->scheme = fk_colour_scheme_find(lua_tostring(L, idx));
    if (c->scheme < 0) {
      char msg[160];
      snprintf(msg, sizeof msg, "must be a function or one of %s", fk_colour_scheme_names());
      fk_lua_field_error(L, arg, field, msg);
    }
    *fn = fk_colour_named;
    return;
  }
  if (!lua_isfunction(L, idx))
    fk_lua_field_error(L, arg, field,
                       "must be a scheme name or a function (bin, count) -> r, g, b");
  c->fn_index = lua_absindex(L, idx);
  *fn = call_lua_colour;
}

void fk_lua_colour_finish(lua_State *L, fk_lua_colour *c) {
  if (c->failed == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->failed);
  luaL_unref(L, LUA_REGISTRYINDEX, c->failed);
  c->failed = LUA_NOREF;
  lua_error(L);
}

/* The context pointer a drawing call passes to the colour function. */
void *fk_lua_colour_ctx(fk_lua_colour *c) {
  return c->fn_index ? (void *)c : (void *)&c->scheme;
}

int fk_lua_draw_coloured(lua_State *L, int t, fk_colour_fn *fn, void **ctx,
                         int (*draw)(void *cfg, fk_image *img, fk_err *e), void *cfg) {
  lua_getfield(L, t, "colour");
  fk_lua_colour colour;
  fk_lua_colour_arg(L, lua_gettop(L), "colour", t, &colour, fn);
  *ctx = fk_lua_colour_ctx(&colour);
  fk_image img;
  fk_err e = {0};
  int rc = draw(cfg, &img, &e);
  fk_lua_colour_finish(L, &colour);
  if (rc) return fk_lua_raise(L, &e);
  fk_lua_image_push(L, &img);
  return 1;
}

/* funky.colour.by_bin(name_or_function) -> the scheme, checked. */
static int colour_by_bin(lua_State *L) {
  fk_lua_colour c;
  fk_colour_fn fn;
  fk_lua_colour_arg(L, 1, "scheme", 1, &c, &fn);
  lua_settop(L, 1);
  return 1;
}

static int colour_hsv(lua_State *L) {
  float rgb[3];
  fk_colour_hsv(luaL_checknumber(L, 1), luaL_optnumber(L, 2, 1), luaL_optnumber(L, 3, 1), rgb);
  for (int i = 0; i < 3; i++) lua_pushnumber(L, rgb[i]);
  return 3;
}

int fk_lua_open_colour(lua_State *L) {
  static const luaL_Reg fns[] = {{"by_bin", colour_by_bin}, {"hsv", colour_hsv}, {NULL, NULL}};
  luaL_newlib(L, fns);
  static const char *names[] = {"rainbow", "fire", "ice", "mono"};
  lua_createtable(L, 4, 0);
  for (int i = 0; i < 4; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "schemes");
  return 1;
}
