/* Noise fields. Point k of bin b sits where fk_hash3(seed, b, k) says: the
 * low 32 bits pick the column, the high 32 the row (multiply-shift, so
 * every size is covered without modulo bias). The same seed gives the same
 * field on every machine, unlike the seed recipe's Python hash(). */
#include "image/noise.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

#ifdef __SSE__
#include <xmmintrin.h>
#endif

void fk_noise_normalise(const fk_noise_cfg *cfg, float *out) {
  double top = 0;
  if (cfg->norm == FK_NORM_FRAME || cfg->norm == FK_NORM_DB)
    for (size_t i = 0; i < cfg->n; i++) top = cfg->amps[i] > top ? cfg->amps[i] : top;
  else if (cfg->norm == FK_NORM_GLOBAL)
    top = cfg->peak;
  for (size_t i = 0; i < cfg->n; i++) {
    double a = cfg->amps[i], v;
    if (cfg->norm == FK_NORM_DB) {
      double db = a > 0 && top > 0 ? 20.0 * log10(a / top) : -1e9;
      v = (db - cfg->db_min) / (cfg->db_max - cfg->db_min);
    } else if (cfg->norm == FK_NORM_NONE) {
      v = a;
    } else {
      v = top > 0 ? a / top : 0;
    }
    out[i] = (float)(v > 0 ? (v < 1 ? v : 1) : 0); /* NaN becomes 0 */
  }
}

/* Drawing order does not change the result (each channel keeps its
 * maximum), so points are drawn by row, not by bin: the discs of a few
 * rows land in cache-resident rows, where bin order scattered them over
 * the whole image (a cache miss per disc row at 512x512). Points are
 * counting-sorted by row; each disc row is one contiguous run of
 * interleaved RGB floats, maxed against the bin's colour repeated.
 *
 * For the same reason a range of rows can be drawn on its own: every disc
 * that touches it, clipped to it. Two threads share the work that way,
 * without locks (a disc across their boundary is drawn by both, each part
 * once). Rows get the background just before the first disc lands on them,
 * so they are still in cache when it does. */
#define BAND 16          /* rows drawn at a time: 16 x 512 px x 12 B = 96 KB, in L2 */
#define CHUNK (1u << 16) /* points sorted at a time */
#define THREADS 2
#define THREADED_POINTS 4096 /* fewer points than this: one thread */

typedef struct {
  uint16_t x, y; /* centre */
  uint32_t bin;
} point;

typedef struct {
  int dy, hw; /* disc row dy spans dx in [-hw, hw] */
} span;

/* q[i] = max(q[i], pat[i]), i < len. Taking a maximum twice changes
 * nothing, so a run of 4 or more is covered by 4-float steps plus one
 * last step ending at len, overlapping the one before: 3 SSE maxima for a
 * 3-pixel disc row. That last step is loaded before anything is stored: a
 * load that partly overlaps a store still in flight would wait for it. */
static inline void run_max(float *restrict q, const float *restrict pat, int len) {
#ifdef __SSE__
  if (len >= 4) {
    const __m128 tail = _mm_max_ps(_mm_loadu_ps(q + len - 4), _mm_loadu_ps(pat + len - 4));
    for (int i = 0; i + 4 < len; i += 4)
      _mm_storeu_ps(q + i, _mm_max_ps(_mm_loadu_ps(q + i), _mm_loadu_ps(pat + i)));
    _mm_storeu_ps(q + len - 4, tail);
    return;
  }
#endif
  for (int i = 0; i < len; i++) q[i] = pat[i] > q[i] ? pat[i] : q[i];
}

/* What is drawn, shared by every range of rows. */
typedef struct {
  int w, h, rr, n_sp;
  span sp[2 * 256 + 1];
  const float *pat; /* colour runs: plen floats per bin */
  size_t plen;
  float bg[12];          /* the background, 4 pixels */
  const point *pts;      /* sorted by row */
  const size_t *row_end; /* row_end[y]: end of row y's points in pts */
} scene;

/* A range of rows [y0, y1) of the image at px being drawn. */
typedef struct {
  const scene *sc;
  float *px;
  int y0, y1;
  int filled; /* rows from y0 holding the background so far */
} rows;

static void fill_to(rows *j, int y) {
  const size_t row = (size_t)j->sc->w * 3;
  const float *bg = j->sc->bg;
  y = y < j->y1 ? y : j->y1;
  /* plain stores: memcpy of a few KB is `rep movsb`, which on some CPUs
   * writes around the cache, and the discs would then miss on every row */
  for (; j->filled < y; j->filled++) {
    float *q = j->px + (size_t)j->filled * row;
    size_t i = 0;
#ifdef __SSE__
    const __m128 p0 = _mm_loadu_ps(bg), p1 = _mm_loadu_ps(bg + 4), p2 = _mm_loadu_ps(bg + 8);
    for (; i + 12 <= row; i += 12) {
      _mm_storeu_ps(q + i, p0);
      _mm_storeu_ps(q + i + 4, p1);
      _mm_storeu_ps(q + i + 8, p2);
    }
#endif
    for (; i < row; i++) q[i] = bg[i % 12];
  }
}

