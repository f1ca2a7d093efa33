/* Onset strength the way librosa.onset.onset_strength computes it with its
 * defaults, at the song's native rate: centred STFT frames (n_fft 2048, hop
 * 512, n_fft / 2 zeros of padding on both ends, periodic Hann window), power
 * mel spectrogram (128 Slaney mels, 0 Hz .. rate / 2), power_to_db with
 * ref 1, amin 1e-10, top_db 80, then the positive first difference (lag 1)
 * averaged over mels.
 *
 * Timing: the flux of frames t-1 -> t lands at envelope index t + 2, as in
 * librosa (lag 1 plus n_fft / (2 hop) frames of padding in front). A
 * log-power rise shows as soon as an onset enters the leading edge of the
 * window, about n_fft / 2 samples before the frame centre reaches it; the
 * shift cancels that, so index t stands for time t * hop / rate. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/mel.h"
#include "audio/onset.h"

#define ONSET_NMELS 128
#define DB_AMIN 1e-10
#define DB_TOP 80.0
#define FLUX_SHIFT 3 /* lag + n_fft / (2 hop) */

typedef struct stft {
  float *in, *window;
  fftwf_complex *out;
  fftwf_plan plan;
} stft;

static void stft_free(stft *s) {
  if (s->plan) fftwf_destroy_plan(s->plan);
  fftwf_free(s->in);
  fftwf_free(s->out);
  free(s->window);
  memset(s, 0, sizeof *s);
}

static int stft_new(stft *s, fk_err *e) {
  memset(s, 0, sizeof *s);
  const size_t n = FK_ONSET_NFFT;
  s->in = fftwf_alloc_real(n);
  s->out = fftwf_alloc_complex(n / 2 + 1);
  s->window = fk_alloc(n, sizeof *s->window);
  if (!s->in || !s->out || !s->window) {
    stft_free(s);
    return fk_err_oom(e, "onset STFT buffers", n * 4 * sizeof(float));
  }
  s->plan = fftwf_plan_dft_r2c_1d((int)n, s->in, s->out, FFTW_ESTIMATE);
  if (!s->plan) {
    stft_free(s);
    return fk_err_set(e, FK_EINTERNAL, "FFTW could not plan the %zu-point onset transform", n);
  }
  const double pi = 3.14159265358979323846;
  for (size_t i = 0; i < n; i++)
    s->window[i] = (float)(0.5 - 0.5 * cos(2.0 * pi * (double)i / (double)n));
  return FK_OK;
}

static void band_bins(const fk_band *b, int rate, size_t *first, size_t *last) {
  const size_t n_bins = FK_ONSET_NFFT / 2 + 1;
  const double per_bin = (double)rate / FK_ONSET_NFFT, top = (double)(n_bins - 1);
  double lo = fmax(0.0, ceil(b->lo_hz / per_bin)), hi = fmin(top, ceil(b->hi_hz / per_bin) - 1);
  if (hi < lo) lo = hi = fmin(top, fmax(0.0, floor(0.5 * (b->lo_hz + b->hi_hz) / per_bin + 0.5)));
  *first = (size_t)lo;
  *last = (size_t)hi;
}

/* |X|^2 of the frame centred on sample `centre` (zeros outside the song). */
static void stft_frame(stft *s, const float *x, size_t n, size_t centre, float *power) {
  const size_t nfft = FK_ONSET_NFFT, half = nfft / 2;
  for (size_t i = 0; i < nfft; i++) {
    size_t at = centre + i; /* sample index + half, kept unsigned */
    s->in[i] = at >= half && at - half < n ? x[at - half] * s->window[i] : 0.0f;
  }
  fftwf_execute(s->plan);
  for (size_t b = 0; b < nfft / 2 + 1; b++) {
    double re = s->out[b][0], im = s->out[b][1];
    power[b] = (float)(re * re + im * im);
  }
}

int fk_onset_envelope(const fk_song *song, const fk_band *bands, size_t n_bands, fk_onset *o,
                      fk_err *e) {
  memset(o, 0, sizeof *o);
  if (song->rate < 1) return fk_err_set(e, FK_EUSER, "audio '%s' has no sample rate", song->name);
  const size_t hop = FK_ONSET_HOP, n_mels = ONSET_NMELS, n_bins = FK_ONSET_NFFT / 2 + 1;
  const size_t t_n = 1 + song->n / hop, nb = n_bands ? n_bands : 1;
  o->n = t_n;
  o->hop = hop;
  o->rate = song->rate;
  o->n_bands = n_bands;
  o->env = fk_zalloc(t_n, sizeof *o->env);
  o->band_power = fk_zalloc(t_n * nb, sizeof *o->band_power);
  float *db = fk_alloc(t_n * n_mels, sizeof *db);
  float *power = fk_alloc(n_bins, sizeof *power);
  size_t *first = fk_alloc(nb, sizeof *first), *last = fk_alloc(nb, sizeof *last);
  fk_mel mel = {0};
  stft s = {0};
  int rc = FK_OK;
  if (!o->env || !o->band_power || !db || !power || !first || !last)
    rc = fk_err_oom(e, "the onset spectrogram", t_n * (nb + n_mels) * sizeof(float));
  if (!rc) rc = fk_mel_new(&mel, song->rate, FK_ONSET_NFFT, n_mels, e);
  if (!rc) rc = stft_new(&s, e);
  if (rc) {
    fk_mel_free(&mel);
    free(db);
    free(power);
    free(first);
    free(last);
    fk_onset_free(o);
    return rc;
  }
  for (size_t k = 0; k < n_bands; k++) band_bins(&bands[k], song->rate, &first[k], &last[k]);
  double top = -INFINITY;
  for (size_t t = 0; t < t_n; t++) {
    stft_frame(&s, song->samples, song->n, t * hop, power);
    for (size_t k = 0; k < n_bands; k++) {
      double acc = 0.0;
      for (size_t b = first[k]; b <= last[k]; b++) acc += power[b];
      o->band_power[t * n_bands + k] = (float)(acc / (double)(last[k] - first[k] + 1));
    }
    for (size_t m = 0; m < n_mels; m++) {
      const float *w = mel.w + m * n_bins;
      double acc = 0.0;
      for (size_t b = mel.first[m]; b <= mel.last[m] && b < n_bins; b++)
        acc += (double)w[b] * power[b];
      double v = 10.0 * log10(acc > DB_AMIN ? acc : DB_AMIN);
      db[t * n_mels + m] = (float)v;
      if (v > top) top = v;
    }
  }
  stft_free(&s);
  fk_mel_free(&mel);
  free(power);
  free(first);
  free(last);

  const float floor_db = (float)(top - DB_TOP);
  for (size_t i = 0; i < t_n * n_mels; i++)
    if (db[i] < floor_db) db[i] = floor_db;
  for (size_t t = 1; t + FLUX_SHIFT - 1 < t_n; t++) {
    const float *cur = db + t * n_mels, *prev = cur - n_mels;
    double acc = 0.0;
    for (size_t m = 0; m < n_mels; m++) {
      float d = cur[m] - prev[m];
      if (d > 0) acc += d;
    }
    o->env[t + FLUX_SHIFT - 1] = (float)(acc / (double)n_mels);
  }
  free(db);
  return FK_OK;
}

void fk_onset_free(fk_onset *o) {
  free(o->env);
  free(o->band_power);
  memset(o, 0, sizeof *o);
}
