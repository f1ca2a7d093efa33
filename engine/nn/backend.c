/* Backend selection, tensors and the shape checks every op shares; the
 * kernels themselves are in cpu_ops.c and vk_ops.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "image/image.h"
#include "nn/cpu_internal.h"
#include "nn/nn_internal.h"

int fk_nn_open(const fk_nn_opts *o, fk_nn **out, fk_err *e) {
  *out = NULL;
  fk_nn *nn = fk_zalloc(1, sizeof *nn);
  if (!nn) return fk_err_oom(e, "a compute backend", sizeof *nn);
  nn->kind = o ? o->kind : FK_NN_CPU;
  if (nn->kind == FK_NN_AUTO) {
    /* Vulkan's own pick prefers GPUs: when it picks a CPU device (lavapipe)
     * or finds none, the CPU backend is the faster way (ANCHORS.md). */
    fk_vk_opts vo = {.validation = o->validation, .device = o->device};
    fk_err ve = {0};
    if (!fk_vk_create(&nn->vk, &vo, &ve) && nn->vk->caps.type != VK_PHYSICAL_DEVICE_TYPE_CPU) {
      nn->kind = FK_NN_VULKAN;
    } else {
      fk_vk_destroy(nn->vk);
      nn->vk = NULL;
      nn->kind = FK_NN_CPU;
    }
  }
  if (nn->kind == FK_NN_CPU) {
    nn->reference = o && o->reference;
    if (nn->reference) {
      snprintf(nn->name, sizeof nn->name, "cpu (reference kernels)");
    } else {
      int rc =
          fk_cpu_new(o ? o->threads : 0, o ? o->tile_floats : 0, o ? o->profile : 0, &nn->cpu, e);
      if (rc) {
        free(nn);
        return rc;
      }
      snprintf(nn->name, sizeof nn->name, "cpu (%d threads, OpenBLAS sgemm)",
               fk_cpu_pool_threads(nn->cpu->pool));
    }
    *out = nn;
    return FK_OK;
  }
  fk_vk_opts vo = {.validation = o->validation, .device = o->device};
  int rc = nn->vk ? FK_OK : fk_vk_create(&nn->vk, &vo, e);
  if (!rc) rc = fk_vk_pipes_new(nn->vk, &nn->pipes, e);
  if (!rc) rc = fk_vk_allocator_new(nn->vk, &nn->alloc, e);
  if (!rc) {
    nn->prof = fk_vk_profile_new(o->profile);
    rc = fk_vk_rec_begin(nn->vk, nn->pipes, nn->prof, &nn->rec, e);
  }
  if (rc) {
    fk_nn_close(nn);
    return rc;
  }
  snprintf(nn->name, sizeof nn->name, "vulkan: %s", nn->vk->caps.name);
  *out = nn;
  return FK_OK;
}

static void release_deferred(fk_nn *nn) {
  for (uint32_t i = 0; i < nn->n_deferred; i++) {
    fk_vk_buffer_free(nn->alloc, nn->deferred[i]);
    free(nn->deferred[i]);
  }
  nn->n_deferred = 0;
}

int fk_nn_sync(fk_nn *nn, fk_err *e) {
  if (nn->kind == FK_NN_CPU || !nn->pending) return FK_OK;
  int rc = fk_vk_rec_submit(nn->rec, e);
  nn->pending = 0;
  release_deferred(nn);
  return rc;
}

void fk_nn_close(fk_nn *nn) {
  if (!nn) return;
  fk_cpu_free(nn->cpu);
  if (nn->vk) {
    fk_err e;
    fk_nn_sync(nn, &e);
    release_deferred(nn);
    fk_vk_rec_free(nn->rec);
    if (nn->prof) fk_vk_profile_print(nn->prof, stderr);
    fk_vk_profile_free(nn->prof);
    fk_vk_allocator_free(nn->alloc);
    fk_vk_pipes_free(nn->pipes);
    fk_vk_destroy(nn->vk);
  }
  free(nn);
}

int fk_nn_parse_device(const char *name, fk_nn_opts *o) {
  if (!strcmp(name, "cpu")) {
    o->kind = FK_NN_CPU;
  } else if (!strcmp(name, "gpu") || !strcmp(name, "vulkan")) {
    o->kind = FK_NN_VULKAN;
  } else if (!strcmp(name, "lavapipe")) {
    o->kind = FK_NN_VULKAN;
    o->device = "llvmpipe"; /* lavapipe's device name */
  } else if (!strcmp(name, "auto")) {
    o->kind = FK_NN_AUTO;
  } else {
    return -1;
  }
  return 0;
}

double fk_nn_profile_ms(const fk_nn *nn, const char *kernel) {
  return nn->prof ? fk_vk_profile_ms(nn->prof, kernel) : 0.0;
}

