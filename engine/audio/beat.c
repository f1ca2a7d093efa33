/* Onset peaks, tempo and beats from the onset envelope. The algorithms are
 * the published ones librosa also follows (peak picking with local max and
 * mean thresholds; autocorrelation tempo with a log-normal prior; Ellis'
 * 2007 dynamic-programming beat tracker), written for this engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/onset.h"

static double env_fps(const fk_onset *o) {
  return (double)o->rate / (double)o->hop;
}

int fk_onset_peaks(const fk_onset *o, size_t **frames, size_t *count, fk_err *e) {
  *frames = NULL;
  *count = 0;
  const size_t n = o->n;
  float lo = 0, hi = 0;
  for (size_t i = 0; i < n; i++) {
    lo = i == 0 || o->env[i] < lo ? o->env[i] : lo;
    hi = i == 0 || o->env[i] > hi ? o->env[i] : hi;
  }
  if (!(hi > lo)) return FK_OK;
  size_t *out = fk_alloc(n, sizeof *out);
  if (!out) return fk_err_oom(e, "onset peaks", n * sizeof *out);
  const double fps = env_fps(o);
  const size_t pre_max = (size_t)(0.03 * fps), post_max = 1, pre_avg = (size_t)(0.10 * fps),
               post_avg = (size_t)(0.10 * fps) + 1, wait = (size_t)(0.03 * fps);
  const double delta = 0.07, scale = 1.0 / (hi - lo);
  size_t found = 0, last = 0;
  int have_last = 0;
  for (size_t t = 0; t < n; t++) {
    double v = (o->env[t] - lo) * scale;
    size_t a = t > pre_max ? t - pre_max : 0, b = t + post_max < n ? t + post_max : n;
    int is_max = 1;
    for (size_t j = a; j < b && is_max; j++) is_max = (o->env[j] - lo) * scale <= v;
    if (!is_max) continue;
    a = t > pre_avg ? t - pre_avg : 0;
    b = t + post_avg < n ? t + post_avg : n;
    double mean = 0;
    for (size_t j = a; j < b; j++) mean += (o->env[j] - lo) * scale;
    mean /= (double)(b - a);
    if (v < mean + delta) continue;
    if (have_last && t <= last + wait) continue;
    out[found++] = t;
    last = t;
    have_last = 1;
  }
  *frames = out;
  *count = found;
  return FK_OK;
}

/* Autocorrelation of the mean-removed envelope at integer lags, unbiased. */
static void autocorr(const fk_onset *o, double *ac, size_t max_lag) {
  const size_t n = o->n;
  double mean = 0;
  for (size_t i = 0; i < n; i++) mean += o->env[i];
  mean /= (double)n;
  for (size_t lag = 0; lag <= max_lag; lag++) {
    double acc = 0;
    for (size_t t = 0; t + lag < n; t++) acc += (o->env[t] - mean) * (o->env[t + lag] - mean);
    ac[lag] = acc / (double)(n - lag);
  }
}

/* The peak of ac near c (+-2 lags), with parabolic interpolation. */
static double peak_near(const double *ac, size_t max_lag, double c, double *height) {
  long lo = (long)floor(c) - 2, hi = (long)ceil(c) + 2, best = -1;
  for (long j = lo; j <= hi; j++)
    if (j >= 1 && (size_t)j < max_lag && (best < 0 || ac[j] > ac[best])) best = j;
  if (best < 1) return -1;
  double y0 = ac[best - 1], y1 = ac[best], y2 = ac[best + 1], den = y0 - 2 * y1 + y2;
  *height = y1;
  double off = den < 0 ? 0.5 * (y0 - y2) / den : 0;
  return (double)best + (off > 0.5 ? 0.5 : off < -0.5 ? -0.5 : off);
}

/* Mean of the autocorrelation's peaks at the first four multiples of lag
 * (those within max_lag). A beat period is confirmed by the half bar and
 * the bar; a subdivision (8th notes) has weaker odd multiples, and this
 * settles the octave where the plain peak height would not. */
