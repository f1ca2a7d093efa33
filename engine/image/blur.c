/* The separable Gaussian blur, scipy.ndimage.gaussian_filter's numbers
 * (mode 'nearest', truncate 4.0) at float precision.
 *
 * Speed: an interleaved RGB row is one flat array of 3w floats, so the
 * horizontal pass is out[i] = sum_j w_j in[i + 3(j - r)] and the vertical
 * pass is out_row = sum_j w_j row[y + j - r]. Both kernels accumulate a
 * block of outputs in registers across all taps (one load per multiply-add
 * at most, no traffic to the output until the end), built with -O3 and
 * AVX2/AVX-512 clones chosen at run time. The vertical kernel makes two
 * output rows at once, so each row it loads serves both: half the loads.
 * Horizontally filtered rows live in a ring of 2r+2 rows per thread (about
 * 100 KB at 512 pixels, sigma 2: cache-resident), filled just ahead of the
 * vertical pass, so no image-sized temporary is touched. Only the first
 * and last r pixels of a row go through a padded copy.
 *
 * Blurred in place, output row y goes over source row y, which was last
 * read r rows ago and is still in cache. Two threads split the rows of
 * images from 256x256 up. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define FK_BLUR_THREADS 2
#define BLOCK 96                          /* horizontal outputs per block: 12 vectors */
#define VB 32                             /* vertical: 4 vectors per row, two rows */
#define A64(n) (((n) + 15) & ~(size_t)15) /* floats, rounded up to 64 bytes */

static int check_sigma(double sigma, fk_err *e) {
  if (!(sigma > 0) || sigma > 1000)
    return fk_err_set(e, FK_EUSER, "blur sigma must be in (0, 1000] pixels, got %g", sigma);
  return FK_OK;
}

