/* .safetensors reader and writer.
 *
 * Design: the file is mapped read-only and the header goes through two
 * passes before anything is exposed. Pass 1 is a generic strict JSON
 * syntax check (bounded nesting, so recursion is bounded and a hostile
 * header cannot blow the stack); pass 2 walks the now known-good text and
 * extracts exactly the safetensors schema, rejecting anything else. All
 * strings are decoded into one arena no larger than the header (an escape
 * never decodes longer than its source), so memory stays proportional to
 * the header. Then every tensor is checked against the data section with
 * overflow-safe arithmetic, overlaps are found by sorting on offsets, and
 * duplicate names by sorting on names (that sorted array is also the
 * lookup index, searched with bsearch).
 *
 * The writer streams to a temporary file in the destination folder and
 * renames it, so a model of several GB is never held twice in memory and a
 * crash never leaves a partial file. Tensors are laid out contiguously (as
 * the reference reader requires) in order of decreasing element size after
 * an 8-byte aligned header, which keeps every tensor aligned to its
 * element size. */
#include "models/safetensors.h"

#include "core/file.h"
#include "core/half.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 8

typedef struct st_entry {
  fk_st_tensor t; /* first, so a tensor pointer is an entry pointer */
  uint64_t begin, end;
} st_entry;

typedef struct st_meta {
  const char *key, *value;
} st_meta;

struct fk_st_file {
  char *name;
  const unsigned char *base; /* whole file or buffer */
  size_t len;
  int mapped;
  char *arena;
  st_entry *entries;
  size_t n;
  st_entry **by_name;
  st_meta *meta;
  size_t nmeta;
  st_meta **meta_by_key;
};

static const struct {
  const char *name;
  size_t size;
} dtypes[FK_ST_NDTYPES] = {
    [FK_ST_F32] = {"F32", 4}, [FK_ST_F16] = {"F16", 2}, [FK_ST_BF16] = {"BF16", 2},
    [FK_ST_F64] = {"F64", 8}, [FK_ST_I64] = {"I64", 8}, [FK_ST_I32] = {"I32", 4},
    [FK_ST_U8] = {"U8", 1},
};

const char *fk_st_dtype_name(fk_st_dtype d) {
  return (unsigned)d < FK_ST_NDTYPES ? dtypes[d].name : "?";
}

size_t fk_st_dtype_size(fk_st_dtype d) {
  return (unsigned)d < FK_ST_NDTYPES ? dtypes[d].size : 0;
}

int fk_st_dtype_parse(const char *s, size_t len, fk_st_dtype *out) {
  for (int i = 0; i < FK_ST_NDTYPES; i++) {
    if (strlen(dtypes[i].name) == len && memcmp(dtypes[i].name, s, len) == 0) {
      *out = (fk_st_dtype)i;
      return 0;
    }
  }
  return -1;
}

/* ---- JSON ---------------------------------------------------------------- */

typedef struct jp {
  const char *s;
  size_t n, pos;
  const char *file;
  fk_err *e;
  char *arena;
  size_t arena_used, arena_cap;
} jp;

static int jerr(jp *p, const char *what) {
  return fk_err_set(p->e, FK_EUSER, "%s: header is not valid JSON: %s at header byte %zu", p->file,
                    what, p->pos);
}

