/* Bilinear resize, 2x2 average pooling, pixel shuffle and the backward
 * warp on the CPU backend's pool: the reference kernels' arithmetic,
 * element for element (so the results are bit-identical), by output rows
 * spread over the workers, each row's source row and vertical weight
 * found once instead of three integer divisions per element. In RIFE's
 * pass the single-threaded reference versions took a fifth of the time. */
#include "nn/cpu_internal.h"

typedef struct sample_job {
  fk_nn_resample mode;
  uint32_t r;
  const fk_nn_rs *g;
  const float *x;
  float *y;
} sample_job;

FK_CPU_CLONES static void sample_rows(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const sample_job *j = ctx;
  const fk_nn_rs *g = j->g;
  const size_t w = g->w, ow = g->ow;
  for (size_t row = lo; row < hi; row++) {
    const uint32_t oy = (uint32_t)(row % g->oh), plane = (uint32_t)(row / g->oh);
    const float *xp = j->x + (size_t)plane * g->h * w;
    float *out = j->y + row * ow;
    if (j->mode == FK_NN_BILINEAR) {
      float sy = ((float)oy + 0.5f) * (float)g->h / (float)g->oh - 0.5f;
      sy = sy < 0 ? 0 : sy;
      uint32_t y0 = (uint32_t)sy < g->h - 1 ? (uint32_t)sy : g->h - 1;
      uint32_t y1 = y0 + 1 < g->h ? y0 + 1 : g->h - 1;
      const float ly = sy - (float)y0, *r0 = xp + (size_t)y0 * w, *r1 = xp + (size_t)y1 * w;
      for (uint32_t ox = 0; ox < ow; ox++) {
        float sx = ((float)ox + 0.5f) * (float)g->w / (float)g->ow - 0.5f;
        sx = sx < 0 ? 0 : sx;
        uint32_t x0 = (uint32_t)sx < g->w - 1 ? (uint32_t)sx : g->w - 1;
        uint32_t x1 = x0 + 1 < g->w ? x0 + 1 : g->w - 1;
        float lx = sx - (float)x0;
        out[ox] =
            (1 - ly) * ((1 - lx) * r0[x0] + lx * r0[x1]) + ly * ((1 - lx) * r1[x0] + lx * r1[x1]);
      }
    } else if (j->mode == FK_NN_AVGPOOL2X2) {
      const float *r0 = xp + 2 * (size_t)oy * w, *r1 = r0 + w;
      for (size_t ox = 0; ox < ow; ox++)
        out[ox] = 0.25f * (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]);
    } else { /* pixel shuffle by r */
      const uint32_t r = j->r, n = plane / g->oc, c = plane % g->oc;
      for (uint32_t ox = 0; ox < ow; ox++) {
        uint32_t src = n * g->c + c * r * r + (oy % r) * r + (ox % r);
        out[ox] = j->x[((size_t)src * g->h + oy / r) * w + ox / r];
      }
    }
  }
}

void fk_cpu_resample(fk_cpu_pool *p, fk_nn_resample mode, uint32_t r, const fk_nn_rs *g,
                     const float *x, float *y) {
  sample_job j = {mode, r, g, x, y};
  size_t rows = g->total / g->ow;
  fk_cpu_parallel_for(p, rows, 1 + 8192 / (g->ow + 1), sample_rows, &j);
}

typedef struct warp_job {
  const float *x, *flow;
  float *y;
  size_t c, h, w;
} warp_job;

/* A row is done in runs of WARP_RUN pixels: their source offsets and
 * weights first, then channel by channel, so the inner loop is a plain
 * loop over pixels (vectorised, with gathers) rather than one pixel's
 * walk across every channel plane. */
#define WARP_RUN 128

FK_CPU_CLONES static void warp_rows(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const warp_job *j = ctx;
  const size_t c = j->c, h = j->h, w = j->w, hw = h * w;
  uint32_t o00[WARP_RUN], o01[WARP_RUN], o10[WARP_RUN], o11[WARP_RUN];
  float wx[WARP_RUN], wy[WARP_RUN];
  for (size_t row = lo; row < hi; row++) {
    const size_t b = row / h, oy = row % h;
    const float *fx = j->flow + (b * 2) * hw + oy * w, *fy = fx + hw;
    for (size_t x0r = 0; x0r < w; x0r += WARP_RUN) {
      const size_t n = w - x0r < WARP_RUN ? w - x0r : WARP_RUN;
      for (size_t k = 0; k < n; k++) {
        const size_t ox = x0r + k;
        float sx = (float)ox + fx[ox], sy = (float)oy + fy[ox];
        sx = sx < 0 ? 0 : sx > (float)(w - 1) ? (float)(w - 1) : sx;
        sy = sy < 0 ? 0 : sy > (float)(h - 1) ? (float)(h - 1) : sy;
        size_t x0 = (size_t)sx, y0 = (size_t)sy;
        size_t x1 = x0 + 1 < w ? x0 + 1 : w - 1, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        wx[k] = sx - (float)x0, wy[k] = sy - (float)y0;
        o00[k] = (uint32_t)(y0 * w + x0), o01[k] = (uint32_t)(y0 * w + x1);
        o10[k] = (uint32_t)(y1 * w + x0), o11[k] = (uint32_t)(y1 * w + x1);
      }
      for (size_t ch = 0; ch < c; ch++) {
        const float *xp = j->x + (b * c + ch) * hw;
        float *out = j->y + (b * c + ch) * hw + oy * w + x0r;
        for (size_t k = 0; k < n; k++) {
          const float lx = wx[k], ly = wy[k];
          out[k] = (1 - ly) * ((1 - lx) * xp[o00[k]] + lx * xp[o01[k]]) +
                   ly * ((1 - lx) * xp[o10[k]] + lx * xp[o11[k]]);
        }
      }
    }
  }
}

void fk_cpu_warp(fk_cpu_pool *p, const float *x, const float *flow, float *y, size_t n, size_t c,
                 size_t h, size_t w) {
  warp_job j = {x, flow, y, c, h, w};
  fk_cpu_parallel_for(p, n * h, 1 + 4096 / (w * c + 1), warp_rows, &j);
}
