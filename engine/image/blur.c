/* The separable Gaussian blur, scipy.ndimage.gaussian_filter's numbers
 * (mode 'nearest', truncate 4.0) at float precision.
 *
 * Speed: an interleaved RGB row is one flat array of 3w floats, so the
 * horizontal pass is out[i] = sum_j w_j pad[i + 3j] over a padded copy of
 * the row and the vertical pass is out_row = sum_j w_j row[y + j - r]. Both
 * kernels accumulate a block of 64 outputs in registers across all taps
 * (one load per multiply-add, no traffic to the output until the end),
 * built with -O3 and AVX2/AVX-512 clones chosen at run time. Horizontally
 * filtered rows live in a ring of 2r+1 rows per thread (about 100 KB at
 * 512 pixels, sigma 2: cache-resident), filled just ahead of the vertical
 * pass, so no image-sized temporary is touched; in place, not even the
 * output is. Two threads split the rows of images from 256x256 up. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define FK_BLUR_THREADS 2
#define BLOCK 64                          /* outputs per block: 8 vectors of 8 */
#define A64(n) (((n) + 15) & ~(size_t)15) /* floats, rounded up to 64 bytes */

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

/* 8 floats; aligned(4) so that loads from any float address are allowed.
 * One AVX register, or two SSE ones in the baseline clone. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* out[i] = sum_j w[j] * src[j][i + j * step], i < n: the horizontal pass
 * (src[j] = pad for every j, step 3) and the vertical one (src[j] = the
 * j-th row, step 0) in one kernel, 64 outputs at a time in eight vector
 * accumulators. */
FK_CLONES static void taps(const float *const *src, size_t step, float *restrict out, size_t n,
                           const float *restrict w, int ntaps) {
  size_t i = 0;
  for (; i + BLOCK <= n; i += BLOCK) {
    v8 a[BLOCK / 8];
    for (int k = 0; k < BLOCK / 8; k++) a[k] = (v8){0, 0, 0, 0, 0, 0, 0, 0};
    for (int j = 0; j < ntaps; j++) {
      const float x = w[j];
      const v8 wj = {x, x, x, x, x, x, x, x};
      const float *s = src[j] + i + (size_t)j * step;
      for (int k = 0; k < BLOCK / 8; k++) a[k] += wj * *(const v8 *)(s + 8 * k);
    }
    for (int k = 0; k < BLOCK / 8; k++) *(v8 *)(out + i + 8 * k) = a[k];
  }
  for (; i < n; i++) {
    float acc = 0.0f;
    for (int j = 0; j < ntaps; j++) acc += w[j] * src[j][i + (size_t)j * step];
    out[i] = acc;
  }
}

typedef struct job {
  const fk_image *src;
  float *dst; /* src->px itself when blurring in place */
  /* In place, the rows within r of a boundary between two threads' rows
   * are read by both while one of them overwrites them: both read a copy,
   * edge[0] of rows edge_y[0] .. edge_y[0] + edge_n[0] - 1 above y0 and
   * edge[1] below y1 (NULL: none). */
  const float *edge[2];
  int edge_y[2], edge_n[2];
  const float *w;
  int radius, y0, y1;
  float *ring; /* (2r+1) filtered rows, ring_stride floats apart */
  size_t ring_stride;
  float *pad;         /* one padded source row */
  const float **ptrs; /* 2r+1 row pointers */
} job;

static void hrow(const job *j, int y, float *out) {
  const int w = j->src->w, r = j->radius, ntaps = 2 * r + 1;
  const size_t row = (size_t)w * 3;
  const float *in = j->src->px + (size_t)y * row;
  for (int k = 0; k < 2; k++)
    if (j->edge[k] && y >= j->edge_y[k] && y < j->edge_y[k] + j->edge_n[k])
      in = j->edge[k] + (size_t)(y - j->edge_y[k]) * row;
  float *pad = j->pad;
  for (int k = 0; k < r; k++) memcpy(pad + (size_t)k * 3, in, 3 * sizeof *in);
  memcpy(pad + (size_t)r * 3, in, row * sizeof *in);
  for (int k = 0; k < r; k++) memcpy(pad + (size_t)(r + w + k) * 3, in + row - 3, 3 * sizeof *in);
  for (int k = 0; k < ntaps; k++) j->ptrs[k] = pad;
  taps(j->ptrs, 3, out, row, j->w, ntaps);
}

