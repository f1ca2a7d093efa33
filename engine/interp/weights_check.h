/* Checking an interpolator's .safetensors against the tensors its
 * architecture expects (FILM's and RIFE's loaders share it). */
#ifndef FK_INTERP_WEIGHTS_CHECK_H
#define FK_INTERP_WEIGHTS_CHECK_H

#include <stdint.h>

#include "core/error.h"
#include "models/safetensors.h"

/* One expected tensor: name, rank and shape. */
typedef struct fk_interp_want {
  const char *name;
  int ndim;
  const int64_t *shape;
} fk_interp_want;

/* The messages' words for one architecture. */
typedef struct fk_interp_names {
  const char *model;        /* "FILM": "FILM tensor 'x' ..." */
  const char *full;         /* "FILM-net": "... is not part of FILM-net" */
  const char *missing_hint; /* after "... is missing; " */
  const char *shape_hint;   /* in parentheses after a wrong shape */
} fk_interp_names;

/* Every one of the n tensors want(ctx, i) must be in st with its shape and
 * a float dtype (F32, F16, BF16), and st must hold nothing else; the error
 * names the file, the first tensor that fails and what was expected. */
int fk_interp_check_tensors(const fk_st_file *st, int n,
                            fk_interp_want (*want)(const void *ctx, int i), const void *ctx,
                            const fk_interp_names *names, fk_err *e);

#endif
