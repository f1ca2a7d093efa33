/* A1111's parse_prompt_attention (regex-driven in Python; a hand-written
 * scanner here) and tokenize_line. */
#include "text/prompt_weights.h"

#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"

#define CHUNK 75
#define COMMA_BACKTRACK 20

typedef struct {
  fk_prompt_seg *v;
  size_t n, cap;
} segs_t;

static int seg_push(segs_t *s, const char *text, size_t len, double w, fk_err *e) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    fk_prompt_seg *v = realloc(s->v, cap * sizeof *v);
    if (!v) return fk_err_oom(e, "prompt segments", cap * sizeof *v);
    s->v = v;
    s->cap = cap;
  }
  char *t = malloc(len + 1);
  if (!t) return fk_err_oom(e, "prompt segment", len + 1);
  memcpy(t, text, len);
  t[len] = 0;
  s->v[s->n++] = (fk_prompt_seg){t, w};
  return 0;
}

/* The code point at s[i] (valid UTF-8) and its length. */
static uint32_t cp_at(const char *s, size_t i, int *len) {
  const unsigned char *u = (const unsigned char *)s + i;
  if (u[0] < 0x80) return *len = 1, u[0];
  if (u[0] < 0xE0) return *len = 2, ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
  if (u[0] < 0xF0)
    return *len = 3,
           ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
  return *len = 4, ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
                       ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
}

/* The code point ending just before s[i]. */
static uint32_t cp_before(const char *s, size_t i) {
  size_t j = i - 1;
  while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
  int l;
  return cp_at(s, j, &l);
}

static int is_word(uint32_t c) {
  return c == '_' || fk_uni_is_letter(c) || fk_uni_is_number(c);
}

static size_t skip_space(const char *s, size_t i, size_t end) {
  while (i < end) {
    int l;
    if (!fk_uni_is_space(cp_at(s, i, &l))) break;
    i += (size_t)l;
  }
  return i;
}

/* re.split(r"\s*\bBREAK\b\s*", text): parts with a BREAK marker between. */
static int add_text(segs_t *res, const char *s, size_t len, fk_err *e) {
  size_t cur = 0, p = 0;
  while (p + 5 <= len) {
    const char *hit = NULL;
    for (size_t k = p; k + 5 <= len; k++) {
      if (memcmp(s + k, "BREAK", 5)) continue;
      int l;
      if (k > 0 && is_word(cp_before(s, k))) continue;
      if (k + 5 < len && is_word(cp_at(s, k + 5, &l))) continue;
      hit = s + k;
      break;
    }
    if (!hit) break;
    size_t k = (size_t)(hit - s), q = k;
    /* Leftmost match start: the whitespace run right before BREAK. */
    while (q > cur) {
      size_t j = q - 1;
      while (j > cur && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
      int l;
      if (!fk_uni_is_space(cp_at(s, j, &l))) break;
      q = j;
    }
    if (seg_push(res, s + cur, q - cur, 1.0, e) || seg_push(res, "BREAK", 5, -1.0, e))
      return FK_EINTERNAL;
    cur = p = skip_space(s, k + 5, len);
  }
  return seg_push(res, s + cur, len - cur, 1.0, e) ? FK_EINTERNAL : 0;
}

/* ":" \s* ([+-]?[.\d]+) \s* ")" at s[i]; returns the match length (0 when
 * none) and the number's span. */
static size_t weight_token(const char *s, size_t i, size_t len, size_t *num, size_t *num_len) {
  size_t j = skip_space(s, i + 1, len), k = j;
  if (k < len && (s[k] == '+' || s[k] == '-')) k++;
  size_t d = k;
  while (k < len && (s[k] == '.' || (s[k] >= '0' && s[k] <= '9'))) k++;
  if (k == d) return 0;
  *num = j;
  *num_len = k - j;
  k = skip_space(s, k, len);
  if (k >= len || s[k] != ')') return 0;
  return k + 1 - i;
}

/* Python's float() over [+-]?[.\d]+: one '.' at most, a digit somewhere. */
static int parse_weight(const char *s, size_t n, double *w, fk_err *e) {
  char buf[64];
  int dots = 0, digits = 0;
  for (size_t i = 0; i < n; i++) dots += s[i] == '.', digits += s[i] >= '0' && s[i] <= '9';
  if (n >= sizeof buf || dots > 1 || digits == 0)
    return fk_err_set(e, FK_EUSER, "prompt weight \"%.*s\" is not a number", (int)n, s);
  memcpy(buf, s, n);
  buf[n] = 0;
  *w = strtod(buf, NULL);
  return 0;
}

typedef struct {
  size_t *v;
  size_t n, cap;
} bracket_stack;

static int stack_push(bracket_stack *s, size_t x, fk_err *e) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    size_t *v = realloc(s->v, cap * sizeof *v);
    if (!v) return fk_err_oom(e, "bracket stack", cap * sizeof *v);
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = x;
  return 0;
}

