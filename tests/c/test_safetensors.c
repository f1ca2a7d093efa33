/* The .safetensors reader and writer: round trips, the golden files, and
 * corrupt inputs that must fail with FK_EUSER and a message saying why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/half.h"
#include "core/error.h"
#include "core/file.h"
#include "models/safetensors.h"

static uint32_t f32_bits(float v) {
  uint32_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}

/* A file image: 8-byte length (hlen, which may lie), header text, then
 * dlen bytes of data (value i & 0xff). */
static unsigned char *image(const char *header, uint64_t hlen, size_t dlen, size_t *len) {
  size_t h = strlen(header);
  *len = 8 + h + dlen;
  unsigned char *b = malloc(*len);
  if (!b) return NULL;
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen >> (8 * i));
  memcpy(b + 8, header, h);
  for (size_t i = 0; i < dlen; i++) b[8 + h + i] = (unsigned char)i;
  return b;
}

/* Parses the header (+ dlen data bytes) and expects failure with want in
 * the message. */
static void expect_bad(const char *header, size_t dlen, const char *want) {
  size_t len;
  unsigned char *b = image(header, strlen(header), dlen, &len);
  fk_err e = {0};
  fk_st_file *f = NULL;
  int r = fk_st_parse_memory(b, len, "bad.safetensors", &f, &e);
  CHECK(r == FK_EUSER && f == NULL, "header %s: expected FK_EUSER, got %d", header, r);
  CHECK(strstr(e.msg, want) != NULL, "header %s: message '%s' lacks '%s'", header, e.msg, want);
  CHECK(strstr(e.msg, "bad.safetensors") != NULL, "message '%s' lacks the file name", e.msg);
  fk_st_close(f);
  free(b);
}

static void test_conversions(void) {
  CHECK(fk_half_to_float(0x3C00) == 1.0f, "f16 1.0");
  CHECK(fk_half_to_float(0xC100) == -2.5f, "f16 -2.5");
  CHECK(fk_half_to_float(0x7BFF) == 65504.0f, "f16 max");
  CHECK(fk_half_to_float(0x0001) == ldexpf(1.0f, -24), "f16 smallest subnormal");
  CHECK(fk_half_to_float(0x03FF) == ldexpf(1023.0f, -24), "f16 largest subnormal");
  CHECK(fk_half_to_float(0x0400) == ldexpf(1.0f, -14), "f16 smallest normal");
  CHECK(fk_half_to_float(0x8001) == -ldexpf(1.0f, -24), "f16 negative subnormal");
  CHECK(f32_bits(fk_half_to_float(0x8000)) == 0x80000000u, "f16 -0");
  CHECK(fk_half_to_float(0x0000) == 0.0f, "f16 0");
  CHECK(isinf(fk_half_to_float(0x7C00)) && fk_half_to_float(0x7C00) > 0, "f16 +inf");
  CHECK(isinf(fk_half_to_float(0xFC00)) && fk_half_to_float(0xFC00) < 0, "f16 -inf");
  CHECK(isnan(fk_half_to_float(0x7E00)), "f16 nan");
  CHECK(isnan(fk_half_to_float(0x7C01)), "f16 signalling nan stays nan");
  CHECK(fk_half_to_float(0x3555) == 0x1.554p-2f, "f16 0.333");
  CHECK(fk_st_bf16_to_f32(0x3F80) == 1.0f, "bf16 1.0");
  CHECK(fk_st_bf16_to_f32(0xC020) == -2.5f, "bf16 -2.5");
  CHECK(fk_st_bf16_to_f32(0x0001) == ldexpf(1.0f, -133), "bf16 smallest subnormal");
  CHECK(isinf(fk_st_bf16_to_f32(0x7F80)), "bf16 inf");
  CHECK(isnan(fk_st_bf16_to_f32(0x7FC0)), "bf16 nan");
  /* Every finite half converts to a float that rounds back (checked by
   * value against ldexp of its parts). */
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; h++) {
    uint32_t ex = (h >> 10) & 31, m = h & 1023;
    if (ex == 31) continue;
    double v = ex ? ldexp(1024 + m, (int)ex - 25) : ldexp(m, -24);
    if (h & 0x8000) v = -v;
    if ((double)fk_half_to_float((uint16_t)h) != v) bad++;
  }
  CHECK(bad == 0, "%d half values converted wrongly", bad);
}

