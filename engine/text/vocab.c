/* Building the tokenizer's tables: from a tokenizer folder (vocab.json +
 * merges.txt) or from the merges compiled into the library, deriving the
 * vocabulary the way openai/CLIP's simple_tokenizer.py does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/file.h"
#include "text/clip_merges.h"
#include "text/tok_internal.h"
#include "text/unicode.h"
#include "text/vocab_json.h"

/* CLIP uses the first 49152 - 256 - 2 merges, whatever the file holds. */
#define CLIP_MAX_MERGES (49152 - 256 - 2)
#define MAX_ID (1 << 24)

static const char BOS[] = "<|startoftext|>";
static const char EOS[] = "<|endoftext|>";

static int printable(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t fk_tok_byte_char(int b) {
  if (printable(b)) return (uint32_t)b;
  uint32_t n = 0;
  for (int i = 0; i < b; i++) n += !printable(i);
  return 256 + n;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static uint64_t hash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

int32_t fk_tok_id(const fk_tok *t, const char *token) {
  size_t mask = t->index_cap - 1;
  for (size_t i = hash_str(token) & mask;; i = (i + 1) & mask) {
    int32_t id = t->index[i];
    if (id < 0) return -1;
    if (!strcmp(t->tokens[id], token)) return id;
  }
}

int fk_tok_pair_find(const fk_tok *t, int32_t a, int32_t b, int32_t *rank, int32_t *merged) {
  uint64_t key = ((uint64_t)(a + 1) << 32) | (uint64_t)(b + 1);
  size_t mask = t->pairs_cap - 1;
  for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
    if (t->pairs[i].key == 0) return 0;
    if (t->pairs[i].key == key) {
      *rank = t->pairs[i].rank;
      *merged = t->pairs[i].merged;
      return 1;
    }
  }
}

static int build_index(fk_tok *t, const char *name, fk_err *e) {
  size_t cap = 1024;
  while (cap < (size_t)t->n_tokens * 2) cap *= 2;
  t->index = malloc(cap * sizeof *t->index);
  if (!t->index) return fk_err_oom(e, "vocabulary index", cap * sizeof *t->index);
  memset(t->index, 0xFF, cap * sizeof *t->index);
  t->index_cap = cap;
  for (int32_t id = 0; id < t->n_tokens; id++) {
    if (!t->tokens[id]) continue;
    size_t i = hash_str(t->tokens[id]) & (cap - 1);
    for (; t->index[i] >= 0; i = (i + 1) & (cap - 1))
      if (!strcmp(t->tokens[t->index[i]], t->tokens[id]))
        return fk_err_set(e, FK_EUSER, "%s: token \"%s\" has two ids (%d and %d)", name,
                          t->tokens[id], (int)t->index[i], (int)id);
    t->index[i] = id;
  }
  return 0;
}

/* Python's str.strip().split("\n")[1:1+CLIP_MAX_MERGES], each line split on
 * whitespace into exactly two symbols. Calls fn(line_no, a, b) per merge;
 * text is modified in place. */
typedef int (*merge_fn)(fk_tok *t, int line, const char *a, const char *b, const char *name,
                        fk_err *e);

static int is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int each_merge(fk_tok *t, char *text, size_t len, merge_fn fn, const char *name, fk_err *e) {
  char *p = text, *end = text + len;
  while (p < end && is_ws(*p)) p++;
  while (end > p && is_ws(end[-1])) end--;
  *end = 0;
  int line = 0;
  while (p < end && line <= CLIP_MAX_MERGES) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *stop = nl ? nl : end;
    *stop = 0;
    if (line > 0) {
      char *a = p, *b, *q;
      while (*a && is_ws(*a)) a++;
      for (q = a; *q && !is_ws(*q); q++) {
      }
      b = q;
      while (*b && is_ws(*b)) *b++ = 0;
      for (q = b; *q && !is_ws(*q); q++) {
      }
      char *rest = q;
      while (*rest && is_ws(*rest)) *rest++ = 0;
      if (!*a || !*b || *rest)
        return fk_err_set(e, FK_EUSER, "%s line %d: expected two symbols", name, line + 1);
      int r = fn(t, line, a, b, name, e);
      if (r) return r;
    }
    line++;
    p = stop + 1;
  }
  return 0;
}

static int count_merge(fk_tok *t, int line, const char *a, const char *b, const char *name,
                       fk_err *e) {
  (void)a, (void)b, (void)name, (void)e;
  t->pairs_cap = (size_t)line; /* the highest merge line, reused as a counter */
  return 0;
}

static char *concat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 1);
  if (!s) return NULL;
  memcpy(s, a, la);
  memcpy(s + la, b, lb + 1);
  return s;
}

