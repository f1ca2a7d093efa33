/* funky.draw.pie{ size = {w, h}, values = ... (each in [0, 1]) | amps = ...
 *   with normalise = as funky.noise.field, colour = "rainbow", inner = 0,
 *   rotation = 0 (turns), mode = "extent" | "light", background = {r, g, b} }
 * -> image: bin i is a wedge; "extent" draws it as long as its value,
 * "light" draws full wedges lit by the value. */
#include <stdlib.h>
#include <string.h>

#include "image/draw.h"
#include "image/noise.h"
#include "lua/fk_lua.h"

void fk_lua_norm_field(lua_State *L, int t, int arg, fk_noise_cfg *cfg, double peak);
fk_lua_floats *fk_lua_amps_field(lua_State *L, int t, int arg, const char *name);

static int draw(void *cfg, fk_image *img, fk_err *e) {
  return fk_draw_pie(cfg, img, e);
}

/*** funky.draw.pie(opts)
 * A pie of wedges, one per value: bin i (from 0) of n spans i/n to (i + 1)/n of a turn,
 * clockwise from straight up (plus `rotation`). "extent" draws each wedge from `inner` out to
 * inner + (1 - inner) * value of the radius at full colour; "light" draws full wedges lit by
 * the value. The radius is half the smaller side.
 * @param opts table the pie
 * @field size integer[] {width, height} in pixels, 1..8192 each (required)
 * @field values? floats|number[] one value per wedge, 0..1, used as given; or give amps
 * @field amps? floats|number[] magnitudes normalised like funky.noise.field's (used when values
 *   is absent; one of the two is required)
 * @field normalise? string|number[] how amps become 0..1: "frame" (default), "global", "none"
 *   or {db_min, db_max}, as in funky.noise.field
 * @field colour? string|fun(bin:integer,count:integer):number,number,number scheme name or
 *   function (bin from 1, count) -> r, g, b; default "rainbow"
 * @field inner? number inner radius as a fraction of the radius, 0 <= inner < 1; default 0
 * @field rotation? number turns added to every wedge's angle (0.25 = a quarter clockwise);
 *   default 0
 * @field mode? string "extent" (default) or "light"
 * @field background? number[] {r, g, b} behind the pie, 0..1; default black
 * @return image the pie
 * @error bad argument #1 field 'size', 'amps' ("is required ..."), 'values'/'amps' ("is
 *   empty"), 'inner' ("must be in [0, 1)"), 'mode' ("must be \"extent\" or \"light\""),
 *   'normalise', 'colour' or 'background' naming what is wrong
 * @error an error raised in the colour function
 */
static int draw_pie(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  fk_pie_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  fk_lua_size_field(L, 1, 1, &cfg.w, &cfg.h);
  lua_getfield(L, 1, "values");
  int has_values = !lua_isnil(L, -1);
  lua_pop(L, 1);
  fk_lua_floats *src = fk_lua_amps_field(L, 1, 1, has_values ? "values" : "amps");
  if (src->n == 0) fk_lua_field_error(L, 1, has_values ? "values" : "amps", "is empty");
  fk_lua_floats *vals = fk_lua_floats_new(L, src->n, src->peak);
  if (has_values) {
    memcpy(vals->v, src->v, src->n * sizeof(float));
  } else {
    fk_noise_cfg nc = {.amps = src->v, .n = src->n};
    fk_lua_norm_field(L, 1, 1, &nc, src->peak);
    fk_noise_normalise(&nc, vals->v);
  }
  cfg.values = vals->v;
  cfg.n = vals->n;
  cfg.inner = fk_lua_num_field(L, 1, 1, "inner", 0);
  if (!(cfg.inner >= 0 && cfg.inner < 1)) fk_lua_field_error(L, 1, "inner", "must be in [0, 1)");
  cfg.rotation = fk_lua_num_field(L, 1, 1, "rotation", 0);
  const char *mode = fk_lua_str_field(L, 1, 1, "mode", "extent");
  if (strcmp(mode, "extent") && strcmp(mode, "light"))
    fk_lua_field_error(L, 1, "mode", "must be \"extent\" or \"light\"");
  cfg.extent = !strcmp(mode, "extent");
  fk_lua_rgb_field(L, 1, 1, "background", cfg.background);
  return fk_lua_draw_coloured(L, 1, &cfg.colour, &cfg.colour_ctx, draw, &cfg);
}

/*** @module funky.draw
 * Drawing spectra as shapes (the spectral recipe's pie).
 */
int fk_lua_open_draw(lua_State *L) {
  static const luaL_Reg fns[] = {{"pie", draw_pie}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
