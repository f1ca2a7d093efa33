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

int fk_nn_vk_unary(fk_nn *nn, fk_nn_unary op, const fk_tensor *x, fk_tensor *y, float alpha,
                   float beta, fk_err *e) {
  char nm[64];
  struct {
    uint32_t n;
    float alpha, beta;
  } push = {(uint32_t)x->numel, alpha, beta};
  uint32_t spec[4] = {WG, 1, 1, (uint32_t)op}, gx, gy;
  grid_1d(nn, x->numel, &gx, &gy);
  fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
  return dispatch(nn, var(x, "unary", nm, sizeof nm), spec, 4, b, 2, &push, sizeof push, gx, gy, 1,
                  e);
}

int fk_nn_vk_binary(fk_nn *nn, fk_nn_binary op, const fk_tensor *a, const fk_tensor *b,
                    fk_tensor *y, const int64_t *bstride, fk_err *e) {
  char nm[64];
  struct {
    uint32_t n, shape[4], bstride[4];
  } push = {(uint32_t)a->numel, {1, 1, 1, 1}, {0, 0, 0, 0}};
  int off = 4 - a->ndim;
  for (int i = 0; i < a->ndim; i++) push.shape[off + i] = (uint32_t)a->shape[i];
  for (int i = 0; i < 4; i++) push.bstride[i] = (uint32_t)bstride[i];
  uint32_t spec[4] = {WG, 1, 1, op == FK_NN_ADD ? 0u : 1u}, gx, gy;
  grid_1d(nn, a->numel, &gx, &gy);
  fk_vk_bind bd[] = {{a->impl, 0, 0, 0}, {b->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
  return dispatch(nn, var(a, "binary", nm, sizeof nm), spec, 4, bd, 3, &push, sizeof push, gx, gy,
                  1, e);
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
 * shader's TALL and WIDE): 8 x 16 measured 1.14x faster than 16 x 8 on an
 * AVX2 host (fewer broadcasts per multiply); 16 x 8 stays where it was
 * measured best, on AVX-512, and where N is too narrow to fill 128
 * columns. FUNKY_LVP_BLOCK=16x8|8x16|8x8|16x16 overrides (tests). */
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
  *tall = !*wide;
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
 * shape allows (see the shader's header). */
static int conv2d_lvp(fk_nn *nn, const fk_nn_cg *g, const fk_tensor *x, const fk_vk_bind *bd,
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
  uint32_t lspec[10] = {8, 1, 1, spec[3], spec[4], spec[5], spec[6], spec[7], mode, avec};
  /* texel views where the kernel reads vec4s: modes 1-3, and W in mode 0 */
  VkFormat texel[FK_VK_MAX_TEXELS] = {VK_FORMAT_UNDEFINED, VK_FORMAT_UNDEFINED};
  int tex = (mode != 0 || avec) && texel_binds(nn, x->dtype, bd, 2, texel);
  snprintf(nm, sizeof nm, "conv2d_lvp%s%s", x->dtype == FK_NN_F16 ? "_f16" : "", tex ? "_tex" : "");
  return dispatch_texel(nn, nm, lspec, 10, bd, 4, texel, &push, sizeof push, (ncols + 63) / 64,
                        (g->cout + 15) / 16, 1, e);
}

int fk_nn_vk_conv2d(fk_nn *nn, const fk_nn_cg *g, const fk_tensor *x, const fk_tensor *w,
                    const fk_tensor *bias, fk_tensor *y, fk_err *e) {
  char nm[64];
  struct {
    uint32_t cin, h, w, cout, oh, ow;
    int32_t pad_t, pad_l;
    float alpha;
  } push = {g->cin, g->h, g->w, g->cout, g->oh, g->ow, g->c->pad_t, g->c->pad_l, g->c->alpha};
  uint32_t spec[8] = {
      16, 16, 1, g->kh, g->kw, (uint32_t)g->c->stride, (uint32_t)g->c->act, bias ? 1u : 0u};
  fk_vk_bind bd[] = {{x->impl, 0, 0, 0},
                     {w->impl, 0, 0, 0},
                     {bias ? bias->impl : w->impl, 0, 0, 0}, /* unread without bias */
                     {y->impl, 0, 0, 1}};
  if (use_lvp(nn)) return conv2d_lvp(nn, g, x, bd, spec, e);
  return dispatch(nn, var(x, "conv2d", nm, sizeof nm), spec, 8, bd, 4, &push, sizeof push,
                  (g->oh * g->ow + 63) / 64, (g->cout + 63) / 64, g->n, e);
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
    fk_vk_bind b2[] = {{s, 0, 0, 1}};
    fk_nn_mm pv = {n, d, lq, lk, d * lk, lq * lk, d * lq, 1};
    fk_vk_bind b3[] = {{vt, c0 * d * lk * elt, 0, 0},
                       {s, 0, 0, 0},
                       {s, 0, 0, 0}, /* no bias */
                       {ot, c0 * d * lq * elt, 0, 1}};
    if (matmul_lvp(nn, dt, &qk, b1, 0, e) ||
        dispatch(nn, dt == FK_NN_F16 ? "softmax_lvp_f16" : "softmax_lvp", NULL, 0, b2, 1, &sp,
                 sizeof sp, gx, gy, 1, e) ||
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
  grid_1d(nn, g->total, &gx, &gy);
  fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
  return dispatch(nn, var(x, "resample", nm, sizeof nm), spec, 5, b, 2, g, sizeof *g, gx, gy, 1, e);
}

int fk_nn_vk_copy_channels(fk_nn *nn, const fk_tensor *x, fk_tensor *y, uint32_t count, uint32_t sx,
                           uint32_t dy, fk_err *e) {
  char nm[64];
  uint32_t hw = (uint32_t)(x->shape[2] * x->shape[3]);
  struct {
    uint32_t total, hw, count, cx, sx, cy, dy;
  } push = {(uint32_t)x->shape[0] * count * hw,
            hw,
            count,
            (uint32_t)x->shape[1],
            sx,
            (uint32_t)y->shape[1],
            dy};
  uint32_t spec[3] = {WG, 1, 1}, gx, gy;
  grid_1d(nn, push.total, &gx, &gy);
  /* Reads x, writes y: several copies into one y (a concatenation) write
   * disjoint channels but bind the whole tensor, so they are ordered. */
  fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
  return dispatch(nn, var(x, "copy_channels", nm, sizeof nm), spec, 3, b, 2, &push, sizeof push, gx,
                  gy, 1, e);
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
  grid_1d(nn, x->numel, &gx, &gy);
  fk_vk_bind b[] = {{x->impl, 0, 0, 0}, {flow->impl, 0, 0, 0}, {y->impl, 0, 0, 1}};
  return dispatch(nn, var(x, "warp", nm, sizeof nm), spec, 3, b, 3, &push, sizeof push, gx, gy, 1,
                  e);
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
