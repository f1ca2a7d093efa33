#include "models/clip_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "models/weights.h"

typedef struct layer {
  fk_tensor *ln1_w, *ln1_b, *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b;
  fk_tensor *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} layer;

struct fk_clip_text {
  fk_nn *nn;
  fk_nn_dtype dt;
  fk_clip_config cfg;
  const fk_sd_weight *tok; /* token embedding rows, read per prompt */
  float *pos;              /* position embedding [positions, width] */
  layer *layers;
  fk_tensor *lnf_w, *lnf_b;
  size_t bytes;
};

static int load_layer(fk_weights *w, int i, layer *l, fk_err *e) {
  static const char *const names[] = {"layer_norm1.weight",
                                      "layer_norm1.bias",
                                      "self_attn.q_proj.weight",
                                      "self_attn.q_proj.bias",
                                      "self_attn.k_proj.weight",
                                      "self_attn.k_proj.bias",
                                      "self_attn.v_proj.weight",
                                      "self_attn.v_proj.bias",
                                      "self_attn.out_proj.weight",
                                      "self_attn.out_proj.bias",
                                      "layer_norm2.weight",
                                      "layer_norm2.bias",
                                      "mlp.fc1.weight",
                                      "mlp.fc1.bias",
                                      "mlp.fc2.weight",
                                      "mlp.fc2.bias"};
  fk_tensor **slots[] = {&l->ln1_w, &l->ln1_b, &l->q_w,   &l->q_b,  &l->k_w,   &l->k_b,
                         &l->v_w,   &l->v_b,   &l->o_w,   &l->o_b,  &l->ln2_w, &l->ln2_b,
                         &l->fc1_w, &l->fc1_b, &l->fc2_w, &l->fc2_b};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++)
    if (fk_weights_get(w, slots[k], 0, NULL, e, "text_model.encoder.layers.%d.%s", i, names[k]))
      return e->code;
  return FK_OK;
}

static void free_layer(layer *l) {
  fk_tensor **t = (fk_tensor **)l;
  for (size_t i = 0; i < sizeof *l / sizeof *t; i++) fk_tensor_free(t[i]);
}

void fk_clip_text_free(fk_clip_text *c) {
  if (!c) return;
  for (int i = 0; c->layers && i < c->cfg.layers; i++) free_layer(&c->layers[i]);
  free(c->layers);
  fk_tensor_free(c->lnf_w);
  fk_tensor_free(c->lnf_b);
  free(c->pos);
  free(c);
}

int fk_clip_text_load(fk_nn *nn, const fk_sd_model *m, int f16, fk_clip_text **out, fk_err *e) {
  *out = NULL;
  fk_clip_text *c = fk_zalloc(1, sizeof *c);
  if (!c) return fk_err_oom(e, "text encoder", sizeof *c);
  c->nn = nn;
  c->dt = f16 ? FK_NN_F16 : FK_NN_F32;
  c->cfg = fk_sd_config_of(m)->text;
  const fk_sd_weight *pos;
  size_t np = (size_t)c->cfg.positions * (size_t)c->cfg.hidden;
  int rc =
      fk_sd_weight_get(m, FK_PART_TEXT, "text_model.embeddings.token_embedding.weight", &c->tok, e);
  if (!rc)
    rc = fk_sd_weight_get(m, FK_PART_TEXT, "text_model.embeddings.position_embedding.weight", &pos,
                          e);
  if (!rc && !(c->pos = fk_alloc(np, sizeof *c->pos)))
    rc = fk_err_oom(e, "position embedding", np * sizeof *c->pos);
  if (!rc) rc = fk_sd_weight_f32(pos, c->pos, e);
  if (!rc && !(c->layers = fk_zalloc((size_t)c->cfg.layers, sizeof *c->layers)))
    rc = fk_err_oom(e, "text layers", (size_t)c->cfg.layers * sizeof *c->layers);
  fk_weights w = {.nn = nn, .m = m, .part = FK_PART_TEXT, .dtype = c->dt};
  for (int i = 0; !rc && i < c->cfg.layers; i++) rc = load_layer(&w, i, &c->layers[i], e);
  if (!rc) rc = fk_weights_get(&w, &c->lnf_w, 0, NULL, e, "text_model.final_layer_norm.weight");
  if (!rc) rc = fk_weights_get(&w, &c->lnf_b, 0, NULL, e, "text_model.final_layer_norm.bias");
  c->bytes = w.bytes;
  fk_weights_done(&w);
  if (!rc) rc = fk_nn_sync(nn, e);
  if (rc) {
    fk_clip_text_free(c);
    return rc;
  }
  *out = c;
  return FK_OK;
}

int fk_clip_text_width(const fk_clip_text *c) {
  return c->cfg.hidden;
}
int fk_clip_text_layers(const fk_clip_text *c) {
  return c->cfg.layers;
}
size_t fk_clip_text_bytes(const fk_clip_text *c) {
  return c->bytes;
}

/* One row of the token embedding, converted from the file's dtype. */
static void token_row(const fk_sd_weight *w, int32_t id, int d, float *dst) {
  const fk_st_tensor *t = w->t;
  size_t es = fk_st_dtype_size(t->dtype);
  const unsigned char *src = (const unsigned char *)t->data + (size_t)id * (size_t)d * es;
  for (int i = 0; i < d; i++) {
    uint16_t h;
    switch (t->dtype) {
    case FK_ST_F32: memcpy(&dst[i], src + 4 * (size_t)i, 4); break;
    case FK_ST_F16:
      memcpy(&h, src + 2 * (size_t)i, 2);
      dst[i] = fk_half_to_float(h);
      break;
    case FK_ST_BF16:
      memcpy(&h, src + 2 * (size_t)i, 2);
      dst[i] = fk_st_bf16_to_f32(h);
      break;
    default: {
      double v;
      memcpy(&v, src + 8 * (size_t)i, 8);
      dst[i] = (float)v;
    }
    }
  }
}

