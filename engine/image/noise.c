/* Noise fields. Point k of bin b sits where fk_hash3(seed, b, k) says: the
 * low 32 bits pick the column, the high 32 the row (multiply-shift, so
 * every size is covered without modulo bias). The same seed gives the same
 * field on every machine, unlike the seed recipe's Python hash(). */
#include "image/noise.h"

#include <math.h>
#include <stdlib.h>

#include "core/hash.h"

void fk_noise_normalise(const fk_noise_cfg *cfg, float *out) {
  double top = 0;
  if (cfg->norm == FK_NORM_FRAME || cfg->norm == FK_NORM_DB)
    for (size_t i = 0; i < cfg->n; i++) top = cfg->amps[i] > top ? cfg->amps[i] : top;
  else if (cfg->norm == FK_NORM_GLOBAL)
    top = cfg->peak;
  for (size_t i = 0; i < cfg->n; i++) {
    double a = cfg->amps[i], v;
    if (cfg->norm == FK_NORM_DB) {
      double db = a > 0 && top > 0 ? 20.0 * log10(a / top) : -1e9;
      v = (db - cfg->db_min) / (cfg->db_max - cfg->db_min);
    } else if (cfg->norm == FK_NORM_NONE) {
      v = a;
    } else {
      v = top > 0 ? a / top : 0;
    }
    out[i] = (float)(v > 0 ? (v < 1 ? v : 1) : 0); /* NaN becomes 0 */
  }
}

int fk_noise_field(const fk_noise_cfg *cfg, fk_image *img, fk_err *e) {
  if (fk_image_check_size(cfg->w, cfg->h, "noise field size", e)) return e->code;
  if (cfg->points_per_bin < 1 || cfg->points_per_bin > 1 << 20)
    return fk_err_set(e, FK_EUSER, "points_per_bin must be in 1..1048576, got %d",
                      cfg->points_per_bin);
  if (!(cfg->radius >= 0) || cfg->radius > 256)
    return fk_err_set(e, FK_EUSER, "radius must be in [0, 256] pixels, got %g", cfg->radius);
  if (cfg->norm == FK_NORM_DB && !(cfg->db_max > cfg->db_min))
    return fk_err_set(e, FK_EUSER, "normalise {db_min, db_max} needs db_min < db_max");
  if (fk_image_new_filled(img, cfg->w, cfg->h, cfg->background, e)) return e->code;
  /* The disc's pixel offsets, once: (dx, dy) pairs and their linear offset. */
  int rr = (int)floor(cfg->radius);
  size_t cap = (size_t)(2 * rr + 1) * (size_t)(2 * rr + 1);
  int *off = fk_alloc(3 * cap, sizeof *off);
  float *light = fk_alloc(cfg->n ? cfg->n : 1, sizeof *light);
  if (!off || !light) {
    free(off);
    free(light);
    fk_image_free(img);
    return fk_err_oom(e, "a noise field", 3 * cap * sizeof *off);
  }
  size_t n_off = 0;
  double r2 = cfg->radius * cfg->radius;
  for (int dy = -rr; dy <= rr; dy++)
    for (int dx = -rr; dx <= rr; dx++)
      if (dx * dx + dy * dy <= r2) {
        off[3 * n_off] = dx;
        off[3 * n_off + 1] = dy;
        off[3 * n_off + 2] = (dy * cfg->w + dx) * 3;
        n_off++;
      }
  fk_noise_normalise(cfg, light);
  const uint64_t w = (uint64_t)cfg->w, h = (uint64_t)cfg->h;
  for (size_t b = 0; b < cfg->n; b++) {
    float rgb[3];
    if (cfg->colour(cfg->colour_ctx, b, cfg->n, rgb)) {
      free(off);
      free(light);
      fk_image_free(img);
      return fk_err_set(e, FK_EUSER, "the colour scheme failed at bin %zu", b + 1);
    }
    const float c0 = rgb[0] * light[b], c1 = rgb[1] * light[b], c2 = rgb[2] * light[b];
    for (int k = 0; k < cfg->points_per_bin; k++) {
      uint64_t hv = fk_hash3(cfg->seed, b, (uint64_t)k);
      int x = (int)(((hv & 0xffffffffu) * w) >> 32), y = (int)(((hv >> 32) * h) >> 32);
      float *centre = img->px + ((size_t)y * (size_t)cfg->w + (size_t)x) * 3;
      int inside = x >= rr && y >= rr && x + rr < cfg->w && y + rr < cfg->h;
      for (size_t o = 0; o < n_off; o++) {
        if (!inside) {
          int px = x + off[3 * o], py = y + off[3 * o + 1];
          if (px < 0 || py < 0 || px >= cfg->w || py >= cfg->h) continue;
        }
        float *p = centre + off[3 * o + 2];
        p[0] = c0 > p[0] ? c0 : p[0];
        p[1] = c1 > p[1] ? c1 : p[1];
        p[2] = c2 > p[2] ? c2 : p[2];
      }
    }
  }
  free(off);
  free(light);
  return FK_OK;
}
