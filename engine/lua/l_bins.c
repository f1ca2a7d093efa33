/* funky.bins: which FFT bins a frame's spectrum is sampled at. A mapping is
 * declared once (before the window length is known) and resolved against
 * each spectrum's FFT length and rate when taken; the last resolution is
 * cached in the mapping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lua/fk_lua.h"

enum { BINS_INDICES, BINS_LOG, BINS_LINEAR, BINS_BANDS };

typedef struct binspec {
  int kind;
  size_t count;    /* bins (or bands) produced */
  double from, to; /* bin numbers, or Hz when hz is set; to < 0 = top of the spectrum */
  int hz;
  size_t cache_window;
  int cache_rate;
  int64_t *cache; /* resolved bins (count, or 2*count for bands) */
  double *pairs;  /* bands: Hz ranges */
} binspec;

static binspec *spec_new(lua_State *L, int kind) {
  binspec *b = lua_newuserdata(L, sizeof *b);
  memset(b, 0, sizeof *b);
  b->kind = kind;
  b->to = -1;
  luaL_setmetatable(L, FK_LUA_BINS);
  return b;
}

static int bins_gc(lua_State *L) {
  binspec *b = luaL_checkudata(L, 1, FK_LUA_BINS);
  free(b->cache);
  free(b->pairs);
  b->cache = NULL;
  b->pairs = NULL;
  return 0;
}

static int resolve(lua_State *L, binspec *b, size_t n_window, int rate) {
  if (b->cache &&
      (b->kind == BINS_INDICES || (b->cache_window == n_window && b->cache_rate == rate)))
    return 0;
  fk_err e = {0};
  int64_t *out = NULL;
  double top = (double)(n_window / 2);
  double hzbin = rate > 0 ? (double)rate / (double)n_window : 0;
  if ((b->hz || b->kind == BINS_BANDS) && hzbin == 0)
    return luaL_error(L, "this mapping is in Hz but the values are not a spectrum");
  double from = b->hz ? b->from / hzbin : b->from;
  double to = b->to < 0 ? top : b->hz ? b->to / hzbin : b->to;
  switch (b->kind) {
  case BINS_LOG:
    if (fk_bins_log(from, b->to < 0 ? (double)n_window / 2.0 : to, b->count, &out, &e))
      return fk_lua_raise(L, &e);
    break;
  case BINS_LINEAR:
    if (fk_bins_linear(from, to, b->count, &out, &e)) return fk_lua_raise(L, &e);
    break;
  case BINS_BANDS:
    out = fk_alloc(2 * b->count, sizeof *out);
    if (!out) return luaL_error(L, "out of memory resolving bands");
    for (size_t i = 0; i < b->count; i++) {
      int64_t lo = (int64_t)ceil(b->pairs[2 * i] / hzbin);
      int64_t hi = (int64_t)ceil(b->pairs[2 * i + 1] / hzbin) - 1; /* [lo, hi) Hz */
      if (hi > (int64_t)top) hi = (int64_t)top;
      if (hi < lo) { /* a band narrower than a bin: its nearest bin */
        lo = hi = fk_bins_hz(0.5 * (b->pairs[2 * i] + b->pairs[2 * i + 1]), rate, n_window);
      }
      out[2 * i] = lo;
      out[2 * i + 1] = hi;
    }
    break;
  default: return luaL_error(L, "bad bin mapping");
  }
  free(b->cache);
  b->cache = out;
  b->cache_window = n_window;
  b->cache_rate = rate;
  return 0;
}

static binspec *from_table(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  size_t n = fk_lua_rawlen(L, idx);
  binspec *b = spec_new(L, BINS_INDICES);
  b->count = n;
  b->cache = fk_alloc(n, sizeof *b->cache);
  if (!b->cache) luaL_error(L, "out of memory for %d bins", (int)n);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    double v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || v != floor(v))
      luaL_error(L, "bins[%d] must be an integer bin number, got %s", (int)i + 1,
                 luaL_typename(L, -1));
    b->cache[i] = (int64_t)v;
    lua_pop(L, 1);
  }
  return b;
}

int fk_lua_bins_resolve(lua_State *L, int idx, size_t n_window, int rate, const int64_t **bins,
                        size_t *n, int *bands, int *pushed) {
  binspec *b = luaL_testudata(L, idx, FK_LUA_BINS);
  *pushed = 0;
  if (!b) {
    if (lua_type(L, idx) != LUA_TTABLE)
      luaL_argerror(L, idx, "bins must be a funky.bins mapping or a table of bin numbers");
    b = from_table(L, idx);
    *pushed = 1;
  }
  resolve(L, b, n_window, rate);
  *bins = b->cache;
  *n = b->count;
  *bands = b->kind == BINS_BANDS;
  return 0;
}

