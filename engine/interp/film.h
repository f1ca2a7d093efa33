/* FILM-net frame interpolation (google-research/frame-interpolation, as
 * the PyTorch port dajes/frame-interpolation-pytorch names its weights)
 * on an fk_nn backend, in the shipped configuration: 7 pyramid levels,
 * 5 fusion levels, 3 specialized flow levels, 4 feature sub-levels, 64
 * filters, flow convs (3,3,3,3), flow filters (32,64,128,256).
 *
 * fk_film_forward is the network itself on frames fed as they are (what
 * the port and ComfyUI do); engine/interp/interp.h adds the original's
 * pad-to-64 evaluation and recursive midpoints. */
#ifndef FK_INTERP_FILM_H
#define FK_INTERP_FILM_H

#include "nn/backend.h"

#define FK_FILM_LEVELS 7        /* image / feature / flow pyramid levels */
#define FK_FILM_FUSION_LEVELS 5 /* levels the fusion decoder reads */

typedef struct fk_film fk_film;

/* Reads the weights of a .safetensors file (F16, BF16 or F32, the port's
 * state_dict names) onto nn, checking every tensor's name and shape;
 * f16: 16-bit storage where the device has it. */
int fk_film_load(fk_nn *nn, const char *path, int f16, fk_film **out, fk_err *e);
void fk_film_free(fk_film *f);
/* What `funky info` says about a file, without a device: *is_film when
 * it holds any FILM tensor name; then the check fk_film_load makes (the
 * return value and e), the tensor count, parameters and dtypes
 * ("F16 82"). */
typedef struct fk_film_info {
  int is_film;
  size_t tensors;
  uint64_t params;
  char dtypes[64];
} fk_film_info;
int fk_film_check_file(const char *path, fk_film_info *info, fk_err *e);
fk_nn *fk_film_backend(const fk_film *f);
/* The storage of the weights, and of every tensor forward takes. */
fk_nn_dtype fk_film_dtype(const fk_film *f);
size_t fk_film_bytes(const fk_film *f);

/* The intermediate flows, for tests that localise errors: batch entry 0
 * is the forward estimate (frame 0 to 1), entry 1 the backward one; two
 * channels in the port's convention (x displacement first), in pixels of
 * the level; level 0 is the finest. */
typedef struct fk_film_debug {
  fk_tensor *residual[FK_FILM_LEVELS];    /* [2, 2, h_l, w_l] */
  fk_tensor *flow[FK_FILM_FUSION_LEVELS]; /* [2, 2, h_l, w_l], not yet scaled by t */
} fk_film_debug;
void fk_film_debug_free(fk_film_debug *d);

/* The frame at time dt between x0 and x1 ([1, 3, H, W] RGB, usually in
 * [0, 1], on the weights' backend and storage): *out is a new [1, 3, H, W]
 * tensor, the network's raw (unclamped) output. The pyramid halves by
 * floor-halving average pooling, so H and W must be at least 64. dbg may
 * be NULL. */
int fk_film_forward(fk_film *f, const fk_tensor *x0, const fk_tensor *x1, float dt, fk_tensor **out,
                    fk_film_debug *dbg, fk_err *e);

/* Multiply-adds x 2 of the convolutions of one forward pass at H x W
 * (the rest is under 1%): for benchmarks. */
double fk_film_gflop(int64_t h, int64_t w);

#endif
