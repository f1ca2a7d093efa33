/* Error reporting for the engine: every fallible call takes an fk_err and
 * returns 0 on success or the error's code. Messages say what failed and
 * what to do about it; the code decides the process exit status. */
#ifndef FK_CORE_ERROR_H
#define FK_CORE_ERROR_H

#include <stddef.h>

enum {
  FK_OK = 0,
  FK_EUSER = 1,     /* bad input, missing file, bad argument: exit status 1 */
  FK_EINTERNAL = 2, /* out of memory, library failure, a bug: exit status 2 */
};

typedef struct fk_err {
  int code;
  char msg[1024];
} fk_err;

#if defined(__GNUC__)
#define FK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FK_PRINTF(a, b)
#endif

/* Records code and message in e (which may be NULL) and returns code. */
int fk_err_set(fk_err *e, int code, const char *fmt, ...) FK_PRINTF(3, 4);
/* The common out-of-memory error, naming what could not be allocated. */
int fk_err_oom(fk_err *e, const char *what, size_t bytes);
void fk_err_clear(fk_err *e);

/* malloc/calloc that never return NULL for a zero size and check overflow. */
void *fk_alloc(size_t n, size_t size);
void *fk_zalloc(size_t n, size_t size);

#endif
