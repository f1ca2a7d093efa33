/* Design notes.
 * - Transformer blocks run token-major ([B, HW, C]): one transpose in and
 *   out per block; a 1x1 conv projection (SD 1.x) is the same linear map as
 *   SD 2.x's linear projection on tokens, so both use one matmul.
 * - GEGLU's fused [8C, C] projection is uploaded as its two halves (value
 *   and gate), so no [B, HW, 8C] tensor (168 MB at 512x512, over
 *   lavapipe's 128 MiB buffer range) ever exists.
 * - Freed activations are only recycled after a sync (the recorder keeps
 *   them alive until the pass has run), so the forward pass syncs after
 *   each block to bound memory by one block's temporaries plus the skips. */
#include "models/unet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/weights.h"

typedef struct pair {
  fk_tensor *w, *b;
} pair;

typedef struct resnet {
  pair n1, c1, temb, n2, c2, skip;
  int cin, cout;
} resnet;

typedef struct attn {
  fk_tensor *q, *k, *v;
  pair out;
} attn;

typedef struct tblock {
  pair n1, n2, n3, ff_val, ff_gate, ff_out;
  attn a1, a2;
} tblock;

typedef struct xformer {
  pair norm, proj_in, proj_out;
  tblock *blocks;
  int ch, heads;
} xformer;

typedef struct level {
  resnet res[9];
  xformer att[9];
  pair resample; /* downsampler or upsampler conv */
} level;

struct fk_unet {
  fk_nn *nn;
  fk_unet_config cfg;
  fk_nn_dtype dt;
  pair conv_in, t1, t2, norm_out, conv_out;
  level down[FK_SD_MAX_LEVELS], up[FK_SD_MAX_LEVELS];
  resnet mid_res[2];
  xformer mid_att;
  size_t bytes;
};

/* ---- loading ------------------------------------------------------------ */

static int load_pair(fk_weights *w, pair *p, const char *prefix, int square, fk_err *e) {
  if (!square)
    return fk_weights_get(w, &p->w, 0, NULL, e, "%s.weight", prefix) ||
                   fk_weights_get(w, &p->b, 0, NULL, e, "%s.bias", prefix)
               ? e->code
               : FK_OK;
  /* a 1x1 conv projection used as a linear map on tokens */
  int64_t s[2] = {square, square};
  return fk_weights_get(w, &p->w, 2, s, e, "%s.weight", prefix) ||
                 fk_weights_get(w, &p->b, 0, NULL, e, "%s.bias", prefix)
             ? e->code
             : FK_OK;
}

static int load_resnet(fk_weights *w, resnet *r, const char *p, int cin, int cout, fk_err *e) {
  char n[160];
  r->cin = cin;
  r->cout = cout;
  static const char *const names[] = {"norm1", "conv1", "time_emb_proj", "norm2", "conv2"};
  pair *slots[] = {&r->n1, &r->c1, &r->temb, &r->n2, &r->c2};
  for (int i = 0; i < 5; i++) {
    snprintf(n, sizeof n, "%s.%s", p, names[i]);
    if (load_pair(w, slots[i], n, 0, e)) return e->code;
  }
  snprintf(n, sizeof n, "%s.conv_shortcut", p);
  return cin != cout ? load_pair(w, &r->skip, n, 0, e) : FK_OK;
}

static int load_attn(fk_weights *w, attn *a, const char *p, fk_err *e) {
  char n[200];
  snprintf(n, sizeof n, "%s.to_out.0", p);
  return fk_weights_get(w, &a->q, 0, NULL, e, "%s.to_q.weight", p) ||
                 fk_weights_get(w, &a->k, 0, NULL, e, "%s.to_k.weight", p) ||
                 fk_weights_get(w, &a->v, 0, NULL, e, "%s.to_v.weight", p) ||
                 load_pair(w, &a->out, n, 0, e)
             ? e->code
             : FK_OK;
}

