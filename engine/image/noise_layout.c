/* Noise-field layouts. Where a field's points fall depends only on the
 * size, the bin count, the seed, the points per bin and the radius, never
 * on the magnitudes, and overlapping points combine by a per-channel max,
 * which does not care about order. So the bins covering each pixel can be
 * listed once (CSR: row offsets per pixel, bin numbers), and every later
 * frame of a render is one pass over the image taking the max of its
 * pixels' bin values: no hashing, no scattered writes. The pixels are
 * bit-identical to fk_noise_field's. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "image/noise.h"

struct fk_noise_layout {
  int w, h, points_per_bin;
  size_t n;
  uint64_t seed;
  double radius;
  uint32_t *start; /* w*h + 1 offsets into bin */
  uint32_t *bin;   /* the bins covering each pixel, each once */
};

int fk_noise_layout_fits(const fk_noise_layout *l, const fk_noise_cfg *cfg) {
  return l && l->w == cfg->w && l->h == cfg->h && l->n == cfg->n && l->seed == cfg->seed &&
         l->points_per_bin == cfg->points_per_bin && l->radius == cfg->radius;
}

void fk_noise_layout_free(fk_noise_layout *l) {
  if (!l) return;
  free(l->start);
  free(l->bin);
  free(l);
}

/* Calls visit(ctx, pixel, bin) for every pixel of every point, as
 * fk_noise_field places them. */
static void each_pixel(const fk_noise_cfg *cfg, void (*visit)(void *, size_t, uint32_t),
                       void *ctx) {
  const int rr = (int)cfg->radius;
  const double r2 = cfg->radius * cfg->radius;
  const uint64_t w = (uint64_t)cfg->w, h = (uint64_t)cfg->h;
  for (size_t b = 0; b < cfg->n; b++)
    for (int k = 0; k < cfg->points_per_bin; k++) {
      uint64_t hv = fk_hash3(cfg->seed, b, (uint64_t)k);
      int x = (int)(((hv & 0xffffffffu) * w) >> 32), y = (int)(((hv >> 32) * h) >> 32);
      for (int dy = -rr; dy <= rr; dy++)
        for (int dx = -rr; dx <= rr; dx++) {
          int px = x + dx, py = y + dy;
          if (dx * dx + dy * dy > r2 || px < 0 || py < 0 || px >= cfg->w || py >= cfg->h) continue;
          visit(ctx, (size_t)py * (size_t)cfg->w + (size_t)px, (uint32_t)b);
        }
    }
}

typedef struct build {
  fk_noise_layout *l;
  uint32_t *last; /* the last bin listed per pixel, + 1 (0: none yet) */
  uint32_t *fill; /* next free slot per pixel (second pass) */
} build;

static void count(void *ctx, size_t p, uint32_t b) {
  build *c = ctx;
  if (c->last[p] == b + 1) return; /* bins come in order: repeats are adjacent */
  c->last[p] = b + 1;
  c->l->start[p + 1]++;
}

static void place(void *ctx, size_t p, uint32_t b) {
  build *c = ctx;
  if (c->last[p] == b + 1) return;
  c->last[p] = b + 1;
  c->l->bin[c->fill[p]++] = b;
}

