/* Stable Diffusion img2img, as diffusers' StableDiffusionImg2ImgPipeline
 * computes it: VAE-encode the init image and sample its posterior, keep the
 * last strength x steps timesteps, noise the latent to the first of them,
 * denoise with classifier-free guidance (uncond and cond as one batch of
 * 2), decode. Noise comes from the counter-based RNG, so frame k of a
 * render is a pure function of (seed, k); parity tests pass it in. */
#ifndef FK_DIFFUSION_IMG2IMG_H
#define FK_DIFFUSION_IMG2IMG_H

#include <stdint.h>

#include "models/unet.h"
#include "models/vae.h"

typedef struct fk_img2img {
  /* the init image, [3, H, W] RGB in [-1, 1] (H, W multiples of 8) */
  const float *init;
  int width, height;
  /* text embeddings [ctx_len, ctx_dim]; uncond NULL disables guidance */
  const float *cond, *uncond;
  int ctx_len, ctx_dim;
  double strength; /* diffusers' strength: the share of the schedule run */
  double guidance; /* <= 1: no classifier-free guidance (one UNet pass) */
  int steps;
  const char *sampler; /* ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm, pndm */
  uint64_t seed, frame;
  /* explicit noise (parity with a reference): the VAE posterior sample's
   * and the latent's, each [4, h, w]; NULL draws them from the RNG */
  const float *vae_noise, *noise;
} fk_img2img;

typedef struct fk_img2img_result {
  float *latents; /* [4, h, w] final latents (malloc'd) */
  float *image;   /* [3, H, W] raw decoder output, about [-1, 1] (malloc'd) */
  float *steps;   /* [steps_run, 4, h, w] the latents after each step (malloc'd) */
  int steps_run;
} fk_img2img_result;

/* The networks a run uses (all on one backend, same storage type). */
typedef struct fk_sd_nets {
  fk_nn *nn;
  const fk_sd_model *model;
  fk_unet *unet;
  fk_vae *vae;
} fk_sd_nets;

int fk_img2img_run(fk_sd_nets *n, const fk_img2img *p, fk_img2img_result *r, fk_err *e);
void fk_img2img_result_free(fk_img2img_result *r);

#endif
