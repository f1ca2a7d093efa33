/* The Stable Diffusion VAE (diffusers' AutoencoderKL, SD 1.x/2.x): the
 * encoder maps an image in [-1, 1] to the mean and standard deviation of
 * the latent posterior, the decoder maps a latent back to an image. Runs on
 * any fk_nn backend.
 *
 * Large images go tiled: when an untiled pass would make an activation
 * tensor larger than the tile cap (lavapipe binds at most 128 MiB, and a
 * 512x512 image already has 128-channel fp32 activations of that size),
 * the input is cut into overlapping tiles of latent cells (25% overlap,
 * all tiles the same size), each tile runs through the network, and the
 * outputs are blended with linear ramps across the overlaps (weights add
 * up to 1 there), as diffusers' tiled_decode but without its smaller
 * edge tiles. Where the latent-resolution middle (mid block with its
 * global attention) fits the cap, only the local part is tiled (the
 * encoder's down blocks, the decoder's up blocks) and the middle runs on
 * the whole latent. The result is close to, not equal to, the untiled one:
 * the tiled blocks' GroupNorm statistics are per tile, and tile borders
 * see zero padding instead of their neighbours. */
#ifndef FK_MODELS_VAE_H
#define FK_MODELS_VAE_H

#include <stddef.h>

#include "models/sd_model.h"
#include "nn/backend.h"

typedef struct fk_vae fk_vae;

/* Uploads the VAE of m; f16: weights and activations in 16-bit storage
 * where the device has it (fp32 arithmetic always). m may be closed after
 * loading. */
int fk_vae_load(fk_nn *nn, const fk_sd_model *m, int f16, fk_vae **out, fk_err *e);
void fk_vae_free(fk_vae *v);
/* Bytes of device memory its weights take. */
size_t fk_vae_bytes(const fk_vae *v);
/* The latent scaling factor of the model (0.18215 for SD 1.x): the UNet's
 * latents are the posterior times this; divide by it before decoding. */
double fk_vae_scaling_factor(const fk_vae *v);
/* How many pixels one latent cell covers per side (8). */
int fk_vae_factor(const fk_vae *v);

/* The largest activation tensor (bytes) an untiled decode of an h x w
 * latent, or encode of an H x W image, makes. */
size_t fk_vae_decode_bytes(const fk_vae *v, int h, int w);
size_t fk_vae_encode_bytes(const fk_vae *v, int H, int W);
/* Tiling: passes whose largest activation would exceed cap bytes go tiled
 * (0: never tile). Default 64 MiB, half of lavapipe's binding limit. */
void fk_vae_set_tile_cap(fk_vae *v, size_t cap);
size_t fk_vae_tile_cap(const fk_vae *v);
/* At most rows queries per pass of the mid-block attention (0: as many
 * as keep its [rows, h w] score matrix under the cap). Exact either way;
 * for tests and for devices with a smaller binding limit. */
void fk_vae_set_attention_rows(fk_vae *v, int rows);
/* Tiles the last encode or decode used (1: untiled). */
int fk_vae_last_tiles(const fk_vae *v);

/* image [1, 3, H, W] in [-1, 1] (any dtype), H and W multiples of the
 * factor -> *mean and *std [1, latent, H/8, W/8], new tensors: std =
 * exp(logvar / 2) with logvar clamped to [-30, 20] as diffusers does. */
int fk_vae_encode(fk_vae *v, const fk_tensor *image, fk_tensor **mean, fk_tensor **std, fk_err *e);
/* The raw moments [1, 2 latent, h, w] (mean channels, then logvar, not
 * clamped): quant_conv(encoder(image)). */
int fk_vae_encode_moments(fk_vae *v, const fk_tensor *image, fk_tensor **moments, fk_err *e);
/* z [1, latent, h, w], already divided by the scaling factor -> *image
 * [1, 3, 8h, 8w], a new tensor: the raw decoder output (about [-1, 1];
 * not clamped). */
int fk_vae_decode(fk_vae *v, const fk_tensor *z, fk_tensor **image, fk_err *e);

#endif
