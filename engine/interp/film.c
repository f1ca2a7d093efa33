/* FILM-net's forward pass on the fk_nn ops.
 *
 * Design notes.
 * - Both frames run as one batch of two: batch entry b holds frame b's
 *   pyramid, and the flow estimators run the forward (0 -> 1) and the
 *   backward (1 -> 0) estimate together, entries 0 and 1. Half the
 *   dispatches, and the tiny coarse levels get twice the columns.
 * - No concatenation is ever built for a convolution: a conv over
 *   [a, b, ...] is the sum of convs over a, b, ... with the weight's
 *   columns split at load (film_weights.c). The estimators' warped input
 *   comes from the other frame, so that conv's output has its entries
 *   swapped before the sum (a small copy: the conv's width, not the
 *   features'). The decoder's inputs are the warped images, features and
 *   flows as they come out of the warps: a [2, C, h, w] tensor is, in
 *   memory, the [1, 2C, h, w] concatenation of its entries.
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
/* Elements from which a temporary is worth a sync to recycle it early. */
#define BIG ((size_t)16 << 20)

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
  fk_tensor *img[FK_FILM_LEVELS];  /* [2, 3, h, w] image pyramid */
  fk_tensor *feat[FK_FILM_LEVELS]; /* [2, C, h, w] cascaded features */
  fk_tensor *v[FK_FILM_LEVELS];    /* [2, 2, h, w] flows (forward, backward) */
  fk_tensor *res[FK_FILM_LEVELS];  /* their residuals */
} fwd;

static fk_tensor *mk(fwd *s, int64_t n, int64_t c, int64_t h, int64_t w, fk_err *e) {
  return fk_tensor_nchw(s->nn, s->f->dt, n, c, h, w, e);
}

static void free_all(fk_tensor **t, int n) {
  for (int i = 0; i < n; i++) {
    fk_tensor_free(t[i]);
    t[i] = NULL;
  }
}

/* One weight of a conv on x, with or without the bias. */
static fk_tensor *conv1(fwd *s, const fk_tensor *w, const fk_tensor *b, const fk_tensor *x,
                        const fk_nn_conv *how, fk_err *e) {
  int64_t oh = x->shape[2] + how->pad_t + how->pad_b - w->shape[2] + 1;
  int64_t ow = x->shape[3] + how->pad_l + how->pad_r - w->shape[3] + 1;
  fk_tensor *y = mk(s, x->shape[0], w->shape[0], oh, ow, e);
  if (y && fk_nn_conv2d(s->nn, x, w, b, y, how, e)) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

/* y = act(sum_j conv(x[j], c->w[j]) + bias): a conv over the
 * concatenation of the x[j] (one x for a plain conv). */
static fk_tensor *conv(fwd *s, const fk_film_conv *c, fk_tensor *const *x, const fk_nn_conv *how,
                       fk_err *e) {
  if (c->n == 1) return conv1(s, c->w[0], c->b, x[0], how, e);
  fk_nn_conv lin = *how;
  lin.act = FK_NN_ACT_NONE;
  fk_tensor *y = conv1(s, c->w[0], c->b, x[0], &lin, e);
  for (int j = 1; y && j < c->n; j++) {
    fk_tensor *t = conv1(s, c->w[j], NULL, x[j], &lin, e);
    if (!t || fk_nn_binary_op(s->nn, FK_NN_ADD, y, t, y, e)) {
      fk_tensor_free(y);
      y = NULL;
    }
    fk_tensor_free(t);
    /* at full-HD sizes each part's output is hundreds of MB: recycle it
     * before the next instead of holding one per part */
    if (y && y->numel >= BIG && fk_nn_sync(s->nn, e)) {
      fk_tensor_free(y);
      y = NULL;
    }
  }
  if (y && how->act == FK_NN_ACT_LEAKY &&
      fk_nn_unary_op(s->nn, FK_NN_LEAKY_RELU, y, y, how->alpha, 0, e)) {
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
  int rc = fk_tensor_view_nc(x, 1, 2 * c, e) ||
           fk_nn_copy_channels(s->nn, x, 0, (int)c, y, (int)c, e) ||
           fk_nn_copy_channels(s->nn, x, (int)c, (int)c, y, 0, e) ||
           fk_tensor_view_nc(x, 2, c, e) || fk_tensor_view_nc(y, 2, c, e);
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
        !(s->feat[l] = mk(s, 2, fk_film_feat_ch(l), s->h[l], s->w[l], e)))
      return e->code;
    if (l == 0) {
      if (fk_tensor_view_nc(s->img[0], 1, 6, e) ||
          fk_nn_copy_channels(nn, x0, 0, 3, s->img[0], 0, e) ||
          fk_nn_copy_channels(nn, x1, 0, 3, s->img[0], 3, e) ||
          fk_tensor_view_nc(s->img[0], 2, 3, e))
        return e->code;
    } else if (fk_nn_resample_op(nn, FK_NN_AVGPOOL2X2, 0, s->img[l - 1], s->img[l], e)) {
      return e->code;
    }
  }
  for (int l = 0; l < FK_FILM_LEVELS; l++) {
    int depth = FK_FILM_LEVELS - l < FILM_SUB_LEVELS ? FK_FILM_LEVELS - l : FILM_SUB_LEVELS;
    fk_tensor *head = s->img[l], *a = NULL, *b = NULL;
    int rc = FK_OK;
    for (int j = 0; j < depth && !rc; j++) {
      int off = (int)(FILM_FILTERS * ((1 << j) - 1));
      a = conv(s, &f->extract[j][0], &head, &SAME3, e);
      b = a ? conv(s, &f->extract[j][1], &a, &SAME3, e) : NULL;
      if (!b || fk_nn_copy_channels(nn, b, 0, (int)b->shape[1], s->feat[l + j], off, e))
        rc = e->code;
      fk_tensor_free(a);
      if (head != s->img[l]) fk_tensor_free(head);
      head = b;
      if (!rc && j + 1 < depth) {
        fk_tensor *p = mk(s, 2, b->shape[1], s->h[l + j + 1], s->w[l + j + 1], e);
        int big = b->numel >= BIG;
        if (!p || fk_nn_resample_op(nn, FK_NN_AVGPOOL2X2, 0, b, p, e)) rc = e->code;
        fk_tensor_free(b);
        head = p;
        /* recycle this depth's full-size temporaries before the next */
        if (!rc && big && fk_nn_sync(nn, e)) rc = e->code;
      }
    }
    if (head != s->img[l]) fk_tensor_free(head);
    if (rc || fk_nn_sync(nn, e)) return e->code;
  }
  return FK_OK;
}

