/* The fast CPU backend's own paths against the plain C reference, with
 * tiny scratch tiles and an odd thread count so small shapes cross every
 * weight panel, im2col tile and work split: fp16 weights kept as fp16
 * (fp16-exact values) and widened per panel in conv2d and matmul (batched,
 * transposed or not, with bias), weights that are not exact staying f32,
 * fp16 weights promoted where an op needs f32, attention over several key
 * and query tiles (causal too), resampling and warp bit for bit, and the
 * device names. The other ops are
 * covered by every kernel test run with FUNKY_TEST_NN=cpu. */
#include <string.h>

#include "core/half.h"
#include "nn_test_util.h"

typedef struct pair {
  fk_nn *ref, *fast;
} pair;

/* values exactly representable in fp16 (an fp16 checkpoint's weights) */
static float *halfish(size_t n, float lo, float hi) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = fk_half_to_float(fk_half_from_float(test_rand(lo, hi)));
  return v;
}

static fk_tensor *make(fk_nn *nn, fk_nn_dtype dt, int nd, const int64_t *shape, const float *v) {
  fk_err e = {0};
  fk_tensor *t = NULL;
  CHECK(!fk_tensor_new(nn, dt, nd, shape, &t, &e) && !fk_tensor_write(t, v, &e), "tensor: %s",
        e.msg);
  return t;
}

static size_t count(int nd, const int64_t *s) {
  size_t n = 1;
  for (int i = 0; i < nd; i++) n *= (size_t)s[i];
  return n;
}

static void conv(pair *p, int64_t n, int64_t cin, int64_t h, int64_t w, int64_t cout, int k,
                 fk_nn_conv c, int exact) {
  int64_t oh = (h + c.pad_t + c.pad_b - k) / c.stride + 1,
          ow = (w + c.pad_l + c.pad_r - k) / c.stride + 1;
  int64_t sx[4] = {n, cin, h, w}, sw[4] = {cout, cin, k, k}, sb[1] = {cout},
          sy[4] = {n, cout, oh, ow};
  float *x = halfish(count(4, sx), -1, 1), *wt = halfish(count(4, sw), -0.2f, 0.2f),
        *b = halfish((size_t)cout, -1, 1);
  if (!exact) wt[0] += 1e-4f; /* not fp16: the weight must stay f32 */
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {p->ref, p->fast};
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    t[d][0] = make(nns[d], FK_NN_F32, 4, sx, x);
    t[d][1] = make(nns[d], FK_NN_F16, 4, sw, wt);
    t[d][2] = make(nns[d], FK_NN_F16, 1, sb, b);
    t[d][3] = test_tensor(nns[d], 4, sy, NULL);
    CHECK(!fk_nn_conv2d(nns[d], t[d][0], t[d][1], t[d][2], t[d][3], &c, &e), "conv: %s", e.msg);
  }
  int big = count(4, sw) >= 16384;
  CHECK(!big || (exact ? t[1][1]->host == NULL : t[1][1]->host != NULL),
        "fp16 storage of a %s weight", exact ? "fp16-exact" : "non-exact");
  char what[160];
  snprintf(what, sizeof what, "conv n%lld %lldx%lldx%lld -> %lld k%d s%d pad %d,%d,%d,%d act %d%s",
           (long long)n, (long long)cin, (long long)h, (long long)w, (long long)cout, k, c.stride,
           c.pad_t, c.pad_l, c.pad_b, c.pad_r, c.act, exact && big ? " (fp16 weight)" : "");
  test_compare(what, t[0][3], t[1][3], 1e-10);
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[d][i]);
  free(x), free(wt), free(b);
}