static void multiply(segs_t *res, size_t from, double m) {
  for (size_t p = from; p < res->n; p++) res->v[p].weight *= m;
}

static int parse(const char *s, segs_t *res, fk_err *e) {
  size_t len = strlen(s), i = 0;
  bracket_stack round = {0}, square = {0};
  int r = 0;
  while (i < len && !r) {
    char c = s[i];
    size_t num = 0, num_len = 0, m;
    if (c == '\\') {
      int esc = i + 1 < len && strchr("()[]\\", s[i + 1]) != NULL;
      r = seg_push(res, s + i + 1, esc ? 1 : 0, 1.0, e);
      i += esc ? 2 : 1;
    } else if (c == '(') {
      r = stack_push(&round, res->n, e);
      i++;
    } else if (c == '[') {
      r = stack_push(&square, res->n, e);
      i++;
    } else if (c == ':' && (m = weight_token(s, i, len, &num, &num_len)) != 0) {
      if (round.n) {
        double w = 1;
        r = parse_weight(s + num, num_len, &w, e);
        if (!r) multiply(res, round.v[--round.n], w);
      } else {
        r = add_text(res, s + i, m, e);
      }
      i += m;
    } else if (c == ')' && round.n) {
      multiply(res, round.v[--round.n], 1.1);
      i++;
    } else if (c == ']' && square.n) {
      multiply(res, square.v[--square.n], 1 / 1.1);
      i++;
    } else if (c == ')' || c == ']' || c == ':') {
      r = add_text(res, s + i, 1, e);
      i++;
    } else {
      size_t j = i;
      while (j < len && !strchr("\\()[]:", s[j])) j++;
      r = add_text(res, s + i, j - i, e);
      i = j;
    }
  }
  for (size_t k = 0; k < round.n && !r; k++) multiply(res, round.v[k], 1.1);
  for (size_t k = 0; k < square.n && !r; k++) multiply(res, square.v[k], 1 / 1.1);
  free(round.v);
  free(square.v);
  return r;
}

void fk_prompt_segs_free(fk_prompt_seg *segs, size_t n) {
  if (!segs) return;
  for (size_t i = 0; i < n; i++) free(segs[i].text);
  free(segs);
}

int fk_prompt_parse(const char *prompt, fk_prompt_seg **segs, size_t *n, fk_err *e) {
  *segs = NULL;
  *n = 0;
  fk_u32s check = {0};
  int r = fk_utf8_decode(prompt, strlen(prompt), &check, e);
  fk_u32s_free(&check);
  if (r) return r;
  segs_t res = {0};
  r = parse(prompt, &res, e);
  if (!r && res.n == 0) r = seg_push(&res, "", 0, 1.0, e);
  /* Merge runs of identical weights. */
  for (size_t i = 0; !r && i + 1 < res.n;) {
    if (res.v[i].weight != res.v[i + 1].weight) {
      i++;
      continue;
    }
    size_t la = strlen(res.v[i].text), lb = strlen(res.v[i + 1].text);
    char *t = realloc(res.v[i].text, la + lb + 1);
    if (!t) {
      r = fk_err_oom(e, "prompt segment", la + lb + 1);
      break;
    }
    memcpy(t + la, res.v[i + 1].text, lb + 1);
    res.v[i].text = t;
    free(res.v[i + 1].text);
    memmove(res.v + i + 1, res.v + i + 2, (res.n - i - 2) * sizeof *res.v);
    res.n--;
  }
  if (r) {
    fk_prompt_segs_free(res.v, res.n);
    return r;
  }
  *segs = res.v;
  *n = res.n;
  return 0;
}

/* The chunk being filled: up to 75 tokens and their weights. */
typedef struct {
  int32_t ids[CHUNK];
  float w[CHUNK];
  size_t n;
} pending_t;

typedef struct {
  const fk_tok *t;
  fk_prompt_chunks *out;
  size_t cap;
  pending_t cur;
  long last_comma;
  int32_t pad_id;
} builder_t;