/* The derived vocabulary: merge k is id 512 + k. */
static int add_derived(fk_tok *t, int line, const char *a, const char *b, const char *name,
                       fk_err *e) {
  (void)name;
  int32_t id = 512 + line - 1;
  t->tokens[id] = concat(a, b);
  if (!t->tokens[id]) return fk_err_oom(e, "vocabulary", strlen(a) + strlen(b) + 1);
  return 0;
}

static int add_pair(fk_tok *t, int line, const char *a, const char *b, const char *name,
                    fk_err *e) {
  char *m = concat(a, b);
  if (!m) return fk_err_oom(e, "merge", strlen(a) + strlen(b) + 1);
  int32_t ia = fk_tok_id(t, a), ib = fk_tok_id(t, b), im = fk_tok_id(t, m);
  free(m);
  if (ia < 0 || ib < 0 || im < 0)
    return fk_err_set(e, FK_EUSER, "%s line %d: \"%s %s\" uses a token missing from the vocabulary",
                      name, line + 1, a, b);
  uint64_t key = ((uint64_t)(ia + 1) << 32) | (uint64_t)(ib + 1);
  size_t mask = t->pairs_cap - 1, i = hash_u64(key) & mask;
  while (t->pairs[i].key && t->pairs[i].key != key) i = (i + 1) & mask;
  /* A repeated pair keeps its last rank, as Python's dict(zip(...)) does. */
  t->pairs[i] = (fk_tok_pair){key, line - 1, im};
  return 0;
}

static int build_pairs(fk_tok *t, char *merges, size_t len, const char *name, fk_err *e) {
  size_t cap = 1024;
  while (cap < (size_t)CLIP_MAX_MERGES * 2) cap *= 2;
  t->pairs = calloc(cap, sizeof *t->pairs);
  if (!t->pairs) return fk_err_oom(e, "merge table", cap * sizeof *t->pairs);
  t->pairs_cap = cap;
  return each_merge(t, merges, len, add_pair, name, e);
}

static int finish(fk_tok *t, const char *name, fk_err *e) {
  for (int b = 0; b < 256; b++) {
    unsigned char u[8];
    int k = fk_utf8_encode(fk_tok_byte_char(b), u);
    memcpy(u + k, "</w>", 5);
    t->byte_end_id[b] = fk_tok_id(t, (const char *)u);
    u[k] = 0;
    t->byte_id[b] = fk_tok_id(t, (const char *)u);
    if (t->byte_id[b] < 0 || t->byte_end_id[b] < 0)
      return fk_err_set(e, FK_EUSER, "%s: the byte-level token for byte 0x%02X is missing", name,
                        b);
  }
  t->bos = fk_tok_id(t, BOS);
  t->eos = fk_tok_id(t, EOS);
  if (t->bos < 0 || t->eos < 0)
    return fk_err_set(e, FK_EUSER, "%s: %s or %s is missing from the vocabulary", name, BOS, EOS);
  return 0;
}

static int open_embedded(fk_tok *t, fk_err *e) {
  const char *name = "built-in CLIP merges";
  uLongf len = (uLongf)FK_CLIP_MERGES_LEN;
  char *text = malloc(FK_CLIP_MERGES_LEN + 1);
  if (!text) return fk_err_oom(e, "CLIP merges", FK_CLIP_MERGES_LEN + 1);
  if (uncompress((Bytef *)text, &len, FK_CLIP_MERGES_Z, (uLong)FK_CLIP_MERGES_Z_LEN) != Z_OK ||
      len != FK_CLIP_MERGES_LEN) {
    free(text);
    return fk_err_set(e, FK_EINTERNAL, "%s: decompression failed", name);
  }
  text[len] = 0;
  char *copy = malloc(len + 1);
  int r = 0;
  if (!copy) r = fk_err_oom(e, "CLIP merges", len + 1);
  if (!r) {
    memcpy(copy, text, len + 1);
    r = each_merge(t, copy, len, count_merge, name, e);
  }
  int32_t n_merges = (int32_t)t->pairs_cap;
  t->pairs_cap = 0;
  if (!r) {
    t->n_tokens = 512 + n_merges + 2;
    t->tokens = calloc((size_t)t->n_tokens, sizeof *t->tokens);
    if (!t->tokens) r = fk_err_oom(e, "vocabulary", (size_t)t->n_tokens * sizeof *t->tokens);
  }
  /* bytes_to_unicode() order: printable bytes first, then the rest. */
  int32_t id = 0;
  for (int pass = 0; pass < 2 && !r; pass++) {
    for (int b = 0; b < 256 && !r; b++) {
      if (printable(b) != (pass == 0)) continue;
      unsigned char u[8];
      int k = fk_utf8_encode(fk_tok_byte_char(b), u);
      u[k] = 0;
      t->tokens[id] = concat((const char *)u, "");
      t->tokens[id + 256] = concat((const char *)u, "</w>");
      if (!t->tokens[id] || !t->tokens[id + 256]) r = fk_err_oom(e, "vocabulary", 16);
      id++;
    }
  }
  if (!r) {
    memcpy(copy, text, len + 1);
    r = each_merge(t, copy, len, add_derived, name, e);
  }
  if (!r) {
    t->tokens[t->n_tokens - 2] = concat(BOS, "");
    t->tokens[t->n_tokens - 1] = concat(EOS, "");
    if (!t->tokens[t->n_tokens - 2] || !t->tokens[t->n_tokens - 1])
      r = fk_err_oom(e, "vocabulary", 16);
  }
  if (!r) r = build_index(t, name, e);
  if (!r) r = build_pairs(t, text, len, name, e);
  if (!r) r = finish(t, name, e);
  free(copy);
  free(text);
  return r;
}

