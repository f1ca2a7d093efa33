/* Reader for a tokenizer's vocab.json: one JSON object mapping token
 * strings to integer ids, nothing else. */
#ifndef FK_TEXT_VOCAB_JSON_H
#define FK_TEXT_VOCAB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Called once per entry with the decoded UTF-8 key (NUL-terminated, klen
 * bytes) and its id; a non-zero return stops parsing with that code. */
typedef int (*fk_vocab_entry_fn)(void *ud, const char *key, size_t klen, int64_t id, fk_err *e);

/* name is used in messages only. */
int fk_vocab_json_parse(const char *json, size_t len, const char *name, fk_vocab_entry_fn fn,
                        void *ud, fk_err *e);

/* Decodes the JSON string starting at json[*pos] (its opening quote) into a
 * malloc'd NUL-terminated *out of *out_len bytes; *pos moves past it. */
int fk_json_string(const char *json, size_t len, size_t *pos, char **out, size_t *out_len,
                   fk_err *e);

#endif
