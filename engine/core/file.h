/* File helpers. Everything a render leaves on disk goes through
 * fk_file_write_atomic: written to a temporary name in the same folder,
 * flushed, then renamed, so a crash never leaves a partial file. */
#ifndef FK_CORE_FILE_H
#define FK_CORE_FILE_H

#include <stddef.h>

#include "core/error.h"

/* Reads a whole file; *data is malloc'd and NUL-terminated. */
int fk_file_read(const char *path, char **data, size_t *len, fk_err *e);
int fk_file_write_atomic(const char *path, const void *data, size_t len, fk_err *e);
/* Creates dir and its parents; fails with a clear message if not writable. */
int fk_file_mkdirs(const char *dir, fk_err *e);
int fk_file_exists(const char *path);
/* Joins a folder and a name into out (size n); fails if it does not fit. */
int fk_path_join(char *out, size_t n, const char *dir, const char *name, fk_err *e);
/* The folder part of path ("." when there is none). */
void fk_path_dir(const char *path, char *out, size_t n);
/* The file name without folder and extension ("scripts/funky.lua" -> "funky"). */
void fk_path_stem(const char *path, char *out, size_t n);

#endif
