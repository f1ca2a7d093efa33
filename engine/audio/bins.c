/* Bin mappings. log/linear reproduce numpy's linspace arithmetic step for
 * step (start + i * step, last element set to stop) so that the integer cast
 * lands on the same bins as the seed's np.logspace(...).astype(int). */
#include <math.h>
#include <stdlib.h>

#include "audio/audio.h"

static int linspace(double start, double stop, size_t count, double *y, fk_err *e) {
  if (count == 0) return fk_err_set(e, FK_EUSER, "count must be at least 1");
  if (count == 1) {
    y[0] = start;
    return FK_OK;
  }
  double div = (double)(count - 1), delta = stop - start, step = delta / div;
  for (size_t i = 0; i < count; i++)
    y[i] = step == 0 ? (double)i / div * delta + start : (double)i * step + start;
  y[count - 1] = stop;
  return FK_OK;
}

/* count values spaced linearly from start to stop (as numpy does), raised
 * to 10^y when log, truncated to bins like astype(int). */
static int spaced(double start, double stop, size_t count, int log, int64_t **out, fk_err *e) {
  double *y = fk_alloc(count, sizeof *y);
  int64_t *bins = fk_alloc(count, sizeof *bins);
  if (!y || !bins) {
    free(y);
    free(bins);
    return fk_err_oom(e, "bins", count * sizeof *bins);
  }
  linspace(start, stop, count, y, e);
  for (size_t i = 0; i < count; i++) bins[i] = (int64_t)(log ? pow(10.0, y[i]) : y[i]);
  free(y);
  *out = bins;
  return FK_OK;
}

int fk_bins_log(double from, double to, size_t count, int64_t **out, fk_err *e) {
  *out = NULL;
  if (count == 0 || count > 1u << 20)
    return fk_err_set(e, FK_EUSER, "count must be in 1..1048576, got %zu", count);
  if (!(from >= 1) || !(to >= from))
    return fk_err_set(e, FK_EUSER,
                      "log bins need 1 <= from <= to, got from %g to %g (to defaults to half "
                      "the window length)",
                      from, to);
  return spaced(log10(from), log10(to), count, 1, out, e);
}

int fk_bins_linear(double from, double to, size_t count, int64_t **out, fk_err *e) {
  *out = NULL;
  if (count == 0 || count > 1u << 20)
    return fk_err_set(e, FK_EUSER, "count must be in 1..1048576, got %zu", count);
  if (!(from >= 0) || !(to >= from))
    return fk_err_set(e, FK_EUSER, "need 0 <= from <= to, got from %g to %g", from, to);
  return spaced(from, to, count, 0, out, e);
}

int64_t fk_bins_hz(double hz, int rate, size_t n_window) {
  double b = floor(hz * (double)n_window / (double)rate + 0.5);
  double top = (double)(n_window / 2);
  return (int64_t)(b < 0 ? 0 : b > top ? top : b);
}
