/* Per-video-frame features: RMS, band energies, onset strength, and the
 * beat grid, from the onset analysis (onset.c, beat.c). A video frame k
 * covers the same chunk as fk_audio_frames; STFT frames belong to the chunk
 * their centre falls in (at least the nearest one, for high frame rates). */
#include "audio/features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/onset.h"

#define TEMPO_MIN 60.0
#define TEMPO_MAX 200.0
#define BAND_FLOOR 1e-3 /* -30 dB */

void fk_features_free(fk_features *f) {
  free(f->rms);
  free(f->bands);
  free(f->onset);
  free(f->onset_times);
  free(f->beats);
  free(f->beat_phase);
  free(f->bar_phase);
  free(f->beat_index);
  memset(f, 0, sizeof *f);
}

/* STFT frames [*a, *b) whose centres fall in video frame k. */
static void stft_range(const fk_onset *o, size_t s, size_t end, size_t *a, size_t *b) {
  *a = (s + o->hop - 1) / o->hop;
  *b = (end + o->hop - 1) / o->hop;
  if (*b > o->n) *b = o->n;
  if (*a >= *b) { /* a chunk shorter than a hop: the nearest frame */
    size_t c = (s + o->hop / 2) / o->hop;
    *a = c < o->n ? c : o->n - 1;
    *b = *a + 1;
  }
}

/* Each band to [0, 1] by its own maximum over the song, so a quiet band
 * still spans the range; but never by less than BAND_FLOOR of the loudest
 * band's maximum, so a band holding only leakage or noise stays near 0
 * instead of being blown up to full scale. */
static void normalise_bands(float *v, size_t n, size_t n_bands) {
  double loudest = 0;
  for (size_t i = 0; i < n * n_bands; i++) loudest = v[i] > loudest ? v[i] : loudest;
  for (size_t band = 0; band < n_bands; band++) {
    double m = loudest * BAND_FLOOR;
    for (size_t k = 0; k < n; k++) m = v[k * n_bands + band] > m ? v[k * n_bands + band] : m;
    for (size_t k = 0; k < n && m > 0; k++)
      v[k * n_bands + band] = (float)(v[k * n_bands + band] / m);
  }
}

static void beat_grid(fk_features *f) {
  double period = f->tempo > 0 ? 60.0 / f->tempo : 0;
  for (size_t k = 0; k < f->n_frames; k++) {
    double t = (double)k / f->fps;
    if (f->n_beats == 0 || period <= 0) {
      f->beat_index[k] = -1;
      f->beat_phase[k] = f->bar_phase[k] = 0;
      continue;
    }
    /* last beat at or before t; before the first, extrapolate the period */
    size_t lo = 0, hi = f->n_beats;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (f->beats[mid] <= t + 1e-9)
        lo = mid + 1;
      else
        hi = mid;
    }
    double phase;
    long idx;
    if (lo == 0) {
      double x = (t - f->beats[0]) / period; /* negative */
      idx = (long)floor(x);
      phase = x - floor(x);
    } else {
      idx = (long)lo - 1;
      double b0 = f->beats[lo - 1];
      double b1 = lo < f->n_beats ? f->beats[lo] : b0 + period;
      phase = (t - b0) / (b1 - b0);
      if (lo == f->n_beats && phase >= 1) { /* past the last beat */
        idx += (long)floor(phase);
        phase -= floor(phase);
      }
    }
    /* The index names a real beat; only the phases run on past the ends. */
    f->beat_index[k] = idx < 0 ? -1 : idx >= (long)f->n_beats ? (int)f->n_beats - 1 : (int)idx;
    f->beat_phase[k] = (float)phase;
    long in_bar = ((idx % 4) + 4) % 4;
    f->bar_phase[k] = (float)(((double)in_bar + phase) / 4.0);
  }
}

