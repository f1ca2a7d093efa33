/* The pie-slice spectrum: bin i is the wedge from i/n to (i+1)/n of a turn,
 * clockwise from straight up (plus `rotation` turns). */
#include "image/draw.h"

#include <math.h>
#include <stdlib.h>

int fk_draw_pie(const fk_pie_cfg *cfg, fk_image *img, fk_err *e) {
  if (fk_image_check_size(cfg->w, cfg->h, "pie size", e)) return e->code;
  if (cfg->n == 0) return fk_err_set(e, FK_EUSER, "the pie needs at least one value");
  if (!(cfg->inner >= 0 && cfg->inner < 1))
    return fk_err_set(e, FK_EUSER, "inner must be in [0, 1), got %g", cfg->inner);
  float *rgb = fk_alloc(cfg->n * 3, sizeof *rgb);
  if (!rgb) return fk_err_oom(e, "pie colours", cfg->n * 3 * sizeof *rgb);
  for (size_t i = 0; i < cfg->n; i++)
    if (cfg->colour(cfg->colour_ctx, i, cfg->n, rgb + 3 * i)) {
      free(rgb);
      return fk_err_set(e, FK_EUSER, "the colour scheme failed at slice %zu", i + 1);
    }
  if (fk_image_new_filled(img, cfg->w, cfg->h, cfg->background, e)) {
    free(rgb);
    return e->code;
  }
  const double cx = cfg->w / 2.0, cy = cfg->h / 2.0,
               outer = (cfg->w < cfg->h ? cfg->w : cfg->h) / 2.0;
  const double two_pi = 6.283185307179586;
  for (int y = 0; y < cfg->h; y++)
    for (int x = 0; x < cfg->w; x++) {
      double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      double r = sqrt(dx * dx + dy * dy) / outer;
      if (r < cfg->inner || r > 1.0) continue;
      double turn = atan2(dx, -dy) / two_pi - cfg->rotation; /* 0 up, clockwise */
      turn -= floor(turn);
      size_t i = (size_t)(turn * (double)cfg->n);
      if (i >= cfg->n) i = cfg->n - 1;
      double v = cfg->values[i];
      v = v > 0 ? (v < 1 ? v : 1) : 0;
      float light;
      if (cfg->extent) {
        if (r > cfg->inner + (1.0 - cfg->inner) * v) continue;
        light = 1.0f;
      } else {
        light = (float)v;
      }
      float *p = img->px + ((size_t)y * (size_t)cfg->w + (size_t)x) * 3;
      for (int c = 0; c < 3; c++) p[c] = rgb[3 * i + c] * light;
    }
  free(rgb);
  return FK_OK;
}
