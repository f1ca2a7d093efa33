/* fk_interp_*: pad = 64 crops back to the frame's size and gives what
 * padding by hand gives, frames under 64x64 need padding, recursive
 * midpoints, bad times, odd sizes unpadded. On Vulkan (lavapipe) only:
 * five forward passes: labelled "heavy" (the main build only). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/film.h"
#include "interp/interp.h"
#include "nn_test_util.h"

/* pad = 64 on a frame that is not a multiple of 64 keeps its size and
 * gives the frame that padding by hand gives; recursive midpoints put the
 * midpoint in the middle. 50x60 pads to 64x64, the goldens' size. */
static void padding(const fk_interp_net *f, const char *what) {
  enum { H = 50, W = 60, P = 64, TOP = 7, LEFT = 2 };
  static float a[3 * H * W], b[3 * H * W], out[3 * H * W], mids[3][3 * H * W];
  static float pa[3 * P * P], pb[3 * P * P], po[3 * P * P];
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        float va = 0.5f + 0.4f * sinf(0.2f * x + 0.3f * y + (float)c);
        float vb = 0.5f + 0.4f * sinf(0.2f * (x - 2) + 0.3f * (y - 1) + (float)c);
        a[(c * H + y) * W + x] = pa[(c * P + y + TOP) * P + x + LEFT] = va;
        b[(c * H + y) * W + x] = pb[(c * P + y + TOP) * P + x + LEFT] = vb;
      }
  fk_err e = {0};
  CHECK(fk_interp_between(f, a, b, H, W, 0.5f, 0, out, &e) == FK_EUSER, "%s: 50x60 unpadded", what);
  CHECK(strstr(e.msg, "too small"), "message: %s", e.msg);
  CHECK(fk_interp_between(f, a, b, H, W, 1.5f, 64, out, &e) == FK_EUSER, "%s: t = 1.5", what);
  CHECK(fk_interp_between(f, pa, pb, P, P, 0.5f, 0, po, &e) == 0, "%s: 64x64: %s", what, e.msg);
  float *const outs[3] = {mids[0], mids[1], mids[2]};
  CHECK(fk_interp_midpoints(f, a, b, H, W, 2, 64, outs, &e) == 0, "%s: midpoints: %s", what, e.msg);
  double worst = 0, d01 = 0;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        size_t i = (size_t)(c * H + y) * W + x;
        double d = fabs(po[(c * P + y + TOP) * P + x + LEFT] - mids[1][i]);
        worst = d > worst ? d : worst;
        d01 += fabs(mids[0][i] - mids[1][i]) + fabs(mids[2][i] - mids[1][i]);
      }
  CHECK(worst < 1e-5, "%s: pad 64 differs from padding by hand by %.3g", what, worst);
  CHECK(d01 > 0 && isfinite(d01), "%s: the quarter frames differ from the midpoint", what);
  /* pad = false at odd sizes: levels floor-halve (67 -> 33 -> 16 ...) and
   * flows are resized to each finer level's exact size */
  enum { OH = 67, OW = 65 };
  static float oa[3 * OH * OW], ob[3 * OH * OW], oo[3 * OH * OW];
  for (int i = 0; i < 3 * OH * OW; i++) {
    oa[i] = 0.5f + 0.4f * sinf(0.37f * (float)i);
    ob[i] = 0.5f + 0.4f * sinf(0.37f * (float)(i + 2));
  }
  CHECK(fk_interp_between(f, oa, ob, OH, OW, 0.5f, 0, oo, &e) == 0, "%s: 65x67 unpadded: %s", what,
        e.msg);
  double so = 0;
  for (int i = 0; i < 3 * OH * OW; i++) so += oo[i];
  CHECK(isfinite(so) && so != 0, "%s: 65x67 unpadded output finite", what);
  (void)out;
}

int main(void) {
  const char *src = getenv("SRC");
  char p[4096];
  snprintf(p, sizeof p, "%.2000s/../shared/golden/film/film-random.safetensors", src ? src : ".");
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return 1;
  fk_err e = {0};
  fk_interp_net n = {0};
  CHECK(fk_interp_load(gpu, p, 0, &n, &e) == 0, "load: %s", e.msg);
  CHECK(!strcmp(fk_interp_model(&n), "film"), "FILM weights load as %s", fk_interp_model(&n));
  if (n.film) padding(&n, "vulkan fp32");
  fk_interp_free(&n);
  return test_finish(cpu, gpu);
}
