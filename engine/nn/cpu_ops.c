/* Plain C kernels: the reference every GPU kernel is tested against, and
 * the CPU backend until a tuned one replaces them. Written for clarity. */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn_internal.h"

static float unary1(fk_nn_unary op, float v, float alpha, float beta) {
  switch (op) {
  case FK_NN_SILU: return v / (1.0f + expf(-v));
  case FK_NN_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  case FK_NN_QUICK_GELU: return v / (1.0f + expf(-1.702f * v));
  case FK_NN_LEAKY_RELU: return v >= 0 ? v : alpha * v;
  case FK_NN_SIGMOID: return 1.0f / (1.0f + expf(-v));
  case FK_NN_CLAMP: return v < alpha ? alpha : v > beta ? beta : v;
  case FK_NN_SCALE_BIAS: return v * alpha + beta;
  }
  return v;
}

void fk_nn_cpu_unary(fk_nn_unary op, const float *x, float *y, size_t n, float alpha, float beta) {
  for (size_t i = 0; i < n; i++) y[i] = unary1(op, x[i], alpha, beta);
}

void fk_nn_cpu_binary(fk_nn_binary op, const float *a, const float *b, float *y, int ndim,
                      const int64_t *shape, const int64_t *bst) {
  (void)ndim; /* always 4: backend.c pads shapes */
  size_t i = 0;
  for (int64_t d0 = 0; d0 < shape[0]; d0++)
    for (int64_t d1 = 0; d1 < shape[1]; d1++)
      for (int64_t d2 = 0; d2 < shape[2]; d2++)
        for (int64_t d3 = 0; d3 < shape[3]; d3++, i++) {
          float bv = b[d0 * bst[0] + d1 * bst[1] + d2 * bst[2] + d3 * bst[3]];
          y[i] = op == FK_NN_ADD ? a[i] + bv : a[i] * bv;
        }
}

static int64_t clampi(int64_t v, int64_t hi) {
  return v < 0 ? 0 : v > hi ? hi : v;
}

void fk_nn_cpu_blur(const float *x, float *y, int64_t h, int64_t w, int64_t c, const float *wt,
                    int radius, float *tmp) {
  for (int64_t r = 0; r < h; r++)
    for (int64_t q = 0; q < w; q++)
      for (int64_t k = 0; k < c; k++) {
        float acc = 0;
        for (int j = -radius; j <= radius; j++)
          acc += wt[j + radius] * x[(r * w + clampi(q + j, w - 1)) * c + k];
        tmp[(r * w + q) * c + k] = acc;
      }
  for (int64_t r = 0; r < h; r++)
    for (int64_t q = 0; q < w; q++)
      for (int64_t k = 0; k < c; k++) {
        float acc = 0;
        for (int j = -radius; j <= radius; j++)
          acc += wt[j + radius] * tmp[(clampi(r + j, h - 1) * w + q) * c + k];
        y[(r * w + q) * c + k] = acc;
      }
}

void fk_nn_cpu_matmul(const fk_nn_mm *g, const float *a, const float *b, const float *bias,
                      float *c) {
  for (uint32_t z = 0; z < g->batch; z++) {
    const float *az = a + (size_t)z * g->sa, *bz = b + (size_t)z * g->sb;
    float *cz = c + (size_t)z * g->sc;
    for (uint32_t i = 0; i < g->m; i++)
      for (uint32_t j = 0; j < g->n; j++) {
        double acc = bias ? bias[j] : 0.0;
        for (uint32_t k = 0; k < g->k; k++)
          acc += (double)az[(size_t)i * g->k + k] *
                 (g->trans_b ? bz[(size_t)j * g->k + k] : bz[(size_t)k * g->n + j]);
        cz[(size_t)i * g->n + j] = (float)acc;
      }
  }
}

void fk_nn_cpu_conv2d(const fk_nn_cg *g, const float *x, const float *w, const float *bias,
                      float *y) {
  const fk_nn_conv *c = g->c;
  for (uint32_t n = 0; n < g->n; n++)
    for (uint32_t co = 0; co < g->cout; co++)
      for (uint32_t oy = 0; oy < g->oh; oy++)
        for (uint32_t ox = 0; ox < g->ow; ox++) {
          double acc = bias ? bias[co] : 0.0;
          for (uint32_t ci = 0; ci < g->cin; ci++)
            for (uint32_t ky = 0; ky < g->kh; ky++) {
              int64_t iy = (int64_t)oy * c->stride + ky - c->pad_t;
              if (iy < 0 || iy >= g->h) continue;
              for (uint32_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = (int64_t)ox * c->stride + kx - c->pad_l;
                if (ix < 0 || ix >= g->w) continue;
                acc += (double)w[((co * g->cin + ci) * g->kh + ky) * g->kw + kx] *
                       x[((size_t)(n * g->cin + ci) * g->h + (size_t)iy) * g->w + (size_t)ix];
              }
            }
          float v = (float)acc;
          if (c->act == FK_NN_ACT_SILU)
            v = v / (1.0f + expf(-v));
          else if (c->act == FK_NN_ACT_LEAKY)
            v = v >= 0 ? v : c->alpha * v;
          y[((size_t)(n * g->cout + co) * g->oh + oy) * g->ow + ox] = v;
        }
}

