/* Elementwise CPU kernels: split across the pool in chunks, inner loops
 * written so the compiler vectorises them (AVX2 clones where available),
 * with the branch-free exp/erf of cpu_math.h. */
#include <string.h>

#include "nn/cpu_internal.h"
#include "nn/cpu_math.h"

/* Chunks below this many elements are not worth waking a thread for. */
#define GRAIN 16384

typedef struct unary_job {
  fk_nn_unary op;
  const float *x;
  float *y;
  float alpha, beta;
} unary_job;

FK_CPU_CLONES static void unary_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const unary_job *j = ctx;
  const float *x = j->x;
  float *y = j->y, a = j->alpha, b = j->beta;
  switch (j->op) {
  case FK_NN_SILU:
    for (size_t i = lo; i < hi; i++) y[i] = fk_cpu_silu(x[i]);
    break;
  case FK_NN_GELU:
    for (size_t i = lo; i < hi; i++) y[i] = fk_cpu_gelu(x[i]);
    break;
  case FK_NN_QUICK_GELU:
    for (size_t i = lo; i < hi; i++) y[i] = x[i] / (1.0f + fk_cpu_expf(-1.702f * x[i]));
    break;
  case FK_NN_LEAKY_RELU:
    for (size_t i = lo; i < hi; i++) y[i] = x[i] >= 0 ? x[i] : a * x[i];
    break;
  case FK_NN_SIGMOID:
    for (size_t i = lo; i < hi; i++) y[i] = 1.0f / (1.0f + fk_cpu_expf(-x[i]));
    break;
  case FK_NN_CLAMP:
    for (size_t i = lo; i < hi; i++) y[i] = x[i] < a ? a : x[i] > b ? b : x[i];
    break;
  case FK_NN_SCALE_BIAS:
    for (size_t i = lo; i < hi; i++) y[i] = x[i] * a + b;
    break;
  }
}

void fk_cpu_unary(fk_cpu_pool *p, fk_nn_unary op, const float *x, float *y, size_t n, float alpha,
                  float beta) {
  unary_job j = {op, x, y, alpha, beta};
  fk_cpu_parallel_for(p, n, GRAIN, unary_range, &j);
}

typedef struct binary_job {
  fk_nn_binary op;
  const float *a, *b;
  float *y;
  const int64_t *shape, *bst;
} binary_job;

/* Same-shape operands: one flat loop. */
FK_CPU_CLONES static void binary_flat(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const binary_job *j = ctx;
  const float *a = j->a, *b = j->b;
  float *y = j->y;
  if (j->op == FK_NN_ADD)
    for (size_t i = lo; i < hi; i++) y[i] = a[i] + b[i];
  else
    for (size_t i = lo; i < hi; i++) y[i] = a[i] * b[i];
}

/* Broadcast: items are rows of the last dimension; b's row is either a
 * contiguous run (stride 1) or one value repeated (stride 0). */
FK_CPU_CLONES static void binary_rows(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const binary_job *j = ctx;
  const int64_t *s = j->shape, *bs = j->bst;
  size_t len = (size_t)s[3];
  for (size_t r = lo; r < hi; r++) {
    size_t d2 = r % (size_t)s[2], d1 = r / (size_t)s[2] % (size_t)s[1],
           d0 = r / ((size_t)s[2] * (size_t)s[1]);
    const float *ar = j->a + r * len;
    const float *br = j->b + d0 * bs[0] + d1 * bs[1] + d2 * bs[2];
    float *yr = j->y + r * len;
    if (bs[3] == 0) {
      float v = br[0];
      if (j->op == FK_NN_ADD)
        for (size_t i = 0; i < len; i++) yr[i] = ar[i] + v;
      else
        for (size_t i = 0; i < len; i++) yr[i] = ar[i] * v;
    } else if (j->op == FK_NN_ADD) {
      for (size_t i = 0; i < len; i++) yr[i] = ar[i] + br[i];
    } else {
      for (size_t i = 0; i < len; i++) yr[i] = ar[i] * br[i];
    }
  }
}

void fk_cpu_binary(fk_cpu_pool *p, fk_nn_binary op, const float *a, const float *b, float *y,
                   const int64_t *shape, const int64_t *bst) {
  binary_job j = {op, a, b, y, shape, bst};
  size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
  /* b covers a exactly when its strides are a's own row-major strides */
  int flat = bst[3] == 1 && bst[2] == shape[3] && bst[1] == shape[2] * shape[3] &&
             bst[0] == shape[1] * shape[2] * shape[3];
  if (flat) {
    fk_cpu_parallel_for(p, n, GRAIN, binary_flat, &j);
    return;
  }
  size_t rows = n / (size_t)shape[3], len = (size_t)shape[3];
  fk_cpu_parallel_for(p, rows, GRAIN / len + 1, binary_rows, &j);
}

typedef struct transpose_job {
  const float *x;
  float *y;
  size_t m, n, bm; /* bm: row blocks per batch entry */
} transpose_job;

#define TB 32 /* block edge: a block of each side fits in L1 */

static void transpose_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const transpose_job *j = ctx;
  size_t m = j->m, n = j->n;
  for (size_t it = lo; it < hi; it++) {
    size_t z = it / j->bm, i0 = it % j->bm * TB, i1 = i0 + TB < m ? i0 + TB : m;
    const float *x = j->x + z * m * n;
    float *y = j->y + z * m * n;
    for (size_t j0 = 0; j0 < n; j0 += TB) {
      size_t j1 = j0 + TB < n ? j0 + TB : n;
      for (size_t i = i0; i < i1; i++)
        for (size_t jj = j0; jj < j1; jj++) y[jj * m + i] = x[i * n + jj];
    }
  }
}

