/* RIFE v4.6's IFNet on the fk_nn ops.
 *
 * Design notes.
 * - State at full resolution: one [1, 6, H, W] tensor holds the flow
 *   (channels 0..3: frame 0's, then frame 1's) and the mask logit
 *   (channel 4) as a block's upsampled output does, so accumulating a
 *   block's update is one add (channel 5 is unused by the network and
 *   accumulates harmlessly).
 * - Both frames are one [2, 3, H, W] batch: its memory is the [1, 6, H, W]
 *   concatenation of the two, and the flow channels 0..3 copied to a
 *   [1, 4, H, W] tensor are, viewed as [2, 2, H, W], each frame's flow, so
 *   one warp moves both frames.
 * - A block's input is assembled at full resolution and resized once:
 *   bilinear resizing is per channel, so resizing the concatenation is
 *   concatenating the resized parts; the flow's 1/scale and the output's
 *   scale live in the weights (rife_weights.c).
 * - Freed activations are only recycled after a sync, so each block syncs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp/rife_internal.h"

#define LEAKY 0.2f

static const fk_nn_conv DOWN = {.stride = 2,
                                .pad_t = 1,
                                .pad_l = 1,
                                .pad_b = 1,
                                .pad_r = 1,
                                .act = FK_NN_ACT_LEAKY,
                                .alpha = LEAKY};
static const fk_nn_conv SAME = {.stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1};
static const fk_nn_conv RES = {.stride = 1,
                               .pad_t = 1,
                               .pad_l = 1,
                               .pad_b = 1,
                               .pad_r = 1,
                               .act = FK_NN_ACT_LEAKY,
                               .alpha = LEAKY};

typedef struct fwd {
  fk_rife *r;
  fk_nn *nn;
  int64_t h, w;
  fk_tensor *imgs; /* [2, 3, H, W]: both frames */
  fk_tensor *time; /* [1, 1, H, W]: the timestep plane */
  fk_tensor *st;   /* [1, 6, H, W]: flow (4), mask logit, unused */
  fk_tensor *flow; /* [2, 2, H, W]: each frame's flow */
  fk_tensor *warp; /* [2, 3, H, W]: both frames warped */
} fwd;

static fk_tensor *mk(fwd *s, int64_t n, int64_t c, int64_t h, int64_t w, fk_err *e) {
  return fk_tensor_nchw(s->nn, s->r->dt, n, c, h, w, e);
}