/* Residual flow at level l, given the flow so far (NULL at the coarsest
 * level): the estimator sees a frame's features and the other frame's
 * warped towards them. */
static fk_tensor *estimate(fwd *s, int l, fk_tensor *flow, fk_err *e) {
  const fk_film_flow *est = l < FILM_SPECIALIZED ? &s->f->special[l] : &s->f->shared;
  const fk_film_conv *c0 = &est->c[0];
  fk_nn_conv lin = SAME3;
  lin.act = FK_NN_ACT_NONE;
  /* entry b of the warp reads frame b by the other entry's flow: what
   * entry 1 - b of the estimate needs */
  fk_tensor *fs = NULL, *wf = NULL, *t = NULL, *ts = NULL, *x = NULL;
  if (flow &&
      (!(fs = swap(s, flow, e)) || !(wf = mk(s, 2, s->feat[l]->shape[1], s->h[l], s->w[l], e)) ||
       fk_nn_warp(s->nn, s->feat[l], fs, wf, e)))
    goto fail;
  if (!(x = conv1(s, c0->w[FILM_FLOW_OWN], c0->b, s->feat[l], &lin, e)) ||
      !(t = conv1(s, c0->w[FILM_FLOW_WARPED], NULL, wf ? wf : s->feat[l], &lin, e)) ||
      !(ts = swap(s, t, e)) || fk_nn_binary_op(s->nn, FK_NN_ADD, x, ts, x, e) ||
      fk_nn_unary_op(s->nn, FK_NN_LEAKY_RELU, x, x, LEAKY, 0, e))
    goto fail;
  free_all((fk_tensor *[]){fs, wf, t, ts}, 4);
  fs = wf = t = ts = NULL;
  if (x->numel >= BIG && fk_nn_sync(s->nn, e)) goto fail; /* recycles the warped features */
  for (int i = 1; i < FILM_FLOW_CONVS + 2; i++) {
    const fk_nn_conv *how = i < FILM_FLOW_CONVS ? &SAME3 : i == FILM_FLOW_CONVS ? &ONE_LEAKY : &ONE;
    fk_tensor *y = conv(s, &est->c[i], &x, how, e);
    fk_tensor_free(x);
    x = y;
    if (!x) return NULL;
  }
  return x;
fail:
  free_all((fk_tensor *[]){fs, wf, t, ts, x}, 5);
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

/* The decoder's inputs at level l (FILM_PART_*): frame 0 warped by the
 * backward flow x dt and frame 1 by the forward flow x (1 - dt), images
 * [1, 6] and features [1, 2C], then those flows [1, 4]. Frees the level's
 * pyramid. */
static int warped(fwd *s, int l, const fk_tensor *times, fk_tensor *p[3], fk_err *e) {
  fk_nn *nn = s->nn;
  int64_t c = s->feat[l]->shape[1];
  p[FILM_PART_IMAGES] = p[FILM_PART_FEATURES] = NULL;
  fk_tensor *fl = p[FILM_PART_FLOWS] = swap(s, s->v[l], e);
  int rc = !fl || fk_nn_binary_op(nn, FK_NN_MUL, fl, times, fl, e) ||
           !(p[FILM_PART_IMAGES] = mk(s, 2, 3, s->h[l], s->w[l], e)) ||
           !(p[FILM_PART_FEATURES] = mk(s, 2, c, s->h[l], s->w[l], e)) ||
           fk_nn_warp(nn, s->img[l], fl, p[FILM_PART_IMAGES], e) ||
           fk_nn_warp(nn, s->feat[l], fl, p[FILM_PART_FEATURES], e) ||
           fk_tensor_view_nc(p[FILM_PART_IMAGES], 1, 6, e) ||
           fk_tensor_view_nc(p[FILM_PART_FEATURES], 1, 2 * c, e) || fk_tensor_view_nc(fl, 1, 4, e);
  free_all(&s->img[l], 1);
  free_all(&s->feat[l], 1);
  if (rc) free_all(p, 3);
  return rc ? e->code : FK_OK;
}

/* Nearest-neighbour resize of x to level l. */
static fk_tensor *upsample(fwd *s, const fk_tensor *x, int l, fk_err *e) {
  fk_tensor *y = mk(s, x->shape[0], x->shape[1], s->h[l], s->w[l], e);
  if (y && fk_nn_resample_op(s->nn, FK_NN_UPSAMPLE2X, 0, x, y, e)) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

/* U-Net-like decoder from the coarsest fusion level: upsample (nearest),
 * 2x2 conv, then two 3x3 convs over the level's inputs and that. */
static fk_tensor *fuse(fwd *s, const fk_tensor *times, fk_err *e) {
  fk_film *f = s->f;
  fk_tensor *coarse[3] = {0}, *net = NULL, *p[4] = {0}, *up[3] = {0}, *n1 = NULL;
  int top = FILM_FUSION_STEPS;
  if (warped(s, top, times, coarse, e)) return NULL;
  for (int l = top - 1; l >= 0; l--) {
    /* the coarsest level is not convolved, only passed on: its parts
     * are upsampled and convolved one by one */
    int rc = FK_OK;
    if (l == top - 1) {
      for (int j = 0; j < 3 && !rc; j++) rc = !(up[j] = upsample(s, coarse[j], l, e));
      free_all(coarse, 3);
    } else {
      rc = !(up[0] = upsample(s, net, l, e));
      free_all(&net, 1);
    }
    if (!rc) rc = !(p[FILM_PART_COARSER] = conv(s, &f->fuse[l][0], up, &PAD2X2, e));
    free_all(up, 3);
    if (!rc) rc = warped(s, l, times, p, e);
    if (!rc)
      rc = !(n1 = conv(s, &f->fuse[l][1], p, &SAME3, e)) ||
           !(net = conv(s, &f->fuse[l][2], &n1, &SAME3, e));
    free_all(p, 4);
    free_all(&n1, 1);
    if (rc || fk_nn_sync(s->nn, e)) {
      fk_tensor_free(net);
      return NULL;
    }
  }
  fk_tensor *y = conv(s, &f->out, &net, &ONE, e);
  fk_tensor_free(net);
  return y;
}

static void release(fwd *s, fk_film_debug *dbg) {
  for (int l = 0; l < FK_FILM_LEVELS; l++) {
    fk_tensor_free(s->img[l]);
    fk_tensor_free(s->feat[l]);
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

/* Elements of the largest activation of a pass at h x w (both frames'
 * features per level, also the decoder's [1, 2C] warped input, or the
 * decoder's upsampled coarser level), and of all levels' features, which
 * live from the extractor to the decoder. */
static double largest(int64_t h, int64_t w, double *features, const char **what) {
  double best = 0;
  *features = 0;
  for (int l = 0; l < FK_FILM_LEVELS; l++, h /= 2, w /= 2) {
    double px = (double)h * (double)w, feat = 2 * (double)fk_film_feat_ch(l) * px;
    double up = l + 1 < FILM_FUSION_STEPS    ? (double)fk_film_fuse_ch(l + 1) * px
                : l + 1 == FILM_FUSION_STEPS ? 2 * (double)fk_film_feat_ch(l + 1) * px
                                             : 0;
    *features += feat;
    if (feat > best) best = feat, *what = "both frames' features";
    if (up > best) best = up, *what = "the decoder's upsampled input";
  }
  return best;
}

/* Tensors larger than one binding are split by the ops (vk_ops.c), so
 * what cannot run is a tensor past the largest allocation, or a pass
 * that needs more than the device's memory: the features of every level
 * plus the largest activation besides them, a lower bound. Say so up
 * front rather than fail halfway with an allocator message. */
static int check_fits(const fk_film *f, int64_t h, int64_t w, fk_err *e) {
  const char *what = "";
  double elt = f->dt == FK_NN_F16 ? 2 : 4, features;
  double bytes = largest(h, w, &features, &what) * elt, need = (features * elt + bytes);
  double max = (double)fk_nn_max_tensor_bytes(f->nn), budget = (double)fk_nn_device_budget(f->nn);
  if (bytes > max)
    return fk_err_set(e, FK_EUSER,
                      "FILM: frames of %lldx%lld need %.0f MiB tensors (%s), more than the %.0f "
                      "MiB this device allocates at once (maxMemoryAllocationSize): interpolate at "
                      "a smaller size, use RIFE (model = \"rife\"), or run FILM on the CPU "
                      "backend (--device cpu, device = \"cpu\")",
                      (long long)w, (long long)h, bytes / 1048576.0, what, max / 1048576.0);
  if (need > budget)
    return fk_err_set(e, FK_EUSER,
                      "FILM: frames of %lldx%lld need at least %.0f MiB of device memory, more "
                      "than the %.0f MiB this device has (its heap, or FUNKY_VK_MEMORY_LIMIT): "
                      "interpolate at a smaller size, use fp16 weights, use RIFE (model = "
                      "\"rife\"), or run FILM on the CPU backend (--device cpu, device = \"cpu\")",
                      (long long)w, (long long)h, need / 1048576.0, budget / 1048576.0);
  return FK_OK;
}

int fk_film_forward(fk_film *f, const fk_tensor *x0, const fk_tensor *x1, float dt, fk_tensor **out,
                    fk_film_debug *dbg, fk_err *e) {
  *out = NULL;
  if (check_frame(f, x0, x0, e) || check_frame(f, x1, x0, e) ||
      check_fits(f, x0->shape[2], x0->shape[3], e))
    return e->code;
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
  for (int l = FK_FILM_FUSION_LEVELS; l < FK_FILM_LEVELS; l++) {
    /* the coarsest levels only served the flow estimate */
    free_all(&s.img[l], 1);
    free_all(&s.feat[l], 1);
  }
  if (!rc && (!(y = fuse(&s, times, e)) || fk_nn_sync(f->nn, e))) rc = e->code;
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

double fk_film_gflop(int64_t h, int64_t w) {
  double px[FK_FILM_LEVELS], f = 0;
  for (int l = 0; l < FK_FILM_LEVELS; l++) {
    px[l] = (double)h * (double)w;
    h /= 2;
    w /= 2;
  }
  /* both frames: 2 x (sub-level extractor at every level) */
  for (int l = 0; l < FK_FILM_LEVELS; l++)
    for (int j = 0; j < FILM_SUB_LEVELS && l + j < FK_FILM_LEVELS; j++) {
      double out = (double)(FILM_FILTERS << j), in = j ? out / 2 : 3;
      f += 2 * 2 * px[l + j] * 9 * (in * out + out * out);
    }
  /* both directions: the flow estimators */
  for (int l = 0; l < FK_FILM_LEVELS; l++) {
    double c = 2 * (double)fk_film_feat_ch(l), k = (double)fk_film_flow_ch(l);
    f += 2 * 2 * px[l] * (9 * (c * k + (FILM_FLOW_CONVS - 1) * k * k) + k * k / 2 + k);
  }
  /* the decoder */
  for (int l = 0; l < FILM_FUSION_STEPS; l++) {
    double k = (double)fk_film_fuse_ch(l), a = (double)fk_film_aligned_ch(l);
    double in = l == FILM_FUSION_STEPS - 1 ? (double)fk_film_aligned_ch(l + 1)
                                           : (double)fk_film_fuse_ch(l + 1);
    f += 2 * px[l] * (4 * in * k + 9 * (a + k) * k + 9 * k * k);
  }
  return (f + 2 * px[0] * 3 * FILM_FILTERS) / 1e9;
}
