/* The tokenizer's tables, shared by the loader (vocab.c) and the encoder
 * (tokenizer.c). */
#ifndef FK_TEXT_TOK_INTERNAL_H
#define FK_TEXT_TOK_INTERNAL_H

#include <stdint.h>

#include "text/tokenizer.h"

/* Merge pair (left id, right id) -> rank and merged id. */
typedef struct fk_tok_pair {
  uint64_t key; /* 0 = empty slot; else ((left+1) << 32) | (right+1) */
  int32_t rank, merged;
} fk_tok_pair;

struct fk_tok {
  char **tokens; /* id -> string */
  int32_t n_tokens;
  int32_t *index; /* string hash slots holding ids, -1 empty */
  size_t index_cap;
  fk_tok_pair *pairs;
  size_t pairs_cap;
  int32_t byte_id[256], byte_end_id[256];
  int32_t bos, eos;
};

/* CLIP's bytes_to_unicode(): the printable code point standing for byte b. */
uint32_t fk_tok_byte_char(int b);
int fk_tok_pair_find(const fk_tok *t, int32_t a, int32_t b, int32_t *rank, int32_t *merged);

#endif
