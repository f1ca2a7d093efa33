#include "models/vae.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/weights.h"

/* A resnet block: GroupNorm+SiLU, conv3x3, GroupNorm+SiLU, conv3x3, plus
 * the input (through a 1x1 conv when the channel count changes). */
typedef struct res {
  fk_tensor *n1w, *n1b, *c1w, *c1b, *n2w, *n2b, *c2w, *c2b, *scw, *scb;
} res;

/* The mid-block attention: one head over all channels (D = 512 in SD). */
typedef struct attn {
  fk_tensor *nw, *nb, *qw, *qb, *kw, *kb, *vw, *vb, *ow, *ob;
} attn;

typedef struct level {
  res *res;           /* layers_per_block (encoder) or layers_per_block + 1 (decoder) */
  fk_tensor *sw, *sb; /* the down- or upsampler's conv, NULL on the last level */
} level;

typedef struct mid {
  res r0, r1;
  attn a;
} mid;

struct fk_vae {
  fk_nn *nn;
  fk_nn_dtype dt;
  size_t es; /* bytes per element of the activations */
  fk_vae_config cfg;
  int factor;
  size_t cap, bytes;
  int last_tiles, attn_rows;
  /* encoder */
  fk_tensor *e_in_w, *e_in_b, *e_out_nw, *e_out_nb, *e_out_w, *e_out_b, *quant_w, *quant_b;
  level e_lv[FK_SD_MAX_LEVELS];
  mid e_mid;
  /* decoder */
  fk_tensor *pq_w, *pq_b, *d_in_w, *d_in_b, *d_out_nw, *d_out_nb, *d_out_w, *d_out_b;
  level d_lv[FK_SD_MAX_LEVELS];
  mid d_mid;
};

#define NPTR(s) (sizeof(s) / sizeof(fk_tensor *))

static void free_ptrs(fk_tensor **t, size_t n) {
  for (size_t i = 0; i < n; i++) fk_tensor_free(t[i]);
}

static void free_mid(mid *m) {
  free_ptrs((fk_tensor **)&m->r0, NPTR(res));
  free_ptrs((fk_tensor **)&m->r1, NPTR(res));
  free_ptrs((fk_tensor **)&m->a, NPTR(attn));
}

static void free_level(level *l, int nres) {
  for (int j = 0; l->res && j < nres; j++) free_ptrs((fk_tensor **)&l->res[j], NPTR(res));
  free(l->res);
  fk_tensor_free(l->sw);
  fk_tensor_free(l->sb);
}

void fk_vae_free(fk_vae *v) {
  if (!v) return;
  int lpb = v->cfg.layers_per_block;
  for (int i = 0; i < v->cfg.levels && i < FK_SD_MAX_LEVELS; i++) {
    free_level(&v->e_lv[i], lpb);
    free_level(&v->d_lv[i], lpb + 1);
  }
  free_mid(&v->e_mid);
  free_mid(&v->d_mid);
  fk_tensor *all[] = {v->e_in_w,   v->e_in_b,   v->e_out_nw, v->e_out_nb, v->e_out_w, v->e_out_b,
                      v->quant_w,  v->quant_b,  v->pq_w,     v->pq_b,     v->d_in_w,  v->d_in_b,
                      v->d_out_nw, v->d_out_nb, v->d_out_w,  v->d_out_b};
  free_ptrs(all, sizeof all / sizeof *all);
  free(v);
}

/* Loads "<prefix>.weight" and "<prefix>.bias". */
static int wb(fk_weights *w, fk_tensor **wt, fk_tensor **bt, fk_err *e, const char *prefix) {
  if (fk_weights_get(w, wt, 0, NULL, e, "%s.weight", prefix) ||
      fk_weights_get(w, bt, 0, NULL, e, "%s.bias", prefix))
    return e->code;
  return FK_OK;
}

static int load_res(fk_weights *w, const char *p, int cin, int cout, res *r, fk_err *e) {
  char n[200];
  static const char *const parts[] = {"norm1", "conv1", "norm2", "conv2", "conv_shortcut"};
  fk_tensor **slots[][2] = {{&r->n1w, &r->n1b},
                            {&r->c1w, &r->c1b},
                            {&r->n2w, &r->n2b},
                            {&r->c2w, &r->c2b},
                            {&r->scw, &r->scb}};
  for (int i = 0; i < (cin != cout ? 5 : 4); i++) {
    snprintf(n, sizeof n, "%s%s", p, parts[i]);
    if (wb(w, slots[i][0], slots[i][1], e, n)) return e->code;
  }
  return FK_OK;
}

