/* Vulkan kernels: each op picks its pipeline (shader + specialization
 * constants), binds tensors and records a dispatch into the backend's
 * pass. Element grids use 256-wide workgroups laid out in 2-D when one
 * dimension would exceed the device's group-count limit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define WG 256

static void grid_1d(const fk_nn *nn, size_t n, uint32_t *gx, uint32_t *gy) {
  size_t groups = (n + WG - 1) / WG;
  size_t maxx = nn->vk->caps.max_wg_count[0];
  *gx = (uint32_t)(groups < maxx ? groups : maxx);
  *gy = (uint32_t)((groups + *gx - 1) / *gx);
}

/* The shader built for the tensor's storage: NAME or NAME_f16. */
static const char *var(const fk_tensor *t, const char *base, char *buf, size_t n) {
  if (t->dtype != FK_NN_F16) return base;
  snprintf(buf, n, "%s_f16", base);
  return buf;
}

/* texel: NULL, or formats of texel views of the first bindings (see
 * fk_vk_rec_dispatch_texel). */
static int dispatch_texel(fk_nn *nn, const char *shader, const uint32_t *spec, uint32_t n_spec,
                          const fk_vk_bind *b, uint32_t nb, const VkFormat *texel, const void *push,
                          uint32_t pb, uint32_t gx, uint32_t gy, uint32_t gz, fk_err *e) {
  const fk_vk_pipeline *p;
  if (fk_vk_pipeline_get(nn->pipes, shader, spec, n_spec, &p, e)) return e->code;
  if (fk_vk_rec_dispatch_texel(nn->rec, p, b, nb, texel, push, pb, gx, gy, gz, e)) return e->code;
  nn->pending = 1;
  return FK_OK;
}

static int dispatch(fk_nn *nn, const char *shader, const uint32_t *spec, uint32_t n_spec,
                    const fk_vk_bind *b, uint32_t nb, const void *push, uint32_t pb, uint32_t gx,
                    uint32_t gy, uint32_t gz, fk_err *e) {
  return dispatch_texel(nn, shader, spec, n_spec, b, nb, NULL, push, pb, gx, gy, gz, e);
}

/* Splitting. A tensor may be larger than one binding may cover
 * (maxStorageBufferRange: 128 MiB on lavapipe, while FILM's full-HD
 * activations reach 580 MB). The ops FILM runs at that size bind
 * sub-ranges of at most the range and record one dispatch per part:
 * elementwise ops over element ranges, per-plane ops (resample, warp,
 * channel copies, broadcasting binary ops) over runs of whole channel
 * planes, conv2d over images, output-channel groups and input-channel
 * groups (later groups add to the output: the shaders' ACCUM). A tensor
 * that fits is bound whole, exactly as before. Every part starts at a
 * multiple of unit() bytes (the storage and texel offset alignments):
 * plane runs are chosen so, and where an image's planes are not aligned
 * the op says so instead of binding a misaligned range. Ops that do not
 * split (matmul, attention, norms, blur) fail in the recorder with a
 * message when a tensor exceeds the range. */

static size_t elt(const fk_tensor *t) {
  return t->dtype == FK_NN_F16 ? 2 : 4;
}

static size_t range_bytes(const fk_nn *nn) {
  return (size_t)nn->vk->caps.max_storage_range;
}

/* Offset alignment of a bound part (powers of two: the larger). */
static size_t unit(const fk_nn *nn) {
  size_t a = (size_t)nn->vk->caps.storage_offset_align, t = (size_t)nn->vk->caps.texel_offset_align;
  a = a > t ? a : t;
  return a < 16 ? 16 : a;
}