static fk_tensor *conv(fwd *s, const fk_rife_conv *c, const fk_tensor *x, const fk_nn_conv *how,
                       fk_err *e) {
  int64_t oh = (x->shape[2] - 1) / how->stride + 1, ow = (x->shape[3] - 1) / how->stride + 1;
  fk_tensor *y = mk(s, 1, c->w->shape[0], oh, ow, e);
  if (y && fk_nn_conv2d(s->nn, x, c->w, c->b, y, how, e)) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

/* The block's input at full resolution, then at 1/scale. */
static fk_tensor *block_input(fwd *s, int b, fk_err *e) {
  int64_t cin = fk_rife_in_ch(b), sc = fk_rife_scale(b);
  fk_tensor *in = mk(s, 1, cin, s->h, s->w, e), *x = NULL;
  fk_tensor *frames = b ? s->warp : s->imgs;
  int rc = !in || fk_tensor_view_nc(frames, 1, 6, e) ||
           fk_nn_copy_channels(s->nn, frames, 0, 6, in, 0, e) ||
           fk_tensor_view_nc(frames, 2, 3, e) ||
           fk_nn_copy_channels(s->nn, s->time, 0, 1, in, 6, e);
  if (!rc && b) /* the mask logit so far, then the flow so far */
    rc = fk_nn_copy_channels(s->nn, s->st, 4, 1, in, 7, e) ||
         fk_nn_copy_channels(s->nn, s->st, 0, 4, in, 8, e);
  if (rc) {
    fk_tensor_free(in);
    return NULL;
  }
  if (sc == 1) return in;
  if (!(x = mk(s, 1, cin, s->h / sc, s->w / sc, e)) ||
      fk_nn_resample_op(s->nn, FK_NN_BILINEAR, 0, in, x, e)) {
    fk_tensor_free(x);
    x = NULL;
  }
  fk_tensor_free(in);
  return x;
}

/* One IFBlock: its [1, 6, H, W] update (flow, mask logit, unused). */
static fk_tensor *block(fwd *s, int b, fk_err *e) {
  const fk_rife_block *blk = &s->r->blk[b];
  int64_t sc = fk_rife_scale(b);
  fk_tensor *x = block_input(s, b, e), *y = NULL;
  for (int j = 0; j < 2 && x; j++) {
    y = conv(s, &blk->conv0[j], x, &DOWN, e);
    fk_tensor_free(x);
    x = y;
  }
  for (int i = 0; i < RIFE_RESCONVS && x; i++) {
    /* LeakyReLU(conv(x) * beta + x): beta and + x are in the weights */
    y = conv(s, &blk->res[i], x, &RES, e);
    fk_tensor_free(x);
    x = y;
  }
  if (!x) return NULL;
  int64_t h = s->h / sc, w = s->w / sc;
  /* the transposed conv and both pixel shuffles: a conv and one shuffle */
  fk_tensor *ct = conv(s, &blk->last, x, &SAME, e), *ps = NULL, *up = NULL;
  int rc = !ct || !(ps = mk(s, 1, RIFE_LAST_CH / 4, h, w, e)) ||
           fk_nn_resample_op(s->nn, FK_NN_PIXEL_SHUFFLE, 4, ct, ps, e);
  fk_tensor_free(x);
  fk_tensor_free(ct);
  if (!rc && sc > 1) {
    rc = !(up = mk(s, 1, RIFE_LAST_CH / 4, s->h, s->w, e)) ||
         fk_nn_resample_op(s->nn, FK_NN_BILINEAR, 0, ps, up, e);
    fk_tensor_free(ps);
    ps = NULL;
  } else {
    up = ps;
    ps = NULL;
  }
  if (rc) {
    fk_tensor_free(ps);
    fk_tensor_free(up);
    return NULL;
  }
  return up;
}

/* Accumulates block b's update and warps both frames by the new flow. */
static int step(fwd *s, int b, fk_err *e) {
  fk_tensor *d = block(s, b, e);
  if (!d) return e->code;
  int rc = FK_OK;
  if (!s->st) {
    s->st = d;
  } else {
    rc = fk_nn_binary_op(s->nn, FK_NN_ADD, s->st, d, s->st, e);
    fk_tensor_free(d);
  }
  if (!rc)
    rc = fk_tensor_view_nc(s->flow, 1, 4, e) ||
                 fk_nn_copy_channels(s->nn, s->st, 0, 4, s->flow, 0, e) ||
                 fk_tensor_view_nc(s->flow, 2, 2, e) ||
                 fk_nn_warp(s->nn, s->imgs, s->flow, s->warp, e) || fk_nn_sync(s->nn, e)
             ? e->code
             : FK_OK;
  return rc;
}

/* out = w0 * m + w1 * (1 - m), m = sigmoid(mask logit). */
static fk_tensor *blend(fwd *s, fk_err *e) {
  fk_tensor *m = mk(s, 1, 1, s->h, s->w, e), *a = NULL, *b = NULL;
  int rc = !m || fk_nn_copy_channels(s->nn, s->st, 4, 1, m, 0, e) ||
           fk_nn_unary_op(s->nn, FK_NN_SIGMOID, m, m, 0.0f, 0.0f, e) ||
           !(a = mk(s, 1, 3, s->h, s->w, e)) || !(b = mk(s, 1, 3, s->h, s->w, e)) ||
           fk_tensor_view_nc(s->warp, 1, 6, e) ||
           fk_nn_copy_channels(s->nn, s->warp, 0, 3, a, 0, e) ||
           fk_nn_copy_channels(s->nn, s->warp, 3, 3, b, 0, e) ||
           fk_tensor_view_nc(s->warp, 2, 3, e) || fk_nn_binary_op(s->nn, FK_NN_MUL, a, m, a, e) ||
           fk_nn_unary_op(s->nn, FK_NN_SCALE_BIAS, m, m, -1.0f, 1.0f, e) ||
           fk_nn_binary_op(s->nn, FK_NN_MUL, b, m, b, e) ||
           fk_nn_binary_op(s->nn, FK_NN_ADD, a, b, a, e) || fk_nn_sync(s->nn, e);
  fk_tensor_free(m);
  fk_tensor_free(b);
  if (rc) {
    fk_tensor_free(a);
    return NULL;
  }
  return a;
}

static int check_frame(const fk_rife *r, const fk_tensor *x, const fk_tensor *like, fk_err *e) {
  if (x->nn != r->nn || x->dtype != r->dt)
    return fk_err_set(e, FK_EINTERNAL, "RIFE: frames must be on the weights' backend and storage");
  if (x->ndim != 4 || x->shape[0] != 1 || x->shape[1] != 3)
    return fk_err_set(e, FK_EUSER, "RIFE: frames must be [1, 3, H, W] RGB tensors");
  if (x->shape[2] != like->shape[2] || x->shape[3] != like->shape[3])
    return fk_err_set(e, FK_EUSER, "RIFE: the two frames differ in size (%lldx%lld and %lldx%lld)",
                      (long long)like->shape[3], (long long)like->shape[2], (long long)x->shape[3],
                      (long long)x->shape[2]);
  if (x->shape[2] % FK_RIFE_ALIGN || x->shape[3] % FK_RIFE_ALIGN)
    return fk_err_set(e, FK_EUSER,
                      "RIFE: frames of %lldx%lld: both sides must be multiples of %d (pad them, "
                      "e.g. pad = 64)",
                      (long long)x->shape[3], (long long)x->shape[2], FK_RIFE_ALIGN);
  return FK_OK;
}

int fk_rife_forward(fk_rife *r, const fk_tensor *x0, const fk_tensor *x1, float t, fk_tensor **out,
                    fk_err *e) {
  *out = NULL;
  if (check_frame(r, x0, x0, e) || check_frame(r, x1, x0, e)) return e->code;
  if (!(t >= 0.0f && t <= 1.0f))
    return fk_err_set(e, FK_EUSER, "RIFE: time %g is outside [0, 1]", (double)t);
  fwd s = {.r = r, .nn = r->nn, .h = x0->shape[2], .w = x0->shape[3]};
  size_t hw = (size_t)s.h * (size_t)s.w;
  float *plane = fk_alloc(hw, sizeof *plane);
  if (!plane) return fk_err_oom(e, "the RIFE timestep plane", hw * sizeof *plane);
  for (size_t i = 0; i < hw; i++) plane[i] = t;
  fk_tensor *y = NULL;
  int rc =
      !(s.imgs = mk(&s, 1, 6, s.h, s.w, e)) || fk_nn_copy_channels(s.nn, x0, 0, 3, s.imgs, 0, e) ||
      fk_nn_copy_channels(s.nn, x1, 0, 3, s.imgs, 3, e) || fk_tensor_view_nc(s.imgs, 2, 3, e) ||
      !(s.time = mk(&s, 1, 1, s.h, s.w, e)) || fk_tensor_write(s.time, plane, e) ||
      !(s.flow = mk(&s, 2, 2, s.h, s.w, e)) || !(s.warp = mk(&s, 2, 3, s.h, s.w, e));
  free(plane);
  for (int b = 0; !rc && b < FK_RIFE_BLOCKS; b++) rc = step(&s, b, e);
  if (!rc && !(y = blend(&s, e))) rc = 1;
  fk_tensor_free(s.imgs);
  fk_tensor_free(s.time);
  fk_tensor_free(s.st);
  fk_tensor_free(s.flow);
  fk_tensor_free(s.warp);
  if (rc) return e->code ? e->code : FK_EINTERNAL;
  *out = y;
  return FK_OK;
}

double fk_rife_gflop(int64_t h, int64_t w) {
  double f = 0;
  for (int b = 0; b < FK_RIFE_BLOCKS; b++) {
    /* conv0 runs at 1/(2 scale) then 1/(4 scale), the ResConvs at
     * 1/(4 scale); the transposed conv counted as the architecture's 4x4
     * taps per input pixel, the work torch does (its 3x3 rewrite here
     * does 2.25x that layer's, about 7% more in all) */
    double sc = fk_rife_scale(b), c = (double)fk_rife_width(b);
    double half = (double)h * (double)w / (4 * sc * sc), quarter = half / 4;
    f += half * 9 * (double)fk_rife_in_ch(b) * (c / 2) + quarter * 9 * (c / 2) * c +
         quarter * RIFE_RESCONVS * 9 * c * c + quarter * 16 * c * RIFE_LAST_CH;
  }
  return 2 * f / 1e9;
}