static int load_xformer(fk_unet *u, fk_weights *w, xformer *x, const char *p, int ch, int heads,
                        fk_err *e) {
  char n[200];
  x->ch = ch;
  x->heads = heads;
  int sq = u->cfg.linear_projection ? 0 : ch;
  x->blocks = fk_zalloc((size_t)u->cfg.transformer_depth, sizeof *x->blocks);
  if (!x->blocks) return fk_err_oom(e, "transformer blocks", sizeof *x->blocks);
  snprintf(n, sizeof n, "%s.norm", p);
  if (load_pair(w, &x->norm, n, 0, e)) return e->code;
  snprintf(n, sizeof n, "%s.proj_in", p);
  if (load_pair(w, &x->proj_in, n, sq, e)) return e->code;
  snprintf(n, sizeof n, "%s.proj_out", p);
  if (load_pair(w, &x->proj_out, n, sq, e)) return e->code;
  for (int b = 0; b < u->cfg.transformer_depth; b++) {
    tblock *t = &x->blocks[b];
    char q[200];
    static const char *const norms[] = {"norm1", "norm2", "norm3"};
    pair *ns[] = {&t->n1, &t->n2, &t->n3};
    for (int i = 0; i < 3; i++) {
      snprintf(q, sizeof q, "%s.transformer_blocks.%d.%s", p, b, norms[i]);
      if (load_pair(w, ns[i], q, 0, e)) return e->code;
    }
    snprintf(q, sizeof q, "%s.transformer_blocks.%d.attn1", p, b);
    if (load_attn(w, &t->a1, q, e)) return e->code;
    snprintf(q, sizeof q, "%s.transformer_blocks.%d.attn2", p, b);
    if (load_attn(w, &t->a2, q, e)) return e->code;
    snprintf(q, sizeof q, "%s.transformer_blocks.%d.ff.net.", p, b);
    int64_t inner = 4 * (int64_t)ch;
    if (fk_weights_rows(w, &t->ff_val.w, 0, inner, e, "%s0.proj.weight", q) ||
        fk_weights_rows(w, &t->ff_val.b, 0, inner, e, "%s0.proj.bias", q) ||
        fk_weights_rows(w, &t->ff_gate.w, inner, inner, e, "%s0.proj.weight", q) ||
        fk_weights_rows(w, &t->ff_gate.b, inner, inner, e, "%s0.proj.bias", q))
      return e->code;
    snprintf(q, sizeof q, "%s.transformer_blocks.%d.ff.net.2", p, b);
    if (load_pair(w, &t->ff_out, q, 0, e)) return e->code;
  }
  return FK_OK;
}

static void free_pair(pair *p) {
  fk_tensor_free(p->w);
  fk_tensor_free(p->b);
}

static void free_resnet(resnet *r) {
  pair *s[] = {&r->n1, &r->c1, &r->temb, &r->n2, &r->c2, &r->skip};
  for (int i = 0; i < 6; i++) free_pair(s[i]);
}

static void free_attn(attn *a) {
  fk_tensor_free(a->q);
  fk_tensor_free(a->k);
  fk_tensor_free(a->v);
  free_pair(&a->out);
}

static void free_xformer(xformer *x, int depth) {
  free_pair(&x->norm);
  free_pair(&x->proj_in);
  free_pair(&x->proj_out);
  for (int b = 0; x->blocks && b < depth; b++) {
    tblock *t = &x->blocks[b];
    pair *s[] = {&t->n1, &t->n2, &t->n3, &t->ff_val, &t->ff_gate, &t->ff_out};
    for (int i = 0; i < 6; i++) free_pair(s[i]);
    free_attn(&t->a1);
    free_attn(&t->a2);
  }
  free(x->blocks);
}

void fk_unet_free(fk_unet *u) {
  if (!u) return;
  int d = u->cfg.transformer_depth;
  pair *s[] = {&u->conv_in, &u->t1, &u->t2, &u->norm_out, &u->conv_out};
  for (int i = 0; i < 5; i++) free_pair(s[i]);
  for (int l = 0; l < FK_SD_MAX_LEVELS; l++) {
    for (int j = 0; j < 9; j++) {
      free_resnet(&u->down[l].res[j]);
      free_resnet(&u->up[l].res[j]);
      free_xformer(&u->down[l].att[j], d);
      free_xformer(&u->up[l].att[j], d);
    }
    free_pair(&u->down[l].resample);
    free_pair(&u->up[l].resample);
  }
  free_resnet(&u->mid_res[0]);
  free_resnet(&u->mid_res[1]);
  free_xformer(&u->mid_att, d);
  free(u);
}

