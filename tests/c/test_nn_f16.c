/* fp16 storage (fp32 arithmetic) on the Vulkan backend against the fp32
 * CPU reference on the same (fp16-representable) inputs: NMSE < 5e-4 for
 * every op, the kernel issue's limit for conv/matmul/attention in fp16.
 * On a device without 16-bit storage, or with FUNKY_VK_NO_FP16=1, F16
 * tensors are stored (and reported) as F32. */
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "nn_test_util.h"

typedef struct pair {
  fk_nn *cpu, *gpu;
  int f16; /* the GPU really stores fp16 */
} pair;

/* The same data on both backends: fp32 on the CPU, fp16 on the GPU. */
static void twin(pair *p, int nd, const int64_t *shape, float lo, float hi, fk_tensor **c,
                 fk_tensor **g, int poison) {
  fk_err e = {0};
  size_t n = 1;
  for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = poison ? NAN : fk_half_to_float(fk_half_from_float(test_rand(lo, hi)));
  if (fk_tensor_new(p->cpu, FK_NN_F32, nd, shape, c, &e) ||
      fk_tensor_new(p->gpu, FK_NN_F16, nd, shape, g, &e) || fk_tensor_write(*c, v, &e) ||
      fk_tensor_write(*g, v, &e)) {
    CHECK(0, "tensor: %s", e.msg);
    exit(1);
  }
  free(v);
}

#define LIMIT 5e-4

