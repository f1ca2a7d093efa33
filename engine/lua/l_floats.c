/* Float arrays: spectra and amplitude lists as one userdata block, indexed
 * from 1 like Lua arrays (spectrum[1] is FFT bin 0, the DC term). */
#include <math.h>
#include <string.h>

#include "lua/fk_lua.h"

fk_lua_floats *fk_lua_floats_new(lua_State *L, size_t n, double peak) {
  if (n > ((size_t)1 << 28)) luaL_error(L, "float array of %zu values is too large", n);
  fk_lua_floats *f = lua_newuserdata(L, sizeof *f + n * sizeof(float));
  f->n = n;
  f->peak = peak;
  f->n_window = 0;
  f->rate = 0;
  luaL_setmetatable(L, FK_LUA_FLOATS);
  return f;
}

fk_lua_floats *fk_lua_floats_check(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, FK_LUA_FLOATS);
}

fk_lua_floats *fk_lua_floats_arg(lua_State *L, int idx, const char *what, int *pushed) {
  *pushed = 0;
  fk_lua_floats *f = luaL_testudata(L, idx, FK_LUA_FLOATS);
  if (f) return f;
  if (lua_type(L, idx) != LUA_TTABLE) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s must be a float array (spectrum) or a table of numbers", what);
    luaL_argerror(L, idx, msg);
  }
  idx = lua_absindex(L, idx);
  size_t n = fk_lua_rawlen(L, idx);
  f = fk_lua_floats_new(L, n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TNUMBER) {
      char msg[256];
      snprintf(msg, sizeof msg, "%s[%zu] must be a number", what, i + 1);
      luaL_argerror(L, idx, msg);
    }
    f->v[i] = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  *pushed = 1;
  return f;
}

/*** @type floats
 * A float array (a spectrum or a list of amplitudes), indexed from 1 like a Lua array:
 * `#a`, `a[i]` (nil outside 1..#a), `a[i] = x` (i in 1..#a, else "index out of range").
 * In a spectrum `a[1]` is FFT bin 0, the DC term. Made by song:frames (spectra),
 * floats:take/map and funky.floats.
 * @metatable funky.floats
 * @field [integer] number the value at index 1..#a (nil outside)
 * @field peak number the song's largest magnitude (spectra and what is taken from them; 0 when
 *   unknown), for normalise = "global"
 * @field hz number? width of one FFT bin in Hz (rate / n_window), spectra only, else nil
 */
static int fl_index(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    double i = lua_tonumber(L, 2);
    if (i >= 1 && i <= (double)f->n && i == floor(i))
      lua_pushnumber(L, f->v[(size_t)i - 1]);
    else
      lua_pushnil(L);
    return 1;
  }
  const char *k = luaL_checkstring(L, 2);
  if (!strcmp(k, "peak")) {
    lua_pushnumber(L, f->peak);
  } else if (!strcmp(k, "hz")) { /* width of one bin in Hz */
    if (f->n_window)
      lua_pushnumber(L, (double)f->rate / (double)f->n_window);
    else
      lua_pushnil(L);
  } else {
    luaL_getmetafield(L, 1, "methods");
    lua_getfield(L, -1, k);
  }
  return 1;
}

static int fl_newindex(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  int64_t i = fk_lua_check_int(L, 2);
  if (i < 1 || (uint64_t)i > f->n) luaL_argerror(L, 2, "index out of range");
  f->v[i - 1] = (float)luaL_checknumber(L, 3);
  return 0;
}

static int fl_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)fk_lua_floats_check(L, 1)->n);
  return 1;
}

static int fl_tostring(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  lua_pushfstring(L, "floats[%d]", (int)f->n);
  return 1;
}

/* spectrum:take(bins): the magnitudes at the given bins; for band mappings
 * the mean magnitude over each band's bins. */
/*** floats:take(bins)
 * The magnitudes at the given FFT bins: one value per bin of the mapping, or per band of a
 * funky.bins.bands mapping (the mean over the band's bins). Mappings in Hz or with a default
 * top bin are resolved against the spectrum's FFT length and rate.
 * @param bins bins|integer[] a funky.bins mapping, or a table of FFT bin numbers (0 = DC)
 * @return floats the values, carrying the spectrum's `peak`
 * @error "bin B is outside the spectrum (bins 0..N); check the mapping"
 * @error "this mapping is in Hz but the values are not a spectrum"
 * @error bad argument "bins must be a funky.bins mapping or a table of bin numbers",
 *   "bins[i] must be an integer bin number"
 */
