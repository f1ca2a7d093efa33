/* Per-frame features for schedules: RMS, band energies, onset strength,
 * onset times, tempo and beat grid.
 *
 * Onset strength follows librosa's onset_strength defaults: power mel
 * spectrogram (n_fft 2048, hop 512, 128 Slaney mels, centred frames with
 * zero padding, Hann window), converted to dB (ref 1, amin 1e-10, top_db 80),
 * spectral flux max(0, S[t] - S[t-1]) averaged over mels. Values are then
 * resampled to video frames. */
#ifndef FK_AUDIO_FEATURES_H
#define FK_AUDIO_FEATURES_H

#include "audio/audio.h"

typedef struct fk_band {
  double lo_hz, hi_hz;
} fk_band;

typedef struct fk_features_cfg {
  double fps;           /* video frame rate the per-frame values are aligned to */
  const fk_band *bands; /* Hz ranges for band energies (may be NULL) */
  size_t n_bands;
} fk_features_cfg;

typedef struct fk_features {
  size_t n_frames; /* video frames: every chunk that starts inside the audio, i.e. the k with
                      fk_frames_chunk_start(rate, fps, k) < n (ceil(n * fps / rate) up to
                      rounding); one more than fk_audio_frames when the last chunk is shorter
                      than the onset window */
  double fps;
  float *rms;   /* n_frames: RMS of each frame's chunk */
  float *bands; /* n_frames x n_bands: mean |STFT|^2 over the band's bins (centres in
                   [lo_hz, hi_hz)) and over the STFT frames centred in the chunk; each
                   band divided by its maximum over the song, but by no less than 1e-3
                   of the loudest band's maximum (a band of mere leakage stays near 0) */
  size_t n_bands;
  float *onset;        /* n_frames: largest onset strength among the STFT frames centred in the
                          chunk (the nearest one for chunks shorter than a hop), over the song's
                          largest: max 1, all 0 for silence */
  double *onset_times; /* seconds of picked onset peaks (librosa's peak_pick defaults) */
  size_t n_onsets;
  double tempo;  /* estimated BPM in [60, 200], 0 when no pulse was found (then no beats) */
  double *beats; /* beat times in seconds */
  size_t n_beats;
  float *beat_phase; /* n_frames: 0 at a beat, rising to 1 before the next (at time k / fps);
                        before the first and after the last beat the tempo's period is
                        extrapolated; all 0 without beats */
  float *bar_phase;  /* n_frames: the same over bars of 4 beats, the first beat opening a bar */
  int *beat_index;   /* n_frames: number (from 0) of the last beat at or before the frame, -1
                        before the first */
} fk_features;

int fk_features_compute(const fk_song *song, const fk_features_cfg *cfg, fk_features *out,
                        fk_err *e);
void fk_features_free(fk_features *f);

#endif
