/* The CLIP text transformer (transformers' CLIPTextModel as Stable
 * Diffusion uses it): token + position embeddings, pre-LN layers with
 * causal self-attention and a quick-GELU or GELU MLP, final layer norm.
 * Runs on any fk_nn backend. */
#ifndef FK_MODELS_CLIP_TEXT_H
#define FK_MODELS_CLIP_TEXT_H

#include <stdint.h>

#include "models/sd_model.h"
#include "nn/backend.h"

typedef struct fk_clip_text fk_clip_text;

/* Uploads the text encoder of m; f16: keep weights and activations in
 * 16-bit storage where the device has it (fp32 arithmetic always). The
 * token embedding stays in the (mapped) model file: only the rows a
 * prompt uses are read. m must outlive the encoder. */
int fk_clip_text_load(fk_nn *nn, const fk_sd_model *m, int f16, fk_clip_text **out, fk_err *e);
void fk_clip_text_free(fk_clip_text *c);
int fk_clip_text_width(const fk_clip_text *c);
int fk_clip_text_layers(const fk_clip_text *c);
/* Bytes of device memory its weights take. */
size_t fk_clip_text_bytes(const fk_clip_text *c);

/* Encodes n sequences of `positions` ids (77) into *out [n, 77, width],
 * a new tensor on the backend. clip_skip: how many final layers to leave
 * out (0 = all, as diffusers' default; A1111's "clip skip 2" is 1 here);
 * the final layer norm is applied either way. */
int fk_clip_text_encode(fk_clip_text *c, const int32_t *ids, int n, int clip_skip, fk_tensor **out,
                        fk_err *e);

#endif
