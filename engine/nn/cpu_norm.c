/* Normalisations on the CPU, threaded over independent groups or rows.
 * Means and variances are accumulated in double (two passes, as the
 * reference does): a group holds up to 10 channels x 64x64 values, where
 * float sums would drift. */
#include <math.h>

#include "nn/cpu_internal.h"
#include "nn/cpu_math.h"

/* Sum and sum of squared deviations with four independent accumulators:
 * one double add chain would stall on its latency. */
FK_CPU_INLINE double sum4(const float *x, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i];
    s1 += x[i + 1];
    s2 += x[i + 2];
    s3 += x[i + 3];
  }
  for (; i < n; i++) s0 += x[i];
  return (s0 + s1) + (s2 + s3);
}

FK_CPU_INLINE double sqdev4(const float *x, size_t n, double m) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    double d0 = x[i] - m, d1 = x[i + 1] - m, d2 = x[i + 2] - m, d3 = x[i + 3] - m;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < n; i++) s0 += (x[i] - m) * (x[i] - m);
  return (s0 + s1) + (s2 + s3);
}

typedef struct gn_job {
  const float *x, *gamma, *beta;
  float *y;
  size_t c, hw, cpg, groups;
  float eps;
  int silu;
} gn_job;

FK_CPU_CLONES static void gn_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const gn_job *j = ctx;
  size_t count = j->cpg * j->hw;
  for (size_t item = lo; item < hi; item++) {
    size_t b = item / j->groups, g = item % j->groups;
    const float *xs = j->x + (b * j->c + g * j->cpg) * j->hw;
    float *ys = j->y + (b * j->c + g * j->cpg) * j->hw;
    double mean = sum4(xs, count) / (double)count, var = sqdev4(xs, count, mean);
    /* the mean as hi + lo floats: x - hi is exact for x near the mean, so
     * (x - hi) - lo keeps the precision of the reference's double */
    float rstd = (float)(1.0 / sqrt(var / (double)count + j->eps)), m = (float)mean,
          mlo = (float)(mean - (double)m);
    for (size_t cc = 0; cc < j->cpg; cc++) {
      size_t ch = g * j->cpg + cc;
      /* (x - mean) (rstd gamma) + beta: folding the mean into the shift
       * (x sc + (beta - mean sc)) would cancel badly when |mean| >> std */
      float sc = rstd * j->gamma[ch], sh = j->beta[ch];
      const float *xc = xs + cc * j->hw;
      float *yc = ys + cc * j->hw;
      if (j->silu)
        for (size_t i = 0; i < j->hw; i++) yc[i] = fk_cpu_silu((xc[i] - m - mlo) * sc + sh);
      else
        for (size_t i = 0; i < j->hw; i++) yc[i] = (xc[i] - m - mlo) * sc + sh;
    }
  }
}

void fk_cpu_group_norm(fk_cpu_pool *p, const float *x, const float *gamma, const float *beta,
                       float *y, size_t n, size_t c, size_t hw, size_t groups, float eps,
                       int silu) {
  gn_job j = {x, gamma, beta, y, c, hw, c / groups, groups, eps, silu};
  fk_cpu_parallel_for(p, n * groups, 1, gn_range, &j);
}

typedef struct ln_job {
  const float *x, *gamma, *beta;
  float *y;
  size_t d;
  float eps;
} ln_job;

FK_CPU_CLONES static void ln_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const ln_job *j = ctx;
  size_t d = j->d;
  for (size_t r = lo; r < hi; r++) {
    const float *xr = j->x + r * d;
    float *yr = j->y + r * d;
    double mean = sum4(xr, d) / (double)d, var = sqdev4(xr, d, mean);
    float rstd = (float)(1.0 / sqrt(var / (double)d + j->eps)), m = (float)mean,
          mlo = (float)(mean - (double)m); /* as in group norm */
    for (size_t i = 0; i < d; i++) yr[i] = (xr[i] - m - mlo) * rstd * j->gamma[i] + j->beta[i];
  }
}

void fk_cpu_layer_norm(fk_cpu_pool *p, const float *x, const float *gamma, const float *beta,
                       float *y, size_t rows, size_t d, float eps) {
  ln_job j = {x, gamma, beta, y, d, eps};
  fk_cpu_parallel_for(p, rows, 1 + 8192 / (d + 1), ln_range, &j);
}

typedef struct sm_job {
  const float *x;
  float *y;
  size_t d;
} sm_job;

FK_CPU_CLONES static void sm_range(void *ctx, size_t lo, size_t hi, int worker) {
  (void)worker;
  const sm_job *j = ctx;
  size_t d = j->d;
  for (size_t r = lo; r < hi; r++) {
    const float *xr = j->x + r * d;
    float *yr = j->y + r * d;
    float m = xr[0];
    for (size_t i = 1; i < d; i++) m = xr[i] > m ? xr[i] : m;
    float s = 0;
    for (size_t i = 0; i < d; i++) s += yr[i] = fk_cpu_expf(xr[i] - m);
    float inv = 1.0f / s;
    for (size_t i = 0; i < d; i++) yr[i] *= inv;
  }
}

void fk_cpu_softmax(fk_cpu_pool *p, const float *x, float *y, size_t rows, size_t d) {
  sm_job j = {x, y, d};
  fk_cpu_parallel_for(p, rows, 1 + 8192 / (d + 1), sm_range, &j);
}
