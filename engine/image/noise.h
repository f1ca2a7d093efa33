/* Noise fields: the technique's init images. Every bin's magnitude is drawn
 * as points at positions from a seeded 64-bit hash of (seed, bin, point),
 * coloured by the bin and lit by the magnitude. */
#ifndef FK_IMAGE_NOISE_H
#define FK_IMAGE_NOISE_H

#include "image/colour.h"
#include "image/image.h"

typedef enum {
  FK_NORM_FRAME,  /* divide by this frame's largest magnitude */
  FK_NORM_GLOBAL, /* divide by the song's largest magnitude (`peak`) */
  FK_NORM_DB,     /* 20 log10(a / frame max) mapped from [db_min, db_max] to [0, 1] */
  FK_NORM_NONE,   /* values used as they are, clamped to [0, 1] */
} fk_norm_mode;

/* Points hashed and sorted by row for one set of position settings (size,
 * bins, seed, points per bin): fields drawn again with the same ones, as
 * every frame of a render is, reuse them instead of hashing again. Owned by
 * the caller, zeroed before first use; only fields of up to 65536 points
 * are kept. */
typedef struct fk_noise_cache {
  int w, h, points_per_bin;
  size_t n;
  uint64_t seed;
  void *sorted;    /* the points, by row */
  size_t *row_end; /* row_end[y]: end of row y's points */
  int valid;
} fk_noise_cache;
void fk_noise_cache_free(fk_noise_cache *c);

typedef struct fk_noise_cfg {
  int w, h;
  const float *amps; /* magnitudes, one per bin */
  size_t n;
  fk_colour_fn colour; /* bin colour at full lightness */
  void *colour_ctx;
  uint64_t seed;
  int points_per_bin; /* >= 1 */
  double radius;      /* point radius in pixels; 0 = single pixel */
  fk_norm_mode norm;
  double peak; /* for FK_NORM_GLOBAL */
  double db_min, db_max;
  float background[3];
  fk_noise_cache *cache; /* NULL: points hashed and sorted on every call */
} fk_noise_cfg;

/* Draws into img (allocated by the call). Overlapping points keep the
 * brighter value per channel, so dense bins do not saturate to white. */
int fk_noise_field(const fk_noise_cfg *cfg, fk_image *img, fk_err *e);
/* Magnitude to lightness in [0, 1] under the cfg's normalisation. */
void fk_noise_normalise(const fk_noise_cfg *cfg, float *out);

#endif