int fk_image_gauss_weights(double sigma, float **out, int *radius, fk_err *e) {
  *out = NULL;
  if (check_sigma(sigma, e)) return e->code;
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
#define FK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FK_CLONES
#endif

/* 8 floats; aligned(4) so that loads from any float address are allowed.
 * One AVX register, or two SSE ones in the baseline clone. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
#define SPLAT(x) ((v8){x, x, x, x, x, x, x, x})

/* out[i] = sum_j w[j] * src[i + 3 j], i < n: the horizontal pass. A last
 * partial block is done as a whole block ending at n, over outputs already
 * made (the same values again): a scalar tail, one dependent multiply-add
 * per tap, cost as much as the rest of a row. */
FK_CLONES static void hsum_plain(const float *src, float *restrict out, size_t n,
                                 const float *restrict w, int ntaps) {
  size_t i = 0;
  for (; i + BLOCK <= n || (i < n && n >= BLOCK && (i = n - BLOCK, 1)); i += BLOCK) {
    v8 a[BLOCK / 8];
    for (int k = 0; k < BLOCK / 8; k++) a[k] = SPLAT(0.0f);
    for (int j = 0; j < ntaps; j++) {
      const v8 wj = SPLAT(w[j]);
      const float *s = src + i + (size_t)j * 3;
      for (int k = 0; k < BLOCK / 8; k++) a[k] += wj * *(const v8 *)(s + 8 * k);
    }
    for (int k = 0; k < BLOCK / 8; k++) *(v8 *)(out + i + 8 * k) = a[k];
  }
  for (; i < n; i++) {
    float acc = 0.0f;
    for (int j = 0; j < ntaps; j++) acc += w[j] * src[i + (size_t)j * 3];
    out[i] = acc;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* hsum_plain's sums in the same order, with fewer loads: it was bound by
 * them (one per multiply-add, nearly half of them split across cache
 * lines). Output vector v at float 8q + 24 reads at tap j - 8 what the one
 * at 8q reads at tap j, so a block makes six vectors a[] and the six b[]
 * 24 floats after them, and each loaded vector serves one of each. GCC
 * would fold the load into both multiply-adds (two loads again); the empty
 * asm keeps it in a register. */
__attribute__((target("avx2,fma"))) static void
hsum_shared(const float *src, float *restrict out, size_t n, const float *restrict w, int ntaps) {
  const int a_end = ntaps < 8 ? ntaps : 8, b_only = ntaps > 8 ? ntaps : 8;
  for (size_t i = 0; i < n; i = i + 2 * BLOCK <= n || i + BLOCK == n ? i + BLOCK : n - BLOCK) {
    v8 a[6], b[6];
    const float *at[6]; /* a[q] is at src + 8 (q % 3) + 48 (q / 3) */
    for (int q = 0; q < 6; q++) {
      a[q] = b[q] = SPLAT(0.0f);
      at[q] = src + i + 8 * (q % 3) + 48 * (q / 3);
    }
    for (int j = 0; j < a_end; j++) {
      const v8 wa = SPLAT(w[j]);
      for (int q = 0; q < 6; q++) a[q] += wa * *(const v8 *)(at[q] + 3 * j);
    }
    for (int j = 8; j < ntaps; j++) {
      const v8 wa = SPLAT(w[j]), wb = SPLAT(w[j - 8]);
      for (int q = 0; q < 6; q++) {
        v8 x = *(const v8 *)(at[q] + 3 * j);
        __asm__("" : "+x"(x));
        a[q] += wa * x;
        b[q] += wb * x;
      }
    }
    for (int j = b_only; j < ntaps + 8; j++) {
      const v8 wb = SPLAT(w[j - 8]);
      for (int q = 0; q < 6; q++) b[q] += wb * *(const v8 *)(at[q] + 3 * j);
    }
    for (int q = 0; q < 6; q++) {
      float *o = out + i + 8 * (q % 3) + 48 * (q / 3);
      *(v8 *)o = a[q];
      *(v8 *)(o + 24) = b[q];
    }
  }
}
#endif

static void hsum(const float *src, float *restrict out, size_t n, const float *restrict w,
                 int ntaps) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (n >= BLOCK && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    hsum_shared(src, out, n, w, ntaps);
    return;
  }
#endif
  hsum_plain(src, out, n, w, ntaps);
}

/* The vertical pass, two rows: out0 = sum_j w[j] row[j] and, when out1 is
 * not NULL, out1 = sum_j w[j] row[j + 1]. The weights are symmetric, so
 * each output is w[r] row[r] + sum_d w[r + d] (row[r - d] + row[r + d]):
 * half the multiply-adds, the other half additions, which run beside them
 * (the pass was bound by multiply-adds). Every path sums in that order, so
 * a row's result does not depend on whether it was made in a pair. */
FK_CLONES static void vsum(const float *const *row, float *restrict out0, float *restrict out1,
                           size_t n, const float *restrict w, int ntaps) {
  const int r = ntaps / 2;
  const v8 wr = SPLAT(w[r]);
  size_t i = 0;
  for (; out1 && (i + VB <= n || (i < n && n >= VB && (i = n - VB, 1))); i += VB) {
    v8 a[VB / 8], b[VB / 8];
    for (int k = 0; k < VB / 8; k++) {
      a[k] = wr * *(const v8 *)(row[r] + i + 8 * k);
      b[k] = wr * *(const v8 *)(row[r + 1] + i + 8 * k);
    }
    for (int d = 1; d <= r; d++) {
      const v8 wd = SPLAT(w[r + d]);
      const float *a0 = row[r - d] + i, *a1 = row[r + d] + i;
      const float *b0 = row[r + 1 - d] + i, *b1 = row[r + 1 + d] + i;
      for (int k = 0; k < VB / 8; k++) {
        a[k] += wd * (*(const v8 *)(a0 + 8 * k) + *(const v8 *)(a1 + 8 * k));
        b[k] += wd * (*(const v8 *)(b0 + 8 * k) + *(const v8 *)(b1 + 8 * k));
      }
    }
    for (int k = 0; k < VB / 8; k++) {
      *(v8 *)(out0 + i + 8 * k) = a[k];
      *(v8 *)(out1 + i + 8 * k) = b[k];
    }
  }
  for (; !out1 && (i + BLOCK <= n || (i < n && n >= BLOCK && (i = n - BLOCK, 1))); i += BLOCK) {
    v8 a[BLOCK / 8];
    for (int k = 0; k < BLOCK / 8; k++) a[k] = wr * *(const v8 *)(row[r] + i + 8 * k);
    for (int d = 1; d <= r; d++) {
      const v8 wd = SPLAT(w[r + d]);
      for (int k = 0; k < BLOCK / 8; k++)
        a[k] +=
            wd * (*(const v8 *)(row[r - d] + i + 8 * k) + *(const v8 *)(row[r + d] + i + 8 * k));
    }
    for (int k = 0; k < BLOCK / 8; k++) *(v8 *)(out0 + i + 8 * k) = a[k];
  }
  for (; i < n; i++) {
    for (int o = 0; o < (out1 ? 2 : 1); o++) {
      const float *const *rw = row + o;
      float acc = w[r] * rw[r][i];
      for (int d = 1; d <= r; d++) acc += w[r + d] * (rw[r - d][i] + rw[r + d][i]);
      (o ? out1 : out0)[i] = acc;
    }
  }
}

/* The source rows. In place, the rows within r of a boundary
 * between two threads' rows are read by both while one of them overwrites
 * them: both read a copy, edge[0] of rows edge_y[0] .. edge_y[0] +
 * edge_n[0] - 1 above the thread's rows and edge[1] below (NULL: none). */
typedef struct {
  const fk_image *src;
  const float *edge[2];
  int edge_y[2], edge_n[2];
} image_rows;

static const float *image_row(const image_rows *s, int y) {
  const size_t row = (size_t)s->src->w * 3;
  for (int k = 0; k < 2; k++)
    if (s->edge[k] && y >= s->edge_y[k] && y < s->edge_y[k] + s->edge_n[k])
      return s->edge[k] + (size_t)(y - s->edge_y[k]) * row;
  return s->src->px + (size_t)y * row;
}

typedef struct job {
  int w, h, radius, y0, y1;
  const image_rows *src;
  float *dst;
  const float *wts;
  float *ring; /* 2r+2 filtered rows, ring_stride floats apart */
  size_t ring_stride;
  float *pad;         /* a padded row, or the padded ends of one */
  const float **ptrs; /* 2r+2 row pointers */
} job;

/* The first and last e = 3r outputs read past the row's ends: they come
 * from a padded copy of an end, E = e rounded up to whole blocks wide; the
 * rest read the row itself. */
static void hrow(const job *j, int y, float *out) {
  const int r = j->radius, ntaps = 2 * r + 1;
  const size_t row = (size_t)j->w * 3, e = 3 * (size_t)r, E = (e + BLOCK - 1) / BLOCK * BLOCK;
  const float *in = image_row(j->src, y);
  float *pad = j->pad; /* row + 2e floats */
  for (int k = 0; k < r; k++) memcpy(pad + (size_t)k * 3, in, 3 * sizeof *in);
  if (row < 2 * E + e) { /* narrow: the whole row padded */
    memcpy(pad + e, in, row * sizeof *in);
    for (int k = 0; k < r; k++) memcpy(pad + e + row + (size_t)k * 3, in + row - 3, 3 * sizeof *in);
    hsum(pad, out, row, j->wts, ntaps);
    return;
  }
  memcpy(pad + e, in, (E + e) * sizeof *in);
  hsum(pad, out, E, j->wts, ntaps);
  hsum(in + E - e, out + E, row - 2 * E, j->wts, ntaps);
  memcpy(pad, in + row - E - e, (E + e) * sizeof *in);
  for (int k = 0; k < r; k++) memcpy(pad + E + e + (size_t)k * 3, in + row - 3, 3 * sizeof *in);
  hsum(pad, out + row - E, E, j->wts, ntaps);
}

static void run_job(job *j) {
  const int h = j->h, r = j->radius, ntaps = 2 * r + 1, nring = ntaps + 1;
  const size_t row = (size_t)j->w * 3;
  int next = j->y0 - r < 0 ? 0 : j->y0 - r; /* next source row to filter */
  for (int y = j->y0; y < j->y1; y += 2) {
    const int pair = y + 1 < j->y1, last = y + pair + r;
    for (; next <= (last < h ? last : h - 1); next++)
      hrow(j, next, j->ring + (size_t)(next % nring) * j->ring_stride);
    for (int k = 0; k <= ntaps; k++) {
      int yy = y + k - r;
      yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
      j->ptrs[k] = j->ring + (size_t)(yy % nring) * j->ring_stride;
    }
    float *out = j->dst + (size_t)y * row;
    vsum(j->ptrs, out, pair ? out + row : NULL, row, j->wts, ntaps);
  }
}

static void *thread_main(void *arg) {
  run_job(arg);
  return NULL;
}

static int threads_for(int w, int h) {
  return (size_t)w * (size_t)h >= 256 * 256 ? FK_BLUR_THREADS : 1;
}

static int split_row(int h, int threads, int i) {
  return (int)((long)h * i / threads);
}

/* Blurs into dst, thread i reading src[i]. */
static int blur_rows(int w, int h, double sigma, const image_rows *src, float *dst, fk_err *e) {
  float *wts;
  int r;
  if (fk_image_gauss_weights(sigma, &wts, &r, e)) return e->code;
  const int ntaps = 2 * r + 1;
  const size_t row = (size_t)w * 3;
  const int threads = threads_for(w, h);
  /* per thread: the ring, a padded row and the row pointers. The ring's
   * rows start on 64-byte lines, so the vertical pass's vector loads never
   * straddle two lines (a split load costs two). */
  const size_t ring_stride = A64(row);
  const size_t ring = A64((size_t)(ntaps + 1) * ring_stride + (size_t)(w + 2 * r) * 3);
  const size_t per = ring + A64(2 * (size_t)(ntaps + 1));
  float *scratch = fk_alloc(per * (size_t)threads + 15, sizeof *scratch);
  if (!scratch) {
    free(wts);
    return fk_err_oom(e, "blur rows", per * (size_t)threads * sizeof *scratch);
  }
  float *aligned = scratch + (64 - (uintptr_t)scratch % 64) % 64 / sizeof *scratch;
  job jobs[FK_BLUR_THREADS];
  pthread_t tid[FK_BLUR_THREADS];
  int started[FK_BLUR_THREADS] = {0};
  for (int i = 0; i < threads; i++) {
    float *base = aligned + per * (size_t)i;
    jobs[i] = (job){.w = w,
                    .h = h,
                    .radius = r,
                    .y0 = split_row(h, threads, i),
                    .y1 = split_row(h, threads, i + 1),
                    .src = &src[i],
                    .dst = dst,
                    .wts = wts,
                    .ring = base,
                    .ring_stride = ring_stride,
                    .pad = base + (size_t)(ntaps + 1) * ring_stride,
                    .ptrs = (const float **)(void *)(base + ring)};
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
  free(wts);
  return FK_OK;
}

int fk_image_blur(const fk_image *src, fk_image *dst, double sigma, fk_err *e) {
  if (!(sigma > 0)) {
    if (dst == src) return FK_OK;
    return fk_image_copy(src, dst, e);
  }
  if (check_sigma(sigma, e)) return e->code;
  const int r = (int)(4.0 * sigma + 0.5), threads = threads_for(src->w, src->h);
  const size_t row = (size_t)src->w * 3, n = row * (size_t)src->h;
  const int in_place = dst == src, copy_edges = in_place && threads > 1;
  float *out = in_place ? dst->px : fk_alloc(n, sizeof *out);
  float *edges =
      copy_edges ? fk_alloc(2 * (size_t)r * row * (size_t)(threads - 1), sizeof *edges) : NULL;
  if (!out || (copy_edges && !edges)) {
    free(edges);
    if (!in_place) free(out);
    return fk_err_oom(e, "a blurred image", n * sizeof *out);
  }
  image_rows rows[FK_BLUR_THREADS];
  for (int i = 0; i < FK_BLUR_THREADS; i++) rows[i] = (image_rows){.src = src};
  for (int i = 1; i < threads && edges; i++) { /* the boundary above thread i's rows */
    float *copy = edges + 2 * (size_t)r * row * (size_t)(i - 1);
    int b = split_row(src->h, threads, i);
    int y0 = b - r < 0 ? 0 : b - r, y1 = b + r > src->h ? src->h : b + r;
    memcpy(copy, src->px + (size_t)y0 * row, (size_t)(y1 - y0) * row * sizeof *copy);
    rows[i].edge[0] = rows[i - 1].edge[1] = copy;
    rows[i].edge_y[0] = rows[i - 1].edge_y[1] = y0;
    rows[i].edge_n[0] = rows[i - 1].edge_n[1] = y1 - y0;
  }
  int rc = blur_rows(src->w, src->h, sigma, rows, out, e);
  free(edges);
  if (rc) {
    if (!in_place) free(out);
    return rc;
  }
  if (!in_place) {
    dst->w = src->w;
    dst->h = src->h;
    dst->px = out;
  }
  return FK_OK;
}