static int load_all(fk_unet *u, fk_weights *w, fk_err *e) {
  const fk_unet_config *c = &u->cfg;
  int n = c->levels, lpb = c->layers_per_block, top = c->channels[n - 1];
  char p[160];
  if (load_pair(w, &u->conv_in, "conv_in", 0, e) ||
      load_pair(w, &u->t1, "time_embedding.linear_1", 0, e) ||
      load_pair(w, &u->t2, "time_embedding.linear_2", 0, e) ||
      load_pair(w, &u->norm_out, "conv_norm_out", 0, e) ||
      load_pair(w, &u->conv_out, "conv_out", 0, e))
    return e->code;
  int cin = c->channels[0];
  for (int i = 0; i < n; i++) {
    int co = c->channels[i];
    for (int j = 0; j < lpb; j++) {
      snprintf(p, sizeof p, "down_blocks.%d.resnets.%d", i, j);
      if (load_resnet(w, &u->down[i].res[j], p, cin, co, e)) return e->code;
      cin = co;
      snprintf(p, sizeof p, "down_blocks.%d.attentions.%d", i, j);
      if (c->attention[i] && load_xformer(u, w, &u->down[i].att[j], p, co, c->heads[i], e))
        return e->code;
    }
    snprintf(p, sizeof p, "down_blocks.%d.downsamplers.0.conv", i);
    if (i < n - 1 && load_pair(w, &u->down[i].resample, p, 0, e)) return e->code;
  }
  if (load_resnet(w, &u->mid_res[0], "mid_block.resnets.0", top, top, e) ||
      load_xformer(u, w, &u->mid_att, "mid_block.attentions.0", top, c->heads[n - 1], e) ||
      load_resnet(w, &u->mid_res[1], "mid_block.resnets.1", top, top, e))
    return e->code;
  int out = top;
  for (int i = 0; i < n; i++) {
    int r = n - 1 - i, prev = out, in = c->channels[r > 0 ? r - 1 : 0];
    out = c->channels[r];
    for (int j = 0; j <= lpb; j++) {
      int skip = j == lpb ? in : out, rin = j == 0 ? prev : out;
      snprintf(p, sizeof p, "up_blocks.%d.resnets.%d", i, j);
      if (load_resnet(w, &u->up[i].res[j], p, rin + skip, out, e)) return e->code;
      snprintf(p, sizeof p, "up_blocks.%d.attentions.%d", i, j);
      if (c->attention[r] && load_xformer(u, w, &u->up[i].att[j], p, out, c->heads[r], e))
        return e->code;
    }
    snprintf(p, sizeof p, "up_blocks.%d.upsamplers.0.conv", i);
    if (i < n - 1 && load_pair(w, &u->up[i].resample, p, 0, e)) return e->code;
  }
  return FK_OK;
}

int fk_unet_load(fk_nn *nn, const fk_sd_model *m, int f16, fk_unet **out, fk_err *e) {
  *out = NULL;
  fk_unet *u = fk_zalloc(1, sizeof *u);
  if (!u) return fk_err_oom(e, "UNet", sizeof *u);
  u->nn = nn;
  u->cfg = fk_sd_config_of(m)->unet;
  u->dt = f16 ? FK_NN_F16 : FK_NN_F32;
  if (u->cfg.layers_per_block + 1 > 9) {
    free(u);
    return fk_err_set(e, FK_EUSER, "UNet: at most 8 layers per block are supported");
  }
  fk_weights w = {.nn = nn, .m = m, .part = FK_PART_UNET, .dtype = u->dt};
  int rc = load_all(u, &w, e);
  if (!rc) rc = fk_nn_sync(nn, e);
  u->bytes = w.bytes;
  fk_weights_done(&w);
  if (rc) {
    fk_unet_free(u);
    return rc;
  }
  u->dt = u->conv_in.w->dtype; /* F16 falls back to F32 without 16-bit storage */
  *out = u;
  return FK_OK;
}

size_t fk_unet_bytes(const fk_unet *u) {
  return u->bytes;
}
fk_nn_dtype fk_unet_dtype(const fk_unet *u) {
  return u->dt;
}

/* ---- forward ------------------------------------------------------------ */