static void matmul(pair *p, int64_t batch, int64_t m, int64_t k, int64_t n, int trans_b,
                   int shared_b, int with_bias) {
  int64_t sa[3] = {batch, m, k}, sc[3] = {batch, m, n}, sbias[1] = {n};
  int64_t sb3[3] = {batch, trans_b ? n : k, trans_b ? k : n};
  const int64_t *sb = shared_b ? sb3 + 1 : sb3;
  int nb = shared_b ? 2 : 3;
  float *a = halfish(count(3, sa), -1, 1), *b = halfish(count(nb, sb), -1, 1),
        *bias = halfish((size_t)n, -1, 1);
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {p->ref, p->fast};
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    t[d][0] = make(nns[d], FK_NN_F32, 3, sa, a);
    t[d][1] = make(nns[d], FK_NN_F16, nb, sb, b);
    t[d][2] = with_bias ? make(nns[d], FK_NN_F32, 1, sbias, bias) : NULL;
    t[d][3] = test_tensor(nns[d], 3, sc, NULL);
    CHECK(!fk_nn_matmul(nns[d], t[d][0], t[d][1], t[d][2], t[d][3], trans_b, &e), "matmul: %s",
          e.msg);
  }
  char what[160];
  snprintf(what, sizeof what, "matmul %lldx%lldx%lld -> %lld%s%s%s", (long long)batch, (long long)m,
           (long long)k, (long long)n, trans_b ? " trans_b" : "", shared_b ? " shared b" : "",
           t[1][1]->host ? "" : " (fp16 weight)");
  test_compare(what, t[0][3], t[1][3], 1e-10);
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[d][i]);
  free(a), free(b), free(bias);
}

static void attention(pair *p, int64_t b, int64_t lq, int64_t lk, int64_t h, int64_t d,
                      int causal) {
  int64_t sq[4] = {b, lq, h, d}, sk[4] = {b, lk, h, d};
  float *q = halfish(count(4, sq), -2, 2), *k = halfish(count(4, sk), -2, 2),
        *v = halfish(count(4, sk), -1, 1);
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {p->ref, p->fast};
  fk_err e = {0};
  for (int x = 0; x < 2; x++) {
    t[x][0] = test_tensor(nns[x], 4, sq, q);
    t[x][1] = test_tensor(nns[x], 4, sk, k);
    t[x][2] = test_tensor(nns[x], 4, sk, v);
    t[x][3] = test_tensor(nns[x], 4, sq, NULL);
    CHECK(!fk_nn_attention(nns[x], t[x][0], t[x][1], t[x][2], t[x][3], causal, &e), "attention: %s",
          e.msg);
  }
  char what[128];
  snprintf(what, sizeof what, "attention b%lld q%lld k%lld h%lld d%lld%s", (long long)b,
           (long long)lq, (long long)lk, (long long)h, (long long)d, causal ? " causal" : "");
  test_compare(what, t[0][3], t[1][3], 1e-10);
  for (int x = 0; x < 2; x++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[x][i]);
  free(q), free(k), free(v);
}

static void same_bits(const char *what, fk_tensor *ref, fk_tensor *got) {
  fk_err e = {0};
  float *a = malloc(ref->numel * sizeof *a), *b = malloc(got->numel * sizeof *b);
  CHECK(a && b && !fk_tensor_read(ref, a, &e) && !fk_tensor_read(got, b, &e), "%s: read: %s", what,
        e.msg);
  size_t bad = 0;
  for (size_t i = 0; a && b && i < ref->numel; i++) bad += memcmp(&a[i], &b[i], sizeof *a) != 0;
  CHECK(bad == 0, "%s: %zu of %zu values differ from the reference", what, bad, (size_t)ref->numel);
  free(a);
  free(b);
}

/* Resampling and the warp with their rows split over the pool: bit for
 * bit what the reference gives in one piece, odd sizes, flows reaching
 * past the edges. */
