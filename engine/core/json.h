/* A small strict JSON reader for configuration files (diffusers config.json,
 * sidecars, tokenizer configs): the whole document becomes a tree of
 * fk_json nodes owned by one fk_json_doc. Depth and size are capped so a
 * hostile file costs bounded memory and stack. */
#ifndef FK_CORE_JSON_H
#define FK_CORE_JSON_H

#include <stddef.h>

#include "core/error.h"

typedef enum {
  FK_JSON_NULL,
  FK_JSON_FALSE,
  FK_JSON_TRUE,
  FK_JSON_NUMBER,
  FK_JSON_STRING,
  FK_JSON_ARRAY,
  FK_JSON_OBJECT
} fk_json_type;

typedef struct fk_json fk_json;
struct fk_json {
  fk_json_type type;
  double num;
  char *str;      /* STRING: the UTF-8 text (NUL-terminated); object member: its key */
  size_t len;     /* STRING: bytes; ARRAY/OBJECT: number of children */
  fk_json **kids; /* ARRAY/OBJECT children; object members carry their key in key */
  char *key;
};

typedef struct fk_json_doc fk_json_doc;

/* Parses text (len bytes); name is used in messages. */
int fk_json_parse(const char *text, size_t len, const char *name, fk_json_doc **out, fk_err *e);
/* Reads and parses a file. */
int fk_json_load(const char *path, fk_json_doc **out, fk_err *e);
void fk_json_free(fk_json_doc *d);
const fk_json *fk_json_root(const fk_json_doc *d);

/* Member of an object (NULL when absent or o is not an object). */
const fk_json *fk_json_get(const fk_json *o, const char *key);
/* Typed lookups that leave *out untouched when the member is absent or
 * null; another type is an FK_EUSER error naming where and the key. */
int fk_json_num(const fk_json *o, const char *key, double *out, const char *where, fk_err *e);
int fk_json_int(const fk_json *o, const char *key, int *out, const char *where, fk_err *e);
int fk_json_bool(const fk_json *o, const char *key, int *out, const char *where, fk_err *e);
/* Copies a string member into out (n bytes). */
int fk_json_str(const fk_json *o, const char *key, char *out, size_t n, const char *where,
                fk_err *e);
/* An integer array member (or a single integer, repeated over n); *count
 * gets its length, which must be at most cap. */
int fk_json_ints(const fk_json *o, const char *key, int *out, int cap, int *count,
                 const char *where, fk_err *e);

#endif