static size_t check_count(lua_State *L, int t) {
  lua_getfield(L, t, "count");
  int missing = lua_isnil(L, -1);
  lua_pop(L, 1);
  if (missing) fk_lua_field_error(L, 1, "count", "is required");
  int64_t c = fk_lua_int_field(L, t, 1, "count", 0);
  if (c < 1 || c > (1 << 20)) fk_lua_field_error(L, 1, "count", "must be in 1..1048576");
  return (size_t)c;
}

static void range_fields(lua_State *L, binspec *b, double dflt_from) {
  lua_getfield(L, 1, "hz");
  if (lua_istable(L, -1)) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
      fk_lua_field_error(L, 1, "hz", "must be {low_hz, high_hz}");
    b->from = lua_tonumber(L, -2);
    b->to = lua_tonumber(L, -1);
    b->hz = 1;
    lua_pop(L, 3);
    if (!(b->from > 0) || !(b->to > b->from))
      fk_lua_field_error(L, 1, "hz", "must be {low, high} with 0 < low < high");
    return;
  }
  lua_pop(L, 1);
  b->from = fk_lua_num_field(L, 1, 1, "from", dflt_from);
  b->to = fk_lua_num_field(L, 1, 1, "to", -1);
  if (b->from < 0) fk_lua_field_error(L, 1, "from", "must be >= 0");
}

/* funky.bins.log{ count = 90, from = 10 [, to = bin] | hz = {lo, hi} } */
/*** funky.bins.log(opts)
 * Log-spaced FFT bins, as the seed's numpy did: np.logspace(log10(from), log10(to), count)
 * truncated to integers, duplicates at the low end kept. The top defaults to n_window / 2, known
 * only when the mapping is used on a spectrum.
 * @param opts table the spacing
 * @field count integer number of bins, 1..1048576 (required)
 * @field from? number first bin number, >= 1; default 10
 * @field to? number last bin number; default n_window / 2 (the Nyquist bin)
 * @field hz? number[] {low_hz, high_hz} instead of from/to, 0 < low < high, in Hz
 * @return bins the mapping (#mapping is count)
 * @error bad argument #1 field 'count' "is required" / "must be in 1..1048576", field 'from'
 *   "must be >= 1 for log spacing", field 'hz' "must be {low, high} with 0 < low < high"
 * @error on use: "log bins need 1 <= from <= to ..."
 */
static int bins_log(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t count = check_count(L, 1);
  binspec *b = spec_new(L, BINS_LOG);
  b->count = count;
  range_fields(L, b, 10);
  if (!b->hz && b->from < 1) fk_lua_field_error(L, 1, "from", "must be >= 1 for log spacing");
  return 1;
}

/* funky.bins.linear{ count = 64, from = 0 [, to = bin] | hz = {lo, hi} } */
/*** funky.bins.linear(opts)
 * Evenly spaced FFT bins: np.linspace(from, to, count) truncated to integers.
 * @param opts table the spacing
 * @field count integer number of bins, 1..1048576 (required)
 * @field from? number first bin number, >= 0; default 0
 * @field to? number last bin number; default n_window / 2 (the Nyquist bin)
 * @field hz? number[] {low_hz, high_hz} instead of from/to, 0 < low < high, in Hz
 * @return bins the mapping (#mapping is count)
 * @error bad argument #1 field 'count' "is required" / "must be in 1..1048576", field 'from'
 *   "must be >= 0", field 'hz' "must be {low, high} with 0 < low < high"
 * @error on use: "need 0 <= from <= to, got from F to T"
 */
static int bins_linear(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t count = check_count(L, 1);
  binspec *b = spec_new(L, BINS_LINEAR);
  b->count = count;
  range_fields(L, b, 0);
  return 1;
}

/* funky.bins.bands{ {20, 150}, {150, 2000}, ... } in Hz: take() averages each. */
/*** funky.bins.bands(bands)
 * Frequency bands: floats:take gives each band's mean magnitude over the bins whose centre lies
 * in [low_hz, high_hz) (a band narrower than a bin takes its nearest bin).
 * @param bands number[][] {{low_hz, high_hz}, ...} in Hz, 0 <= low < high, at least one
 * @return bins the mapping (#mapping is the number of bands)
 * @error bad argument #1 "give at least one band {low_hz, high_hz}", "band B must be {low_hz,
 *   high_hz} with 0 <= low < high"
 */