static void test_round_trip(const char *dir) {
  fk_err e = {0};
  char path[4096];
  CHECK(fk_path_join(path, sizeof path, dir, "rt.safetensors", &e) == 0, "%s", e.msg);
  float f32[2 * 3 * 2 * 2];
  for (int i = 0; i < 24; i++) f32[i] = (float)i * 0.5f - 3.0f;
  uint16_t f16[3] = {0x3C00, 0xC100, 0x0001};
  uint16_t bf16[2] = {0x3F80, 0xC020};
  double f64[2] = {0.1, -1e300};
  int64_t i64[3] = {-1, 999, INT64_MAX};
  int32_t i32[2] = {-7, 70000};
  unsigned char u8[5] = {0, 1, 128, 254, 255};
  float scalar = 42.0f;
  int64_t s4[4] = {2, 3, 2, 2}, s1f16[1] = {3}, s2[1] = {2}, s3[1] = {3}, s5[1] = {5},
          s0[2] = {0, 7};
  fk_st_desc t[] = {
      {"a.f32", FK_ST_F32, 4, s4, f32},    {"b.f16", FK_ST_F16, 1, s1f16, f16},
      {"c.bf16", FK_ST_BF16, 1, s2, bf16}, {"d.f64", FK_ST_F64, 1, s2, f64},
      {"e.i64", FK_ST_I64, 1, s3, i64},    {"f.i32", FK_ST_I32, 1, s2, i32},
      {"g.u8", FK_ST_U8, 1, s5, u8},       {"scalar \"quoted\"\n", FK_ST_F32, 0, NULL, &scalar},
      {"empty", FK_ST_F32, 2, s0, NULL},
  };
  size_t nt = sizeof t / sizeof t[0];
  fk_st_kv meta[] = {{"format", "pt"}, {"prompt", "a \"cat\"\\ on\ta mat \xc3\xa9"}};
  int r = fk_st_write(path, t, nt, meta, 2, &e);
  CHECK(r == 0, "write: %s", e.msg);

  fk_st_file *f = NULL;
  r = fk_st_open(path, &f, &e);
  CHECK(r == 0 && f, "open: %s", e.msg);
  if (!f) return;
  CHECK(fk_st_count(f) == nt, "count %zu", fk_st_count(f));
  for (size_t i = 0; i < nt; i++) {
    const fk_st_tensor *g = fk_st_find(f, t[i].name);
    CHECK(g != NULL, "missing %s", t[i].name);
    if (!g) continue;
    CHECK(g->dtype == t[i].dtype && g->ndim == t[i].ndim, "%s dtype/ndim", t[i].name);
    size_t n = 1;
    for (int d = 0; d < g->ndim; d++) {
      CHECK(g->shape[d] == t[i].shape[d], "%s shape", t[i].name);
      n *= (size_t)t[i].shape[d];
    }
    CHECK(g->numel == n, "%s numel %zu", t[i].name, g->numel);
    CHECK(g->nbytes == n * fk_st_dtype_size(t[i].dtype), "%s nbytes", t[i].name);
    if (n) CHECK(memcmp(g->data, t[i].data, g->nbytes) == 0, "%s data", t[i].name);
    /* The writer orders by element size after an aligned header, so data
     * is aligned to its element size. */
    CHECK((uintptr_t)g->data % fk_st_dtype_size(g->dtype) == 0, "%s aligned", t[i].name);
  }
  CHECK(fk_st_find(f, "nope") == NULL, "find of a missing name");
  CHECK(fk_st_get(f, nt) == NULL, "get past the end");
  CHECK(fk_st_metadata_count(f) == 2, "metadata count");
  const char *v = fk_st_metadata(f, "prompt");
  CHECK(v && !strcmp(v, meta[1].value), "metadata value '%s'", v ? v : "(null)");
  CHECK(fk_st_metadata(f, "nope") == NULL, "missing metadata key");

  float *out = NULL;
  const fk_st_tensor *g = fk_st_find(f, "a.f32");
  if (g && fk_st_to_f32(g, &out, &e) == 0) {
    CHECK(memcmp(out, f32, sizeof f32) == 0, "f32 to f32");
    free(out);
  }
  g = fk_st_find(f, "b.f16");
  if (g && fk_st_to_f32(g, &out, &e) == 0) {
    CHECK(out[0] == 1.0f && out[1] == -2.5f && out[2] == ldexpf(1, -24), "f16 to f32");
    free(out);
  }
  g = fk_st_find(f, "c.bf16");
  if (g && fk_st_to_f32(g, &out, &e) == 0) {
    CHECK(out[0] == 1.0f && out[1] == -2.5f, "bf16 to f32");
    free(out);
  }
  g = fk_st_find(f, "d.f64");
  if (g && fk_st_to_f32(g, &out, &e) == 0) {
    CHECK(out[0] == 0.1f && isinf(out[1]) && out[1] < 0, "f64 to f32");
    free(out);
  }
  g = fk_st_find(f, "e.i64");
  if (g && fk_st_to_f32(g, &out, &e) == 0) {
    CHECK(out[0] == -1.0f && out[1] == 999.0f, "i64 to f32");
    free(out);
  }
  g = fk_st_find(f, "g.u8");
  if (g && fk_st_to_f32(g, &out, &e) == 0) {
    CHECK(out[2] == 128.0f && out[4] == 255.0f, "u8 to f32");
    free(out);
  }
  g = fk_st_find(f, "scalar \"quoted\"\n");
  CHECK(g && g->ndim == 0 && g->numel == 1, "0-d tensor");
  if (g && fk_st_to_f32(g, &out, &e) == 0) {
    CHECK(out[0] == 42.0f, "scalar value");
    free(out);
  }
  const fk_st_tensor *x = NULL;
  CHECK(fk_st_expect(f, "a.f32", FK_ST_F32, 4, s4, &x, &e) == 0 && x, "expect ok: %s", e.msg);
  int64_t wrong[4] = {2, 3, 2, 3};
  r = fk_st_expect(f, "a.f32", FK_ST_F32, 4, wrong, &x, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "[2, 3, 2, 2] but F32 [2, 3, 2, 3]"), "expect: %s", e.msg);
  r = fk_st_expect(f, "zzz", FK_ST_F32, 4, wrong, &x, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "no tensor 'zzz'"), "expect missing: %s", e.msg);
  fk_st_close(f);

  /* The writer refuses what the reader would reject. */
  fk_st_desc dup[2] = {t[0], t[0]};
  r = fk_st_write(path, dup, 2, NULL, 0, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "duplicate tensor name"), "dup write: %s", e.msg);
  fk_st_kv dmeta[2] = {{"k", "1"}, {"k", "2"}};
  r = fk_st_write(path, t, 1, dmeta, 2, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "duplicate metadata key"), "dup meta: %s", e.msg);
  /* An empty file is valid too. */
  char p2[4096];
  fk_path_join(p2, sizeof p2, dir, "empty.safetensors", &e);
  CHECK(fk_st_write(p2, NULL, 0, NULL, 0, &e) == 0, "empty write: %s", e.msg);
  CHECK(fk_st_open(p2, &f, &e) == 0 && fk_st_count(f) == 0, "empty open: %s", e.msg);
  CHECK(fk_st_find(f, "x") == NULL && fk_st_metadata(f, "x") == NULL, "empty lookups");
  fk_st_close(f);
}