static void sampling(pair *p) {
  static const struct {
    fk_nn_resample mode;
    int r;
    int64_t x[4], y[4];
  } cases[] = {{FK_NN_BILINEAR, 0, {2, 3, 7, 9}, {2, 3, 20, 31}},
               {FK_NN_BILINEAR, 0, {1, 2, 33, 17}, {1, 2, 5, 4}},
               {FK_NN_AVGPOOL2X2, 0, {2, 3, 9, 11}, {2, 3, 4, 5}},
               {FK_NN_PIXEL_SHUFFLE, 2, {2, 8, 3, 5}, {2, 2, 6, 10}}};
  fk_nn *nns[2] = {p->ref, p->fast};
  fk_err e = {0};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    float *x = halfish(count(4, cases[i].x), -1, 1);
    fk_tensor *t[2][2];
    for (int d = 0; d < 2; d++) {
      t[d][0] = test_tensor(nns[d], 4, cases[i].x, x);
      t[d][1] = test_tensor(nns[d], 4, cases[i].y, NULL);
      CHECK(!fk_nn_resample_op(nns[d], cases[i].mode, cases[i].r, t[d][0], t[d][1], &e),
            "resample: %s", e.msg);
    }
    char what[64];
    snprintf(what, sizeof what, "resample mode %d, case %zu", (int)cases[i].mode, i);
    same_bits(what, t[0][1], t[1][1]);
    for (int d = 0; d < 2; d++) fk_tensor_free(t[d][0]), fk_tensor_free(t[d][1]);
    free(x);
  }
  int64_t sx[4] = {2, 5, 9, 13}, sf[4] = {2, 2, 9, 13};
  float *x = halfish(count(4, sx), -1, 1), *f = halfish(count(4, sf), -6, 6);
  fk_tensor *t[2][3];
  for (int d = 0; d < 2; d++) {
    t[d][0] = test_tensor(nns[d], 4, sx, x);
    t[d][1] = test_tensor(nns[d], 4, sf, f);
    t[d][2] = test_tensor(nns[d], 4, sx, NULL);
    CHECK(!fk_nn_warp(nns[d], t[d][0], t[d][1], t[d][2], &e), "warp: %s", e.msg);
  }
  same_bits("warp", t[0][2], t[1][2]);
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 3; i++) fk_tensor_free(t[d][i]);
  free(x), free(f);
}

/* Group norm (+SiLU) of values far from zero: the fast kernel must not
 * fold the mean into the shift (cancellation). */
static void group_norm_offset(pair *p) {
  int64_t s[4] = {2, 64, 9, 11}, sc[1] = {64};
  size_t n = count(4, s);
  float *x = malloc(n * sizeof *x), *g = halfish(64, 0.5f, 2), *b = halfish(64, -1, 1);
  for (size_t i = 0; i < n; i++) x[i] = 300.0f + test_rand(-0.5f, 0.5f);
  fk_tensor *t[2][4];
  fk_nn *nns[2] = {p->ref, p->fast};
  fk_err e = {0};
  for (int d = 0; d < 2; d++) {
    t[d][0] = test_tensor(nns[d], 4, s, x);
    t[d][1] = test_tensor(nns[d], 1, sc, g);
    t[d][2] = test_tensor(nns[d], 1, sc, b);
    t[d][3] = test_tensor(nns[d], 4, s, NULL);
    CHECK(!fk_nn_group_norm(nns[d], t[d][0], t[d][1], t[d][2], t[d][3], 32, 1e-5f, 1, &e),
          "group norm: %s", e.msg);
  }
  test_compare("group norm+SiLU, mean 300 std 0.3", t[0][3], t[1][3], 1e-11);
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 4; i++) fk_tensor_free(t[d][i]);
  free(x), free(g), free(b);
}

/* An fp16-stored weight used by an op without an fp16 path (here SiLU),
 * read back, and rewritten with values that are not fp16. */
static void promotion(pair *p) {
  int64_t s[2] = {130, 131};
  size_t n = count(2, s);
  float *v = halfish(n, -3, 3), *got = malloc(n * sizeof *got), *ref = malloc(n * sizeof *ref);
  fk_err e = {0};
  fk_tensor *w = make(p->fast, FK_NN_F16, 2, s, v), *y = test_tensor(p->fast, 2, s, NULL);
  CHECK(w->host == NULL, "an fp16-exact weight is stored as fp16");
  CHECK(!fk_tensor_read(w, got, &e) && !memcmp(got, v, n * sizeof *v), "fp16 read back exactly");
  fk_tensor *wr = make(p->ref, FK_NN_F32, 2, s, v), *yr = test_tensor(p->ref, 2, s, NULL);
  CHECK(!fk_nn_unary_op(p->fast, FK_NN_SILU, w, y, 0, 0, &e) &&
            !fk_nn_unary_op(p->ref, FK_NN_SILU, wr, yr, 0, 0, &e),
        "silu: %s", e.msg);
  test_compare("silu of an fp16-stored tensor", yr, y, 1e-12);
  v[7] = 0.1f; /* not fp16 */
  CHECK(!fk_tensor_write(w, v, &e) && !fk_tensor_read(w, got, &e) && got[7] == 0.1f,
        "rewritten with f32 values: %s", e.msg);
  fk_tensor_free(w), fk_tensor_free(y), fk_tensor_free(wr), fk_tensor_free(yr);
  free(v), free(got), free(ref);
}

