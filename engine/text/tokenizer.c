/* Encoding: special-token split, cleaning, CLIP's pre-split pattern and
 * byte-level BPE by merge rank. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/clean.h"
#include "text/tok_internal.h"
#include "text/unicode.h"

typedef struct {
  int32_t *v;
  size_t n, cap;
} ids_t;

static int push_id(ids_t *s, int32_t id, fk_err *e) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    int32_t *v = realloc(s->v, cap * sizeof *v);
    if (!v) return fk_err_oom(e, "token ids", cap * sizeof *v);
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = id;
  return 0;
}

/* BPE of one pre-split piece: its UTF-8 bytes as byte symbols, the last
 * carrying "</w>", then repeatedly every occurrence (left to right) of the
 * lowest-ranked adjacent pair is merged. */
static int bpe(const fk_tok *t, const uint32_t *cp, size_t n, ids_t *out, fk_err *e) {
  ids_t w = {0};
  int r = 0;
  for (size_t i = 0; i < n && !r; i++) {
    unsigned char u[4];
    int k = fk_utf8_encode(cp[i], u);
    for (int j = 0; j < k && !r; j++) r = push_id(&w, t->byte_id[u[j]], e);
  }
  if (r || w.n == 0) {
    free(w.v);
    return r;
  }
  for (size_t i = 0; i < 256; i++) {
    if (t->byte_id[i] == w.v[w.n - 1]) {
      w.v[w.n - 1] = t->byte_end_id[i];
      break;
    }
  }
  /* rank[i] / merged[i] describe the pair (w[i], w[i+1]); after a round
   * only pairs touching a new symbol are looked up again, which keeps
   * pathological 100k-letter "words" to seconds. */
  int32_t *rank = malloc(w.n * sizeof *rank), *merged = malloc(w.n * sizeof *merged);
  size_t *from = malloc(w.n * sizeof *from);
  if (!rank || !merged || !from) r = fk_err_oom(e, "BPE word", w.n * 16);
  for (size_t i = 0; !r && i + 1 < w.n; i++)
    if (!fk_tok_pair_find(t, w.v[i], w.v[i + 1], &rank[i], &merged[i])) rank[i] = INT32_MAX;
  while (!r && w.n > 1) {
    int32_t best = INT32_MAX, a = 0, b = 0, m = 0;
    for (size_t i = 0; i + 1 < w.n; i++) {
      if (rank[i] < best) {
        best = rank[i];
        a = w.v[i];
        b = w.v[i + 1];
        m = merged[i];
      }
    }
    if (best == INT32_MAX) break;
    /* Merge every (a, b) left to right; from[o] is the old index of output
     * o, or SIZE_MAX for a new symbol. */
    size_t o = 0;
    for (size_t i = 0; i < w.n; i++, o++) {
      if (i + 1 < w.n && w.v[i] == a && w.v[i + 1] == b) {
        w.v[o] = m;
        from[o] = SIZE_MAX;
        i++;
      } else {
        w.v[o] = w.v[i];
        from[o] = i;
      }
    }
    w.n = o;
    for (size_t i = 0; i + 1 < w.n; i++) {
      if (from[i] != SIZE_MAX && from[i + 1] != SIZE_MAX) {
        rank[i] = rank[from[i]];
        merged[i] = merged[from[i]];
      } else if (!fk_tok_pair_find(t, w.v[i], w.v[i + 1], &rank[i], &merged[i])) {
        rank[i] = INT32_MAX;
      }
    }
  }
  free(rank);
  free(merged);
  free(from);
  for (size_t i = 0; i < w.n && !r; i++) r = push_id(out, w.v[i], e);
  free(w.v);
  return r;
}

static int match_ascii(const fk_u32s *s, size_t i, const char *lit) {
  size_t n = strlen(lit);
  if (i + n > s->n) return 0;
  for (size_t k = 0; k < n; k++)
    if (s->v[i + k] != (unsigned char)lit[k]) return 0;
  return 1;
}

