/* Uploading a model part's weights onto an fk_nn backend: one call per
 * tensor, by diffusers name, converting the file's dtype. The networks
 * (CLIP, UNet, VAE) share it. */
#ifndef FK_MODELS_WEIGHTS_H
#define FK_MODELS_WEIGHTS_H

#include "models/sd_model.h"
#include "nn/backend.h"

typedef struct fk_weights {
  fk_nn *nn;
  const fk_sd_model *m;
  fk_sd_part part;
  fk_nn_dtype dtype; /* storage on the device (F16 falls back to F32 where unsupported) */
  size_t bytes;      /* device bytes uploaded so far */
  float *scratch;    /* conversion buffer, grown as needed */
  size_t scratch_n;
} fk_weights;

/* Uploads weight `name` (formatted like printf) of the part; *out is a new
 * tensor. When ndim > 0, the tensor gets that shape instead of the file's
 * (same element count: a [C, C, 1, 1] conv weight used as [C, C]). */
int fk_weights_get(fk_weights *w, fk_tensor **out, int ndim, const int64_t *shape, fk_err *e,
                   const char *fmt, ...) FK_PRINTF(6, 7);
/* Rows [row0, row0 + rows) of a weight (the first dimension): one half of
 * a fused projection such as GEGLU's. */
int fk_weights_rows(fk_weights *w, fk_tensor **out, int64_t row0, int64_t rows, fk_err *e,
                    const char *fmt, ...) FK_PRINTF(6, 7);
void fk_weights_done(fk_weights *w);

#endif