static int load_mid(fk_weights *w, const char *side, int c, mid *m, fk_err *e) {
  char p[200];
  snprintf(p, sizeof p, "%s.mid_block.resnets.0.", side);
  if (load_res(w, p, c, c, &m->r0, e)) return e->code;
  snprintf(p, sizeof p, "%s.mid_block.resnets.1.", side);
  if (load_res(w, p, c, c, &m->r1, e)) return e->code;
  static const char *const parts[] = {"group_norm", "to_q", "to_k", "to_v", "to_out.0"};
  attn *a = &m->a;
  fk_tensor **slots[][2] = {
      {&a->nw, &a->nb}, {&a->qw, &a->qb}, {&a->kw, &a->kb}, {&a->vw, &a->vb}, {&a->ow, &a->ob}};
  for (int i = 0; i < 5; i++) {
    snprintf(p, sizeof p, "%s.mid_block.attentions.0.%s", side, parts[i]);
    if (wb(w, slots[i][0], slots[i][1], e, p)) return e->code;
  }
  /* Fold the 1/sqrt(D) score scale into the query projection once, so the
   * scores come straight out of one matmul. */
  float s = 1.0f / sqrtf((float)c);
  if (fk_nn_unary_op(w->nn, FK_NN_SCALE_BIAS, a->qw, a->qw, s, 0, e) ||
      fk_nn_unary_op(w->nn, FK_NN_SCALE_BIAS, a->qb, a->qb, s, 0, e))
    return e->code;
  return FK_OK;
}

static int load_all(fk_vae *v, fk_weights *w, fk_err *e) {
  const fk_vae_config *c = &v->cfg;
  int n = c->levels, lpb = c->layers_per_block, top = c->channels[n - 1];
  char p[200];
  if (wb(w, &v->e_in_w, &v->e_in_b, e, "encoder.conv_in")) return e->code;
  int cin = c->channels[0];
  for (int i = 0; i < n; i++) {
    level *l = &v->e_lv[i];
    if (!(l->res = fk_zalloc((size_t)lpb, sizeof *l->res)))
      return fk_err_oom(e, "VAE encoder blocks", (size_t)lpb * sizeof *l->res);
    for (int j = 0; j < lpb; j++) {
      snprintf(p, sizeof p, "encoder.down_blocks.%d.resnets.%d.", i, j);
      if (load_res(w, p, cin, c->channels[i], &l->res[j], e)) return e->code;
      cin = c->channels[i];
    }
    if (i == n - 1) continue;
    snprintf(p, sizeof p, "encoder.down_blocks.%d.downsamplers.0.conv", i);
    if (wb(w, &l->sw, &l->sb, e, p)) return e->code;
  }
  if (load_mid(w, "encoder", top, &v->e_mid, e) ||
      wb(w, &v->e_out_nw, &v->e_out_nb, e, "encoder.conv_norm_out") ||
      wb(w, &v->e_out_w, &v->e_out_b, e, "encoder.conv_out") ||
      wb(w, &v->quant_w, &v->quant_b, e, "quant_conv") ||
      wb(w, &v->pq_w, &v->pq_b, e, "post_quant_conv") ||
      wb(w, &v->d_in_w, &v->d_in_b, e, "decoder.conv_in") ||
      load_mid(w, "decoder", top, &v->d_mid, e))
    return e->code;
  cin = top;
  for (int i = 0; i < n; i++) {
    int r = n - 1 - i;
    level *l = &v->d_lv[i];
    if (!(l->res = fk_zalloc((size_t)lpb + 1, sizeof *l->res)))
      return fk_err_oom(e, "VAE decoder blocks", ((size_t)lpb + 1) * sizeof *l->res);
    for (int j = 0; j <= lpb; j++) {
      snprintf(p, sizeof p, "decoder.up_blocks.%d.resnets.%d.", i, j);
      if (load_res(w, p, cin, c->channels[r], &l->res[j], e)) return e->code;
      cin = c->channels[r];
    }
    if (i == n - 1) continue;
    snprintf(p, sizeof p, "decoder.up_blocks.%d.upsamplers.0.conv", i);
    if (wb(w, &l->sw, &l->sb, e, p)) return e->code;
  }
  if (wb(w, &v->d_out_nw, &v->d_out_nb, e, "decoder.conv_norm_out") ||
      wb(w, &v->d_out_w, &v->d_out_b, e, "decoder.conv_out"))
    return e->code;
  return FK_OK;
}

int fk_vae_load(fk_nn *nn, const fk_sd_model *m, int f16, fk_vae **out, fk_err *e) {
  *out = NULL;
  fk_vae *v = fk_zalloc(1, sizeof *v);
  if (!v) return fk_err_oom(e, "VAE", sizeof *v);
  v->nn = nn;
  v->dt = f16 ? FK_NN_F16 : FK_NN_F32;
  v->cfg = fk_sd_config_of(m)->vae;
  v->cap = (size_t)64 << 20;
  v->last_tiles = 1;
  int rc = FK_OK;
  if (v->cfg.levels < 1 || v->cfg.levels > FK_SD_MAX_LEVELS || v->cfg.layers_per_block < 1 ||
      v->cfg.norm_groups < 1 || v->cfg.latent_channels < 1 || v->cfg.in_channels < 1 ||
      v->cfg.out_channels < 1)
    rc = fk_err_set(e, FK_EUSER,
                    "VAE configuration of %s is unusable (levels %d, layers per block %d); check "
                    "its vae config",
                    fk_sd_path(m), v->cfg.levels, v->cfg.layers_per_block);
  if (!rc) v->factor = 1 << (v->cfg.levels - 1);
  fk_weights w = {.nn = nn, .m = m, .part = FK_PART_VAE, .dtype = v->dt};
  if (!rc) rc = load_all(v, &w, e);
  v->bytes = w.bytes;
  fk_weights_done(&w);
  if (!rc) rc = fk_nn_sync(nn, e);
  if (rc) {
    fk_vae_free(v);
    return rc;
  }
  /* fp16 falls back to fp32 storage where the device lacks it */
  v->dt = v->e_in_w->dtype;
  v->es = v->dt == FK_NN_F16 ? 2 : 4;
  *out = v;
  return FK_OK;
}

