/* Loading RIFE v4.6 weights: every expected tensor is derived from the
 * architecture and checked by name and shape before anything is
 * uploaded, so a wrong file fails fast naming the first tensor that is off.
 *
 * Constants are folded into the weights on the host, in fp32, before the
 * (possibly fp16) upload, which saves whole-tensor passes per block:
 * - ResConv computes LeakyReLU(conv(x) * beta + x): conv(x) * beta is the
 *   conv with weights and bias scaled by beta per output channel, and
 *   + x is one more at each output channel's own centre tap, so the whole
 *   ResConv is one conv with the LeakyReLU fused (no add, no separate
 *   activation: two full-size passes fewer per ResConv). In fp16 storage
 *   that tap rounds 1 + w to 2^-11 of 1, the same relative error as storing
 *   x once more in fp16;
 * - a block's input flow is resized then divided by its scale, and feeds
 *   conv0's first layer only (input channels 8..11): dividing those
 *   weights instead is the same linear map;
 * - the block's flow output is multiplied by its scale after the pixel
 *   shuffle and bilinear resize (both linear per channel): the transpose
 *   conv's output channels 0..15 (shuffled into flow channels 0..3) are.
 * The scales are powers of two, so those two folds are exact. The
 * transposed conv itself is uploaded as a plain 3x3 conv (put_last). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/rife_internal.h"
#include "interp/weights_check.h"
#include "models/safetensors.h"

#define MAX_WEIGHTS (FK_RIFE_BLOCKS * (4 + 3 * RIFE_RESCONVS + 2))

typedef struct expect {
  char name[64];
  int ndim;
  int64_t shape[4];
} expect;

typedef struct plan {
  expect e[MAX_WEIGHTS];
  int n;
} plan;

static void add(plan *p, const char *name, int ndim, int64_t a, int64_t b, int64_t c, int64_t d) {
  expect *x = &p->e[p->n++];
  snprintf(x->name, sizeof x->name, "%s", name);
  x->ndim = ndim;
  x->shape[0] = a;
  x->shape[1] = b;
  x->shape[2] = c;
  x->shape[3] = d;
}

/* Practical-RIFE's state_dict names (without "module."), in its order. */
static void make_plan(plan *p) {
  char n[64];
  p->n = 0;
  for (int b = 0; b < FK_RIFE_BLOCKS; b++) {
    int64_t c = fk_rife_width(b), cin = fk_rife_in_ch(b);
    for (int j = 0; j < 2; j++) {
      snprintf(n, sizeof n, "block%d.conv0.%d.0.weight", b, j);
      add(p, n, 4, j ? c : c / 2, j ? c / 2 : cin, 3, 3);
      snprintf(n, sizeof n, "block%d.conv0.%d.0.bias", b, j);
      add(p, n, 1, j ? c : c / 2, 0, 0, 0);
    }
    for (int i = 0; i < RIFE_RESCONVS; i++) {
      snprintf(n, sizeof n, "block%d.convblock.%d.beta", b, i);
      add(p, n, 4, 1, c, 1, 1);
      snprintf(n, sizeof n, "block%d.convblock.%d.conv.weight", b, i);
      add(p, n, 4, c, c, 3, 3);
      snprintf(n, sizeof n, "block%d.convblock.%d.conv.bias", b, i);
      add(p, n, 1, c, 0, 0, 0);
    }
    snprintf(n, sizeof n, "block%d.lastconv.0.weight", b);
    add(p, n, 4, c, RIFE_LAST_CH, 4, 4);
    snprintf(n, sizeof n, "block%d.lastconv.0.bias", b);
    add(p, n, 1, RIFE_LAST_CH, 0, 0, 0);
  }
}

static fk_interp_want want(const void *ctx, int i) {
  const expect *x = &((const plan *)ctx)->e[i];
  return (fk_interp_want){x->name, x->ndim, x->shape};
}

static int check(const fk_st_file *st, const plan *p, fk_err *e) {
  static const fk_interp_names names = {
      "RIFE", "RIFE v4.6's IFNet",
      "is this a RIFE v4.6 flownet? (models/convert_interpolator.py converts Practical-RIFE's "
      "flownet.pkl)",
      "only RIFE v4.6's IFNet is supported; v4.7 and later add an encoder"};
  return fk_interp_check_tensors(st, p->n, want, p, &names, e);
}