void fk_nn_cpu_group_norm(const float *x, const float *gamma, const float *beta, float *y, size_t n,
                          size_t c, size_t hw, size_t groups, float eps, int silu) {
  size_t cpg = c / groups, count = cpg * hw;
  for (size_t b = 0; b < n; b++)
    for (size_t g = 0; g < groups; g++) {
      const float *xs = x + (b * c + g * cpg) * hw;
      float *ys = y + (b * c + g * cpg) * hw;
      double mean = 0, var = 0;
      for (size_t i = 0; i < count; i++) mean += xs[i];
      mean /= (double)count;
      for (size_t i = 0; i < count; i++) var += (xs[i] - mean) * (xs[i] - mean);
      double rstd = 1.0 / sqrt(var / (double)count + eps);
      for (size_t i = 0; i < count; i++) {
        size_t ch = g * cpg + i / hw;
        float v = (float)((xs[i] - mean) * rstd) * gamma[ch] + beta[ch];
        ys[i] = silu ? v / (1.0f + expf(-v)) : v;
      }
    }
}

void fk_nn_cpu_layer_norm(const float *x, const float *gamma, const float *beta, float *y,
                          size_t rows, size_t d, float eps) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    double mean = 0, var = 0;
    for (size_t i = 0; i < d; i++) mean += xr[i];
    mean /= (double)d;
    for (size_t i = 0; i < d; i++) var += (xr[i] - mean) * (xr[i] - mean);
    double rstd = 1.0 / sqrt(var / (double)d + eps);
    for (size_t i = 0; i < d; i++)
      y[r * d + i] = (float)((xr[i] - mean) * rstd) * gamma[i] + beta[i];
  }
}

void fk_nn_cpu_softmax(const float *x, float *y, size_t rows, size_t d) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    float m = xr[0];
    for (size_t i = 1; i < d; i++) m = xr[i] > m ? xr[i] : m;
    double s = 0;
    for (size_t i = 0; i < d; i++) s += exp((double)xr[i] - m);
    for (size_t i = 0; i < d; i++) y[r * d + i] = (float)(exp((double)xr[i] - m) / s);
  }
}

void fk_nn_cpu_attention(const float *q, const float *k, const float *v, float *o, size_t b,
                         size_t lq, size_t lk, size_t heads, size_t d, int causal) {
  double scale = 1.0 / sqrt((double)d);
  double *s = malloc(lk * sizeof *s);
  if (!s) return; /* the caller's NaN-poisoned output then fails the test */
  for (size_t z = 0; z < b; z++)
    for (size_t h = 0; h < heads; h++)
      for (size_t i = 0; i < lq; i++) {
        const float *qi = q + ((z * lq + i) * heads + h) * d;
        size_t n = causal && i + 1 < lk ? i + 1 : lk;
        double m = -INFINITY, sum = 0;
        for (size_t j = 0; j < n; j++) {
          const float *kj = k + ((z * lk + j) * heads + h) * d;
          double acc = 0;
          for (size_t t = 0; t < d; t++) acc += (double)qi[t] * kj[t];
          s[j] = acc * scale;
          m = s[j] > m ? s[j] : m;
        }
        for (size_t j = 0; j < n; j++) sum += s[j] = exp(s[j] - m);
        float *oi = o + ((z * lq + i) * heads + h) * d;
        for (size_t t = 0; t < d; t++) {
          double acc = 0;
          for (size_t j = 0; j < n; j++) acc += s[j] * v[((z * lk + j) * heads + h) * d + t];
          oi[t] = (float)(acc / sum);
        }
      }
  free(s);
}

/* Output rows [lo, hi) of the N * C * OH rows: the row's source row and
 * vertical weight once, then its pixels. */
void fk_nn_cpu_resample_rows(fk_nn_resample mode, uint32_t r, const fk_nn_rs *g, const float *x,
                             float *y, size_t lo, size_t hi) {
  const size_t w = g->w, ow = g->ow;
  for (size_t row = lo; row < hi; row++) {
    const uint32_t oy = (uint32_t)(row % g->oh), plane = (uint32_t)(row / g->oh);
    const float *xp = x + (size_t)plane * g->h * w;
    float *out = y + row * ow;
    if (mode == FK_NN_UPSAMPLE2X) {
      const float *src = xp + (size_t)oy * g->h / g->oh * w;
      for (size_t ox = 0; ox < ow; ox++) out[ox] = src[ox * w / ow];
    } else if (mode == FK_NN_BILINEAR) {
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
    } else if (mode == FK_NN_AVGPOOL2X2) {
      const float *r0 = xp + 2 * (size_t)oy * w, *r1 = r0 + w;
      for (size_t ox = 0; ox < ow; ox++)
        out[ox] = 0.25f * (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]);
    } else { /* pixel shuffle by r */
      const uint32_t n = plane / g->oc, c = plane % g->oc;
      for (uint32_t ox = 0; ox < ow; ox++) {
        uint32_t src = n * g->c + c * r * r + (oy % r) * r + (ox % r);
        out[ox] = x[((size_t)src * g->h + oy / r) * w + ox / r];
      }
    }
  }
}

