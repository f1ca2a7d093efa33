/* RIFE v4.6 without torch (the parity against the torch reference is
 * tests/parity/rife_parity.sh): random weights written by
 * fk_rife_write_random load (and are told from FILM's), the weight checks'
 * messages, the CPU reference and Vulkan agree (fp32 < 1e-4, fp16 < 2e-2)
 * at two times, frame-size and time errors, Practical-RIFE's padding
 * (right and below) through fk_interp_between, and fk_interp_midpoints
 * computing each frame at its own time. 64x96 frames; labelled "heavy"
 * (the whole network on the plain C reference: minutes under ASan). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "interp/interp.h"
#include "models/safetensors.h"
#include "nn_test_util.h"

enum { H = 64, W = 96 };

/* Smooth frames, the second shifted: something for the flows to find. */
static void frames(float *a, float *b, int h, int w) {
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        a[(c * h + y) * w + x] = 0.5f + 0.4f * sinf(0.15f * x + 0.2f * y + (float)c);
        b[(c * h + y) * w + x] = 0.5f + 0.4f * sinf(0.15f * (x - 3) + 0.2f * (y - 2) + (float)c);
      }
}

static void messages(fk_nn *nn, const char *dir) {
  char p[4200];
  fk_err e = {0};
  fk_rife *r = NULL;
  /* FILM's weights are not RIFE's: the first missing tensor is named */
  const char *src = getenv("SRC");
  snprintf(p, sizeof p, "%.2000s/../shared/golden/film/film-random.safetensors", src ? src : ".");
  CHECK(fk_rife_load(nn, p, 0, &r, &e) == FK_EUSER && !r, "FILM weights load as RIFE");
  CHECK(strstr(e.msg, "'block0.conv0.0.0.weight' [96, 7, 3, 3] is missing"), "message: %s", e.msg);
  /* a tensor of another shape (v4.7's wider block 0): both shapes */
  snprintf(p, sizeof p, "%s/rife-wrong.safetensors", dir);
  static float w[96 * 15 * 9];
  int64_t shape[4] = {96, 15, 3, 3};
  fk_st_desc d = {"block0.conv0.0.0.weight", FK_ST_F32, 4, shape, w};
  CHECK(fk_st_write(p, &d, 1, NULL, 0, &e) == 0, "write: %s", e.msg);
  CHECK(fk_rife_load(nn, p, 0, &r, &e) == FK_EUSER && !r, "a wrong shape loads");
  CHECK(strstr(e.msg, "has shape [96, 15, 3, 3], expected [96, 7, 3, 3]"), "message: %s", e.msg);
}

/* The network on both backends at two times. */
static void backends(const fk_interp_net *cpu, const fk_interp_net *gpu, const fk_interp_net *g16,
                     const float *a, const float *b, float *mid) {
  static float c[3 * H * W], g[3 * H * W];
  static const float times[2] = {0.5f, 0.2f};
  fk_err e = {0};
  for (int i = 0; i < 2; i++) {
    float t = times[i];
    CHECK(fk_interp_between(cpu, a, b, H, W, t, 0, i ? c : mid, &e) == 0, "cpu: %s", e.msg);
    CHECK(fk_interp_between(gpu, a, b, H, W, t, 0, g, &e) == 0, "vulkan: %s", e.msg);
    double r = test_rel_err(g, i ? c : mid, 3 * H * W);
    printf("vulkan fp32 vs cpu, t = %.1f: relative error %.3g\n", (double)t, r);
    CHECK(r < 1e-4, "vulkan fp32 vs cpu at t = %.1f: %.3g", (double)t, r);
    CHECK(fk_interp_between(g16, a, b, H, W, t, 0, g, &e) == 0, "vulkan f16: %s", e.msg);
    r = test_rel_err(g, i ? c : mid, 3 * H * W);
    printf("vulkan %s vs cpu, t = %.1f: relative error %.3g\n",
           fk_interp_dtype(g16) == FK_NN_F16 ? "fp16" : "(no fp16)", (double)t, r);
    CHECK(r < 2e-2, "vulkan fp16 vs cpu at t = %.1f: %.3g", (double)t, r);
  }
  /* the output moved away from both inputs: the flows did something */
  double d0 = test_rel_err(a, mid, 3 * H * W), d1 = test_rel_err(b, mid, 3 * H * W);
  CHECK(d0 > 1e-2 && d1 > 1e-2, "midpoint too close to an input (%.3g, %.3g)", d0, d1);
}

/* 50x84 with pad 64 is the 64x96 frame padded by hand (right and below),
 * cropped; bad sizes, paddings and times are refused. */
