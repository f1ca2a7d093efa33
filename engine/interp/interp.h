/* In-between frames from host pixels: the original FILM evaluation's
 * padding (to a multiple of 64, centred, zeros; cropped back) or the
 * frames as they are, and recursive midpoints for 2^k - 1 in-betweens.
 * Frames are planar float RGB [3, H, W], the layout of a {1, 3, H, W}
 * tensor. */
#ifndef FK_INTERP_INTERP_H
#define FK_INTERP_INTERP_H

#include "interp/film.h"

/* The padding the original evaluation uses. */
#define FK_INTERP_ALIGN 64

/* The frame at time t in [0, 1] between x0 and x1 (each 3 * h * w floats)
 * into out (3 * h * w floats, the raw output: not clamped). align: 0 feeds
 * the frames as they are (at least 64x64), else pads them with zeros to a
 * multiple of align first and crops the result back. */
int fk_interp_between(fk_film *f, const float *x0, const float *x1, int h, int w, float t,
                      int align, float *out, fk_err *e);

/* The 2^depth - 1 frames evenly spaced between x0 and x1, by recursive
 * midpoints (how the original makes more than one): out[i] is the frame
 * at time (i + 1) / 2^depth, each 3 * h * w floats. depth 1..8. */
int fk_interp_midpoints(fk_film *f, const float *x0, const float *x1, int h, int w, int depth,
                        int align, float *const *out, fk_err *e);

#endif