typedef struct acts {
  fk_tensor *x, *h, *q, *k, *v, *a, *mlp;
} acts;

static int run_layer(fk_clip_text *c, const layer *l, acts *t, int n, fk_err *e) {
  fk_nn *nn = c->nn;
  int64_t L = c->cfg.positions, D = c->cfg.hidden, H = c->cfg.heads;
  int64_t flat[3] = {n, L, D}, heads[4] = {n, L, H, D / H};
  fk_nn_unary act = c->cfg.act == FK_ACT_GELU ? FK_NN_GELU : FK_NN_QUICK_GELU;
  if (fk_nn_layer_norm(nn, t->x, l->ln1_w, l->ln1_b, t->h, (float)c->cfg.eps, e) ||
      fk_nn_matmul(nn, t->h, l->q_w, l->q_b, t->q, 1, e) ||
      fk_nn_matmul(nn, t->h, l->k_w, l->k_b, t->k, 1, e) ||
      fk_nn_matmul(nn, t->h, l->v_w, l->v_b, t->v, 1, e) || fk_tensor_reshape(t->q, 4, heads, e) ||
      fk_tensor_reshape(t->k, 4, heads, e) || fk_tensor_reshape(t->v, 4, heads, e) ||
      fk_tensor_reshape(t->a, 4, heads, e) || fk_nn_attention(nn, t->q, t->k, t->v, t->a, 1, e) ||
      fk_tensor_reshape(t->a, 3, flat, e) || fk_tensor_reshape(t->q, 3, flat, e) ||
      fk_tensor_reshape(t->k, 3, flat, e) || fk_tensor_reshape(t->v, 3, flat, e) ||
      fk_nn_matmul(nn, t->a, l->o_w, l->o_b, t->h, 1, e) ||
      fk_nn_binary_op(nn, FK_NN_ADD, t->x, t->h, t->x, e) ||
      fk_nn_layer_norm(nn, t->x, l->ln2_w, l->ln2_b, t->h, (float)c->cfg.eps, e) ||
      fk_nn_matmul(nn, t->h, l->fc1_w, l->fc1_b, t->mlp, 1, e) ||
      fk_nn_unary_op(nn, act, t->mlp, t->mlp, 0, 0, e) ||
      fk_nn_matmul(nn, t->mlp, l->fc2_w, l->fc2_b, t->h, 1, e) ||
      fk_nn_binary_op(nn, FK_NN_ADD, t->x, t->h, t->x, e))
    return e->code;
  return FK_OK;
}

int fk_clip_text_encode(fk_clip_text *c, const int32_t *ids, int n, int clip_skip, fk_tensor **out,
                        fk_err *e) {
  *out = NULL;
  int L = c->cfg.positions, D = c->cfg.hidden;
  if (n < 1 || n > 64)
    return fk_err_set(e, FK_EUSER, "text encoder: 1..64 sequences at a time, not %d", n);
  if (clip_skip < 0 || clip_skip >= c->cfg.layers)
    return fk_err_set(e, FK_EUSER, "clip_skip must be in 0..%d for this model, got %d",
                      c->cfg.layers - 1, clip_skip);
  for (int i = 0; i < n * L; i++)
    if (ids[i] < 0 || ids[i] >= c->cfg.vocab)
      return fk_err_set(e, FK_EUSER, "token id %d at position %d is outside the vocabulary (0..%d)",
                        ids[i], i, c->cfg.vocab - 1);
  size_t nx = (size_t)n * (size_t)L * (size_t)D;
  float *x0 = fk_alloc(nx, sizeof *x0);
  if (!x0) return fk_err_oom(e, "text embeddings", nx * sizeof *x0);
  for (int s = 0; s < n; s++)
    for (int p = 0; p < L; p++) {
      float *row = x0 + ((size_t)s * (size_t)L + (size_t)p) * (size_t)D;
      token_row(c->tok, ids[s * L + p], D, row);
      for (int i = 0; i < D; i++) row[i] += c->pos[(size_t)p * (size_t)D + (size_t)i];
    }
  acts t = {0};
  int64_t flat[3] = {n, L, D}, wide[3] = {n, L, c->cfg.intermediate};
  fk_tensor **all[] = {&t.x, &t.h, &t.q, &t.k, &t.v, &t.a};
  int rc = FK_OK;
  for (size_t i = 0; i < sizeof all / sizeof *all && !rc; i++)
    rc = fk_tensor_new(c->nn, c->dt, 3, flat, all[i], e);
  if (!rc) rc = fk_tensor_new(c->nn, c->dt, 3, wide, &t.mlp, e);
  if (!rc) rc = fk_tensor_write(t.x, x0, e);
  free(x0);
  for (int i = 0; !rc && i < c->cfg.layers - clip_skip; i++)
    rc = run_layer(c, &c->layers[i], &t, n, e);
  if (!rc) rc = fk_nn_layer_norm(c->nn, t.x, c->lnf_w, c->lnf_b, t.h, (float)c->cfg.eps, e);
  if (!rc) rc = fk_nn_sync(c->nn, e);
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    if (*all[i] != t.h) fk_tensor_free(*all[i]);
  fk_tensor_free(t.mlp);
  if (rc) {
    fk_tensor_free(t.h);
    return rc;
  }
  *out = t.h;
  return FK_OK;
}
