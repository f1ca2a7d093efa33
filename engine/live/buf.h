/* A growable byte buffer for HTTP responses and the JSON state. */
#ifndef FK_LIVE_BUF_H
#define FK_LIVE_BUF_H

#include <stddef.h>

#include "core/error.h"

typedef struct fk_live_buf {
  char *p; /* NUL-terminated while len < cap */
  size_t len, cap;
} fk_live_buf;

int fk_live_buf_add(fk_live_buf *b, const void *data, size_t n, fk_err *e);
int fk_live_buf_printf(fk_live_buf *b, fk_err *e, const char *fmt, ...) FK_PRINTF(3, 4);
/* Appends s as a JSON string literal (quotes, escapes; bytes >= 0x80 pass
 * through: Lua messages are UTF-8 or close to it). */
int fk_live_buf_json(fk_live_buf *b, const char *s, fk_err *e);
/* Drops the first n bytes (sent ones). */
void fk_live_buf_consume(fk_live_buf *b, size_t n);
void fk_live_buf_free(fk_live_buf *b);

#endif
