/* The fast CPU backend's private interface: its context (a thread pool
 * and nothing global), the fp16 widening helpers and the tuned kernels.
 * backend.c picks these unless the backend was opened as the reference
 * (fk_nn_opts.reference), which keeps the plain kernels of cpu_ops.c. */
#ifndef FK_NN_CPU_INTERNAL_H
#define FK_NN_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/nn_internal.h"

/* Hot loops get an AVX2+FMA (x86-64-v3) clone picked at load time (ifunc;
 * "arch=haswell" would be picked by CPU model, so never on AMD); the
 * default clone keeps the binary running on any x86-64. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define FK_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FK_CPU_CLONES
#endif

/* ---- thread pool (cpu_pool.c) ------------------------------------------ */
typedef struct fk_cpu_pool fk_cpu_pool;
/* Runs items [lo, hi) on worker `worker` (0 .. threads-1). */
typedef void (*fk_cpu_range_fn)(void *ctx, size_t lo, size_t hi, int worker);
/* threads <= 0: one per online core (FUNKY_THREADS overrides). */
int fk_cpu_pool_new(int threads, fk_cpu_pool **p, fk_err *e);
void fk_cpu_pool_free(fk_cpu_pool *p);
int fk_cpu_pool_threads(const fk_cpu_pool *p);
/* Splits [0, n) into chunks of at least `grain` items and runs them on the
 * pool (the calling thread works too); returns when all are done. */
void fk_cpu_parallel_for(fk_cpu_pool *p, size_t n, size_t grain, fk_cpu_range_fn fn, void *ctx);

/* ---- the backend's context (cpu_ctx.c) --------------------------------- */
#define FK_CPU_SCRATCH 3 /* scratch slots: FK_CPU_SLOT_* */
#define FK_CPU_CACHE 64  /* freed tensor buffers kept for reuse */
typedef struct fk_cpu_buf {
  void *p;
  size_t bytes;
} fk_cpu_buf;
typedef struct fk_cpu {
  fk_cpu_pool *pool;
  size_t tile; /* floats per weight panel (an im2col tile holds two) */
  /* Scratch that lives as long as the backend, grown on demand (bounded
   * by the tile size), so kernels do not map fresh pages per call. */
  fk_cpu_buf scratch[FK_CPU_SCRATCH];
  /* Freed activation buffers by exact size: a model pass frees and makes
   * the same shapes again, and fresh large allocations cost a page fault
   * per 4 KiB (a third of the run time before this cache). */
  fk_cpu_buf cache[FK_CPU_CACHE];
  int ncache;
  size_t cached; /* bytes in cache */
  /* FUNKY_PROFILE=1 (or fk_nn_opts.profile): wall time per op kind */
  int profile;
  struct {
    const char *op;
    double ms;
    unsigned long calls;
  } prof[24];
  int nprof;
} fk_cpu;
int fk_cpu_new(int threads, size_t tile, int profile, fk_cpu **c, fk_err *e);
void fk_cpu_free(fk_cpu *c);
/* Scratch slot `slot` with room for n floats (NULL: out of memory). */
float *fk_cpu_scratch(fk_cpu *c, int slot, size_t n);
/* Tensor buffers: from the cache when one of exactly that size is there. */
void *fk_cpu_alloc(fk_cpu *c, size_t bytes);
void fk_cpu_release(fk_cpu *c, void *p, size_t bytes);
/* Profiling: t0 = fk_cpu_prof_start(c) before an op, then
 * fk_cpu_prof_end(c, "conv2d", t0); the table prints at fk_cpu_free. */
double fk_cpu_prof_start(const fk_cpu *c);
void fk_cpu_prof_end(fk_cpu *c, const char *op, double t0);

/* ---- fp16 storage (cpu_half.c) ------------------------------------------ */
/* F16C where the CPU has it, portable C elsewhere. */
void fk_cpu_widen(const uint16_t *h, float *f, size_t n);
/* Narrows f into h when every value survives the round trip exactly (an
 * fp16 checkpoint's weights do); returns 0 and leaves h partly written
 * when one does not. */
int fk_cpu_narrow_exact(const float *f, uint16_t *h, size_t n);

/* ---- kernels ------------------------------------------------------------ */
/* Where an operand lives: f32 elements, or fp16 ones (weights kept at half
 * the memory, widened a panel at a time). Exactly one is set. */
