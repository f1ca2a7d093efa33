/* Loading FILM-net weights: the expected tensors are derived from the
 * configuration, every one is checked by name and shape before anything
 * is uploaded, so a wrong file fails fast with the first tensor that is
 * off and the shape it should have. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/film_internal.h"
#include "models/safetensors.h"

#define MAX_WEIGHTS 128

typedef struct expect {
  char name[96];
  int ndim;
  int64_t shape[4];
  fk_tensor **slot;
} expect;

typedef struct plan {
  expect e[MAX_WEIGHTS];
  int n;
} plan;

static void add(plan *p, fk_film_conv *c, const char *name, int64_t cout, int64_t cin, int64_t k) {
  expect *w = &p->e[p->n++], *b = &p->e[p->n++];
  snprintf(w->name, sizeof w->name, "%s.weight", name);
  snprintf(b->name, sizeof b->name, "%s.bias", name);
  w->ndim = 4;
  w->shape[0] = cout;
  w->shape[1] = cin;
  w->shape[2] = w->shape[3] = k;
  w->slot = &c->w;
  b->ndim = 1;
  b->shape[0] = cout;
  b->slot = &c->b;
}

static void add_flow(plan *p, fk_film_flow *f, const char *prefix, int64_t cin, int64_t width) {
  char n[96];
  for (int i = 0; i < FILM_FLOW_CONVS; i++) {
    snprintf(n, sizeof n, "%s._convs.%d.0", prefix, i);
    add(p, &f->c[i], n, width, i ? width : cin, 3);
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
    add(p, &f->fuse[l][0], n, width, in, 2);
    snprintf(n, sizeof n, "fuse.convs.%d.1.0", k);
    add(p, &f->fuse[l][1], n, width, fk_film_aligned_ch(l) + width, 3);
    snprintf(n, sizeof n, "fuse.convs.%d.2.0", k);
    add(p, &f->fuse[l][2], n, width, width, 3);
  }
}

static void shape_str(char *out, size_t n, int ndim, const int64_t *shape) {
  size_t used = 0;
  used += (size_t)snprintf(out, n, "[");
  for (int i = 0; i < ndim && used < n; i++)
    used += (size_t)snprintf(out + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (used < n) snprintf(out + used, n - used, "]");
}

static int check(const fk_st_file *st, const plan *p, fk_err *e) {
  const char *path = fk_st_name(st);
  char want[80], got[80];
  for (int i = 0; i < p->n; i++) {
    const expect *x = &p->e[i];
    const fk_st_tensor *t = fk_st_find(st, x->name);
    shape_str(want, sizeof want, x->ndim, x->shape);
    if (!t)
      return fk_err_set(e, FK_EUSER,
                        "%s: FILM tensor '%s' %s is missing; is this a FILM-net state dict? "
                        "(models/convert_interpolator.py converts the PyTorch port's checkpoints)",
                        path, x->name, want);
    int same = t->ndim == x->ndim;
    for (int d = 0; same && d < x->ndim; d++) same = t->shape[d] == x->shape[d];
    if (!same) {
      shape_str(got, sizeof got, t->ndim, t->shape);
      return fk_err_set(e, FK_EUSER,
                        "%s: FILM tensor '%s' has shape %s, expected %s (only the default "
                        "configuration, 64 filters and 7 levels, is supported)",
                        path, x->name, got, want);
    }
    if (t->dtype != FK_ST_F32 && t->dtype != FK_ST_F16 && t->dtype != FK_ST_BF16)
      return fk_err_set(e, FK_EUSER, "%s: FILM tensor '%s' is %s, expected F32, F16 or BF16", path,
                        x->name, fk_st_dtype_name(t->dtype));
  }
  if (fk_st_count(st) != (size_t)p->n) {
    /* name the first tensor that is not FILM's: a different model */
    for (size_t i = 0; i < fk_st_count(st); i++) {
      const char *name = fk_st_get(st, i)->name;
      int known = 0;
      for (int k = 0; k < p->n && !known; k++) known = !strcmp(p->e[k].name, name);
      if (!known)
        return fk_err_set(e, FK_EUSER,
                          "%s: tensor '%s' is not part of FILM-net (%d tensors expected, the file "
                          "has %zu)",
                          path, name, p->n, fk_st_count(st));
    }
  }
  return FK_OK;
}

static int upload(fk_film *f, const fk_st_file *st, const plan *p, fk_err *e) {
  for (int i = 0; i < p->n; i++) {
    const expect *x = &p->e[i];
    float *v = NULL;
    if (fk_st_to_f32(fk_st_find(st, x->name), &v, e)) return e->code;
    int rc = fk_tensor_new(f->nn, f->dt, x->ndim, x->shape, x->slot, e) ||
                     fk_tensor_write(*x->slot, v, e)
                 ? e->code
                 : FK_OK;
    if (!rc) f->bytes += (*x->slot)->numel * ((*x->slot)->dtype == FK_NN_F16 ? 2 : 4);
    free(v);
    if (rc) return rc;
  }
  return FK_OK;
}

static void free_conv(fk_film_conv *c) {
  fk_tensor_free(c->w);
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
  f->dt = f->out.w->dtype; /* F16 falls back to F32 without 16-bit storage */
  *out = f;
  return FK_OK;
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
