/* AUTOMATIC1111-style prompt emphasis: "(x)" x1.1, "[x]" /1.1, "(x:1.3)",
 * nesting multiplies, "\(" "\)" "\[" "\]" "\\" escapes, the word BREAK
 * starts a new 77-token chunk. Semantics are those of A1111's
 * parse_prompt_attention and tokenize_line, quirks included (unbalanced
 * brackets extend to the end, a lone backslash vanishes). */
#ifndef FK_TEXT_PROMPT_WEIGHTS_H
#define FK_TEXT_PROMPT_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "text/tokenizer.h"

typedef struct fk_prompt_seg {
  char *text;    /* UTF-8, NUL-terminated */
  double weight; /* a BREAK is text "BREAK" with weight exactly -1 */
} fk_prompt_seg;

/* Splits prompt into segments of equal weight (adjacent equal weights
 * merged; at least one segment). A weight that Python's float() rejects,
 * such as "(x:1.2.3)", is FK_EUSER, as it is an exception in A1111. */
int fk_prompt_parse(const char *prompt, fk_prompt_seg **segs, size_t *n, fk_err *e);
void fk_prompt_segs_free(fk_prompt_seg *segs, size_t n);

enum {
  FK_PROMPT_PLAIN = 0, /* the text as is: 75 tokens per chunk, weights 1 */
  FK_PROMPT_A1111 = 1, /* emphasis, BREAK, comma backtrack */
};

typedef struct fk_prompt_chunks {
  size_t n;                         /* at least 1 */
  int32_t (*ids)[FK_TOK_CONTEXT];   /* BOS, 75 tokens or padding, EOS */
  float (*weights)[FK_TOK_CONTEXT]; /* 1 on BOS, EOS and padding */
  size_t token_count;               /* A1111's count (shown as "N/75") */
} fk_prompt_chunks;

/* Tokenizes prompt into 77-token chunks the way A1111's tokenize_line
 * does for SD1: 75 tokens per chunk padded with EOS; with A1111 weighting,
 * a chunk that fills up within 20 tokens after a comma is cut after the
 * comma, and BREAK closes the chunk. pad_id replaces everything after a
 * chunk's first EOS (SD1: EOS itself; SD2 uses 0). */
int fk_prompt_chunks_make(const fk_tok *t, const char *prompt, int weighting, int32_t pad_id,
                          fk_prompt_chunks *out, fk_err *e);
void fk_prompt_chunks_free(fk_prompt_chunks *c);

#endif
