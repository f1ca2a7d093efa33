/* The op interface the models call: tensors live on a backend (the CPU, or
 * a Vulkan device) and ops are issued against it. The two backends give
 * the same results within the kernel tolerances; the CPU backend's plain C
 * is also every kernel's reference in the tests.
 *
 * Shape of the API (after VkFFT's config -> init -> append -> delete):
 * make a backend once, make tensors on it, issue ops (the Vulkan backend
 * records them into one pass), then fk_nn_sync (one submit, one fence
 * wait) or a read, which syncs. */
#ifndef FK_NN_BACKEND_H
#define FK_NN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define FK_NN_MAX_DIMS 4

typedef enum { FK_NN_F32 = 0, FK_NN_F16 = 1 } fk_nn_dtype;
/* FK_NN_AUTO (options only): a real GPU through Vulkan when there is one,
 * else the CPU backend; Mesa's lavapipe only when asked for by name. */
typedef enum { FK_NN_CPU = 0, FK_NN_VULKAN = 1, FK_NN_AUTO = 2 } fk_nn_kind;

typedef struct fk_nn fk_nn; /* a backend */

typedef struct fk_tensor {
  fk_nn *nn;
  fk_nn_dtype dtype;
  int ndim;
  int64_t shape[FK_NN_MAX_DIMS];
  size_t numel;
  void *host; /* CPU backend: the elements (float32) */
  void *impl; /* backend-private: the Vulkan buffer; on the CPU the fp16
                 copy of a weight that host then does not hold */
  int f16_ok; /* made as F16: the CPU may keep it as fp16 when exact */
} fk_tensor;

typedef struct fk_nn_opts {
  fk_nn_kind kind;
  int validation;     /* Vulkan: validation layer on (tests) */
  const char *device; /* Vulkan: FUNKY_VK_DEVICE-style choice */
  int profile;        /* Vulkan: time every dispatch (also FUNKY_PROFILE=1) */
  int reference;      /* CPU: the plain C reference kernels instead of the fast ones */
  int threads;        /* CPU: worker threads, 0 = one per core (FUNKY_THREADS) */
  size_t tile_floats; /* CPU: floats per scratch tile, 0 = 1M (tests shrink it) */
} fk_nn_opts;

int fk_nn_open(const fk_nn_opts *o, fk_nn **nn, fk_err *e);
/* The device names of --device and Lua's `device =`: "cpu" (the fast CPU
 * backend), "gpu" or "vulkan" (Vulkan's own pick: a GPU, else lavapipe),
 * "lavapipe" (Mesa's CPU Vulkan driver) and "auto". Sets o->kind and
 * o->device; -1 for any other name (FK_NN_DEVICES lists them). */
int fk_nn_parse_device(const char *name, fk_nn_opts *o);
#define FK_NN_DEVICES "cpu, gpu, vulkan, lavapipe or auto"
void fk_nn_close(fk_nn *nn);
fk_nn_kind fk_nn_kind_of(const fk_nn *nn);
const char *fk_nn_name(const fk_nn *nn);
/* CPU: threads of the fast kernels (1 for the reference); Vulkan: 0. */
int fk_nn_threads(const fk_nn *nn);
/* Vulkan: validation messages seen so far (0 on the CPU). */
uint32_t fk_nn_validation_messages(const fk_nn *nn);
/* Device memory now in use and its high-water mark, in bytes (0 on the CPU). */
size_t fk_nn_device_used(const fk_nn *nn);
size_t fk_nn_device_peak(const fk_nn *nn);
/* The largest tensor, in bytes, the backend can hold: on Vulkan one
 * allocation, maxMemoryAllocationSize (2 GiB on lavapipe); SIZE_MAX on
 * the CPU. */
size_t fk_nn_max_tensor_bytes(const fk_nn *nn);
/* Bytes one binding may cover (maxStorageBufferRange, 128 MiB on lavapipe,
 * or FUNKY_VK_MAX_RANGE): the ops FILM uses split larger tensors into
 * parts, the others (matmul, attention, norms) fail on them with a
 * message. SIZE_MAX on the CPU. */
size_t fk_nn_max_binding_bytes(const fk_nn *nn);
/* Device memory the backend may use: the device-local heap, or
 * FUNKY_VK_MEMORY_LIMIT where lower; SIZE_MAX on the CPU. */
size_t fk_nn_device_budget(const fk_nn *nn);
/* Finishes every issued op. */
int fk_nn_sync(fk_nn *nn, fk_err *e);