static void test_golden(const char *shared) {
  char path[4200];
  fk_err e = {0};
  snprintf(path, sizeof path, "%s/golden/tiny-sd/unet/diffusion_pytorch_model.safetensors", shared);
  if (!fk_file_exists(path)) {
    printf("note: %s missing, golden checks skipped\n", path);
    return;
  }
  fk_st_file *f = NULL;
  CHECK(fk_st_open(path, &f, &e) == 0, "open golden unet: %s", e.msg);
  if (f) {
    CHECK(fk_st_count(f) > 100, "unet has %zu tensors", fk_st_count(f));
    const fk_st_tensor *t = fk_st_find(f, "conv_in.weight");
    CHECK(t && t->dtype == FK_ST_F32 && t->ndim == 4 && t->shape[0] == 32 && t->shape[1] == 4 &&
              t->shape[2] == 3 && t->shape[3] == 3 && t->nbytes == 32 * 4 * 9 * 4,
          "conv_in.weight");
    float *w = NULL;
    if (t && fk_st_to_f32(t, &w, &e) == 0) {
      int finite = 1;
      for (size_t i = 0; i < t->numel; i++) finite &= isfinite(w[i]) != 0;
      CHECK(finite, "conv_in.weight finite");
      free(w);
    }
    fk_st_close(f);
  }
  snprintf(path, sizeof path, "%s/golden/cases/unet.safetensors", shared);
  if (!fk_file_exists(path)) {
    printf("note: %s missing, golden checks skipped\n", path);
    return;
  }
  f = NULL;
  CHECK(fk_st_open(path, &f, &e) == 0, "open golden case: %s", e.msg);
  if (f) {
    CHECK(fk_st_metadata_count(f) > 0, "case metadata");
    CHECK(fk_st_metadata(f, "call") != NULL, "case metadata 'call'");
    fk_st_close(f);
  }
}