static int fl_take(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  size_t n_window = f->n_window ? f->n_window : (f->n ? 2 * (f->n - 1) : 0);
  const int64_t *bins;
  size_t n;
  int bands, pushed;
  fk_lua_bins_resolve(L, 2, n_window, f->rate, &bins, &n, &bands, &pushed);
  fk_lua_floats *out = fk_lua_floats_new(L, n, f->peak);
  out->n_window = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t lo = bands ? bins[2 * i] : bins[i], hi = bands ? bins[2 * i + 1] : bins[i];
    if (lo < 0 || hi >= (int64_t)f->n || hi < lo)
      return luaL_error(L, "bin %d is outside the spectrum (bins 0..%d); check the mapping",
                        (int)(lo < 0 || hi < lo ? lo : hi), (int)f->n - 1);
    double acc = 0;
    for (int64_t b = lo; b <= hi; b++) acc += f->v[b];
    out->v[i] = (float)(acc / (double)(hi - lo + 1));
  }
  return 1;
}

/*** floats:max()
 * The largest value.
 * @return number the maximum (0 for an empty array)
 */
static int fl_max(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  float m = f->n ? f->v[0] : 0.0f;
  for (size_t i = 1; i < f->n; i++)
    if (f->v[i] > m) m = f->v[i];
  lua_pushnumber(L, m);
  return 1;
}

static double fl_total(const fk_lua_floats *f) {
  double s = 0;
  for (size_t i = 0; i < f->n; i++) s += f->v[i];
  return s;
}

/*** floats:sum()
 * The sum of the values.
 * @return number the sum (0 for an empty array)
 */
static int fl_sum(lua_State *L) {
  lua_pushnumber(L, fl_total(fk_lua_floats_check(L, 1)));
  return 1;
}

/*** floats:mean()
 * The arithmetic mean of the values.
 * @return number the mean (0 for an empty array)
 */
static int fl_mean(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  lua_pushnumber(L, f->n ? fl_total(f) / (double)f->n : 0.0);
  return 1;
}

/*** floats:table()
 * The values as a plain Lua table.
 * @return number[] a copy of the values, from index 1
 */
static int fl_table(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  lua_createtable(L, (int)f->n, 0);
  for (size_t i = 0; i < f->n; i++) {
    lua_pushnumber(L, f->v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* floats:map(fn) -> new array of fn(value, index) (fn returns a number). */
/*** floats:map(fn)
 * A new array of fn(value, i) for each element (i from 1), carrying this array's `peak`.
 * @param fn fun(value:number,i:integer):number called once per element, in order
 * @return floats the mapped values
 * @error "map function must return a number"; errors raised in fn propagate
 */
static int fl_map(lua_State *L) {
  fk_lua_floats *f = fk_lua_floats_check(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  fk_lua_floats *out = fk_lua_floats_new(L, f->n, f->peak);
  for (size_t i = 0; i < f->n; i++) {
    lua_pushvalue(L, 2);
    lua_pushnumber(L, f->v[i]);
    lua_pushinteger(L, (lua_Integer)i + 1);
    lua_call(L, 2, 1);
    if (lua_type(L, -1) != LUA_TNUMBER) return luaL_error(L, "map function must return a number");
    out->v[i] = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return 1;
}

void fk_lua_floats_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"take", fl_take}, {"max", fl_max},     {"sum", fl_sum},
                                     {"mean", fl_mean}, {"table", fl_table}, {"map", fl_map},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__index", fl_index},
                                  {"__newindex", fl_newindex},
                                  {"__len", fl_len},
                                  {"__tostring", fl_tostring},
                                  {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_FLOATS, methods, meta);
}

/* funky.floats(table_or_n): a float array for scripts and tests. */
/*** funky.floats(values)
 * Makes a float array: n zeros, or the numbers of a table (a float array is returned as is).
 * @param values integer|number[]|floats a count (>= 0) or a table of numbers
 * @return floats the array (peak 0, not a spectrum)
 * @error bad argument #1 "size must be >= 0", "values must be a float array (spectrum) or a table
 *   of numbers", "values[i] must be a number"
 */
int fk_lua_floats_ctor(lua_State *L) {
  if (lua_type(L, 1) == LUA_TNUMBER) {
    int64_t n = fk_lua_check_int(L, 1);
    if (n < 0) luaL_argerror(L, 1, "size must be >= 0");
    fk_lua_floats *f = fk_lua_floats_new(L, (size_t)n, 0);
    memset(f->v, 0, (size_t)n * sizeof(float));
    return 1;
  }
  int pushed;
  fk_lua_floats_arg(L, 1, "values", &pushed);
  if (!pushed) lua_pushvalue(L, 1);
  return 1;
}
