/* Random RIFE v4.6 weights of the exact architecture, for tests and
 * benchmarks (no real weights can be downloaded here). Scaled like
 * tests/reference/rife_ref.py's so a forward pass does real work: He-scaled
 * convs, the ResConv branch damped (beta in [0.2, 0.6], half-scale convs),
 * the last layer giving flows of a few pixels and mask logits of order one.
 * F32 tensors: loading with f16 storage converts them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/rife_internal.h"
#include "models/safetensors.h"

#define N_TENSORS (FK_RIFE_BLOCKS * (4 + 3 * RIFE_RESCONVS + 2))

typedef struct rng {
  uint64_t s;
} rng;

/* uniform in [-1, 1) (splitmix64) */
static float uni(rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (float)((double)(z >> 11) / 4503599627370496.0 - 1.0);
}

typedef struct item {
  char name[64];
  int64_t shape[4];
  int ndim;
  float *v;
} item;

/* n values uniform with standard deviation sd around mean */
static float *fill(rng *r, size_t n, float mean, float sd) {
  float *v = fk_alloc(n, sizeof *v);
  for (size_t i = 0; v && i < n; i++) v[i] = mean + sd * 1.7320508f * uni(r);
  return v;
}

static int add(item *it, int *n, rng *r, const char *name, int ndim, const int64_t *shape,
               float mean, float sd, fk_err *e) {
  item *x = &it[(*n)++];
  size_t count = 1;
  snprintf(x->name, sizeof x->name, "%s", name);
  x->ndim = ndim;
  for (int d = 0; d < ndim; d++) count *= (size_t)(x->shape[d] = shape[d]);
  if (!(x->v = fill(r, count, mean, sd))) return fk_err_oom(e, "random RIFE weights", count * 4);
  return FK_OK;
}

int fk_rife_write_random(const char *path, uint64_t seed, fk_err *e) {
  item *it = fk_zalloc(N_TENSORS, sizeof *it);
  fk_st_desc *d = fk_zalloc(N_TENSORS, sizeof *d);
  if (!it || !d) {
    free(it), free(d);
    return fk_err_oom(e, "random RIFE weights", N_TENSORS * sizeof *it);
  }
  rng r = {seed * 0x2545f4914f6cdd1dull + 1};
  int n = 0, rc = FK_OK;
  char nm[64];
  for (int b = 0; b < FK_RIFE_BLOCKS && !rc; b++) {
    int64_t c = fk_rife_width(b), cin = fk_rife_in_ch(b);
    for (int j = 0; j < 2 && !rc; j++) {
      int64_t ws[4] = {j ? c : c / 2, j ? c / 2 : cin, 3, 3};
      snprintf(nm, sizeof nm, "block%d.conv0.%d.0.weight", b, j);
      rc = add(it, &n, &r, nm, 4, ws, 0, sqrtf(2.0f / (float)(ws[1] * 9)), e);
      snprintf(nm, sizeof nm, "block%d.conv0.%d.0.bias", b, j);
      if (!rc) rc = add(it, &n, &r, nm, 1, ws, 0, 0.05f, e);
    }
    for (int i = 0; i < RIFE_RESCONVS && !rc; i++) {
      int64_t bs[4] = {1, c, 1, 1}, ws[4] = {c, c, 3, 3};
      snprintf(nm, sizeof nm, "block%d.convblock.%d.beta", b, i);
      rc = add(it, &n, &r, nm, 4, bs, 0.4f, 0.2f / 1.7320508f, e);
      snprintf(nm, sizeof nm, "block%d.convblock.%d.conv.weight", b, i);
      if (!rc) rc = add(it, &n, &r, nm, 4, ws, 0, 0.5f * sqrtf(2.0f / (float)(c * 9)), e);
      snprintf(nm, sizeof nm, "block%d.convblock.%d.conv.bias", b, i);
      if (!rc) rc = add(it, &n, &r, nm, 1, ws, 0, 0.05f, e);
    }
    int64_t ls[4] = {c, RIFE_LAST_CH, 4, 4}, lb = RIFE_LAST_CH;
    snprintf(nm, sizeof nm, "block%d.lastconv.0.weight", b);
    if (!rc) rc = add(it, &n, &r, nm, 4, ls, 0, 0.5f / sqrtf((float)(4 * c)), e);
    snprintf(nm, sizeof nm, "block%d.lastconv.0.bias", b);
    if (!rc) rc = add(it, &n, &r, nm, 1, &lb, 0, 0.05f, e);
  }
  for (int i = 0; i < n; i++)
    d[i] = (fk_st_desc){it[i].name, FK_ST_F32, it[i].ndim, it[i].shape, it[i].v};
  static const fk_st_kv meta[] = {{"config", "{\"architecture\": \"rife_ifnet\", \"version\": "
                                             "\"4.6\", \"random\": true}"}};
  if (!rc) rc = fk_st_write(path, d, (size_t)n, meta, 1, e);
  for (int i = 0; i < n; i++) free(it[i].v);
  free(it), free(d);
  return rc;
}