size_t fk_vae_bytes(const fk_vae *v) {
  return v->bytes;
}
double fk_vae_scaling_factor(const fk_vae *v) {
  return v->cfg.scaling_factor;
}
int fk_vae_factor(const fk_vae *v) {
  return v->factor;
}
void fk_vae_set_tile_cap(fk_vae *v, size_t cap) {
  v->cap = cap;
}
size_t fk_vae_tile_cap(const fk_vae *v) {
  return v->cap;
}
void fk_vae_set_attention_rows(fk_vae *v, int rows) {
  v->attn_rows = rows;
}
int fk_vae_last_tiles(const fk_vae *v) {
  return v->last_tiles;
}

static size_t maxz(size_t a, size_t b) {
  return a > b ? a : b;
}

/* Mirrors run_decoder's allocations (the attention's score chunks are
 * bounded separately, by the cap itself). */
size_t fk_vae_decode_bytes(const fk_vae *v, int h, int w) {
  const fk_vae_config *c = &v->cfg;
  int n = c->levels;
  size_t hw = (size_t)h * (size_t)w, top = (size_t)c->channels[n - 1], m = top * hw, cin = top;
  for (int i = 0; i < n; i++) {
    size_t r = (size_t)c->channels[n - 1 - i], s = hw << (2 * i);
    m = maxz(m, maxz(cin, r) * s);
    if (i < n - 1) m = maxz(m, r * s * 4);
    cin = r;
  }
  return m * v->es;
}

size_t fk_vae_encode_bytes(const fk_vae *v, int H, int W) {
  const fk_vae_config *c = &v->cfg;
  int n = c->levels;
  size_t hw = (size_t)H * (size_t)W, cin = (size_t)c->channels[0], m = cin * hw;
  for (int i = 0; i < n; i++) {
    size_t ch = (size_t)c->channels[i], s = hw >> (2 * i);
    m = maxz(m, maxz(cin, ch) * s);
    if (i < n - 1) m = maxz(m, ch * (s >> 2));
    cin = ch;
  }
  return m * v->es;
}

/* ---- the network ---- */

static int new4(fk_vae *v, int64_t c, int64_t h, int64_t w, fk_tensor **t, fk_err *e) {
  int64_t s[4] = {1, c, h, w};
  return fk_tensor_new(v->nn, v->dt, 4, s, t, e);
}

/* *y = conv(x): k x k with stride and pads (top, left, bottom, right). */
static int conv(fk_vae *v, const fk_tensor *x, const fk_tensor *w, const fk_tensor *b, int stride,
                int pt, int pl, int pb, int pr, fk_tensor **y, fk_err *e) {
  fk_nn_conv c = {.stride = stride, .pad_t = pt, .pad_l = pl, .pad_b = pb, .pad_r = pr};
  int64_t oh = (x->shape[2] + pt + pb - w->shape[2]) / stride + 1;
  int64_t ow = (x->shape[3] + pl + pr - w->shape[3]) / stride + 1;
  if (new4(v, w->shape[0], oh, ow, y, e)) return e->code;
  if (fk_nn_conv2d(v->nn, x, w, b, *y, &c, e)) {
    fk_tensor_free(*y);
    *y = NULL;
    return e->code;
  }
  return FK_OK;
}

/* Replaces *xp by conv(*xp), freeing the input. */
static int conv_step(fk_vae *v, fk_tensor **xp, const fk_tensor *w, const fk_tensor *b, int stride,
                     int pt, int pl, int pb, int pr, fk_err *e) {
  fk_tensor *y;
  if (conv(v, *xp, w, b, stride, pt, pl, pb, pr, &y, e)) return e->code;
  fk_tensor_free(*xp);
  *xp = y;
  return FK_OK;
}

static int gn(fk_vae *v, const fk_tensor *x, const fk_tensor *g, const fk_tensor *b, fk_tensor *y,
              int silu, fk_err *e) {
  return fk_nn_group_norm(v->nn, x, g, b, y, v->cfg.norm_groups, (float)v->cfg.norm_eps, silu, e);
}

/* Replaces *xp by the block's output; every intermediate is freed as soon
 * as it is dead (at most input, normed input and one conv output live). */
static int resnet(fk_vae *v, const res *r, fk_tensor **xp, fk_err *e) {
  fk_tensor *x = *xp, *t = NULL, *h = NULL, *y = NULL, *s = NULL;
  int rc = new4(v, x->shape[1], x->shape[2], x->shape[3], &t, e);
  if (!rc) rc = gn(v, x, r->n1w, r->n1b, t, 1, e);
  if (!rc) rc = conv(v, t, r->c1w, r->c1b, 1, 1, 1, 1, 1, &h, e);
  fk_tensor_free(t);
  if (!rc) rc = gn(v, h, r->n2w, r->n2b, h, 1, e);
  if (!rc) rc = conv(v, h, r->c2w, r->c2b, 1, 1, 1, 1, 1, &y, e);
  fk_tensor_free(h);
  if (!rc && r->scw) rc = conv(v, x, r->scw, r->scb, 1, 0, 0, 0, 0, &s, e);
  if (!rc) rc = fk_nn_binary_op(v->nn, FK_NN_ADD, y, s ? s : x, y, e);
  fk_tensor_free(s);
  if (rc) {
    fk_tensor_free(y);
    return rc;
  }
  fk_tensor_free(x);
  *xp = y;
  return FK_OK;
}