int fk_noise_layout_new(const fk_noise_cfg *cfg, fk_noise_layout **out, fk_err *e) {
  *out = NULL;
  if (fk_image_check_size(cfg->w, cfg->h, "noise field size", e)) return e->code;
  if (cfg->n > UINT32_MAX - 1 || cfg->points_per_bin < 1 || !(cfg->radius >= 0) ||
      cfg->radius > 256)
    return fk_err_set(e, FK_EUSER, "noise layout: bins, points_per_bin or radius out of range");
  const size_t np = (size_t)cfg->w * (size_t)cfg->h;
  fk_noise_layout *l = fk_zalloc(1, sizeof *l);
  build c = {l, fk_zalloc(np, sizeof(uint32_t)), NULL};
  if (l) l->start = fk_zalloc(np + 1, sizeof *l->start);
  if (!l || !c.last || !l->start) goto oom;
  *l = (fk_noise_layout){cfg->w,   cfg->h, cfg->points_per_bin, cfg->n, cfg->seed, cfg->radius,
                         l->start, NULL};
  each_pixel(cfg, count, &c);
  for (size_t p = 0; p < np; p++) {
    if (l->start[p + 1] > UINT32_MAX - l->start[p]) {
      fk_noise_layout_free(l);
      free(c.last);
      return fk_err_set(e, FK_EUSER,
                        "noise layout: more than 4e9 covered pixels; use fewer "
                        "points_per_bin or a smaller radius");
    }
    l->start[p + 1] += l->start[p];
  }
  l->bin = fk_alloc(l->start[np] ? l->start[np] : 1, sizeof *l->bin);
  c.fill = fk_alloc(np, sizeof *c.fill);
  if (!l->bin || !c.fill) goto oom;
  memcpy(c.fill, l->start, np * sizeof *c.fill);
  memset(c.last, 0, np * sizeof *c.last);
  each_pixel(cfg, place, &c);
  free(c.last);
  free(c.fill);
  *out = l;
  return FK_OK;
oom:
  free(c.last);
  free(c.fill);
  fk_noise_layout_free(l);
  return fk_err_oom(e, "a noise-field layout", np * 3 * sizeof(uint32_t));
}

typedef struct gather {
  const fk_noise_layout *l;
  const float *v; /* 4 floats per bin: its RGB at this frame's lightness */
  const float *bg;
  float *px;
  size_t p0, p1;
} gather;

static void *gather_rows(void *arg) {
  const gather *g = arg;
  const uint32_t *start = g->l->start, *bin = g->l->bin;
  for (size_t p = g->p0; p < g->p1; p++) {
    float r = g->bg[0], gr = g->bg[1], b = g->bg[2];
    for (uint32_t j = start[p]; j < start[p + 1]; j++) {
      const float *c = g->v + 4 * (size_t)bin[j];
      r = c[0] > r ? c[0] : r;
      gr = c[1] > gr ? c[1] : gr;
      b = c[2] > b ? c[2] : b;
    }
    g->px[3 * p] = r;
    g->px[3 * p + 1] = gr;
    g->px[3 * p + 2] = b;
  }
  return NULL;
}

int fk_noise_field_layout(const fk_noise_layout *l, const fk_noise_cfg *cfg, fk_image *img,
                          fk_err *e) {
  if (!fk_noise_layout_fits(l, cfg))
    return fk_err_set(e, FK_EINTERNAL, "noise layout made for other field settings");
  float *v = fk_alloc(4 * (cfg->n ? cfg->n : 1), sizeof *v);
  float *light = fk_alloc(cfg->n ? cfg->n : 1, sizeof *light);
  if (!v || !light || fk_image_new(img, cfg->w, cfg->h, e)) {
    free(v);
    free(light);
    return e->code ? e->code : fk_err_oom(e, "a noise field", 4 * cfg->n * sizeof *v);
  }
  fk_noise_normalise(cfg, light);
  for (size_t b = 0; b < cfg->n; b++) {
    float rgb[3];
    if (cfg->colour(cfg->colour_ctx, b, cfg->n, rgb)) {
      free(v);
      free(light);
      fk_image_free(img);
      return fk_err_set(e, FK_EUSER, "the colour scheme failed at bin %zu", b + 1);
    }
    for (int c = 0; c < 3; c++) v[4 * b + (size_t)c] = rgb[c] * light[b];
  }
  /* Two threads from 256x256 up, as the blur. */
  const size_t np = (size_t)cfg->w * (size_t)cfg->h;
  gather g[2] = {{l, v, cfg->background, img->px, 0, np / 2},
                 {l, v, cfg->background, img->px, np / 2, np}};
  pthread_t t;
  int two = np >= 256 * 256 && !pthread_create(&t, NULL, gather_rows, &g[1]);
  if (!two) g[0].p1 = np;
  gather_rows(&g[0]);
  if (two) pthread_join(t, NULL);
  free(v);
  free(light);
  return FK_OK;
}
