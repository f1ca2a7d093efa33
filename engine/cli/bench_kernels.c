/* funky bench kernels: Stable Diffusion 1.5's real shapes on the current
 * Vulkan device, each against two baselines measured in the same run:
 * OpenBLAS sgemm on this machine's cores for the same GEMM (for a conv:
 * M = Cout, N = H*W, K = Cin*9, the patch matrix built beforehand, so it
 * is the CPU's ceiling), and a naive one-invocation-per-output shader. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/backend.h"
#include "render/progress.h"

typedef struct bench {
  fk_nn *nn;
  int reps;
  double scale; /* spatial sizes multiplied by this (--quick: 0.5) */
} bench;

static float *rand_buf(size_t n) {
  float *v = malloc(n * sizeof *v);
  uint64_t s = 42;
  for (size_t i = 0; v && i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
  }
  return v;
}

static fk_tensor *tensor(bench *b, int nd, const int64_t *shape, fk_err *e) {
  fk_tensor *t;
  if (fk_tensor_new(b->nn, FK_NN_F32, nd, shape, &t, e)) return NULL;
  float *v = rand_buf(t->numel);
  if (!v || fk_tensor_write(t, v, e)) {
    free(v);
    fk_tensor_free(t);
    return NULL;
  }
  free(v);
  return t;
}

/* Best wall time in ms of fn over reps runs, after one warm-up run. */
typedef int (*op_fn)(bench *b, void *ctx, fk_err *e);
static double time_op(bench *b, op_fn fn, void *ctx, int reps, fk_err *e) {
  if (fn(b, ctx, e) || fk_nn_sync(b->nn, e)) return -1;
  double best = INFINITY;
  for (int i = 0; i < reps; i++) {
    double t0 = fk_now();
    if (fn(b, ctx, e) || fk_nn_sync(b->nn, e)) return -1;
    double dt = (fk_now() - t0) * 1e3;
    best = dt < best ? dt : best;
  }
  return best;
}

static double time_sgemm(int m, int n, int k, int reps) {
  float *a = rand_buf((size_t)m * k), *bb = rand_buf((size_t)k * n), *c = malloc((size_t)m * n * 4);
  double best = INFINITY;
  for (int i = 0; a && bb && c && i <= reps; i++) {
    double t0 = fk_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, bb, n, 0.0f, c, n);
    double dt = (fk_now() - t0) * 1e3;
    if (i > 0 && dt < best) best = dt; /* the first call warms up */
  }
  free(a);
  free(bb);
  free(c);
  return best;
}

typedef struct conv_case {
  fk_tensor *x, *w, *bias, *y;
  fk_nn_conv c;
} conv_case;
static int run_conv(bench *b, void *p, fk_err *e) {
  conv_case *c = p;
  return fk_nn_conv2d(b->nn, c->x, c->w, c->bias, c->y, &c->c, e);
}
static int run_naive_conv(bench *b, void *p, fk_err *e) {
  conv_case *c = p;
  return fk_nn_naive_conv3x3(b->nn, c->x, c->w, c->y, e);
}

typedef struct mm_case {
  fk_tensor *a, *w, *bias, *y, *wt;
} mm_case;
static int run_linear(bench *b, void *p, fk_err *e) {
  mm_case *c = p;
  return fk_nn_matmul(b->nn, c->a, c->w, c->bias, c->y, 1, e);
}
static int run_naive_mm(bench *b, void *p, fk_err *e) {
  mm_case *c = p;
  return fk_nn_naive_matmul(b->nn, c->a, c->wt, c->y, e);
}

typedef struct attn_case {
  fk_tensor *q, *k, *v, *o;
} attn_case;
static int run_attn(bench *b, void *p, fk_err *e) {
  attn_case *c = p;
  return fk_nn_attention(b->nn, c->q, c->k, c->v, c->o, 0, e);
}

