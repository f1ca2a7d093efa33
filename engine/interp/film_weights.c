/* Loading FILM-net weights: the expected tensors are derived from the
 * configuration, every one is checked by name and shape before anything
 * is uploaded, so a wrong file fails fast with the first tensor that is
 * off and the shape it should have. Weights of convolutions over a
 * concatenation are uploaded split by input (their columns gathered per
 * part), so the forward pass convolves the parts without concatenating. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/film_internal.h"
#include "interp/weights_check.h"
#include "models/safetensors.h"

#define MAX_WEIGHTS 128

/* Input channels of one part of a split conv: up to two ranges (a part
 * viewed over both frames of the batch covers one range per frame). */
typedef struct part {
  int64_t from[2], count[2];
  int n;
} part;

typedef struct expect {
  char name[96];
  int ndim;
  int64_t shape[4];
  fk_tensor **slot;   /* plain tensors */
  fk_film_conv *conv; /* the layer (a weight split by parts has no slot) */
  part parts[FILM_MAX_PARTS];
  int n_parts;
} expect;

typedef struct plan {
  expect e[MAX_WEIGHTS];
  int n;
} plan;

static expect *add(plan *p, fk_film_conv *c, const char *name, int64_t cout, int64_t cin,
                   int64_t k) {
  expect *w = &p->e[p->n++], *b = &p->e[p->n++];
  snprintf(w->name, sizeof w->name, "%s.weight", name);
  snprintf(b->name, sizeof b->name, "%s.bias", name);
  w->ndim = 4;
  w->shape[0] = cout;
  w->shape[1] = cin;
  w->shape[2] = w->shape[3] = k;
  w->slot = &c->w[0];
  w->conv = c;
  c->n = 1;
  b->ndim = 1;
  b->shape[0] = cout;
  b->slot = &c->b;
  return w;
}

/* Adds a part to the weight w: its conv becomes a split one. */
static void add_part(expect *w, int64_t from0, int64_t count0, int64_t from1, int64_t count1) {
  part *pt = &w->parts[w->n_parts++];
  pt->from[0] = from0;
  pt->count[0] = count0;
  pt->from[1] = from1;
  pt->count[1] = count1;
  pt->n = count1 ? 2 : 1;
  w->slot = NULL;
  w->conv->n = w->n_parts;
}

/* The decoder's parts over a level's aligned input (per frame: image,
 * features; then the flows), and the coarser level after them. */
static void add_decoder_parts(expect *w, int level, int64_t coarser) {
  int64_t c = fk_film_feat_ch(level), k = 3 + c;
  add_part(w, 0, 3, k, 3);
  add_part(w, 3, c, k + 3, c);
  add_part(w, 2 * k, 4, 0, 0);
  if (coarser) add_part(w, 2 * k + 4, coarser, 0, 0);
}

static void add_flow(plan *p, fk_film_flow *f, const char *prefix, int64_t cin, int64_t width) {
  char n[96];
  for (int i = 0; i < FILM_FLOW_CONVS; i++) {
    snprintf(n, sizeof n, "%s._convs.%d.0", prefix, i);
    expect *w = add(p, &f->c[i], n, width, i ? width : cin, 3);
    if (i == 0) {
      add_part(w, 0, cin / 2, 0, 0);       /* FILM_FLOW_OWN */
      add_part(w, cin / 2, cin / 2, 0, 0); /* FILM_FLOW_WARPED */
    }
  }
  snprintf(n, sizeof n, "%s._convs.%d.0", prefix, FILM_FLOW_CONVS);
  add(p, &f->c[FILM_FLOW_CONVS], n, width / 2, width, 1);
  snprintf(n, sizeof n, "%s._convs.%d.0", prefix, FILM_FLOW_CONVS + 1);
  add(p, &f->c[FILM_FLOW_CONVS + 1], n, 2, width / 2, 1);
}

