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
/*** funky.image.new(width, height [, colour])
 * A new image filled with one colour (black unless given).
 * @param width integer pixels, 1..8192
 * @param height integer pixels, 1..8192
 * @param colour? number[] {r, g, b}, each nominally 0..1; default {0, 0, 0}
 * @overload fun(opts: {size: integer[], colour?: number[]}): image
 * @return image the new image
 * @error bad argument: "width must be in 1..8192", "height must be in 1..8192", "must be an
 *   integer", field 'colour' "must be {r, g, b}"
 * @error table form: field 'size' "must be {width, height} in whole pixels" or "... is outside
 *   1..8192 pixels per side"
 * @error out of memory for the pixels (an engine error)
 */
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

/*** funky.image.load(path)
 * Reads an image file (PNG, JPEG, BMP or TGA) as float RGB in 0..1; grey and
 * alpha channels become RGB (alpha is dropped), 8-bit values v become v / 255.
 * @param path string file path, relative to the working folder
 * @return image the decoded image
 * @error "cannot read image 'PATH': REASON; use PNG, JPEG, BMP or TGA"; an image over 8192
 *   pixels per side is "outside 1..8192 pixels per side"
 * @error sandboxed recipe: "sandbox: a recipe may read only under its own folder and the folders
 *   given with --allow, not 'PATH'"
 */
static int image_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  fk_lua_check_path(L, path, 0);
  fk_image img;
  fk_err e = {0};
  if (fk_image_load(path, &img, &e)) return fk_lua_raise(L, &e);
  return push_new(L, &img);
}

/* img:blur(sigma) -> a new, blurred image (sigma in pixels; 0 copies). */
/*** image:blur(sigma)
 * A new, blurred image (the original is unchanged): a separable Gaussian, kernel truncated at
 * radius floor(4 sigma + 0.5), edges repeated; scipy.ndimage.gaussian_filter(img, (sigma, sigma,
 * 0), mode='nearest') to within 1e-6. PIL's GaussianBlur radius is this sigma.
 * @param sigma number standard deviation in pixels, 0..1000 (0 returns a copy)
 * @return image the blurred copy
 * @error bad argument #1 "sigma must be in [0, 1000] pixels"
 * @error "image is closed" (as for every image method)
 */
static int m_blur(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  double sigma = luaL_checknumber(L, 2);
  if (!(sigma >= 0) || sigma > 1000) luaL_argerror(L, 2, "sigma must be in [0, 1000] pixels");
  fk_image out;
  fk_err e = {0};
  if (fk_image_blur(img, &out, sigma, &e)) return fk_lua_raise(L, &e);
  return push_new(L, &out);
}

/*** image:desaturate([amount])
 * Moves each pixel towards its ITU-R 601 luma (0.299 r + 0.587 g + 0.114 b), in place.
 * @param amount? number 0..1: 0 leaves the colours, 1 (the default) makes the image grey
 * @return image the same image, for chaining
 * @error bad argument #1 "amount must be in [0, 1]"
 */
static int m_desaturate(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  double amount = luaL_optnumber(L, 2, 1.0);
  if (!(amount >= 0 && amount <= 1)) luaL_argerror(L, 2, "amount must be in [0, 1]");
  fk_image_desaturate(img, amount);
  lua_settop(L, 1);
  return 1;
}

/*** image:autocontrast([cutoff])
 * Stretches each channel to 0..1 in place, after ignoring `cutoff` of the pixels at each end
 * of the channel's histogram (as PIL's ImageOps.autocontrast).
 * @param cutoff? number fraction of the pixels ignored at each end, 0 <= cutoff < 0.5;
 *   default 0
 * @return image the same image, for chaining
 * @error bad argument #1 "cutoff must be in [0, 0.5)"
 */
static int m_autocontrast(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  double cutoff = luaL_optnumber(L, 2, 0.0);
  if (!(cutoff >= 0 && cutoff < 0.5)) luaL_argerror(L, 2, "cutoff must be in [0, 0.5)");
  fk_image_autocontrast(img, cutoff);
  lua_settop(L, 1);
  return 1;
}

/*** image:clamp()
 * Clamps every value to 0..1, in place.
 * @return image the same image, for chaining
 */
static int m_clamp(lua_State *L) {
  fk_image_clamp(fk_lua_image_check(L, 1));
  lua_settop(L, 1);
  return 1;
}

/*** image:copy()
 * A copy with its own pixels.
 * @return image the copy
 * @error out of memory for the pixels (an engine error)
 */
static int m_copy(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  fk_image out;
  fk_err e = {0};
  if (fk_image_copy(img, &out, &e)) return fk_lua_raise(L, &e);
  return push_new(L, &out);
}

/* img:tensor(): {1, 3, H, W} planar RGB, the values as they are ([0, 1]). */
/*** image:tensor()
 * The pixels as a planar RGB tensor, values as they are (nominally 0..1; sd:img2img's `init`
 * wants -1..1 tensors, so scale with 2x - 1 or pass the image itself).
 * @return tensor shape {1, 3, height, width}
 */