static double multiples_score(const double *ac, size_t max_lag, size_t lag) {
  double sum = 0;
  int count = 0;
  for (size_t m = 1; m <= 4; m++) {
    size_t c = m * lag;
    if (c + 1 > max_lag) break;
    double best = ac[c - 1] > ac[c] ? ac[c - 1] : ac[c];
    sum += ac[c + 1] > best ? ac[c + 1] : best;
    count++;
  }
  return count ? sum / count : 0;
}

int fk_onset_tempo(const fk_onset *o, double lo_bpm, double hi_bpm, double *bpm_out, fk_err *e) {
  *bpm_out = 0;
  const double fps = env_fps(o);
  const size_t n = o->n;
  size_t lag_min = (size_t)floor(60.0 * fps / hi_bpm), lag_max = (size_t)ceil(60.0 * fps / lo_bpm);
  if (lag_min < 1) lag_min = 1;
  if (n < 4 || lag_max + 2 >= n) return FK_OK;
  /* Lags up to the refinement's 16th multiple, but not into the last
   * quarter of the song, where too few products make the estimate noisy. */
  size_t max_lag = 17 * lag_max + 4;
  if (max_lag > n - 1 - n / 4) max_lag = n - 1 - n / 4;
  if (max_lag < lag_max + 2) max_lag = lag_max + 2;
  double *ac = fk_alloc(max_lag + 1, sizeof *ac);
  if (!ac) return fk_err_oom(e, "the tempo autocorrelation", (max_lag + 1) * sizeof *ac);
  autocorr(o, ac, max_lag);
  /* A [1 2 1] / 4 smoothing: the envelope's peaks are a frame or two wide,
   * so at a period of, say, 34.45 frames the products split between lags 34
   * and 35 and neither alone shows the periodicity's full height. */
  double prev = ac[0];
  for (size_t j = 1; j < max_lag; j++) {
    double cur = ac[j];
    ac[j] = 0.25 * prev + 0.5 * cur + 0.25 * ac[j + 1];
    prev = cur;
  }
  double best_score = 0;
  size_t best = 0;
  for (size_t lag = lag_min; lag <= lag_max; lag++) {
    if (ac[lag] <= 0 || ac[lag] < ac[lag - 1] || ac[lag] < ac[lag + 1]) continue; /* peaks only */
    double bpm = 60.0 * fps / (double)lag, oct = log2(bpm / 120.0);
    double score = multiples_score(ac, max_lag, lag) * exp(-0.5 * oct * oct);
    if (score > best_score) {
      best_score = score;
      best = lag;
    }
  }
  if (!best) {
    free(ac);
    return FK_OK;
  }
  /* Refine: the m-th multiple of the beat lag sits at m * lag, so a least
   * squares fit over several multiples pins the lag to a fraction of a frame. */
  double h, lag = peak_near(ac, max_lag, (double)best, &h), num = 0, den = 0;
  for (int m = 1; m <= 16 && lag > 0; m++) {
    double c = lag * m;
    if (c + 3 >= (double)max_lag) break;
    double p = peak_near(ac, max_lag, c, &h);
    if (p < 0 || h <= 0) break;
    num += m * p;
    den += (double)m * m;
    lag = num / den; /* the running estimate centres the next search */
  }
  free(ac);
  *bpm_out = lag > 0 ? 60.0 * fps / lag : 0;
  return FK_OK;
}