static int host(const fk_st_file *st, const char *fmt, int b, int i, float **v, fk_err *e) {
  char n[64];
  snprintf(n, sizeof n, fmt, b, i);
  return fk_st_to_f32(fk_st_find(st, n), v, e);
}

static int put(fk_rife *r, const float *v, int ndim, const int64_t *shape, fk_tensor **slot,
               fk_err *e) {
  if (fk_tensor_new(r->nn, r->dt, ndim, shape, slot, e) || fk_tensor_write(*slot, v, e))
    return e->code;
  r->bytes += (*slot)->numel * ((*slot)->dtype == FK_NN_F16 ? 2 : 4);
  return FK_OK;
}

/* Uploads conv weight w [cout, ...] (per output channel: per floats) and
 * bias, each output channel o times mul[o] (mul NULL: as they are); with
 * residual, plus the identity (a ResConv's + x: 1 at output channel o's
 * centre tap of input channel o, a 3x3 conv with cin = cout). */
static int put_conv(fk_rife *r, fk_rife_conv *c, float *w, float *bias, const int64_t *wshape,
                    const float *mul, int residual, fk_err *e) {
  int64_t cout = wshape[0], per = wshape[1] * wshape[2] * wshape[3];
  for (int64_t o = 0; mul && o < cout; o++) {
    for (int64_t k = 0; k < per; k++) w[o * per + k] *= mul[o];
    bias[o] *= mul[o];
  }
  for (int64_t o = 0; residual && o < cout; o++) w[o * per + o * 9 + 4] += 1.0f;
  return put(r, w, 4, wshape, &c->w, e) || put(r, bias, 1, &cout, &c->b, e) ? e->code : FK_OK;
}

/* The block's last layer, ConvTranspose2d(c, 24, 4, 2, 1) then
 * PixelShuffle(2), as a 3x3 conv (pad 1) to 96 channels then
 * PixelShuffle(4): the transposed conv's output pixel (2i + py, 2j + px)
 * sums input pixels (i + dy, j + dx), dy in {-1, 0, 1}, through tap
 * ky = py + 1 - 2 dy (likewise kx), so each output parity is a 3x3 conv
 * with some taps zero. Output channel (c6, qy, qx) of the transposed conv
 * (c6 * 4 + qy * 2 + qx) at parity (py, px) lands at pixel
 * (4i + 2py + qy, 4j + 2px + qx) of channel c6 after both shuffles: conv
 * channel c6 * 16 + (2py + qy) * 4 + 2px + qx. 2.25x the multiply-adds
 * (the zero taps) on the direct conv kernel beat the transposed conv's
 * gather by far (59% of a pass on lavapipe before). */
static int put_last(fk_rife *r, fk_rife_block *blk, const float *w, const float *bias, int64_t c,
                    fk_err *e) {
  int64_t shape[4] = {RIFE_LAST_CONV_CH, c, 3, 3}, nb = RIFE_LAST_CONV_CH;
  size_t n = (size_t)RIFE_LAST_CONV_CH * (size_t)c * 9;
  float *w3 = fk_zalloc(n, sizeof *w3), b3[RIFE_LAST_CONV_CH];
  if (!w3) return fk_err_oom(e, "RIFE's last-layer weights", n * sizeof *w3);
  for (int ch = 0; ch < RIFE_LAST_CH; ch++)
    for (int py = 0; py < 2; py++)
      for (int px = 0; px < 2; px++) {
        int c6 = ch / 4, qy = ch / 2 % 2, qx = ch % 2;
        int64_t o = c6 * 16 + (2 * py + qy) * 4 + 2 * px + qx;
        b3[o] = bias[ch];
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++) {
            int ky = py + 1 - 2 * dy, kx = px + 1 - 2 * dx;
            if (ky < 0 || ky > 3 || kx < 0 || kx > 3) continue;
            for (int64_t i = 0; i < c; i++)
              w3[((o * c + i) * 3 + dy + 1) * 3 + dx + 1] =
                  w[((i * RIFE_LAST_CH + ch) * 4 + ky) * 4 + kx];
          }
      }
  int rc = put(r, w3, 4, shape, &blk->last.w, e) || put(r, b3, 1, &nb, &blk->last.b, e) ? e->code
                                                                                        : FK_OK;
  free(w3);
  return rc;
}