void fk_nn_cpu_resample(fk_nn_resample mode, uint32_t r, const fk_nn_rs *g, const float *x,
                        float *y) {
  if (g->ow) fk_nn_cpu_resample_rows(mode, r, g, x, y, 0, g->total / g->ow);
}

void fk_nn_cpu_copy_channels(const float *x, float *y, size_t n, size_t hw, size_t count, size_t cx,
                             size_t sx, size_t cy, size_t dy) {
  for (size_t b = 0; b < n; b++)
    for (size_t c = 0; c < count; c++)
      memcpy(y + ((b * cy + dy + c) * hw), x + ((b * cx + sx + c) * hw), hw * sizeof *x);
}

/* Rows [lo, hi) of the N * H output rows, in runs of WARP_RUN pixels:
 * the run's source offsets and weights first, then channel by channel, so
 * the inner loop is a plain loop over pixels (it vectorises, with
 * gathers) rather than one pixel's walk across every channel plane
 * (FILM's 64-channel warps ran 3.9x faster so). */
#define WARP_RUN 128

void fk_nn_cpu_warp_rows(const float *x, const float *flow, float *y, size_t c, size_t h, size_t w,
                         size_t lo, size_t hi) {
  const size_t hw = h * w;
  uint32_t o00[WARP_RUN], o01[WARP_RUN], o10[WARP_RUN], o11[WARP_RUN];
  float wx[WARP_RUN], wy[WARP_RUN];
  for (size_t row = lo; row < hi; row++) {
    const size_t b = row / h, oy = row % h;
    const float *fx = flow + (b * 2) * hw + oy * w, *fy = fx + hw;
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
        const float *xp = x + (b * c + ch) * hw;
        float *out = y + (b * c + ch) * hw + oy * w + x0r;
        for (size_t k = 0; k < n; k++) {
          const float lx = wx[k], ly = wy[k];
          out[k] = (1 - ly) * ((1 - lx) * xp[o00[k]] + lx * xp[o01[k]]) +
                   ly * ((1 - lx) * xp[o10[k]] + lx * xp[o11[k]]);
        }
      }
    }
  }
}

void fk_nn_cpu_warp(const float *x, const float *flow, float *y, size_t n, size_t c, size_t h,
                    size_t w) {
  fk_nn_cpu_warp_rows(x, flow, y, c, h, w, 0, n * h);
}

void fk_nn_cpu_conv_transpose2d(const fk_nn_ct *g, const float *x, const float *w,
                                const float *bias, float *y) {
  /* Scatter form (the definition): every input pixel adds its kernel. */
  size_t per = (size_t)g->cout * g->oh * g->ow;
  for (uint32_t n = 0; n < g->n; n++) {
    double *acc = calloc(per, sizeof *acc);
    if (!acc) return; /* the caller's NaN-poisoned output then fails the test */
    for (uint32_t co = 0; co < g->cout; co++)
      for (size_t i = 0; i < (size_t)g->oh * g->ow; i++)
        acc[co * (size_t)g->oh * g->ow + i] = bias ? bias[co] : 0.0;
    for (uint32_t ci = 0; ci < g->cin; ci++)
      for (uint32_t iy = 0; iy < g->h; iy++)
        for (uint32_t ix = 0; ix < g->w; ix++) {
          double v = x[(((size_t)n * g->cin + ci) * g->h + iy) * g->w + ix];
          for (uint32_t co = 0; co < g->cout; co++)
            for (uint32_t ky = 0; ky < g->k; ky++) {
              long oy = (long)iy * g->stride - g->pad + (long)ky;
              if (oy < 0 || oy >= (long)g->oh) continue;
              for (uint32_t kx = 0; kx < g->k; kx++) {
                long ox = (long)ix * g->stride - g->pad + (long)kx;
                if (ox < 0 || ox >= (long)g->ow) continue;
                acc[((size_t)co * g->oh + (size_t)oy) * g->ow + (size_t)ox] +=
                    v * w[(((size_t)ci * g->cout + co) * g->k + ky) * g->k + kx];
              }
            }
        }
    for (size_t i = 0; i < per; i++) y[(size_t)n * per + i] = (float)acc[i];
    free(acc);
  }
}

void fk_nn_cpu_transpose(const float *x, float *y, size_t b, size_t m, size_t n) {
  for (size_t z = 0; z < b; z++)
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++) y[(z * n + j) * m + i] = x[(z * m + i) * n + j];
}