typedef struct gn_case {
  fk_tensor *x, *g, *b, *y;
} gn_case;
static int run_gn(bench *b, void *p, fk_err *e) {
  gn_case *c = p;
  return fk_nn_group_norm(b->nn, c->x, c->g, c->b, c->y, 32, 1e-5f, 1, e);
}

static void row(const char *name, double gflop, double ms, double blas_ms, double naive_ms) {
  printf("| %s | %.1f | %.2f | %.3f |", name, ms, gflop * 1e3 / ms,
         blas_ms > 0 ? blas_ms / ms : NAN);
  if (blas_ms > 0)
    printf(" %.1f |", gflop * 1e3 / blas_ms);
  else
    printf(" |");
  if (naive_ms > 0)
    printf(" %.1fx |\n", naive_ms / ms);
  else
    printf(" |\n");
  fflush(stdout);
}

static int conv_bench(bench *b, int64_t hw, int64_t c, int naive, fk_err *e) {
  int64_t s = (int64_t)((double)hw * b->scale);
  int64_t sx[4] = {1, c, s, s}, sw[4] = {c, c, 3, 3}, sb[1] = {c};
  conv_case cc = {.c = {.stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1}};
  cc.x = tensor(b, 4, sx, e);
  cc.w = tensor(b, 4, sw, e);
  cc.bias = tensor(b, 1, sb, e);
  cc.y = tensor(b, 4, sx, e);
  if (!cc.x || !cc.w || !cc.bias || !cc.y) return e->code;
  double gflop = 2.0 * (double)(s * s) * (double)c * (double)c * 9 / 1e9;
  double ms = time_op(b, run_conv, &cc, b->reps, e);
  double naive_ms = naive ? time_op(b, run_naive_conv, &cc, 1, e) : -1;
  double blas = time_sgemm((int)c, (int)(s * s), (int)(c * 9), b->reps);
  char name[96];
  snprintf(name, sizeof name, "conv3x3 %lldx%lldx%lld->%lld", (long long)s, (long long)s,
           (long long)c, (long long)c);
  if (ms > 0) row(name, gflop, ms, blas, naive_ms);
  fk_tensor_free(cc.x), fk_tensor_free(cc.w), fk_tensor_free(cc.bias), fk_tensor_free(cc.y);
  return ms > 0 ? FK_OK : e->code;
}

