/* The separable Gaussian blur, scipy.ndimage.gaussian_filter's numbers
 * (mode 'nearest', truncate 4.0) at float precision.
 *
 * Speed: an interleaved RGB row is one flat array of 3w floats, so the
 * horizontal pass is out[i] = sum_j w_j pad[i + 3j] over a padded copy of
 * the row, and the vertical pass is out_row = sum_j w_j row[y + j]: both are
 * straight multiply-add loops over contiguous floats that the compiler
 * vectorises (built with -O3, with AVX2/AVX-512 clones picked at run time).
 * Rows are split between two threads for images of 256x256 and up. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define FK_BLUR_THREADS 2
#define FK_BLUR_MAX_RADIUS 4000

int fk_image_gauss_weights(double sigma, float **out, int *radius, fk_err *e) {
  *out = NULL;
  if (!(sigma > 0) || sigma > 1000)
    return fk_err_set(e, FK_EUSER, "blur sigma must be in (0, 1000] pixels, got %g", sigma);
  int r = (int)(4.0 * sigma + 0.5);
  float *w = fk_alloc(2 * (size_t)r + 1, sizeof *w);
  double *d = fk_alloc(2 * (size_t)r + 1, sizeof *d);
  if (!w || !d) {
    free(w);
    free(d);
    return fk_err_oom(e, "blur weights", (2 * (size_t)r + 1) * sizeof(double));
  }
  double sum = 0;
  for (int j = -r; j <= r; j++) sum += d[j + r] = exp(-0.5 * (double)j * j / (sigma * sigma));
  for (int j = 0; j <= 2 * r; j++) w[j] = (float)(d[j] / sum);
  free(d);
  *out = w;
  *radius = r;
  return FK_OK;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FK_CLONES
#endif

/* out[i] = sum_j w[j] * in[i + step j], i < n */
FK_CLONES static void conv_row(const float *restrict in, float *restrict out, size_t n,
                               const float *restrict w, int taps, size_t step) {
  for (size_t i = 0; i < n; i++) out[i] = w[0] * in[i];
  for (int j = 1; j < taps; j++) {
    const float wj = w[j];
    const float *src = in + (size_t)j * step;
    for (size_t i = 0; i < n; i++) out[i] += wj * src[i];
  }
}

/* out[i] = sum_j w[j] * rows[j][i] */
FK_CLONES static void sum_rows(const float *const *rows, float *restrict out, size_t n,
                               const float *restrict w, int taps) {
  const float *r0 = rows[0];
  for (size_t i = 0; i < n; i++) out[i] = w[0] * r0[i];
  for (int j = 1; j < taps; j++) {
    const float wj = w[j];
    const float *restrict src = rows[j];
    for (size_t i = 0; i < n; i++) out[i] += wj * src[i];
  }
}

typedef struct job {
  const fk_image *src;
  float *tmp, *dst;
  const float *w;
  int radius, y0, y1, pass;
  float *scratch; /* padded row (pass 0) or row pointers (pass 1) */
} job;

static void run_job(job *j) {
  const int w = j->src->w, h = j->src->h, r = j->radius, taps = 2 * r + 1;
  const size_t row = (size_t)w * 3;
  if (j->pass == 0) {
    float *pad = j->scratch;
    for (int y = j->y0; y < j->y1; y++) {
      const float *in = j->src->px + (size_t)y * row;
      for (int k = 0; k < r; k++) memcpy(pad + (size_t)k * 3, in, 3 * sizeof *in);
      memcpy(pad + (size_t)r * 3, in, row * sizeof *in);
      for (int k = 0; k < r; k++)
        memcpy(pad + (size_t)(r + w + k) * 3, in + row - 3, 3 * sizeof *in);
      conv_row(pad, j->tmp + (size_t)y * row, row, j->w, taps, 3);
    }
  } else {
    const float **rows = (const float **)(void *)j->scratch;
    for (int y = j->y0; y < j->y1; y++) {
      for (int k = 0; k < taps; k++) {
        int yy = y + k - r;
        yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
        rows[k] = j->tmp + (size_t)yy * row;
      }
      sum_rows(rows, j->dst + (size_t)y * row, row, j->w, taps);
    }
  }
}

static void *thread_main(void *arg) {
  run_job(arg);
  return NULL;
}

static void run_pass(job *jobs, int n) {
  pthread_t t[FK_BLUR_THREADS];
  int started[FK_BLUR_THREADS] = {0};
  for (int i = 1; i < n; i++) started[i] = pthread_create(&t[i], NULL, thread_main, &jobs[i]) == 0;
  run_job(&jobs[0]);
  for (int i = 1; i < n; i++) {
    if (started[i])
      pthread_join(t[i], NULL);
    else
      run_job(&jobs[i]); /* no thread to be had: do it here */
  }
}

int fk_image_blur(const fk_image *src, fk_image *dst, double sigma, fk_err *e) {
  if (!(sigma > 0)) {
    if (dst == src) return FK_OK;
    return fk_image_copy(src, dst, e);
  }
  float *w;
  int r;
  if (fk_image_gauss_weights(sigma, &w, &r, e)) return e->code;
  const size_t row = (size_t)src->w * 3, n = row * (size_t)src->h;
  int threads = (size_t)src->w * (size_t)src->h >= 256 * 256 ? FK_BLUR_THREADS : 1;
  size_t pad_floats = (size_t)(src->w + 2 * r) * 3;
  size_t ptr_floats = ((size_t)(2 * r + 1) * sizeof(float *) + sizeof(float) - 1) / sizeof(float);
  size_t scratch = pad_floats > ptr_floats ? pad_floats : ptr_floats;
  float *tmp = fk_alloc(n, sizeof *tmp);
  float *scr = fk_alloc(scratch * (size_t)threads, sizeof *scr);
  float *out = dst == src ? src->px : NULL;
  fk_image fresh = {0};
  if (tmp && scr && !out) {
    if (fk_image_new(&fresh, src->w, src->h, e) == FK_OK) out = fresh.px;
  }
  if (!tmp || !scr || !out) {
    free(w);
    free(tmp);
    free(scr);
    return e->code ? e->code : fk_err_oom(e, "blur buffers", n * sizeof *tmp);
  }
  job jobs[FK_BLUR_THREADS];
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < threads; i++)
      jobs[i] = (job){.src = src, .tmp = tmp, .dst = out, .w = w, .radius = r,
                      .y0 = src->h * i / threads, .y1 = src->h * (i + 1) / threads, .pass = pass,
                      .scratch = scr + scratch * (size_t)i};
    run_pass(jobs, threads);
  }
  free(tmp);
  free(scr);
  free(w);
  if (dst != src) *dst = fresh;
  return FK_OK;
}
