/* Code point properties and UTF-8 for the text module. Text is handled as
 * arrays of code points (fk_u32s) between UTF-8 decoding at the entrance
 * and encoding at the BPE step, like Python's str. */
#ifndef FK_TEXT_UNICODE_H
#define FK_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct fk_u32s {
  uint32_t *v;
  size_t n, cap;
} fk_u32s;

int fk_u32s_push(fk_u32s *s, uint32_t c, fk_err *e);
int fk_u32s_append(fk_u32s *s, const uint32_t *c, size_t n, fk_err *e);
void fk_u32s_free(fk_u32s *s);

/* Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF); a bad
 * sequence is FK_EUSER naming its byte offset. */
int fk_utf8_decode(const char *s, size_t len, fk_u32s *out, fk_err *e);
/* Writes c's UTF-8 bytes into out[4]; returns how many. */
int fk_utf8_encode(uint32_t c, unsigned char out[4]);

int fk_uni_is_letter(uint32_t c);
int fk_uni_is_number(uint32_t c);
int fk_uni_is_space(uint32_t c);

/* Python's str.lower() (final sigma included). */
int fk_uni_lower(const fk_u32s *in, fk_u32s *out, fk_err *e);
/* unicodedata.normalize("NFC", ...). */
int fk_uni_nfc(const fk_u32s *in, fk_u32s *out, fk_err *e);

#endif
