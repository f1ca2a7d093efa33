/* A Stable Diffusion model on disk, opened: its layout (diffusers folder or
 * single-file checkpoint), configuration, and every expected tensor found
 * and shape-checked, ready for the networks to upload.
 *
 * Opening never uploads anything; it maps the files and checks names and
 * shapes, so a broken model is refused in milliseconds with the first
 * missing or wrong tensor named. */
#ifndef FK_MODELS_SD_MODEL_H
#define FK_MODELS_SD_MODEL_H

#include "models/safetensors.h"
#include "models/sd_tensors.h"

typedef enum { FK_SD_FOLDER = 0, FK_SD_SINGLE = 1 } fk_sd_layout;

typedef struct fk_sd_weight {
  fk_sd_spec spec;       /* names point into the model's own storage */
  const fk_st_tensor *t; /* NULL when missing (only with FK_SD_REPORT) */
  int wrong;             /* present with another shape */
} fk_sd_weight;

typedef struct fk_sd_model fk_sd_model;

enum {
  FK_SD_STRICT = 0, /* the first missing or wrong tensor is an error */
  FK_SD_REPORT = 1, /* record problems for fk_sd_problems (funky info) */
};

int fk_sd_open(const char *path, int mode, fk_sd_model **out, fk_err *e);
void fk_sd_close(fk_sd_model *m);

const char *fk_sd_path(const fk_sd_model *m);
fk_sd_layout fk_sd_layout_of(const fk_sd_model *m);
const fk_sd_config *fk_sd_config_of(const fk_sd_model *m);
/* The folder with vocab.json and merges.txt, or NULL (use the shipped
 * CLIP vocabulary). */
const char *fk_sd_tokenizer_dir(const fk_sd_model *m);
/* Where the configuration came from, for messages and funky info. */
const char *fk_sd_config_source(const fk_sd_model *m);

size_t fk_sd_weight_count(const fk_sd_model *m, fk_sd_part p);
const fk_sd_weight *fk_sd_weight_at(const fk_sd_model *m, fk_sd_part p, size_t i);
/* The weight of a part by diffusers name; an FK_EINTERNAL error when the
 * network asks for a name the tensor list does not have (a bug). */
int fk_sd_weight_get(const fk_sd_model *m, fk_sd_part p, const char *name, const fk_sd_weight **out,
                     fk_err *e);
/* Its values as float32 (n = numel of the spec's shape). */
/* Drops the file pages of a weight already copied out (fk_st_release). */
void fk_sd_weight_release(const fk_sd_model *m, fk_sd_part part, const fk_sd_weight *w);
int fk_sd_weight_f32(const fk_sd_weight *w, float *dst, fk_err *e);

/* Tensors in the files that no part uses, excluding known harmless extras
 * (EMA copies, schedule buffers, position_ids, OpenCLIP's projection). */
size_t fk_sd_unexpected_count(const fk_sd_model *m);
const char *fk_sd_unexpected_at(const fk_sd_model *m, size_t i);
/* Known extras that were skipped (count only). */
size_t fk_sd_ignored_count(const fk_sd_model *m);

#endif
