/* Colour schemes: bin number -> RGB at full lightness. */
#ifndef FK_IMAGE_COLOUR_H
#define FK_IMAGE_COLOUR_H

#include <stddef.h>

/* Returns 0 and fills rgb (each in [0, 1]); nonzero aborts the drawing
 * (a Lua scheme that raised). */
typedef int (*fk_colour_fn)(void *ctx, size_t bin, size_t count, float rgb[3]);

typedef enum { FK_SCHEME_RAINBOW, FK_SCHEME_FIRE, FK_SCHEME_ICE, FK_SCHEME_MONO } fk_scheme;

/* Finds a named scheme; returns -1 for an unknown name. */
int fk_colour_scheme_find(const char *name);
const char *fk_colour_scheme_names(void); /* "rainbow, fire, ice, mono" */
/* fk_colour_fn for a named scheme; ctx points to an fk_scheme. */
int fk_colour_named(void *ctx, size_t bin, size_t count, float rgb[3]);
void fk_colour_hsv(double h, double s, double v, float rgb[3]);

#endif
