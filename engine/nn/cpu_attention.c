/* Attention on the CPU, flash style: for each (batch, head, tile of TQ
 * queries) the keys are visited a tile of TK at a time; scores of one
 * tile come from one sgemm, an online softmax rescales the running output
 * and sums, and a second sgemm adds probabilities x values. Memory per
 * worker is TQ x TK scores plus the TQ x D output, whatever the length
 * (a 4096 x 4096 score matrix per head never exists).
 * The pool runs the tiles in parallel, each with a single-threaded sgemm:
 * the products are too small (TQ x TK x D) to split further. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu_internal.h"
#include "nn/cpu_math.h"

#define TQ 128
#define TK 512

typedef struct attn_job {
  const float *q, *k, *v;
  float *o;
  size_t lq, lk, heads, d, nqt;
  int causal;
  float scale;
  float *scratch;
  size_t per_worker;
} attn_job;

/* exp(s - mx) in place and the sum, with 8 partial sums (no add chain). */
FK_CPU_CLONES static float exp_row(float *s, size_t n, float mx) {
  for (size_t i = 0; i < n; i++) s[i] = fk_cpu_expf(s[i] - mx);
  float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int t = 0; t < 8; t++) p[t] += s[i + t];
  for (; i < n; i++) p[0] += s[i];
  return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

static void attn_range(void *ctx, size_t lo, size_t hi, int worker) {
  const attn_job *j = ctx;
  size_t d = j->d, ld = j->heads * d;
  float *S = j->scratch + (size_t)worker * j->per_worker, *O = S + TQ * TK, *m = O + TQ * d,
        *l = m + TQ;
  for (size_t t = lo; t < hi; t++) {
    size_t qt = t % j->nqt, bh = t / j->nqt, h = bh % j->heads, b = bh / j->heads;
    size_t q0 = qt * TQ, tq = j->lq - q0 < TQ ? j->lq - q0 : TQ;
    const float *Q = j->q + (b * j->lq + q0) * ld + h * d;
    const float *K = j->k + b * j->lk * ld + h * d, *V = j->v + b * j->lk * ld + h * d;
    for (size_t i = 0; i < tq; i++) {
      m[i] = -INFINITY;
      l[i] = 0;
    }
    memset(O, 0, tq * d * sizeof *O);
    size_t kend = j->causal && q0 + tq < j->lk ? q0 + tq : j->lk;
    for (size_t k0 = 0; k0 < kend; k0 += TK) {
      size_t kn = kend - k0 < TK ? kend - k0 : TK;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)tq, (int)kn, (int)d, j->scale, Q,
                  (int)ld, K + k0 * ld, (int)ld, 0.0f, S, (int)kn);
      for (size_t i = 0; i < tq; i++) {
        float *s = S + i * kn;
        /* causal: query q0 + i sees keys 0 .. q0 + i */
        size_t valid = kn;
        if (j->causal) valid = q0 + i + 1 <= k0 ? 0 : q0 + i + 1 - k0 < kn ? q0 + i + 1 - k0 : kn;
        if (valid == 0) {
          memset(s, 0, kn * sizeof *s);
          continue;
        }
        float mx = m[i];
        for (size_t c = 0; c < valid; c++) mx = s[c] > mx ? s[c] : mx;
        float corr = m[i] == -INFINITY ? 0.0f : fk_cpu_expf(m[i] - mx);
        float sum = exp_row(s, valid, mx);
        if (valid < kn) memset(s + valid, 0, (kn - valid) * sizeof *s);
        l[i] = l[i] * corr + sum;
        m[i] = mx;
        if (corr != 1.0f)
          for (size_t c = 0; c < d; c++) O[i * d + c] *= corr;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)tq, (int)d, (int)kn, 1.0f, S,
                  (int)kn, V + k0 * ld, (int)ld, 1.0f, O, (int)d);
    }
    for (size_t i = 0; i < tq; i++) {
      float inv = 1.0f / l[i], *out = j->o + (b * j->lq + q0 + i) * ld + h * d;
      for (size_t c = 0; c < d; c++) out[c] = O[i * d + c] * inv;
    }
  }
}

int fk_cpu_attention(fk_cpu *cpu, const float *q, const float *k, const float *v, float *o,
                     size_t b, size_t lq, size_t lk, size_t heads, size_t d, int causal,
                     fk_err *e) {
  fk_cpu_pool *p = cpu->pool;
  int threads = fk_cpu_pool_threads(p);
  attn_job j = {.q = q,
                .k = k,
                .v = v,
                .o = o,
                .lq = lq,
                .lk = lk,
                .heads = heads,
                .d = d,
                .nqt = (lq + TQ - 1) / TQ,
                .causal = causal,
                .scale = (float)(1.0 / sqrt((double)d)),
                .per_worker = (size_t)TQ * TK + (size_t)TQ * d + 2 * TQ};
  j.scratch = fk_cpu_scratch(cpu, 2, (size_t)threads * j.per_worker);
  if (!j.scratch)
    return fk_err_oom(e, "attention tiles", (size_t)threads * j.per_worker * sizeof(float));
  /* The pool's threads each run single-threaded sgemms here; OpenBLAS's
   * own threads would only compete with them. */
  int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
  fk_cpu_parallel_for(p, b * heads * j.nqt, 1, attn_range, &j);
  openblas_set_num_threads(blas_threads);
  return FK_OK;
}
