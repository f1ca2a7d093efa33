/* funky.noise.field{ size = {w, h}, amps = spectrum_or_table, colour = "rainbow",
 *   seed = 7, points_per_bin = 1, radius = 0, normalise = "frame" | "global" |
 *   "none" | {db_min, db_max}, background = {r, g, b} } -> image */
#include <string.h>

#include "image/noise.h"
#include "lua/fk_lua.h"

/* Reads `normalise` of the option table at t into cfg. */
void fk_lua_norm_field(lua_State *L, int t, int arg, fk_noise_cfg *cfg, double peak) {
  lua_getfield(L, t, "normalise");
  int ty = lua_type(L, -1);
  cfg->norm = FK_NORM_FRAME;
  if (ty == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
      fk_lua_field_error(L, arg, "normalise", "as a table must be {db_min, db_max}");
    cfg->db_min = lua_tonumber(L, -2);
    cfg->db_max = lua_tonumber(L, -1);
    if (!(cfg->db_max > cfg->db_min))
      fk_lua_field_error(L, arg, "normalise", "needs db_min < db_max");
    cfg->norm = FK_NORM_DB;
    lua_pop(L, 2);
  } else if (ty == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "frame"))
      cfg->norm = FK_NORM_FRAME;
    else if (!strcmp(s, "global"))
      cfg->norm = FK_NORM_GLOBAL;
    else if (!strcmp(s, "none"))
      cfg->norm = FK_NORM_NONE;
    else
      fk_lua_field_error(L, arg, "normalise",
                         "must be \"frame\", \"global\", \"none\" or {db_min, db_max}");
  } else if (ty != LUA_TNIL) {
    fk_lua_field_error(L, arg, "normalise",
                       "must be \"frame\", \"global\", \"none\" or {db_min, db_max}");
  }
  lua_pop(L, 1);
  if (cfg->norm == FK_NORM_GLOBAL && !(peak > 0))
    fk_lua_field_error(
        L, arg, "normalise",
        "\"global\" needs amps taken from a song's spectrum (it carries the song's peak)");
  cfg->peak = peak;
}

/* Reads `amps` (required) of the option table at t; pushes a value. */
fk_lua_floats *fk_lua_amps_field(lua_State *L, int t, int arg, const char *name) {
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1))
    fk_lua_field_error(L, arg, name, "is required (a spectrum:take(bins) or a table)");
  int pushed;
  fk_lua_floats *f = fk_lua_floats_arg(L, lua_gettop(L), name, &pushed);
  if (pushed) lua_remove(L, -2);
  return f;
}

/* Each Lua state keeps the points of the last field it drew (a render
 * draws every frame with the same positions). */
static int cache_gc(lua_State *L) {
  fk_noise_cache_free(lua_touserdata(L, 1));
  return 0;
}

static fk_noise_cache *cache_of(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "funky.noise.cache");
  fk_noise_cache *c = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (c) return c;
  c = lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, cache_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "funky.noise.cache");
  return c;
}

static int draw_field(void *cfg, fk_image *img, fk_err *e) {
  return fk_noise_field(cfg, img, e);
}

/*** funky.noise.field(opts)
 * A noise field: for each bin b, points_per_bin points at positions from a 64-bit hash of
 * (seed, b, k) (low 32 bits the column, high 32 the row), each a disc of `radius` pixels in the
 * bin's colour times its lightness; where points overlap each channel keeps the brighter value.
 * The same seed gives the same field on every machine.
 * @param opts table the field
 * @field size integer[] {width, height} in pixels, 1..8192 each (required)
 * @field amps floats|number[] one magnitude per bin, usually spectrum:take(bins) (required)
 * @field colour? string|fun(bin:integer,count:integer):number,number,number a scheme name
 *   ("rainbow", "fire", "ice", "mono") or a function of the bin (from 1) and the bin count
 *   returning r, g, b in 0..1; default "rainbow"
 * @field seed? integer position seed; default 7
 * @field points_per_bin? integer points per bin, 1..1048576; default 1
 * @field radius? number disc radius in pixels, 0..256 (0: one pixel); default 0
 * @field normalise? string|number[] lightness from magnitude: "frame" (a / the frame's largest,
 *   the default), "global" (a / the song's largest, amps.peak; needs amps from a song's
 *   spectrum), "none" (a clamped to 0..1) or {db_min, db_max}: 20 log10(a / the frame's
 *   largest) in dB mapped from db_min..db_max to 0..1
 * @field background? number[] {r, g, b} behind the points, 0..1; default black
 * @return image the field
 * @error bad argument #1 field 'size', 'amps' ("is required ..."), 'points_per_bin' ("must be in
 *   1..1048576"), 'radius' ("must be in [0, 256] pixels"), 'normalise' ("must be \"frame\",
 *   \"global\", \"none\" or {db_min, db_max}", "needs db_min < db_max", "\"global\" needs amps
 *   taken from a song's spectrum"), 'colour' or 'background' naming what is wrong
 * @error an error raised in the colour function, or "colour function must return r, g, b
 *   numbers (bin B)"
 */
static int noise_field(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  fk_noise_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  fk_lua_size_field(L, 1, 1, &cfg.w, &cfg.h);
  fk_lua_floats *amps = fk_lua_amps_field(L, 1, 1, "amps");
  cfg.amps = amps->v;
  cfg.n = amps->n;
  int64_t seed = fk_lua_int_field(L, 1, 1, "seed", 7);
  int64_t ppb = fk_lua_int_field(L, 1, 1, "points_per_bin", 1);
  if (ppb < 1 || ppb > (1 << 20))
    fk_lua_field_error(L, 1, "points_per_bin", "must be in 1..1048576");
  double radius = fk_lua_num_field(L, 1, 1, "radius", 0);
  if (!(radius >= 0 && radius <= 256))
    fk_lua_field_error(L, 1, "radius", "must be in [0, 256] pixels");
  cfg.seed = (uint64_t)seed;
  cfg.points_per_bin = (int)ppb;
  cfg.radius = radius;
  fk_lua_norm_field(L, 1, 1, &cfg, amps->peak);
  fk_lua_rgb_field(L, 1, 1, "background", cfg.background);
  cfg.cache = cache_of(L);
  return fk_lua_draw_coloured(L, 1, &cfg.colour, &cfg.colour_ctx, draw_field, &cfg);
}

/*** @module funky.noise
 * Noise fields: scattered coloured points whose brightness follows a spectrum, the seed
 * recipe's init image.
 */
int fk_lua_open_noise(lua_State *L) {
  static const luaL_Reg fns[] = {{"field", noise_field}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
