/* PNG out through stb_image_write (into memory, then an atomic write);
 * PNG/JPEG/BMP/TGA in through stb_image. */
#include <stb_image.h>
#include <stb_image_write.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "image/image.h"

typedef struct membuf {
  unsigned char *data;
  size_t len, cap;
  int failed;
} membuf;

static void on_write(void *ctx, void *data, int size) {
  membuf *m = ctx;
  if (m->failed || size <= 0) return;
  if (m->len + (size_t)size > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1 << 16;
    while (cap < m->len + (size_t)size) cap *= 2;
    unsigned char *nd = realloc(m->data, cap);
    if (!nd) {
      m->failed = 1;
      return;
    }
    m->data = nd;
    m->cap = cap;
  }
  memcpy(m->data + m->len, data, (size_t)size);
  m->len += (size_t)size;
}

int fk_image_encode_png(const fk_image *img, unsigned char **png, size_t *len, fk_err *e) {
  size_t n = (size_t)img->w * (size_t)img->h * 3;
  unsigned char *rgb = malloc(n);
  if (!rgb) return fk_err_oom(e, "an 8-bit image", n);
  fk_image_to_rgb8(img, rgb);
  membuf m = {0};
  int ok = stbi_write_png_to_func(on_write, &m, img->w, img->h, 3, rgb, img->w * 3);
  free(rgb);
  if (!ok || m.failed) {
    free(m.data);
    return fk_err_set(e, FK_EINTERNAL, "PNG encoding of a %dx%d image failed (out of memory?)",
                      img->w, img->h);
  }
  *png = m.data;
  *len = m.len;
  return FK_OK;
}

int fk_image_save_png(const fk_image *img, const char *path, fk_err *e) {
  unsigned char *png;
  size_t len;
  if (fk_image_encode_png(img, &png, &len, e)) return e->code;
  int rc = fk_file_write_atomic(path, png, len, e);
  free(png);
  return rc;
}

int fk_image_load(const char *path, fk_image *img, fk_err *e) {
  int w, h, n;
  unsigned char *data = stbi_load(path, &w, &h, &n, 3);
  if (!data)
    return fk_err_set(e, FK_EUSER, "cannot read image '%s': %s; use PNG, JPEG, BMP or TGA", path,
                      stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
  if (fk_image_new(img, w, h, e)) {
    stbi_image_free(data);
    return e->code;
  }
  size_t total = (size_t)w * (size_t)h * 3;
  for (size_t i = 0; i < total; i++) img->px[i] = (float)data[i] / 255.0f;
  stbi_image_free(data);
  return FK_OK;
}
