/* PNG out (our own small encoder over zlib, then an atomic write);
 * PNG/JPEG/BMP/TGA in through stb_image. */
#include <stb_image.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/file.h"
#include "image/image.h"

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Appends a chunk (length, type, data, CRC of type + data) at *at. */
static void chunk(unsigned char *out, size_t *at, const char *type, const unsigned char *data,
                  size_t len) {
  unsigned char *p = out + *at;
  put32(p, (uint32_t)len);
  memcpy(p + 4, type, 4);
  if (len) memcpy(p + 8, data, len);
  uLong crc = crc32(0L, p + 4, (uInt)(len + 4));
  put32(p + 8 + len, (uint32_t)crc);
  *at += len + 12;
}

/* 8-bit RGB PNG, no row filters, zlib at its fastest level: frames are
 * written hundreds at a time, and noise fields barely compress anyway. */
int fk_image_encode_png(const fk_image *img, unsigned char **png, size_t *len, fk_err *e) {
  const size_t row = (size_t)img->w * 3, raw_len = (row + 1) * (size_t)img->h;
  unsigned char *raw = malloc(raw_len);
  uLongf zlen = compressBound((uLong)raw_len);
  unsigned char *out = malloc((size_t)zlen + 64);
  if (!raw || !out) {
    free(raw);
    free(out);
    return fk_err_oom(e, "a PNG", raw_len);
  }
  unsigned char *rgb = raw;                    /* quantise in place, then open one byte per row */
  fk_image_to_rgb8(img, rgb + (size_t)img->h); /* leaves room for the filter bytes */
  for (size_t y = 0; y < (size_t)img->h; y++) {
    memmove(raw + y * (row + 1) + 1, rgb + (size_t)img->h + y * row, row);
    raw[y * (row + 1)] = 0; /* filter type: none */
  }
  static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  memcpy(out, sig, 8);
  size_t at = 8;
  unsigned char ihdr[13];
  put32(ihdr, (uint32_t)img->w);
  put32(ihdr + 4, (uint32_t)img->h);
  ihdr[8] = 8;  /* bits per sample */
  ihdr[9] = 2;  /* RGB */
  ihdr[10] = 0; /* deflate */
  ihdr[11] = 0; /* adaptive filtering */
  ihdr[12] = 0; /* no interlace */
  chunk(out, &at, "IHDR", ihdr, 13);
  /* IDAT data goes straight after its 8-byte header */
  uLongf dlen = zlen;
  int zr = compress2(out + at + 8, &dlen, raw, (uLong)raw_len, Z_BEST_SPEED);
  free(raw);
  if (zr != Z_OK) {
    free(out);
    return fk_err_set(e, FK_EINTERNAL, "PNG compression failed (zlib error %d)", zr);
  }
  unsigned char *p = out + at;
  put32(p, (uint32_t)dlen);
  memcpy(p + 4, "IDAT", 4);
  put32(p + 8 + dlen, (uint32_t)crc32(0L, p + 4, (uInt)(dlen + 4)));
  at += (size_t)dlen + 12;
  chunk(out, &at, "IEND", NULL, 0);
  *png = out;
  *len = at;
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
