#include "models/weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rows == 0: the whole tensor, as shaped by ndim/shape (or the file). */
static int get(fk_weights *w, fk_tensor **out, int ndim, const int64_t *shape, int64_t row0,
               int64_t rows, const char *name, fk_err *e) {
  *out = NULL;
  const fk_sd_weight *sw;
  if (fk_sd_weight_get(w->m, w->part, name, &sw, e)) return e->code;
  size_t n = 1;
  for (int i = 0; i < sw->spec.ndim; i++) n *= (size_t)sw->spec.shape[i];
  if (n > w->scratch_n) {
    float *p = realloc(w->scratch, n * sizeof *p);
    if (!p) return fk_err_oom(e, name, n * sizeof *p);
    w->scratch = p;
    w->scratch_n = n;
  }
  int64_t part[4];
  const float *src = w->scratch;
  if (rows) {
    if (row0 < 0 || rows < 1 || row0 + rows > sw->spec.shape[0])
      return fk_err_set(e, FK_EINTERNAL, "weight '%s': rows out of range (a bug)", name);
    memcpy(part, sw->spec.shape, sizeof part);
    part[0] = rows;
    src += (size_t)row0 * (n / (size_t)sw->spec.shape[0]);
    n = n / (size_t)sw->spec.shape[0] * (size_t)rows;
    ndim = sw->spec.ndim;
    shape = part;
  }
  if (fk_sd_weight_f32(sw, w->scratch, e) ||
      fk_tensor_new(w->nn, w->dtype, ndim > 0 ? ndim : sw->spec.ndim,
                    ndim > 0 ? shape : sw->spec.shape, out, e))
    return e->code;
  if ((*out)->numel != n) {
    fk_tensor_free(*out);
    *out = NULL;
    return fk_err_set(e, FK_EINTERNAL, "weight '%s' used with another element count (a bug)", name);
  }
  if (fk_tensor_write(*out, src, e)) {
    fk_tensor_free(*out);
    *out = NULL;
    return e->code;
  }
  /* the backend has its copy: the file's pages need not stay resident */
  fk_sd_weight_release(w->m, w->part, sw);
  w->bytes += n * ((*out)->dtype == FK_NN_F16 || !(*out)->host ? 2 : 4);
  return FK_OK;
}

int fk_weights_get(fk_weights *w, fk_tensor **out, int ndim, const int64_t *shape, fk_err *e,
                   const char *fmt, ...) {
  char name[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  return get(w, out, ndim, shape, 0, 0, name, e);
}

int fk_weights_rows(fk_weights *w, fk_tensor **out, int64_t row0, int64_t rows, fk_err *e,
                    const char *fmt, ...) {
  char name[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  return get(w, out, 0, NULL, row0, rows, name, e);
}

void fk_weights_done(fk_weights *w) {
  free(w->scratch);
  w->scratch = NULL;
  w->scratch_n = 0;
}
