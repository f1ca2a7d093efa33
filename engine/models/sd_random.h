/* Random-weight models of exact architecture, in either layout: what
 * loading, memory and speed are tested with where no real checkpoint can
 * be had. Values follow PyTorch's default initialisation bounds (uniform,
 * 1/sqrt(fan_in)), norm weights near 1, so activations stay finite. */
#ifndef FK_MODELS_SD_RANDOM_H
#define FK_MODELS_SD_RANDOM_H

#include <stdint.h>

#include "models/safetensors.h"
#include "models/sd_config.h"

typedef struct fk_sd_random_opts {
  fk_sd_family family;
  fk_st_dtype dtype; /* FK_ST_F16 or FK_ST_F32 */
  uint64_t seed;
  int single; /* one .safetensors checkpoint (LDM keys) instead of a diffusers folder */
} fk_sd_random_opts;

/* Writes the model to out (a folder, or a file plus a sidecar where the
 * family needs one); every file goes through a temporary name. */
int fk_sd_random_write(const fk_sd_random_opts *o, const char *out, fk_err *e);

#endif
