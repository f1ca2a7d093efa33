#include "image/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fk_image_check_size(int w, int h, const char *what, fk_err *e) {
  if (w < 1 || h < 1 || w > FK_IMAGE_MAX_SIDE || h > FK_IMAGE_MAX_SIDE)
    return fk_err_set(e, FK_EUSER, "%s %dx%d is outside 1..%d pixels per side", what, w, h,
                      FK_IMAGE_MAX_SIDE);
  return FK_OK;
}

int fk_image_new(fk_image *img, int w, int h, fk_err *e) {
  img->w = img->h = 0;
  img->px = NULL;
  if (fk_image_check_size(w, h, "image size", e)) return e->code;
  size_t n = (size_t)w * (size_t)h * 3;
  img->px = fk_zalloc(n, sizeof(float));
  if (!img->px) return fk_err_oom(e, "an image", n * sizeof(float));
  img->w = w;
  img->h = h;
  return FK_OK;
}

int fk_image_new_unset(fk_image *img, int w, int h, fk_err *e) {
  img->w = img->h = 0;
  img->px = NULL;
  if (fk_image_check_size(w, h, "image size", e)) return e->code;
  size_t n = (size_t)w * (size_t)h * 3;
  img->px = fk_alloc(n, sizeof(float));
  if (!img->px) return fk_err_oom(e, "an image", n * sizeof(float));
  img->w = w;
  img->h = h;
  return FK_OK;
}

int fk_image_new_filled(fk_image *img, int w, int h, const float rgb[3], fk_err *e) {
  if (fk_image_new_unset(img, w, h, e)) return e->code;
  fk_image_fill(img, rgb[0], rgb[1], rgb[2]);
  return FK_OK;
}

int fk_image_copy(const fk_image *src, fk_image *dst, fk_err *e) {
  if (fk_image_new(dst, src->w, src->h, e)) return e->code;
  memcpy(dst->px, src->px, (size_t)src->w * (size_t)src->h * 3 * sizeof(float));
  return FK_OK;
}

void fk_image_free(fk_image *img) {
  free(img->px);
  img->px = NULL;
  img->w = img->h = 0;
}

void fk_image_fill(fk_image *img, float r, float g, float b) {
  size_t n = (size_t)img->w * (size_t)img->h;
  for (size_t i = 0; i < n; i++) {
    img->px[3 * i] = r;
    img->px[3 * i + 1] = g;
    img->px[3 * i + 2] = b;
  }
}

void fk_image_clamp(fk_image *img) {
  size_t n = (size_t)img->w * (size_t)img->h * 3;
  for (size_t i = 0; i < n; i++) {
    float v = img->px[i];
    img->px[i] = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN becomes 0 */
  }
}

void fk_image_to_rgb8(const fk_image *img, unsigned char *out) {
  size_t n = (size_t)img->w * (size_t)img->h * 3;
  for (size_t i = 0; i < n; i++) {
    float v = img->px[i];
    v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
    out[i] = (unsigned char)lrintf(v * 255.0f);
  }
}
