/* FILM-net's forward pass on the fk_nn ops.
 *
 * Design notes.
 * - Both frames run as one batch of two: batch entry b holds frame b's
 *   pyramid, and the flow estimators run the forward (0 -> 1) and the
 *   backward (1 -> 0) estimate together, entry 0 and 1, against a copy of
 *   the features with the entries swapped. Half the dispatches, and the
 *   tiny coarse levels get twice the columns.
 * - A [2, C, h, w] tensor is, in memory, the [1, 2C, h, w] concatenation
 *   of its entries: swapping entries and concatenating the two warped
 *   frames for the decoder are channel copies on that view.
 * - Level l keeps the image and its features in one tensor [2, 3 + C_l,
 *   h, w] (the decoder warps both with one flow); the flow estimators read
 *   the feature channels only.
 * - Flows up a level are resized (bilinear, to the finer level's exact
 *   size, so odd sizes work) and doubled; warping is backward, bilinear,
 *   clamped at the border (the port's grid_sample with padding 'border').
 * - Freed activations are only recycled after a sync, so each stage
 *   syncs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp/film_internal.h"

#define LEAKY 0.2f

static const fk_nn_conv SAME3 = {.stride = 1,
                                 .pad_t = 1,
                                 .pad_l = 1,
                                 .pad_b = 1,
                                 .pad_r = 1,
                                 .act = FK_NN_ACT_LEAKY,
                                 .alpha = LEAKY};
/* The port pads 2x2 convs by one column right and one row below. */
static const fk_nn_conv PAD2X2 = {.stride = 1, .pad_b = 1, .pad_r = 1};
static const fk_nn_conv ONE_LEAKY = {.stride = 1, .act = FK_NN_ACT_LEAKY, .alpha = LEAKY};
static const fk_nn_conv ONE = {.stride = 1};

typedef struct fwd {
  fk_film *f;
  fk_nn *nn;
  int64_t h[FK_FILM_LEVELS], w[FK_FILM_LEVELS];
  fk_tensor *img[FK_FILM_LEVELS];       /* [2, 3, h, w] image pyramid */
  fk_tensor *fi[FK_FILM_LEVELS];        /* [2, 3 + C, h, w]: image, then features */
  fk_tensor *sw[FK_FILM_LEVELS];        /* fi with the batch entries swapped */
  fk_tensor *v[FK_FILM_LEVELS];         /* [2, 2, h, w] flows (forward, backward) */
  fk_tensor *res[FK_FILM_LEVELS];       /* their residuals */
  fk_tensor *al[FK_FILM_FUSION_LEVELS]; /* decoder inputs, room for the skip */
} fwd;

static fk_tensor *mk(fwd *s, int64_t n, int64_t c, int64_t h, int64_t w, fk_err *e) {
  fk_tensor *t;
  int64_t shape[4] = {n, c, h, w};
  return fk_tensor_new(s->nn, s->f->dt, 4, shape, &t, e) ? NULL : t;
}

/* Gives t the shape n x c x h x w (same elements). */
static int view(fk_tensor *t, int64_t n, int64_t c, fk_err *e) {
  int64_t shape[4] = {n, c, t->shape[2], t->shape[3]};
  return fk_tensor_reshape(t, 4, shape, e);
}