static fk_tensor *mk(fk_unet *u, int nd, const int64_t *shape, fk_err *e) {
  fk_tensor *t;
  return fk_tensor_new(u->nn, u->dt, nd, shape, &t, e) ? NULL : t;
}

static fk_tensor *mk4(fk_unet *u, int64_t a, int64_t b, int64_t c, int64_t d, fk_err *e) {
  int64_t s[4] = {a, b, c, d};
  return mk(u, 4, s, e);
}

static fk_tensor *mk3(fk_unet *u, int64_t a, int64_t b, int64_t c, fk_err *e) {
  int64_t s[3] = {a, b, c};
  return mk(u, 3, s, e);
}

static const fk_nn_conv PAD1 = {.stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1};
static const fk_nn_conv PAD0 = {.stride = 1};
static const fk_nn_conv DOWN = {.stride = 2, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1};

#define TRY(x)                                                                                     \
  do {                                                                                             \
    if (x) goto fail;                                                                              \
  } while (0)

/* temb_act: SiLU of the time embedding [B, 4 c0]. */
static fk_tensor *resnet_fwd(fk_unet *u, const resnet *r, const fk_tensor *x,
                             const fk_tensor *temb_act, fk_err *e) {
  fk_nn *nn = u->nn;
  int64_t B = x->shape[0], H = x->shape[2], W = x->shape[3];
  float eps = (float)u->cfg.norm_eps;
  int g = u->cfg.norm_groups;
  fk_tensor *a = NULL, *h = NULL, *tp = NULL, *y = NULL, *s = NULL;
  int64_t tshape[4] = {B, r->cout, 1, 1};
  TRY(!(a = mk4(u, B, r->cin, H, W, e)) || !(h = mk4(u, B, r->cout, H, W, e)) ||
      !(tp = mk3(u, B, r->cout, 1, e)) || !(y = mk4(u, B, r->cout, H, W, e)));
  TRY(fk_nn_group_norm(nn, x, r->n1.w, r->n1.b, a, g, eps, 1, e) ||
      fk_nn_conv2d(nn, a, r->c1.w, r->c1.b, h, &PAD1, e));
  TRY(fk_tensor_reshape(tp, 2, tshape, e) ||
      fk_nn_matmul(nn, temb_act, r->temb.w, r->temb.b, tp, 1, e) ||
      fk_tensor_reshape(tp, 4, tshape, e) || fk_nn_binary_op(nn, FK_NN_ADD, h, tp, h, e));
  TRY(fk_nn_group_norm(nn, h, r->n2.w, r->n2.b, h, g, eps, 1, e) ||
      fk_nn_conv2d(nn, h, r->c2.w, r->c2.b, y, &PAD1, e));
  if (r->skip.w) {
    TRY(!(s = mk4(u, B, r->cout, H, W, e)) ||
        fk_nn_conv2d(nn, x, r->skip.w, r->skip.b, s, &PAD0, e) ||
        fk_nn_binary_op(nn, FK_NN_ADD, y, s, y, e));
  } else {
    TRY(fk_nn_binary_op(nn, FK_NN_ADD, y, x, y, e));
  }
  fk_tensor_free(a);
  fk_tensor_free(h);
  fk_tensor_free(tp);
  fk_tensor_free(s);
  return y;
fail:
  fk_tensor_free(a);
  fk_tensor_free(h);
  fk_tensor_free(tp);
  fk_tensor_free(s);
  fk_tensor_free(y);
  return NULL;
}

/* n: normed tokens [B, L, C]; ctx: keys/values source [B, Lk, Ck] (n for
 * self-attention). Adds the attention output to h. */