static int add_vocab_entry(void *ud, const char *key, size_t klen, int64_t id, fk_err *e) {
  fk_tok *t = ud;
  if (id < 0 || id >= MAX_ID)
    return fk_err_set(e, FK_EUSER, "vocab.json: id %lld out of range", (long long)id);
  if (strlen(key) != klen)
    return fk_err_set(e, FK_EUSER, "vocab.json: token with id %lld contains a NUL", (long long)id);
  if (id >= t->n_tokens) {
    int32_t n = t->n_tokens ? t->n_tokens : 1024;
    while (n <= id) n *= 2;
    char **tok = realloc(t->tokens, (size_t)n * sizeof *tok);
    if (!tok) return fk_err_oom(e, "vocabulary", (size_t)n * sizeof *tok);
    memset(tok + t->n_tokens, 0, (size_t)(n - t->n_tokens) * sizeof *tok);
    t->tokens = tok;
    t->n_tokens = n;
  }
  if (t->tokens[id])
    return fk_err_set(e, FK_EUSER, "vocab.json: id %lld is used twice", (long long)id);
  t->tokens[id] = concat(key, "");
  if (!t->tokens[id]) return fk_err_oom(e, "vocabulary", klen + 1);
  return 0;
}

static int open_dir(fk_tok *t, const char *dir, fk_err *e) {
  char vpath[4096], mpath[4096];
  char *vjson = NULL, *merges = NULL;
  size_t vlen = 0, mlen = 0;
  int r = fk_path_join(vpath, sizeof vpath, dir, "vocab.json", e);
  if (!r) r = fk_path_join(mpath, sizeof mpath, dir, "merges.txt", e);
  if (!r) r = fk_file_read(vpath, &vjson, &vlen, e);
  if (!r) r = fk_file_read(mpath, &merges, &mlen, e);
  if (!r) r = fk_vocab_json_parse(vjson, vlen, vpath, add_vocab_entry, t, e);
  if (!r) {
    while (t->n_tokens > 0 && !t->tokens[t->n_tokens - 1]) t->n_tokens--;
    r = build_index(t, vpath, e);
  }
  if (!r) r = build_pairs(t, merges, mlen, mpath, e);
  if (!r) r = finish(t, vpath, e);
  free(vjson);
  free(merges);
  return r;
}

int fk_tok_open(const char *dir, fk_tok **out, fk_err *e) {
  *out = NULL;
  fk_tok *t = calloc(1, sizeof *t);
  if (!t) return fk_err_oom(e, "tokenizer", sizeof *t);
  int r = dir ? open_dir(t, dir, e) : open_embedded(t, e);
  if (r) {
    fk_tok_close(t);
    return r;
  }
  *out = t;
  return 0;
}

int fk_tok_open_for_model(const char *model_dir, fk_tok **out, fk_err *e) {
  char dir[4096], v[4096], m[4096];
  int r = fk_path_join(dir, sizeof dir, model_dir, "tokenizer", e);
  if (!r) r = fk_path_join(v, sizeof v, dir, "vocab.json", e);
  if (!r) r = fk_path_join(m, sizeof m, dir, "merges.txt", e);
  if (r) return r;
  return fk_tok_open(fk_file_exists(v) && fk_file_exists(m) ? dir : NULL, out, e);
}

void fk_tok_close(fk_tok *t) {
  if (!t) return;
  if (t->tokens)
    for (int32_t i = 0; i < t->n_tokens; i++) free(t->tokens[i]);
  free(t->tokens);
  free(t->index);
  free(t->pairs);
  free(t);
}

int32_t fk_tok_bos(const fk_tok *t) {
  return t->bos;
}

int32_t fk_tok_eos(const fk_tok *t) {
  return t->eos;
}

int32_t fk_tok_vocab_size(const fk_tok *t) {
  return t->n_tokens;
}

const char *fk_tok_token(const fk_tok *t, int32_t id) {
  return id >= 0 && id < t->n_tokens ? t->tokens[id] : NULL;
}
