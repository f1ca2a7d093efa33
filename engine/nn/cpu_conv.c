/* conv2d on the CPU as implicit GEMM: y[co, pixels] = W[co, Cin kh kw] x
 * col[Cin kh kw, pixels], where col (im2col) holds one tile of output rows
 * in a bounded per-worker buffer (never the whole unfolded input: a
 * 64x64x2560 input would unfold to 377 MB); 1x1 stride-1 convolutions
 * read the input as it is. Work items are (image, row tile, block of
 * output channels); each pool worker unfolds its own tile and runs a
 * single-threaded sgemm, then adds bias and activation while the block
 * is in cache. fp16 weights are widened on the pool a panel of output
 * channels at a time (all of them when they fit the panel budget). */
#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "nn/cpu_internal.h"

/* Unfolds input channels [c0, c1) of image x for output rows [oy0, oy0 +
 * rows) into col (row (ci, ky, kx) holds rows * OW values). */
static void unfold(const fk_nn_cg *g, const float *x, float *col, uint32_t oy0, uint32_t rows) {
  const fk_nn_conv *c = g->c;
  size_t ow = g->ow, np = (size_t)rows * ow;
  for (size_t ci = 0; ci < g->cin; ci++)
    for (uint32_t ky = 0; ky < g->kh; ky++)
      for (uint32_t kx = 0; kx < g->kw; kx++) {
        float *dst = col + ((ci * g->kh + ky) * g->kw + kx) * np;
        /* output columns whose input column ox s + kx - pad_l is inside */
        int64_t first = (int64_t)c->pad_l - kx, last = (int64_t)g->w - 1 + c->pad_l - kx;
        int64_t ox0 = first <= 0 ? 0 : (first + c->stride - 1) / c->stride;
        int64_t ox1 = last < 0 ? -1 : last / c->stride; /* inclusive */
        if (ox1 > (int64_t)ow - 1) ox1 = (int64_t)ow - 1;
        for (uint32_t r = 0; r < rows; r++) {
          float *d = dst + (size_t)r * ow;
          int64_t iy = (int64_t)(oy0 + r) * c->stride + ky - c->pad_t;
          if (iy < 0 || iy >= g->h || ox1 < ox0) {
            memset(d, 0, ow * sizeof *d);
            continue;
          }
          const float *src = x + (ci * g->h + (size_t)iy) * g->w;
          memset(d, 0, (size_t)ox0 * sizeof *d);
          int64_t ix0 = ox0 * c->stride + kx - c->pad_l;
          if (c->stride == 1) {
            memcpy(d + ox0, src + ix0, (size_t)(ox1 - ox0 + 1) * sizeof *d);
          } else {
            for (int64_t ox = ox0, ix = ix0; ox <= ox1; ox++, ix += c->stride) d[ox] = src[ix];
          }
          memset(d + ox1 + 1, 0, (size_t)((int64_t)ow - 1 - ox1) * sizeof *d);
        }
      }
}

#define MAX_WORKERS 256

typedef struct conv_job {
  const fk_nn_cg *g;
  const float *x, *wp, *bias;
  float *y;
  size_t k, pix, co0, rows; /* the panel: output channels [co0, co0 + rows) */
  int direct;
  size_t tr, ntiles, mb, mblocks;
  float *cols;
  size_t col_stride;
  size_t built[MAX_WORKERS]; /* which (image, tile) a worker's col holds */
} conv_job;

static void conv_range(void *ctx, size_t lo, size_t hi, int worker) {
  conv_job *j = ctx;
  const fk_nn_cg *g = j->g;
  for (size_t it = lo; it < hi; it++) {
    size_t gt = it / j->mblocks, mc = it % j->mblocks;
    size_t img = gt / j->ntiles, ti = gt % j->ntiles;
    uint32_t oy0 = (uint32_t)(ti * j->tr),
             nr = (uint32_t)(g->oh - oy0 < j->tr ? g->oh - oy0 : j->tr);
    size_t np = (size_t)nr * g->ow;
    const float *xn = j->x + img * (size_t)g->cin * g->h * g->w, *b = xn + (size_t)oy0 * g->ow;
    int ldb = (int)j->pix;
    if (!j->direct) {
      float *col = j->cols + (size_t)worker * j->col_stride;
      if (j->built[worker] != gt) {
        unfold(g, xn, col, oy0, nr);
        j->built[worker] = gt;
      }
      b = col;
      ldb = (int)np;
    }
    size_t m0 = mc * j->mb, mr = j->rows - m0 < j->mb ? j->rows - m0 : j->mb;
    float *out =
        j->y + img * (size_t)g->cout * j->pix + (j->co0 + m0) * j->pix + (size_t)oy0 * g->ow;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mr, (int)np, (int)j->k, 1.0f,
                j->wp + m0 * j->k, (int)j->k, b, ldb, 0.0f, out, (int)j->pix);
    if (j->bias || g->c->act != FK_NN_ACT_NONE)
      fk_cpu_bias_act(NULL, out, mr, np, j->pix, j->bias ? j->bias + j->co0 + m0 : NULL, 1,
                      g->c->act, g->c->alpha);
  }
}