static int upload_block(fk_rife *r, const fk_st_file *st, int b, fk_err *e) {
  fk_rife_block *blk = &r->blk[b];
  int64_t c = fk_rife_width(b), cin = fk_rife_in_ch(b);
  float scale = (float)fk_rife_scale(b);
  float *w = NULL, *bias = NULL, *beta = NULL;
  int rc = FK_OK;
  for (int j = 0; j < 2 && !rc; j++) {
    int64_t shape[4] = {j ? c : c / 2, j ? c / 2 : cin, 3, 3};
    rc = host(st, "block%d.conv0.%d.0.weight", b, j, &w, e) ||
                 host(st, "block%d.conv0.%d.0.bias", b, j, &bias, e)
             ? e->code
             : FK_OK;
    if (!rc && j == 0 && b > 0) /* input flow channels 8..11: divided by the scale */
      for (int64_t o = 0; o < shape[0]; o++)
        for (int64_t i = 8; i < 12; i++)
          for (int k = 0; k < 9; k++) w[(o * cin + i) * 9 + k] /= scale;
    if (!rc) rc = put_conv(r, &blk->conv0[j], w, bias, shape, NULL, 0, e);
    free(w), free(bias);
    w = bias = NULL;
  }
  for (int i = 0; i < RIFE_RESCONVS && !rc; i++) {
    int64_t shape[4] = {c, c, 3, 3};
    rc = host(st, "block%d.convblock.%d.conv.weight", b, i, &w, e) ||
                 host(st, "block%d.convblock.%d.conv.bias", b, i, &bias, e) ||
                 host(st, "block%d.convblock.%d.beta", b, i, &beta, e)
             ? e->code
             : FK_OK;
    if (!rc) rc = put_conv(r, &blk->res[i], w, bias, shape, beta, 1, e);
    free(w), free(bias), free(beta);
    w = bias = beta = NULL;
  }
  if (!rc) {
    /* transpose-conv weights are [cin, cout, k, k]: scale along dim 1 */
    rc = host(st, "block%d.lastconv.0.weight", b, 0, &w, e) ||
                 host(st, "block%d.lastconv.0.bias", b, 0, &bias, e)
             ? e->code
             : FK_OK;
    if (!rc) {
      for (int64_t i = 0; i < c; i++)
        for (int64_t o = 0; o < 16; o++) /* shuffled into flow channels 0..3 */
          for (int k = 0; k < 16; k++) w[(i * RIFE_LAST_CH + o) * 16 + k] *= scale;
      for (int o = 0; o < 16; o++) bias[o] *= scale;
      rc = put_last(r, blk, w, bias, c, e);
    }
    free(w), free(bias);
  }
  return rc;
}

static void free_conv(fk_rife_conv *c) {
  fk_tensor_free(c->w);
  fk_tensor_free(c->b);
}

void fk_rife_free(fk_rife *r) {
  if (!r) return;
  for (int b = 0; b < FK_RIFE_BLOCKS; b++) {
    free_conv(&r->blk[b].conv0[0]);
    free_conv(&r->blk[b].conv0[1]);
    for (int i = 0; i < RIFE_RESCONVS; i++) free_conv(&r->blk[b].res[i]);
    free_conv(&r->blk[b].last);
  }
  free(r);
}

int fk_rife_load(fk_nn *nn, const char *path, int f16, fk_rife **out, fk_err *e) {
  *out = NULL;
  fk_rife *r = fk_zalloc(1, sizeof *r);
  plan *p = fk_zalloc(1, sizeof *p);
  if (!r || !p) {
    free(r);
    free(p);
    return fk_err_oom(e, "RIFE weights", sizeof *r + sizeof *p);
  }
  r->nn = nn;
  r->dt = f16 ? FK_NN_F16 : FK_NN_F32;
  make_plan(p);
  fk_st_file *st = NULL;
  int rc = fk_st_open(path, &st, e);
  if (!rc) rc = check(st, p, e);
  for (int b = 0; !rc && b < FK_RIFE_BLOCKS; b++) rc = upload_block(r, st, b, e);
  if (!rc) rc = fk_nn_sync(nn, e);
  fk_st_close(st);
  free(p);
  if (rc) {
    fk_rife_free(r);
    return rc;
  }
  r->dt = r->blk[0].last.w->dtype; /* F16 falls back to F32 without 16-bit storage */
  *out = r;
  return FK_OK;
}

fk_nn *fk_rife_backend(const fk_rife *r) {
  return r->nn;
}
fk_nn_dtype fk_rife_dtype(const fk_rife *r) {
  return r->dt;
}
size_t fk_rife_bytes(const fk_rife *r) {
  return r->bytes;
}
