/* The SD 1.x/2.x UNet (diffusers' UNet2DConditionModel with cross-
 * attention down/up blocks) on an fk_nn backend: sinusoidal timestep
 * embedding, resnets with time conditioning, transformer blocks (self-
 * attention, cross-attention on the text embeddings, GEGLU feed-forward),
 * skip connections, nearest upsampling. */
#ifndef FK_MODELS_UNET_H
#define FK_MODELS_UNET_H

#include "models/sd_model.h"
#include "nn/backend.h"

typedef struct fk_unet fk_unet;

/* Uploads the UNet of m (f16: 16-bit storage where the device has it). */
int fk_unet_load(fk_nn *nn, const fk_sd_model *m, int f16, fk_unet **out, fk_err *e);
void fk_unet_free(fk_unet *u);
size_t fk_unet_bytes(const fk_unet *u);
fk_nn_dtype fk_unet_dtype(const fk_unet *u);

/* One evaluation: sample [B, in, h, w] at timesteps t[B] (fractional ones
 * allowed) conditioned on ctx [B, L, cross_attention_dim]; *out is a new
 * [B, out, h, w] tensor (the model's prediction: noise, v or sample).
 * Any h and w: odd sizes round up going down and are upsampled back to
 * each skip connection's size, as diffusers does. */
int fk_unet_forward(fk_unet *u, const fk_tensor *sample, const float *t, const fk_tensor *ctx,
                    fk_tensor **out, fk_err *e);

#endif
