/* The onset strength envelope (and the STFT power it came from), at the
 * STFT's frame rate; features.c turns it into per-video-frame values,
 * onsets, tempo and beats. The algorithms are librosa's published ones
 * (onset_strength, peak_pick, tempo, beat_track), written for this engine. */
#ifndef FK_AUDIO_ONSET_H
#define FK_AUDIO_ONSET_H

#include "audio/features.h"

#define FK_ONSET_NFFT 2048
#define FK_ONSET_HOP 512

typedef struct fk_onset {
  size_t n; /* frames: 1 + samples / hop */
  size_t hop;
  int rate;
  float *env; /* n: onset strength */
  size_t n_bands;
  float *band_power; /* n x n_bands: mean |STFT|^2 over each band's bins */
} fk_onset;

/* Band powers come from the same STFT so the audio is transformed once;
 * keeping only them (not the whole n x 1025 power spectrogram) keeps an
 * hour of audio in megabytes. A band's bins are those whose centre lies in
 * [lo_hz, hi_hz), or the bin nearest its middle when it is narrower than
 * one bin. */
int fk_onset_envelope(const fk_song *song, const fk_band *bands, size_t n_bands, fk_onset *out,
                      fk_err *e);
void fk_onset_free(fk_onset *o);

/* Peak picking (librosa's defaults in seconds: pre_max 0.03, post_max 0,
 * pre_avg 0.1, post_avg 0.1, delta 0.07 on the envelope scaled to [0, 1],
 * wait 0.03); returns frame numbers. */
int fk_onset_peaks(const fk_onset *o, size_t **frames, size_t *n, fk_err *e);
/* Tempo in BPM within [lo, hi] from the envelope's autocorrelation: each
 * peak lag scores the mean of the peaks at its first four multiples times
 * a log-normal prior around 120 BPM (one octave standard deviation), so of
 * two octaves that fit equally the one nearer 120 wins; the winner is
 * refined over its multiples to a fraction of a frame. 0 when there is no
 * periodicity (silence, audio shorter than two slowest beats). */
int fk_onset_tempo(const fk_onset *o, double lo, double hi, double *bpm, fk_err *e);
/* Ellis' dynamic-programming beat tracker: beats (frame numbers, possibly
 * fractional) at the given tempo. */
int fk_onset_beats(const fk_onset *o, double bpm, double **beats, size_t *n, fk_err *e);

#endif