fk_nn_kind fk_nn_kind_of(const fk_nn *nn) {
  return nn->kind;
}
const char *fk_nn_name(const fk_nn *nn) {
  return nn->name;
}
int fk_nn_threads(const fk_nn *nn) {
  if (nn->kind != FK_NN_CPU) return 0;
  return nn->cpu ? fk_cpu_pool_threads(nn->cpu->pool) : 1;
}
size_t fk_nn_device_used(const fk_nn *nn) {
  return nn->alloc ? (size_t)fk_vk_allocator_used(nn->alloc) : 0;
}
size_t fk_nn_device_peak(const fk_nn *nn) {
  return nn->alloc ? (size_t)fk_vk_allocator_peak(nn->alloc) : 0;
}
size_t fk_nn_max_tensor_bytes(const fk_nn *nn) {
  if (!nn->vk || nn->vk->caps.max_alloc >= SIZE_MAX) return SIZE_MAX;
  return (size_t)nn->vk->caps.max_alloc;
}
size_t fk_nn_max_binding_bytes(const fk_nn *nn) {
  if (!nn->vk || nn->vk->caps.max_storage_range >= SIZE_MAX) return SIZE_MAX;
  return (size_t)nn->vk->caps.max_storage_range;
}
size_t fk_nn_device_budget(const fk_nn *nn) {
  if (!nn->vk) return SIZE_MAX;
  uint64_t b = nn->vk->caps.device_local_bytes, lim = fk_vk_allocator_limit(nn->alloc);
  if (!b) b = nn->vk->caps.host_visible_bytes;
  if (lim && lim < b) b = lim;
  return b && b < SIZE_MAX ? (size_t)b : SIZE_MAX;
}
uint32_t fk_nn_validation_messages(const fk_nn *nn) {
  return nn->vk ? nn->vk->validation_messages : 0;
}

int fk_nn_vk_scratch(fk_nn *nn, size_t bytes, int host, fk_vk_buffer **out, fk_err *e) {
  if (nn->n_deferred == FK_NN_MAX_DEFERRED && fk_nn_sync(nn, e)) return e->code;
  fk_vk_buffer *b = fk_zalloc(1, sizeof *b);
  if (!b) return fk_err_oom(e, "a scratch buffer", sizeof *b);
  if (fk_vk_buffer_new(nn->alloc, bytes, host ? FK_VK_HOST_VISIBLE : FK_VK_DEVICE_LOCAL, b, e)) {
    free(b);
    return e->code;
  }
  nn->deferred[nn->n_deferred++] = b;
  *out = b;
  return FK_OK;
}

/* CPU tensor elements: through the fast backend's buffer cache. */
static float *cpu_host_alloc(fk_nn *nn, size_t numel) {
  return nn->cpu ? fk_cpu_alloc(nn->cpu, numel * sizeof(float)) : fk_alloc(numel, sizeof(float));
}

static void cpu_host_free(fk_nn *nn, void *p, size_t numel) {
  if (nn->cpu)
    fk_cpu_release(nn->cpu, p, numel * sizeof(float));
  else
    free(p);
}

int fk_tensor_new(fk_nn *nn, fk_nn_dtype dt, int ndim, const int64_t *shape, fk_tensor **out,
                  fk_err *e) {
  *out = NULL;
  /* fp16 storage only where the device has it (and FUNKY_VK_NO_FP16 is
   * not set); elsewhere an F16 tensor is stored, and reported, as F32.
   * The fast CPU backend keeps a large one (a weight) as fp16 when its
   * values survive the round trip exactly (see fk_tensor_write). */
  int asked_f16 = dt == FK_NN_F16;
  if (dt == FK_NN_F16 && !(nn->kind == FK_NN_VULKAN && nn->vk->caps.fp16_enabled)) dt = FK_NN_F32;
  if (ndim < 1 || ndim > FK_NN_MAX_DIMS)
    return fk_err_set(e, FK_EINTERNAL, "tensors have 1..%d dimensions, not %d", FK_NN_MAX_DIMS,
                      ndim);
  size_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31) ||
        numel > ((size_t)1 << 34) / (size_t)shape[i])
      return fk_err_set(e, FK_EINTERNAL, "tensor dimension %d of size %lld is out of range", i,
                        (long long)shape[i]);
    numel *= (size_t)shape[i];
  }
  fk_tensor *t = fk_zalloc(1, sizeof *t);
  if (!t) return fk_err_oom(e, "a tensor", sizeof *t);
  t->nn = nn;
  t->dtype = dt;
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  t->numel = numel;
  t->f16_ok = asked_f16 && nn->kind == FK_NN_CPU && !nn->reference && numel >= 16384;
  if (nn->kind == FK_NN_CPU) {
    /* a possible fp16 weight gets its storage when written */
    t->host = t->f16_ok ? NULL : cpu_host_alloc(nn, numel);
    if (!t->host && !t->f16_ok) {
      free(t);
      return fk_err_oom(e, "tensor data", numel * sizeof(float));
    }
  } else {
    fk_vk_buffer *b = fk_zalloc(1, sizeof *b);
    size_t elem = dt == FK_NN_F16 ? 2 : sizeof(float);
    if (!b || fk_vk_buffer_new(nn->alloc, numel * elem, FK_VK_DEVICE_LOCAL, b, e)) {
      int rc = b ? e->code : fk_err_oom(e, "a tensor", sizeof *b);
      free(b);
      free(t);
      return rc;
    }
    t->impl = b;
  }
  *out = t;
  return FK_OK;
}

