/* conv2d on the CPU as implicit GEMM: y[co, pixels] = W[co, Cin kh kw] x
 * col[Cin kh kw, pixels], where col (im2col) is built for a tile of output
 * rows at a time in a bounded buffer (never the whole unfolded input: a
 * 64x64x2560 input would unfold to 377 MB). 1x1 stride-1 convolutions use
 * the input as it is. fp16 weights are widened a panel of output channels
 * at a time; the loop order (panels or tiles outside) is picked to widen
 * or unfold least. Bias and activation are applied per block while it is
 * still in cache. */
#include <cblas.h>
#include <string.h>

#include "nn/cpu_internal.h"

typedef struct unfold {
  const fk_nn_cg *g;
  const float *x; /* one image [Cin, H, W] */
  float *col;     /* [Cin kh kw, rows * OW] */
  uint32_t oy0, rows;
} unfold;

static void unfold_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const unfold *u = ctx;
  const fk_nn_cg *g = u->g;
  const fk_nn_conv *c = g->c;
  size_t ow = g->ow, np = (size_t)u->rows * ow;
  for (size_t ci = lo; ci < hi; ci++)
    for (uint32_t ky = 0; ky < g->kh; ky++)
      for (uint32_t kx = 0; kx < g->kw; kx++) {
        float *dst = u->col + ((ci * g->kh + ky) * g->kw + kx) * np;
        /* output columns whose input column ox s + kx - pad_l is inside */
        int64_t first = (int64_t)c->pad_l - kx, last = (int64_t)g->w - 1 + c->pad_l - kx;
        int64_t ox0 = first <= 0 ? 0 : (first + c->stride - 1) / c->stride;
        int64_t ox1 = last < 0 ? -1 : last / c->stride; /* inclusive */
        if (ox1 > (int64_t)ow - 1) ox1 = (int64_t)ow - 1;
        for (uint32_t r = 0; r < u->rows; r++) {
          float *d = dst + (size_t)r * ow;
          int64_t iy = (int64_t)(u->oy0 + r) * c->stride + ky - c->pad_t;
          if (iy < 0 || iy >= g->h || ox1 < ox0) {
            memset(d, 0, ow * sizeof *d);
            continue;
          }
          const float *src = u->x + (ci * g->h + (size_t)iy) * g->w;
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

int fk_cpu_conv2d(fk_cpu *cpu, const fk_nn_cg *g, const float *x, fk_cpu_mat w, const float *bias,
                  float *y, fk_err *e) {
  const fk_nn_conv *c = g->c;
  fk_cpu_pool *p = cpu->pool;
  size_t tile = cpu->tile;
  size_t k = (size_t)g->cin * g->kh * g->kw, pix = (size_t)g->oh * g->ow, cout = g->cout;
  int direct = g->kh == 1 && g->kw == 1 && c->stride == 1 && !c->pad_t && !c->pad_l && !c->pad_b &&
               !c->pad_r;
  /* weight panels (fp16 only: f32 weights are used in place) */
  size_t mb = cout;
  if (w.h) {
    mb = tile / k;
    mb = mb < 16 ? 16 : mb / 16 * 16;
    if (mb > cout) mb = cout;
  }
  size_t npanels = (cout + mb - 1) / mb;
  /* output-row tiles of the unfolded input */
  size_t tr = direct ? g->oh : 2 * tile / (k * g->ow); /* im2col: twice a panel */
  if (tr < 1) tr = 1;
  if (tr > g->oh) tr = g->oh;
  size_t ntiles = (g->oh + tr - 1) / tr;
  float *wbuf = w.h ? fk_cpu_scratch(cpu, 0, mb * k) : NULL;
  float *col = direct ? NULL : fk_cpu_scratch(cpu, 1, k * tr * g->ow);
  if ((w.h && !wbuf) || (!direct && !col))
    return fk_err_oom(e, "conv2d scratch (weight panel and im2col tile)",
                      (mb + tr * g->ow) * k * sizeof(float));
  /* Panels outside re-unfold per panel; tiles outside re-widen per tile. */
  int panels_outside = npanels == 1 || ntiles == 1 || (!direct && npanels * pix < ntiles * cout);
  if (direct) panels_outside = 1;
  size_t px_in = (size_t)g->cin * g->h * g->w, px_out = cout * pix;
  for (uint32_t n = 0; n < g->n; n++) {
    const float *xn = x + n * px_in;
    float *yn = y + n * px_out;
    size_t outer = panels_outside ? npanels : ntiles, inner = panels_outside ? ntiles : npanels;
    const float *wp = NULL;
    for (size_t o = 0; o < outer; o++)
      for (size_t i = 0; i < inner; i++) {
        size_t pi = panels_outside ? o : i, ti = panels_outside ? i : o;
        size_t co0 = pi * mb, rows = cout - co0 < mb ? cout - co0 : mb;
        uint32_t oy0 = (uint32_t)(ti * tr), nr = (uint32_t)(g->oh - oy0 < tr ? g->oh - oy0 : tr);
        size_t np = (size_t)nr * g->ow;
        if (panels_outside ? i == 0 : 1) fk_cpu_weight_panel(w, co0, rows, k, wbuf, &wp);
        const float *b = xn + (size_t)oy0 * g->ow; /* direct: the input rows themselves */
        int ldb = (int)pix;
        if (!direct && (panels_outside || i == 0)) {
          unfold u = {.g = g, .x = xn, .col = col, .oy0 = oy0, .rows = nr};
          fk_cpu_parallel_for(p, g->cin, 1, unfold_range, &u);
        }
        if (!direct) {
          b = col;
          ldb = (int)np;
        }
        float *out = yn + co0 * pix + (size_t)oy0 * g->ow;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)np, (int)k, 1.0f, wp,
                    (int)k, b, ldb, 0.0f, out, (int)pix);
        if (bias || c->act != FK_NN_ACT_NONE)
          fk_cpu_bias_act(p, out, rows, np, pix, bias ? bias + co0 : NULL, 1, c->act, c->alpha);
      }
  }
  return FK_OK;
}