static void test_corrupt_files(const char *dir) {
  char path[4096];
  fk_err e = {0};
  fk_st_file *f = NULL;
  fk_path_join(path, sizeof path, dir, "short.safetensors", &e);
  CHECK(fk_file_write_atomic(path, "\x10\0\0", 3, &e) == 0, "%s", e.msg);
  int r = fk_st_open(path, &f, &e);
  CHECK(r == FK_EUSER && !f && strstr(e.msg, "shorter than the 8-byte"), "short: %s", e.msg);
  CHECK(strstr(e.msg, "short.safetensors") != NULL, "short names file: %s", e.msg);
  CHECK(fk_file_write_atomic(path, "", 0, &e) == 0, "%s", e.msg);
  r = fk_st_open(path, &f, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "0 bytes"), "empty file: %s", e.msg);

  size_t len;
  const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  unsigned char *b = image(hdr, 1000, 8, &len);
  fk_path_join(path, sizeof path, dir, "lying.safetensors", &e);
  CHECK(fk_file_write_atomic(path, b, len, &e) == 0, "%s", e.msg);
  r = fk_st_open(path, &f, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "larger than the file"), "lying: %s", e.msg);
  free(b);

  b = image(hdr, 1ull << 63, 8, &len);
  r = fk_st_parse_memory(b, len, "huge.safetensors", &f, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "9223372036854775808 is over the"), "2^63: %s", e.msg);
  free(b);

  /* A valid file cut short: the data section loses bytes. */
  b = image(hdr, strlen(hdr), 8, &len);
  fk_path_join(path, sizeof path, dir, "cut.safetensors", &e);
  CHECK(fk_file_write_atomic(path, b, len - 3, &e) == 0, "%s", e.msg);
  r = fk_st_open(path, &f, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "tensor 'a'") && strstr(e.msg, "past the end"), "cut: %s",
        e.msg);
  r = fk_st_parse_memory(b, len, "ok", &f, &e);
  CHECK(r == 0 && f && fk_st_count(f) == 1, "the uncut image parses: %s", e.msg);
  fk_st_close(f);
  free(b);

  r = fk_st_open("/nonexistent/x.safetensors", &f, &e);
  CHECK(r == FK_EUSER && strstr(e.msg, "cannot open"), "missing: %s", e.msg);
}