void fk_tensor_free(fk_tensor *t) {
  if (!t) return;
  fk_nn *nn = t->nn;
  if (t->impl && nn->kind == FK_NN_CPU) {
    free(t->impl); /* the fp16 copy */
  } else if (t->impl) {
    /* An op recorded but not yet run may still use the buffer. */
    if (nn->pending && nn->n_deferred < FK_NN_MAX_DEFERRED) {
      nn->deferred[nn->n_deferred++] = t->impl;
    } else {
      fk_err e;
      fk_nn_sync(nn, &e);
      fk_vk_buffer_free(nn->alloc, t->impl);
      free(t->impl);
    }
  }
  if (nn->kind == FK_NN_CPU)
    cpu_host_free(nn, t->host, t->numel);
  else
    free(t->host);
  free(t);
}

int fk_tensor_reshape(fk_tensor *t, int ndim, const int64_t *shape, fk_err *e) {
  size_t n = 1;
  for (int i = 0; i < ndim && ndim <= FK_NN_MAX_DIMS; i++) n *= shape[i] > 0 ? (size_t)shape[i] : 0;
  if (ndim < 1 || ndim > FK_NN_MAX_DIMS || n != t->numel)
    return fk_err_set(e, FK_EINTERNAL, "reshape to %d dimensions changes the element count", ndim);
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  return FK_OK;
}

fk_tensor *fk_tensor_nchw(fk_nn *nn, fk_nn_dtype dt, int64_t n, int64_t c, int64_t h, int64_t w,
                          fk_err *e) {
  fk_tensor *t;
  const int64_t shape[4] = {n, c, h, w};
  return fk_tensor_new(nn, dt, 4, shape, &t, e) ? NULL : t;
}

int fk_tensor_view_nc(fk_tensor *t, int64_t n, int64_t c, fk_err *e) {
  const int64_t shape[4] = {n, c, t->shape[2], t->shape[3]};
  return fk_tensor_reshape(t, 4, shape, e);
}

/* CPU: the tensor's float32 elements, widening an fp16 copy back for
 * good (a weight used where no kernel reads fp16: a bias, a norm's gamma).
 * Storage changes; the values do not, so the tensor stays logically const. */
static int cpu_f32(const fk_tensor *ct, fk_err *e) {
  fk_tensor *t = (fk_tensor *)ct;
  if (!t || t->host) return FK_OK;
  float *f = cpu_host_alloc(t->nn, t->numel);
  if (!f) return fk_err_oom(e, "tensor data", t->numel * sizeof *f);
  if (t->impl) fk_cpu_widen(t->impl, f, t->numel);
  free(t->impl);
  t->impl = NULL;
  t->host = f;
  return FK_OK;
}

/* CPU: a weight-sized tensor made as F16 is kept as fp16 when that loses
 * nothing (the weights of an fp16 checkpoint): half the memory, and the
 * matmul and conv kernels widen it a panel at a time. */
static int cpu_write(fk_tensor *t, const float *src, fk_err *e) {
  if (t->f16_ok) {
    uint16_t *h = t->impl ? t->impl : fk_alloc(t->numel, sizeof *h);
    if (h && fk_cpu_narrow_exact(src, h, t->numel)) {
      cpu_host_free(t->nn, t->host, t->numel);
      t->host = NULL;
      t->impl = h;
      return FK_OK;
    }
    if (h && h != t->impl) free(h);
  }
  if (cpu_f32(t, e)) return e->code;
  memcpy(t->host, src, t->numel * sizeof(float));
  return FK_OK;
}

int fk_tensor_write(fk_tensor *t, const float *src, fk_err *e) {
  if (t->nn->kind == FK_NN_CPU) return cpu_write(t, src, e);
  /* Ops recorded earlier may read this tensor: run them first. */
  if (fk_nn_sync(t->nn, e)) return e->code;
  if (t->dtype == FK_NN_F16) {
    uint16_t *h = fk_alloc(t->numel, sizeof *h);
    if (!h) return fk_err_oom(e, "an fp16 upload", t->numel * sizeof *h);
    fk_half_from_float_n(src, h, t->numel);
    int rc = fk_vk_upload(t->nn->alloc, t->impl, 0, h, t->numel * sizeof *h, e);
    free(h);
    return rc;
  }
  return fk_vk_upload(t->nn->alloc, t->impl, 0, src, t->numel * sizeof(float), e);
}

int fk_tensor_read(fk_tensor *t, float *dst, fk_err *e) {
  if (t->host) {
    memcpy(dst, t->host, t->numel * sizeof(float));
    return FK_OK;
  }
  if (t->nn->kind == FK_NN_CPU) {
    if (t->impl) {
      fk_cpu_widen(t->impl, dst, t->numel);
      return FK_OK;
    }
    if (cpu_f32(t, e)) return e->code; /* never written: whatever it holds */
    memcpy(dst, t->host, t->numel * sizeof(float));
    return FK_OK;
  }
  if (fk_nn_sync(t->nn, e)) return e->code;
  if (t->dtype == FK_NN_F16) {
    uint16_t *h = fk_alloc(t->numel, sizeof *h);
    if (!h) return fk_err_oom(e, "an fp16 download", t->numel * sizeof *h);
    int rc = fk_vk_download(t->nn->alloc, t->impl, 0, h, t->numel * sizeof *h, e);
    if (!rc) fk_half_to_float_n(h, dst, t->numel);
    free(h);
    return rc;
  }
  return fk_vk_download(t->nn->alloc, t->impl, 0, dst, t->numel * sizeof(float), e);
}

static int same_shape(const fk_tensor *a, const fk_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  return 1;
}

