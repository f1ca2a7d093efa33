/* The CLIP tokenizer against transformers' CLIPTokenizer (golden ids of
 * /work/shared/golden/cases/tokenizer.safetensors), the built-in
 * vocabulary against models/clip/vocab.json, and bad or huge inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/error.h"
#include "core/file.h"
#include "models/safetensors.h"
#include "text/clean.h"
#include "text/tokenizer.h"
#include "text/vocab_json.h"

#define MAX_PROMPTS 64

static int64_t i64_at(const fk_st_tensor *t, size_t i) {
  int64_t v;
  memcpy(&v, (const unsigned char *)t->data + i * 8, 8);
  return v;
}

/* The metadata "prompts": a JSON list of strings. */
static size_t parse_prompts(const char *json, char **out) {
  size_t len = strlen(json), pos = 0, n = 0;
  fk_err e = {0};
  while (pos < len && json[pos] != '[') pos++;
  pos++;
  while (pos < len && n < MAX_PROMPTS) {
    while (pos < len && (json[pos] == ' ' || json[pos] == ',' || json[pos] == '\n')) pos++;
    if (pos >= len || json[pos] != '"') break;
    size_t sl;
    if (fk_json_string(json, len, &pos, &out[n], &sl, &e)) {
      CHECK(0, "prompts metadata: %s", e.msg);
      break;
    }
    n++;
  }
  return n;
}

static void check_golden(const fk_tok *t, const char *shared, const char *label) {
  char path[4096];
  snprintf(path, sizeof path, "%s/golden/cases/tokenizer.safetensors", shared);
  if (!fk_file_exists(path)) {
    printf("note: %s missing, golden checks skipped\n", path);
    return;
  }
  fk_err e = {0};
  fk_st_file *f = NULL;
  CHECK(fk_st_open(path, &f, &e) == 0, "open %s: %s", path, e.msg);
  if (!f) return;
  const char *pj = fk_st_metadata(f, "prompts");
  char *prompts[MAX_PROMPTS];
  size_t np = pj ? parse_prompts(pj, prompts) : 0;
  CHECK(np == 16, "%zu prompts", np);
  const fk_st_tensor *ids = NULL, *flat, *offs;
  int64_t shape[2] = {(int64_t)np, 77};
  CHECK(fk_st_expect(f, "input_ids", FK_ST_I64, 2, shape, &ids, &e) == 0, "%s", e.msg);
  flat = fk_st_find(f, "untruncated_ids_flat");
  offs = fk_st_find(f, "untruncated_ids_offsets");
  CHECK(flat && offs && offs->numel == np + 1, "untruncated ids present");
  for (size_t i = 0; ids && flat && offs && i < np; i++) {
    int32_t got[77];
    int r = fk_tok_ids77(t, prompts[i], fk_tok_eos(t), got, &e);
    CHECK(r == 0, "%s prompt %zu: %s", label, i, e.msg);
    int same = 1;
    for (int k = 0; k < 77 && !r; k++) same &= got[k] == i64_at(ids, i * 77 + (size_t)k);
    CHECK(r == 0 && same, "%s prompt %zu (%s): input_ids differ", label, i, prompts[i]);

    int32_t *u = NULL;
    size_t n = 0;
    r = fk_tok_encode(t, prompts[i], &u, &n, &e);
    size_t lo = (size_t)i64_at(offs, i) + 1, hi = (size_t)i64_at(offs, i + 1) - 1;
    same = r == 0 && n == hi - lo;
    for (size_t k = 0; same && k < n; k++) same = u[k] == i64_at(flat, lo + k);
    CHECK(same, "%s prompt %zu (%s): untruncated ids differ (%zu vs %zu ids)", label, i, prompts[i],
          n, hi - lo);
    if (!same && u) {
      for (size_t k = 0; k < n; k++) fprintf(stderr, " %s", fk_tok_token(t, u[k]));
      fputc('\n', stderr);
    }
    free(u);
  }
  for (size_t i = 0; i < np; i++) free(prompts[i]);
  fk_st_close(f);
}

/* The built-in vocabulary, derived from the merges, is models/clip/vocab.json. */
static void check_builtin_vocab(const fk_tok *t, const char *src) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/models/clip", src);
  fk_err e = {0};
  fk_tok *file = NULL;
  CHECK(fk_tok_open(dir, &file, &e) == 0, "open %s: %s", dir, e.msg);
  if (!file) return;
  CHECK(fk_tok_vocab_size(t) == 49408, "built-in vocab size %d", (int)fk_tok_vocab_size(t));
  CHECK(fk_tok_vocab_size(file) == 49408, "vocab.json size %d", (int)fk_tok_vocab_size(file));
  int diff = 0;
  for (int32_t i = 0; i < fk_tok_vocab_size(t) && i < fk_tok_vocab_size(file); i++) {
    const char *a = fk_tok_token(t, i), *b = fk_tok_token(file, i);
    if (!a || !b || strcmp(a, b)) diff++;
  }
  CHECK(diff == 0, "%d ids differ between the built-in vocabulary and vocab.json", diff);
  CHECK(fk_tok_bos(t) == 49406 && fk_tok_eos(t) == 49407, "bos %d eos %d", (int)fk_tok_bos(t),
        (int)fk_tok_eos(t));
  CHECK(fk_tok_id(t, ",</w>") == 267, "comma id %d", (int)fk_tok_id(t, ",</w>"));
  fk_tok_close(file);
}