/* Single-head self-attention over the h*w positions with D = C channels.
 * fk_nn_attention takes D <= 256 and splitting D into heads would change
 * the softmax, so this is matmul + softmax + matmul on [L, C] rows, over
 * chunks of queries small enough that a chunk's score matrix [rows, L]
 * stays under the tile cap (64x64 latents: 4096^2 scores = 64 MiB fp32). */
static int attention(fk_vae *v, const attn *a, fk_tensor **xp, fk_err *e) {
  fk_nn *nn = v->nn;
  fk_tensor *x = *xp;
  int64_t C = x->shape[1], H = x->shape[2], W = x->shape[3], L = H * W;
  int64_t sq[2] = {C, L}, rows[2] = {L, C}, nchw[4] = {1, C, H, W};
  fk_tensor *hn = NULL, *hT = NULL, *k = NULL, *vv = NULL, *outT = NULL, *o = NULL;
  int rc = new4(v, C, H, W, &hn, e);
  if (!rc) rc = gn(v, x, a->nw, a->nb, hn, 0, e);
  if (!rc) rc = fk_tensor_reshape(hn, 2, sq, e);
  if (!rc) rc = fk_tensor_new(nn, v->dt, 2, rows, &hT, e);
  if (!rc) rc = fk_nn_transpose(nn, hn, hT, e);
  fk_tensor_free(hn);
  if (!rc) rc = fk_tensor_new(nn, v->dt, 2, rows, &k, e);
  if (!rc) rc = fk_nn_matmul(nn, hT, a->kw, a->kb, k, 1, e);
  if (!rc) rc = fk_tensor_new(nn, v->dt, 2, rows, &vv, e);
  if (!rc) rc = fk_nn_matmul(nn, hT, a->vw, a->vb, vv, 1, e);
  if (!rc) rc = fk_tensor_new(nn, v->dt, 2, rows, &outT, e);
  /* scores and probabilities: two [chunk, L] tensors */
  int64_t chunk = L;
  if (v->cap && (size_t)L * (size_t)L * v->es > v->cap) {
    chunk = (int64_t)(v->cap / ((size_t)L * v->es));
    if (chunk < 1) chunk = 1;
  }
  if (v->attn_rows > 0 && v->attn_rows < chunk) chunk = v->attn_rows;
  for (int64_t i0 = 0; !rc && i0 < L; i0 += chunk) {
    int64_t n = L - i0 < chunk ? L - i0 : chunk, nr[2] = {n, C}, nl[2] = {n, L};
    int64_t col[4] = {1, L, C, 1}, ncol[4] = {1, n, C, 1};
    fk_tensor *hc = n < L ? NULL : hT, *pc = n < L ? NULL : outT;
    fk_tensor *q = NULL, *s = NULL, *p = NULL, *oc = NULL;
    if (n < L) { /* this chunk's rows of hT, and a place for its output rows */
      rc = fk_tensor_new(nn, v->dt, 4, ncol, &hc, e);
      if (!rc) rc = fk_tensor_reshape(hT, 4, col, e);
      if (!rc) rc = fk_nn_copy_channels(nn, hT, (int)i0, (int)n, hc, 0, e);
      if (!rc) rc = fk_tensor_reshape(hT, 2, rows, e);
      if (!rc) rc = fk_tensor_reshape(hc, 2, nr, e);
      if (!rc) rc = fk_tensor_new(nn, v->dt, 2, nr, &pc, e);
    }
    if (!rc) rc = fk_tensor_new(nn, v->dt, 2, nr, &q, e);
    if (!rc) rc = fk_nn_matmul(nn, hc, a->qw, a->qb, q, 1, e);
    if (!rc) rc = fk_tensor_new(nn, v->dt, 2, nl, &s, e);
    if (!rc) rc = fk_nn_matmul(nn, q, k, NULL, s, 1, e);
    fk_tensor_free(q);
    if (!rc) rc = fk_tensor_new(nn, v->dt, 2, nl, &p, e);
    if (!rc) rc = fk_nn_softmax(nn, s, p, e);
    fk_tensor_free(s);
    if (!rc) rc = fk_tensor_new(nn, v->dt, 2, nr, &oc, e);
    if (!rc) rc = fk_nn_matmul(nn, p, vv, NULL, oc, 0, e);
    fk_tensor_free(p);
    if (!rc) rc = fk_nn_matmul(nn, oc, a->ow, a->ob, pc, 1, e);
    fk_tensor_free(oc);
    if (n < L) {
      if (!rc) rc = fk_tensor_reshape(pc, 4, ncol, e);
      if (!rc) rc = fk_tensor_reshape(outT, 4, col, e);
      if (!rc) rc = fk_nn_copy_channels(nn, pc, 0, (int)n, outT, (int)i0, e);
      if (!rc) rc = fk_tensor_reshape(outT, 2, rows, e);
      fk_tensor_free(hc);
      fk_tensor_free(pc);
    }
  }
  fk_tensor_free(hT);
  fk_tensor_free(k);
  fk_tensor_free(vv);
  if (!rc) rc = fk_tensor_new(nn, v->dt, 2, sq, &o, e);
  if (!rc) rc = fk_nn_transpose(nn, outT, o, e);
  fk_tensor_free(outT);
  if (!rc) rc = fk_tensor_reshape(o, 4, nchw, e);
  if (!rc) rc = fk_nn_binary_op(nn, FK_NN_ADD, o, x, o, e);
  if (rc) {
    fk_tensor_free(o);
    return rc;
  }
  fk_tensor_free(x);
  *xp = o;
  return FK_OK;
}