/* Every tensor of an op has the same storage: one shader variant runs it. */
static int same_dtype(const char *op, const fk_tensor *const *t, int n, fk_err *e) {
  for (int i = 1; i < n; i++)
    if (t[i] && t[i]->dtype != t[0]->dtype)
      return fk_err_set(e, FK_EINTERNAL, "%s: tensors mix fp16 and fp32 storage", op);
  return FK_OK;
}

static int check_pair(const char *op, const fk_tensor *x, const fk_tensor *y, fk_err *e) {
  if (x->nn != y->nn) return fk_err_set(e, FK_EINTERNAL, "%s: tensors on different backends", op);
  if (same_dtype(op, (const fk_tensor *[]){x, y}, 2, e)) return e->code;
  if (!same_shape(x, y))
    return fk_err_set(e, FK_EINTERNAL, "%s: output shape differs from input", op);
  return FK_OK;
}

int fk_nn_unary_op(fk_nn *nn, fk_nn_unary op, const fk_tensor *x, fk_tensor *y, float alpha,
                   float beta, fk_err *e) {
  if (check_pair("unary op", x, y, e)) return e->code;
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference)
      fk_nn_cpu_unary(op, x->host, y->host, x->numel, alpha, beta);
    else {
      double t0 = fk_cpu_prof_start(nn->cpu);
      fk_cpu_unary(nn->cpu->pool, op, x->host, y->host, x->numel, alpha, beta);
      fk_cpu_prof_end(nn->cpu, "unary", t0);
    }
    return FK_OK;
  }
  return fk_nn_vk_unary(nn, op, x, y, alpha, beta, e);
}

int fk_nn_binary_op(fk_nn *nn, fk_nn_binary op, const fk_tensor *a, const fk_tensor *b,
                    fk_tensor *y, fk_err *e) {
  if (check_pair("binary op", a, y, e)) return e->code;
  if (b->nn != a->nn)
    return fk_err_set(e, FK_EINTERNAL, "binary op: tensors on different backends");
  if (b->ndim > a->ndim)
    return fk_err_set(e, FK_EINTERNAL, "binary op: b has more dimensions than a");
  /* Strides of b over a's 4-d index space, 0 where b broadcasts. */
  int64_t shape[FK_NN_MAX_DIMS] = {1, 1, 1, 1}, bst[FK_NN_MAX_DIMS] = {0, 0, 0, 0};
  int off = FK_NN_MAX_DIMS - a->ndim, boff = FK_NN_MAX_DIMS - b->ndim;
  for (int i = 0; i < a->ndim; i++) shape[off + i] = a->shape[i];
  int64_t stride = 1;
  for (int d = FK_NN_MAX_DIMS - 1; d >= boff; d--) {
    int64_t bd = b->shape[d - boff];
    if (bd != 1 && bd != shape[d])
      return fk_err_set(e, FK_EINTERNAL,
                        "binary op: b's dimension of %lld cannot broadcast to %lld", (long long)bd,
                        (long long)shape[d]);
    bst[d] = bd == 1 ? 0 : stride;
    stride *= bd;
  }
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(a, e) || cpu_f32(b, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference)
      fk_nn_cpu_binary(op, a->host, b->host, y->host, FK_NN_MAX_DIMS, shape, bst);
    else {
      double t0 = fk_cpu_prof_start(nn->cpu);
      fk_cpu_binary(nn->cpu->pool, op, a->host, b->host, y->host, shape, bst);
      fk_cpu_prof_end(nn->cpu, "binary", t0);
    }
    return FK_OK;
  }
  return fk_nn_vk_binary(nn, op, a, b, y, bst, e);
}

/* Rows x cols of the last two dims, and the batch (product of the rest). */
static void mat_dims(const fk_tensor *t, uint32_t *batch, uint32_t *rows, uint32_t *cols) {
  *rows = t->ndim >= 2 ? (uint32_t)t->shape[t->ndim - 2] : 1;
  *cols = (uint32_t)t->shape[t->ndim - 1];
  size_t bt = 1;
  for (int i = 0; i + 2 < t->ndim; i++) bt *= (size_t)t->shape[i];
  *batch = (uint32_t)bt;
}