static int m_tensor(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  int64_t shape[4] = {1, 3, img->h, img->w};
  fk_lua_tensor *t = fk_lua_tensor_new(L, 4, shape);
  size_t n = (size_t)img->w * (size_t)img->h;
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < 3; c++) t->v[c * n + i] = img->px[3 * i + c];
  return 1;
}

/*** image:save(path)
 * Writes an 8-bit RGB PNG (values clamped to 0..1 and rounded), to a temporary name that is
 * then renamed, so a reader never sees half a file.
 * @param path string the PNG file to write; its folder must exist
 * @return boolean true
 * @error "cannot write ..." naming the path and the system's reason
 * @error sandboxed recipe: "sandbox: a recipe may write only under its output folder ..."
 */
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
/*** image:save_raw(path)
 * Writes the raw pixels, little-endian float32 in h x w x 3 order (for tests and tools),
 * atomically like image:save.
 * @param path string the file to write; its folder must exist
 * @return boolean true
 * @error "cannot write ..." naming the path and the system's reason
 * @error sandboxed recipe: "sandbox: a recipe may write only under its output folder ..."
 */
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

/*** image:get(x, y)
 * One pixel's colour.
 * @param x integer column in pixels, 0..w-1 (0 is the left edge)
 * @param y integer row in pixels, 0..h-1 (0 is the top row)
 * @return number red
 * @return number green
 * @return number blue
 * @error bad argument "x is outside the image (0 .. w-1)", "y is outside the image (0 .. h-1)",
 *   "must be an integer"
 */
static int m_get(lua_State *L) {
  float *p = pixel(L, fk_lua_image_check(L, 1));
  for (int i = 0; i < 3; i++) lua_pushnumber(L, p[i]);
  return 3;
}

/*** image:set(x, y, r, g, b)
 * Sets one pixel's colour, in place (values are stored as given; saving clamps them).
 * @param x integer column in pixels, 0..w-1
 * @param y integer row in pixels, 0..h-1
 * @param r number red, nominally 0..1
 * @param g number green, nominally 0..1
 * @param b number blue, nominally 0..1
 * @error bad argument "x is outside the image (0 .. w-1)", "y is outside the image (0 .. h-1)"
 */
static int m_set(lua_State *L) {
  float *p = pixel(L, fk_lua_image_check(L, 1));
  for (int i = 0; i < 3; i++) p[i] = (float)luaL_checknumber(L, 4 + i);
  return 0;
}

/*** image:size()
 * The image's size (also `img.w` and `img.h`).
 * @return integer width in pixels
 * @return integer height in pixels
 */
static int m_size(lua_State *L) {
  fk_image *img = fk_lua_image_check(L, 1);
  lua_pushinteger(L, img->w);
  lua_pushinteger(L, img->h);
  return 2;
}

/*** @type image
 * An RGB image: w x h pixels of three floats, nominally 0..1 (clamped when saved), pixel
 * coordinates from 0 with (0, 0) the top-left corner. Made by funky.image.new/load,
 * funky.noise.field, funky.draw.pie, image:blur/copy and sd:img2img. The pixels are freed when
 * the image is collected, or at once by `<close>` (`local img <close> = ...`); a closed image
 * raises "image is closed".
 * @metatable funky.image
 * @field w integer width in pixels
 * @field h integer height in pixels
 */
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

/*** @module funky.image
 * Images: make, load, filter and save float RGB images (see the `image` type for the methods).
 */
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
/*** funky.colour.by_bin(scheme)
 * Checks a colour scheme for the `colour =` option of funky.noise.field and funky.draw.pie and
 * returns it unchanged, so a bad name fails where it is written.
 * @param scheme string|fun(bin:integer,count:integer):number,number,number a scheme name
 *   (funky.colour.schemes: "rainbow", "fire", "ice", "mono") or a function of the bin (from 1)
 *   and the bin count returning r, g, b in 0..1 (clamped)
 * @return string|function the scheme
 * @error bad argument #1 field 'scheme' "must be a function or one of rainbow, fire, ice, mono"
 */
static int colour_by_bin(lua_State *L) {
  fk_lua_colour c;
  fk_colour_fn fn;
  fk_lua_colour_arg(L, 1, "scheme", 1, &c, &fn);
  lua_settop(L, 1);
  return 1;
}

/*** funky.colour.hsv(h [, s [, v]])
 * Converts a hue, saturation and value to RGB.
 * @param h number hue in turns: 0 red, 1/3 green, 2/3 blue (wraps around)
 * @param s? number saturation, 0..1; default 1
 * @param v? number value (brightness), 0..1; default 1
 * @return number red, 0..1
 * @return number green, 0..1
 * @return number blue, 0..1
 */
static int colour_hsv(lua_State *L) {
  float rgb[3];
  fk_colour_hsv(luaL_checknumber(L, 1), luaL_optnumber(L, 2, 1), luaL_optnumber(L, 3, 1), rgb);
  for (int i = 0; i < 3; i++) lua_pushnumber(L, rgb[i]);
  return 3;
}

/*** @module funky.colour
 * Colour schemes for drawing a spectrum: each bin gets a colour from a named scheme or from a
 * function (bin, count) -> r, g, b.
 * @field schemes string[] the scheme names: "rainbow", "fire", "ice", "mono"
 */
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