static void skip_ws(jp *p) {
  while (p->pos < p->n) {
    char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static int peek(const jp *p) {
  return p->pos < p->n ? (unsigned char)p->s[p->pos] : -1;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(jp *p, unsigned *out) {
  if (p->n - p->pos < 4) return jerr(p, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval((unsigned char)p->s[p->pos + (size_t)i]);
    if (h < 0) return jerr(p, "bad hex digit in \\u escape");
    v = v * 16 + (unsigned)h;
  }
  p->pos += 4;
  *out = v;
  return FK_OK;
}

/* Scans (and, when dst is given, decodes) a string starting at '"'.
 * Decoded text never outgrows its source, which bounds the arena. */
static int scan_string(jp *p, char *dst, size_t *dlen) {
  if (peek(p) != '"') return jerr(p, "expected a string");
  p->pos++;
  size_t o = 0;
  for (;;) {
    if (p->pos >= p->n) return jerr(p, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"') {
      p->pos++;
      break;
    }
    if (c < 0x20) return jerr(p, "control character in string");
    if (c != '\\') {
      if (dst) dst[o] = (char)c;
      o++;
      p->pos++;
      continue;
    }
    p->pos++;
    if (p->pos >= p->n) return jerr(p, "unterminated escape");
    char esc = p->s[p->pos++];
    char lit = 0;
    switch (esc) {
    case '"': lit = '"'; break;
    case '\\': lit = '\\'; break;
    case '/': lit = '/'; break;
    case 'b': lit = '\b'; break;
    case 'f': lit = '\f'; break;
    case 'n': lit = '\n'; break;
    case 'r': lit = '\r'; break;
    case 't': lit = '\t'; break;
    case 'u': break;
    default: p->pos--; return jerr(p, "unknown escape");
    }
    if (esc != 'u') {
      if (dst) dst[o] = lit;
      o++;
      continue;
    }
    unsigned cp;
    if (read_hex4(p, &cp)) return p->e ? p->e->code : FK_EUSER;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return jerr(p, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      unsigned lo;
      if (p->n - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
        return jerr(p, "high surrogate without its low half");
      p->pos += 2;
      if (read_hex4(p, &lo)) return p->e ? p->e->code : FK_EUSER;
      if (lo < 0xDC00 || lo > 0xDFFF) return jerr(p, "high surrogate without its low half");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    /* Names become C strings, so an embedded NUL would silently cut them. */
    if (cp == 0) return jerr(p, "\\u0000 in string");
    unsigned char u[4];
    size_t k;
    if (cp < 0x80) {
      u[0] = (unsigned char)cp;
      k = 1;
    } else if (cp < 0x800) {
      u[0] = (unsigned char)(0xC0 | (cp >> 6));
      u[1] = (unsigned char)(0x80 | (cp & 0x3F));
      k = 2;
    } else if (cp < 0x10000) {
      u[0] = (unsigned char)(0xE0 | (cp >> 12));
      u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      u[2] = (unsigned char)(0x80 | (cp & 0x3F));
      k = 3;
    } else {
      u[0] = (unsigned char)(0xF0 | (cp >> 18));
      u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
      u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      u[3] = (unsigned char)(0x80 | (cp & 0x3F));
      k = 4;
    }
    if (dst) memcpy(dst + o, u, k);
    o += k;
  }
  if (dlen) *dlen = o;
  return FK_OK;
}

static int scan_number(jp *p) {
  if (peek(p) == '-') p->pos++;
  int c = peek(p);
  if (c == '0') {
    p->pos++;
  } else if (c >= '1' && c <= '9') {
    while ((c = peek(p)) >= '0' && c <= '9') p->pos++;
  } else {
    return jerr(p, "bad number");
  }
  if (peek(p) == '.') {
    p->pos++;
    if (!((c = peek(p)) >= '0' && c <= '9')) return jerr(p, "bad number");
    while ((c = peek(p)) >= '0' && c <= '9') p->pos++;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->pos++;
    if (peek(p) == '+' || peek(p) == '-') p->pos++;
    if (!((c = peek(p)) >= '0' && c <= '9')) return jerr(p, "bad number");
    while ((c = peek(p)) >= '0' && c <= '9') p->pos++;
  }
  return FK_OK;
}

static int scan_literal(jp *p, const char *lit) {
  size_t k = strlen(lit);
  if (p->n - p->pos < k || memcmp(p->s + p->pos, lit, k) != 0) return jerr(p, "unexpected text");
  p->pos += k;
  return FK_OK;
}

/* Pass 1: syntax only. depth counts open containers. */
static int syn_value(jp *p, int depth) {
  skip_ws(p);
  int c = peek(p);
  if (c == '{' || c == '[') {
    if (depth >= MAX_DEPTH) return jerr(p, "nested deeper than 8 levels");
    int close = c == '{' ? '}' : ']';
    p->pos++;
    skip_ws(p);
    if (peek(p) == close) {
      p->pos++;
      return FK_OK;
    }
    for (;;) {
      skip_ws(p);
      if (c == '{') {
        if (scan_string(p, NULL, NULL)) return p->e ? p->e->code : FK_EUSER;
        skip_ws(p);
        if (peek(p) != ':') return jerr(p, "expected ':'");
        p->pos++;
      }
      if (syn_value(p, depth + 1)) return p->e ? p->e->code : FK_EUSER;
      skip_ws(p);
      int d = peek(p);
      p->pos++;
      if (d == ',') continue;
      if (d == close) return FK_OK;
      p->pos--;
      return jerr(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  if (c == '"') return scan_string(p, NULL, NULL);
  if (c == '-' || (c >= '0' && c <= '9')) return scan_number(p);
  if (c == 't') return scan_literal(p, "true");
  if (c == 'f') return scan_literal(p, "false");
  if (c == 'n') return scan_literal(p, "null");
  if (c < 0) return jerr(p, "unexpected end of header");
  return jerr(p, "unexpected character");
}

/* Pass 2 helpers: the text is known to be valid JSON here, but every step
 * still checks, so a bug in pass 1 cannot turn into an out-of-bounds read. */
static int take_string(jp *p, const char **out) {
  size_t len = 0, start = p->pos;
  if (scan_string(p, NULL, &len)) return p->e ? p->e->code : FK_EUSER;
  if (len + 1 > p->arena_cap - p->arena_used)
    return fk_err_set(p->e, FK_EINTERNAL, "%s: header string arena overflow (a bug)", p->file);
  p->pos = start;
  char *dst = p->arena + p->arena_used;
  if (scan_string(p, dst, &len)) return p->e ? p->e->code : FK_EUSER;
  dst[len] = '\0';
  p->arena_used += len + 1;
  *out = dst;
  return FK_OK;
}

enum { NUM_OK, NUM_NEG, NUM_BIG, NUM_FRAC, NUM_NOTNUM };

static int take_uint(jp *p, uint64_t *out) {
  int c = peek(p);
  size_t start = p->pos;
  if (!(c == '-' || (c >= '0' && c <= '9'))) return NUM_NOTNUM;
  if (scan_number(p)) return NUM_NOTNUM;
  const char *s = p->s + start;
  size_t k = p->pos - start;
  for (size_t i = 0; i < k; i++)
    if (s[i] == '.' || s[i] == 'e' || s[i] == 'E') return NUM_FRAC;
  if (s[0] == '-') return (k == 2 && s[1] == '0') ? (*out = 0, NUM_OK) : NUM_NEG;
  uint64_t v = 0;
  for (size_t i = 0; i < k; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return NUM_BIG;
    v = v * 10 + d;
  }
  *out = v;
  return NUM_OK;
}

static const char *num_problem(int r) {
  switch (r) {
  case NUM_NEG: return "is negative";
  case NUM_BIG: return "overflows 64 bits";
  case NUM_FRAC: return "is not an integer";
  default: return "is not a number";
  }
}

/* Parses a JSON array of non-negative integers (at most cap of them). */
static int take_uint_array(jp *p, const char *tname, const char *key, uint64_t *v, int cap,
                           int *count) {
  if (peek(p) != '[')
    return fk_err_set(p->e, FK_EUSER, "%s: tensor '%s': \"%s\" must be an array of integers",
                      p->file, tname, key);
  p->pos++;
  skip_ws(p);
  int k = 0;
  if (peek(p) == ']') {
    p->pos++;
    *count = 0;
    return FK_OK;
  }
  for (;;) {
    skip_ws(p);
    if (k >= cap)
      return fk_err_set(p->e, FK_EUSER, "%s: tensor '%s': \"%s\" has more than %d entries", p->file,
                        tname, key, cap);
    size_t at = p->pos;
    int r = take_uint(p, &v[k]);
    if (r != NUM_OK) {
      int len = (int)(p->pos > at ? p->pos - at : 0);
      if (len > 40) len = 40;
      return fk_err_set(p->e, FK_EUSER, "%s: tensor '%s': \"%s\" entry %d (%.*s) %s", p->file,
                        tname, key, k, len, p->s + at, num_problem(r));
    }
    k++;
    skip_ws(p);
    int d = peek(p);
    p->pos++;
    if (d == ',') continue;
    if (d == ']') break;
    p->pos--;
    return jerr(p, "expected ',' or ']'");
  }
  *count = k;
  return FK_OK;
}

static int expect_char(jp *p, char c, const char *what) {
  skip_ws(p);
  if (peek(p) != (unsigned char)c) return jerr(p, what);
  p->pos++;
  skip_ws(p);
  return FK_OK;
}

/* Advances past ',' returning 1, or past the closing brace returning 0. */
static int next_member(jp *p, int *more) {
  skip_ws(p);
  int d = peek(p);
  if (d == ',') {
    p->pos++;
    skip_ws(p);
    *more = 1;
    return FK_OK;
  }
  if (d == '}') {
    p->pos++;
    *more = 0;
    return FK_OK;
  }
  return jerr(p, "expected ',' or '}'");
}

static int parse_tensor(jp *p, st_entry *en) {
  const char *tname = en->t.name;
  if (peek(p) != '{')
    return fk_err_set(p->e, FK_EUSER,
                      "%s: tensor '%s': entry must be an object with dtype, shape and data_offsets",
                      p->file, tname);
  p->pos++;
  skip_ws(p);
  int have_dtype = 0, have_shape = 0, have_offsets = 0, more = peek(p) != '}';
  if (!more) p->pos++;
  while (more) {
    const char *key;
    if (take_string(p, &key)) return p->e->code;
    if (expect_char(p, ':', "expected ':'")) return p->e->code;
    int *seen = !strcmp(key, "dtype")          ? &have_dtype
                : !strcmp(key, "shape")        ? &have_shape
                : !strcmp(key, "data_offsets") ? &have_offsets
                                               : NULL;
    if (!seen)
      return fk_err_set(p->e, FK_EUSER,
                        "%s: tensor '%s': unknown key '%s' (expected dtype, shape, data_offsets)",
                        p->file, tname, key);
    if (*seen)
      return fk_err_set(p->e, FK_EUSER, "%s: tensor '%s': duplicate key '%s'", p->file, tname, key);
    *seen = 1;
    if (seen == &have_dtype) {
      const char *dt;
      if (peek(p) != '"')
        return fk_err_set(p->e, FK_EUSER, "%s: tensor '%s': \"dtype\" must be a string", p->file,
                          tname);
      if (take_string(p, &dt)) return p->e->code;
      if (fk_st_dtype_parse(dt, strlen(dt), &en->t.dtype))
        return fk_err_set(p->e, FK_EUSER,
                          "%s: tensor '%s': unknown dtype '%.40s' (supported: F32, F16, BF16, "
                          "F64, I64, I32, U8)",
                          p->file, tname, dt);
    } else if (seen == &have_shape) {
      uint64_t v[FK_ST_MAX_DIMS];
      int k = 0;
      if (take_uint_array(p, tname, "shape", v, FK_ST_MAX_DIMS, &k)) return p->e->code;
      for (int i = 0; i < k; i++) {
        if (v[i] > (uint64_t)INT64_MAX)
          return fk_err_set(p->e, FK_EUSER, "%s: tensor '%s': shape entry %d (%llu) is too large",
                            p->file, tname, i, (unsigned long long)v[i]);
        en->t.shape[i] = (int64_t)v[i];
      }
      en->t.ndim = k;
    } else {
      uint64_t v[2];
      int k = 0;
      if (take_uint_array(p, tname, "data_offsets", v, 2, &k)) return p->e->code;
      if (k != 2)
        return fk_err_set(p->e, FK_EUSER,
                          "%s: tensor '%s': \"data_offsets\" must hold 2 integers, not %d", p->file,
                          tname, k);
      en->begin = v[0];
      en->end = v[1];
    }
    if (next_member(p, &more)) return p->e->code;
  }
  if (!have_dtype || !have_shape || !have_offsets)
    return fk_err_set(p->e, FK_EUSER, "%s: tensor '%s': missing \"%s\"", p->file, tname,
                      !have_dtype   ? "dtype"
                      : !have_shape ? "shape"
                                    : "data_offsets");
  return FK_OK;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem, fk_err *e, const char *what) {
  if (n < *cap) return FK_OK;
  size_t nc = *cap ? *cap * 2 : 16;
  if (nc > SIZE_MAX / elem) return fk_err_oom(e, what, SIZE_MAX);
  void *q = realloc(*arr, nc * elem);
  if (!q) return fk_err_oom(e, what, nc * elem);
  *arr = q;
  *cap = nc;
  return FK_OK;
}

static int parse_metadata(jp *p, fk_st_file *f, size_t *cap) {
  if (peek(p) != '{')
    return fk_err_set(p->e, FK_EUSER, "%s: \"__metadata__\" must be an object of strings", p->file);
  p->pos++;
  skip_ws(p);
  int more = peek(p) != '}';
  if (!more) p->pos++;
  while (more) {
    st_meta m;
    if (take_string(p, &m.key)) return p->e->code;
    if (expect_char(p, ':', "expected ':'")) return p->e->code;
    if (peek(p) != '"')
      return fk_err_set(p->e, FK_EUSER,
                        "%s: __metadata__ value of '%s' must be a string (encode lists as JSON "
                        "text)",
                        p->file, m.key);
    if (take_string(p, &m.value)) return p->e->code;
    if (grow((void **)&f->meta, cap, f->nmeta, sizeof *f->meta, p->e, "safetensors metadata"))
      return p->e->code;
    f->meta[f->nmeta++] = m;
    if (next_member(p, &more)) return p->e->code;
  }
  return FK_OK;
}

static int parse_header(jp *p, fk_st_file *f) {
  skip_ws(p);
  if (peek(p) != '{')
    return fk_err_set(p->e, FK_EUSER, "%s: header must be a JSON object (starts with '{')",
                      p->file);
  if (syn_value(p, 0)) return p->e->code;
  skip_ws(p);
  if (p->pos != p->n) return jerr(p, "trailing garbage after the JSON object");

  p->pos = 0;
  if (expect_char(p, '{', "expected '{'")) return p->e->code;
  size_t cap = 0, mcap = 0;
  int more = peek(p) != '}', have_meta = 0;
  if (!more) p->pos++;
  while (more) {
    const char *key;
    if (take_string(p, &key)) return p->e->code;
    if (expect_char(p, ':', "expected ':'")) return p->e->code;
    if (!strcmp(key, "__metadata__")) {
      if (have_meta) return fk_err_set(p->e, FK_EUSER, "%s: duplicate key '__metadata__'", p->file);
      have_meta = 1;
      if (parse_metadata(p, f, &mcap)) return p->e->code;
    } else {
      if (grow((void **)&f->entries, &cap, f->n, sizeof *f->entries, p->e, "safetensors index"))
        return p->e->code;
      st_entry *en = &f->entries[f->n++];
      memset(en, 0, sizeof *en);
      en->t.name = key;
      if (parse_tensor(p, en)) return p->e->code;
    }
    if (next_member(p, &more)) return p->e->code;
  }
  return FK_OK;
}

/* ---- validation ---------------------------------------------------------- */

static void fmt_shape(char *buf, size_t n, const fk_st_tensor *t) {
  size_t o = 0;
  int w = snprintf(buf, n, "[");
  o = w > 0 ? (size_t)w : 0;
  for (int i = 0; i < t->ndim && o < n; i++) {
    w = snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (w < 0) break;
    o += (size_t)w;
  }
  if (o < n) snprintf(buf + o, n - o, "]");
}

static int cmp_entry_name(const void *a, const void *b) {
  return strcmp((*(st_entry *const *)a)->t.name, (*(st_entry *const *)b)->t.name);
}

static int cmp_entry_offset(const void *a, const void *b) {
  const st_entry *x = *(st_entry *const *)a, *y = *(st_entry *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

static int cmp_meta_key(const void *a, const void *b) {
  return strcmp((*(st_meta *const *)a)->key, (*(st_meta *const *)b)->key);
}

static int validate(fk_st_file *f, const unsigned char *data, size_t data_len, fk_err *e) {
  const char *fn = f->name;
  char sh[256];
  for (size_t i = 0; i < f->n; i++) {
    st_entry *en = &f->entries[i];
    fk_st_tensor *t = &en->t;
    size_t esz = dtypes[t->dtype].size;
    uint64_t numel = 1;
    int too_big = 0;
    for (int d = 0; d < t->ndim; d++) {
      uint64_t s = (uint64_t)t->shape[d];
      if (s && numel > UINT64_MAX / s)
        too_big = 1;
      else
        numel *= s;
    }
    /* A zero dimension makes the product 0 whatever overflowed before it. */
    for (int d = 0; d < t->ndim; d++)
      if (t->shape[d] == 0) too_big = 0, numel = 0;
    if (too_big || numel > SIZE_MAX / esz) {
      fmt_shape(sh, sizeof sh, t);
      return fk_err_set(e, FK_EUSER,
                        "%s: tensor '%s': shape %s has too many elements (product overflows)", fn,
                        t->name, sh);
    }
    t->numel = (size_t)numel;
    t->nbytes = (size_t)numel * esz;
    if (en->begin > en->end)
      return fk_err_set(e, FK_EUSER, "%s: tensor '%s': data_offsets [%llu, %llu] begin after end",
                        fn, t->name, (unsigned long long)en->begin, (unsigned long long)en->end);
    if (en->end > data_len)
      return fk_err_set(e, FK_EUSER,
                        "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data "
                        "section (%zu bytes); file truncated?",
                        fn, t->name, (unsigned long long)en->begin, (unsigned long long)en->end,
                        data_len);
    if (en->end - en->begin != t->nbytes) {
      fmt_shape(sh, sizeof sh, t);
      return fk_err_set(e, FK_EUSER,
                        "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but %s %s "
                        "needs %zu",
                        fn, t->name, (unsigned long long)en->begin, (unsigned long long)en->end,
                        (unsigned long long)(en->end - en->begin), dtypes[t->dtype].name, sh,
                        t->nbytes);
    }
    t->data = data + en->begin;
  }

  size_t nn = f->n ? f->n : 1;
  f->by_name = fk_alloc(nn, sizeof *f->by_name);
  st_entry **ord = fk_alloc(nn, sizeof *ord);
  if (!f->by_name || !ord) {
    free(ord);
    return fk_err_oom(e, "safetensors index", nn * sizeof *ord);
  }
  for (size_t i = 0; i < f->n; i++) f->by_name[i] = ord[i] = &f->entries[i];
  qsort(f->by_name, f->n, sizeof *f->by_name, cmp_entry_name);
  for (size_t i = 1; i < f->n; i++) {
    if (!strcmp(f->by_name[i - 1]->t.name, f->by_name[i]->t.name)) {
      free(ord);
      return fk_err_set(e, FK_EUSER, "%s: duplicate tensor name '%s'", fn, f->by_name[i]->t.name);
    }
  }
  qsort(ord, f->n, sizeof *ord, cmp_entry_offset);
  const st_entry *last = NULL; /* the nonempty tensor reaching furthest so far */
  for (size_t i = 0; i < f->n; i++) {
    const st_entry *en = ord[i];
    if (en->begin == en->end) continue; /* empty tensors occupy no bytes */
    if (last && en->begin < last->end) {
      int r =
          fk_err_set(e, FK_EUSER,
                     "%s: tensor '%s' (data_offsets [%llu, %llu]) overlaps tensor '%s' "
                     "(data_offsets [%llu, %llu])",
                     fn, en->t.name, (unsigned long long)en->begin, (unsigned long long)en->end,
                     last->t.name, (unsigned long long)last->begin, (unsigned long long)last->end);
      free(ord);
      return r;
    }
    if (!last || en->end > last->end) last = en;
  }
  free(ord);

  size_t nm = f->nmeta ? f->nmeta : 1;
  f->meta_by_key = fk_alloc(nm, sizeof *f->meta_by_key);
  if (!f->meta_by_key) return fk_err_oom(e, "safetensors metadata", nm * sizeof(void *));
  for (size_t i = 0; i < f->nmeta; i++) f->meta_by_key[i] = &f->meta[i];
  qsort(f->meta_by_key, f->nmeta, sizeof *f->meta_by_key, cmp_meta_key);
  for (size_t i = 1; i < f->nmeta; i++)
    if (!strcmp(f->meta_by_key[i - 1]->key, f->meta_by_key[i]->key))
      return fk_err_set(e, FK_EUSER, "%s: __metadata__ has duplicate key '%s'", fn,
                        f->meta_by_key[i]->key);
  return FK_OK;
}

static uint64_t rd64(const unsigned char *b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

static int parse_buffer(fk_st_file *f, fk_err *e) {
  const char *fn = f->name;
  if (f->len < 8)
    return fk_err_set(e, FK_EUSER,
                      "%s: file is %zu bytes, shorter than the 8-byte header length; truncated or "
                      "not a .safetensors file",
                      fn, f->len);
  uint64_t hlen = rd64(f->base);
  if (hlen > FK_ST_MAX_HEADER)
    return fk_err_set(e, FK_EUSER,
                      "%s: header length %llu is over the %u-byte cap (file is %zu bytes); corrupt "
                      "or not a .safetensors file",
                      fn, (unsigned long long)hlen, FK_ST_MAX_HEADER, f->len);
  if (hlen > f->len - 8)
    return fk_err_set(e, FK_EUSER,
                      "%s: header length %llu is larger than the file (%zu bytes after the "
                      "length); file truncated?",
                      fn, (unsigned long long)hlen, f->len - 8);
  f->arena = fk_alloc((size_t)hlen + 1, 1);
  if (!f->arena) return fk_err_oom(e, "safetensors header", (size_t)hlen + 1);
  jp p = {.s = (const char *)f->base + 8,
          .n = (size_t)hlen,
          .file = fn,
          .e = e,
          .arena = f->arena,
          .arena_cap = (size_t)hlen + 1};
  fk_err local;
  if (!e) p.e = &local;
  if (parse_header(&p, f)) return p.e->code;
  if (validate(f, f->base + 8 + hlen, f->len - 8 - (size_t)hlen, p.e)) return p.e->code;
  return FK_OK;
}

static fk_st_file *new_file(const char *name, fk_err *e) {
  fk_st_file *f = fk_zalloc(1, sizeof *f);
  size_t k = strlen(name);
  if (f) f->name = fk_alloc(k + 1, 1);
  if (!f || !f->name) {
    free(f);
    fk_err_oom(e, "safetensors file", k + sizeof *f);
    return NULL;
  }
  memcpy(f->name, name, k + 1);
  return f;
}

int fk_st_parse_memory(const void *buf, size_t len, const char *name, fk_st_file **out, fk_err *e) {
  *out = NULL;
  fk_st_file *f = new_file(name ? name : "<memory>", e);
  if (!f) return FK_EINTERNAL;
  f->base = buf;
  f->len = buf ? len : 0;
  int r = parse_buffer(f, e);
  if (r) {
    fk_st_close(f);
    return r;
  }
  *out = f;
  return FK_OK;
}

int fk_st_open(const char *path, fk_st_file **out, fk_err *e) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fk_err_set(e, FK_EUSER, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fk_err_set(e, FK_EUSER, "%s: not a regular file", path);
  }
  if ((uint64_t)st.st_size > SIZE_MAX) {
    close(fd);
    return fk_err_set(e, FK_EUSER, "%s: file too large to map on this machine", path);
  }
  fk_st_file *f = new_file(path, e);
  if (!f) {
    close(fd);
    return FK_EINTERNAL;
  }
  f->len = (size_t)st.st_size;
  if (f->len >= 8) {
    void *m = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int err = errno;
      close(fd);
      fk_st_close(f);
      return fk_err_set(e, FK_EUSER, "%s: cannot map file: %s", path, strerror(err));
    }
    f->base = m;
    f->mapped = 1;
  }
  close(fd);
  int r = parse_buffer(f, e);
  if (r) {
    fk_st_close(f);
    return r;
  }
  *out = f;
  return FK_OK;
}

void fk_st_close(fk_st_file *f) {
  if (!f) return;
  if (f->mapped) munmap((void *)f->base, f->len);
  free(f->name);
  free(f->arena);
  free(f->entries);
  free(f->by_name);
  free(f->meta);
  free(f->meta_by_key);
  free(f);
}

void fk_st_release(const fk_st_file *f, const fk_st_tensor *t) {
  if (!f || !t || !f->mapped) return;
  const unsigned char *p = t->data;
  if (p < f->base || p + t->nbytes > f->base + f->len) return;
  /* only whole pages inside the tensor: its neighbours may still be needed */
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = ((uintptr_t)p + page - 1) / page * page,
            hi = ((uintptr_t)p + t->nbytes) / page * page;
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* ---- access -------------------------------------------------------------- */

const char *fk_st_name(const fk_st_file *f) {
  return f->name;
}

size_t fk_st_count(const fk_st_file *f) {
  return f->n;
}

const fk_st_tensor *fk_st_get(const fk_st_file *f, size_t i) {
  return i < f->n ? &f->entries[i].t : NULL;
}

static int cmp_name_key(const void *key, const void *el) {
  return strcmp((const char *)key, (*(st_entry *const *)el)->t.name);
}

const fk_st_tensor *fk_st_find(const fk_st_file *f, const char *name) {
  if (!f->n) return NULL;
  st_entry *const *hit = bsearch(name, f->by_name, f->n, sizeof *f->by_name, cmp_name_key);
  return hit ? &(*hit)->t : NULL;
}

int fk_st_expect(const fk_st_file *f, const char *name, fk_st_dtype dtype, int ndim,
                 const int64_t *shape, const fk_st_tensor **out, fk_err *e) {
  const fk_st_tensor *t = fk_st_find(f, name);
  if (out) *out = t;
  if (!t) return fk_err_set(e, FK_EUSER, "%s: no tensor '%s'", f->name, name);
  int same = t->dtype == dtype && t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
  if (same) return FK_OK;
  fk_st_tensor want = {.dtype = dtype, .ndim = ndim < 0 ? 0 : ndim};
  if (want.ndim > FK_ST_MAX_DIMS) want.ndim = FK_ST_MAX_DIMS;
  for (int i = 0; i < want.ndim; i++) want.shape[i] = shape[i];
  char a[256], b[256];
  fmt_shape(a, sizeof a, t);
  fmt_shape(b, sizeof b, &want);
  if (out) *out = NULL;
  return fk_err_set(e, FK_EUSER, "%s: tensor '%s' is %s %s but %s %s was expected", f->name, name,
                    dtypes[t->dtype].name, a, fk_st_dtype_name(dtype), b);
}

size_t fk_st_metadata_count(const fk_st_file *f) {
  return f->nmeta;
}

int fk_st_metadata_at(const fk_st_file *f, size_t i, const char **key, const char **value) {
  if (i >= f->nmeta) return -1;
  if (key) *key = f->meta[i].key;
  if (value) *value = f->meta[i].value;
  return 0;
}

static int cmp_meta_name_key(const void *key, const void *el) {
  return strcmp((const char *)key, (*(st_meta *const *)el)->key);
}

const char *fk_st_metadata(const fk_st_file *f, const char *key) {
  if (!f->nmeta) return NULL;
  st_meta *const *hit =
      bsearch(key, f->meta_by_key, f->nmeta, sizeof *f->meta_by_key, cmp_meta_name_key);
  return hit ? (*hit)->value : NULL;
}

/* ---- conversion ---------------------------------------------------------- */

static float bits_to_f32(uint32_t b) {
  float v;
  memcpy(&v, &b, sizeof v);
  return v;
}

float fk_st_bf16_to_f32(uint16_t b) {
  return bits_to_f32((uint32_t)b << 16);
}

int fk_st_to_f32(const fk_st_tensor *t, float **out, fk_err *e) {
  *out = NULL;
  float *o = fk_alloc(t->numel, sizeof *o);
  if (!o) return fk_err_oom(e, t->name, t->numel * sizeof *o);
  const unsigned char *p = t->data;
  size_t n = t->numel;
  /* Bytes are assembled little-endian explicitly: portable, and immune to
   * the data pointer being unaligned. */
  switch (t->dtype) {
  case FK_ST_F32:
    for (size_t i = 0; i < n; i++, p += 4)
      o[i] = bits_to_f32((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24);
    break;
  case FK_ST_F16:
    for (size_t i = 0; i < n; i++, p += 2) o[i] = fk_half_to_float((uint16_t)(p[0] | p[1] << 8));
    break;
  case FK_ST_BF16:
    for (size_t i = 0; i < n; i++, p += 2) o[i] = fk_st_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
    break;
  case FK_ST_F64:
    for (size_t i = 0; i < n; i++, p += 8) {
      uint64_t b = rd64(p);
      double d;
      memcpy(&d, &b, sizeof d);
      o[i] = (float)d;
    }
    break;
  case FK_ST_I64:
    for (size_t i = 0; i < n; i++, p += 8) o[i] = (float)(int64_t)rd64(p);
    break;
  case FK_ST_I32:
    for (size_t i = 0; i < n; i++, p += 4)
      o[i] = (float)(int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                              (uint32_t)p[3] << 24);
    break;
  case FK_ST_U8:
    for (size_t i = 0; i < n; i++) o[i] = (float)p[i];
    break;
  default:
    free(o);
    return fk_err_set(e, FK_EINTERNAL, "tensor '%s': bad dtype %d (a bug)", t->name, t->dtype);
  }
  *out = o;
  return FK_OK;
}

/* ---- writer -------------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t k) {
  if (b->oom) return;
  if (k > b->cap - b->len) {
    size_t nc = b->cap ? b->cap : 256;
    while (nc - b->len < k) {
      if (nc > SIZE_MAX / 2) {
        b->oom = 1;
        return;
      }
      nc *= 2;
    }
    char *q = realloc(b->p, nc);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = nc;
  }
  memcpy(b->p + b->len, s, k);
  b->len += k;
}

static void sb_str(sbuf *b, const char *s) {
  sb_put(b, s, strlen(s));
}

static void sb_json(sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      sb_put(b, esc, 2);
    } else if (*c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      sb_put(b, esc, 6);
    } else {
      sb_put(b, (const char *)c, 1);
    }
  }
  sb_put(b, "\"", 1);
}

static int cmp_desc_layout(const void *a, const void *b) {
  const fk_st_desc *x = *(const fk_st_desc *const *)a, *y = *(const fk_st_desc *const *)b;
  size_t sx = fk_st_dtype_size(x->dtype), sy = fk_st_dtype_size(y->dtype);
  if (sx != sy) return sx > sy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int cmp_desc_name(const void *a, const void *b) {
  return strcmp((*(const fk_st_desc *const *)a)->name, (*(const fk_st_desc *const *)b)->name);
}

static int cmp_kv_key(const void *a, const void *b) {
  return strcmp((*(const fk_st_kv *const *)a)->key, (*(const fk_st_kv *const *)b)->key);
}

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static int check_descs(const char *path, const fk_st_desc *t, size_t n, const fk_st_kv *meta,
                       size_t n_meta, size_t *nbytes, fk_err *e) {
  for (size_t i = 0; i < n; i++) {
    const char *nm = t[i].name ? t[i].name : "(null)";
    if (!t[i].name || !strcmp(t[i].name, "__metadata__"))
      return fk_err_set(e, FK_EUSER, "%s: tensor %zu has the reserved or empty name '%s'", path, i,
                        nm);
    if ((unsigned)t[i].dtype >= FK_ST_NDTYPES)
      return fk_err_set(e, FK_EUSER, "%s: tensor '%s': bad dtype %d", path, nm, t[i].dtype);
    if (t[i].ndim < 0 || t[i].ndim > FK_ST_MAX_DIMS || (t[i].ndim && !t[i].shape))
      return fk_err_set(e, FK_EUSER, "%s: tensor '%s': %d dimensions (0 to %d supported)", path, nm,
                        t[i].ndim, FK_ST_MAX_DIMS);
    size_t k = dtypes[t[i].dtype].size;
    int zero = 0, over = 0;
    for (int d = 0; d < t[i].ndim; d++) {
      if (t[i].shape[d] < 0)
        return fk_err_set(e, FK_EUSER, "%s: tensor '%s': negative dimension %lld", path, nm,
                          (long long)t[i].shape[d]);
      uint64_t s = (uint64_t)t[i].shape[d];
      if (!s)
        zero = 1;
      else if (k > SIZE_MAX / s)
        over = 1;
      else
        k *= (size_t)s;
    }
    if (zero)
      k = 0;
    else if (over)
      return fk_err_set(e, FK_EUSER, "%s: tensor '%s': shape too large", path, nm);
    if (k && !t[i].data) return fk_err_set(e, FK_EUSER, "%s: tensor '%s': no data given", path, nm);
    nbytes[i] = k;
  }
  for (size_t i = 0; i < n_meta; i++)
    if (!meta[i].key || !meta[i].value)
      return fk_err_set(e, FK_EUSER, "%s: metadata entry %zu has no key or value", path, i);
  return FK_OK;
}

int fk_st_write(const char *path, const fk_st_desc *tensors, size_t n, const fk_st_kv *meta,
                size_t n_meta, fk_err *e) {
  int r = FK_OK;
  size_t *nbytes = fk_alloc(n ? n : 1, sizeof *nbytes);
  const fk_st_desc **ord = fk_alloc(n ? n : 1, sizeof *ord);
  const fk_st_kv **mord = fk_alloc(n_meta ? n_meta : 1, sizeof *mord);
  sbuf b = {0};
  int fd = -1;
  char tmp[4200] = "";
  if (!nbytes || !ord || !mord) {
    r = fk_err_oom(e, "safetensors writer", (n + n_meta) * sizeof(void *));
    goto done;
  }
  if ((r = check_descs(path, tensors, n, meta, n_meta, nbytes, e))) goto done;
  for (size_t i = 0; i < n; i++) ord[i] = &tensors[i];
  qsort(ord, n, sizeof *ord, cmp_desc_name);
  for (size_t i = 1; i < n; i++) {
    if (!strcmp(ord[i - 1]->name, ord[i]->name)) {
      r = fk_err_set(e, FK_EUSER, "%s: duplicate tensor name '%s'", path, ord[i]->name);
      goto done;
    }
  }
  qsort(ord, n, sizeof *ord, cmp_desc_layout);
  for (size_t i = 0; i < n_meta; i++) mord[i] = &meta[i];
  qsort(mord, n_meta, sizeof *mord, cmp_kv_key);
  for (size_t i = 1; i < n_meta; i++) {
    if (!strcmp(mord[i - 1]->key, mord[i]->key)) {
      r = fk_err_set(e, FK_EUSER, "%s: duplicate metadata key '%s'", path, mord[i]->key);
      goto done;
    }
  }

  sb_str(&b, "{");
  if (n_meta) {
    sb_str(&b, "\"__metadata__\":{");
    for (size_t i = 0; i < n_meta; i++) {
      if (i) sb_str(&b, ",");
      sb_json(&b, mord[i]->key);
      sb_str(&b, ":");
      sb_json(&b, mord[i]->value);
    }
    sb_str(&b, "}");
  }
  uint64_t off = 0;
  char num[64];
  for (size_t i = 0; i < n; i++) {
    const fk_st_desc *t = ord[i];
    size_t nb = nbytes[t - tensors];
    if (i || n_meta) sb_str(&b, ",");
    sb_json(&b, t->name);
    snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[t->dtype].name);
    sb_str(&b, num);
    for (int d = 0; d < t->ndim; d++) {
      snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
      sb_str(&b, num);
    }
    if (nb > UINT64_MAX - off) {
      r = fk_err_set(e, FK_EUSER, "%s: tensors too large in total", path);
      goto done;
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
             (unsigned long long)(off + nb));
    sb_str(&b, num);
    off += nb;
  }
  sb_str(&b, "}");
  while ((8 + b.len) % 8) sb_str(&b, " ");
  if (b.oom) {
    r = fk_err_oom(e, "safetensors header", b.len);
    goto done;
  }
  if (b.len > FK_ST_MAX_HEADER) {
    r = fk_err_set(e, FK_EUSER, "%s: header of %zu bytes is over the %u-byte cap", path, b.len,
                   FK_ST_MAX_HEADER);
    goto done;
  }

  char dir[4096];
  fk_path_dir(path, dir, sizeof dir);
  {
    const char *slash = strrchr(path, '/');
    int w = snprintf(tmp, sizeof tmp, "%s/.%s.tmpXXXXXX", dir, slash ? slash + 1 : path);
    if (w < 0 || (size_t)w >= sizeof tmp) {
      tmp[0] = '\0';
      r = fk_err_set(e, FK_EUSER, "path too long: '%s'", path);
      goto done;
    }
  }
  fd = mkstemp(tmp);
  if (fd < 0) {
    tmp[0] = '\0';
    r = fk_err_set(e, FK_EUSER, "cannot write in '%s': %s; choose a writable folder", dir,
                   strerror(errno));
    goto done;
  }
  unsigned char hl[8];
  for (int i = 0; i < 8; i++) hl[i] = (unsigned char)((uint64_t)b.len >> (8 * i));
  int bad = write_all(fd, hl, 8) || write_all(fd, b.p, b.len);
  for (size_t i = 0; i < n && !bad; i++)
    bad = write_all(fd, ord[i]->data, nbytes[ord[i] - tensors]);
  if (bad) {
    r = fk_err_set(e, FK_EUSER, "cannot write '%s': %s (disk full?)", path, strerror(errno));
    goto done;
  }
  /* Default file permissions instead of mkstemp's 0600. */
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0 || fsync(fd) != 0) {
    r = fk_err_set(e, FK_EUSER, "cannot flush '%s': %s", path, strerror(errno));
    goto done;
  }
  int cr = close(fd);
  fd = -1;
  if (cr != 0) {
    r = fk_err_set(e, FK_EUSER, "cannot flush '%s': %s", path, strerror(errno));
    goto done;
  }
  if (rename(tmp, path) != 0) {
    r = fk_err_set(e, FK_EUSER, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    goto done;
  }
  tmp[0] = '\0';
done:
  if (fd >= 0) close(fd);
  if (tmp[0]) unlink(tmp);
  free(b.p);
  free(nbytes);
  free(ord);
  free(mord);
  return r;
}