int fk_nn_matmul(fk_nn *nn, const fk_tensor *a, const fk_tensor *b, const fk_tensor *bias,
                 fk_tensor *c, int trans_b, fk_err *e) {
  if (a->nn != nn || b->nn != nn || c->nn != nn || (bias && bias->nn != nn))
    return fk_err_set(e, FK_EINTERNAL, "matmul: tensors on different backends");
  if (same_dtype("matmul", (const fk_tensor *[]){a, b, c, bias}, 4, e)) return e->code;
  uint32_t ba, m, k, bb, br, bc, bcz, cm, cn;
  mat_dims(a, &ba, &m, &k);
  mat_dims(b, &bb, &br, &bc);
  mat_dims(c, &bcz, &cm, &cn);
  uint32_t bk = trans_b ? bc : br, n = trans_b ? br : bc;
  uint32_t batch = ba > bb ? ba : bb;
  if (bk != k || cm != m || cn != n || bcz != batch || (ba != batch && ba != 1) ||
      (bb != batch && bb != 1))
    return fk_err_set(e, FK_EINTERNAL,
                      "matmul: shapes do not fit (a %ux%ux%u, b %ux%ux%u%s, c %ux%ux%u)", ba, m, k,
                      bb, br, bc, trans_b ? " transposed" : "", bcz, cm, cn);
  if (bias && bias->numel != n)
    return fk_err_set(e, FK_EINTERNAL, "matmul: bias has %zu values for %u columns", bias->numel,
                      n);
  fk_nn_mm g = {.batch = batch,
                .m = m,
                .n = n,
                .k = k,
                .sa = ba == 1 ? 0 : m * k,
                .sb = bb == 1 ? 0 : k * n,
                .sc = m * n,
                .trans_b = trans_b};
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(a, e) || cpu_f32(bias, e) || cpu_f32(c, e)) return e->code;
    if (!nn->reference) /* b may stay fp16: widened per panel */
    {
      double t0 = fk_cpu_prof_start(nn->cpu);
      int rc = fk_cpu_matmul(nn->cpu, &g, a->host, (fk_cpu_mat){b->host, b->host ? NULL : b->impl},
                             bias ? bias->host : NULL, c->host, e);
      fk_cpu_prof_end(nn->cpu, "matmul", t0);
      return rc;
    }
    if (cpu_f32(b, e)) return e->code;
    fk_nn_cpu_matmul(&g, a->host, b->host, bias ? bias->host : NULL, c->host);
    return FK_OK;
  }
  return fk_nn_vk_matmul(nn, &g, a, b, bias, c, e);
}

int fk_nn_conv2d(fk_nn *nn, const fk_tensor *x, const fk_tensor *w, const fk_tensor *bias,
                 fk_tensor *y, const fk_nn_conv *c, fk_err *e) {
  if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4)
    return fk_err_set(e, FK_EINTERNAL, "conv2d wants 4-d x, w and y");
  if (same_dtype("conv2d", (const fk_tensor *[]){x, w, y, bias}, 4, e)) return e->code;
  if (c->stride < 1 || c->pad_t < 0 || c->pad_l < 0 || c->pad_b < 0 || c->pad_r < 0)
    return fk_err_set(e, FK_EINTERNAL, "conv2d: bad stride or padding");
  fk_nn_cg g = {.n = (uint32_t)x->shape[0],
                .cin = (uint32_t)x->shape[1],
                .h = (uint32_t)x->shape[2],
                .w = (uint32_t)x->shape[3],
                .cout = (uint32_t)w->shape[0],
                .kh = (uint32_t)w->shape[2],
                .kw = (uint32_t)w->shape[3],
                .c = c};
  int64_t oh = ((int64_t)g.h + c->pad_t + c->pad_b - g.kh) / c->stride + 1;
  int64_t ow = ((int64_t)g.w + c->pad_l + c->pad_r - g.kw) / c->stride + 1;
  if (w->shape[1] != x->shape[1] || oh < 1 || ow < 1 || y->shape[0] != x->shape[0] ||
      y->shape[1] != w->shape[0] || y->shape[2] != oh || y->shape[3] != ow ||
      (bias && bias->numel != g.cout))
    return fk_err_set(e, FK_EINTERNAL,
                      "conv2d: shapes do not fit (x %lldx%lldx%lldx%lld, w %lldx%lldx%lldx%lld, "
                      "y should be %lldx%lldx%lldx%lld)",
                      (long long)x->shape[0], (long long)x->shape[1], (long long)x->shape[2],
                      (long long)x->shape[3], (long long)w->shape[0], (long long)w->shape[1],
                      (long long)w->shape[2], (long long)w->shape[3], (long long)x->shape[0],
                      (long long)w->shape[0], (long long)oh, (long long)ow);
  g.oh = (uint32_t)oh;
  g.ow = (uint32_t)ow;
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(bias, e) || cpu_f32(y, e)) return e->code;
    if (!nn->reference) /* w may stay fp16: widened per panel */
    {
      double t0 = fk_cpu_prof_start(nn->cpu);
      int rc = fk_cpu_conv2d(nn->cpu, &g, x->host, (fk_cpu_mat){w->host, w->host ? NULL : w->impl},
                             bias ? bias->host : NULL, y->host, e);
      fk_cpu_prof_end(nn->cpu, "conv2d", t0);
      return rc;
    }
    if (cpu_f32(w, e)) return e->code;
    fk_nn_cpu_conv2d(&g, x->host, w->host, bias ? bias->host : NULL, y->host);
    return FK_OK;
  }
  return fk_nn_vk_conv2d(nn, &g, x, w, bias, y, e);
}

