/* Matrix products on the CPU with OpenBLAS sgemm. fp16 weights (the
 * UNet's, kept at half the memory) are widened a panel of rows at a time
 * into a scratch buffer sized to stay in cache, so no f32 copy of a
 * weight ever exists beyond one panel. */
#include <cblas.h>

#include "nn/cpu_internal.h"

void fk_cpu_weight_panel(fk_cpu_mat w, size_t row0, size_t rows, size_t k, float *scratch,
                         const float **panel) {
  if (w.f) {
    *panel = w.f + row0 * k;
    return;
  }
  fk_cpu_widen(w.h + row0 * k, scratch, rows * k);
  *panel = scratch;
}

/* Rows of a [rows, k] weight per panel of `tile` floats (the default 4 MB
 * stays in the last-level cache between widening and use): a multiple of
 * 16, sgemm's blocking. */
static size_t panel_rows(size_t tile, size_t rows, size_t k) {
  size_t r = tile / (k ? k : 1);
  r = r < 16 ? 16 : r / 16 * 16;
  return r < rows ? r : rows;
}

int fk_cpu_matmul(fk_cpu *cpu, const fk_nn_mm *g, const float *a, fk_cpu_mat b, const float *bias,
                  float *c, fk_err *e) {
  size_t m = g->m, n = g->n, k = g->k, batches = g->batch, tile = cpu->tile;
  /* A weight shared by the batch: one product over all the batch's rows. */
  if (g->sb == 0 && batches > 1 && g->sa == g->m * g->k) {
    m *= batches;
    batches = 1;
  }
  float *scratch = NULL;
  if (b.h) {
    size_t need = panel_rows(tile, n, k) * k; /* rows of b, or its columns */
    scratch = fk_cpu_scratch(cpu, 0, need);
    if (!scratch) return fk_err_oom(e, "a matmul weight panel", need * sizeof *scratch);
  }
  for (size_t z = 0; z < batches; z++) {
    const float *az = a + z * g->sa;
    float *cz = c + z * g->sc;
    if (b.f) {
      const float *bz = b.f + z * g->sb;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans, (int)m,
                  (int)n, (int)k, 1.0f, az, (int)k, bz, g->trans_b ? (int)k : (int)n, 0.0f, cz,
                  (int)n);
      continue;
    }
    const uint16_t *bz = b.h + z * g->sb;
    size_t nb = panel_rows(tile, n, k);
    for (size_t n0 = 0; n0 < n; n0 += nb) {
      size_t cols = n - n0 < nb ? n - n0 : nb;
      if (g->trans_b) {
        /* b [n, k]: rows n0.. are output columns n0.. */
        fk_cpu_widen(bz + n0 * k, scratch, cols * k);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)cols, (int)k, 1.0f, az,
                    (int)k, scratch, (int)k, 0.0f, cz + n0, (int)n);
      } else {
        /* b [k, n]: a column block, widened row by row into [k, cols] */
        for (size_t r = 0; r < k; r++) fk_cpu_widen(bz + r * n + n0, scratch + r * cols, cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)cols, (int)k, 1.0f, az,
                    (int)k, scratch, (int)cols, 0.0f, cz + n0, (int)n);
      }
    }
  }
  if (bias)
    fk_cpu_bias_act(cpu->pool, c, (size_t)g->batch * g->m, n, n, bias, 0, FK_NN_ACT_NONE, 0);
  return FK_OK;
}