static void check_clean(const char *in, const char *want) {
  fk_err e = {0};
  fk_u32s a = {0}, b = {0}, w = {0};
  int r = fk_utf8_decode(in, strlen(in), &a, &e);
  if (!r) r = fk_text_clip_clean(&a, &b, &e);
  if (!r) r = fk_utf8_decode(want, strlen(want), &w, &e);
  int same = !r && b.n == w.n && (w.n == 0 || !memcmp(b.v, w.v, w.n * sizeof *w.v));
  CHECK(same, "clean(\"%s\") != \"%s\" (%s)", in, want, e.msg);
  fk_u32s_free(&a);
  fk_u32s_free(&b);
  fk_u32s_free(&w);
}

/* Expected values are what Python + ftfy 6.1.1 give, reasoned from their
 * source (see engine/text/README.md). */
static void test_clean(void) {
  check_clean("fish &amp; chips &lt;3", "fish & chips <3");
  check_clean("&amp;lt;", "<");                           /* fix_text loops until stable */
  check_clean("a<b &amp; c", "a<b &amp; c");              /* a '<' turns unescaping off */
  check_clean("x &amp;\ny < z &amp;", "x & y < z &amp;"); /* from that line on only */
  check_clean("&AMP; &EACUTE; &nTILDE;", "& é &ntilde;");
  check_clean("&#x41;&#66;&#59;&#0;", "ab&#59;\xef\xbf\xbd"); /* ';' stays escaped */
  check_clean("\xef\xbc\xa6\xef\xbd\x95\xe3\x80\x80\xef\xac\x81", "fu fi");
  check_clean("\xe2\x80\x9cq\xe2\x80\x9d \xe2\x80\x98s\xe2\x80\x99", "\"q\" 's'");
  check_clean("  a\t\tb\r\n\n c  ", "a b c");
  check_clean("e\xcc\x81", "\xc3\xa9"); /* NFC composes */
  check_clean("\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"); /* ΟΔΟΣ */
  check_clean("\xc4\xb0", "i\xcc\x87"); /* İ lowers to i + dot */
  check_clean("\x1b[31mred\x1b[0m\x01", "red");
  check_clean("\xc2\x93x\xc2\x94", "\"x\""); /* C1 controls read as windows-1252 */
}

static void test_bad_and_long(const fk_tok *t) {
  fk_err e = {0};
  int32_t *ids = NULL;
  size_t n = 0;
  CHECK(fk_tok_encode(t, "abc\xff", &ids, &n, &e) == FK_EUSER, "invalid UTF-8 accepted");
  CHECK(strstr(e.msg, "offset 3") != NULL, "message '%s' lacks the offset", e.msg);
  CHECK(fk_tok_encode(t, "ab\xc3", &ids, &n, &e) == FK_EUSER, "truncated UTF-8 accepted");
  CHECK(fk_tok_encode(t, "\xed\xa0\x80", &ids, &n, &e) == FK_EUSER, "surrogate accepted");
  CHECK(fk_tok_encode(t, "\xc0\xaf", &ids, &n, &e) == FK_EUSER, "overlong accepted");

  CHECK(fk_tok_encode(t, "", &ids, &n, &e) == 0 && n == 0 && ids, "empty prompt");
  free(ids);
  CHECK(fk_tok_encode(t, "<|ENDOFTEXT|>", &ids, &n, &e) == 0 && n == 1 && ids[0] == 49407,
        "upper-case special text becomes the special token after lower()");
  free(ids);

  const char *unit = "a photo of a cat, ";
  size_t ul = strlen(unit), total = 100000;
  char *big = malloc(total + 1);
  CHECK(big != NULL, "alloc");
  if (!big) return;
  for (size_t i = 0; i < total; i++) big[i] = unit[i % ul];
  big[total] = 0;
  clock_t c0 = clock();
  int r = fk_tok_encode(t, big, &ids, &n, &e);
  double s = (double)(clock() - c0) / CLOCKS_PER_SEC;
  CHECK(r == 0 && n == total / ul * 6 + 3 /* + "a photo of" */, "long prompt: %d, %zu ids", r, n);
  CHECK(s < 5.0, "100k-character prompt took %.2f s", s);
  printf("100k-character prompt: %zu ids in %.3f s\n", n, s);
  free(ids);
  free(big);
}

int main(void) {
  const char *src = getenv("SRC");
  const char *shared_env = getenv("SHARED");
  char shared[3800], dir[4096];
  if (!src || !*src) src = FUNKY_SOURCE_DIR;
  if (shared_env && *shared_env)
    snprintf(shared, sizeof shared, "%s", shared_env);
  else
    snprintf(shared, sizeof shared, "%s/../shared", src);

  fk_err e = {0};
  fk_tok *t = NULL;
  CHECK(fk_tok_open(NULL, &t, &e) == 0, "open built-in: %s", e.msg);
  if (!t) return CHECK_DONE();
  test_clean();
  check_builtin_vocab(t, src);
  check_golden(t, shared, "built-in");
  test_bad_and_long(t);

  snprintf(dir, sizeof dir, "%s/golden/tiny-sd", shared);
  if (fk_file_exists(dir)) {
    fk_tok *m = NULL;
    CHECK(fk_tok_open_for_model(dir, &m, &e) == 0, "open %s: %s", dir, e.msg);
    if (m) check_golden(m, shared, "tiny-sd/tokenizer");
    fk_tok_close(m);
  }
  fk_tok_close(t);
  return CHECK_DONE();
}