int fk_nn_conv_transpose2d(fk_nn *nn, const fk_tensor *x, const fk_tensor *w, const fk_tensor *bias,
                           fk_tensor *y, int stride, int pad, fk_err *e) {
  if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || w->shape[2] != w->shape[3])
    return fk_err_set(e, FK_EINTERNAL,
                      "conv transpose wants 4-d x, y and a square [Cin, Cout, k, k] w");
  if (same_dtype("conv transpose", (const fk_tensor *[]){x, w, y, bias}, 4, e)) return e->code;
  fk_nn_ct g = {.n = (uint32_t)x->shape[0],
                .cin = (uint32_t)x->shape[1],
                .h = (uint32_t)x->shape[2],
                .w = (uint32_t)x->shape[3],
                .cout = (uint32_t)w->shape[1],
                .k = (uint32_t)w->shape[2],
                .stride = stride,
                .pad = pad};
  int64_t oh = ((int64_t)g.h - 1) * stride - 2 * pad + g.k;
  int64_t ow = ((int64_t)g.w - 1) * stride - 2 * pad + g.k;
  if (stride < 1 || pad < 0 || w->shape[0] != x->shape[1] || oh < 1 || ow < 1 ||
      y->shape[0] != x->shape[0] || y->shape[1] != w->shape[1] || y->shape[2] != oh ||
      y->shape[3] != ow || (bias && bias->numel != g.cout))
    return fk_err_set(e, FK_EINTERNAL,
                      "conv transpose: shapes do not fit (y should be %lldx%lldx%lldx%lld)",
                      (long long)x->shape[0], (long long)w->shape[1], (long long)oh, (long long)ow);
  g.oh = (uint32_t)oh;
  g.ow = (uint32_t)ow;
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(w, e) || cpu_f32(bias, e) || cpu_f32(y, e)) return e->code;
    fk_nn_cpu_conv_transpose2d(&g, x->host, w->host, bias ? bias->host : NULL, y->host);
    return FK_OK;
  }
  return fk_nn_vk_conv_transpose2d(nn, &g, x, w, bias, y, e);
}

int fk_nn_group_norm(fk_nn *nn, const fk_tensor *x, const fk_tensor *gamma, const fk_tensor *beta,
                     fk_tensor *y, int groups, float eps, int silu, fk_err *e) {
  if (check_pair("group norm", x, y, e) ||
      same_dtype("group norm", (const fk_tensor *[]){x, gamma, beta}, 3, e))
    return e->code;
  if (x->ndim < 2 || groups < 1 || x->shape[1] % groups)
    return fk_err_set(e, FK_EINTERNAL, "group norm: %d groups do not divide the channels", groups);
  size_t c = (size_t)x->shape[1], hw = x->numel / ((size_t)x->shape[0] * c);
  if (gamma->numel != c || beta->numel != c)
    return fk_err_set(e, FK_EINTERNAL, "group norm: gamma/beta need %zu values", c);
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(gamma, e) || cpu_f32(beta, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference)
      fk_nn_cpu_group_norm(x->host, gamma->host, beta->host, y->host, (size_t)x->shape[0], c, hw,
                           (size_t)groups, eps, silu);
    else {
      double t0 = fk_cpu_prof_start(nn->cpu);
      fk_cpu_group_norm(nn->cpu->pool, x->host, gamma->host, beta->host, y->host,
                        (size_t)x->shape[0], c, hw, (size_t)groups, eps, silu);
      fk_cpu_prof_end(nn->cpu, "group_norm", t0);
    }
    return FK_OK;
  }
  return fk_nn_vk_group_norm(nn, x, gamma, beta, y, groups, eps, silu, e);
}

int fk_nn_layer_norm(fk_nn *nn, const fk_tensor *x, const fk_tensor *gamma, const fk_tensor *beta,
                     fk_tensor *y, float eps, fk_err *e) {
  if (check_pair("layer norm", x, y, e) ||
      same_dtype("layer norm", (const fk_tensor *[]){x, gamma, beta}, 3, e))
    return e->code;
  size_t d = (size_t)x->shape[x->ndim - 1];
  if (gamma->numel != d || beta->numel != d)
    return fk_err_set(e, FK_EINTERNAL, "layer norm: gamma/beta need %zu values", d);
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(gamma, e) || cpu_f32(beta, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference)
      fk_nn_cpu_layer_norm(x->host, gamma->host, beta->host, y->host, x->numel / d, d, eps);
    else {
      double t0 = fk_cpu_prof_start(nn->cpu);
      fk_cpu_layer_norm(nn->cpu->pool, x->host, gamma->host, beta->host, y->host, x->numel / d, d,
                        eps);
      fk_cpu_prof_end(nn->cpu, "layer_norm", t0);
    }
    return FK_OK;
  }
  return fk_nn_vk_rows(nn, "layernorm", x, gamma, beta, y, eps, e);
}

int fk_nn_softmax(fk_nn *nn, const fk_tensor *x, fk_tensor *y, fk_err *e) {
  if (check_pair("softmax", x, y, e)) return e->code;
  size_t d = (size_t)x->shape[x->ndim - 1];
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference)
      fk_nn_cpu_softmax(x->host, y->host, x->numel / d, d);
    else {
      double t0 = fk_cpu_prof_start(nn->cpu);
      fk_cpu_softmax(nn->cpu->pool, x->host, y->host, x->numel / d, d);
      fk_cpu_prof_end(nn->cpu, "softmax", t0);
    }
    return FK_OK;
  }
  return fk_nn_vk_rows(nn, "softmax", x, NULL, NULL, y, 0, e);
}

