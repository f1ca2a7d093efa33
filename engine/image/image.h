/* Images: float RGB, interleaved, rows top to bottom, values nominally in
 * [0, 1]. The limits keep a single allocation reasonable and are what the
 * renderer promises users. */
#ifndef FK_IMAGE_IMAGE_H
#define FK_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define FK_IMAGE_MAX_SIDE 8192

typedef struct fk_image {
  int w, h;
  float *px; /* w * h * 3 floats */
} fk_image;

/* Checks w, h against 1..FK_IMAGE_MAX_SIDE with a message naming `what`. */
int fk_image_check_size(int w, int h, const char *what, fk_err *e);
int fk_image_new(fk_image *img, int w, int h, fk_err *e); /* black */
int fk_image_new_filled(fk_image *img, int w, int h, const float rgb[3], fk_err *e);
int fk_image_new_unset(fk_image *img, int w, int h, fk_err *e); /* contents undefined */
int fk_image_copy(const fk_image *src, fk_image *dst, fk_err *e);
void fk_image_free(fk_image *img);
void fk_image_fill(fk_image *img, float r, float g, float b);

/* Separable Gaussian blur, sigma in pixels, boundary mode 'nearest',
 * kernel truncated at radius floor(4*sigma + 0.5): the same numbers as
 * scipy.ndimage.gaussian_filter(img, (sigma, sigma, 0), mode='nearest').
 * dst may equal src, which is faster: the result is written over the
 * source rows while they are still in cache. sigma <= 0 copies. */
int fk_image_blur(const fk_image *src, fk_image *dst, double sigma, fk_err *e);
/* The normalised Gaussian weights of every blur here and on the GPU:
 * 2 * radius + 1 values, radius = floor(4 sigma + 0.5), sigma in (0, 1000]. */
int fk_image_gauss_weights(double sigma, float **w, int *radius, fk_err *e);
/* Luma (ITU-R 601: 0.299 R + 0.587 G + 0.114 B) into all three channels,
 * mixed with the original by amount (1 = fully grey). */
void fk_image_desaturate(fk_image *img, double amount);
/* Per channel: stretch [min, max] to [0, 1], ignoring `cutoff` (0..0.5) of the
 * pixels at each end, as PIL's ImageOps.autocontrast does. */
void fk_image_autocontrast(fk_image *img, double cutoff);
void fk_image_clamp(fk_image *img);

/* PNG (8-bit RGB) written atomically; load reads PNG/JPEG/BMP/TGA via stb. */
int fk_image_save_png(const fk_image *img, const char *path, fk_err *e);
int fk_image_encode_png(const fk_image *img, unsigned char **png, size_t *len, fk_err *e);
int fk_image_load(const char *path, fk_image *img, fk_err *e);
/* Quantises to 8-bit RGB, rounding to nearest (out has w*h*3 bytes). */
void fk_image_to_rgb8(const fk_image *img, unsigned char *out);

#endif
