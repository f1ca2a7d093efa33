/* Vector drawing used by recipes: the pie-slice spectrum of the follow-up
 * recipe (each bin a wedge around the centre, radius by magnitude). */
#ifndef FK_IMAGE_DRAW_H
#define FK_IMAGE_DRAW_H

#include "image/colour.h"
#include "image/image.h"

typedef struct fk_pie_cfg {
  int w, h;
  const float *values; /* lightness/extent per slice in [0, 1] (already normalised) */
  size_t n;
  fk_colour_fn colour;
  void *colour_ctx;
  double inner;    /* inner radius as a fraction of the outer (0 = from the centre) */
  double rotation; /* start angle in turns (0 = up, clockwise) */
  int extent;      /* 1: wedge length by value (full colour); 0: full wedges lit by value */
  float background[3];
} fk_pie_cfg;

int fk_draw_pie(const fk_pie_cfg *cfg, fk_image *img, fk_err *e);

#endif