static int run_mid(fk_vae *v, const mid *m, fk_tensor **x, fk_err *e) {
  if (resnet(v, &m->r0, x, e) || attention(v, &m->a, x, e) || resnet(v, &m->r1, x, e))
    return e->code;
  return FK_OK;
}

/* Each half consumes its input x (freed, also on failure) and makes *out.
 * The syncs after each level let the backend release the freed
 * activations (Vulkan defers frees until the recorded ops have run).
 *
 * Encoder head: img [1, 3, H, W] -> features [1, top, H/f, W/f] (conv_in
 * and the down blocks: local, so it can run tile by tile). */
static int enc_head(fk_vae *v, fk_tensor *x, fk_tensor **out, fk_err *e) {
  const fk_vae_config *c = &v->cfg;
  int rc = conv_step(v, &x, v->e_in_w, v->e_in_b, 1, 1, 1, 1, 1, e);
  for (int i = 0; !rc && i < c->levels; i++) {
    const level *l = &v->e_lv[i];
    for (int j = 0; !rc && j < c->layers_per_block; j++) rc = resnet(v, &l->res[j], &x, e);
    /* diffusers' Downsample2D pads (0, 1, 0, 1) then convolves with stride 2 */
    if (!rc && l->sw) rc = conv_step(v, &x, l->sw, l->sb, 2, 0, 0, 1, 1, e);
    if (!rc) rc = fk_nn_sync(v->nn, e);
  }
  if (rc) {
    fk_tensor_free(x);
    return rc;
  }
  *out = x;
  return FK_OK;
}

/* Encoder tail: features -> moments [1, 2 latent, h, w] (mid block with
 * its global attention, norm_out + SiLU, conv_out, quant_conv). */
static int enc_tail(fk_vae *v, fk_tensor *x, fk_tensor **out, fk_err *e) {
  int rc = run_mid(v, &v->e_mid, &x, e);
  if (!rc) rc = gn(v, x, v->e_out_nw, v->e_out_nb, x, 1, e);
  if (!rc) rc = conv_step(v, &x, v->e_out_w, v->e_out_b, 1, 1, 1, 1, 1, e);
  if (!rc) rc = conv_step(v, &x, v->quant_w, v->quant_b, 1, 0, 0, 0, 0, e);
  if (rc) {
    fk_tensor_free(x);
    return rc;
  }
  *out = x;
  return FK_OK;
}

static int run_encoder(fk_vae *v, fk_tensor *x, fk_tensor **out, fk_err *e) {
  fk_tensor *f;
  if (enc_head(v, x, &f, e) || enc_tail(v, f, out, e)) return e->code;
  return FK_OK;
}

/* Decoder head: z [1, latent, h, w] -> [1, top, h, w] (post_quant_conv,
 * conv_in, mid block). */
static int dec_head(fk_vae *v, fk_tensor *x, fk_tensor **out, fk_err *e) {
  int rc = conv_step(v, &x, v->pq_w, v->pq_b, 1, 0, 0, 0, 0, e);
  if (!rc) rc = conv_step(v, &x, v->d_in_w, v->d_in_b, 1, 1, 1, 1, 1, e);
  if (!rc) rc = run_mid(v, &v->d_mid, &x, e);
  if (rc) {
    fk_tensor_free(x);
    return rc;
  }
  *out = x;
  return FK_OK;
}

/* Decoder tail: [1, top, h, w] -> image [1, 3, f h, f w] (up blocks,
 * norm_out + SiLU, conv_out: local, so it can run tile by tile). */
static int dec_tail(fk_vae *v, fk_tensor *x, fk_tensor **out, fk_err *e) {
  const fk_vae_config *c = &v->cfg;
  int rc = FK_OK;
  for (int i = 0; !rc && i < c->levels; i++) {
    const level *l = &v->d_lv[i];
    for (int j = 0; !rc && j <= c->layers_per_block; j++) rc = resnet(v, &l->res[j], &x, e);
    if (!rc && l->sw) {
      fk_tensor *u;
      rc = new4(v, x->shape[1], 2 * x->shape[2], 2 * x->shape[3], &u, e);
      if (!rc) {
        rc = fk_nn_resample_op(v->nn, FK_NN_UPSAMPLE2X, 1, x, u, e);
        fk_tensor_free(x);
        x = u;
      }
      if (!rc) rc = conv_step(v, &x, l->sw, l->sb, 1, 1, 1, 1, 1, e);
    }
    if (!rc) rc = fk_nn_sync(v->nn, e);
  }
  if (!rc) rc = gn(v, x, v->d_out_nw, v->d_out_nb, x, 1, e);
  if (!rc) rc = conv_step(v, &x, v->d_out_w, v->d_out_b, 1, 1, 1, 1, 1, e);
  if (rc) {
    fk_tensor_free(x);
    return rc;
  }
  *out = x;
  return FK_OK;
}

