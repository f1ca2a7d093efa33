/* Magnitude spectra of real windows: one FFTW plan per window length,
 * reused for every frame. FFTW_ESTIMATE because MEASURE costs seconds for
 * the odd lengths 44.1 kHz produces (2205 = 3^2 5 7^2). */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"

struct fk_spectrum {
  size_t n;
  float *in;
  fftwf_complex *out;
  fftwf_plan plan;
};

int fk_spectrum_new(fk_spectrum **sp, size_t n_window, fk_err *e) {
  *sp = NULL;
  if (n_window < 2 || n_window > ((size_t)1 << 26))
    return fk_err_set(e, FK_EUSER, "FFT length %zu is outside 2..2^26", n_window);
  fk_spectrum *s = fk_zalloc(1, sizeof *s);
  if (!s) return fk_err_oom(e, "spectrum", sizeof *s);
  s->n = n_window;
  s->in = fftwf_alloc_real(n_window);
  s->out = fftwf_alloc_complex(n_window / 2 + 1);
  if (s->in && s->out) s->plan = fftwf_plan_dft_r2c_1d((int)n_window, s->in, s->out, FFTW_ESTIMATE);
  if (!s->plan) {
    fk_spectrum_free(s);
    return fk_err_set(e, FK_EINTERNAL, "FFTW could not plan a %zu-point transform (out of memory?)",
                      n_window);
  }
  *sp = s;
  return FK_OK;
}

void fk_spectrum_run(fk_spectrum *s, const float *x, size_t n, float *mag) {
  size_t take = n < s->n ? n : s->n;
  memcpy(s->in, x, take * sizeof *x);
  memset(s->in + take, 0, (s->n - take) * sizeof *x);
  fftwf_execute(s->plan);
  for (size_t b = 0; b < s->n / 2 + 1; b++) {
    double re = s->out[b][0], im = s->out[b][1];
    mag[b] = (float)sqrt(re * re + im * im);
  }
}

void fk_spectrum_free(fk_spectrum *s) {
  if (!s) return;
  if (s->plan) fftwf_destroy_plan(s->plan);
  fftwf_free(s->in);
  fftwf_free(s->out);
  free(s);
}