static void devices(void) {
  fk_nn_opts o = {0};
  static const char *const ok[] = {"cpu", "gpu", "vulkan", "lavapipe", "auto"};
  static const fk_nn_kind kinds[] = {FK_NN_CPU, FK_NN_VULKAN, FK_NN_VULKAN, FK_NN_VULKAN,
                                     FK_NN_AUTO};
  for (int i = 0; i < 5; i++)
    CHECK(!fk_nn_parse_device(ok[i], &o) && o.kind == kinds[i], "device name %s", ok[i]);
  CHECK(fk_nn_parse_device("cuda", &o) == -1, "unknown device names are refused");
  /* auto: a real GPU, or the CPU backend (never lavapipe unasked); with no
   * Vulkan driver at all, the CPU backend without an error */
  fk_nn_opts a = {.kind = FK_NN_AUTO};
  fk_nn *nn = NULL;
  fk_err e = {0};
  setenv("VK_ICD_FILENAMES", "/nonexistent/icd.json", 1);
  CHECK(!fk_nn_open(&a, &nn, &e) && fk_nn_kind_of(nn) == FK_NN_CPU, "auto without Vulkan: %s",
        e.msg);
  fk_nn_close(nn);
  nn = NULL;
  unsetenv("VK_ICD_FILENAMES");
  CHECK(!fk_nn_open(&a, &nn, &e), "auto: %s", e.msg);
  if (nn) {
    printf("auto picks: %s\n", fk_nn_name(nn));
    CHECK(fk_nn_kind_of(nn) == FK_NN_CPU ? fk_nn_threads(nn) >= 1
                                         : !strstr(fk_nn_name(nn), "llvmpipe"),
          "auto picked %s", fk_nn_name(nn));
    fk_nn_close(nn);
  }
}

int main(void) {
  pair p;
  fk_err e = {0};
  fk_nn_opts ro = {.kind = FK_NN_CPU, .reference = 1},
             fo = {.kind = FK_NN_CPU, .threads = 3, .tile_floats = 512};
  if (fk_nn_open(&ro, &p.ref, &e) || fk_nn_open(&fo, &p.fast, &e)) {
    CHECK(0, "backends: %s", e.msg);
    return CHECK_DONE();
  }
  printf("backends: %s | %s\n", fk_nn_name(p.ref), fk_nn_name(p.fast));
  CHECK(fk_nn_threads(p.fast) == 3 && fk_nn_threads(p.ref) == 1, "thread counts");
  fk_nn_conv same = {.stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1},
             down = {.stride = 2, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1},
             one = {.stride = 1}, film = {.stride = 1, .pad_b = 1, .pad_r = 1};
  same.act = FK_NN_ACT_SILU;
  conv(&p, 2, 33, 9, 7, 70, 3, same, 1);
  conv(&p, 1, 64, 5, 5, 40, 3, down, 1);
  conv(&p, 2, 48, 6, 6, 360, 1, one, 1);
  conv(&p, 1, 20, 8, 9, 30, 2, film, 1);
  conv(&p, 2, 33, 9, 7, 70, 3, same, 0);
  film.act = FK_NN_ACT_LEAKY;
  film.alpha = 0.2f;
  conv(&p, 1, 130, 3, 3, 130, 3, film, 1);
  matmul(&p, 3, 37, 50, 700, 1, 1, 1);
  matmul(&p, 1, 2, 1280, 330, 1, 1, 1);
  matmul(&p, 2, 19, 45, 900, 0, 1, 0);
  matmul(&p, 2, 19, 45, 30, 0, 0, 1);
  matmul(&p, 2, 64, 40, 100, 1, 0, 0);
  attention(&p, 2, 300, 1100, 3, 40, 0);
  attention(&p, 1, 77, 77, 2, 64, 1);
  attention(&p, 1, 600, 600, 1, 8, 1);
  attention(&p, 2, 130, 77, 2, 160, 0);
  sampling(&p);
  group_norm_offset(&p);
  promotion(&p);
  devices();
  fk_nn_close(p.ref);
  fk_nn_close(p.fast);
  return CHECK_DONE();
}
