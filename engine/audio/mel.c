/* Slaney mel filterbank (the Auditory Toolbox scale librosa uses by
 * default): linear below 1 kHz at 200/3 Hz per mel, logarithmic above with
 * 27 mels per factor 6.4. Filters are area-normalised so a wide high filter
 * does not outweigh a narrow low one when the onset flux averages them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/mel.h"

#define MEL_F_SP (200.0 / 3.0)
#define MEL_MIN_LOG_HZ 1000.0
#define MEL_MIN_LOG_MEL (MEL_MIN_LOG_HZ / MEL_F_SP)
#define MEL_LOGSTEP (0.06875177742094912) /* log(6.4) / 27 */

double fk_mel_from_hz(double hz) {
  if (hz < MEL_MIN_LOG_HZ) return hz / MEL_F_SP;
  return MEL_MIN_LOG_MEL + log(hz / MEL_MIN_LOG_HZ) / MEL_LOGSTEP;
}

double fk_mel_to_hz(double mel) {
  if (mel < MEL_MIN_LOG_MEL) return mel * MEL_F_SP;
  return MEL_MIN_LOG_HZ * exp(MEL_LOGSTEP * (mel - MEL_MIN_LOG_MEL));
}

int fk_mel_new(fk_mel *m, int rate, size_t n_fft, size_t n_mels, fk_err *e) {
  memset(m, 0, sizeof *m);
  size_t n_bins = n_fft / 2 + 1;
  double *edges = fk_alloc(n_mels + 2, sizeof *edges);
  m->w = fk_zalloc(n_mels * n_bins, sizeof *m->w);
  m->first = fk_alloc(n_mels, sizeof *m->first);
  m->last = fk_alloc(n_mels, sizeof *m->last);
  if (!edges || !m->w || !m->first || !m->last) {
    free(edges);
    fk_mel_free(m);
    return fk_err_oom(e, "mel filterbank", n_mels * n_bins * sizeof(float));
  }
  m->n_mels = n_mels;
  m->n_bins = n_bins;
  const double top = fk_mel_from_hz(rate / 2.0);
  for (size_t i = 0; i < n_mels + 2; i++)
    edges[i] = fk_mel_to_hz(top * (double)i / (double)(n_mels + 1));
  for (size_t f = 0; f < n_mels; f++) {
    const double lo = edges[f], mid = edges[f + 1], hi = edges[f + 2];
    const double norm = 2.0 / (hi - lo);
    m->first[f] = n_bins;
    m->last[f] = 0;
    for (size_t b = 0; b < n_bins; b++) {
      double hz = (double)b * rate / (double)n_fft;
      double up = (hz - lo) / (mid - lo), down = (hi - hz) / (hi - mid);
      double v = up < down ? up : down;
      if (v <= 0) continue;
      m->w[f * n_bins + b] = (float)(v * norm);
      if (b < m->first[f]) m->first[f] = b;
      m->last[f] = b;
    }
  }
  free(edges);
  return FK_OK;
}

void fk_mel_free(fk_mel *m) {
  free(m->w);
  free(m->first);
  free(m->last);
  memset(m, 0, sizeof *m);
}
