/* Every tensor a Stable Diffusion model of a given configuration must
 * have: its diffusers name, its name in an original single-file checkpoint
 * (CompVis/LDM keys, OpenCLIP keys for SD 2.x text) and its shape. Loading,
 * `funky info` and the random-model writer all walk this one list, so they
 * cannot disagree. */
#ifndef FK_MODELS_SD_TENSORS_H
#define FK_MODELS_SD_TENSORS_H

#include <stdint.h>

#include "models/sd_config.h"

typedef enum { FK_PART_TEXT = 0, FK_PART_UNET, FK_PART_VAE, FK_PART_N } fk_sd_part;

typedef struct fk_sd_spec {
  fk_sd_part part;
  const char *name; /* diffusers name inside the part's own file */
  const char *ldm;  /* full name in a single-file checkpoint */
  int ndim;
  int64_t shape[4];
  /* OpenCLIP packs q, k, v into one in_proj tensor: this is slice
   * `slice` of `slices` along dimension 0 there (slices 1 otherwise) */
  int slice, slices;
  /* the LDM VAE stores this [C, C] linear as a [C, C, 1, 1] convolution */
  int ldm_conv;
} fk_sd_spec;

typedef int (*fk_sd_visit)(void *ctx, const fk_sd_spec *s, fk_err *e);

/* Calls fn for every tensor of part, in a fixed order; stops at the first
 * non-zero return. openclip: name SD 2.x text tensors the OpenCLIP way. */
int fk_sd_specs(const fk_sd_config *c, fk_sd_part part, int openclip, fk_sd_visit fn, void *ctx,
                fk_err *e);
const char *fk_sd_part_name(fk_sd_part p);
/* The subfolder of a diffusers model that holds the part. */
const char *fk_sd_part_folder(fk_sd_part p);

#endif
