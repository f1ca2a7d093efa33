/* RIFE v4.6 frame interpolation (hzwer/Practical-RIFE, IFNet_HDv3 of the
 * 4.6 release) on an fk_nn backend: 4 IFBlocks at scales 8, 4, 2, 1
 * (widths 192, 128, 96, 64), any time t in (0, 1) through a timestep
 * plane, flows and a blend mask refined block by block, frames
 * backward-warped and blended. Practical-RIFE's inference at scale 1.0,
 * without ensembling.
 *
 * fk_rife_forward is the network on frames whose sides are multiples of
 * 32 (what its stride-32 first block needs); engine/interp/interp.h pads
 * any size the way Practical-RIFE does (zeros right and below). */
#ifndef FK_INTERP_RIFE_H
#define FK_INTERP_RIFE_H

#include "nn/backend.h"

#define FK_RIFE_BLOCKS 4
#define FK_RIFE_ALIGN 32 /* frame sides must be multiples of this */

typedef struct fk_rife fk_rife;

/* Reads the weights of a .safetensors file (F16, BF16 or F32; the names
 * of Practical-RIFE's flownet.pkl without "module.", as
 * models/convert_interpolator.py writes them) onto nn, checking every
 * tensor's name and shape; f16: 16-bit storage where the device has it. */
int fk_rife_load(fk_nn *nn, const char *path, int f16, fk_rife **out, fk_err *e);
void fk_rife_free(fk_rife *r);
fk_nn *fk_rife_backend(const fk_rife *r);
fk_nn_dtype fk_rife_dtype(const fk_rife *r);
size_t fk_rife_bytes(const fk_rife *r);

/* Writes random weights of the exact architecture (F32, deterministic in
 * seed) to path: for tests and benchmarks (funky model random --family rife). */
int fk_rife_write_random(const char *path, uint64_t seed, fk_err *e);

/* The frame at time t in [0, 1] between x0 and x1 ([1, 3, H, W] RGB in
 * [0, 1], H and W multiples of FK_RIFE_ALIGN, on the weights' backend and
 * storage): *out is a new [1, 3, H, W] tensor, the raw blend. */
int fk_rife_forward(fk_rife *r, const fk_tensor *x0, const fk_tensor *x1, float t, fk_tensor **out,
                    fk_err *e);
/* Multiply-adds x 2 of the convolutions (transposed included) of one
 * forward pass at H x W, multiples of FK_RIFE_ALIGN (the resizes, warps
 * and elementwise ops are under 1%): for benchmarks. */
double fk_rife_gflop(int64_t h, int64_t w);

#endif