int fk_cli_bench_kernels(int argc, char **argv) {
  bench b = {.reps = 2, .scale = 1.0};
  int naive = 1;
  fk_nn_opts o = {.kind = FK_NN_VULKAN};
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--quick"))
      b.scale = 0.5;
    else if (!strcmp(argv[i], "--no-naive"))
      naive = 0;
    else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
      fk_err de = {0};
      if (fk_cli_device_opts(argv[++i], &o, &de)) return fk_cli_fail(&de);
    } else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      b.reps = (int)strtol(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "funky bench kernels: options --quick, --no-naive, --reps N, --device "
                      "D (" FK_NN_DEVICES ")\n");
      return 1;
    }
  }
  if (b.reps < 1) b.reps = 1;
  fk_err e = {0};
  if (fk_nn_open(&o, &b.nn, &e)) return fk_cli_fail(&e);
  if (fk_nn_kind_of(b.nn) == FK_NN_CPU) naive = 0; /* the naive baselines are shaders */
  printf("funky bench kernels on %s; OpenBLAS %d threads on the CPU; best of %d runs\n\n",
         fk_nn_name(b.nn), openblas_get_num_threads(), b.reps);
  printf("| kernel (SD 1.5 shape) | ms | GFLOP/s | x OpenBLAS | OpenBLAS GFLOP/s | x naive shader "
         "|\n");
  printf("|---|---|---|---|---|---|\n");
  int rc = conv_bench(&b, 64, 320, naive, &e);
  if (!rc) rc = conv_bench(&b, 32, 640, naive, &e);
  if (!rc) rc = conv_bench(&b, 8, 1280, naive, &e);
  if (!rc) { /* linear 4096 x 320 -> 1280 */
    int64_t m = (int64_t)(4096 * b.scale * b.scale);
    int64_t sa[2] = {m, 320}, sw[2] = {1280, 320}, swt[2] = {320, 1280}, sb[1] = {1280},
            sy[2] = {m, 1280};
    mm_case mc = {tensor(&b, 2, sa, &e), tensor(&b, 2, sw, &e), tensor(&b, 1, sb, &e),
                  tensor(&b, 2, sy, &e), tensor(&b, 2, swt, &e)};
    if (mc.a && mc.w && mc.bias && mc.y && mc.wt) {
      double gflop = 2.0 * (double)m * 320 * 1280 / 1e9;
      double ms = time_op(&b, run_linear, &mc, b.reps, &e);
      double nv = naive ? time_op(&b, run_naive_mm, &mc, 1, &e) : -1;
      char name[64];
      snprintf(name, sizeof name, "linear %lldx320->1280", (long long)m);
      if (ms > 0)
        row(name, gflop, ms, time_sgemm((int)m, 1280, 320, b.reps), nv);
      else
        rc = e.code;
    } else {
      rc = e.code;
    }
    fk_tensor_free(mc.a), fk_tensor_free(mc.w), fk_tensor_free(mc.bias), fk_tensor_free(mc.y),
        fk_tensor_free(mc.wt);
  }
  int64_t lkeys[2] = {4096, 77};
  for (int i = 0; !rc && i < 2; i++) { /* self and cross attention, 8 heads x 40 */
    int64_t lq = (int64_t)(4096 * b.scale * b.scale), lk = i == 0 ? lq : lkeys[1];
    int64_t sq[4] = {1, lq, 8, 40}, sk[4] = {1, lk, 8, 40};
    attn_case ac = {tensor(&b, 4, sq, &e), tensor(&b, 4, sk, &e), tensor(&b, 4, sk, &e),
                    tensor(&b, 4, sq, &e)};
    if (ac.q && ac.k && ac.v && ac.o) {
      double gflop = 4.0 * (double)lq * (double)lk * 8 * 40 / 1e9;
      double ms = time_op(&b, run_attn, &ac, b.reps, &e);
      char name[64];
      snprintf(name, sizeof name, "attention %lldx%lld h8 d40", (long long)lq, (long long)lk);
      if (ms > 0)
        row(name, gflop, ms, time_sgemm((int)lq, (int)lk, 40, b.reps) * 2 * 8, -1);
      else
        rc = e.code;
    } else {
      rc = e.code;
    }
    fk_tensor_free(ac.q), fk_tensor_free(ac.k), fk_tensor_free(ac.v), fk_tensor_free(ac.o);
  }
  if (!rc) { /* group norm + SiLU, 64x64x320: bandwidth */
    int64_t s = (int64_t)(64 * b.scale);
    int64_t sx[4] = {1, 320, s, s}, sc[1] = {320};
    gn_case gc = {tensor(&b, 4, sx, &e), tensor(&b, 1, sc, &e), tensor(&b, 1, sc, &e),
                  tensor(&b, 4, sx, &e)};
    if (gc.x && gc.g && gc.b && gc.y) {
      double ms = time_op(&b, run_gn, &gc, b.reps, &e);
      double gb = 4.0 * 4 * (double)(s * s * 320) / 1e9; /* read twice, read, write */
      if (ms > 0)
        printf("| group norm+SiLU %lldx%lldx320 | %.2f | %.2f GB/s | | | |\n", (long long)s,
               (long long)s, ms, gb / ms * 1e3);
      else
        rc = e.code;
    } else {
      rc = e.code;
    }
    fk_tensor_free(gc.x), fk_tensor_free(gc.g), fk_tensor_free(gc.b), fk_tensor_free(gc.y);
  }
  printf(
      "\nattention's OpenBLAS column: the two GEMMs (QK^T and PV) per head, timed with sgemm.\n");
  fk_nn_close(b.nn);
  return rc ? fk_cli_fail(&e) : 0;
}