int fk_tensor_new(fk_nn *nn, fk_nn_dtype dt, int ndim, const int64_t *shape, fk_tensor **t,
                  fk_err *e);
void fk_tensor_free(fk_tensor *t);
/* Gives t another shape with the same number of elements (a view of the
 * same memory in row-major order: [B, L, H*D] <-> [B, L, H, D]). */
int fk_tensor_reshape(fk_tensor *t, int ndim, const int64_t *shape, fk_err *e);
/* A new [n, c, h, w] tensor, or NULL with e saying why. */
fk_tensor *fk_tensor_nchw(fk_nn *nn, fk_nn_dtype dt, int64_t n, int64_t c, int64_t h, int64_t w,
                          fk_err *e);
/* A 4-D tensor's first two dimensions regrouped as n x c, h and w kept. */
int fk_tensor_view_nc(fk_tensor *t, int64_t n, int64_t c, fk_err *e);
/* Host float32 in and out (converted to and from the tensor's dtype). */
int fk_tensor_write(fk_tensor *t, const float *src, fk_err *e);
int fk_tensor_read(fk_tensor *t, float *dst, fk_err *e);

/* Elementwise ops; y may be x. */
typedef enum {
  FK_NN_SILU,
  FK_NN_GELU,       /* exact, with erf */
  FK_NN_QUICK_GELU, /* x * sigmoid(1.702 x) */
  FK_NN_LEAKY_RELU, /* alpha = negative slope */
  FK_NN_SIGMOID,
  FK_NN_CLAMP,      /* to [alpha, beta] */
  FK_NN_SCALE_BIAS, /* x * alpha + beta */
} fk_nn_unary;
int fk_nn_unary_op(fk_nn *nn, fk_nn_unary op, const fk_tensor *x, fk_tensor *y, float alpha,
                   float beta, fk_err *e);

typedef enum { FK_NN_ADD, FK_NN_MUL } fk_nn_binary;
/* y = a op b, with b broadcast numpy-style over a's shape (b's dims are 1 or
 * equal to a's, aligned from the right). y has a's shape; y may be a. */
int fk_nn_binary_op(fk_nn *nn, fk_nn_binary op, const fk_tensor *a, const fk_tensor *b,
                    fk_tensor *y, fk_err *e);

/* Batched matrix product: c[z] = a[z] x b[z] (+ bias), a [.., M, K];
 * b [.., K, N], or [.., N, K] when trans_b (a linear layer's [out, in]
 * weight); bias [N] or NULL; c [.., M, N]. A 2-d b (or a) is shared by
 * every batch entry. */
int fk_nn_matmul(fk_nn *nn, const fk_tensor *a, const fk_tensor *b, const fk_tensor *bias,
                 fk_tensor *c, int trans_b, fk_err *e);

/* 2-d convolution, NCHW: x [N, Cin, H, W], w [Cout, Cin, kh, kw], bias
 * [Cout] or NULL, y [N, Cout, OH, OW] with OH = (H + pad_t + pad_b - kh) /
 * stride + 1 (likewise OW). act: FK_NN_ACT_NONE, _SILU or _LEAKY (alpha). */
typedef enum { FK_NN_ACT_NONE = 0, FK_NN_ACT_SILU = 1, FK_NN_ACT_LEAKY = 2 } fk_nn_act;
typedef struct fk_nn_conv {
  int stride;
  int pad_t, pad_l, pad_b, pad_r;
  fk_nn_act act;
  float alpha;
} fk_nn_conv;
int fk_nn_conv2d(fk_nn *nn, const fk_tensor *x, const fk_tensor *w, const fk_tensor *bias,
                 fk_tensor *y, const fk_nn_conv *c, fk_err *e);

/* Group norm of x [N, C, H, W] over `groups` channel groups, then
 * gamma[c], beta[c]; SiLU fused when silu. y may be x. */
int fk_nn_group_norm(fk_nn *nn, const fk_tensor *x, const fk_tensor *gamma, const fk_tensor *beta,
                     fk_tensor *y, int groups, float eps, int silu, fk_err *e);
/* Layer norm over the last dimension, then gamma, beta (both [D]). */
int fk_nn_layer_norm(fk_nn *nn, const fk_tensor *x, const fk_tensor *gamma, const fk_tensor *beta,
                     fk_tensor *y, float eps, fk_err *e);
/* Softmax over the last dimension. */
int fk_nn_softmax(fk_nn *nn, const fk_tensor *x, fk_tensor *y, fk_err *e);

