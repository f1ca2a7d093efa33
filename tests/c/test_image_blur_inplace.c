/* fk_image_blur in place (dst == src) writes over the source rows as it
 * goes, the two threads sharing copies of the rows around their boundary:
 * it must give exactly the pixels of the blur into a new image, for one
 * thread and two, kernels wider than a thread's rows included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "image/image.h"

static void one(int w, int h, double sigma) {
  fk_err e = {0};
  fk_image img, out;
  if (fk_image_new(&img, w, h, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  uint64_t s = (uint64_t)w * 7919u + (uint64_t)h;
  for (size_t i = 0; i < (size_t)w * h * 3; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    img.px[i] = (float)((s >> 40) % 1000) / 999.0f;
  }
  CHECK(!fk_image_blur(&img, &out, sigma, &e), "blur: %s", e.msg);
  CHECK(!fk_image_blur(&img, &img, sigma, &e), "in place: %s", e.msg);
  CHECK(img.w == w && img.h == h, "in place keeps the size %dx%d", w, h);
  size_t diff = 0, n = (size_t)w * h * 3;
  for (size_t i = 0; i < n; i++) diff += memcmp(&img.px[i], &out.px[i], sizeof(float)) != 0;
  CHECK(diff == 0, "%dx%d sigma %g: in place differs in %zu values", w, h, sigma, diff);
  fk_image_free(&img);
  fk_image_free(&out);
}

int main(void) {
  one(1, 1, 2.0);
  one(37, 23, 2.0);   /* one thread */
  one(512, 512, 2.0); /* two threads: the bench's size */
  one(300, 257, 3.5); /* odd row split */
  one(8192, 8, 2.0);  /* two threads of 4 rows, kernel radius 8 */
  one(256, 256, 40);  /* radius 160: the boundary copies cover most rows */
  return CHECK_DONE();
}
