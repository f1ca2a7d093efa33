/* Audio: decoding, the built-in demo track, frame chunking with onset-window
 * spectra, bin mappings and per-frame features for schedules.
 *
 * Samples are mono float in [-1, 1] at the file's native rate (libsndfile's
 * normalised float read; stereo is the mean of the channels). */
#ifndef FK_AUDIO_AUDIO_H
#define FK_AUDIO_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct fk_song {
  float *samples; /* mono, n samples */
  size_t n;
  int rate;       /* samples per second */
  int channels;   /* channels of the source before the mixdown */
  double tempo;   /* known tempo in BPM (the demo track), 0 if unknown */
  char name[256]; /* file name or "demo" */
} fk_song;

/* Reads any format libsndfile reads. Errors name the file and the cause. */
int fk_audio_load(const char *path, fk_song *song, fk_err *e);
/* Synthesises the built-in demo: a funk breakbeat (kick, snare, hats, bass)
 * of about `seconds` at `bpm`, deterministic from `seed`. */
int fk_audio_demo(fk_song *song, int rate, double bpm, double seconds, uint64_t seed, fk_err *e);
/* Writes a 16-bit or float WAV (for tests and tools). */
int fk_audio_save_wav(const fk_song *song, const char *path, int float_samples, fk_err *e);
void fk_audio_free(fk_song *song);
double fk_audio_duration(const fk_song *song);

/* |rFFT| of a window of n_window samples (input zero-padded when shorter). */
typedef struct fk_spectrum fk_spectrum;
int fk_spectrum_new(fk_spectrum **s, size_t n_window, fk_err *e);
/* mag receives n_window / 2 + 1 magnitudes of x[0 .. min(n, n_window)). */
void fk_spectrum_run(fk_spectrum *s, const float *x, size_t n, float *mag);
void fk_spectrum_free(fk_spectrum *s);

/* Frames: chunk k covers samples [floor(k*rate/fps), floor((k+1)*rate/fps));
 * its onset window is the chunk's first floor(window*rate) samples,
 * zero-padded when the chunk is shorter; spectrum = |rFFT| of that window.
 * The last partial chunk counts only if it holds the whole onset window. */
typedef struct fk_frames {
  double fps, window_s;
  int rate;
  size_t n_frames;
  size_t n_window; /* samples in the onset window = FFT length */
  size_t n_bins;   /* n_window / 2 + 1 */
  float *spectra;  /* n_frames x n_bins magnitudes */
  float peak;      /* the largest magnitude over all frames and bins */
} fk_frames;

int fk_audio_frames(const fk_song *song, double fps, double window_s, fk_frames *out, fk_err *e);
void fk_frames_free(fk_frames *f);
/* First sample of chunk k (exact integer arithmetic of floor(k*rate/fps)). */
size_t fk_frames_chunk_start(double rate, double fps, size_t k);
static inline const float *fk_frames_spectrum(const fk_frames *f, size_t k) {
  return f->spectra + k * f->n_bins;
}

/* Bin mappings: arrays of FFT bin numbers (0 = DC, bin b is b*rate/n_window Hz).
 * log: np.logspace(log10(from), log10(to), count).astype(int), duplicates
 * kept; the seed's mapping is from = 10, to = n_window / 2 (a float).
 * linear: np.linspace(from, to, count).astype(int). */
int fk_bins_log(double from, double to, size_t count, int64_t **out, fk_err *e);
int fk_bins_linear(double from, double to, size_t count, int64_t **out, fk_err *e);
/* Maps a frequency in Hz to the nearest bin of an FFT of n_window at rate. */
int64_t fk_bins_hz(double hz, int rate, size_t n_window);

#endif
