/* Noise fields drawn through a point cache (as funky.noise.field and bench
 * audio draw them) must be exactly the fields drawn without one, whatever
 * settings came before: the cache is refilled when the positions' settings
 * change, kept when only the amplitudes, colours or radius do, and not used
 * for fields of more than 65536 points. */
#include <string.h>

#include "check.h"
#include "image/noise.h"

typedef struct {
  int w, h, ppb;
  size_t n;
  uint64_t seed;
  double radius;
} settings;

static void one(fk_noise_cache *cache, const settings *s, int frame) {
  float amps[200];
  for (size_t b = 0; b < s->n; b++) amps[b] = (float)((b * 37 + (size_t)frame * 11) % 100) + 1.0f;
  int scheme = FK_SCHEME_RAINBOW;
  fk_noise_cfg cfg = {.w = s->w,
                      .h = s->h,
                      .amps = amps,
                      .n = s->n,
                      .colour = fk_colour_named,
                      .colour_ctx = &scheme,
                      .seed = s->seed,
                      .points_per_bin = s->ppb,
                      .radius = s->radius,
                      .norm = FK_NORM_DB,
                      .db_min = -48,
                      .db_max = 0,
                      .background = {0.1f, 0.2f, 0.3f}};
  fk_err e = {0};
  fk_image direct = {0}, cached = {0};
  CHECK(!fk_noise_field(&cfg, &direct, &e), "direct: %s", e.msg);
  cfg.cache = cache;
  CHECK(!fk_noise_field(&cfg, &cached, &e), "cached: %s", e.msg);
  size_t n = (size_t)s->w * (size_t)s->h * 3;
  CHECK(direct.px && cached.px && !memcmp(direct.px, cached.px, n * sizeof(float)),
        "%dx%d seed %llu, %zu bins x %d, radius %g, frame %d: the cached field differs", s->w, s->h,
        (unsigned long long)s->seed, s->n, s->ppb, s->radius, frame);
  size_t total = s->n * (size_t)s->ppb;
  if (total <= 65536)
    CHECK(cache->valid && cache->w == s->w && cache->h == s->h && cache->n == s->n &&
              cache->seed == s->seed && cache->points_per_bin == s->ppb,
          "a field of %zu points is not what the cache holds", total);
  fk_image_free(&direct);
  fk_image_free(&cached);
}

int main(void) {
  const settings seq[] = {
      {512, 512, 320, 90, 7, 1.5}, /* the demo's */
      {512, 512, 320, 90, 7, 1.5}, /* again: points from the cache */
      {512, 512, 320, 90, 7, 4.3}, /* another radius: same points */
      {512, 512, 320, 90, 8, 1.5}, /* another seed */
      {512, 512, 320, 90, 7, 1.5}, /* and back */
      {300, 17, 50, 90, 7, 0},     /* another size */
      {300, 17, 51, 90, 7, 0},     /* more points per bin */
      {300, 17, 51, 91, 7, 0},     /* another bin */
      {7, 5, 3, 2, 7, 2},          /* tiny */
      {512, 512, 1000, 90, 7, 1},  /* 90000 points: not cached */
      {7, 5, 3, 2, 7, 2},          /* tiny again after it */
      {1, 1, 1, 0, 7, 0},          /* no bins */
  };
  fk_noise_cache cache = {0};
  for (size_t i = 0; i < sizeof seq / sizeof *seq; i++) one(&cache, &seq[i], (int)i);
  fk_noise_cache_free(&cache);
  return CHECK_DONE();
}
