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
  size_t n_frames;   /* video frames: ceil(duration * fps) */
  double fps;
  float *rms;        /* n_frames: RMS of each frame's chunk */
  float *bands;      /* n_frames x n_bands: mean power spectrum energy in each band, 0..1 */
  size_t n_bands;
  float *onset;      /* n_frames: onset strength, normalised so the song's max is 1 */
  double *onset_times; /* seconds of picked onset peaks */
  size_t n_onsets;
  double tempo;      /* estimated BPM */
  double *beats;     /* beat times in seconds */
  size_t n_beats;
  float *beat_phase; /* n_frames: 0 at a beat, rising to 1 before the next */
  float *bar_phase;  /* n_frames: the same over bars of 4 beats */
  int *beat_index;   /* n_frames: number of the last beat at or before the frame (-1 before the first) */
} fk_features;

int fk_features_compute(const fk_song *song, const fk_features_cfg *cfg, fk_features *out,
                        fk_err *e);
void fk_features_free(fk_features *f);

#endif
