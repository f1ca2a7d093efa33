/* What the backend files share; not for callers of engine/nn. */
#ifndef FK_NN_INTERNAL_H
#define FK_NN_INTERNAL_H

#include "gpu/recorder.h"
#include "nn/backend.h"

#define FK_NN_MAX_DEFERRED 4096

typedef struct fk_cpu fk_cpu;

struct fk_nn {
  fk_nn_kind kind;
  char name[300];
  /* CPU */
  int reference; /* plain kernels of cpu_ops.c */
  fk_cpu *cpu;   /* the fast kernels' context (cpu_ctx.c) */
  /* Vulkan */
  fk_vk *vk;
  fk_vk_pipes *pipes;
  fk_vk_allocator *alloc;
  fk_vk_rec *rec;
  fk_vk_profile *prof;
  int pending;                                /* ops recorded since the last sync */
  fk_vk_buffer *deferred[FK_NN_MAX_DEFERRED]; /* freed after the next sync */
  uint32_t n_deferred;
};

/* CPU reference kernels (cpu_ops.c): float32 host arrays. */
void fk_nn_cpu_unary(fk_nn_unary op, const float *x, float *y, size_t n, float alpha, float beta);
void fk_nn_cpu_binary(fk_nn_binary op, const float *a, const float *b, float *y, int ndim,
                      const int64_t *shape, const int64_t *bstride);
void fk_nn_cpu_blur(const float *x, float *y, int64_t h, int64_t w, int64_t c, const float *wt,
                    int radius, float *tmp);

/* Matrix product geometry shared by both backends. */
typedef struct fk_nn_mm {
  uint32_t batch, m, n, k;
  uint32_t sa, sb, sc; /* batch strides in elements */
  int trans_b;
} fk_nn_mm;
void fk_nn_cpu_matmul(const fk_nn_mm *g, const float *a, const float *b, const float *bias,
                      float *c);

typedef struct fk_nn_cg {
  uint32_t n, cin, h, w, cout, kh, kw, oh, ow;
  const fk_nn_conv *c;
} fk_nn_cg;
void fk_nn_cpu_conv2d(const fk_nn_cg *g, const float *x, const float *w, const float *bias,
                      float *y);

void fk_nn_cpu_group_norm(const float *x, const float *gamma, const float *beta, float *y, size_t n,
                          size_t c, size_t hw, size_t groups, float eps, int silu);
void fk_nn_cpu_layer_norm(const float *x, const float *gamma, const float *beta, float *y,
                          size_t rows, size_t d, float eps);
void fk_nn_cpu_softmax(const float *x, float *y, size_t rows, size_t d);

void fk_nn_cpu_attention(const float *q, const float *k, const float *v, float *o, size_t b,
                         size_t lq, size_t lk, size_t heads, size_t d, int causal);

typedef struct fk_nn_rs {
  uint32_t total, c, h, w, oc, oh, ow;
} fk_nn_rs;
void fk_nn_cpu_resample(fk_nn_resample mode, uint32_t r, const fk_nn_rs *g, const float *x,
                        float *y);
/* output rows [lo, hi) of the N * C * OH (the CPU backend splits them) */
void fk_nn_cpu_resample_rows(fk_nn_resample mode, uint32_t r, const fk_nn_rs *g, const float *x,
                             float *y, size_t lo, size_t hi);
void fk_nn_cpu_copy_channels(const float *x, float *y, size_t n, size_t hw, size_t count, size_t cx,
                             size_t sx, size_t cy, size_t dy);
void fk_nn_cpu_warp(const float *x, const float *flow, float *y, size_t n, size_t c, size_t h,
                    size_t w);
/* output rows [lo, hi) of the N * H */
void fk_nn_cpu_warp_rows(const float *x, const float *flow, float *y, size_t c, size_t h, size_t w,
                         size_t lo, size_t hi);

typedef struct fk_nn_ct {
  uint32_t n, cin, h, w, cout, k, oh, ow;
  int stride, pad;
} fk_nn_ct;
void fk_nn_cpu_conv_transpose2d(const fk_nn_ct *g, const float *x, const float *w,
                                const float *bias, float *y);

void fk_nn_cpu_transpose(const float *x, float *y, size_t b, size_t m, size_t n);

/* Vulkan kernels (vk_ops.c). */
int fk_nn_vk_transpose(fk_nn *nn, const fk_tensor *x, fk_tensor *y, uint32_t m, uint32_t n,
                       fk_err *e);
int fk_nn_vk_conv_transpose2d(fk_nn *nn, const fk_nn_ct *g, const fk_tensor *x, const fk_tensor *w,
                              const fk_tensor *bias, fk_tensor *y, fk_err *e);
int fk_nn_vk_resample(fk_nn *nn, fk_nn_resample mode, uint32_t r, const fk_nn_rs *g,
                      const fk_tensor *x, fk_tensor *y, fk_err *e);
int fk_nn_vk_copy_channels(fk_nn *nn, const fk_tensor *x, fk_tensor *y, uint32_t count, uint32_t sx,
                           uint32_t dy, fk_err *e);
int fk_nn_vk_warp(fk_nn *nn, const fk_tensor *x, const fk_tensor *flow, fk_tensor *y, fk_err *e);
int fk_nn_vk_attention(fk_nn *nn, const fk_tensor *q, const fk_tensor *k, const fk_tensor *v,
                       fk_tensor *out, int causal, fk_err *e);
int fk_nn_vk_group_norm(fk_nn *nn, const fk_tensor *x, const fk_tensor *gamma,
                        const fk_tensor *beta, fk_tensor *y, int groups, float eps, int silu,
                        fk_err *e);
int fk_nn_vk_rows(fk_nn *nn, const char *shader, const fk_tensor *x, const fk_tensor *gamma,
                  const fk_tensor *beta, fk_tensor *y, float eps, fk_err *e);
int fk_nn_vk_conv2d(fk_nn *nn, const fk_nn_cg *g, const fk_tensor *x, const fk_tensor *w,
                    const fk_tensor *bias, fk_tensor *y, fk_err *e);
int fk_nn_vk_matmul(fk_nn *nn, const fk_nn_mm *g, const fk_tensor *a, const fk_tensor *b,
                    const fk_tensor *bias, fk_tensor *c, fk_err *e);
int fk_nn_vk_unary(fk_nn *nn, fk_nn_unary op, const fk_tensor *x, fk_tensor *y, float alpha,
                   float beta, fk_err *e);
int fk_nn_vk_binary(fk_nn *nn, fk_nn_binary op, const fk_tensor *a, const fk_tensor *b,
                    fk_tensor *y, const int64_t *bstride, fk_err *e);
int fk_nn_vk_blur(fk_nn *nn, const fk_tensor *x, fk_tensor *y, const float *wt, int radius,
                  fk_err *e);
/* A scratch buffer that lives until the next sync. */
int fk_nn_vk_scratch(fk_nn *nn, size_t bytes, int host, fk_vk_buffer **b, fk_err *e);

#endif