int main(void) {
  pair p;
  if (test_backends(&p.cpu, &p.gpu)) return CHECK_DONE();
  fk_err e = {0};
  fk_tensor *a, *ga, *b, *gb, *c, *gc, *d, *gd, *y, *gy;
  int64_t s4[4] = {2, 32, 9, 7};
  twin(&p, 4, s4, -2, 2, &a, &ga, 0);
  p.f16 = ga->dtype == FK_NN_F16;
  printf("fp16 storage on this device: %s\n", p.f16 ? "yes" : "no (F16 tensors are F32)");

  /* elementwise, broadcast, norms, softmax, resampling, warp */
  twin(&p, 4, s4, 0, 0, &y, &gy, 1);
  CHECK(!fk_nn_unary_op(p.cpu, FK_NN_GELU, a, y, 0, 0, &e) &&
            !fk_nn_unary_op(p.gpu, FK_NN_GELU, ga, gy, 0, 0, &e),
        "%s", e.msg);
  test_compare("gelu f16", y, gy, LIMIT);
  int64_t sb[2] = {9, 7};
  twin(&p, 2, sb, -1, 1, &b, &gb, 0);
  CHECK(!fk_nn_binary_op(p.cpu, FK_NN_ADD, a, b, y, &e) &&
            !fk_nn_binary_op(p.gpu, FK_NN_ADD, ga, gb, gy, &e),
        "%s", e.msg);
  test_compare("add broadcast f16", y, gy, LIMIT);
  int64_t sc[1] = {32};
  twin(&p, 1, sc, 0.5f, 1.5f, &c, &gc, 0);
  twin(&p, 1, sc, -0.5f, 0.5f, &d, &gd, 0);
  CHECK(!fk_nn_group_norm(p.cpu, a, c, d, y, 8, 1e-5f, 1, &e) &&
            !fk_nn_group_norm(p.gpu, ga, gc, gd, gy, 8, 1e-5f, 1, &e),
        "%s", e.msg);
  test_compare("group norm silu f16", y, gy, LIMIT);
  fk_tensor_free(b), fk_tensor_free(gb);
  fk_tensor_free(c), fk_tensor_free(gc), fk_tensor_free(d), fk_tensor_free(gd);
  int64_t s1[1] = {7};
  twin(&p, 1, s1, 0.5f, 1.5f, &c, &gc, 0);
  twin(&p, 1, s1, -0.5f, 0.5f, &d, &gd, 0);
  CHECK(!fk_nn_layer_norm(p.cpu, a, c, d, y, 1e-5f, &e) &&
            !fk_nn_layer_norm(p.gpu, ga, gc, gd, gy, 1e-5f, &e),
        "%s", e.msg);
  test_compare("layer norm f16", y, gy, LIMIT);
  CHECK(!fk_nn_softmax(p.cpu, a, y, &e) && !fk_nn_softmax(p.gpu, ga, gy, &e), "%s", e.msg);
  test_compare("softmax f16", y, gy, LIMIT);
  fk_tensor_free(c), fk_tensor_free(gc), fk_tensor_free(d), fk_tensor_free(gd);
  int64_t sr[4] = {2, 32, 13, 5};
  twin(&p, 4, sr, 0, 0, &b, &gb, 1);
  CHECK(!fk_nn_resample_op(p.cpu, FK_NN_BILINEAR, 0, a, b, &e) &&
            !fk_nn_resample_op(p.gpu, FK_NN_BILINEAR, 0, ga, gb, &e),
        "%s", e.msg);
  test_compare("bilinear f16", b, gb, LIMIT);
  fk_tensor_free(b), fk_tensor_free(gb);
  int64_t sf[4] = {2, 2, 9, 7};
  twin(&p, 4, sf, -3, 3, &b, &gb, 0);
  CHECK(!fk_nn_warp(p.cpu, a, b, y, &e) && !fk_nn_warp(p.gpu, ga, gb, gy, &e), "%s", e.msg);
  test_compare("warp f16", y, gy, LIMIT);
  fk_tensor_free(b), fk_tensor_free(gb);

  /* conv 3x3 + SiLU, 32 -> 16 channels */
  int64_t sw[4] = {16, 32, 3, 3}, sbias[1] = {16}, sy[4] = {2, 16, 9, 7};
  twin(&p, 4, sw, -0.06f, 0.06f, &b, &gb, 0);
  twin(&p, 1, sbias, -0.1f, 0.1f, &c, &gc, 0);
  twin(&p, 4, sy, 0, 0, &d, &gd, 1);
  fk_nn_conv cv = {
      .stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1, .act = FK_NN_ACT_SILU};
  CHECK(!fk_nn_conv2d(p.cpu, a, b, c, d, &cv, &e) && !fk_nn_conv2d(p.gpu, ga, gb, gc, gd, &cv, &e),
        "%s", e.msg);
  test_compare("conv3x3 silu f16", d, gd, LIMIT);
  fk_tensor_free(b), fk_tensor_free(gb), fk_tensor_free(c), fk_tensor_free(gc);
  fk_tensor_free(d), fk_tensor_free(gd);
  fk_tensor_free(y), fk_tensor_free(gy), fk_tensor_free(a), fk_tensor_free(ga);

  /* linear 77 x 64 -> 48 with bias; attention 2 x 100 queries, 4 heads of 16, cross (77 keys)
   * and self (100 keys: lavapipe's vec4 softmax) */
  int64_t sx2[2] = {77, 64}, sw2[2] = {48, 64}, sb2[1] = {48}, sy2[2] = {77, 48};
  twin(&p, 2, sx2, -1, 1, &a, &ga, 0);
  twin(&p, 2, sw2, -0.125f, 0.125f, &b, &gb, 0);
  twin(&p, 1, sb2, -0.1f, 0.1f, &c, &gc, 0);
  twin(&p, 2, sy2, 0, 0, &y, &gy, 1);
  CHECK(!fk_nn_matmul(p.cpu, a, b, c, y, 1, &e) && !fk_nn_matmul(p.gpu, ga, gb, gc, gy, 1, &e),
        "%s", e.msg);
  test_compare("linear f16", y, gy, LIMIT);
  fk_tensor_free(a), fk_tensor_free(ga), fk_tensor_free(b), fk_tensor_free(gb);
  fk_tensor_free(c), fk_tensor_free(gc), fk_tensor_free(y), fk_tensor_free(gy);
  static const int64_t keys[2] = {77, 100};
  for (int i = 0; i < 2; i++) {
    int64_t sq[4] = {2, 100, 4, 16}, sk[4] = {2, keys[i], 4, 16};
    twin(&p, 4, sq, -2, 2, &a, &ga, 0);
    twin(&p, 4, sk, -2, 2, &b, &gb, 0);
    twin(&p, 4, sk, -1, 1, &c, &gc, 0);
    twin(&p, 4, sq, 0, 0, &y, &gy, 1);
    CHECK(!fk_nn_attention(p.cpu, a, b, c, y, 0, &e) &&
              !fk_nn_attention(p.gpu, ga, gb, gc, gy, 0, &e),
          "%s", e.msg);
    test_compare(i ? "self-attention f16" : "cross-attention f16", y, gy, LIMIT);
    fk_tensor_free(a), fk_tensor_free(ga), fk_tensor_free(b), fk_tensor_free(gb);
    fk_tensor_free(c), fk_tensor_free(gc), fk_tensor_free(y), fk_tensor_free(gy);
  }

  /* blur of an [H, W, 3] image */
  int64_t si[3] = {33, 40, 3};
  twin(&p, 3, si, 0, 1, &a, &ga, 0);
  twin(&p, 3, si, 0, 0, &y, &gy, 1);
  CHECK(!fk_nn_blur(p.cpu, a, y, 2.0, &e) && !fk_nn_blur(p.gpu, ga, gy, 2.0, &e), "%s", e.msg);
  test_compare("blur f16", y, gy, LIMIT);
  /* mixing storages in one op is refused */
  fk_tensor *f32;
  CHECK(!fk_tensor_new(p.gpu, FK_NN_F32, 3, si, &f32, &e), "%s", e.msg);
  if (p.f16)
    CHECK(fk_nn_unary_op(p.gpu, FK_NN_SILU, ga, f32, 0, 0, &e) != FK_OK && strstr(e.msg, "mix"),
          "mixed storage refused: %s", e.msg);
  fk_tensor_free(f32);
  fk_tensor_free(a), fk_tensor_free(ga), fk_tensor_free(y), fk_tensor_free(gy);
  /* FUNKY_VK_NO_FP16=1: F16 tensors become F32 */
  setenv("FUNKY_VK_NO_FP16", "1", 1);
  fk_nn *gpu;
  fk_nn_opts go = {.kind = FK_NN_VULKAN, .validation = 1};
  fk_tensor *t;
  int ok = !fk_nn_open(&go, &gpu, &e) && !fk_tensor_new(gpu, FK_NN_F16, 3, si, &t, &e);
  CHECK(ok && t->dtype == FK_NN_F32, "FUNKY_VK_NO_FP16 keeps fp32 storage");
  if (ok) {
    fk_tensor_free(t);
    fk_nn_close(gpu);
  }
  return test_finish(p.cpu, p.gpu);
}
