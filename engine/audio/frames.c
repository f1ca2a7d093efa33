/* Cutting audio into video frames and taking each frame's onset spectrum.
 * Chunk boundaries use the same float64 expression as the seed's numpy
 * code, int(k * rate / fps), so frame k covers exactly the same samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"

size_t fk_frames_chunk_start(double rate, double fps, size_t k) {
  return (size_t)floor((double)k * rate / fps);
}

static size_t count_frames(size_t n, double rate, double fps, size_t n_window) {
  size_t k = 0;
  for (;; k++) {
    size_t s = fk_frames_chunk_start(rate, fps, k);
    if (s >= n) break;
    size_t end = fk_frames_chunk_start(rate, fps, k + 1);
    if (end > n) {
      size_t chunk = end - s, need = n_window < chunk ? n_window : chunk;
      if (n - s < need) break;
    }
  }
  return k;
}

int fk_audio_frames(const fk_song *song, double fps, double window_s, fk_frames *out, fk_err *e) {
  memset(out, 0, sizeof *out);
  if (!(fps > 0) || fps > 1000)
    return fk_err_set(e, FK_EUSER, "fps must be in (0, 1000], got %g", fps);
  if (!(window_s > 0) || window_s > 10)
    return fk_err_set(e, FK_EUSER, "window must be in (0, 10] seconds, got %g", window_s);
  size_t n_window = (size_t)floor(window_s * song->rate);
  if (n_window < 2)
    return fk_err_set(e, FK_EUSER,
                      "window of %g s is under 2 samples at %d Hz; use a longer window", window_s,
                      song->rate);
  const double rate = song->rate;
  out->fps = fps;
  out->window_s = window_s;
  out->rate = song->rate;
  out->n_window = n_window;
  out->n_bins = n_window / 2 + 1;
  out->n_frames = count_frames(song->n, rate, fps, n_window);
  if (out->n_frames == 0)
    return fk_err_set(e, FK_EUSER,
                      "audio '%s' (%.3f s) is shorter than one %g s onset window; give longer "
                      "audio or a shorter window",
                      song->name, fk_audio_duration(song), window_s);
  out->spectra = fk_alloc(out->n_frames * out->n_bins, sizeof(float));
  if (!out->spectra) return fk_err_oom(e, "spectra", out->n_frames * out->n_bins * sizeof(float));
  fk_spectrum *sp;
  if (fk_spectrum_new(&sp, n_window, e)) {
    fk_frames_free(out);
    return e->code;
  }
  float peak = 0.0f;
  for (size_t k = 0; k < out->n_frames; k++) {
    size_t s = fk_frames_chunk_start(rate, fps, k);
    size_t end = fk_frames_chunk_start(rate, fps, k + 1);
    if (end > song->n) end = song->n;
    float *mag = out->spectra + k * out->n_bins;
    fk_spectrum_run(sp, song->samples + s, end - s, mag);
    for (size_t b = 0; b < out->n_bins; b++)
      if (mag[b] > peak) peak = mag[b];
  }
  out->peak = peak;
  fk_spectrum_free(sp);
  return FK_OK;
}

void fk_frames_free(fk_frames *f) {
  free(f->spectra);
  f->spectra = NULL;
  f->n_frames = 0;
}