static int run_decoder(fk_vae *v, fk_tensor *x, fk_tensor **out, fk_err *e) {
  fk_tensor *f;
  if (dec_head(v, x, &f, e) || dec_tail(v, f, out, e)) return e->code;
  return FK_OK;
}

/* ---- tiling ---- */

/* Tiles along one axis of n cells: count, and start of tile i, for tiles
 * of t cells overlapping by at least ov. Every tile has the full size
 * (the last one ends at n), so none gets poorer GroupNorm statistics. */
static int axis_count(int n, int t, int ov) {
  if (t >= n) return 1;
  return (n - ov + (t - ov) - 1) / (t - ov);
}
static int axis_start(int n, int t, int k, int i) {
  if (k == 1) return 0;
  return (int)(((int64_t)i * (n - t) + (k - 1) / 2) / (k - 1));
}

/* Blend weight at position x of a tile of length len (output units) whose
 * overlaps with its neighbours are lo (before) and hi (after): a linear
 * ramp across each overlap, so neighbouring weights add up to 1 there. */
static float ramp(int x, int len, int lo, int hi) {
  float w = 1.0f;
  if (lo > 0 && x < lo) w = fminf(w, ((float)x + 0.5f) / (float)lo);
  if (hi > 0 && x >= len - hi) w = fminf(w, ((float)(len - x) - 0.5f) / (float)hi);
  return w;
}

typedef int (*net_fn)(fk_vae *v, fk_tensor *in, fk_tensor **out, fk_err *e);
typedef size_t (*bytes_fn)(const fk_vae *v, int a, int b);

/* A network (or part) run over a host input [cin, gh*is, gw*is], a grid
 * of gh x gw latent cells of is x is pixels, into [cout, gh*os, gw*os]:
 * untiled when its activations fit the cap, else tiled and blended.
 * bytes(v, a, b) is its largest activation for an input of a x b pixels. */
typedef struct pass {
  net_fn net;
  bytes_fn bytes;
  int cin, cout, is, os;
  const char *what;
} pass;

static int upload(fk_vae *v, const float *src, int64_t c, int64_t h, int64_t w, fk_tensor **t,
                  fk_err *e) {
  if (new4(v, c, h, w, t, e)) return e->code;
  if (fk_tensor_write(*t, src, e)) {
    fk_tensor_free(*t);
    *t = NULL;
    return e->code;
  }
  return FK_OK;
}

/* The tile size for k tiles over n cells overlapping by t/4: the smallest
 * t with k t - (k - 1) t / 4 >= n. */
static int tile_for(int n, int k) {
  if (k <= 1) return n;
  int t = (4 * n + 3 * k) / (3 * k + 1);
  return t < n ? t : n;
}

/* Square-ish tiles: the largest side t (at least 4 cells) whose
 * activations fit the cap, then per axis as many tiles of side t as cover
 * it, shrunk to the even size that still covers it with that many. */
static int plan(fk_vae *v, const pass *p, int gh, int gw, int *th, int *tw, fk_err *e) {
  *th = gh;
  *tw = gw;
  if (!v->cap || p->bytes(v, gh * p->is, gw * p->is) <= v->cap) return FK_OK;
  int t = gh > gw ? gh : gw;
  while (t > 4 && p->bytes(v, (t < gh ? t : gh) * p->is, (t < gw ? t : gw) * p->is) > v->cap) t--;
  if (p->bytes(v, (t < gh ? t : gh) * p->is, (t < gw ? t : gw) * p->is) > v->cap)
    return fk_err_set(e, FK_EUSER,
                      "VAE %s: even a 4x4-latent tile needs %.3g MiB per activation, over the "
                      "tile cap of %.3g MiB; raise the cap",
                      p->what, (double)p->bytes(v, 4 * p->is, 4 * p->is) / 1048576.0,
                      (double)v->cap / 1048576.0);
  int ov = t / 4 > 1 ? t / 4 : 1;
  *th = tile_for(gh, axis_count(gh, t < gh ? t : gh, ov));
  *tw = tile_for(gw, axis_count(gw, t < gw ? t : gw, ov));
  return FK_OK;
}

/* Reads t (consumed) into a new host buffer. */
static int to_host(fk_tensor *t, float **out, fk_err *e) {
  float *h = fk_alloc(t->numel, sizeof *h);
  int rc = h ? fk_tensor_read(t, h, e) : fk_err_oom(e, "VAE activations", t->numel * sizeof *h);
  fk_tensor_free(t);
  if (rc) {
    free(h);
    return rc;
  }
  *out = h;
  return FK_OK;
}

/* Runs pass p over host input `in`; *out is a new host buffer, or, when
 * untiled and dev_out is not NULL, *dev_out the device tensor itself. */