static void test_corrupt_headers(void) {
#define T(body) "{\"t\":{" body "}}"
  /* malformed JSON */
  expect_bad("", 0, "must be a JSON object");
  expect_bad("[]", 0, "must be a JSON object");
  expect_bad("{", 0, "not valid JSON");
  expect_bad("{\"a\" 1}", 0, "expected ':'");
  expect_bad("{\"a\":{}", 0, "not valid JSON");
  expect_bad("{\"a\":{},}", 0, "expected a string");
  expect_bad("{} x", 0, "trailing garbage");
  expect_bad("{}{}", 0, "trailing garbage");
  expect_bad("{\"a\\q\":1}", 0, "unknown escape");
  expect_bad("{\"a\x01\":1}", 0, "control character");
  expect_bad("{\"a\\ud800\":1}", 0, "surrogate");
  expect_bad("{\"a\\u0000\":1}", 0, "\\u0000");
  expect_bad("{\"a\":01}", 0, "expected ',' or '}'");
  expect_bad("{\"a\":tru}", 0, "unexpected text");
  expect_bad("{\"a\":[[[[[[[[[1]]]]]]]]]}", 0, "nested deeper than 8");
  expect_bad("{\"a\":1}", 0, "entry must be an object");
  expect_bad("{\"__metadata__\":{\"k\":1}}", 0, "must be a string");
  expect_bad("{\"__metadata__\":[]}", 0, "must be an object of strings");
  /* duplicates */
  expect_bad("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate key 'k'");
  expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key '__metadata__'");
  expect_bad(T("\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]"), 4,
             "tensor 't': duplicate key 'dtype'");
  expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]},"
             "\"t\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[1,2]}}",
             2, "duplicate tensor name 't'");
  /* schema */
  expect_bad(T("\"dtype\":\"F8\",\"shape\":[],\"data_offsets\":[0,1]"), 1,
             "tensor 't': unknown dtype 'F8'");
  expect_bad(T("\"dtype\":3,\"shape\":[],\"data_offsets\":[0,1]"), 1, "must be a string");
  expect_bad(T("\"shape\":[],\"data_offsets\":[0,1]"), 1, "missing \"dtype\"");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":1"), 1,
             "unknown key 'x'");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0]"), 1, "must hold 2 integers");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":{},\"data_offsets\":[0,1]"), 1, "must be an array");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]"), 1,
             "\"shape\" entry 0 (-1) is negative");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]"), 1, "is not an integer");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[1e3],\"data_offsets\":[0,1]"), 1, "is not an integer");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]"), 1, "not a number");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[18446744073709551616],\"data_offsets\":[0,1]"), 1,
             "overflows 64 bits");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[9223372036854775808],\"data_offsets\":[0,1]"), 1,
             "is too large");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]"), 1,
             "more than 8 entries");
  expect_bad(T("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]"), 1,
             "product overflows");
  expect_bad(T("\"dtype\":\"F64\",\"shape\":[2305843009213693952,1],\"data_offsets\":[0,1]"), 1,
             "product overflows");
  /* offsets */
  expect_bad(T("\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,100]"), 100,
             "tensor 't': data_offsets [0, 100] hold 100 bytes but F32 [4, 8] needs 128");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,4]"), 8, "begin after end");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]"), 3,
             "run past the end of the data section (3 bytes)");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[18446744073709551612,"
               "18446744073709551615]"),
             3, "past the end");
  expect_bad(T("\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[-4,0]"), 3, "is negative");
  expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}",
             8, "tensor 'b' (data_offsets [3, 5]) overlaps tensor 'a' (data_offsets [0, 4])");
  expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]},"
             "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
             8, "overlaps tensor 'a'");
#undef T

  /* Accepted oddities: padding, holes, empty tensors at any offset, a
   * negative zero and unicode escapes. */
  const char *ok = "{\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\""
                   ":[4,6]},\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[5,-0]},"
                   "\"__metadata__\":{}}      ";
  size_t len;
  unsigned char *b = image(ok, strlen(ok), 8, &len);
  fk_err e = {0};
  fk_st_file *f = NULL;
  int r = fk_st_parse_memory(b, len, "ok", &f, &e);
  CHECK(r != 0, "[5, -0]: begin after end must fail");
  free(b);
  ok = "{\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\""
       ":[4,6]},\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[5,5]},"
       "\"__metadata__\":{}}      ";
  b = image(ok, strlen(ok), 8, &len);
  r = fk_st_parse_memory(b, len, "ok", &f, &e);
  CHECK(r == 0 && f, "odd but valid header: %s", e.msg);
  if (f) {
    const fk_st_tensor *t = fk_st_find(f, "\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(t && t->nbytes == 2 && ((const unsigned char *)t->data)[0] == 4, "unicode name");
    t = fk_st_find(f, "z");
    CHECK(t && t->numel == 0 && t->nbytes == 0, "empty tensor");
    fk_st_close(f);
  }
  free(b);
}

int main(void) {
  const char *tmp = getenv("TMP");
  const char *src = getenv("SRC");
  const char *shared_env = getenv("SHARED");
  char dir[4096], shared[3800];
  fk_err e = {0};
  snprintf(dir, sizeof dir, "%s/safetensors", tmp && *tmp ? tmp : "/tmp");
  if (fk_file_mkdirs(dir, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  if (shared_env && *shared_env)
    snprintf(shared, sizeof shared, "%s", shared_env);
  else
    snprintf(shared, sizeof shared, "%s/../shared", src && *src ? src : ".");

  test_conversions();
  test_round_trip(dir);
  test_golden(shared);
  test_corrupt_files(dir);
  test_corrupt_headers();
  return CHECK_DONE();
}