/* CLIP's pattern, alternatives in order:
 * <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ */
static int split_and_bpe(const fk_tok *t, const fk_u32s *s, ids_t *out, fk_err *e) {
  static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  size_t i = 0;
  int r = 0;
  while (i < s->n && !r) {
    uint32_t c = s->v[i];
    size_t j = i;
    if (match_ascii(s, i, "<|startoftext|>")) {
      r = push_id(out, t->bos, e);
      i += 15;
      continue;
    }
    if (match_ascii(s, i, "<|endoftext|>")) {
      r = push_id(out, t->eos, e);
      i += 13;
      continue;
    }
    if (c == '\'') {
      for (size_t k = 0; k < 7 && j == i; k++)
        if (match_ascii(s, i, contractions[k])) j = i + strlen(contractions[k]);
    }
    if (j == i) {
      if (fk_uni_is_letter(c)) {
        while (j < s->n && fk_uni_is_letter(s->v[j])) j++;
      } else if (fk_uni_is_number(c)) {
        j = i + 1;
      } else if (!fk_uni_is_space(c)) {
        while (j < s->n && !fk_uni_is_space(s->v[j]) && !fk_uni_is_letter(s->v[j]) &&
               !fk_uni_is_number(s->v[j]))
          j++;
      } else {
        i++;
        continue;
      }
    }
    r = bpe(t, s->v + i, j - i, out, e);
    i = j;
  }
  return r;
}

static int encode_piece(const fk_tok *t, const char *s, size_t len, ids_t *out, fk_err *e) {
  fk_u32s raw = {0}, clean = {0};
  int r = fk_utf8_decode(s, len, &raw, e);
  if (!r) r = fk_text_clip_clean(&raw, &clean, e);
  if (!r) r = split_and_bpe(t, &clean, out, e);
  fk_u32s_free(&raw);
  fk_u32s_free(&clean);
  return r;
}

int fk_tok_encode(const fk_tok *t, const char *utf8, int32_t **ids, size_t *n, fk_err *e) {
  *ids = NULL;
  *n = 0;
  size_t len = strlen(utf8);
  fk_u32s check = {0};
  /* Validate first so an error names the offset in the whole prompt. */
  int r = fk_utf8_decode(utf8, len, &check, e);
  fk_u32s_free(&check);
  if (r) return r;
  ids_t out = {0};
  /* Like transformers, literal special tokens are split off the raw text
   * (case-sensitively) before any cleaning. */
  const char *p = utf8, *end = utf8 + len;
  while (!r && p < end) {
    const char *bos = strstr(p, "<|startoftext|>"), *eos = strstr(p, "<|endoftext|>");
    const char *hit = bos && (!eos || bos < eos) ? bos : eos;
    const char *stop = hit ? hit : end;
    if (stop > p) r = encode_piece(t, p, (size_t)(stop - p), &out, e);
    if (!r && hit) {
      r = push_id(&out, hit == bos ? t->bos : t->eos, e);
      p = hit + (hit == bos ? 15 : 13);
    } else {
      p = stop;
    }
  }
  if (!r && !out.v) r = push_id(&out, 0, e), out.n = 0;
  if (r) {
    free(out.v);
    return r;
  }
  *ids = out.v;
  *n = out.n;
  return 0;
}

int fk_tok_ids77(const fk_tok *t, const char *text, int32_t pad_id, int32_t out[FK_TOK_CONTEXT],
                 fk_err *e) {
  int32_t *ids;
  size_t n;
  int r = fk_tok_encode(t, text, &ids, &n, e);
  if (r) return r;
  if (n > FK_TOK_CONTEXT - 2) n = FK_TOK_CONTEXT - 2;
  out[0] = t->bos;
  memcpy(out + 1, ids, n * sizeof *ids);
  out[n + 1] = t->eos;
  for (size_t i = n + 2; i < FK_TOK_CONTEXT; i++) out[i] = pad_id;
  free(ids);
  return 0;
}