static void run_job(job *j) {
  const int h = j->src->h, r = j->radius, ntaps = 2 * r + 1;
  const size_t row = (size_t)j->src->w * 3;
  int next = j->y0 - r < 0 ? 0 : j->y0 - r; /* next source row to filter */
  for (int y = j->y0; y < j->y1; y++) {
    int need = y + r < h ? y + r : h - 1;
    for (; next <= need; next++) hrow(j, next, j->ring + (size_t)(next % ntaps) * j->ring_stride);
    for (int k = 0; k < ntaps; k++) {
      int yy = y + k - r;
      yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
      j->ptrs[k] = j->ring + (size_t)(yy % ntaps) * j->ring_stride;
    }
    taps(j->ptrs, 0, j->dst + (size_t)y * row, row, j->w, ntaps);
  }
}

static void *thread_main(void *arg) {
  run_job(arg);
  return NULL;
}

int fk_image_blur(const fk_image *src, fk_image *dst, double sigma, fk_err *e) {
  if (!(sigma > 0)) {
    if (dst == src) return FK_OK;
    return fk_image_copy(src, dst, e);
  }
  float *w;
  int r;
  if (fk_image_gauss_weights(sigma, &w, &r, e)) return e->code;
  const int ntaps = 2 * r + 1;
  const size_t row = (size_t)src->w * 3, n = row * (size_t)src->h;
  const int threads = (size_t)src->w * (size_t)src->h >= 256 * 256 ? FK_BLUR_THREADS : 1;
  /* per thread: the ring, a padded row and the row pointers. The ring's
   * rows start on 64-byte lines, so the vertical pass's vector loads never
   * straddle two lines (a split load costs two). */
  const size_t ring_stride = A64(row);
  const size_t per =
      A64((size_t)ntaps * ring_stride + (size_t)(src->w + 2 * r) * 3) + A64(2 * (size_t)ntaps);
  /* In place, output row y goes straight into source row y, which was
   * last read r rows ago and is still in cache, instead of into a fresh
   * image that every store would first fetch from memory. The rows around
   * each boundary between threads are copied first (see job.edge). */
  const int in_place = dst == src;
  const size_t edge_rows = in_place ? 2 * (size_t)r : 0;
  float *scratch = fk_alloc(per * (size_t)threads + edge_rows * row * (size_t)(threads - 1) + 15,
                            sizeof *scratch);
  float *aligned = scratch + (64 - (uintptr_t)scratch % 64) % 64 / sizeof *scratch;
  float *out = in_place ? dst->px : fk_alloc(n, sizeof *out); /* all written: no zeroing */
  if (!scratch || !out) {
    free(w);
    free(scratch);
    if (!in_place) free(out);
    return fk_err_oom(e, "a blurred image", n * sizeof *out);
  }
  job jobs[FK_BLUR_THREADS];
  pthread_t tid[FK_BLUR_THREADS];
  int started[FK_BLUR_THREADS] = {0};
  for (int i = 0; i < threads; i++) {
    float *base = aligned + per * (size_t)i;
    jobs[i] = (job){.src = src,
                    .dst = out,
                    .w = w,
                    .radius = r,
                    .y0 = src->h * i / threads,
                    .y1 = src->h * (i + 1) / threads,
                    .ring = base,
                    .ring_stride = ring_stride,
                    .pad = base + (size_t)ntaps * ring_stride,
                    .ptrs = (const float **)(void *)(base + A64((size_t)ntaps * ring_stride +
                                                                (size_t)(src->w + 2 * r) * 3))};
  }
  for (int i = 1; i < threads && in_place; i++) { /* the boundary at jobs[i].y0 */
    float *copy = aligned + per * (size_t)threads + edge_rows * row * (size_t)(i - 1);
    int y0 = jobs[i].y0 - r < 0 ? 0 : jobs[i].y0 - r;
    int y1 = jobs[i].y0 + r > src->h ? src->h : jobs[i].y0 + r;
    memcpy(copy, src->px + (size_t)y0 * row, (size_t)(y1 - y0) * row * sizeof *copy);
    jobs[i].edge[0] = jobs[i - 1].edge[1] = copy;
    jobs[i].edge_y[0] = jobs[i - 1].edge_y[1] = y0;
    jobs[i].edge_n[0] = jobs[i - 1].edge_n[1] = y1 - y0;
  }
  for (int i = 1; i < threads; i++)
    started[i] = !pthread_create(&tid[i], NULL, thread_main, &jobs[i]);
  run_job(&jobs[0]);
  for (int i = 1; i < threads; i++) {
    if (started[i])
      pthread_join(tid[i], NULL);
    else
      run_job(&jobs[i]); /* no thread to be had: do it here */
  }
  free(scratch);
  free(w);
  if (!in_place) {
    dst->w = src->w;
    dst->h = src->h;
    dst->px = out;
  }
  return FK_OK;
}
