/* The hyperparameters of a Stable Diffusion 1.x/2.x model: what the models
 * are built from. They come from diffusers config.json files where a model
 * has them, otherwise from the family the tensor shapes reveal plus an
 * optional JSON sidecar (MODEL.json beside MODEL.safetensors) in the same
 * diffusers vocabulary. */
#ifndef FK_MODELS_SD_CONFIG_H
#define FK_MODELS_SD_CONFIG_H

#include "core/error.h"
#include "core/json.h"

#define FK_SD_MAX_LEVELS 6

typedef enum { FK_SD_CUSTOM = 0, FK_SD_15, FK_SD_21, FK_SD_TINY } fk_sd_family;
typedef enum { FK_ACT_SILU = 0, FK_ACT_GELU, FK_ACT_QUICK_GELU } fk_sd_act;
typedef enum { FK_PRED_EPSILON = 0, FK_PRED_V, FK_PRED_SAMPLE } fk_sd_prediction;

typedef struct fk_clip_config {
  int vocab, hidden, layers, heads, intermediate, positions;
  fk_sd_act act;
  double eps;
  int bos_id, eos_id, pad_id;
  /* how many of the file's layers a single-file SD 2.x checkpoint has
   * beyond those used (OpenCLIP's last layer, which SD 2.x skips) */
  int unused_layers;
} fk_clip_config;

typedef struct fk_unet_config {
  int in_channels, out_channels, levels;
  int channels[FK_SD_MAX_LEVELS];
  int attention[FK_SD_MAX_LEVELS]; /* a transformer in down level i (and up level levels-1-i) */
  int heads[FK_SD_MAX_LEVELS];     /* attention heads per down level (up levels mirror) */
  int layers_per_block, transformer_depth;
  int cross_attention_dim, norm_groups;
  double norm_eps;
  int linear_projection, upcast_attention;
  int flip_sin_to_cos;
  double freq_shift;
  fk_sd_act act;
  int sample_size;
} fk_unet_config;

typedef struct fk_vae_config {
  int in_channels, out_channels, latent_channels, levels;
  int channels[FK_SD_MAX_LEVELS];
  int layers_per_block, norm_groups;
  double norm_eps, scaling_factor;
  int sample_size;
} fk_vae_config;

typedef struct fk_sched_config {
  char type[64]; /* the scheduler class the model names, e.g. DDIMScheduler */
  int train_timesteps, steps_offset, set_alpha_to_one, clip_sample;
  double beta_start, beta_end;
  char beta_schedule[32], timestep_spacing[32];
  fk_sd_prediction prediction;
} fk_sched_config;

typedef struct fk_sd_config {
  fk_sd_family family;
  fk_clip_config text;
  fk_unet_config unet;
  fk_vae_config vae;
  fk_sched_config sched;
} fk_sd_config;

/* The full configuration of a family (SD 1.5, SD 2.1, the tiny test model
 * of ../shared/golden). */
void fk_sd_config_family(fk_sd_family f, fk_sd_config *c);
const char *fk_sd_family_name(fk_sd_family f);
/* "sd15", "sd21", "tiny" -> family; -1 when unknown. */
int fk_sd_family_parse(const char *s);

/* Overrides c with what diffusers configs say. Each may be NULL. where
 * names the file in messages. */
int fk_sd_config_text(const fk_json *j, fk_clip_config *c, const char *where, fk_err *e);
int fk_sd_config_unet(const fk_json *j, fk_unet_config *c, const char *where, fk_err *e);
int fk_sd_config_vae(const fk_json *j, fk_vae_config *c, const char *where, fk_err *e);
int fk_sd_config_sched(const fk_json *j, fk_sched_config *c, const char *where, fk_err *e);
/* Checks the combination is buildable (channels divisible by groups and
 * heads, levels in range, ...). */
int fk_sd_config_check(const fk_sd_config *c, fk_err *e);

/* Writes c as the diffusers config.json texts (into malloc'd strings the
 * caller frees), for random models in folder layout. */
int fk_sd_config_json(const fk_sd_config *c, char **unet, char **vae, char **text, char **sched,
                      fk_err *e);

#endif