static int next_chunk(builder_t *b, int is_last, fk_err *e) {
  fk_prompt_chunks *o = b->out;
  o->token_count += is_last ? b->cur.n : CHUNK;
  if (o->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4;
    void *ids = realloc(o->ids, cap * sizeof *o->ids);
    if (!ids) return fk_err_oom(e, "prompt chunks", cap * sizeof *o->ids);
    o->ids = ids;
    void *w = realloc(o->weights, cap * sizeof *o->weights);
    if (!w) return fk_err_oom(e, "prompt chunks", cap * sizeof *o->weights);
    o->weights = w;
    b->cap = cap;
  }
  int32_t *ids = o->ids[o->n];
  float *w = o->weights[o->n];
  int32_t eos = fk_tok_eos(b->t);
  ids[0] = fk_tok_bos(b->t);
  w[0] = 1.0f;
  for (size_t i = 0; i < CHUNK; i++) {
    ids[i + 1] = i < b->cur.n ? b->cur.ids[i] : eos;
    w[i + 1] = i < b->cur.n ? b->cur.w[i] : 1.0f;
  }
  ids[CHUNK + 1] = eos;
  w[CHUNK + 1] = 1.0f;
  /* A1111's SD2 rule: everything after the first EOS becomes padding. */
  int seen = 0;
  for (size_t i = 1; i < FK_TOK_CONTEXT; i++) {
    if (seen) ids[i] = b->pad_id;
    if (ids[i] == eos) seen = 1;
  }
  o->n++;
  b->cur.n = 0;
  b->last_comma = -1;
  return 0;
}

static int add_tokens(builder_t *b, const int32_t *ids, size_t n, float weight, int backtrack,
                      int32_t comma, fk_err *e) {
  for (size_t p = 0; p < n; p++) {
    if (backtrack && ids[p] == comma) {
      b->last_comma = (long)b->cur.n;
    } else if (backtrack && b->cur.n == CHUNK && b->last_comma != -1 &&
               (long)b->cur.n - b->last_comma <= COMMA_BACKTRACK) {
      /* Move the words after the comma into the next chunk. */
      size_t at = (size_t)b->last_comma + 1, k = b->cur.n - at;
      int32_t rid[CHUNK];
      float rw[CHUNK];
      memcpy(rid, b->cur.ids + at, k * sizeof *rid);
      memcpy(rw, b->cur.w + at, k * sizeof *rw);
      b->cur.n = at;
      if (next_chunk(b, 0, e)) return FK_EINTERNAL;
      memcpy(b->cur.ids, rid, k * sizeof *rid);
      memcpy(b->cur.w, rw, k * sizeof *rw);
      b->cur.n = k;
    }
    if (b->cur.n == CHUNK && next_chunk(b, 0, e)) return FK_EINTERNAL;
    b->cur.ids[b->cur.n] = ids[p];
    b->cur.w[b->cur.n] = weight;
    b->cur.n++;
  }
  return 0;
}

void fk_prompt_chunks_free(fk_prompt_chunks *c) {
  if (!c) return;
  free(c->ids);
  free(c->weights);
  memset(c, 0, sizeof *c);
}

int fk_prompt_chunks_make(const fk_tok *t, const char *prompt, int weighting, int32_t pad_id,
                          fk_prompt_chunks *out, fk_err *e) {
  memset(out, 0, sizeof *out);
  fk_prompt_seg plain = {(char *)prompt, 1.0}, *segs = &plain;
  size_t nseg = 1;
  int a1111 = weighting == FK_PROMPT_A1111;
  if (weighting != FK_PROMPT_PLAIN && !a1111)
    return fk_err_set(e, FK_EUSER, "unknown prompt weighting %d (0 none, 1 A1111)", weighting);
  if (a1111 && fk_prompt_parse(prompt, &segs, &nseg, e)) return e ? e->code : FK_EUSER;
  builder_t b = {t, out, 0, {{0}, {0}, 0}, -1, pad_id};
  int32_t comma = fk_tok_id(t, ",</w>");
  int r = 0;
  for (size_t i = 0; i < nseg && !r; i++) {
    if (a1111 && segs[i].weight == -1 && !strcmp(segs[i].text, "BREAK")) {
      r = next_chunk(&b, 0, e);
      continue;
    }
    int32_t *ids;
    size_t n;
    r = fk_tok_encode(t, segs[i].text, &ids, &n, e);
    if (r) break;
    r = add_tokens(&b, ids, n, (float)segs[i].weight, a1111, comma, e);
    free(ids);
  }
  if (!r && (b.cur.n || out->n == 0)) r = next_chunk(&b, 1, e);
  if (a1111) fk_prompt_segs_free(segs, nseg);
  if (r) fk_prompt_chunks_free(out);
  return r;
}