static int bins_bands(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t n = fk_lua_rawlen(L, 1);
  if (n == 0) luaL_argerror(L, 1, "give at least one band {low_hz, high_hz}");
  binspec *b = spec_new(L, BINS_BANDS);
  b->count = n;
  b->pairs = fk_alloc(2 * n, sizeof *b->pairs);
  if (!b->pairs) return luaL_error(L, "out of memory for %d bands", (int)n);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 1, (lua_Integer)i + 1);
    if (!lua_istable(L, -1)) luaL_argerror(L, 1, "each band must be {low_hz, high_hz}");
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    double lo = lua_tonumber(L, -2), hi = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1) || !(lo >= 0) || !(hi > lo)) {
      char msg[128];
      snprintf(msg, sizeof msg, "band %d must be {low_hz, high_hz} with 0 <= low < high",
               (int)i + 1);
      luaL_argerror(L, 1, msg);
    }
    b->pairs[2 * i] = lo;
    b->pairs[2 * i + 1] = hi;
    lua_pop(L, 3);
  }
  return 1;
}

/* mapping:resolve(n_window, rate) or mapping:resolve(frames): bin numbers as
 * a Lua table (for bands, {first, last} pairs). */
/*** @type bins
 * A bin mapping from funky.bins.log/linear/bands: which FFT bins a spectrum is sampled at,
 * resolved against each spectrum's FFT length and rate (the last resolution is cached).
 * `#mapping` is its bin (or band) count.
 * @metatable funky.bins
 */
/*** bins:resolve(n_window [, rate])
 * The bin numbers this mapping gives for an FFT of n_window samples at rate, for checking a
 * mapping (floats:take resolves by itself).
 * @param n_window integer|frames FFT length in samples, >= 2, or a table with n_window and rate
 *   (what song:frames returns)
 * @param rate? integer sample rate in Hz (needed by mappings in Hz); default 0
 * @return integer[]|integer[][] FFT bin numbers (0 = DC); for bands {first, last} bin pairs
 * @error bad argument #1 "window length must be at least 2 samples"
 * @error "this mapping is in Hz but the values are not a spectrum" (no rate)
 */
static int bins_resolve_l(lua_State *L) {
  binspec *b = luaL_checkudata(L, 1, FK_LUA_BINS);
  size_t n_window;
  int rate;
  if (lua_istable(L, 2)) {
    n_window = (size_t)fk_lua_int_field(L, 2, 2, "n_window", 0);
    rate = (int)fk_lua_int_field(L, 2, 2, "rate", 0);
  } else {
    n_window = (size_t)fk_lua_check_int(L, 2);
    rate = (int)luaL_optinteger(L, 3, 0);
  }
  if (n_window < 2) luaL_argerror(L, 2, "window length must be at least 2 samples");
  resolve(L, b, n_window, rate);
  lua_createtable(L, (int)b->count, 0);
  for (size_t i = 0; i < b->count; i++) {
    if (b->kind == BINS_BANDS) {
      lua_createtable(L, 2, 0);
      lua_pushinteger(L, (lua_Integer)b->cache[2 * i]);
      lua_rawseti(L, -2, 1);
      lua_pushinteger(L, (lua_Integer)b->cache[2 * i + 1]);
      lua_rawseti(L, -2, 2);
    } else {
      lua_pushinteger(L, (lua_Integer)b->cache[i]);
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int bins_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)((binspec *)luaL_checkudata(L, 1, FK_LUA_BINS))->count);
  return 1;
}

static int bins_tostring(lua_State *L) {
  static const char *names[] = {"indices", "log", "linear", "bands"};
  binspec *b = luaL_checkudata(L, 1, FK_LUA_BINS);
  lua_pushfstring(L, "bins.%s(%d)", names[b->kind], (int)b->count);
  return 1;
}

/*** @module funky.bins
 * Bin mappings: which FFT bins of a frame's spectrum are drawn (see floats:take). A plain Lua
 * table of bin numbers works wherever a mapping does.
 */
int fk_lua_open_bins(lua_State *L) {
  static const luaL_Reg methods[] = {{"resolve", bins_resolve_l}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", bins_gc},
                                  {"__close", bins_gc},
                                  {"__len", bins_len},
                                  {"__tostring", bins_tostring},
                                  {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_BINS, methods, meta);
  static const luaL_Reg fns[] = {
      {"log", bins_log}, {"linear", bins_linear}, {"bands", bins_bands}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
