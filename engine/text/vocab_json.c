/* A strict little JSON reader for {"string": integer, ...}: exactly what
 * vocab.json holds, with full string escapes (\uXXXX and surrogate pairs). */
#include "text/vocab_json.h"

#include <stdlib.h>

#include "text/unicode.h"

typedef struct {
  const char *s;
  size_t len, pos;
  const char *name;
  fk_err *e;
} reader;

static int fail(reader *r, const char *what) {
  return fk_err_set(r->e, FK_EUSER, "%s: %s at byte %zu", r->name, what, r->pos);
}

static void skip_ws(reader *r) {
  while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' || r->s[r->pos] == '\n' ||
                             r->s[r->pos] == '\r'))
    r->pos++;
}

static int hex4(reader *r, uint32_t *v) {
  if (r->pos + 4 > r->len) return fail(r, "truncated \\u escape");
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = r->s[r->pos++];
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return fail(r, "bad \\u escape");
    *v = *v * 16 + (uint32_t)d;
  }
  return 0;
}

/* Decodes the string at r->pos (on its opening quote) into buf (grown as
 * needed, NUL-terminated). */
static int string(reader *r, char **buf, size_t *cap, size_t *n) {
  r->pos++;
  *n = 0;
  for (;;) {
    if (r->pos >= r->len) return fail(r, "unterminated string");
    unsigned char c = (unsigned char)r->s[r->pos];
    unsigned char tmp[4];
    int k = 1;
    if (c == '"') {
      r->pos++;
      break;
    }
    if (c < 0x20) return fail(r, "control character in string");
    if (c == '\\') {
      if (++r->pos >= r->len) return fail(r, "unterminated escape");
      char x = r->s[r->pos++];
      uint32_t cp;
      switch (x) {
      case '"': tmp[0] = '"'; break;
      case '\\': tmp[0] = '\\'; break;
      case '/': tmp[0] = '/'; break;
      case 'b': tmp[0] = '\b'; break;
      case 'f': tmp[0] = '\f'; break;
      case 'n': tmp[0] = '\n'; break;
      case 'r': tmp[0] = '\r'; break;
      case 't': tmp[0] = '\t'; break;
      case 'u':
        if (hex4(r, &cp)) return FK_EUSER;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (r->pos + 2 > r->len || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u')
            return fail(r, "unpaired surrogate escape");
          r->pos += 2;
          if (hex4(r, &lo)) return FK_EUSER;
          if (lo < 0xDC00 || lo > 0xDFFF) return fail(r, "unpaired surrogate escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail(r, "unpaired surrogate escape");
        }
        k = fk_utf8_encode(cp, tmp);
        break;
      default: return fail(r, "unknown escape");
      }
    } else {
      tmp[0] = c;
      r->pos++;
    }
    if (*n + (size_t)k + 1 > *cap) {
      size_t nc = *cap ? *cap * 2 : 64;
      char *b = realloc(*buf, nc);
      if (!b) return fk_err_oom(r->e, "vocab string", nc);
      *buf = b;
      *cap = nc;
    }
    for (int i = 0; i < k; i++) (*buf)[(*n)++] = (char)tmp[i];
  }
  if (!*buf) {
    *buf = malloc(1);
    if (!*buf) return fk_err_oom(r->e, "vocab string", 1);
    *cap = 1;
  }
  (*buf)[*n] = 0;
  return 0;
}

static int integer(reader *r, int64_t *v) {
  int neg = 0;
  size_t start = r->pos;
  if (r->pos < r->len && r->s[r->pos] == '-') neg = 1, r->pos++;
  *v = 0;
  while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') {
    *v = *v * 10 + (r->s[r->pos++] - '0');
    if (*v > 0x7FFFFFFF) return fail(r, "id out of range");
  }
  if (r->pos == start + (size_t)neg) return fail(r, "expected an integer id");
  if (neg) *v = -*v;
  return 0;
}

int fk_json_string(const char *json, size_t len, size_t *pos, char **out, size_t *out_len,
                   fk_err *e) {
  reader r = {json, len, *pos, "JSON", e};
  size_t cap = 0;
  *out = NULL;
  if (r.pos >= len || json[r.pos] != '"') return fail(&r, "expected a string");
  int rc = string(&r, out, &cap, out_len);
  if (rc) {
    free(*out);
    *out = NULL;
    return rc;
  }
  *pos = r.pos;
  return 0;
}

int fk_vocab_json_parse(const char *json, size_t len, const char *name, fk_vocab_entry_fn fn,
                        void *ud, fk_err *e) {
  reader r = {json, len, 0, name, e};
  char *buf = NULL;
  size_t cap = 0, n = 0;
  int rc = 0;
  skip_ws(&r);
  if (r.pos >= len || json[r.pos] != '{') return fail(&r, "expected '{'");
  r.pos++;
  skip_ws(&r);
  if (r.pos < len && json[r.pos] == '}') {
    r.pos++;
  } else {
    for (;;) {
      int64_t id;
      skip_ws(&r);
      if (r.pos >= len || json[r.pos] != '"') {
        rc = fail(&r, "expected a string key");
        break;
      }
      if ((rc = string(&r, &buf, &cap, &n)) != 0) break;
      skip_ws(&r);
      if (r.pos >= len || json[r.pos] != ':') {
        rc = fail(&r, "expected ':'");
        break;
      }
      r.pos++;
      skip_ws(&r);
      if ((rc = integer(&r, &id)) != 0) break;
      if ((rc = fn(ud, buf, n, id, e)) != 0) break;
      skip_ws(&r);
      if (r.pos < len && json[r.pos] == ',') {
        r.pos++;
        continue;
      }
      if (r.pos < len && json[r.pos] == '}') {
        r.pos++;
        break;
      }
      rc = fail(&r, "expected ',' or '}'");
      break;
    }
  }
  free(buf);
  if (rc) return rc;
  skip_ws(&r);
  if (r.pos != len) return fail(&r, "trailing data after the object");
  return 0;
}
