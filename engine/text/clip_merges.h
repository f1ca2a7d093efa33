/* openai/CLIP's BPE merge list (models/clip/merges.txt), zlib-compressed
 * into the library by tools/gen_unicode_tables.py so that the default
 * tokenizer needs no file at run time. */
#ifndef FK_TEXT_CLIP_MERGES_H
#define FK_TEXT_CLIP_MERGES_H

#include <stddef.h>

extern const unsigned char FK_CLIP_MERGES_Z[];
extern const size_t FK_CLIP_MERGES_Z_LEN;
/* Length of the uncompressed text. */
extern const size_t FK_CLIP_MERGES_LEN;

#endif