int fk_nn_attention(fk_nn *nn, const fk_tensor *q, const fk_tensor *k, const fk_tensor *v,
                    fk_tensor *out, int causal, fk_err *e) {
  if (check_pair("attention", q, out, e) ||
      same_dtype("attention", (const fk_tensor *[]){q, k, v}, 3, e))
    return e->code;
  if (q->ndim != 4 || k->ndim != 4 || v->ndim != 4 || !same_shape(k, v) ||
      k->shape[0] != q->shape[0] || k->shape[2] != q->shape[2] || k->shape[3] != q->shape[3])
    return fk_err_set(e, FK_EINTERNAL, "attention: q, k, v must be [B, L, H, D] with k, v alike");
  size_t d = (size_t)q->shape[3];
  if (d > 256 || d % 4)
    return fk_err_set(e, FK_EINTERNAL, "attention: head dim %zu must be a multiple of 4 up to 256",
                      d);
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(q, e) || cpu_f32(k, e) || cpu_f32(v, e) || cpu_f32(out, e)) return e->code;
    if (!nn->reference) {
      double t0 = fk_cpu_prof_start(nn->cpu);
      int rc = fk_cpu_attention(nn->cpu, q->host, k->host, v->host, out->host, (size_t)q->shape[0],
                                (size_t)q->shape[1], (size_t)k->shape[1], (size_t)q->shape[2], d,
                                causal, e);
      fk_cpu_prof_end(nn->cpu, "attention", t0);
      return rc;
    }
    fk_nn_cpu_attention(q->host, k->host, v->host, out->host, (size_t)q->shape[0],
                        (size_t)q->shape[1], (size_t)k->shape[1], (size_t)q->shape[2], d, causal);
    return FK_OK;
  }
  return fk_nn_vk_attention(nn, q, k, v, out, causal, e);
}

int fk_nn_resample_op(fk_nn *nn, fk_nn_resample mode, int r, const fk_tensor *x, fk_tensor *y,
                      fk_err *e) {
  if (x->nn != y->nn || x->ndim != 4 || y->ndim != 4 || x->shape[0] != y->shape[0] ||
      x->dtype != y->dtype)
    return fk_err_set(e, FK_EINTERNAL, "resample: x and y must be NCHW on one backend, one dtype");
  fk_nn_rs g = {(uint32_t)y->numel,    (uint32_t)x->shape[1], (uint32_t)x->shape[2],
                (uint32_t)x->shape[3], (uint32_t)y->shape[1], (uint32_t)y->shape[2],
                (uint32_t)y->shape[3]};
  int ok = 0;
  switch (mode) {
  case FK_NN_UPSAMPLE2X: ok = g.oc == g.c; break;
  case FK_NN_BILINEAR: ok = g.oc == g.c; break;
  case FK_NN_AVGPOOL2X2:
    ok = g.oc == g.c && g.oh == g.h / 2 && g.ow == g.w / 2 && g.oh && g.ow;
    break;
  case FK_NN_PIXEL_SHUFFLE:
    ok = r >= 1 && g.c == g.oc * (uint32_t)(r * r) && g.oh == g.h * (uint32_t)r &&
         g.ow == g.w * (uint32_t)r;
    break;
  }
  if (!ok) return fk_err_set(e, FK_EINTERNAL, "resample mode %d: output shape does not fit", mode);
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference) {
      fk_nn_cpu_resample(mode, (uint32_t)r, &g, x->host, y->host);
      return FK_OK;
    }
    double t0 = fk_cpu_prof_start(nn->cpu);
    if (mode == FK_NN_UPSAMPLE2X)
      fk_cpu_nearest(nn->cpu->pool, x->host, y->host, (size_t)y->shape[0] * g.oc, g.h, g.w, g.oh,
                     g.ow);
    else
      fk_cpu_resample(nn->cpu->pool, mode, (uint32_t)r, &g, (size_t)y->shape[0] * g.oc * g.oh,
                      x->host, y->host);
    fk_cpu_prof_end(nn->cpu, mode == FK_NN_UPSAMPLE2X ? "nearest" : "resample", t0);
    return FK_OK;
  }
  return fk_nn_vk_resample(nn, mode, (uint32_t)r, &g, x, y, e);
}

int fk_nn_copy_channels(fk_nn *nn, const fk_tensor *x, int sx, int count, fk_tensor *y, int dy,
                        fk_err *e) {
  if (x->nn != y->nn || x->ndim != 4 || y->ndim != 4 || x->shape[0] != y->shape[0] ||
      x->shape[2] != y->shape[2] || x->shape[3] != y->shape[3] || sx < 0 || dy < 0 || count < 0 ||
      sx + count > x->shape[1] || dy + count > y->shape[1])
    return fk_err_set(e, FK_EINTERNAL, "copy channels: ranges or shapes do not fit");
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(y, e)) return e->code;
    size_t n = (size_t)x->shape[0], hw = (size_t)(x->shape[2] * x->shape[3]);
    if (nn->reference) {
      fk_nn_cpu_copy_channels(x->host, y->host, n, hw, (size_t)count, (size_t)x->shape[1],
                              (size_t)sx, (size_t)y->shape[1], (size_t)dy);
      return FK_OK;
    }
    double t0 = fk_cpu_prof_start(nn->cpu);
    fk_cpu_copy_channels(nn->cpu->pool, x->host, y->host, n, hw, (size_t)count, (size_t)x->shape[1],
                         (size_t)sx, (size_t)y->shape[1], (size_t)dy);
    fk_cpu_prof_end(nn->cpu, "copy_channels", t0);
    return FK_OK;
  }
  return fk_nn_vk_copy_channels(nn, x, y, (uint32_t)count, (uint32_t)sx, (uint32_t)dy, e);
}

