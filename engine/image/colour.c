/* Named colour schemes: a bin's colour at full lightness. Ramps start
 * above black so that quiet-but-present bins stay visible once lit. */
#include "image/colour.h"

#include <math.h>
#include <string.h>

static const char *const NAMES[] = {"rainbow", "fire", "ice", "mono"};

int fk_colour_scheme_find(const char *name) {
  for (int i = 0; i < 4; i++)
    if (!strcmp(name, NAMES[i])) return i;
  return -1;
}

const char *fk_colour_scheme_names(void) {
  return "rainbow, fire, ice, mono";
}

void fk_colour_hsv(double h, double s, double v, float rgb[3]) {
  h = h - floor(h);
  double f = h * 6.0;
  int i = (int)f % 6;
  double fr = f - floor(f), p = v * (1 - s), q = v * (1 - s * fr), t = v * (1 - s * (1 - fr));
  double r, g, b;
  switch (i) {
  case 0: r = v, g = t, b = p; break;
  case 1: r = q, g = v, b = p; break;
  case 2: r = p, g = v, b = t; break;
  case 3: r = p, g = q, b = v; break;
  case 4: r = t, g = p, b = v; break;
  default: r = v, g = p, b = q; break;
  }
  rgb[0] = (float)r;
  rgb[1] = (float)g;
  rgb[2] = (float)b;
}

static float clamp01(double v) {
  return (float)(v < 0 ? 0 : v > 1 ? 1 : v);
}

int fk_colour_named(void *ctx, size_t bin, size_t count, float rgb[3]) {
  double t = count > 1 ? (double)bin / (double)(count - 1) : 0.0;
  switch (*(const int *)ctx) {
  case FK_SCHEME_RAINBOW: /* red (bass) through to violet (treble) */
    fk_colour_hsv(t * 5.0 / 6.0, 1.0, 1.0, rgb);
    break;
  case FK_SCHEME_FIRE: { /* dark red, red, orange, yellow, white */
    double u = 0.25 + 0.75 * t;
    rgb[0] = clamp01(u * 3.0);
    rgb[1] = clamp01(u * 3.0 - 1.0);
    rgb[2] = clamp01(u * 3.0 - 2.0);
    break;
  }
  case FK_SCHEME_ICE: { /* deep blue, cyan, white */
    double u = 0.2 + 0.8 * t;
    rgb[0] = clamp01(u * 2.0 - 1.0);
    rgb[1] = clamp01(u * 1.6 - 0.3);
    rgb[2] = clamp01(0.5 + u);
    break;
  }
  default: rgb[0] = rgb[1] = rgb[2] = 1.0f; break;
  }
  return 0;
}
