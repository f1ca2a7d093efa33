/* The noise-field blur three ways: engine/image's vectorised CPU blur,
 * the CPU reference kernel and the Vulkan kernel (validation on) agree
 * within 1e-5 on images from 1x1 to 300x200, odd sizes included. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "nn_test_util.h"
#include "image/image.h"
#include "nn/backend.h"

static void one(fk_nn *cpu, fk_nn *gpu, int w, int h, double sigma) {
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
  CHECK(!fk_image_blur(&img, &out, sigma, &e), "image blur: %s", e.msg);
  int64_t shape[3] = {h, w, 3};
  size_t n = (size_t)w * h * 3;
  float *got = malloc(n * sizeof *got);
  fk_nn *nns[2] = {cpu, gpu};
  for (int d = 0; d < 2; d++) {
    fk_tensor *x, *y;
    CHECK(!fk_tensor_new(nns[d], FK_NN_F32, 3, shape, &x, &e) &&
              !fk_tensor_new(nns[d], FK_NN_F32, 3, shape, &y, &e) &&
              !fk_tensor_write(x, img.px, &e) && !fk_nn_blur(nns[d], x, y, sigma, &e) &&
              !fk_tensor_read(y, got, &e),
          "nn blur: %s", e.msg);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - out.px[i]));
    CHECK(worst <= 1e-5, "%s blur %dx%d sigma %g differs by %g", d ? "vulkan" : "cpu reference", w,
          h, sigma, worst);
    fk_tensor_free(x);
    fk_tensor_free(y);
  }
  /* in place gives the same pixels */
  CHECK(!fk_image_blur(&img, &img, sigma, &e), "in place: %s", e.msg);
  int diff = 0;
  for (size_t i = 0; i < n; i++) diff += img.px[i] != out.px[i];
  CHECK(diff == 0, "in-place blur differs in %d values", diff);
  free(got);
  fk_image_free(&img);
  fk_image_free(&out);
}

int main(void) {
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return CHECK_DONE();
  one(cpu, gpu, 1, 1, 1.0);
  one(cpu, gpu, 7, 5, 0.7);
  one(cpu, gpu, 37, 23, 2.0);
  one(cpu, gpu, 300, 200, 2.0); /* two threads, vector blocks and tails */
  one(cpu, gpu, 257, 256, 3.5);
  fk_err bad = {0};
  fk_image tiny, o;
  fk_image_new(&tiny, 2, 2, &bad);
  CHECK(fk_image_blur(&tiny, &o, 2000, &bad) == FK_EUSER, "sigma over 1000 refused");
  fk_image_free(&tiny);
  return test_finish(cpu, gpu);
}
