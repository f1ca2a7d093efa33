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

int fk_lua_open_draw(lua_State *L) {
  static const luaL_Reg fns[] = {{"pie", draw_pie}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