static int attention(fk_unet *u, const attn *a, fk_tensor *n, const fk_tensor *ctx, int heads,
                     fk_tensor *h, fk_err *e) {
  fk_nn *nn = u->nn;
  int64_t B = n->shape[0], L = n->shape[1], C = n->shape[2], Lk = ctx->shape[1];
  int64_t qs[4] = {B, L, heads, C / heads}, ks[4] = {B, Lk, heads, C / heads};
  int64_t qf[3] = {B, L, C};
  fk_tensor *q = mk4(u, B, L, heads, C / heads, e), *o = q ? mk4(u, B, L, heads, C / heads, e) : 0;
  fk_tensor *k = o ? mk4(u, B, Lk, heads, C / heads, e) : NULL;
  fk_tensor *v = k ? mk4(u, B, Lk, heads, C / heads, e) : NULL;
  int64_t kf[3] = {B, Lk, C};
  int rc = !v ? e->code : FK_OK;
  if (!rc)
    rc = fk_tensor_reshape(q, 3, qf, e) || fk_tensor_reshape(k, 3, kf, e) ||
                 fk_tensor_reshape(v, 3, kf, e) || fk_nn_matmul(nn, n, a->q, NULL, q, 1, e) ||
                 fk_nn_matmul(nn, ctx, a->k, NULL, k, 1, e) ||
                 fk_nn_matmul(nn, ctx, a->v, NULL, v, 1, e) || fk_tensor_reshape(q, 4, qs, e) ||
                 fk_tensor_reshape(k, 4, ks, e) || fk_tensor_reshape(v, 4, ks, e) ||
                 fk_nn_attention(nn, q, k, v, o, 0, e) || fk_tensor_reshape(o, 3, qf, e) ||
                 fk_nn_matmul(nn, o, a->out.w, a->out.b, n, 1, e) ||
                 fk_nn_binary_op(nn, FK_NN_ADD, h, n, h, e)
             ? e->code
             : FK_OK;
  fk_tensor_free(q);
  fk_tensor_free(k);
  fk_tensor_free(v);
  fk_tensor_free(o);
  return rc;
}

static int block_fwd(fk_unet *u, const tblock *t, fk_tensor *h, const fk_tensor *ctx, int heads,
                     fk_err *e) {
  fk_nn *nn = u->nn;
  int64_t B = h->shape[0], L = h->shape[1], C = h->shape[2];
  fk_tensor *n = mk3(u, B, L, C, e), *val = NULL, *gate = NULL;
  int rc = !n ? e->code : FK_OK;
  if (!rc)
    rc = fk_nn_layer_norm(nn, h, t->n1.w, t->n1.b, n, 1e-5f, e) ||
                 attention(u, &t->a1, n, n, heads, h, e) ||
                 fk_nn_layer_norm(nn, h, t->n2.w, t->n2.b, n, 1e-5f, e) ||
                 attention(u, &t->a2, n, ctx, heads, h, e) ||
                 fk_nn_layer_norm(nn, h, t->n3.w, t->n3.b, n, 1e-5f, e) ||
                 !(val = mk3(u, B, L, 4 * C, e)) || !(gate = mk3(u, B, L, 4 * C, e)) ||
                 fk_nn_matmul(nn, n, t->ff_val.w, t->ff_val.b, val, 1, e) ||
                 fk_nn_matmul(nn, n, t->ff_gate.w, t->ff_gate.b, gate, 1, e) ||
                 fk_nn_unary_op(nn, FK_NN_GELU, gate, gate, 0, 0, e) ||
                 fk_nn_binary_op(nn, FK_NN_MUL, val, gate, val, e) ||
                 fk_nn_matmul(nn, val, t->ff_out.w, t->ff_out.b, n, 1, e) ||
                 fk_nn_binary_op(nn, FK_NN_ADD, h, n, h, e)
             ? e->code
             : FK_OK;
  fk_tensor_free(n);
  fk_tensor_free(val);
  fk_tensor_free(gate);
  return rc;
}

