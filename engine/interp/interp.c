/* Loading either network, and padding, cropping and recursion around
 * fk_film_forward / fk_rife_forward. The frames cross the host boundary
 * once each way anyway, so padding and cropping happen there: no extra
 * kernels. */
#include "interp/interp.h"

#include <stdlib.h>
#include <string.h>

#include "models/safetensors.h"

int fk_interp_load(fk_nn *nn, const char *path, int f16, fk_interp_net *out, fk_err *e) {
  memset(out, 0, sizeof *out);
  fk_st_file *st = NULL;
  if (fk_st_open(path, &st, e)) return e->code;
  int rife = fk_st_find(st, "block0.conv0.0.0.weight") != NULL;
  fk_st_close(st);
  return rife ? fk_rife_load(nn, path, f16, &out->rife, e)
              : fk_film_load(nn, path, f16, &out->film, e);
}

void fk_interp_free(fk_interp_net *n) {
  fk_film_free(n->film);
  fk_rife_free(n->rife);
  memset(n, 0, sizeof *n);
}

const char *fk_interp_model(const fk_interp_net *n) {
  return n->rife ? "rife" : "film";
}
fk_nn *fk_interp_backend(const fk_interp_net *n) {
  return n->rife ? fk_rife_backend(n->rife) : fk_film_backend(n->film);
}
fk_nn_dtype fk_interp_dtype(const fk_interp_net *n) {
  return n->rife ? fk_rife_dtype(n->rife) : fk_film_dtype(n->film);
}

size_t fk_interp_bytes(const fk_interp_net *n) {
  return n->rife ? fk_rife_bytes(n->rife) : fk_film_bytes(n->film);
}

void fk_interp_padded(const fk_interp_net *n, int h, int w, int align, int *ph, int *pw) {
  if (n->rife && !align) align = FK_RIFE_ALIGN; /* the least the network takes */
  *ph = align ? (h + align - 1) / align * align : h;
  *pw = align ? (w + align - 1) / align * align : w;
}

double fk_interp_gflop(const fk_interp_net *n, int ph, int pw) {
  return n->rife ? fk_rife_gflop(ph, pw) : fk_film_gflop(ph, pw);
}

/* Copies planar [3, h, w] src into the [3, ph, pw] dst at (top, left);
 * dst is zero elsewhere. */
static void pad_into(const float *src, int h, int w, float *dst, int ph, int pw, int top,
                     int left) {
  memset(dst, 0, (size_t)3 * (size_t)ph * (size_t)pw * sizeof *dst);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      memcpy(dst + ((size_t)c * (size_t)ph + (size_t)(y + top)) * (size_t)pw + (size_t)left,
             src + ((size_t)c * (size_t)h + (size_t)y) * (size_t)w, (size_t)w * sizeof *src);
}

static void crop_from(const float *src, int ph, int pw, int top, int left, float *dst, int h,
                      int w) {
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      memcpy(dst + ((size_t)c * (size_t)h + (size_t)y) * (size_t)w,
             src + ((size_t)c * (size_t)ph + (size_t)(y + top)) * (size_t)pw + (size_t)left,
             (size_t)w * sizeof *src);
}

static int upload(const fk_interp_net *n, const float *v, int h, int w, fk_tensor **t, fk_err *e) {
  int64_t shape[4] = {1, 3, h, w};
  if (fk_tensor_new(fk_interp_backend(n), fk_interp_dtype(n), 4, shape, t, e)) return e->code;
  if (fk_tensor_write(*t, v, e)) {
    fk_tensor_free(*t);
    *t = NULL;
    return e->code;
  }
  return FK_OK;
}

int fk_interp_between(const fk_interp_net *f, const float *x0, const float *x1, int h, int w,
                      float t, int align, float *out, fk_err *e) {
  if (h < 1 || w < 1 || h > 16384 || w > 16384)
    return fk_err_set(e, FK_EUSER, "interpolation: frame size %dx%d is out of range", w, h);
  if (!(t >= 0.0f && t <= 1.0f))
    return fk_err_set(e, FK_EUSER, "interpolation: time %g is outside [0, 1]", (double)t);
  if (align < 0 || align > 1024)
    return fk_err_set(e, FK_EUSER, "interpolation: padding %d is out of range (0..1024)", align);
  if (f->rife && align % FK_RIFE_ALIGN)
    return fk_err_set(e, FK_EUSER, "interpolation: RIFE pads to multiples of %d, not %d",
                      FK_RIFE_ALIGN, align);
  int ph, pw;
  fk_interp_padded(f, h, w, align, &ph, &pw);
  /* FILM: centred, the extra row/column below and right (the original's
   * split); RIFE: all below and right (Practical-RIFE's) */
  int top = f->rife ? 0 : (ph - h) / 2, left = f->rife ? 0 : (pw - w) / 2;
  float *buf = NULL;
  size_t n = (size_t)3 * (size_t)ph * (size_t)pw;
  if ((ph != h || pw != w) && !(buf = fk_alloc(n, sizeof *buf)))
    return fk_err_oom(e, "padded frames", n * sizeof *buf);
  fk_tensor *a = NULL, *b = NULL, *y = NULL;
  int rc = FK_OK;
  if (buf) pad_into(x0, h, w, buf, ph, pw, top, left);
  rc = upload(f, buf ? buf : x0, ph, pw, &a, e);
  if (!rc && buf) pad_into(x1, h, w, buf, ph, pw, top, left);
  if (!rc) rc = upload(f, buf ? buf : x1, ph, pw, &b, e);
  if (!rc)
    rc = f->rife ? fk_rife_forward(f->rife, a, b, t, &y, e)
                 : fk_film_forward(f->film, a, b, t, &y, NULL, e);
  fk_tensor_free(a);
  fk_tensor_free(b);
  if (!rc) rc = fk_tensor_read(y, buf ? buf : out, e);
  fk_tensor_free(y);
  if (!rc && buf) crop_from(buf, ph, pw, top, left, out, h, w);
  free(buf);
  return rc;
}

typedef struct rec {
  const fk_interp_net *f;
  int h, w, align;
  float *const *out;
} rec;

/* Frames at positions lo < i < hi (of 2^depth) from the frames at lo and hi. */
static int midpoints(const rec *r, const float *a, const float *b, int lo, int hi, fk_err *e) {
  if (hi - lo < 2) return FK_OK;
  int mid = (lo + hi) / 2;
  float *m = r->out[mid - 1];
  /* the original recurses on the raw outputs */
  if (fk_interp_between(r->f, a, b, r->h, r->w, 0.5f, r->align, m, e)) return e->code;
  return midpoints(r, a, m, lo, mid, e) || midpoints(r, m, b, mid, hi, e) ? e->code : FK_OK;
}

int fk_interp_midpoints(const fk_interp_net *f, const float *x0, const float *x1, int h, int w,
                        int depth, int align, float *const *out, fk_err *e) {
  if (depth < 1 || depth > 8)
    return fk_err_set(e, FK_EUSER, "interpolation: recursion depth %d is outside 1..8", depth);
  if (f->rife) { /* any time: each frame straight from the two given */
    for (int i = 0; i + 1 < 1 << depth; i++)
      if (fk_interp_between(f, x0, x1, h, w, (float)(i + 1) / (float)(1 << depth), align, out[i],
                            e))
        return e->code;
    return FK_OK;
  }
  rec r = {.f = f, .h = h, .w = w, .align = align, .out = out};
  return midpoints(&r, x0, x1, 0, 1 << depth, e);
}