static int run_pass(fk_vae *v, const pass *p, const float *in, int gh, int gw, float **out,
                    fk_tensor **dev_out, fk_err *e) {
  int th, tw;
  v->last_tiles = 0;
  if (plan(v, p, gh, gw, &th, &tw, e)) return e->code;
  int ovh = th / 4 > 1 ? th / 4 : 1, ovw = tw / 4 > 1 ? tw / 4 : 1;
  int kh = axis_count(gh, th, ovh), kw = axis_count(gw, tw, ovw);
  v->last_tiles = kh * kw;
  size_t IH = (size_t)gh * (size_t)p->is, IW = (size_t)gw * (size_t)p->is;
  size_t OH = (size_t)gh * (size_t)p->os, OW = (size_t)gw * (size_t)p->os;
  size_t on = (size_t)p->cout * OH * OW;
  fk_tensor *t = NULL, *o = NULL;
  if (kh * kw == 1) {
    int rc = upload(v, in, p->cin, (int64_t)IH, (int64_t)IW, &t, e);
    if (!rc) rc = p->net(v, t, &o, e);
    if (rc) return rc;
    if (dev_out) {
      *dev_out = o;
      return FK_OK;
    }
    return to_host(o, out, e);
  }
  size_t tih = (size_t)th * (size_t)p->is, tiw = (size_t)tw * (size_t)p->is;
  size_t toh = (size_t)th * (size_t)p->os, tow = (size_t)tw * (size_t)p->os;
  float *acc = fk_zalloc(on, sizeof *acc), *wsum = fk_zalloc(OH * OW, sizeof *wsum);
  float *tin = fk_alloc((size_t)p->cin * tih * tiw, sizeof *tin);
  float *tout = fk_alloc((size_t)p->cout * toh * tow, sizeof *tout);
  float *wy = fk_alloc(toh, sizeof *wy), *wx = fk_alloc(tow, sizeof *wx);
  int rc = FK_OK;
  if (!acc || !wsum || !tin || !tout || !wy || !wx)
    rc = fk_err_oom(e, "VAE tile buffers", (on + OH * OW + (size_t)p->cin * tih * tiw) * 4);
  for (int ty = 0; !rc && ty < kh; ty++) {
    int y0 = axis_start(gh, th, kh, ty);
    int lo = ty > 0 ? axis_start(gh, th, kh, ty - 1) + th - y0 : 0;
    int hi = ty < kh - 1 ? y0 + th - axis_start(gh, th, kh, ty + 1) : 0;
    for (size_t y = 0; y < toh; y++) wy[y] = ramp((int)y, (int)toh, lo * p->os, hi * p->os);
    for (int tx = 0; !rc && tx < kw; tx++) {
      int x0 = axis_start(gw, tw, kw, tx);
      int l2 = tx > 0 ? axis_start(gw, tw, kw, tx - 1) + tw - x0 : 0;
      int h2 = tx < kw - 1 ? x0 + tw - axis_start(gw, tw, kw, tx + 1) : 0;
      for (size_t x = 0; x < tow; x++) wx[x] = ramp((int)x, (int)tow, l2 * p->os, h2 * p->os);
      size_t iy0 = (size_t)y0 * (size_t)p->is, ix0 = (size_t)x0 * (size_t)p->is;
      for (size_t c = 0; c < (size_t)p->cin; c++)
        for (size_t y = 0; y < tih; y++)
          memcpy(tin + (c * tih + y) * tiw, in + (c * IH + iy0 + y) * IW + ix0, tiw * sizeof *tin);
      rc = upload(v, tin, p->cin, (int64_t)tih, (int64_t)tiw, &t, e);
      if (!rc) rc = p->net(v, t, &o, e);
      if (!rc) {
        rc = fk_tensor_read(o, tout, e);
        fk_tensor_free(o);
      }
      size_t oy0 = (size_t)y0 * (size_t)p->os, ox0 = (size_t)x0 * (size_t)p->os;
      for (size_t c = 0; !rc && c < (size_t)p->cout; c++)
        for (size_t y = 0; y < toh; y++)
          for (size_t x = 0; x < tow; x++)
            acc[(c * OH + oy0 + y) * OW + ox0 + x] += wy[y] * wx[x] * tout[(c * toh + y) * tow + x];
      for (size_t y = 0; !rc && y < toh; y++)
        for (size_t x = 0; x < tow; x++) wsum[(oy0 + y) * OW + ox0 + x] += wy[y] * wx[x];
    }
  }
  for (size_t c = 0; !rc && c < (size_t)p->cout; c++)
    for (size_t i = 0; i < OH * OW; i++) acc[c * OH * OW + i] /= wsum[i];
  free(wsum);
  free(tin);
  free(tout);
  free(wy);
  free(wx);
  if (rc) {
    free(acc);
    return rc;
  }
  *out = acc;
  return FK_OK;
}

/* Reads a [1, c, h, w] tensor (any dtype) to the host after checking it. */
static int read_input(const fk_tensor *t, int c, int mult, const char *what, float **out,
                      fk_err *e) {
  *out = NULL;
  if (t->ndim != 4 || t->shape[0] != 1 || t->shape[1] != c || t->shape[2] % mult ||
      t->shape[3] % mult)
    return fk_err_set(e, FK_EUSER,
                      "VAE %s: expected a [1, %d, H, W] tensor with H and W multiples of %d, got "
                      "%d dimensions [%lld, %lld, ...]",
                      what, c, mult, t->ndim, (long long)t->shape[0],
                      (long long)(t->ndim > 1 ? t->shape[1] : 0));
  float *h = fk_alloc(t->numel, sizeof *h);
  if (!h) return fk_err_oom(e, what, t->numel * sizeof *h);
  if (fk_tensor_read((fk_tensor *)t, h, e)) {
    free(h);
    return e->code;
  }
  *out = h;
  return FK_OK;
}

