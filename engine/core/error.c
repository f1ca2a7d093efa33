#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int fk_err_set(fk_err *e, int code, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
  }
  return code;
}

int fk_err_oom(fk_err *e, const char *what, size_t bytes) {
  return fk_err_set(e, FK_EINTERNAL,
                    "out of memory allocating %zu bytes for %s; close other programs or "
                    "render at a smaller size",
                    bytes, what);
}

void fk_err_clear(fk_err *e) {
  if (e) {
    e->code = FK_OK;
    e->msg[0] = '\0';
  }
}

void *fk_alloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  size_t bytes = n * size;
  return malloc(bytes ? bytes : 1);
}

void *fk_zalloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}
