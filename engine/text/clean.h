/* CLIP's text preprocessing: whitespace_clean(ftfy.fix_text(text)).lower(),
 * with the part of ftfy 6.1.1's fix_text that applies to prompts. */
#ifndef FK_TEXT_CLEAN_H
#define FK_TEXT_CLEAN_H

#include "text/unicode.h"

/* ftfy.fix_text with its default configuration, minus mojibake repair
 * (fix_encoding and its byte-level helpers). */
int fk_text_ftfy(const fk_u32s *in, fk_u32s *out, fk_err *e);
/* fix_text, then \s+ -> one space and strip, then str.lower(). */
int fk_text_clip_clean(const fk_u32s *in, fk_u32s *out, fk_err *e);

#endif