/* Background and every disc touching rows [y0, y1), clipped to them: the
 * points of centre rows y0 - rr .. y1 + rr - 1, BAND rows at a time. */
static void draw(rows *j) {
  const scene *sc = j->sc;
  const int w = sc->w, rr = sc->rr;
  const int ya = j->y0 - rr < 0 ? 0 : j->y0 - rr, yb = j->y1 + rr < sc->h ? j->y1 + rr : sc->h;
  for (int c = ya; c < yb; c += BAND) {
    const int ce = c + BAND < yb ? c + BAND : yb;
    fill_to(j, ce + rr);
    for (size_t i = c ? sc->row_end[c - 1] : 0; i < sc->row_end[ce - 1]; i++) {
      const int x = sc->pts[i].x, y = sc->pts[i].y;
      const float *pat = sc->pat + sc->pts[i].bin * sc->plen;
      const int inside = x >= rr && x + rr < w && y - rr >= j->y0 && y + rr < j->y1;
      for (int s = 0; s < sc->n_sp; s++) {
        int yy = y + sc->sp[s].dy, x0 = x - sc->sp[s].hw, x1 = x + sc->sp[s].hw;
        if (!inside) {
          if (yy < j->y0 || yy >= j->y1) continue;
          x0 = x0 < 0 ? 0 : x0;
          x1 = x1 >= w ? w - 1 : x1;
        }
        run_max(j->px + ((size_t)yy * (size_t)w + (size_t)x0) * 3, pat, 3 * (x1 - x0 + 1));
      }
    }
  }
  fill_to(j, j->y1);
}

static void *draw_main(void *arg) {
  draw(arg);
  return NULL;
}

/* The whole image, rows split between threads; the background first if
 * `fill`. */
static void draw_all(const scene *sc, float *px, int fill) {
  const int n_bands = (sc->h + BAND - 1) / BAND;
  const int n = sc->row_end[sc->h - 1] >= THREADED_POINTS && n_bands >= THREADS ? THREADS : 1;
  rows jobs[THREADS];
  pthread_t tid[THREADS];
  int started[THREADS] = {0};
  for (int t = 0; t < n; t++) { /* boundaries on band boundaries: no band is split */
    int y0 = n_bands * t / n * BAND, y1 = n_bands * (t + 1) / n * BAND;
    y1 = y1 < sc->h ? y1 : sc->h;
    jobs[t] = (rows){.sc = sc, .px = px, .y0 = y0, .y1 = y1, .filled = fill ? y0 : y1};
  }
  for (int t = 1; t < n; t++) started[t] = !pthread_create(&tid[t], NULL, draw_main, &jobs[t]);
  draw(&jobs[0]);
  for (int t = 1; t < n; t++) {
    if (started[t])
      pthread_join(tid[t], NULL);
    else
      draw(&jobs[t]); /* no thread to be had: do it here */
  }
}

/* Points first .. first + n - 1 (in bin-major order) counting-sorted into
 * sorted[] by row; row_end[y] ends as the end of row y. */
static void sort_points(const fk_noise_cfg *cfg, size_t first, size_t n, point *raw, uint32_t *ry,
                        point *sorted, size_t *row_end) {
  const uint64_t w = (uint64_t)cfg->w, h = (uint64_t)cfg->h, ppb = (uint64_t)cfg->points_per_bin;
  /* fk_hash3(seed, b, k) = mix(hb ^ k), hb = mix(mix(seed) ^ b): once per bin */
  const uint64_t hs = fk_hash_mix(cfg->seed);
  uint64_t b = first / ppb, k = first % ppb, hb = fk_hash_mix(hs ^ b);
  memset(row_end, 0, ((size_t)cfg->h + 1) * sizeof *row_end);
  for (size_t i = 0; i < n; i++) {
    const uint64_t hv = fk_hash_mix(hb ^ k);
    const uint64_t x = ((hv & 0xffffffffu) * w) >> 32, y = ((hv >> 32) * h) >> 32;
    raw[i] = (point){(uint16_t)x, (uint16_t)y, (uint32_t)b};
    ry[i] = (uint32_t)y;
    row_end[y + 1]++;
    if (++k == ppb) {
      k = 0;
      hb = fk_hash_mix(hs ^ ++b);
    }
  }
  for (size_t y = 0; y < (size_t)cfg->h; y++) row_end[y + 1] += row_end[y];
  for (size_t i = 0; i < n; i++) sorted[row_end[ry[i]]++] = raw[i];
}

void fk_noise_cache_free(fk_noise_cache *c) {
  free(c->sorted);
  free(c->row_end);
  memset(c, 0, sizeof *c);
}

/* 1: the points and rows are the cache's, to be sorted into it first
 * (*fresh) if it held another field's; 0: the field is not cached; -1: out
 * of memory. */
