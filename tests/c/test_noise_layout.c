/* Fields drawn through a layout (noise_layout.c) must be bit-identical to
 * fk_noise_field's: radius 0 and wide discs, points on the edges, one bin,
 * odd sizes, the two-thread split; and a layout refuses other settings. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "image/noise.h"

static void one(int w, int h, size_t n, int ppb, double radius, uint64_t seed) {
  float *amps = malloc(n * sizeof *amps);
  for (size_t i = 0; i < n; i++) amps[i] = (float)((i * 7919u) % 101) / 100.0f;
  int scheme = FK_SCHEME_RAINBOW;
  fk_noise_cfg cfg = {.w = w,
                      .h = h,
                      .amps = amps,
                      .n = n,
                      .colour = fk_colour_named,
                      .colour_ctx = &scheme,
                      .seed = seed,
                      .points_per_bin = ppb,
                      .radius = radius,
                      .norm = FK_NORM_FRAME,
                      .background = {0.05f, 0.0f, 0.1f}};
  fk_err e = {0};
  fk_image a = {0}, b = {0};
  fk_noise_layout *l = NULL;
  CHECK(!fk_noise_field(&cfg, &a, &e), "field: %s", e.msg);
  CHECK(!fk_noise_layout_new(&cfg, &l, &e), "layout: %s", e.msg);
  CHECK(!fk_noise_field_layout(l, &cfg, &b, &e), "field from layout: %s", e.msg);
  size_t diff = 0, np = (size_t)w * (size_t)h * 3;
  for (size_t i = 0; a.px && b.px && i < np; i++) diff += memcmp(&a.px[i], &b.px[i], 4) != 0;
  CHECK(a.px && b.px && diff == 0, "%dx%d, %zu bins x %d points, radius %g: %zu values differ", w,
        h, n, ppb, radius, diff);
  /* a second frame with other magnitudes through the same layout */
  for (size_t i = 0; i < n; i++) amps[i] = (float)((i * 31u) % 17) / 16.0f;
  fk_image_free(&a);
  fk_image_free(&b);
  fk_noise_field(&cfg, &a, &e);
  fk_noise_field_layout(l, &cfg, &b, &e);
  diff = 0;
  for (size_t i = 0; a.px && b.px && i < np; i++) diff += memcmp(&a.px[i], &b.px[i], 4) != 0;
  CHECK(diff == 0, "second frame through the layout: %zu values differ", diff);
  cfg.seed++;
  CHECK(!fk_noise_layout_fits(l, &cfg) && fk_noise_field_layout(l, &cfg, &b, &e),
        "a layout refuses another seed");
  fk_image_free(&a);
  fk_image_free(&b);
  fk_noise_layout_free(l);
  free(amps);
}

int main(void) {
  one(64, 48, 12, 30, 0, 7);
  one(64, 48, 12, 30, 1.5, 7);
  one(37, 23, 1, 200, 4.2, 3);     /* discs past every edge */
  one(512, 512, 90, 320, 1.5, 7);  /* the demo's field: two threads */
  one(300, 257, 40, 100, 2.0, 11); /* odd split between the threads */
  one(1, 1, 3, 5, 0, 1);
  return CHECK_DONE();
}