/* When the whole network does not fit the cap but its latent-resolution
 * part (the mid block with the global attention) does, only the local
 * part is tiled: the encoder's down blocks, the decoder's up blocks. The
 * attention and the mid block's GroupNorms then see the whole image, and
 * the approximation is confined to the tiled blocks' GroupNorms. */
static int split_fits(const fk_vae *v, int h, int w) {
  size_t top = (size_t)v->cfg.channels[v->cfg.levels - 1];
  return top * (size_t)h * (size_t)w * v->es <= v->cap;
}

static int moments_host(fk_vae *v, const fk_tensor *image, float **out, int *h, int *w, fk_err *e) {
  float *in, *f = NULL;
  if (read_input(image, v->cfg.in_channels, v->factor, "encode", &in, e)) return e->code;
  *h = (int)image->shape[2] / v->factor;
  *w = (int)image->shape[3] / v->factor;
  int top = v->cfg.channels[v->cfg.levels - 1], rc;
  if (v->cap && fk_vae_encode_bytes(v, (int)image->shape[2], (int)image->shape[3]) > v->cap &&
      split_fits(v, *h, *w)) {
    pass p = {enc_head, fk_vae_encode_bytes, v->cfg.in_channels, top, v->factor, 1, "encode"};
    fk_tensor *t = NULL, *m = NULL;
    rc = run_pass(v, &p, in, *h, *w, &f, NULL, e);
    if (!rc) rc = upload(v, f, top, *h, *w, &t, e);
    if (!rc) rc = enc_tail(v, t, &m, e);
    if (!rc) rc = to_host(m, out, e);
  } else {
    pass p = {run_encoder,
              fk_vae_encode_bytes,
              v->cfg.in_channels,
              2 * v->cfg.latent_channels,
              v->factor,
              1,
              "encode"};
    rc = run_pass(v, &p, in, *h, *w, out, NULL, e);
  }
  free(f);
  free(in);
  return rc;
}

int fk_vae_encode_moments(fk_vae *v, const fk_tensor *image, fk_tensor **moments, fk_err *e) {
  *moments = NULL;
  float *m;
  int h, w;
  if (moments_host(v, image, &m, &h, &w, e)) return e->code;
  int rc = upload(v, m, 2 * v->cfg.latent_channels, h, w, moments, e);
  free(m);
  return rc;
}

int fk_vae_encode(fk_vae *v, const fk_tensor *image, fk_tensor **mean, fk_tensor **std, fk_err *e) {
  *mean = *std = NULL;
  float *m;
  int h, w;
  if (moments_host(v, image, &m, &h, &w, e)) return e->code;
  /* moments: mean channels, then logvar; std on the host (no exp op, and
   * the latent is small) */
  size_t n = (size_t)v->cfg.latent_channels * (size_t)h * (size_t)w;
  float *lv = m + n;
  for (size_t i = 0; i < n; i++) lv[i] = expf(0.5f * fminf(fmaxf(lv[i], -30.0f), 20.0f));
  int rc = upload(v, m, v->cfg.latent_channels, h, w, mean, e);
  if (!rc) rc = upload(v, lv, v->cfg.latent_channels, h, w, std, e);
  free(m);
  if (rc) {
    fk_tensor_free(*mean);
    *mean = NULL;
  }
  return rc;
}

int fk_vae_decode(fk_vae *v, const fk_tensor *z, fk_tensor **image, fk_err *e) {
  *image = NULL;
  float *in, *out = NULL, *f = NULL;
  if (read_input(z, v->cfg.latent_channels, 1, "decode", &in, e)) return e->code;
  int h = (int)z->shape[2], w = (int)z->shape[3], top = v->cfg.channels[v->cfg.levels - 1], rc;
  fk_tensor *dev = NULL;
  if (v->cap && fk_vae_decode_bytes(v, h, w) > v->cap && split_fits(v, h, w)) {
    pass p = {dec_tail, fk_vae_decode_bytes, top, v->cfg.out_channels, 1, v->factor, "decode"};
    fk_tensor *t = NULL, *m = NULL;
    rc = upload(v, in, v->cfg.latent_channels, h, w, &t, e);
    if (!rc) rc = dec_head(v, t, &m, e);
    if (!rc) rc = to_host(m, &f, e);
    if (!rc) rc = run_pass(v, &p, f, h, w, &out, NULL, e);
  } else {
    pass p = {
        run_decoder, fk_vae_decode_bytes, v->cfg.latent_channels, v->cfg.out_channels, 1, v->factor,
        "decode"};
    rc = run_pass(v, &p, in, h, w, &out, &dev, e);
  }
  free(in);
  free(f);
  if (rc) return rc;
  if (dev) {
    *image = dev;
    return FK_OK;
  }
  rc =
      upload(v, out, v->cfg.out_channels, (int64_t)h * v->factor, (int64_t)w * v->factor, image, e);
  free(out);
  return rc;
}