static int from_cache(const fk_noise_cfg *cfg, size_t total, point **sorted, size_t **row_end,
                      int *fresh, fk_err *e) {
  fk_noise_cache *c = cfg->cache;
  if (!c || total > CHUNK) return 0;
  *fresh = !(c->valid && c->w == cfg->w && c->h == cfg->h && c->n == cfg->n &&
             c->seed == cfg->seed && c->points_per_bin == cfg->points_per_bin);
  if (*fresh) {
    fk_noise_cache_free(c);
    c->sorted = fk_alloc(total ? total : 1, sizeof(point));
    c->row_end = fk_alloc((size_t)cfg->h + 1, sizeof *c->row_end);
    if (!c->sorted || !c->row_end) {
      fk_noise_cache_free(c);
      fk_err_oom(e, "a noise field's points", total * sizeof(point));
      return -1;
    }
    *c = (fk_noise_cache){cfg->w,    cfg->h,    cfg->points_per_bin, cfg->n,
                          cfg->seed, c->sorted, c->row_end,          0};
  }
  *sorted = c->sorted;
  *row_end = c->row_end;
  return 1;
}

int fk_noise_field(const fk_noise_cfg *cfg, fk_image *img, fk_err *e) {
  if (fk_image_check_size(cfg->w, cfg->h, "noise field size", e)) return e->code;
  if (cfg->points_per_bin < 1 || cfg->points_per_bin > 1 << 20)
    return fk_err_set(e, FK_EUSER, "points_per_bin must be in 1..1048576, got %d",
                      cfg->points_per_bin);
  if (!(cfg->radius >= 0) || cfg->radius > 256)
    return fk_err_set(e, FK_EUSER, "radius must be in [0, 256] pixels, got %g", cfg->radius);
  if (cfg->norm == FK_NORM_DB && !(cfg->db_max > cfg->db_min))
    return fk_err_set(e, FK_EUSER, "normalise {db_min, db_max} needs db_min < db_max");
  if (fk_image_new_unset(img, cfg->w, cfg->h, e)) return e->code; /* all written below */
  const size_t total = cfg->n * (size_t)cfg->points_per_bin;
  const size_t chunk = total < CHUNK ? (total ? total : 1) : CHUNK;
  const size_t n_bins = cfg->n ? cfg->n : 1;
  point *sorted = NULL, *raw = NULL;
  size_t *row_end = NULL;
  uint32_t *ry = NULL; /* each raw point's row */
  int fresh = 1, rc = FK_OK;
  const int cached = from_cache(cfg, total, &sorted, &row_end, &fresh, e);
  if (cached < 0) {
    fk_image_free(img);
    return e->code;
  }
  if (!cached) {
    sorted = fk_alloc(chunk, sizeof *sorted);
    row_end = fk_alloc((size_t)cfg->h + 1, sizeof *row_end);
  }
  if (fresh) {
    raw = fk_alloc(chunk, sizeof *raw);
    ry = fk_alloc(chunk, sizeof *ry);
  }
  scene *sc = fk_alloc(1, sizeof *sc);
  float *light = fk_alloc(n_bins, sizeof *light), *pat = NULL;
  if (sc) {
    *sc = (scene){
        .w = cfg->w, .h = cfg->h, .rr = (int)floor(cfg->radius), .pts = sorted, .row_end = row_end};
    sc->plen = 3 * (2 * (size_t)sc->rr + 1);
    sc->pat = pat = fk_alloc(n_bins * sc->plen, sizeof *pat); /* bin colour, diameter times */
  }
  if (!sc || !light || !pat || !sorted || !row_end || (fresh && (!raw || !ry)))
    rc = fk_err_oom(e, "a noise field", 3 * chunk * sizeof *raw);
  const double r2 = cfg->radius * cfg->radius;
  for (int dy = rc ? 1 : -sc->rr; !rc && dy <= sc->rr; dy++) {
    int hw = -1;
    for (int dx = 0; dx <= sc->rr; dx++)
      if (dx * dx + dy * dy <= r2) hw = dx;
    if (hw >= 0) sc->sp[sc->n_sp++] = (span){dy, hw};
  }
  for (int m = 0; m < 12 && !rc; m++) sc->bg[m] = cfg->background[m % 3];
  if (!rc) fk_noise_normalise(cfg, light);
  for (size_t b = 0; b < cfg->n && !rc; b++) {
    float rgb[3];
    if (cfg->colour(cfg->colour_ctx, b, cfg->n, rgb)) {
      rc = fk_err_set(e, FK_EUSER, "the colour scheme failed at bin %zu", b + 1);
      break;
    }
    for (size_t i = 0; i < sc->plen; i++) pat[b * sc->plen + i] = rgb[i % 3] * light[b];
  }
  if (!rc) { /* chunks of points, each drawn over all rows */
    size_t first = 0;
    do {
      const size_t n = total - first < chunk ? total - first : chunk;
      if (fresh) sort_points(cfg, first, n, raw, ry, sorted, row_end);
      draw_all(sc, img->px, first == 0);
      first += n;
    } while (first < total);
    if (cached) cfg->cache->valid = 1;
  }
  free(sc);
  free(light);
  free(pat);
  free(raw);
  free(ry);
  if (!cached) {
    free(sorted);
    free(row_end);
  }
  if (rc) fk_image_free(img);
  return rc;
}
