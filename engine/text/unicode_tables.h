/* Unicode and HTML data the CLIP text cleaner needs, generated from
 * CPython's own tables by tools/gen_unicode_tables.py so that the cleaner
 * agrees with Python's str methods character for character. */
#ifndef FK_TEXT_UNICODE_TABLES_H
#define FK_TEXT_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

typedef struct fk_uni_range {
  uint32_t lo, hi;
} fk_uni_range;

typedef struct fk_uni_map {
  uint32_t from, to;
} fk_uni_map;

typedef struct fk_uni_multi {
  uint32_t from;
  int n;
  uint32_t to[3];
} fk_uni_multi;

typedef struct fk_uni_ccc {
  uint32_t lo, hi;
  int ccc;
} fk_uni_ccc;

typedef struct fk_uni_decomp {
  uint32_t cp;
  int off, len;
} fk_uni_decomp;

typedef struct fk_uni_comp {
  uint32_t first, second, composite;
} fk_uni_comp;

typedef struct fk_uni_entity {
  const char *name; /* without '&' and ';' */
  uint32_t cp[3];   /* 0-terminated when shorter */
} fk_uni_entity;

/* General categories L* and N*, and str.isspace(). */
extern const fk_uni_range FK_UNI_LETTER[], FK_UNI_NUMBER[], FK_UNI_SPACE[];
extern const size_t FK_UNI_LETTER_N, FK_UNI_NUMBER_N, FK_UNI_SPACE_N;
/* The context str.lower() checks for a final sigma. */
extern const fk_uni_range FK_UNI_CASED[], FK_UNI_CASE_IGNORABLE[];
extern const size_t FK_UNI_CASED_N, FK_UNI_CASE_IGNORABLE_N;
/* str.lower(), sorted by from; U+03A3 is handled by context. */
extern const fk_uni_map FK_UNI_LOWER[];
extern const size_t FK_UNI_LOWER_N;
extern const fk_uni_multi FK_UNI_LOWER_MULTI[];
extern const size_t FK_UNI_LOWER_MULTI_N;
/* NFC: combining classes, full canonical decompositions (without Hangul
 * syllables, which are algorithmic) and primary composites. */
extern const fk_uni_ccc FK_UNI_CCC[];
extern const size_t FK_UNI_CCC_N;
extern const uint32_t FK_UNI_DECOMP_DATA[];
extern const fk_uni_decomp FK_UNI_DECOMP[];
extern const size_t FK_UNI_DECOMP_N;
extern const fk_uni_comp FK_UNI_COMP[];
extern const size_t FK_UNI_COMP_N;
/* ftfy's fix_character_width. */
extern const fk_uni_multi FK_UNI_WIDTH[];
extern const size_t FK_UNI_WIDTH_N;
/* ftfy's HTML entity table, sorted by name (byte order). */
extern const fk_uni_entity FK_UNI_ENTITIES[];
extern const size_t FK_UNI_ENTITIES_N;
/* html.unescape's numeric reference fix-ups and dropped codepoints. */
extern const fk_uni_map FK_UNI_CHARREF_FIX[];
extern const size_t FK_UNI_CHARREF_FIX_N;
extern const fk_uni_range FK_UNI_CHARREF_DROP[];
extern const size_t FK_UNI_CHARREF_DROP_N;
/* ftfy's fix_c1_controls: U+0080..U+009F as sloppy windows-1252. */
extern const uint16_t FK_UNI_C1[32];

#endif
