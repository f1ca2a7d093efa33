#include "live/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(fk_live_buf *b, size_t more, fk_err *e) {
  if (b->len + more + 1 <= b->cap) return FK_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) {
    if (cap > ((size_t)-1) / 2) return fk_err_oom(e, "an HTTP buffer", b->len + more);
    cap *= 2;
  }
  char *p = realloc(b->p, cap);
  if (!p) return fk_err_oom(e, "an HTTP buffer", cap);
  b->p = p;
  b->cap = cap;
  return FK_OK;
}

int fk_live_buf_add(fk_live_buf *b, const void *data, size_t n, fk_err *e) {
  if (reserve(b, n, e)) return e->code;
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
  return FK_OK;
}

int fk_live_buf_printf(fk_live_buf *b, fk_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return fk_err_set(e, FK_EINTERNAL, "cannot format a live-page message");
  if (reserve(b, (size_t)n, e)) return e->code;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return FK_OK;
}

int fk_live_buf_json(fk_live_buf *b, const char *s, fk_err *e) {
  if (fk_live_buf_add(b, "\"", 1, e)) return e->code;
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    const char *out = esc;
    size_t n = 2;
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\', esc[1] = (char)*c;
    } else if (*c == '\n') {
      out = "\\n";
    } else if (*c == '\t') {
      out = "\\t";
    } else if (*c < 0x20 || *c == 0x7f) {
      n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *c);
    } else {
      esc[0] = (char)*c;
      n = 1;
    }
    if (fk_live_buf_add(b, out, n, e)) return e->code;
  }
  return fk_live_buf_add(b, "\"", 1, e);
}

void fk_live_buf_consume(fk_live_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
  }
  if (b->p) b->p[b->len] = '\0';
}

void fk_live_buf_free(fk_live_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
