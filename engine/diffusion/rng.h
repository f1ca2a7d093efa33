/* Counter-based noise: Philox4x32-10 (Salmon et al., "Parallel Random
 * Numbers: As Easy as 1, 2, 3", SC'11) keyed by the seed, so the noise of
 * frame k at step s is a pure function of (seed, k, s, stream) with no
 * state to carry between frames, threads or devices.
 *
 * Layout of one draw (fk_rng_normal):
 *   key     = { (uint32)seed, (uint32)(seed >> 32) ^ (uint32)(frame >> 32) }
 *   counter = { block, step, stream, (uint32)frame }
 * where block = i / 4 for output value i. Each block's four 32-bit words
 * x0..x3 become four normals by Box-Muller on the pairs (x0, x1), (x2, x3):
 *   u1 = (xa + 1) / 2^32, u2 = (xb + 1) / 2^32         (both in (0, 1])
 *   r  = sqrt(-2 ln u1)
 *   out[4 * block + 0 or 2] = r cos(2 pi u2)
 *   out[4 * block + 1 or 3] = r sin(2 pi u2)
 * computed in double and rounded to float. Draws longer than 2^34 values
 * would wrap the block counter; latents are far smaller. */
#ifndef FK_DIFFUSION_RNG_H
#define FK_DIFFUSION_RNG_H

#include <stddef.h>
#include <stdint.h>

/* One Philox4x32-10 block: the published bijection of ctr under key. */
void fk_rng_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* n standard normals for (seed, frame, step, stream), as documented above.
 * Streams separate the draws of one step (e.g. 0 = initial latent noise,
 * 1 = VAE posterior sample, 2 = the scheduler's own noise). */
void fk_rng_normal(uint64_t seed, uint64_t frame, uint32_t step, uint32_t stream, float *out,
                   size_t n);

#endif
