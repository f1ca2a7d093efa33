/* Recursive-descent JSON parser. Nodes are allocated individually and
 * chained into the document's list, so freeing never recurses and a parse
 * that fails halfway frees what it made. */
#include "core/json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

#define JSON_MAX_DEPTH 64

typedef struct node {
  fk_json j;
  struct node *next;
} node;

struct fk_json_doc {
  node *nodes;
  fk_json *root;
};

typedef struct parser {
  const char *s, *name;
  size_t n, pos;
  fk_json_doc *doc;
  fk_err *e;
} parser;

static int perr(parser *p, const char *what) {
  return fk_err_set(p->e, FK_EUSER, "%s: not valid JSON: %s at byte %zu; fix or replace the file",
                    p->name, what, p->pos);
}

static void ws(parser *p) {
  while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                           p->s[p->pos] == '\r'))
    p->pos++;
}

static fk_json *new_node(parser *p, fk_json_type t) {
  node *nd = fk_zalloc(1, sizeof *nd);
  if (!nd) {
    fk_err_oom(p->e, "JSON node", sizeof *nd);
    return NULL;
  }
  nd->next = p->doc->nodes;
  p->doc->nodes = nd;
  nd->j.type = t;
  return &nd->j;
}

static int hex4(parser *p, unsigned *v) {
  if (p->pos + 4 > p->n) return perr(p, "short \\u escape");
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[p->pos++];
    unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                        : 16u;
    if (d > 15) return perr(p, "bad hex digit in \\u escape");
    *v = *v * 16 + d;
  }
  return FK_OK;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 63));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 63));
    o[2] = (char)(0x80 | (cp & 63));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 63));
  o[2] = (char)(0x80 | (cp >> 6 & 63));
  o[3] = (char)(0x80 | (cp & 63));
  return 4;
}

/* Decoded text is never longer than its escaped form, so one buffer of
 * the raw length suffices. */