/* The port's state_dict, in its order. */
static void make_plan(fk_film *f, plan *p) {
  char n[96];
  p->n = 0;
  for (int j = 0; j < FILM_SUB_LEVELS; j++) {
    int64_t out = (int64_t)FILM_FILTERS << j, in = j ? out / 2 : 3;
    snprintf(n, sizeof n, "extract.extract_sublevels.convs.%d.0.0", j);
    add(p, &f->extract[j][0], n, out, in, 3);
    snprintf(n, sizeof n, "extract.extract_sublevels.convs.%d.1.0", j);
    add(p, &f->extract[j][1], n, out, out, 3);
  }
  add_flow(p, &f->shared, "predict_flow._predictor", 2 * fk_film_feat_ch(FILM_SPECIALIZED),
           fk_film_flow_ch(FILM_SPECIALIZED));
  /* the port lists the specialized estimators coarse to fine */
  for (int k = 0; k < FILM_SPECIALIZED; k++) {
    int l = FILM_SPECIALIZED - 1 - k;
    snprintf(n, sizeof n, "predict_flow._predictors.%d", k);
    add_flow(p, &f->special[l], n, 2 * fk_film_feat_ch(l), fk_film_flow_ch(l));
  }
  add(p, &f->out, "fuse.output_conv", 3, FILM_FILTERS, 1);
  for (int k = 0; k < FILM_FUSION_STEPS; k++) {
    int l = FILM_FUSION_STEPS - 1 - k;
    int64_t width = fk_film_fuse_ch(l);
    int64_t in = l == FILM_FUSION_STEPS - 1 ? fk_film_aligned_ch(l + 1) : fk_film_fuse_ch(l + 1);
    snprintf(n, sizeof n, "fuse.convs.%d.0.0", k);
    expect *w = add(p, &f->fuse[l][0], n, width, in, 2);
    if (l == FILM_FUSION_STEPS - 1) add_decoder_parts(w, l + 1, 0);
    snprintf(n, sizeof n, "fuse.convs.%d.1.0", k);
    w = add(p, &f->fuse[l][1], n, width, fk_film_aligned_ch(l) + width, 3);
    add_decoder_parts(w, l, width);
    snprintf(n, sizeof n, "fuse.convs.%d.2.0", k);
    add(p, &f->fuse[l][2], n, width, width, 3);
  }
}

static fk_interp_want want(const void *ctx, int i) {
  const expect *x = &((const plan *)ctx)->e[i];
  return (fk_interp_want){x->name, x->ndim, x->shape};
}

static int check(const fk_st_file *st, const plan *p, fk_err *e) {
  static const fk_interp_names names = {
      "FILM", "FILM-net",
      "is this a FILM-net state dict? (models/convert_interpolator.py converts the PyTorch port's "
      "checkpoints)",
      "only the default configuration, 64 filters and 7 levels, is supported"};
  return fk_interp_check_tensors(st, p->n, want, p, &names, e);
}

/* Part j of a split weight [cout, cin, kh, kw]: its input channels
 * gathered into [cout, part's channels, kh, kw]. */
static void gather(const float *v, const expect *x, const part *pt, float *out) {
  int64_t cout = x->shape[0], cin = x->shape[1], kk = x->shape[2] * x->shape[3];
  size_t at = 0;
  for (int64_t o = 0; o < cout; o++)
    for (int r = 0; r < pt->n; r++) {
      size_t len = (size_t)(pt->count[r] * kk);
      memcpy(out + at, v + (size_t)((o * cin + pt->from[r]) * kk), len * sizeof *v);
      at += len;
    }
}

static int upload_one(fk_film *f, int ndim, const int64_t *shape, const float *v, fk_tensor **slot,
                      fk_err *e) {
  if (fk_tensor_new(f->nn, f->dt, ndim, shape, slot, e) || fk_tensor_write(*slot, v, e))
    return e->code;
  f->bytes += (*slot)->numel * ((*slot)->dtype == FK_NN_F16 ? 2 : 4);
  return FK_OK;
}

