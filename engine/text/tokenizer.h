/* CLIP's byte-level BPE tokenizer, id for id the same as transformers'
 * CLIPTokenizer with ftfy installed (and openai/CLIP's simple_tokenizer):
 * text -> ftfy fix_text -> whitespace clean -> lower -> CLIP pre-split ->
 * BPE. Invalid UTF-8 is an FK_EUSER error naming the byte offset (Python
 * would never see such a string). */
#ifndef FK_TEXT_TOKENIZER_H
#define FK_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* The text encoder's context: BOS, at most 75 tokens, EOS. */
#define FK_TOK_CONTEXT 77

typedef struct fk_tok fk_tok;

/* dir holds vocab.json and merges.txt (a diffusers "tokenizer" folder);
 * NULL opens the built-in CLIP vocabulary (49408 tokens). */
int fk_tok_open(const char *dir, fk_tok **out, fk_err *e);
/* model_dir/tokenizer/ when it has vocab.json and merges.txt, else the
 * built-in vocabulary (single-file checkpoints carry no tokenizer). */
int fk_tok_open_for_model(const char *model_dir, fk_tok **out, fk_err *e);
void fk_tok_close(fk_tok *t);

int32_t fk_tok_bos(const fk_tok *t);
int32_t fk_tok_eos(const fk_tok *t);
/* Number of ids (largest id + 1). */
int32_t fk_tok_vocab_size(const fk_tok *t);
/* The vocabulary string of id (byte-level alphabet), NULL when unused. */
const char *fk_tok_token(const fk_tok *t, int32_t id);
/* The id of a vocabulary string, -1 when absent. */
int32_t fk_tok_id(const fk_tok *t, const char *token);

/* BPE ids of utf8 without BOS/EOS and without truncation; *ids is
 * malloc'd (never NULL on success, even when *n is 0). */
int fk_tok_encode(const fk_tok *t, const char *utf8, int32_t **ids, size_t *n, fk_err *e);
/* What the SD pipeline feeds the text encoder: BOS, the first 75 BPE ids,
 * EOS, then pad_id up to 77 (SD1: pad_id = EOS). */
int fk_tok_ids77(const fk_tok *t, const char *text, int32_t pad_id, int32_t out[FK_TOK_CONTEXT],
                 fk_err *e);

#endif
