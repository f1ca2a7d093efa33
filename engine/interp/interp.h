/* In-between frames from host pixels, with FILM or RIFE: padding to a
 * multiple of `align` (FILM: the original evaluation's, centred; RIFE:
 * Practical-RIFE's, right and below; zeros, cropped back) or the frames as
 * they are, and 2^k - 1 evenly spaced in-betweens (FILM: by recursive
 * midpoints, as the original; RIFE: each at its own time, as
 * Practical-RIFE). Frames are planar float RGB [3, H, W], the layout of a
 * {1, 3, H, W} tensor. */
#ifndef FK_INTERP_INTERP_H
#define FK_INTERP_INTERP_H

#include "interp/film.h"
#include "interp/rife.h"

/* The padding the original evaluation uses. */
#define FK_INTERP_ALIGN 64

/* A loaded interpolator: exactly one of the two is set. */
typedef struct fk_interp_net {
  fk_film *film;
  fk_rife *rife;
} fk_interp_net;

/* Loads FILM or RIFE weights, telling them apart by their tensor names
 * (RIFE's start with "block0."); see fk_film_load and fk_rife_load. */
int fk_interp_load(fk_nn *nn, const char *path, int f16, fk_interp_net *out, fk_err *e);
void fk_interp_free(fk_interp_net *n);
const char *fk_interp_model(const fk_interp_net *n); /* "film" or "rife" */
fk_nn *fk_interp_backend(const fk_interp_net *n);
fk_nn_dtype fk_interp_dtype(const fk_interp_net *n);
size_t fk_interp_bytes(const fk_interp_net *n); /* the weights on the device */
/* The size the network runs at for h x w frames and an `align` that
 * fk_interp_between accepts (RIFE with align 0: 32). */
void fk_interp_padded(const fk_interp_net *n, int h, int w, int align, int *ph, int *pw);
/* GFLOP (multiply-adds x 2) of one pass of the network at ph x pw. */
double fk_interp_gflop(const fk_interp_net *n, int ph, int pw);

/* The frame at time t in [0, 1] between x0 and x1 (each 3 * h * w floats)
 * into out (3 * h * w floats, the raw output: not clamped). align: 0 feeds
 * the frames as they are (FILM: at least 64x64; RIFE, whose sides must be
 * multiples of 32, pads to 32), else pads them with zeros to a multiple of
 * align (RIFE: a multiple of 32) first and crops the result back. */
int fk_interp_between(const fk_interp_net *n, const float *x0, const float *x1, int h, int w,
                      float t, int align, float *out, fk_err *e);

/* The 2^depth - 1 frames evenly spaced between x0 and x1: out[i] is the
 * frame at time (i + 1) / 2^depth, each 3 * h * w floats. depth 1..8.
 * FILM: by recursive midpoints (how the original makes more than one);
 * RIFE: each straight from x0 and x1 at its time. */
int fk_interp_midpoints(const fk_interp_net *n, const float *x0, const float *x1, int h, int w,
                        int depth, int align, float *const *out, fk_err *e);

#endif
