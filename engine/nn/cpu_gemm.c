/* Matrix products on the CPU: OpenBLAS sgemm, one single-threaded call
 * per block, the blocks spread over the backend's own pool. One pool and
 * no OpenBLAS threads means nothing spins while the pool unfolds or
 * widens (OpenBLAS's idle threads yield in a loop, which on shared cores
 * took a tenth of the run). fp16 weights (the UNet's, kept at half the
 * memory) are widened on the pool into a bounded panel before use, so an
 * f32 copy of a large weight never exists whole. */
#include <cblas.h>

#include "nn/cpu_internal.h"

int fk_cpu_blas_single(void) {
  int n = openblas_get_num_threads();
  if (n != 1) openblas_set_num_threads(1);
  return n;
}

void fk_cpu_blas_restore(int threads) {
  if (threads != 1) openblas_set_num_threads(threads);
}

typedef struct widen_job {
  const uint16_t *h;
  float *f;
} widen_job;

static void widen_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const widen_job *j = ctx;
  fk_cpu_widen(j->h + lo, j->f + lo, hi - lo);
}

void fk_cpu_widen_par(fk_cpu_pool *p, const uint16_t *h, float *f, size_t n) {
  widen_job j = {h, f};
  fk_cpu_parallel_for(p, n, 1 << 16, widen_range, &j);
}

size_t fk_cpu_panel_rows(size_t budget, size_t rows, size_t k) {
  size_t r = budget / (k ? k : 1);
  r = r < 16 ? 16 : r / 16 * 16;
  return r < rows ? r : rows;
}

void fk_cpu_split(size_t m, size_t n, int threads, size_t *mb, size_t *nb) {
  size_t want = (size_t)threads * 2;
  /* rows first (A and C stay contiguous), in multiples of 16 */
  size_t r = (m + want - 1) / want;
  r = (r + 15) / 16 * 16;
  if (r < 32) r = 32;
  *mb = r < m ? r : m;
  size_t mblocks = (m + *mb - 1) / *mb;
  *nb = n;
  if (mblocks < want) { /* few rows (a time embedding, a small image): split columns */
    size_t per = (want + mblocks - 1) / mblocks, c = (n + per - 1) / per;
    c = (c + 15) / 16 * 16;
    if (c < 64) c = 64;
    *nb = c < n ? c : n;
  }
}

typedef struct mm_job {
  const float *a, *b, *bias;
  float *c;
  size_t m, n, k, ldb, ldc;
  size_t n0; /* first output column of this panel */
  size_t mb, nb, nblocks;
  int trans_b;
} mm_job;

static void mm_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const mm_job *j = ctx;
  for (size_t it = lo; it < hi; it++) {
    size_t m0 = it / j->nblocks * j->mb, c0 = it % j->nblocks * j->nb;
    size_t mr = j->m - m0 < j->mb ? j->m - m0 : j->mb, nr = j->n - c0 < j->nb ? j->n - c0 : j->nb;
    const float *b = j->trans_b ? j->b + c0 * j->ldb : j->b + c0;
    float *c = j->c + m0 * j->ldc + j->n0 + c0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans, (int)mr,
                (int)nr, (int)j->k, 1.0f, j->a + m0 * j->k, (int)j->k, b, (int)j->ldb, 0.0f, c,
                (int)j->ldc);
    if (j->bias)
      fk_cpu_bias_act(NULL, c, mr, nr, j->ldc, j->bias + j->n0 + c0, 0, FK_NN_ACT_NONE, 0);
  }
}

/* c [m, ldc] columns [n0, n0 + n) = a [m, k] x b (+ bias), on the pool. */
static void mm_par(fk_cpu *cpu, const float *a, const float *b, size_t ldb, int trans_b,
                   const float *bias, float *c, size_t m, size_t n, size_t k, size_t ldc,
                   size_t n0) {
  mm_job j = {.a = a,
              .b = b,
              .bias = bias,
              .c = c,
              .m = m,
              .n = n,
              .k = k,
              .ldb = ldb,
              .ldc = ldc,
              .n0 = n0,
              .trans_b = trans_b};
  fk_cpu_split(m, n, fk_cpu_pool_threads(cpu->pool), &j.mb, &j.nb);
  j.nblocks = (n + j.nb - 1) / j.nb;
  size_t items = (m + j.mb - 1) / j.mb * j.nblocks;
  fk_cpu_parallel_for(cpu->pool, items, 1, mm_range, &j);
}

int fk_cpu_matmul(fk_cpu *cpu, const fk_nn_mm *g, const float *a, fk_cpu_mat b, const float *bias,
                  float *c, fk_err *e) {
  size_t m = g->m, n = g->n, k = g->k, batches = g->batch;
  /* A weight shared by the batch: one product over all the batch's rows. */
  if (g->sb == 0 && batches > 1 && g->sa == g->m * g->k) {
    m *= batches;
    batches = 1;
  }
  size_t budget = FK_CPU_WEIGHT_TILES * cpu->tile, nb = n;
  float *panel = NULL;
  if (b.h) {
    nb = fk_cpu_panel_rows(budget, n, k); /* rows of b^T, or columns of b */
    panel = fk_cpu_scratch(cpu, FK_CPU_SLOT_WEIGHTS, nb * k);
    if (!panel) return fk_err_oom(e, "a matmul weight panel", nb * k * sizeof *panel);
  }
  int blas = fk_cpu_blas_single();
  for (size_t z = 0; z < batches; z++) {
    const float *az = a + z * g->sa;
    float *cz = c + z * g->sc;
    if (b.f) {
      mm_par(cpu, az, b.f + z * g->sb, g->trans_b ? k : n, g->trans_b, bias, cz, m, n, k, n, 0);
      continue;
    }
    const uint16_t *bz = b.h + z * g->sb;
    for (size_t n0 = 0; n0 < n; n0 += nb) {
      size_t cols = n - n0 < nb ? n - n0 : nb;
      if (g->trans_b) { /* b [n, k]: rows n0.. are output columns n0.. */
        fk_cpu_widen_par(cpu->pool, bz + n0 * k, panel, cols * k);
        mm_par(cpu, az, panel, k, 1, bias, cz, m, cols, k, n, n0);
      } else { /* b [k, n]: a column block, widened row by row into [k, cols] */
        for (size_t r = 0; r < k; r++) fk_cpu_widen(bz + r * n + n0, panel + r * cols, cols);
        mm_par(cpu, az, panel, cols, 0, bias, cz, m, cols, k, n, n0);
      }
    }
  }
  fk_cpu_blas_restore(blas);
  return FK_OK;
}