/* Multi-head scaled dot-product attention: q [B, Lq, H, D], k and v
 * [B, Lk, H, D] (self or cross attention), out [B, Lq, H, D]; scale
 * 1/sqrt(D); causal masks keys after each query. Never materialises the
 * Lq x Lk score matrix. D a multiple of 4 up to 256. */
int fk_nn_attention(fk_nn *nn, const fk_tensor *q, const fk_tensor *k, const fk_tensor *v,
                    fk_tensor *out, int causal, fk_err *e);

/* NCHW resampling; y's shape gives the target. UPSAMPLE2X: nearest (torch's
 * mode="nearest"), usually to twice x's size but any size works. BILINEAR: any size, torch's
 * align_corners=False. AVGPOOL2X2: y = floor(x / 2). PIXEL_SHUFFLE: x [N, C r^2, H, W] -> y [N, C,
 * rH, rW]. */
typedef enum {
  FK_NN_UPSAMPLE2X = 0, /* nearest, to any size: source = floor(dst * in / out) */
  FK_NN_BILINEAR = 1,
  FK_NN_AVGPOOL2X2 = 2,
  FK_NN_PIXEL_SHUFFLE = 3,
} fk_nn_resample;
int fk_nn_resample_op(fk_nn *nn, fk_nn_resample mode, int r, const fk_tensor *x, fk_tensor *y,
                      fk_err *e);
/* Copies channels [sx, sx + count) of x [N, Cx, H, W] into y [N, Cy, H, W]
 * from channel dy: concatenation (several copies into one y) and slicing. */
int fk_nn_copy_channels(fk_nn *nn, const fk_tensor *x, int sx, int count, fk_tensor *y, int dy,
                        fk_err *e);
/* y [B, N, M] = x [B, M, N] transposed per batch entry (x may be 2-d). */
int fk_nn_transpose(fk_nn *nn, const fk_tensor *x, fk_tensor *y, fk_err *e);
/* Bilinear backward warp, edge clamp: y(i, j) = x(i + flow_y, j + flow_x);
 * x [N, C, H, W], flow [N, 2, H, W] (x displacement first). */
int fk_nn_warp(fk_nn *nn, const fk_tensor *x, const fk_tensor *flow, fk_tensor *y, fk_err *e);
/* Sinusoidal timestep embedding of n timesteps into y [n, dim], as
 * diffusers' get_timestep_embedding: exponent -ln(max_period) i / (half -
 * shift), sin then cos (cos then sin with flip_sin_to_cos). */
int fk_nn_timestep_embedding(fk_nn *nn, const float *t, int n, int flip_sin_to_cos, float shift,
                             float max_period, fk_tensor *y, fk_err *e);

/* Transposed convolution (torch's ConvTranspose2d): x [N, Cin, H, W],
 * w [Cin, Cout, k, k], bias [Cout] or NULL, y [N, Cout, (H-1)s - 2 pad + k,
 * likewise W]. RIFE upsamples with k 4, stride 2, pad 1. */
int fk_nn_conv_transpose2d(fk_nn *nn, const fk_tensor *x, const fk_tensor *w, const fk_tensor *bias,
                           fk_tensor *y, int stride, int pad, fk_err *e);

/* Separable Gaussian blur of an image tensor [H, W, C] (interleaved, as
 * engine/image stores pixels), mode 'nearest', radius floor(4 sigma + 0.5):
 * the numbers of scipy.ndimage.gaussian_filter(x, (sigma, sigma, 0)). */
int fk_nn_blur(fk_nn *nn, const fk_tensor *x, fk_tensor *y, double sigma, fk_err *e);

/* Benchmark baselines (Vulkan only): one invocation per output, no tiling.
 * naive matmul: c = a [M, K] x b [K, N]; naive conv: 3x3 pad 1, batch 1. */
int fk_nn_naive_matmul(fk_nn *nn, const fk_tensor *a, const fk_tensor *b, fk_tensor *c, fk_err *e);
int fk_nn_naive_conv3x3(fk_nn *nn, const fk_tensor *x, const fk_tensor *w, fk_tensor *y, fk_err *e);
/* Vulkan: GPU milliseconds per kernel name recorded so far when profiling
 * is on (FUNKY_PROFILE=1 or fk_nn_opts.profile); 0 otherwise. */
double fk_nn_profile_ms(const fk_nn *nn, const char *kernel);

#endif