typedef struct fk_cpu_mat {
  const float *f;
  const uint16_t *h;
} fk_cpu_mat;

/* Widened weight panels hold this many tiles (32 MB by default). */
#define FK_CPU_WEIGHT_TILES 8
enum { FK_CPU_SLOT_WEIGHTS = 0, FK_CPU_SLOT_COLS = 1, FK_CPU_SLOT_ATTN = 2 };

/* cpu_gemm.c: the matmul of backend.h with OpenBLAS sgemm on the pool. */
int fk_cpu_matmul(fk_cpu *cpu, const fk_nn_mm *g, const float *a, fk_cpu_mat b, const float *bias,
                  float *c, fk_err *e);
/* OpenBLAS single-threaded while the pool calls it from every worker;
 * returns the count to restore afterwards. */
int fk_cpu_blas_single(void);
void fk_cpu_blas_restore(int threads);
/* n fp16 values widened on the pool. */
void fk_cpu_widen_par(fk_cpu_pool *p, const uint16_t *h, float *f, size_t n);
/* Rows of a [rows, k] weight per panel of `budget` floats: a multiple of
 * 16 (sgemm's blocking), at least 16. */
size_t fk_cpu_panel_rows(size_t budget, size_t rows, size_t k);
/* Blocks of an m x n product for `threads` workers: rows first (multiples
 * of 16, at least 32), columns too when there are few rows. */
void fk_cpu_split(size_t m, size_t n, int threads, size_t *mb, size_t *nb);

/* cpu_conv.c: conv2d as tiled implicit GEMM (bounded scratch). */
int fk_cpu_conv2d(fk_cpu *cpu, const fk_nn_cg *g, const float *x, fk_cpu_mat w, const float *bias,
                  float *y, fk_err *e);

/* cpu_attention.c: tiled attention, online softmax over key tiles. */
int fk_cpu_attention(fk_cpu *cpu, const float *q, const float *k, const float *v, float *o,
                     size_t b, size_t lq, size_t lk, size_t heads, size_t d, int causal, fk_err *e);

/* cpu_eltwise.c: elementwise ops, threaded and vectorised. */
void fk_cpu_unary(fk_cpu_pool *p, fk_nn_unary op, const float *x, float *y, size_t n, float alpha,
                  float beta);
void fk_cpu_binary(fk_cpu_pool *p, fk_nn_binary op, const float *a, const float *b, float *y,
                   const int64_t *shape, const int64_t *bstride);
void fk_cpu_transpose(fk_cpu_pool *p, const float *x, float *y, size_t b, size_t m, size_t n);
/* y[i] = act(y[i] + bias[row]) over rows x cols (cols contiguous, ld);
 * bias per column unless bias_per_row. p NULL: on the calling thread. */
void fk_cpu_bias_act(fk_cpu_pool *p, float *y, size_t rows, size_t cols, size_t ld,
                     const float *bias, int bias_per_row, fk_nn_act act, float alpha);

/* Nearest resampling of planes [h, w] -> [oh, ow] (torch's "nearest"). */
void fk_cpu_nearest(fk_cpu_pool *p, const float *x, float *y, size_t planes, size_t h, size_t w,
                    size_t oh, size_t ow);
/* The reference resampling (rows: N * C * OH) and warp on the pool. */
void fk_cpu_resample(fk_cpu_pool *p, fk_nn_resample mode, uint32_t r, const fk_nn_rs *g,
                     size_t rows, const float *x, float *y);
void fk_cpu_warp(fk_cpu_pool *p, const float *x, const float *flow, float *y, size_t n, size_t c,
                 size_t h, size_t w);
void fk_cpu_copy_channels(fk_cpu_pool *p, const float *x, float *y, size_t n, size_t hw,
                          size_t count, size_t cx, size_t sx, size_t cy, size_t dy);

/* cpu_norm.c: group norm, layer norm, softmax; threaded. */
void fk_cpu_group_norm(fk_cpu_pool *p, const float *x, const float *gamma, const float *beta,
                       float *y, size_t n, size_t c, size_t hw, size_t groups, float eps, int silu);
void fk_cpu_layer_norm(fk_cpu_pool *p, const float *x, const float *gamma, const float *beta,
                       float *y, size_t rows, size_t d, float eps);
void fk_cpu_softmax(fk_cpu_pool *p, const float *x, float *y, size_t rows, size_t d);

#endif
