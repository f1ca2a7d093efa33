/* Colour adjustments of the follow-up recipe: desaturate and autocontrast. */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void fk_image_desaturate(fk_image *img, double amount) {
  size_t n = (size_t)img->w * (size_t)img->h;
  float a = (float)amount;
  for (size_t i = 0; i < n; i++) {
    float *p = img->px + 3 * i;
    float l = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    p[0] += (l - p[0]) * a;
    p[1] += (l - p[1]) * a;
    p[2] += (l - p[2]) * a;
  }
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* With cutoff 0 the exact minimum and maximum are used; otherwise the
 * values `cutoff` of the way in from each end of the sorted channel (PIL
 * cuts the same share of pixels from its 8-bit histogram). */
void fk_image_autocontrast(fk_image *img, double cutoff) {
  size_t n = (size_t)img->w * (size_t)img->h;
  float *sorted = cutoff > 0 ? malloc(n * sizeof *sorted) : NULL;
  for (int c = 0; c < 3; c++) {
    float lo, hi;
    if (sorted) {
      for (size_t i = 0; i < n; i++) sorted[i] = img->px[3 * i + c];
      qsort(sorted, n, sizeof *sorted, cmp_float);
      size_t cut = (size_t)(cutoff * (double)n);
      if (cut >= n / 2) cut = n ? (n - 1) / 2 : 0;
      lo = sorted[cut];
      hi = sorted[n - 1 - cut];
    } else {
      lo = hi = img->px[c];
      for (size_t i = 1; i < n; i++) {
        float v = img->px[3 * i + c];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
    }
    if (!(hi > lo)) continue; /* a flat channel stays as it is */
    float scale = 1.0f / (hi - lo);
    for (size_t i = 0; i < n; i++) {
      float v = (img->px[3 * i + c] - lo) * scale;
      img->px[3 * i + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  free(sorted);
}