static void padding(const fk_interp_net *n) {
  enum { h = 50, w = 84 };
  static float a[3 * h * w], b[3 * h * w], out[3 * h * w], mids[3][3 * h * w];
  static float zpa[3 * H * W], zpb[3 * H * W], zmid[3 * H * W];
  frames(a, b, h, w);
  memset(zpa, 0, sizeof zpa);
  memset(zpb, 0, sizeof zpb);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        zpa[(c * H + y) * W + x] = a[(c * h + y) * w + x];
        zpb[(c * H + y) * W + x] = b[(c * h + y) * w + x];
      }
  fk_err e = {0};
  CHECK(fk_interp_between(n, zpa, zpb, H, W, 0.5f, 0, zmid, &e) == 0, "64x96: %s", e.msg);
  CHECK(fk_interp_between(n, a, b, h, w, 0.5f, 32, out, &e) == 0, "50x84 pad 32: %s", e.msg);
  double worst = 0;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        double d = fabs(out[(c * h + y) * w + x] - zmid[(c * H + y) * W + x]);
        worst = d > worst ? d : worst;
      }
  CHECK(worst < 1e-5, "pad 32 differs from padding by hand by %.3g", worst);
  CHECK(fk_interp_between(n, a, b, h, w, 0.5f, 48, out, &e) == FK_EUSER, "pad 48 accepted");
  CHECK(strstr(e.msg, "multiples of 32"), "message: %s", e.msg);
  CHECK(fk_interp_between(n, a, b, h, w, 1.5f, 64, out, &e) == FK_EUSER, "t = 1.5 accepted");
  /* midpoints: each frame at its own time, the middle one t = 0.5 */
  float *const outs[3] = {mids[0], mids[1], mids[2]};
  CHECK(fk_interp_midpoints(n, a, b, h, w, 2, 32, outs, &e) == 0, "midpoints: %s", e.msg);
  CHECK(fk_interp_between(n, a, b, h, w, 0.5f, 32, out, &e) == 0, "again: %s", e.msg);
  CHECK(memcmp(mids[1], out, sizeof out) == 0, "the middle midpoint is not the t = 0.5 frame");
  CHECK(fk_interp_between(n, a, b, h, w, 0.25f, 32, out, &e) == 0, "t = 0.25: %s", e.msg);
  CHECK(memcmp(mids[0], out, sizeof out) == 0, "the first midpoint is not the t = 0.25 frame");
}

/* fk_rife_forward itself wants sides that are multiples of 32. */
static void sizes(fk_rife *r) {
  fk_err e = {0};
  fk_tensor *x = NULL, *y = NULL;
  int64_t shape[4] = {1, 3, 48, 64};
  CHECK(fk_tensor_new(fk_rife_backend(r), fk_rife_dtype(r), 4, shape, &x, &e) == 0, "%s", e.msg);
  CHECK(fk_rife_forward(r, x, x, 0.5f, &y, &e) == FK_EUSER && !y, "48x64 accepted");
  CHECK(strstr(e.msg, "multiples of 32"), "message: %s", e.msg);
  fk_tensor_free(x);
}

int main(void) {
  const char *tmp = getenv("TMP");
  char dir[4096], p[4200];
  snprintf(dir, sizeof dir, "%.4000s", tmp ? tmp : "/tmp");
  fk_err e = {0};
  fk_file_mkdirs(dir, &e);
  snprintf(p, sizeof p, "%s/rife-random.safetensors", dir);
  if (fk_rife_write_random(p, 3, &e)) {
    CHECK(0, "random weights: %s", e.msg);
    return CHECK_DONE();
  }
  fk_nn *cpu, *gpu;
  if (test_backends(&cpu, &gpu)) return 1;
  messages(cpu, dir);
  fk_interp_net nc = {0}, ng = {0}, nh = {0};
  CHECK(fk_interp_load(cpu, p, 0, &nc, &e) == 0, "cpu load: %s", e.msg);
  CHECK(fk_interp_load(gpu, p, 0, &ng, &e) == 0, "vulkan load: %s", e.msg);
  CHECK(fk_interp_load(gpu, p, 1, &nh, &e) == 0, "vulkan f16 load: %s", e.msg);
  if (nc.rife && ng.rife && nh.rife) {
    CHECK(!strcmp(fk_interp_model(&nc), "rife"), "RIFE weights load as %s", fk_interp_model(&nc));
    static float a[3 * H * W], b[3 * H * W], mid[3 * H * W];
    frames(a, b, H, W);
    backends(&nc, &ng, &nh, a, b, mid);
    padding(&nc);
    sizes(nc.rife);
  }
  fk_interp_free(&nc);
  fk_interp_free(&ng);
  fk_interp_free(&nh);
  return test_finish(cpu, gpu);
}