static fk_tensor *xformer_fwd(fk_unet *u, const xformer *x, const fk_tensor *in,
                              const fk_tensor *ctx, fk_err *e) {
  fk_nn *nn = u->nn;
  int64_t B = in->shape[0], C = in->shape[1], H = in->shape[2], W = in->shape[3], L = H * W;
  int64_t cm[3] = {B, C, L};
  fk_tensor *a = mk4(u, B, C, H, W, e), *tok = a ? mk3(u, B, L, C, e) : NULL;
  fk_tensor *h = tok ? mk3(u, B, L, C, e) : NULL, *y = h ? mk3(u, B, C, L, e) : NULL;
  int rc = !y ? e->code : FK_OK;
  if (!rc)
    rc = fk_nn_group_norm(nn, in, x->norm.w, x->norm.b, a, u->cfg.norm_groups, 1e-6f, 0, e) ||
                 fk_tensor_reshape(a, 3, cm, e) || fk_nn_transpose(nn, a, tok, e) ||
                 fk_nn_matmul(nn, tok, x->proj_in.w, x->proj_in.b, h, 1, e)
             ? e->code
             : FK_OK;
  for (int b = 0; !rc && b < u->cfg.transformer_depth; b++)
    rc = block_fwd(u, &x->blocks[b], h, ctx, x->heads, e);
  int64_t img[4] = {B, C, H, W};
  if (!rc)
    rc = fk_nn_matmul(nn, h, x->proj_out.w, x->proj_out.b, tok, 1, e) ||
                 fk_nn_transpose(nn, tok, y, e) || fk_tensor_reshape(y, 4, img, e) ||
                 fk_nn_binary_op(nn, FK_NN_ADD, y, in, y, e)
             ? e->code
             : FK_OK;
  fk_tensor_free(a);
  fk_tensor_free(tok);
  fk_tensor_free(h);
  if (rc) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

static fk_tensor *conv_fwd(fk_unet *u, const pair *c, const fk_tensor *x, int64_t cout, int down,
                           fk_err *e) {
  int64_t H = x->shape[2], W = x->shape[3];
  fk_tensor *y = mk4(u, x->shape[0], cout, down ? (H + 1) / 2 : H, down ? (W + 1) / 2 : W, e);
  if (y && fk_nn_conv2d(u->nn, x, c->w, c->b, y, down ? &DOWN : &PAD1, e)) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

static fk_tensor *concat(fk_unet *u, const fk_tensor *a, const fk_tensor *b, fk_err *e) {
  int64_t ca = a->shape[1], cb = b->shape[1];
  fk_tensor *y = mk4(u, a->shape[0], ca + cb, a->shape[2], a->shape[3], e);
  if (y && (fk_nn_copy_channels(u->nn, a, 0, (int)ca, y, 0, e) ||
            fk_nn_copy_channels(u->nn, b, 0, (int)cb, y, (int)ca, e))) {
    fk_tensor_free(y);
    return NULL;
  }
  return y;
}

/* Runs step(), frees `dead` (unless it is a kept skip), syncs to recycle. */
static int advance(fk_unet *u, fk_tensor **h, fk_tensor *next, int keep_old, fk_err *e) {
  if (!next) return e->code ? e->code : fk_err_set(e, FK_EINTERNAL, "UNet step failed");
  if (!keep_old) fk_tensor_free(*h);
  *h = next;
  return fk_nn_sync(u->nn, e);
}

#define MAX_SKIPS (1 + FK_SD_MAX_LEVELS * 10)

int fk_unet_forward(fk_unet *u, const fk_tensor *sample, const float *t, const fk_tensor *ctx,
                    fk_tensor **out, fk_err *e) {
  const fk_unet_config *c = &u->cfg;
  fk_nn *nn = u->nn;
  *out = NULL;
  int n = c->levels, lpb = c->layers_per_block;
  if (sample->ndim != 4 || sample->shape[1] != c->in_channels || ctx->ndim != 3 ||
      ctx->shape[0] != sample->shape[0] || ctx->shape[2] != c->cross_attention_dim)
    return fk_err_set(e, FK_EINTERNAL, "UNet: sample [B, %d, h, w] and context [B, L, %d] expected",
                      c->in_channels, c->cross_attention_dim);
  if (sample->dtype != u->dt || ctx->dtype != u->dt)
    return fk_err_set(e, FK_EINTERNAL, "UNet: inputs must have the weights' storage type");
  int64_t B = sample->shape[0], c0 = c->channels[0];
  fk_tensor *skips[MAX_SKIPS] = {0}, *h = NULL, *temb = NULL, *t0 = mk3(u, B, 1, c0, e);
  int ns = 0, rc = FK_OK;
  int64_t e2[2] = {B, c0}, e4[2] = {B, 4 * c0};
  /* time embedding; resnets all take SiLU of it */
  if (!t0 || !(temb = mk3(u, B, 1, 4 * c0, e))) rc = e->code;
  if (!rc)
    rc = fk_tensor_reshape(t0, 2, e2, e) || fk_tensor_reshape(temb, 2, e4, e) ||
                 fk_nn_timestep_embedding(nn, t, (int)B, c->flip_sin_to_cos, (float)c->freq_shift,
                                          10000.0f, t0, e) ||
                 fk_nn_matmul(nn, t0, u->t1.w, u->t1.b, temb, 1, e) ||
                 fk_nn_unary_op(nn, FK_NN_SILU, temb, temb, 0, 0, e)
             ? e->code
             : FK_OK;
  fk_tensor *temb2 = rc ? NULL : mk3(u, B, 1, 4 * c0, e);
  if (!rc && !temb2) rc = e->code;
  if (!rc)
    rc = fk_tensor_reshape(temb2, 2, e4, e) ||
                 fk_nn_matmul(nn, temb, u->t2.w, u->t2.b, temb2, 1, e) ||
                 fk_nn_unary_op(nn, FK_NN_SILU, temb2, temb2, 0, 0, e)
             ? e->code
             : FK_OK;
  fk_tensor_free(t0);
  fk_tensor_free(temb);
  temb = temb2;
  if (!rc && !(h = conv_fwd(u, &u->conv_in, sample, c0, 0, e))) rc = e->code;
  if (!rc) skips[ns++] = h;
  for (int i = 0; i < n && !rc; i++) {
    for (int j = 0; j < lpb && !rc; j++) {
      rc = advance(u, &h, resnet_fwd(u, &u->down[i].res[j], h, temb, e), 1, e);
      if (!rc && c->attention[i])
        rc = advance(u, &h, xformer_fwd(u, &u->down[i].att[j], h, ctx, e), 0, e);
      if (!rc) skips[ns++] = h;
    }
    if (!rc && i < n - 1) {
      rc = advance(u, &h, conv_fwd(u, &u->down[i].resample, h, c->channels[i], 1, e), 1, e);
      if (!rc) skips[ns++] = h;
    }
  }
  if (!rc) rc = advance(u, &h, resnet_fwd(u, &u->mid_res[0], h, temb, e), 1, e);
  if (!rc) rc = advance(u, &h, xformer_fwd(u, &u->mid_att, h, ctx, e), 0, e);
  if (!rc) rc = advance(u, &h, resnet_fwd(u, &u->mid_res[1], h, temb, e), 0, e);
  for (int i = 0; i < n && !rc; i++) {
    int r = n - 1 - i;
    for (int j = 0; j <= lpb && !rc; j++) {
      fk_tensor *s = skips[--ns];
      skips[ns] = NULL;
      rc = advance(u, &h, concat(u, h, s, e), 0, e);
      fk_tensor_free(s);
      if (!rc) rc = advance(u, &h, resnet_fwd(u, &u->up[i].res[j], h, temb, e), 0, e);
      if (!rc && c->attention[r])
        rc = advance(u, &h, xformer_fwd(u, &u->up[i].att[j], h, ctx, e), 0, e);
    }
    if (!rc && i < n - 1) {
      /* to the next skip's size: odd sizes were rounded up going down */
      const fk_tensor *next = skips[ns - 1];
      fk_tensor *up = mk4(u, B, h->shape[1], next->shape[2], next->shape[3], e);
      if (!up || fk_nn_resample_op(nn, FK_NN_UPSAMPLE2X, 0, h, up, e)) {
        fk_tensor_free(up);
        rc = e->code;
      } else {
        rc = advance(u, &h, up, 0, e);
      }
      if (!rc) rc = advance(u, &h, conv_fwd(u, &u->up[i].resample, h, h->shape[1], 0, e), 0, e);
    }
  }
  fk_tensor *y = NULL;
  if (!rc)
    rc = fk_nn_group_norm(nn, h, u->norm_out.w, u->norm_out.b, h, c->norm_groups,
                          (float)c->norm_eps, 1, e) ||
                 !(y = conv_fwd(u, &u->conv_out, h, c->out_channels, 0, e)) || fk_nn_sync(nn, e)
             ? e->code
             : FK_OK;
  for (; ns > 0; ns--)
    if (skips[ns - 1] != h) fk_tensor_free(skips[ns - 1]);
  fk_tensor_free(h);
  fk_tensor_free(temb);
  if (rc) {
    fk_tensor_free(y);
    return rc;
  }
  *out = y;
  return FK_OK;
}