static size_t gcd_z(size_t a, size_t b) {
  while (b) {
    size_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* Items of `bytes` each that start aligned every that many items. */
static size_t step_of(const fk_nn *nn, size_t bytes) {
  return unit(nn) / gcd_z(bytes, unit(nn));
}

/* Items per part, of up to n items of a and b bytes (b 0: none) each:
 * as many as fit the range, a multiple of both steps unless all n fit.
 * 0: not one part is possible. */
static size_t per_part(const fk_nn *nn, size_t a, size_t b, size_t n) {
  size_t k = range_bytes(nn) / a;
  if (b && range_bytes(nn) / b < k) k = range_bytes(nn) / b;
  if (k >= n) return n;
  size_t sa = step_of(nn, a), sb = b ? step_of(nn, b) : 1, st = sa / gcd_z(sa, sb) * sb;
  return k - k % st;
}

static int split_error(const fk_nn *nn, const char *op, const char *why, fk_err *e) {
  return fk_err_set(e, FK_EUSER,
                    "%s: a tensor exceeds the %.1f MiB one binding may cover "
                    "(maxStorageBufferRange) and %s: pad the frames to a multiple of 64 "
                    "(pad = 64) or work at a smaller size",
                    op, (double)range_bytes(nn) / 1048576.0, why);
}

/* Whether bound parts at these byte offsets all start aligned. */
static int aligned(const fk_nn *nn, size_t a, size_t b) {
  return a % unit(nn) == 0 && b % unit(nn) == 0;
}

static const char *const MISALIGNED =
    "its channel planes do not start at the device's offset alignment";

int fk_nn_vk_unary(fk_nn *nn, fk_nn_unary op, const fk_tensor *x, fk_tensor *y, float alpha,
                   float beta, fk_err *e) {
  char nm[64];
  struct {
    uint32_t n;
    float alpha, beta;
  } push = {(uint32_t)x->numel, alpha, beta};
  uint32_t spec[4] = {WG, 1, 1, (uint32_t)op}, gx, gy;
  size_t el = elt(x), per = x->numel * el <= range_bytes(nn) ? x->numel : range_bytes(nn) / el;
  per -= per < x->numel ? per % (unit(nn) / el) : 0; /* parts start aligned */
  for (size_t i0 = 0; i0 < x->numel; i0 += per) {
    size_t n = x->numel - i0 < per ? x->numel - i0 : per, sz = per == x->numel ? 0 : n * el;
    push.n = (uint32_t)n;
    grid_1d(nn, n, &gx, &gy);
    fk_vk_bind b[] = {{x->impl, i0 * el, sz, 0}, {y->impl, i0 * el, sz, 1}};
    if (dispatch(nn, var(x, "unary", nm, sizeof nm), spec, 4, b, 2, &push, sizeof push, gx, gy, 1,
                 e))
      return e->code;
  }
  return FK_OK;
}

int fk_nn_vk_binary(fk_nn *nn, fk_nn_binary op, const fk_tensor *a, const fk_tensor *b,
                    fk_tensor *y, const int64_t *bstride, fk_err *e) {
  char nm[64];
  struct {
    uint32_t n, shape[4], bstride[4], boff;
  } push = {(uint32_t)a->numel, {1, 1, 1, 1}, {0, 0, 0, 0}, 0};
  int off = 4 - a->ndim;
  for (int i = 0; i < a->ndim; i++) push.shape[off + i] = (uint32_t)a->shape[i];
  for (int i = 0; i < 4; i++) push.bstride[i] = (uint32_t)bstride[i];
  uint32_t spec[4] = {WG, 1, 1, op == FK_NN_ADD ? 0u : 1u}, gx, gy;
  const size_t el = elt(a), range = range_bytes(nn);
  if (a->numel * el <= range && b->numel * el <= range) {
    grid_1d(nn, a->numel, &gx, &gy);
    fk_vk_bind bd[] = {{a->impl, 0, 0, 0}, {b->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
    return dispatch(nn, var(a, "binary", nm, sizeof nm), spec, 4, bd, 3, &push, sizeof push, gx, gy,
                    1, e);
  }
  if (b->numel == a->numel) { /* same shape: element ranges of all three */
    size_t per = range / el;
    per -= per % (unit(nn) / el);
    for (size_t i0 = 0; i0 < a->numel; i0 += per) {
      size_t n = a->numel - i0 < per ? a->numel - i0 : per;
      push.n = (uint32_t)n;
      push.shape[0] = push.shape[1] = push.shape[2] = 1;
      push.shape[3] = (uint32_t)n;
      push.bstride[0] = push.bstride[1] = push.bstride[2] = 0;
      push.bstride[3] = 1;
      grid_1d(nn, n, &gx, &gy);
      fk_vk_bind bd[] = {{a->impl, i0 * el, n * el, 0},
                         {b->impl, i0 * el, n * el, 0},
                         {y->impl, i0 * el, n * el, 1}};
      if (dispatch(nn, var(a, "binary", nm, sizeof nm), spec, 4, bd, 3, &push, sizeof push, gx, gy,
                   1, e))
        return e->code;
    }
    return FK_OK;
  }
  /* b broadcast (bound whole, read from boff): a and y in runs of planes
   * (the last two dimensions) within one index of the first */
  if (b->numel * el > range)
    return split_error(nn, "binary op", "the broadcast operand does not split", e);
  const size_t s0 = push.shape[0], s1 = push.shape[1],
               plane = (size_t)push.shape[2] * push.shape[3];
  const uint32_t bs0 = push.bstride[0], bs1 = push.bstride[1];
  size_t per = per_part(nn, plane * el, 0, s1);
  if (!per) return split_error(nn, "binary op", "one plane exceeds it", e);
  for (size_t i0 = 0; i0 < s0; i0++)
    for (size_t c0 = 0; c0 < s1; c0 += per) {
      size_t n = s1 - c0 < per ? s1 - c0 : per, o = (i0 * s1 + c0) * plane * el;
      if (!aligned(nn, o, 0)) return split_error(nn, "binary op", MISALIGNED, e);
      push.n = (uint32_t)(n * plane);
      push.shape[0] = 1;
      push.shape[1] = (uint32_t)n;
      push.bstride[0] = 0;
      push.boff = (uint32_t)(i0 * bs0 + c0 * bs1);
      grid_1d(nn, n * plane, &gx, &gy);
      fk_vk_bind bd[] = {
          {a->impl, o, n * plane * el, 0}, {b->impl, 0, 0, 0}, {y->impl, o, n * plane * el, 1}};
      if (dispatch(nn, var(a, "binary", nm, sizeof nm), spec, 4, bd, 3, &push, sizeof push, gx, gy,
                   1, e))
        return e->code;
    }
  return FK_OK;
}

int fk_nn_vk_blur(fk_nn *nn, const fk_tensor *x, fk_tensor *y, const float *wt, int radius,
                  fk_err *e) {
  char nm[64];
  fk_vk_buffer *weights, *tmp;
  size_t nw = 2 * (size_t)radius + 1;
  if (fk_nn_vk_scratch(nn, nw * sizeof *wt, 1, &weights, e) ||
      fk_nn_vk_scratch(nn, x->numel * sizeof(float), 0, &tmp, e))
    return e->code;
  memcpy(weights->map, wt, nw * sizeof *wt);
  struct {
    int32_t h, w, c, radius;
  } push = {(int32_t)x->shape[0], (int32_t)x->shape[1], (int32_t)x->shape[2], radius};
  uint32_t gx = (uint32_t)((x->shape[1] + 15) / 16), gy = (uint32_t)((x->shape[0] + 15) / 16);
  uint32_t sx[4] = {16, 16, 1, 0}, sy[4] = {16, 16, 1, 1};
  fk_vk_bind b1[] = {{x->impl, 0, 0, 0}, {tmp, 0, 0, 1}, {weights, 0, 0, 0}};
  fk_vk_bind b2[] = {{tmp, 0, 0, 0}, {y->impl, 0, 0, 1}, {weights, 0, 0, 0}};
  if (dispatch(nn, var(x, "blur_gauss", nm, sizeof nm), sx, 4, b1, 3, &push, sizeof push, gx, gy, 1,
               e))
    return e->code;
  return dispatch(nn, var(x, "blur_gauss", nm, sizeof nm), sy, 4, b2, 3, &push, sizeof push, gx, gy,
                  1, e);
}

/* lavapipe (a CPU device with 8-wide subgroups) gets the broadcast
 * kernels for matmul and conv; GPUs the shared-memory tiling.
 * FUNKY_VK_MATMUL=tiled|lvp overrides both, for tests and benchmarks. */
static int use_lvp(const fk_nn *nn) {
  const char *force = getenv("FUNKY_VK_MATMUL");
  if (force && !strcmp(force, "tiled")) return 0;
  if (force && !strcmp(force, "lvp")) return nn->vk->caps.subgroup_size == 8;
  return nn->vk->caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU && nn->vk->caps.subgroup_size == 8 &&
         nn->vk->caps.subgroup_arith;
}

/* Whether the first n of bd (the operands a kernel reads as vec4) can all
 * also be bound as texel views (fk_vk_texel_fits: the device's formats,
 * alignment, maxTexelBufferElements); if so, fills texel[0..n-1] with the
 * format, else the kernel reads the storage buffers. FUNKY_VK_TEXEL=0
 * turns them off (tests, benchmarks). */
static int texel_binds(const fk_nn *nn, fk_nn_dtype dt, const fk_vk_bind *bd, uint32_t n,
                       VkFormat *texel) {
  const char *env = getenv("FUNKY_VK_TEXEL");
  if (env && !strcmp(env, "0")) return 0;
  VkFormat fmt = dt == FK_NN_F16 ? VK_FORMAT_R16G16B16A16_SFLOAT : VK_FORMAT_R32G32B32A32_SFLOAT;
  for (uint32_t i = 0; i < n; i++) {
    VkDeviceSize size = bd[i].size ? bd[i].size : bd[i].buf->size - bd[i].off;
    if (!fk_vk_texel_fits(nn->vk, bd[i].buf, bd[i].off, size, fmt)) return 0;
  }
  for (uint32_t i = 0; i < n; i++) texel[i] = fmt;
  return 1;
}

/* matmul_lvp's register block (rows per workgroup x columns per lane, the
 * shader's TALL and WIDE). On an AVX2 host 16 x 16 measured fastest for
 * every SD-sized shape (linear 4096x320->1280 1.15x faster than 8 x 16,
 * attention's QK^T 1.07x and PV^T 1.17x, fp32 and fp16), despite spilling
 * its 256 accumulators: fewer A broadcasts and B loads per multiply. Where
 * N is too narrow to fill 128 columns (attention's S V, N = 40) 16 x 8
 * wastes less, and 16 x 8 stays where it was measured best, on AVX-512.
 * FUNKY_LVP_BLOCK=16x8|8x16|8x8|16x16 overrides (tests). */
static void lvp_block(uint32_t n, uint32_t *tall, uint32_t *wide) {
  const char *env = getenv("FUNKY_LVP_BLOCK");
  unsigned r, c;
  if (env && sscanf(env, "%ux%u", &r, &c) == 2 && (r == 8 || r == 16) && (c == 8 || c == 16)) {
    *tall = r == 16, *wide = c == 16;
    return;
  }
  int avx512 = 0;
#if defined(__x86_64__) || defined(__i386__)
  avx512 = __builtin_cpu_supports("avx512f");
#endif
  *wide = !avx512 && n > 64;
  *tall = 1;
}

/* matmul_lvp.comp on bound buffers (A, B, bias, C), for fk_nn_vk_matmul and
 * the attention below, which binds sub-ranges. */
static int matmul_lvp(fk_nn *nn, fk_nn_dtype dt, const fk_nn_mm *g, const fk_vk_bind *bd,
                      int has_bias, fk_err *e) {
  struct {
    uint32_t m, n, k, sa, sb, sc;
  } push = {g->m, g->n, g->k, g->sa, g->sb, g->sc};
  VkFormat texel[FK_VK_MAX_TEXELS] = {VK_FORMAT_UNDEFINED, VK_FORMAT_UNDEFINED};
  /* vec4 loads when every row start is a multiple of 4 elements */
  uint32_t vec = g->k % 4 == 0 && g->sa % 4 == 0 && g->sb % 4 == 0 && (g->trans_b || g->n % 4 == 0);
  int tex = vec && texel_binds(nn, dt, bd, 2, texel);
  uint32_t cvec = g->n % 4 == 0 && g->sc % 4 == 0;
  uint32_t tall, wide;
  lvp_block(g->n, &tall, &wide);
  uint32_t spec[9] = {8, 1, 1, g->trans_b ? 1u : 0u, has_bias ? 1u : 0u, vec, cvec, tall, wide};
  uint32_t rows = tall ? 16 : 8, cols = wide ? 128 : 64;
  char nm[64];
  snprintf(nm, sizeof nm, "matmul_lvp%s%s", dt == FK_NN_F16 ? "_f16" : "", tex ? "_tex" : "");
  return dispatch_texel(nn, nm, spec, 9, bd, 4, texel, &push, sizeof push, (g->n + cols - 1) / cols,
                        (g->m + rows - 1) / rows, g->batch, e);
}

int fk_nn_vk_matmul(fk_nn *nn, const fk_nn_mm *g, const fk_tensor *a, const fk_tensor *b,
                    const fk_tensor *bias, fk_tensor *c, fk_err *e) {
  char nm[64];
  struct {
    uint32_t m, n, k, sa, sb, sc;
  } push = {g->m, g->n, g->k, g->sa, g->sb, g->sc};
  uint32_t spec[5] = {16, 16, 1, g->trans_b ? 1u : 0u, bias ? 1u : 0u};
  fk_vk_bind bd[] = {{a->impl, 0, 0, 0},
                     {b->impl, 0, 0, 0},
                     {bias ? bias->impl : b->impl, 0, 0, 0}, /* unread without bias */
                     {c->impl, 0, 0, 1}};
  if (use_lvp(nn)) return matmul_lvp(nn, a->dtype, g, bd, bias != NULL, e);
  return dispatch(nn, var(a, "matmul", nm, sizeof nm), spec, 5, bd, 4, &push, sizeof push,
                  (g->n + 63) / 64, (g->m + 63) / 64, g->batch, e);
}

/* lavapipe's conv2d (conv2d_lvp.comp): the batch folded into the columns,
 * and a mode that lets the shader read whole input rows as vec4 where the
 * shape allows (see the shader's header). spec: conv_run's. */
static int conv2d_lvp(fk_nn *nn, const fk_nn_cg *g, fk_nn_dtype dt, const fk_vk_bind *bd,
                      const uint32_t *spec, fk_err *e) {
  char nm[64];
  const fk_nn_conv *c = g->c;
  struct {
    uint32_t cin, h, w, cout, oh, ow;
    int32_t pad_t, pad_l;
    float alpha;
    uint32_t n;
  } push = {g->cin, g->h, g->w, g->cout, g->oh, g->ow, c->pad_t, c->pad_l, c->alpha, g->n};
  uint32_t k = g->cin * g->kh * g->kw, ncols = g->n * g->oh * g->ow, mode = 0;
  int same3 = g->kh == 3 && g->kw == 3 && c->stride == 1 && c->pad_t == 1 && c->pad_l == 1 &&
              g->oh == g->h && g->ow == g->w && g->cin % 4 == 0;
  if (same3 && g->ow % 8 == 0)
    mode = 1;
  else if (same3 && g->ow == 4 && g->oh % 2 == 0)
    mode = 3;
  else if (g->kh == 1 && g->kw == 1 && c->stride == 1 && c->pad_t == 0 && c->pad_l == 0 &&
           g->oh == g->h && g->ow == g->w && (g->oh * g->ow) % 8 == 0 && g->cin % 4 == 0)
    mode = 2;
  uint32_t avec = k % 4 == 0;
  uint32_t lspec[11] = {8, 1, 1, spec[3], spec[4], spec[5], spec[6], spec[7], mode, avec, spec[8]};
  /* texel views where the kernel reads vec4s: modes 1-3, and W in mode 0 */
  VkFormat texel[FK_VK_MAX_TEXELS] = {VK_FORMAT_UNDEFINED, VK_FORMAT_UNDEFINED};
  int tex = (mode != 0 || avec) && texel_binds(nn, dt, bd, 2, texel);
  snprintf(nm, sizeof nm, "conv2d_lvp%s%s", dt == FK_NN_F16 ? "_f16" : "", tex ? "_tex" : "");
  return dispatch_texel(nn, nm, lspec, 11, bd, 4, texel, &push, sizeof push, (ncols + 63) / 64,
                        (g->cout + 15) / 16, 1, e);
}

/* One conv dispatch on bound x, w, bias, y: bias added where has_bias,
 * activation act, and with accum what y holds added (a later
 * input-channel group of a split conv). */
static int conv_run(fk_nn *nn, const fk_nn_cg *g, fk_nn_dtype dt, const fk_vk_bind *bd,
                    int has_bias, fk_nn_act act, int accum, fk_err *e) {
  char nm[64];
  struct {
    uint32_t cin, h, w, cout, oh, ow;
    int32_t pad_t, pad_l;
    float alpha;
  } push = {g->cin, g->h, g->w, g->cout, g->oh, g->ow, g->c->pad_t, g->c->pad_l, g->c->alpha};
  uint32_t spec[9] = {16,
                      16,
                      1,
                      g->kh,
                      g->kw,
                      (uint32_t)g->c->stride,
                      (uint32_t)act,
                      has_bias ? 1u : 0u,
                      accum ? 1u : 0u};
  if (use_lvp(nn)) return conv2d_lvp(nn, g, dt, bd, spec, e);
  snprintf(nm, sizeof nm, "conv2d%s", dt == FK_NN_F16 ? "_f16" : "");
  return dispatch(nn, nm, spec, 9, bd, 4, &push, sizeof push, (g->oh * g->ow + 63) / 64,
                  (g->cout + 63) / 64, g->n, e);
}

/* One copy_channels dispatch on bound x, y (push: the shader's). Where a
 * plane is whole vec4s and the grid fits, the planes variant: a (vec4,
 * channel, image) grid, no index divisions. */
static int copy_run(fk_nn *nn, fk_nn_dtype dt, const fk_vk_bind *b, const uint32_t *push,
                    uint32_t images, fk_err *e) {
  const uint32_t hw = push[1], count = push[2], *maxg = nn->vk->caps.max_wg_count;
  const uint32_t gx = (hw / 4 + WG - 1) / WG;
  uint32_t spec[4] = {WG, 1, 1, 1}, p[7];
  memcpy(p, push, sizeof p);
  const char *nm = dt == FK_NN_F16 ? "copy_channels_f16" : "copy_channels";
  if (hw % 4 == 0 && gx <= maxg[0] && count <= maxg[1] && images <= maxg[2]) {
    p[1] = hw / 4;
    return dispatch(nn, nm, spec, 4, b, 2, p, sizeof p, gx, count, images, e);
  }
  uint32_t g1, g2;
  grid_1d(nn, p[0], &g1, &g2);
  return dispatch(nn, nm, spec, 3, b, 2, p, sizeof p, g1, g2, 1, e);
}

/* dst[r][c] = src[r0 + r][c0 + c] (r < nr, c < nc) of the row-major
 * matrix src (cols elements a row) into dst, bound whole: a weight's
 * block for a split conv. copy_channels with one-element planes, so a
 * source part may start at any element: it is bound from the aligned
 * byte before, the rest given as the channel offset. */
static int copy_block(fk_nn *nn, fk_nn_dtype dt, const fk_vk_buffer *src, size_t cols, size_t r0,
                      size_t c0, size_t nr, size_t nc, const fk_vk_buffer *dst, fk_err *e) {
  const size_t el = dt == FK_NN_F16 ? 2 : 4, ue = unit(nn) / el, re = range_bytes(nn) / el;
  for (size_t r = 0; r < nr;) {
    size_t at = (r0 + r) * cols + c0, rem = at % ue, base = at - rem;
    size_t k = rem + nc > re ? 0 : 1 + (re - rem - nc) / cols;
    if (!k) return split_error(nn, "conv2d", "one weight row exceeds it", e);
    k = k < nr - r ? k : nr - r;
    uint32_t push[7] = {
        (uint32_t)(k * nc), 1, (uint32_t)nc, (uint32_t)cols, (uint32_t)rem, (uint32_t)nc,
        (uint32_t)(r * nc)};
    fk_vk_bind b[] = {{src, base * el, ((k - 1) * cols + rem + nc) * el, 0}, {dst, 0, 0, 1}};
    if (copy_run(nn, dt, b, push, 1, e)) return e->code;
    r += k;
  }
  return FK_OK;
}

/* A group size: up to n, at most lim, a multiple of st (and of pref when
 * that leaves one). */
static size_t group(size_t n, size_t lim, size_t st, size_t pref) {
  if (n <= lim) return n;
  size_t both = st / gcd_z(st, pref) * pref;
  return lim >= both ? lim - lim % both : lim - lim % st;
}

/* conv2d past the binding range: per image, output-channel groups (an
 * image's output channels are one contiguous range each), input-channel
 * groups summed into the output (the first adds the bias, the last
 * applies the activation), each group's weight block copied into scratch
 * where the weight itself cannot be bound whole. */
static int conv2d_split(fk_nn *nn, const fk_nn_cg *g, const fk_tensor *x, const fk_tensor *w,
                        const fk_tensor *bias, fk_tensor *y, fk_err *e) {
  const size_t el = elt(x), kk = (size_t)g->kh * g->kw, range = range_bytes(nn), u = unit(nn);
  const size_t xp = (size_t)g->h * g->w * el, yp = (size_t)g->oh * g->ow * el;
  size_t lim = range / xp < (range - u) / (kk * el) ? range / xp : (range - u) / (kk * el);
  const size_t cg = group(g->cin, lim, step_of(nn, xp), 4);
  lim = range / yp < range / (cg * kk * el) ? range / yp : range / (cg * kk * el);
  const size_t og = cg ? group(g->cout, lim, step_of(nn, yp), 16) : 0;
  if (!cg || !og) return split_error(nn, "conv2d", "one channel plane exceeds it", e);
  const size_t nci = (g->cin + cg - 1) / cg;
  const int wsplit = cg < g->cin || og < g->cout || w->numel * el > range;
  const int bsplit = bias && (og < g->cout || bias->numel * el > range);
  const fk_vk_buffer **ws = calloc(nci, sizeof *ws);
  if (!ws) return fk_err_oom(e, "a split conv's weight parts", nci * sizeof *ws);
  int rc = FK_OK;
  for (size_t co0 = 0; co0 < g->cout && !rc; co0 += og) {
    size_t on = g->cout - co0 < og ? g->cout - co0 : og;
    /* a long pass: run what is recorded (the scratch of earlier groups
     * is no longer needed) */
    if ((fk_vk_rec_dispatches(nn->rec) > 8192 || nn->n_deferred + nci + 1 >= FK_NN_MAX_DEFERRED) &&
        fk_nn_sync(nn, e)) {
      rc = e->code;
      break;
    }
    const fk_vk_buffer *bb = bias ? bias->impl : NULL;
    if (bsplit) {
      fk_vk_buffer *t;
      if (fk_nn_vk_scratch(nn, on * el, 0, &t, e) ||
          copy_block(nn, x->dtype, bias->impl, g->cout, 0, co0, 1, on, t, e)) {
        rc = e->code;
        break;
      }
      bb = t;
    }
    for (size_t j = 0; j < nci && !rc; j++) {
      size_t ci0 = j * cg, cn = g->cin - ci0 < cg ? g->cin - ci0 : cg;
      fk_vk_buffer *t;
      if (!wsplit) {
        ws[j] = w->impl;
      } else if (fk_nn_vk_scratch(nn, on * cn * kk * el, 0, &t, e) ||
                 copy_block(nn, x->dtype, w->impl, g->cin * kk, co0, ci0 * kk, on, cn * kk, t, e)) {
        rc = e->code;
      } else {
        ws[j] = t;
      }
    }
    for (size_t j = 0; j < nci && !rc; j++) {
      size_t ci0 = j * cg, cn = g->cin - ci0 < cg ? g->cin - ci0 : cg;
      fk_nn_cg part = *g;
      part.n = 1;
      part.cin = (uint32_t)cn;
      part.cout = (uint32_t)on;
      for (size_t n = 0; n < g->n && !rc; n++) {
        size_t ox = (n * g->cin + ci0) * xp, oy = (n * g->cout + co0) * yp;
        if (!aligned(nn, ox, oy)) {
          rc = split_error(nn, "conv2d", MISALIGNED, e);
          break;
        }
        fk_vk_bind bd[] = {{x->impl, ox, cn * xp, 0},
                           {ws[j], 0, 0, 0},
                           {bb ? bb : ws[j], 0, 0, 0}, /* unread without bias */
                           {y->impl, oy, on * yp, 1}};
        rc = conv_run(nn, &part, x->dtype, bd, bias && j == 0,
                      j + 1 == nci ? g->c->act : FK_NN_ACT_NONE, j > 0, e);
      }
    }
  }
  free(ws);
  return rc;
}

int fk_nn_vk_conv2d(fk_nn *nn, const fk_nn_cg *g, const fk_tensor *x, const fk_tensor *w,
                    const fk_tensor *bias, fk_tensor *y, fk_err *e) {
  const size_t el = elt(x), range = range_bytes(nn);
  if (x->numel * el > range || w->numel * el > range || y->numel * el > range ||
      (bias && bias->numel * el > range))
    return conv2d_split(nn, g, x, w, bias, y, e);
  fk_vk_bind bd[] = {{x->impl, 0, 0, 0},
                     {w->impl, 0, 0, 0},
                     {bias ? bias->impl : w->impl, 0, 0, 0}, /* unread without bias */
                     {y->impl, 0, 0, 1}};
  return conv_run(nn, g, x->dtype, bd, bias != NULL, g->c->act, 0, e);
}

int fk_nn_vk_group_norm(fk_nn *nn, const fk_tensor *x, const fk_tensor *gamma,
                        const fk_tensor *beta, fk_tensor *y, int groups, float eps, int silu,
                        fk_err *e) {
  char nm[64];
  uint32_t n = (uint32_t)x->shape[0], c = (uint32_t)x->shape[1];
  uint32_t hw = (uint32_t)(x->numel / ((size_t)n * c));
  fk_vk_buffer *stats;
  if (fk_nn_vk_scratch(nn, (size_t)n * (size_t)groups * 2 * sizeof(float), 0, &stats, e))
    return e->code;
  struct {
    uint32_t c, hw, groups;
    float eps;
  } p1 = {c, hw, (uint32_t)groups, eps};
  fk_vk_bind b1[] = {{x->impl, 0, 0, 0}, {stats, 0, 0, 1}};
  if (dispatch(nn, var(x, "groupnorm_stats", nm, sizeof nm), NULL, 0, b1, 2, &p1, sizeof p1,
               n * (uint32_t)groups, 1, 1, e))
    return e->code;
  struct {
    uint32_t n, c, hw, groups;
  } p2 = {(uint32_t)x->numel, c, hw, (uint32_t)groups};
  uint32_t spec[4] = {WG, 1, 1, silu ? 1u : 0u}, gx, gy;
  grid_1d(nn, x->numel, &gx, &gy);
  fk_vk_bind b2[] = {{x->impl, 0, 0, 0},
                     {stats, 0, 0, 0},
                     {gamma->impl, 0, 0, 0},
                     {beta->impl, 0, 0, 0},
                     {y->impl, 0, 0, 1}};
  return dispatch(nn, var(x, "groupnorm_apply", nm, sizeof nm), spec, 4, b2, 5, &p2, sizeof p2, gx,
                  gy, 1, e);
}

/* One workgroup per row of the last dimension: layer norm and softmax. */
int fk_nn_vk_rows(fk_nn *nn, const char *shader, const fk_tensor *x, const fk_tensor *gamma,
                  const fk_tensor *beta, fk_tensor *y, float eps, fk_err *e) {
  char nm[64];
  uint32_t d = (uint32_t)x->shape[x->ndim - 1];
  uint32_t rows = (uint32_t)(x->numel / d);
  uint32_t maxx = nn->vk->caps.max_wg_count[0];
  uint32_t gx = rows < maxx ? rows : maxx, gy = (rows + gx - 1) / gx;
  struct {
    uint32_t d, rows;
    float eps;
  } push = {d, rows, eps};
  if (gamma) {
    fk_vk_bind b[] = {
        {x->impl, 0, 0, 0}, {gamma->impl, 0, 0, 0}, {beta->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
    return dispatch(nn, var(x, shader, nm, sizeof nm), NULL, 0, b, 4, &push, sizeof push, gx, gy, 1,
                    e);
  }
  fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
  return dispatch(nn, var(x, shader, nm, sizeof nm), NULL, 0, b, 2, &push, 2 * sizeof(uint32_t), gx,
                  gy, 1, e);
}

static int transpose_buf(fk_nn *nn, fk_nn_dtype dt, const fk_vk_bind *x, const fk_vk_bind *y,
                         size_t total, uint32_t m, uint32_t n, fk_err *e);

/* Attention for lavapipe, out of GEMMs: attention.comp keeps a tile of
 * scores in shared memory between barriers, which lavapipe runs as
 * coroutine switches (0.5 GFLOP/s), while matmul_lvp needs neither. Per
 * (batch, head): S = Q K^T (Q as [Lq, D] rows, K^T as [D, Lk]), softmax of
 * S / sqrt(D) in place, then O^T = V^T S^T (V^T as [D, Lk], S read as
 * B transposed), so every operand is one transpose of the [B, L, H*D]
 * inputs away and O^T [B, H*D, Lq] one transpose from out. Scores are
 * made for as many heads at a time as fit 64 MiB. Returns -1 (nothing
 * recorded) where sub-range offsets would break the device's alignment. */
static int attention_lvp(fk_nn *nn, const fk_tensor *q, const fk_tensor *k, const fk_tensor *v,
                         fk_tensor *out, fk_err *e) {
  const uint32_t b = (uint32_t)q->shape[0], lq = (uint32_t)q->shape[1],
                 heads = (uint32_t)q->shape[2], d = (uint32_t)q->shape[3],
                 lk = (uint32_t)k->shape[1], bh = b * heads;
  const fk_nn_dtype dt = q->dtype;
  const size_t elt = dt == FK_NN_F16 ? 2 : 4, align = nn->vk->caps.storage_offset_align;
  size_t per = (size_t)lq * lk * elt, g = ((size_t)64 << 20) / per;
  g = g < 1 ? 1 : g > bh ? bh : g;
  if (g < bh && align &&
      (((size_t)lq * d * elt) % align || ((size_t)d * lk * elt) % align ||
       ((size_t)d * lq * elt) % align))
    return -1;
  fk_vk_buffer *t0, *qh, *kt, *vt, *s, *ot;
  if (fk_nn_vk_scratch(nn, q->numel * elt, 0, &t0, e) ||
      fk_nn_vk_scratch(nn, q->numel * elt, 0, &qh, e) ||
      fk_nn_vk_scratch(nn, k->numel * elt, 0, &kt, e) ||
      fk_nn_vk_scratch(nn, v->numel * elt, 0, &vt, e) || fk_nn_vk_scratch(nn, g * per, 0, &s, e) ||
      fk_nn_vk_scratch(nn, q->numel * elt, 0, &ot, e))
    return e->code;
  const uint32_t hd = heads * d;
  if (transpose_buf(nn, dt, &(fk_vk_bind){q->impl, 0, 0, 0}, &(fk_vk_bind){t0, 0, 0, 1}, q->numel,
                    lq, hd, e) ||
      transpose_buf(nn, dt, &(fk_vk_bind){t0, 0, 0, 0}, &(fk_vk_bind){qh, 0, 0, 1}, q->numel, d, lq,
                    e) ||
      transpose_buf(nn, dt, &(fk_vk_bind){k->impl, 0, 0, 0}, &(fk_vk_bind){kt, 0, 0, 1}, k->numel,
                    lk, hd, e) ||
      transpose_buf(nn, dt, &(fk_vk_bind){v->impl, 0, 0, 0}, &(fk_vk_bind){vt, 0, 0, 1}, v->numel,
                    lk, hd, e))
    return e->code;
  for (size_t c0 = 0; c0 < bh; c0 += g) {
    uint32_t n = (uint32_t)(bh - c0 < g ? bh - c0 : g);
    fk_nn_mm qk = {n, lq, lk, d, lq * d, d * lk, lq * lk, 0};
    fk_vk_bind b1[] = {{qh, c0 * lq * d * elt, 0, 0},
                       {kt, c0 * d * lk * elt, 0, 0},
                       {kt, c0 * d * lk * elt, 0, 0}, /* no bias */
                       {s, 0, 0, 1}};
    struct {
      uint32_t d, rows;
      float scale;
    } sp = {lk, n * lq, 1.0f / sqrtf((float)d)};
    uint32_t maxx = nn->vk->caps.max_wg_count[0], rows = n * lq;
    uint32_t gx = rows < maxx ? rows : maxx, gy = (rows + gx - 1) / gx;
    fk_vk_bind b2[] = {{s, 0, 0, FK_VK_IN_PLACE}};
    fk_nn_mm pv = {n, d, lq, lk, d * lk, lq * lk, d * lq, 1};
    fk_vk_bind b3[] = {{vt, c0 * d * lk * elt, 0, 0},
                       {s, 0, 0, 0},
                       {s, 0, 0, 0}, /* no bias */
                       {ot, c0 * d * lq * elt, 0, 1}};
    VkFormat texel[FK_VK_MAX_TEXELS] = {VK_FORMAT_UNDEFINED, VK_FORMAT_UNDEFINED};
    int tex = lk % 4 == 0 && texel_binds(nn, dt, b2, 1, texel);
    char nm[32];
    snprintf(nm, sizeof nm, "softmax_lvp%s%s", dt == FK_NN_F16 ? "_f16" : "", tex ? "_tex" : "");
    if (matmul_lvp(nn, dt, &qk, b1, 0, e) ||
        dispatch_texel(nn, nm, NULL, 0, b2, 1, texel, &sp, sizeof sp, gx, gy, 1, e) ||
        matmul_lvp(nn, dt, &pv, b3, 0, e))
      return e->code;
  }
  return transpose_buf(nn, dt, &(fk_vk_bind){ot, 0, 0, 0}, &(fk_vk_bind){out->impl, 0, 0, 1},
                       q->numel, hd, lq, e);
}

int fk_nn_vk_attention(fk_nn *nn, const fk_tensor *q, const fk_tensor *k, const fk_tensor *v,
                       fk_tensor *out, int causal, fk_err *e) {
  if (use_lvp(nn) && !causal) {
    int rc = attention_lvp(nn, q, k, v, out, e);
    if (rc != -1) return rc;
  }
  char nm[64];
  uint32_t b = (uint32_t)q->shape[0], lq = (uint32_t)q->shape[1], heads = (uint32_t)q->shape[2];
  uint32_t d = (uint32_t)q->shape[3];
  struct {
    uint32_t lq, lk, heads;
    float scale;
  } push = {lq, (uint32_t)k->shape[1], heads, 1.0f / sqrtf((float)d)};
  uint32_t spec[5] = {64, 1, 1, d, causal ? 1u : 0u};
  fk_vk_bind bd[] = {
      {q->impl, 0, 0, 0}, {k->impl, 0, 0, 0}, {v->impl, 0, 0, 0}, {out->impl, 0, 0, 1}};
  return dispatch(nn, var(q, "attention", nm, sizeof nm), spec, 5, bd, 4, &push, sizeof push,
                  (lq + 63) / 64, b * heads, 1, e);
}

int fk_nn_vk_resample(fk_nn *nn, fk_nn_resample mode, uint32_t r, const fk_nn_rs *g,
                      const fk_tensor *x, fk_tensor *y, fk_err *e) {
  char nm[64];
  uint32_t spec[5] = {WG, 1, 1, (uint32_t)mode, r ? r : 1}, gx, gy;
  const size_t el = elt(x), px = (size_t)g->h * g->w * el, py = (size_t)g->oh * g->ow * el;
  if (x->numel * el <= range_bytes(nn) && y->numel * el <= range_bytes(nn)) {
    grid_1d(nn, g->total, &gx, &gy);
    fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
    return dispatch(nn, var(x, "resample", nm, sizeof nm), spec, 5, b, 2, g, sizeof *g, gx, gy, 1,
                    e);
  }
  /* plane to plane (not the pixel shuffle): runs of the N * C planes */
  if (mode == FK_NN_PIXEL_SHUFFLE) return split_error(nn, "pixel shuffle", "it does not split", e);
  size_t planes = (size_t)x->shape[0] * g->c, per = per_part(nn, px, py, planes);
  if (!per) return split_error(nn, "resample", "one plane exceeds it", e);
  for (size_t p0 = 0; p0 < planes; p0 += per) {
    size_t n = planes - p0 < per ? planes - p0 : per;
    fk_nn_rs part = *g;
    part.total = (uint32_t)(n * g->oh * g->ow);
    grid_1d(nn, part.total, &gx, &gy);
    fk_vk_bind b[] = {{x->impl, p0 * px, n * px, 0}, {y->impl, p0 * py, n * py, 1}};
    if (dispatch(nn, var(x, "resample", nm, sizeof nm), spec, 5, b, 2, &part, sizeof part, gx, gy,
                 1, e))
      return e->code;
  }
  return FK_OK;
}

int fk_nn_vk_copy_channels(fk_nn *nn, const fk_tensor *x, fk_tensor *y, uint32_t count, uint32_t sx,
                           uint32_t dy, fk_err *e) {
  const uint32_t hw = (uint32_t)(x->shape[2] * x->shape[3]), images = (uint32_t)x->shape[0];
  /* total, hw, count, cx, sx, cy, dy */
  uint32_t push[7] = {images * count * hw,   hw, count, (uint32_t)x->shape[1], sx,
                      (uint32_t)y->shape[1], dy};
  const size_t el = elt(x), plane = (size_t)hw * el;
  if (x->numel * el <= range_bytes(nn) && y->numel * el <= range_bytes(nn)) {
    /* Reads x, writes y: several copies into one y (a concatenation) write
     * disjoint channels but bind the whole tensor, so they are ordered. */
    fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
    return copy_run(nn, x->dtype, b, push, images, e);
  }
  /* per image, runs of the copied channels, each a contiguous range of x and y */
  size_t per = per_part(nn, plane, 0, count);
  if (!per) return split_error(nn, "copy channels", "one plane exceeds it", e);
  for (size_t n = 0; n < images; n++)
    for (size_t c0 = 0; c0 < count; c0 += per) {
      size_t k = count - c0 < per ? count - c0 : per;
      size_t ox = (n * push[3] + sx + c0) * plane, oy = (n * push[5] + dy + c0) * plane;
      if (!aligned(nn, ox, oy)) return split_error(nn, "copy channels", MISALIGNED, e);
      uint32_t part[7] = {(uint32_t)(k * hw), hw, (uint32_t)k, (uint32_t)k, 0, (uint32_t)k, 0};
      fk_vk_bind b[] = {{x->impl, ox, k * plane, 0}, {y->impl, oy, k * plane, 1}};
      if (copy_run(nn, x->dtype, b, part, 1, e)) return e->code;
    }
  return FK_OK;
}

/* y [b, n, m] = x [b, m, n] over total elements, on bound buffers. */
static int transpose_buf(fk_nn *nn, fk_nn_dtype dt, const fk_vk_bind *x, const fk_vk_bind *y,
                         size_t total, uint32_t m, uint32_t n, fk_err *e) {
  struct {
    uint32_t total, m, n;
  } push = {(uint32_t)total, m, n};
  uint32_t spec[3] = {WG, 1, 1}, gx, gy;
  grid_1d(nn, total, &gx, &gy);
  fk_vk_bind b[] = {*x, *y};
  return dispatch(nn, dt == FK_NN_F16 ? "transpose_f16" : "transpose", spec, 3, b, 2, &push,
                  sizeof push, gx, gy, 1, e);
}

int fk_nn_vk_transpose(fk_nn *nn, const fk_tensor *x, fk_tensor *y, uint32_t m, uint32_t n,
                       fk_err *e) {
  return transpose_buf(nn, x->dtype, &(fk_vk_bind){x->impl, 0, 0, 0},
                       &(fk_vk_bind){y->impl, 0, 0, 1}, x->numel, m, n, e);
}

int fk_nn_vk_warp(fk_nn *nn, const fk_tensor *x, const fk_tensor *flow, fk_tensor *y, fk_err *e) {
  char nm[64];
  struct {
    uint32_t total, c, h, w;
  } push = {(uint32_t)x->numel, (uint32_t)x->shape[1], (uint32_t)x->shape[2],
            (uint32_t)x->shape[3]};
  uint32_t spec[3] = {WG, 1, 1}, gx, gy;
  const size_t el = elt(x), hw = (size_t)push.h * push.w, plane = hw * el, c = push.c;
  if (x->numel * el <= range_bytes(nn) && flow->numel * el <= range_bytes(nn)) {
    grid_1d(nn, x->numel, &gx, &gy);
    fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {flow->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
    return dispatch(nn, var(x, "warp", nm, sizeof nm), spec, 3, b, 3, &push, sizeof push, gx, gy, 1,
                    e);
  }
  /* per image (its flow bound alone), runs of channels */
  size_t per = 2 * plane <= range_bytes(nn) ? per_part(nn, plane, 0, c) : 0;
  if (!per) return split_error(nn, "warp", "one image's flow exceeds it", e);
  for (size_t n = 0; n < (size_t)x->shape[0]; n++)
    for (size_t c0 = 0; c0 < c; c0 += per) {
      size_t k = c - c0 < per ? c - c0 : per, ox = (n * c + c0) * plane, of = n * 2 * plane;
      if (!aligned(nn, ox, of)) return split_error(nn, "warp", MISALIGNED, e);
      push.total = (uint32_t)(k * hw);
      push.c = (uint32_t)k;
      grid_1d(nn, push.total, &gx, &gy);
      fk_vk_bind b[] = {
          {x->impl, ox, k * plane, 0}, {flow->impl, of, 2 * plane, 0}, {y->impl, ox, k * plane, 1}};
      if (dispatch(nn, var(x, "warp", nm, sizeof nm), spec, 3, b, 3, &push, sizeof push, gx, gy, 1,
                   e))
        return e->code;
    }
  return FK_OK;
}

int fk_nn_naive_matmul(fk_nn *nn, const fk_tensor *a, const fk_tensor *b, fk_tensor *c, fk_err *e) {
  if (nn->kind != FK_NN_VULKAN || a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0] ||
      a->dtype != FK_NN_F32 || b->dtype != FK_NN_F32 || c->dtype != FK_NN_F32)
    return fk_err_set(e, FK_EINTERNAL, "naive matmul: Vulkan, 2-d, matching shapes");
  struct {
    uint32_t m, n, k;
  } push = {(uint32_t)a->shape[0], (uint32_t)b->shape[1], (uint32_t)a->shape[1]};
  fk_vk_bind bd[] = {{a->impl, 0, 0, 0}, {b->impl, 0, 0, 0}, {c->impl, 0, 0, 1}};
  return dispatch(nn, "naive_matmul", NULL, 0, bd, 3, &push, sizeof push, (push.n + 15) / 16,
                  (push.m + 15) / 16, 1, e);
}

int fk_nn_naive_conv3x3(fk_nn *nn, const fk_tensor *x, const fk_tensor *w, fk_tensor *y,
                        fk_err *e) {
  if (nn->kind != FK_NN_VULKAN || x->ndim != 4 || x->shape[0] != 1 || w->shape[2] != 3 ||
      x->dtype != FK_NN_F32 || w->dtype != FK_NN_F32 || y->dtype != FK_NN_F32)
    return fk_err_set(e, FK_EINTERNAL, "naive conv: Vulkan, batch 1, 3x3");
  struct {
    uint32_t cin, h, w, cout;
  } push = {(uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
            (uint32_t)w->shape[0]};
  fk_vk_bind bd[] = {{x->impl, 0, 0, 0}, {w->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
  return dispatch(nn, "naive_conv3x3", NULL, 0, bd, 3, &push, sizeof push,
                  (push.h * push.w + 15) / 16, (push.cout + 15) / 16, 1, e);
}

int fk_nn_vk_conv_transpose2d(fk_nn *nn, const fk_nn_ct *g, const fk_tensor *x, const fk_tensor *w,
                              const fk_tensor *bias, fk_tensor *y, fk_err *e) {
  char nm[64];
  struct {
    uint32_t total;
    int32_t cin, h, w, cout, oh, ow, pad;
  } push = {(uint32_t)y->numel, (int32_t)g->cin, (int32_t)g->h,  (int32_t)g->w,
            (int32_t)g->cout,   (int32_t)g->oh,  (int32_t)g->ow, g->pad};
  uint32_t spec[6] = {WG, 1, 1, g->k, (uint32_t)g->stride, bias ? 1u : 0u}, gx, gy;
  grid_1d(nn, y->numel, &gx, &gy);
  fk_vk_bind bd[] = {{x->impl, 0, 0, 0},
                     {w->impl, 0, 0, 0},
                     {bias ? bias->impl : w->impl, 0, 0, 0}, /* unread without bias */
                     {y->impl, 0, 0, 1}};
  return dispatch(nn, var(x, "conv_transpose", nm, sizeof nm), spec, 6, bd, 4, &push, sizeof push,
                  gx, gy, 1, e);
}