static int upload(fk_film *f, const fk_st_file *st, const plan *p, fk_err *e) {
  for (int i = 0; i < p->n; i++) {
    const expect *x = &p->e[i];
    float *v = NULL, *buf = NULL;
    if (fk_st_to_f32(fk_st_find(st, x->name), &v, e)) return e->code;
    int rc = x->slot ? upload_one(f, x->ndim, x->shape, v, x->slot, e) : FK_OK;
    if (!rc && x->n_parts && !(buf = fk_alloc(fk_st_find(st, x->name)->numel, sizeof *buf)))
      rc = fk_err_oom(e, x->name, fk_st_find(st, x->name)->numel * sizeof *buf);
    for (int j = 0; !rc && j < x->n_parts; j++) {
      const part *pt = &x->parts[j];
      int64_t shape[4] = {x->shape[0], pt->count[0] + (pt->n > 1 ? pt->count[1] : 0), x->shape[2],
                          x->shape[3]};
      gather(v, x, pt, buf);
      rc = upload_one(f, 4, shape, buf, &x->conv->w[j], e);
    }
    free(buf);
    free(v);
    if (rc) return rc;
  }
  return FK_OK;
}

static void free_conv(fk_film_conv *c) {
  for (int j = 0; j < FILM_MAX_PARTS; j++) fk_tensor_free(c->w[j]);
  fk_tensor_free(c->b);
}

void fk_film_free(fk_film *f) {
  if (!f) return;
  for (int j = 0; j < FILM_SUB_LEVELS; j++)
    free_conv(&f->extract[j][0]), free_conv(&f->extract[j][1]);
  for (int i = 0; i < FILM_FLOW_CONVS + 2; i++) {
    free_conv(&f->shared.c[i]);
    for (int l = 0; l < FILM_SPECIALIZED; l++) free_conv(&f->special[l].c[i]);
  }
  for (int l = 0; l < FILM_FUSION_STEPS; l++)
    for (int i = 0; i < 3; i++) free_conv(&f->fuse[l][i]);
  free_conv(&f->out);
  free(f);
}

int fk_film_load(fk_nn *nn, const char *path, int f16, fk_film **out, fk_err *e) {
  *out = NULL;
  fk_film *f = fk_zalloc(1, sizeof *f);
  plan *p = fk_zalloc(1, sizeof *p);
  if (!f || !p) {
    free(f);
    free(p);
    return fk_err_oom(e, "FILM weights", sizeof *f + sizeof *p);
  }
  f->nn = nn;
  f->dt = f16 ? FK_NN_F16 : FK_NN_F32;
  make_plan(f, p);
  fk_st_file *st = NULL;
  int rc = fk_st_open(path, &st, e);
  if (!rc) rc = check(st, p, e);
  if (!rc) rc = upload(f, st, p, e);
  if (!rc) rc = fk_nn_sync(nn, e);
  fk_st_close(st);
  free(p);
  if (rc) {
    fk_film_free(f);
    return rc;
  }
  f->dt = f->out.w[0]->dtype; /* F16 falls back to F32 without 16-bit storage */
  *out = f;
  return FK_OK;
}

int fk_film_check_file(const char *path, fk_film_info *info, fk_err *e) {
  memset(info, 0, sizeof *info);
  fk_film *f = fk_zalloc(1, sizeof *f);
  plan *p = fk_zalloc(1, sizeof *p);
  fk_st_file *st = NULL;
  int rc = !f || !p ? fk_err_oom(e, "FILM check", sizeof *f + sizeof *p) : fk_st_open(path, &st, e);
  if (!rc) {
    make_plan(f, p);
    size_t by[FK_ST_NDTYPES] = {0};
    info->tensors = fk_st_count(st);
    for (size_t i = 0; i < info->tensors; i++) {
      const fk_st_tensor *t = fk_st_get(st, i);
      info->params += t->numel;
      by[t->dtype]++;
      for (int k = 0; k < p->n && !info->is_film; k++)
        info->is_film = !strcmp(p->e[k].name, t->name);
    }
    for (int d = 0; d < FK_ST_NDTYPES; d++)
      if (by[d]) {
        size_t used = strlen(info->dtypes);
        snprintf(info->dtypes + used, sizeof info->dtypes - used, "%s%s %zu", used ? ", " : "",
                 fk_st_dtype_name((fk_st_dtype)d), by[d]);
      }
    rc = check(st, p, e);
  }
  fk_st_close(st);
  free(p);
  free(f);
  return rc;
}

fk_nn *fk_film_backend(const fk_film *f) {
  return f->nn;
}
fk_nn_dtype fk_film_dtype(const fk_film *f) {
  return f->dt;
}
size_t fk_film_bytes(const fk_film *f) {
  return f->bytes;
}