int fk_onset_beats(const fk_onset *o, double bpm, double **beats, size_t *count, fk_err *e) {
  *beats = NULL;
  *count = 0;
  const size_t n = o->n;
  if (!(bpm > 0) || n < 4) return FK_OK;
  const double period = 60.0 * env_fps(o) / bpm, tightness = 100.0;
  double *local = fk_zalloc(n, sizeof *local), *cum = fk_alloc(n, sizeof *cum);
  long *back = fk_alloc(n, sizeof *back);
  double *out = fk_alloc(n, sizeof *out);
  if (!local || !cum || !back || !out) {
    free(local), free(cum), free(back), free(out);
    return fk_err_oom(e, "beat tracking", n * 4 * sizeof(double));
  }
  /* Local score: the envelope over its standard deviation, smoothed by a
   * Gaussian a 32nd of a beat wide. */
  double mean = 0, var = 0;
  for (size_t i = 0; i < n; i++) mean += o->env[i];
  mean /= (double)n;
  for (size_t i = 0; i < n; i++) var += (o->env[i] - mean) * (o->env[i] - mean);
  double sd = sqrt(var / (double)n);
  if (!(sd > 0)) sd = 1;
  long half = (long)period;
  for (size_t i = 0; i < n; i++) {
    double acc = 0;
    for (long k = -half; k <= half; k++) {
      long j = (long)i + k;
      if (j < 0 || (size_t)j >= n) continue;
      double z = (double)k * 32.0 / period;
      acc += exp(-0.5 * z * z) * o->env[j] / sd;
    }
    local[i] = acc;
  }
  long wmin = (long)llround(period / 2), wmax = (long)llround(2 * period);
  for (size_t i = 0; i < n; i++) {
    double best = -INFINITY;
    long arg = -1;
    for (long j = (long)i - wmax; j <= (long)i - wmin; j++) {
      if (j < 0) continue;
      double l = log((double)((long)i - j) / period);
      double s = cum[j] - tightness * l * l;
      if (s > best) {
        best = s;
        arg = j;
      }
    }
    cum[i] = local[i] + (arg >= 0 ? best : 0);
    back[i] = arg;
  }
  /* The last beat: the last local maximum of the cumulative score above
   * half the median of its local maxima. */
  size_t n_max = 0;
  double *maxima = fk_alloc(n, sizeof *maxima);
  if (!maxima) {
    free(local), free(cum), free(back), free(out);
    return fk_err_oom(e, "beat tracking", n * sizeof *maxima);
  }
  for (size_t i = 1; i + 1 < n; i++)
    if (cum[i] > cum[i - 1] && cum[i] >= cum[i + 1]) maxima[n_max++] = cum[i];
  double median = 0;
  if (n_max) {
    for (size_t a = 1; a < n_max; a++) /* insertion sort: few maxima */
      for (size_t b = a; b > 0 && maxima[b - 1] > maxima[b]; b--) {
        double t = maxima[b];
        maxima[b] = maxima[b - 1];
        maxima[b - 1] = t;
      }
    median = maxima[n_max / 2];
  }
  free(maxima);
  long last = -1;
  for (size_t i = n - 2; i >= 1; i--)
    if (cum[i] > cum[i - 1] && cum[i] >= cum[i + 1] && cum[i] >= 0.5 * median) {
      last = (long)i;
      break;
    }
  size_t found = 0;
  for (long i = last; i >= 0; i = back[i]) out[found++] = (double)i;
  for (size_t a = 0; a < found / 2; a++) { /* backtracking gave them last first */
    double t = out[a];
    out[a] = out[found - 1 - a];
    out[found - 1 - a] = t;
  }
  /* Trim weak beats at both ends (silence before the music starts). */
  double rms = 0;
  for (size_t i = 0; i < found; i++) rms += local[(size_t)out[i]] * local[(size_t)out[i]];
  double thr = found ? 0.5 * sqrt(rms / (double)found) : 0;
  size_t first = 0, end = found;
  while (first < end && local[(size_t)out[first]] < thr) first++;
  while (end > first && local[(size_t)out[end - 1]] < thr) end--;
  memmove(out, out + first, (end - first) * sizeof *out);
  found = end - first;
  free(local), free(cum), free(back);
  *beats = out;
  *count = found;
  return FK_OK;
}