void fk_cpu_transpose(fk_cpu_pool *p, const float *x, float *y, size_t b, size_t m, size_t n) {
  transpose_job j = {x, y, m, n, (m + TB - 1) / TB};
  fk_cpu_parallel_for(p, b * j.bm, 1 + GRAIN / (TB * n + 1), transpose_range, &j);
}

typedef struct bias_job {
  float *y;
  size_t cols, ld;
  const float *bias;
  int per_row;
  fk_nn_act act;
  float alpha;
} bias_job;

FK_CPU_CLONES static void bias_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const bias_job *j = ctx;
  size_t cols = j->cols;
  for (size_t r = lo; r < hi; r++) {
    float *y = j->y + r * j->ld;
    if (j->bias && j->per_row) {
      float v = j->bias[r];
      for (size_t i = 0; i < cols; i++) y[i] += v;
    } else if (j->bias) {
      for (size_t i = 0; i < cols; i++) y[i] += j->bias[i];
    }
    if (j->act == FK_NN_ACT_SILU) {
      for (size_t i = 0; i < cols; i++) y[i] = fk_cpu_silu(y[i]);
    } else if (j->act == FK_NN_ACT_LEAKY) {
      float a = j->alpha;
      for (size_t i = 0; i < cols; i++) y[i] = y[i] >= 0 ? y[i] : a * y[i];
    }
  }
}

void fk_cpu_bias_act(fk_cpu_pool *p, float *y, size_t rows, size_t cols, size_t ld,
                     const float *bias, int bias_per_row, fk_nn_act act, float alpha) {
  bias_job j = {y, cols, ld, bias, bias_per_row, act, alpha};
  if (!p) {
    bias_range(&j, 0, rows, 0);
    return;
  }
  fk_cpu_parallel_for(p, rows, GRAIN / (cols + 1) + 1, bias_range, &j);
}

typedef struct nearest_job {
  const float *x;
  float *y;
  size_t h, w, oh, ow;
} nearest_job;

/* items: output rows over all planes */
static void nearest_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const nearest_job *j = ctx;
  for (size_t r = lo; r < hi; r++) {
    size_t plane = r / j->oh, oy = r % j->oh;
    const float *xr = j->x + (plane * j->h + oy * j->h / j->oh) * j->w;
    float *yr = j->y + r * j->ow;
    if (j->ow == 2 * j->w) {
      for (size_t i = 0; i < j->w; i++) yr[2 * i] = yr[2 * i + 1] = xr[i];
    } else {
      for (size_t ox = 0; ox < j->ow; ox++) yr[ox] = xr[ox * j->w / j->ow];
    }
  }
}

void fk_cpu_nearest(fk_cpu_pool *p, const float *x, float *y, size_t planes, size_t h, size_t w,
                    size_t oh, size_t ow) {
  nearest_job j = {x, y, h, w, oh, ow};
  fk_cpu_parallel_for(p, planes * oh, 1 + GRAIN / (ow + 1), nearest_range, &j);
}

/* The reference resampling and warp (cpu_ops.c, written by rows) with the
 * rows spread over the pool: the same results, bit for bit. */
typedef struct rows_job {
  fk_nn_resample mode;
  uint32_t r;
  const fk_nn_rs *g;
  const float *x, *flow;
  float *y;
  size_t c, h, w;
} rows_job;

static void resample_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const rows_job *j = ctx;
  fk_nn_cpu_resample_rows(j->mode, j->r, j->g, j->x, j->y, lo, hi);
}

void fk_cpu_resample(fk_cpu_pool *p, fk_nn_resample mode, uint32_t r, const fk_nn_rs *g,
                     size_t rows, const float *x, float *y) {
  rows_job j = {.mode = mode, .r = r, .g = g, .x = x, .y = y};
  fk_cpu_parallel_for(p, rows, 1 + GRAIN / (g->ow + 1), resample_range, &j);
}

static void warp_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const rows_job *j = ctx;
  fk_nn_cpu_warp_rows(j->x, j->flow, j->y, j->c, j->h, j->w, lo, hi);
}

void fk_cpu_warp(fk_cpu_pool *p, const float *x, const float *flow, float *y, size_t n, size_t c,
                 size_t h, size_t w) {
  rows_job j = {.x = x, .flow = flow, .y = y, .c = c, .h = h, .w = w};
  fk_cpu_parallel_for(p, n * h, 1 + GRAIN / (w * c + 1), warp_range, &j);
}

typedef struct copy_job {
  const float *x;
  float *y;
  size_t hw, count, cx, sx, cy, dy;
} copy_job;

static void copy_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const copy_job *j = ctx;
  for (size_t i = lo; i < hi; i++) {
    size_t b = i / j->count, c = i % j->count;
    memcpy(j->y + (b * j->cy + j->dy + c) * j->hw, j->x + (b * j->cx + j->sx + c) * j->hw,
           j->hw * sizeof *j->x);
  }
}

void fk_cpu_copy_channels(fk_cpu_pool *p, const float *x, float *y, size_t n, size_t hw,
                          size_t count, size_t cx, size_t sx, size_t cy, size_t dy) {
  copy_job j = {x, y, hw, count, cx, sx, cy, dy};
  fk_cpu_parallel_for(p, n * count, 1 + GRAIN / (hw + 1), copy_range, &j);
}