static int string(parser *p, char **out, size_t *len) {
  p->pos++; /* the opening quote */
  size_t start = p->pos;
  while (p->pos < p->n && p->s[p->pos] != '"') p->pos += p->s[p->pos] == '\\' ? 2 : 1;
  if (p->pos >= p->n) return perr(p, "unterminated string");
  size_t end = p->pos;
  char *o = fk_alloc(end - start + 1, 1);
  if (!o) return fk_err_oom(p->e, "JSON string", end - start + 1);
  /* chain the buffer to the document through a node so it is freed */
  fk_json *keep = new_node(p, FK_JSON_NULL);
  if (!keep) {
    free(o);
    return p->e->code;
  }
  keep->str = o;
  size_t k = 0;
  for (p->pos = start; p->pos < end;) {
    unsigned char c = (unsigned char)p->s[p->pos++];
    if (c < 0x20) return perr(p, "control character in string");
    if (c != '\\') {
      o[k++] = (char)c;
      continue;
    }
    char x = p->s[p->pos++];
    const char *simple = strchr("\"\\/bfnrt", x);
    if (x && simple) {
      o[k++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
      continue;
    }
    if (x != 'u') return perr(p, "unknown escape in string");
    unsigned cp;
    if (hex4(p, &cp)) return p->e->code;
    if (cp >= 0xD800 && cp < 0xDC00) {
      unsigned lo;
      if (p->pos + 2 > end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
        return perr(p, "unpaired surrogate escape");
      p->pos += 2;
      if (hex4(p, &lo)) return p->e->code;
      if (lo < 0xDC00 || lo > 0xDFFF) return perr(p, "unpaired surrogate escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp < 0xE000) {
      return perr(p, "unpaired surrogate escape");
    }
    k += put_utf8(o + k, cp);
  }
  o[k] = 0;
  p->pos = end + 1;
  *out = o;
  *len = k;
  return FK_OK;
}

static int value(parser *p, fk_json **out, int depth);

static int push(parser *p, fk_json *parent, fk_json *kid, size_t *cap) {
  if (parent->len == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    fk_json **k = realloc(parent->kids, nc * sizeof *k);
    if (!k) return fk_err_oom(p->e, "JSON array", nc * sizeof *k);
    parent->kids = k;
    *cap = nc;
  }
  parent->kids[parent->len++] = kid;
  return FK_OK;
}

static int container(parser *p, fk_json *c, int depth) {
  int obj = c->type == FK_JSON_OBJECT;
  char close = obj ? '}' : ']';
  size_t cap = 0;
  p->pos++;
  ws(p);
  if (p->pos < p->n && p->s[p->pos] == close) {
    p->pos++;
    return FK_OK;
  }
  for (;;) {
    char *key = NULL;
    size_t klen;
    ws(p);
    if (obj) {
      if (p->pos >= p->n || p->s[p->pos] != '"') return perr(p, "expected a member name");
      if (string(p, &key, &klen)) return p->e->code;
      ws(p);
      if (p->pos >= p->n || p->s[p->pos] != ':') return perr(p, "expected ':'");
      p->pos++;
    }
    fk_json *kid;
    if (value(p, &kid, depth + 1)) return p->e->code;
    kid->key = key;
    if (push(p, c, kid, &cap)) return p->e->code;
    ws(p);
    if (p->pos < p->n && p->s[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->pos < p->n && p->s[p->pos] == close) {
      p->pos++;
      return FK_OK;
    }
    return perr(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

/* Python's json writes Infinity, -Infinity and NaN (diffusers' DPM-Solver
 * configs hold lambda_min_clipped: -Infinity), so they are read too. */
static int special(parser *p, fk_json *j) {
  static const struct {
    const char *word;
    double v;
  } sp[] = {{"Infinity", INFINITY}, {"-Infinity", -INFINITY}, {"NaN", NAN}};
  for (size_t i = 0; i < 3; i++) {
    size_t l = strlen(sp[i].word);
    if (p->n - p->pos >= l && !memcmp(p->s + p->pos, sp[i].word, l)) {
      p->pos += l;
      j->num = sp[i].v;
      return 1;
    }
  }
  return 0;
}

static int number(parser *p, fk_json *j) {
  if (special(p, j)) return FK_OK;
  size_t st = p->pos;
  if (p->pos < p->n && p->s[p->pos] == '-') p->pos++;
  size_t digits = p->pos;
  while (p->pos < p->n && strchr("0123456789+-.eE", p->s[p->pos]) && p->s[p->pos]) p->pos++;
  if (p->pos == digits || p->pos - st > 64) return perr(p, "bad number");
  char buf[72];
  memcpy(buf, p->s + st, p->pos - st);
  buf[p->pos - st] = 0;
  char *end;
  j->num = strtod(buf, &end);
  if (*end || !isfinite(j->num)) return perr(p, "bad number");
  return FK_OK;
}

static int value(parser *p, fk_json **out, int depth) {
  if (depth > JSON_MAX_DEPTH) return perr(p, "nested too deeply");
  ws(p);
  if (p->pos >= p->n) return perr(p, "unexpected end");
  char c = p->s[p->pos];
  static const struct {
    const char *word;
    fk_json_type t;
  } words[] = {{"null", FK_JSON_NULL}, {"true", FK_JSON_TRUE}, {"false", FK_JSON_FALSE}};
  fk_json *j;
  for (size_t i = 0; i < 3; i++) {
    size_t l = strlen(words[i].word);
    if (c == words[i].word[0]) {
      if (p->n - p->pos < l || memcmp(p->s + p->pos, words[i].word, l))
        return perr(p, "unknown literal");
      p->pos += l;
      if (!(j = new_node(p, words[i].t))) return p->e->code;
      *out = j;
      return FK_OK;
    }
  }
  if (c == 'N' || c == 'I') c = '0'; /* NaN, Infinity: numbers */
  fk_json_type t = c == '{'   ? FK_JSON_OBJECT
                   : c == '[' ? FK_JSON_ARRAY
                   : c == '"' ? FK_JSON_STRING
                              : FK_JSON_NUMBER;
  if (!(j = new_node(p, t))) return p->e->code;
  *out = j;
  if (t == FK_JSON_STRING) return string(p, &j->str, &j->len);
  if (t == FK_JSON_NUMBER) return number(p, j);
  return container(p, j, depth);
}

void fk_json_free(fk_json_doc *d) {
  if (!d) return;
  for (node *n = d->nodes, *next; n; n = next) {
    next = n->next;
    if (n->j.type == FK_JSON_ARRAY || n->j.type == FK_JSON_OBJECT) free(n->j.kids);
    if (n->j.type == FK_JSON_NULL) free(n->j.str); /* string buffers ride on NULL nodes */
    free(n);
  }
  free(d);
}

int fk_json_parse(const char *text, size_t len, const char *name, fk_json_doc **out, fk_err *e) {
  *out = NULL;
  fk_json_doc *d = fk_zalloc(1, sizeof *d);
  if (!d) return fk_err_oom(e, "JSON document", sizeof *d);
  parser p = {.s = text, .name = name, .n = len, .doc = d, .e = e};
  if (value(&p, &d->root, 0) == FK_OK) {
    ws(&p);
    if (p.pos != p.n)
      perr(&p, "trailing text after the value");
    else {
      *out = d;
      return FK_OK;
    }
  }
  fk_json_free(d);
  return e->code;
}

int fk_json_load(const char *path, fk_json_doc **out, fk_err *e) {
  char *text;
  size_t len;
  if (fk_file_read(path, &text, &len, e)) return e->code;
  int rc = fk_json_parse(text, len, path, out, e);
  free(text);
  return rc;
}

const fk_json *fk_json_root(const fk_json_doc *d) {
  return d->root;
}

const fk_json *fk_json_get(const fk_json *o, const char *key) {
  if (!o || o->type != FK_JSON_OBJECT) return NULL;
  for (size_t i = o->len; i-- > 0;) /* the last duplicate wins, as in Python */
    if (!strcmp(o->kids[i]->key, key)) return o->kids[i];
  return NULL;
}

static const fk_json *member(const fk_json *o, const char *key) {
  const fk_json *v = fk_json_get(o, key);
  return v && v->type != FK_JSON_NULL ? v : NULL;
}

static int wrong(const char *where, const char *key, const char *want, fk_err *e) {
  return fk_err_set(e, FK_EUSER, "%s: '%s' must be %s; fix the file", where, key, want);
}

int fk_json_num(const fk_json *o, const char *key, double *out, const char *where, fk_err *e) {
  const fk_json *v = member(o, key);
  if (!v) return FK_OK;
  if (v->type != FK_JSON_NUMBER) return wrong(where, key, "a number", e);
  *out = v->num;
  return FK_OK;
}

int fk_json_int(const fk_json *o, const char *key, int *out, const char *where, fk_err *e) {
  const fk_json *v = member(o, key);
  if (!v) return FK_OK;
  if (v->type != FK_JSON_NUMBER || !isfinite(v->num) || v->num != floor(v->num) ||
      fabs(v->num) > INT32_MAX)
    return wrong(where, key, "an integer", e);
  *out = (int)v->num;
  return FK_OK;
}

int fk_json_bool(const fk_json *o, const char *key, int *out, const char *where, fk_err *e) {
  const fk_json *v = member(o, key);
  if (!v) return FK_OK;
  if (v->type != FK_JSON_TRUE && v->type != FK_JSON_FALSE)
    return wrong(where, key, "true or false", e);
  *out = v->type == FK_JSON_TRUE;
  return FK_OK;
}

int fk_json_str(const fk_json *o, const char *key, char *out, size_t n, const char *where,
                fk_err *e) {
  const fk_json *v = member(o, key);
  if (!v) return FK_OK;
  if (v->type != FK_JSON_STRING || v->len >= n) return wrong(where, key, "a (short) string", e);
  memcpy(out, v->str, v->len + 1);
  return FK_OK;
}

int fk_json_ints(const fk_json *o, const char *key, int *out, int cap, int *count,
                 const char *where, fk_err *e) {
  const fk_json *v = member(o, key);
  if (!v) return FK_OK;
  if (v->type == FK_JSON_NUMBER) {
    int x;
    if (fk_json_int(o, key, &x, where, e)) return e->code;
    for (int i = 0; i < cap; i++) out[i] = x;
    *count = cap;
    return FK_OK;
  }
  if (v->type != FK_JSON_ARRAY || v->len > (size_t)cap) return wrong(where, key, "a short list", e);
  for (size_t i = 0; i < v->len; i++) {
    const fk_json *x = v->kids[i];
    if (x->type != FK_JSON_NUMBER || x->num != floor(x->num) || fabs(x->num) > INT32_MAX)
      return wrong(where, key, "a list of integers", e);
    out[i] = (int)x->num;
  }
  *count = (int)v->len;
  return FK_OK;
}