int fk_cpu_conv2d(fk_cpu *cpu, const fk_nn_cg *g, const float *x, fk_cpu_mat w, const float *bias,
                  float *y, fk_err *e) {
  const fk_nn_conv *c = g->c;
  int threads = fk_cpu_pool_threads(cpu->pool);
  if (threads > MAX_WORKERS) threads = MAX_WORKERS;
  size_t k = (size_t)g->cin * g->kh * g->kw, pix = (size_t)g->oh * g->ow, cout = g->cout;
  int direct = g->kh == 1 && g->kw == 1 && c->stride == 1 && !c->pad_t && !c->pad_l && !c->pad_b &&
               !c->pad_r;
  /* weight panels: fp16 weights widened into at most the panel budget */
  size_t prow = w.h ? fk_cpu_panel_rows(FK_CPU_WEIGHT_TILES * cpu->tile, cout, k) : cout;
  float *wbuf = w.h ? fk_cpu_scratch(cpu, FK_CPU_SLOT_WEIGHTS, prow * k) : NULL;
  /* output-row tiles: one tile's unfolded input fits two scratch tiles
   * (8 MB by default: wide enough for sgemm even at K = 23040) */
  size_t tr = direct ? g->oh : 2 * cpu->tile / (k * g->ow);
  if (tr < 1) tr = 1;
  if (tr > g->oh) tr = g->oh;
  /* enough items for every worker: smaller tiles while they stay wide */
  size_t want = (size_t)threads * 2;
  while (g->n * ((g->oh + tr - 1) / tr) < want && tr > 1 && (tr / 2) * g->ow >= 256) tr /= 2;
  size_t ntiles = (g->oh + tr - 1) / tr;
  float *cols = direct ? NULL : fk_cpu_scratch(cpu, FK_CPU_SLOT_COLS, threads * k * tr * g->ow);
  if ((w.h && !wbuf) || (!direct && !cols))
    return fk_err_oom(e, "conv2d scratch (weight panel and im2col tiles)",
                      (prow + threads * tr * g->ow) * k * sizeof(float));
  int blas = fk_cpu_blas_single();
  for (size_t co0 = 0; co0 < cout; co0 += prow) {
    size_t rows = cout - co0 < prow ? cout - co0 : prow;
    const float *wp = w.f ? w.f + co0 * k : wbuf;
    if (w.h) fk_cpu_widen_par(cpu->pool, w.h + co0 * k, wbuf, rows * k);
    conv_job job = {.g = g,
                    .x = x,
                    .wp = wp,
                    .bias = bias,
                    .y = y,
                    .k = k,
                    .pix = pix,
                    .co0 = co0,
                    .rows = rows,
                    .direct = direct,
                    .tr = tr,
                    .ntiles = ntiles,
                    .cols = cols,
                    .col_stride = k * tr * g->ow};
    conv_job *j = &job;
    memset(j->built, 0xff, sizeof j->built);
    /* few tiles (small images): split the output channels too */
    size_t tiles = g->n * ntiles, per = (want + tiles - 1) / tiles;
    size_t mb = (rows + per - 1) / per;
    mb = (mb + 15) / 16 * 16;
    if (mb < 32) mb = 32;
    j->mb = mb < rows ? mb : rows;
    j->mblocks = (rows + j->mb - 1) / j->mb;
    /* items tile-major: a worker's consecutive items share its unfolded tile */
    fk_cpu_parallel_for(cpu->pool, tiles * j->mblocks, 1, conv_range, j);
  }
  fk_cpu_blas_restore(blas);
  return FK_OK;
}