int fk_nn_transpose(fk_nn *nn, const fk_tensor *x, fk_tensor *y, fk_err *e) {
  if (same_dtype("transpose", (const fk_tensor *[]){x, y}, 2, e)) return e->code;
  if (x->nn != y->nn || x->numel != y->numel || x->ndim < 2 || x->ndim > 3 || y->ndim != x->ndim)
    return fk_err_set(e, FK_EINTERNAL, "transpose: y must be x's shape swapped");
  int d = x->ndim;
  int64_t m = x->shape[d - 2], n = x->shape[d - 1];
  if (y->shape[d - 2] != n || y->shape[d - 1] != m || x == y)
    return fk_err_set(e, FK_EINTERNAL, "transpose: y must be a separate [.., %lld, %lld] tensor",
                      (long long)n, (long long)m);
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference)
      fk_nn_cpu_transpose(x->host, y->host, x->numel / (size_t)(m * n), (size_t)m, (size_t)n);
    else {
      double t0 = fk_cpu_prof_start(nn->cpu);
      fk_cpu_transpose(nn->cpu->pool, x->host, y->host, x->numel / (size_t)(m * n), (size_t)m,
                       (size_t)n);
      fk_cpu_prof_end(nn->cpu, "transpose", t0);
    }
    return FK_OK;
  }
  return fk_nn_vk_transpose(nn, x, y, (uint32_t)m, (uint32_t)n, e);
}

int fk_nn_warp(fk_nn *nn, const fk_tensor *x, const fk_tensor *flow, fk_tensor *y, fk_err *e) {
  if (check_pair("warp", x, y, e) || same_dtype("warp", (const fk_tensor *[]){x, flow}, 2, e))
    return e->code;
  if (x->ndim != 4 || flow->ndim != 4 || flow->shape[0] != x->shape[0] || flow->shape[1] != 2 ||
      flow->shape[2] != x->shape[2] || flow->shape[3] != x->shape[3])
    return fk_err_set(e, FK_EINTERNAL, "warp: flow must be [N, 2, H, W] like x");
  if (nn->kind == FK_NN_CPU) {
    if (cpu_f32(x, e) || cpu_f32(flow, e) || cpu_f32(y, e)) return e->code;
    if (nn->reference) {
      fk_nn_cpu_warp(x->host, flow->host, y->host, (size_t)x->shape[0], (size_t)x->shape[1],
                     (size_t)x->shape[2], (size_t)x->shape[3]);
      return FK_OK;
    }
    double t0 = fk_cpu_prof_start(nn->cpu);
    fk_cpu_warp(nn->cpu->pool, x->host, flow->host, y->host, (size_t)x->shape[0],
                (size_t)x->shape[1], (size_t)x->shape[2], (size_t)x->shape[3]);
    fk_cpu_prof_end(nn->cpu, "warp", t0);
    return FK_OK;
  }
  return fk_nn_vk_warp(nn, x, flow, y, e);
}

int fk_nn_timestep_embedding(fk_nn *nn, const float *t, int n, int flip_sin_to_cos, float shift,
                             float max_period, fk_tensor *y, fk_err *e) {
  (void)nn;
  if (y->ndim != 2 || y->shape[0] != n || y->shape[1] % 2)
    return fk_err_set(e, FK_EINTERNAL, "timestep embedding: y must be [n, even dim]");
  size_t dim = (size_t)y->shape[1], half = dim / 2;
  float *buf = fk_alloc((size_t)n * dim, sizeof *buf);
  if (!buf) return fk_err_oom(e, "timestep embedding", (size_t)n * dim * sizeof *buf);
  /* float32 throughout, as torch computes it */
  for (int i = 0; i < n; i++)
    for (size_t j = 0; j < half; j++) {
      float ex = -logf(max_period) * (float)j / ((float)half - shift);
      float arg = t[i] * expf(ex);
      float sn = sinf(arg), cs = cosf(arg);
      buf[(size_t)i * dim + j] = flip_sin_to_cos ? cs : sn;
      buf[(size_t)i * dim + half + j] = flip_sin_to_cos ? sn : cs;
    }
  int rc = fk_tensor_write(y, buf, e);
  free(buf);
  return rc;
}

int fk_nn_blur(fk_nn *nn, const fk_tensor *x, fk_tensor *y, double sigma, fk_err *e) {
  if (check_pair("blur", x, y, e)) return e->code;
  if (x->ndim != 3) return fk_err_set(e, FK_EINTERNAL, "blur wants an [H, W, C] tensor");
  float *w;
  int r;
  if (fk_image_gauss_weights(sigma, &w, &r, e)) return e->code;
  int rc = FK_OK;
  if (nn->kind == FK_NN_CPU && (cpu_f32(x, e) || cpu_f32(y, e))) {
    rc = e->code;
  } else if (nn->kind == FK_NN_CPU) {
    float *tmp = fk_alloc(x->numel, sizeof *tmp);
    if (!tmp)
      rc = fk_err_oom(e, "blur scratch", x->numel * sizeof *tmp);
    else
      fk_nn_cpu_blur(x->host, y->host, x->shape[0], x->shape[1], x->shape[2], w, r, tmp);
    free(tmp);
  } else {
    rc = fk_nn_vk_blur(nn, x, y, w, r, e);
  }
  free(w);
  return rc;
}