int fk_features_compute(const fk_song *song, const fk_features_cfg *cfg, fk_features *f,
                        fk_err *e) {
  memset(f, 0, sizeof *f);
  if (!(cfg->fps > 0) || cfg->fps > 1000)
    return fk_err_set(e, FK_EUSER, "fps must be in (0, 1000], got %g", cfg->fps);
  for (size_t b = 0; b < cfg->n_bands; b++)
    if (!(cfg->bands[b].lo_hz >= 0) || !(cfg->bands[b].hi_hz > cfg->bands[b].lo_hz))
      return fk_err_set(e, FK_EUSER, "band %zu must be {low_hz, high_hz} with low < high", b + 1);
  fk_onset o;
  int orc = fk_onset_envelope(song, cfg->bands, cfg->n_bands, &o, e);
  if (orc) return orc;
  const double rate = song->rate;
  size_t n = 0;
  while (fk_frames_chunk_start(rate, cfg->fps, n) < song->n) n++;
  f->n_frames = n;
  f->fps = cfg->fps;
  f->n_bands = cfg->n_bands;
  size_t nn = n ? n : 1;
  f->rms = fk_zalloc(nn, sizeof *f->rms);
  f->bands = fk_zalloc(nn * (cfg->n_bands ? cfg->n_bands : 1), sizeof *f->bands);
  f->onset = fk_zalloc(nn, sizeof *f->onset);
  f->beat_phase = fk_zalloc(nn, sizeof *f->beat_phase);
  f->bar_phase = fk_zalloc(nn, sizeof *f->bar_phase);
  f->beat_index = fk_zalloc(nn, sizeof *f->beat_index);
  if (!f->rms || !f->bands || !f->onset || !f->beat_phase || !f->bar_phase || !f->beat_index) {
    fk_onset_free(&o);
    fk_features_free(f);
    return fk_err_oom(e, "features", nn * 8 * sizeof(float));
  }
  float env_max = 0;
  for (size_t i = 0; i < o.n; i++) env_max = o.env[i] > env_max ? o.env[i] : env_max;
  for (size_t k = 0; k < n; k++) {
    size_t s = fk_frames_chunk_start(rate, cfg->fps, k);
    size_t end = fk_frames_chunk_start(rate, cfg->fps, k + 1);
    if (end > song->n) end = song->n;
    double acc = 0;
    for (size_t i = s; i < end; i++) acc += (double)song->samples[i] * song->samples[i];
    f->rms[k] = end > s ? (float)sqrt(acc / (double)(end - s)) : 0.0f;
    size_t a, b;
    stft_range(&o, s, end, &a, &b);
    float peak = 0;
    for (size_t t = a; t < b; t++) peak = o.env[t] > peak ? o.env[t] : peak;
    f->onset[k] = env_max > 0 ? peak / env_max : 0.0f;
    for (size_t band = 0; band < cfg->n_bands; band++) {
      double sum = 0;
      for (size_t t = a; t < b; t++) sum += o.band_power[t * cfg->n_bands + band];
      f->bands[k * cfg->n_bands + band] = (float)(sum / (double)(b - a));
    }
  }
  normalise_bands(f->bands, n, cfg->n_bands);
  size_t *peaks = NULL, n_peaks = 0;
  double *beat_frames = NULL;
  int rc = fk_onset_peaks(&o, &peaks, &n_peaks, e);
  if (!rc) {
    rc = fk_onset_tempo(&o, TEMPO_MIN, TEMPO_MAX, &f->tempo, e);
    if (!rc) rc = fk_onset_beats(&o, f->tempo, &beat_frames, &f->n_beats, e);
  }
  if (!rc) {
    f->onset_times = fk_alloc(n_peaks ? n_peaks : 1, sizeof *f->onset_times);
    f->beats = fk_alloc(f->n_beats ? f->n_beats : 1, sizeof *f->beats);
    if (!f->onset_times || !f->beats) rc = fk_err_oom(e, "beats", (n_peaks + f->n_beats) * 8);
  }
  if (!rc) {
    const double dt = (double)o.hop / rate;
    for (size_t i = 0; i < n_peaks; i++) f->onset_times[i] = (double)peaks[i] * dt;
    f->n_onsets = n_peaks;
    for (size_t i = 0; i < f->n_beats; i++) f->beats[i] = beat_frames[i] * dt;
    beat_grid(f);
  }
  free(peaks);
  free(beat_frames);
  fk_onset_free(&o);
  if (rc) fk_features_free(f);
  return rc;
}
