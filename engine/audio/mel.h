/* Slaney mel filterbank (librosa's default mel scale and norm), used by the
 * onset envelope. */
#ifndef FK_AUDIO_MEL_H
#define FK_AUDIO_MEL_H

#include <stddef.h>

#include "core/error.h"

/* n_mels triangles between mel-spaced edges from 0 Hz to rate / 2 over the
 * n_fft / 2 + 1 bins of an rFFT, each scaled by 2 / (upper - lower edge in
 * Hz) (norm="slaney"). w is n_mels x n_bins; first[m] .. last[m] bound the
 * nonzero weights of filter m (last < first when it falls between bins). */
typedef struct fk_mel {
  size_t n_mels, n_bins;
  float *w;
  size_t *first, *last;
} fk_mel;

int fk_mel_new(fk_mel *m, int rate, size_t n_fft, size_t n_mels, fk_err *e);
void fk_mel_free(fk_mel *m);
double fk_mel_from_hz(double hz);
double fk_mel_to_hz(double mel);

#endif