static fk_tensor *conv(fwd *s, const fk_film_conv *c, const fk_tensor *x, const fk_nn_conv *how,
                       fk_err *e) {
  fk_tensor *y = mk(s, x->shape[0], c->w->shape[0], x->shape[2], x->shape[3], e);
  if (y && fk_nn_conv2d(s->nn, x, c->w, c->b, y, how, e)) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

/* y = x with its two batch entries swapped. */
static fk_tensor *swap(fwd *s, fk_tensor *x, fk_err *e) {
  int64_t c = x->shape[1];
  fk_tensor *y = mk(s, 1, 2 * c, x->shape[2], x->shape[3], e);
  if (!y) return NULL;
  int rc = view(x, 1, 2 * c, e) || fk_nn_copy_channels(s->nn, x, 0, (int)c, y, (int)c, e) ||
           fk_nn_copy_channels(s->nn, x, (int)c, (int)c, y, 0, e) || view(x, 2, c, e) ||
           view(y, 2, c, e);
  if (rc) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

/* The image pyramid, then the cascaded features: at every level the
 * shared sub-level extractor runs up to FILM_SUB_LEVELS deep, and its
 * output at depth j is the features' j-th part at level l + j. */
static int features(fwd *s, const fk_tensor *x0, const fk_tensor *x1, fk_err *e) {
  fk_film *f = s->f;
  fk_nn *nn = s->nn;
  for (int l = 0; l < FK_FILM_LEVELS; l++) {
    if (!(s->img[l] = mk(s, 2, 3, s->h[l], s->w[l], e)) ||
        !(s->fi[l] = mk(s, 2, 3 + fk_film_feat_ch(l), s->h[l], s->w[l], e)))
      return e->code;
    if (l == 0) {
      if (view(s->img[0], 1, 6, e) || fk_nn_copy_channels(nn, x0, 0, 3, s->img[0], 0, e) ||
          fk_nn_copy_channels(nn, x1, 0, 3, s->img[0], 3, e) || view(s->img[0], 2, 3, e))
        return e->code;
    } else if (fk_nn_resample_op(nn, FK_NN_AVGPOOL2X2, 0, s->img[l - 1], s->img[l], e)) {
      return e->code;
    }
    if (fk_nn_copy_channels(nn, s->img[l], 0, 3, s->fi[l], 0, e)) return e->code;
  }
  for (int l = 0; l < FK_FILM_LEVELS; l++) {
    int depth = FK_FILM_LEVELS - l < FILM_SUB_LEVELS ? FK_FILM_LEVELS - l : FILM_SUB_LEVELS;
    fk_tensor *head = s->img[l], *a = NULL, *b = NULL;
    int rc = FK_OK;
    for (int j = 0; j < depth && !rc; j++) {
      int off = 3 + (int)(FILM_FILTERS * ((1 << j) - 1));
      a = conv(s, &f->extract[j][0], head, &SAME3, e);
      b = a ? conv(s, &f->extract[j][1], a, &SAME3, e) : NULL;
      if (!b || fk_nn_copy_channels(nn, b, 0, (int)b->shape[1], s->fi[l + j], off, e)) rc = e->code;
      fk_tensor_free(a);
      if (head != s->img[l]) fk_tensor_free(head);
      head = b;
      if (!rc && j + 1 < depth) {
        fk_tensor *p = mk(s, 2, b->shape[1], s->h[l + j + 1], s->w[l + j + 1], e);
        if (!p || fk_nn_resample_op(nn, FK_NN_AVGPOOL2X2, 0, b, p, e)) rc = e->code;
        fk_tensor_free(b);
        head = p;
      }
    }
    if (head != s->img[l]) fk_tensor_free(head);
    if (rc || fk_nn_sync(nn, e)) return e->code;
  }
  for (int l = 0; l < FK_FILM_LEVELS; l++)
    if (!(s->sw[l] = swap(s, s->fi[l], e))) return e->code;
  return FK_OK;
}

/* Residual flow at level l, given the flow so far (NULL at the coarsest
 * level): the estimator sees frame a's features and frame b's warped
 * towards them. */
static fk_tensor *estimate(fwd *s, int l, const fk_tensor *flow, fk_err *e) {
  const fk_film_flow *est = l < FILM_SPECIALIZED ? &s->f->special[l] : &s->f->shared;
  int64_t c = fk_film_feat_ch(l);
  fk_tensor *cat = mk(s, 2, 2 * c, s->h[l], s->w[l], e), *wp = NULL, *x = NULL;
  if (!cat || fk_nn_copy_channels(s->nn, s->fi[l], 3, (int)c, cat, 0, e)) goto fail;
  if (flow) {
    if (!(wp = mk(s, 2, 3 + c, s->h[l], s->w[l], e)) || fk_nn_warp(s->nn, s->sw[l], flow, wp, e) ||
        fk_nn_copy_channels(s->nn, wp, 3, (int)c, cat, (int)c, e))
      goto fail;
  } else if (fk_nn_copy_channels(s->nn, s->sw[l], 3, (int)c, cat, (int)c, e)) {
    goto fail;
  }
  x = cat;
  for (int i = 0; i < FILM_FLOW_CONVS + 2; i++) {
    const fk_nn_conv *how = i < FILM_FLOW_CONVS ? &SAME3 : i == FILM_FLOW_CONVS ? &ONE_LEAKY : &ONE;
    fk_tensor *y = conv(s, &est->c[i], x, how, e);
    fk_tensor_free(x);
    x = y;
    if (!x) goto fail;
  }
  fk_tensor_free(wp);
  return x;
fail:
  fk_tensor_free(wp);
  if (x != cat) fk_tensor_free(x);
  fk_tensor_free(cat);
  return NULL;
}

/* Coarse to fine: each level's flow is the coarser one resized and
 * doubled, plus the residual estimated after warping with it. */
static int flows(fwd *s, fk_err *e) {
  for (int l = FK_FILM_LEVELS - 1; l >= 0; l--) {
    fk_tensor *up = NULL;
    if (l < FK_FILM_LEVELS - 1) {
      if (!(up = mk(s, 2, 2, s->h[l], s->w[l], e)) ||
          fk_nn_resample_op(s->nn, FK_NN_BILINEAR, 0, s->v[l + 1], up, e) ||
          fk_nn_unary_op(s->nn, FK_NN_SCALE_BIAS, up, up, 2.0f, 0.0f, e)) {
        fk_tensor_free(up);
        return e->code;
      }
    }
    s->res[l] = estimate(s, l, up, e);
    if (!s->res[l]) {
      fk_tensor_free(up);
      return e->code;
    }
    if (up) {
      s->v[l] = up;
      if (fk_nn_binary_op(s->nn, FK_NN_ADD, up, s->res[l], up, e)) return e->code;
    } else {
      if (!(s->v[l] = mk(s, 2, 2, s->h[l], s->w[l], e)) ||
          fk_nn_copy_channels(s->nn, s->res[l], 0, 2, s->v[l], 0, e))
        return e->code;
    }
    if (fk_nn_sync(s->nn, e)) return e->code;
  }
  return FK_OK;
}

/* Decoder input at level l: frame 0 warped by the backward flow x dt and
 * frame 1 by the forward flow x (1 - dt) (images and features), then
 * those two flows; channels after them are left for the decoder. */
static int align(fwd *s, int l, const fk_tensor *times, fk_err *e) {
  int64_t k = 3 + fk_film_feat_ch(l), extra = l < FILM_FUSION_STEPS ? fk_film_fuse_ch(l) : 0;
  fk_tensor *fl = NULL, *wp = NULL;
  int rc = FK_OK;
  if (!(s->al[l] = mk(s, 1, fk_film_aligned_ch(l) + extra, s->h[l], s->w[l], e)) ||
      !(fl = swap(s, s->v[l], e)) || fk_nn_binary_op(s->nn, FK_NN_MUL, fl, times, fl, e) ||
      !(wp = mk(s, 2, k, s->h[l], s->w[l], e)) || fk_nn_warp(s->nn, s->fi[l], fl, wp, e) ||
      view(wp, 1, 2 * k, e) || fk_nn_copy_channels(s->nn, wp, 0, (int)(2 * k), s->al[l], 0, e) ||
      view(fl, 1, 4, e) || fk_nn_copy_channels(s->nn, fl, 0, 4, s->al[l], (int)(2 * k), e))
    rc = e->code;
  fk_tensor_free(fl);
  fk_tensor_free(wp);
  return rc ? rc : fk_nn_sync(s->nn, e);
}

/* U-Net-like decoder from the coarsest fusion level: upsample (nearest),
 * 2x2 conv, concatenate after the level's aligned input, two 3x3 convs. */
static fk_tensor *fuse(fwd *s, fk_err *e) {
  fk_film *f = s->f;
  fk_tensor *net = s->al[FILM_FUSION_STEPS];
  s->al[FILM_FUSION_STEPS] = NULL;
  for (int l = FILM_FUSION_STEPS - 1; l >= 0; l--) {
    int64_t a = fk_film_aligned_ch(l);
    fk_tensor *up = mk(s, 1, net->shape[1], s->h[l], s->w[l], e), *c0 = NULL, *n1 = NULL;
    int rc = !up || fk_nn_resample_op(s->nn, FK_NN_UPSAMPLE2X, 0, net, up, e);
    fk_tensor_free(net);
    net = NULL;
    if (!rc) rc = !(c0 = conv(s, &f->fuse[l][0], up, &PAD2X2, e));
    fk_tensor_free(up);
    if (!rc)
      rc = fk_nn_copy_channels(s->nn, c0, 0, (int)c0->shape[1], s->al[l], (int)a, e) ||
           !(n1 = conv(s, &f->fuse[l][1], s->al[l], &SAME3, e)) ||
           !(net = conv(s, &f->fuse[l][2], n1, &SAME3, e));
    fk_tensor_free(c0);
    fk_tensor_free(n1);
    fk_tensor_free(s->al[l]);
    s->al[l] = NULL;
    if (rc || fk_nn_sync(s->nn, e)) {
      fk_tensor_free(net);
      return NULL;
    }
  }
  fk_tensor *y = conv(s, &f->out, net, &ONE, e);
  fk_tensor_free(net);
  return y;
}

static void release(fwd *s, fk_film_debug *dbg) {
  for (int l = 0; l < FK_FILM_LEVELS; l++) {
    fk_tensor_free(s->img[l]);
    fk_tensor_free(s->fi[l]);
    fk_tensor_free(s->sw[l]);
    if (dbg && l < FK_FILM_FUSION_LEVELS && !dbg->flow[l]) {
      dbg->flow[l] = s->v[l];
    } else {
      fk_tensor_free(s->v[l]);
    }
    if (dbg && !dbg->residual[l])
      dbg->residual[l] = s->res[l];
    else
      fk_tensor_free(s->res[l]);
  }
  for (int l = 0; l < FK_FILM_FUSION_LEVELS; l++) fk_tensor_free(s->al[l]);
  memset(s, 0, sizeof *s);
}

void fk_film_debug_free(fk_film_debug *d) {
  if (!d) return;
  for (int l = 0; l < FK_FILM_LEVELS; l++) fk_tensor_free(d->residual[l]);
  for (int l = 0; l < FK_FILM_FUSION_LEVELS; l++) fk_tensor_free(d->flow[l]);
  memset(d, 0, sizeof *d);
}

static int check_frame(const fk_film *f, const fk_tensor *x, const fk_tensor *like, fk_err *e) {
  if (x->nn != f->nn || x->dtype != f->dt)
    return fk_err_set(e, FK_EINTERNAL, "FILM: frames must be on the weights' backend and storage");
  if (x->ndim != 4 || x->shape[0] != 1 || x->shape[1] != 3)
    return fk_err_set(e, FK_EUSER, "FILM: frames must be [1, 3, H, W] RGB tensors");
  if (x->shape[2] != like->shape[2] || x->shape[3] != like->shape[3])
    return fk_err_set(e, FK_EUSER, "FILM: the two frames differ in size (%lldx%lld and %lldx%lld)",
                      (long long)like->shape[3], (long long)like->shape[2], (long long)x->shape[3],
                      (long long)x->shape[2]);
  int64_t min = (int64_t)1 << (FK_FILM_LEVELS - 1);
  if (x->shape[2] < min || x->shape[3] < min)
    return fk_err_set(e, FK_EUSER,
                      "FILM: frames of %lldx%lld are too small: %d pyramid levels need at least "
                      "%lldx%lld (pad them, e.g. pad = 64)",
                      (long long)x->shape[3], (long long)x->shape[2], FK_FILM_LEVELS,
                      (long long)min, (long long)min);
  return FK_OK;
}

int fk_film_forward(fk_film *f, const fk_tensor *x0, const fk_tensor *x1, float dt, fk_tensor **out,
                    fk_film_debug *dbg, fk_err *e) {
  *out = NULL;
  if (check_frame(f, x0, x0, e) || check_frame(f, x1, x0, e)) return e->code;
  if (!isfinite(dt)) return fk_err_set(e, FK_EUSER, "FILM: the time must be a finite number");
  fwd s = {.f = f, .nn = f->nn};
  s.h[0] = x0->shape[2];
  s.w[0] = x0->shape[3];
  for (int l = 1; l < FK_FILM_LEVELS; l++) {
    s.h[l] = s.h[l - 1] / 2;
    s.w[l] = s.w[l - 1] / 2;
  }
  /* per batch entry of the warp flows: frame 0 moves by dt of the
   * backward flow, frame 1 by 1 - dt of the forward flow */
  float tv[2] = {dt, 1.0f - dt};
  fk_tensor *times = NULL, *y = NULL;
  int64_t ts[4] = {2, 1, 1, 1};
  int rc = fk_tensor_new(f->nn, f->dt, 4, ts, &times, e) || fk_tensor_write(times, tv, e) ||
                   features(&s, x0, x1, e) || flows(&s, e)
               ? e->code
               : FK_OK;
  for (int l = FK_FILM_LEVELS - 1; !rc && l >= FK_FILM_FUSION_LEVELS; l--) {
    /* the coarsest levels only served the flow estimate */
    fk_tensor_free(s.fi[l]);
    fk_tensor_free(s.sw[l]);
    s.fi[l] = s.sw[l] = NULL;
  }
  for (int l = 0; !rc && l < FK_FILM_FUSION_LEVELS; l++) {
    rc = align(&s, l, times, e);
    fk_tensor_free(s.sw[l]);
    fk_tensor_free(s.fi[l]);
    s.sw[l] = s.fi[l] = NULL;
  }
  if (!rc && (!(y = fuse(&s, e)) || fk_nn_sync(f->nn, e))) rc = e->code;
  fk_tensor_free(times);
  release(&s, dbg);
  if (rc) {
    fk_tensor_free(y);
    if (dbg) fk_film_debug_free(dbg);
    return rc;
  }
  *out = y;
  return FK_OK;
}
