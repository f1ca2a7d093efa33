#include "interp/weights_check.h"

#include <stdio.h>
#include <string.h>

static void shape_str(char *out, size_t n, int ndim, const int64_t *shape) {
  size_t used = (size_t)snprintf(out, n, "[");
  for (int i = 0; i < ndim && used < n; i++)
    used += (size_t)snprintf(out + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (used < n) snprintf(out + used, n - used, "]");
}

int fk_interp_check_tensors(const fk_st_file *st, int n,
                            fk_interp_want (*want)(const void *ctx, int i), const void *ctx,
                            const fk_interp_names *names, fk_err *e) {
  const char *path = fk_st_name(st);
  char wanted[80], got[80];
  for (int i = 0; i < n; i++) {
    fk_interp_want x = want(ctx, i);
    const fk_st_tensor *t = fk_st_find(st, x.name);
    shape_str(wanted, sizeof wanted, x.ndim, x.shape);
    if (!t)
      return fk_err_set(e, FK_EUSER, "%s: %s tensor '%s' %s is missing; %s", path, names->model,
                        x.name, wanted, names->missing_hint);
    int same = t->ndim == x.ndim;
    for (int d = 0; same && d < x.ndim; d++) same = t->shape[d] == x.shape[d];
    if (!same) {
      shape_str(got, sizeof got, t->ndim, t->shape);
      return fk_err_set(e, FK_EUSER, "%s: %s tensor '%s' has shape %s, expected %s (%s)", path,
                        names->model, x.name, got, wanted, names->shape_hint);
    }
    if (t->dtype != FK_ST_F32 && t->dtype != FK_ST_F16 && t->dtype != FK_ST_BF16)
      return fk_err_set(e, FK_EUSER, "%s: %s tensor '%s' is %s, expected F32, F16 or BF16", path,
                        names->model, x.name, fk_st_dtype_name(t->dtype));
  }
  if (fk_st_count(st) == (size_t)n) return FK_OK;
  /* name the first tensor that is not the architecture's: another model */
  for (size_t i = 0; i < fk_st_count(st); i++) {
    const char *name = fk_st_get(st, i)->name;
    int known = 0;
    for (int k = 0; k < n && !known; k++) known = !strcmp(want(ctx, k).name, name);
    if (!known)
      return fk_err_set(e, FK_EUSER,
                        "%s: tensor '%s' is not part of %s (%d tensors expected, the file has %zu)",
                        path, name, names->full, n, fk_st_count(st));
  }
  return FK_OK;
}
