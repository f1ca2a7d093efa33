/* Code point buffers, UTF-8, character classes and str.lower(). */
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>

#include "text/unicode_tables.h"

int fk_u32s_push(fk_u32s *s, uint32_t c, fk_err *e) {
  return fk_u32s_append(s, &c, 1, e);
}

int fk_u32s_append(fk_u32s *s, const uint32_t *c, size_t n, fk_err *e) {
  if (s->n + n > s->cap) {
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->n + n) cap *= 2;
    uint32_t *v = realloc(s->v, cap * sizeof *v);
    if (!v) return fk_err_oom(e, "text buffer", cap * sizeof *v);
    s->v = v;
    s->cap = cap;
  }
  memcpy(s->v + s->n, c, n * sizeof *c);
  s->n += n;
  return 0;
}

void fk_u32s_free(fk_u32s *s) {
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

int fk_utf8_decode(const char *str, size_t len, fk_u32s *out, fk_err *e) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    uint32_t c = s[i];
    int extra = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, c &= 0x07, min = 0x10000;
    } else {
      return fk_err_set(e, FK_EUSER, "prompt is not valid UTF-8: byte 0x%02X at offset %zu", s[i],
                        i);
    }
    if (i + (size_t)extra >= len + (extra ? 0 : 1))
      return fk_err_set(e, FK_EUSER, "prompt is not valid UTF-8: truncated sequence at offset %zu",
                        i);
    for (int k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return fk_err_set(e, FK_EUSER,
                          "prompt is not valid UTF-8: bad continuation byte at offset %zu", i + k);
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
      return fk_err_set(e, FK_EUSER, "prompt is not valid UTF-8: bad sequence at offset %zu", i);
    if (fk_u32s_push(out, c, e)) return e ? e->code : FK_EINTERNAL;
    i += (size_t)extra + 1;
  }
  return 0;
}

int fk_utf8_encode(uint32_t c, unsigned char out[4]) {
  if (c < 0x80) {
    out[0] = (unsigned char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (unsigned char)(0xC0 | (c >> 6));
    out[1] = (unsigned char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (c >> 12));
    out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (c >> 18));
  out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (c & 0x3F));
  return 4;
}

static int in_ranges(const fk_uni_range *r, size_t n, uint32_t c) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c < r[mid].lo)
      hi = mid;
    else if (c > r[mid].hi)
      lo = mid + 1;
    else
      return 1;
  }
  return 0;
}

int fk_uni_is_letter(uint32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(FK_UNI_LETTER, FK_UNI_LETTER_N, c);
}

int fk_uni_is_number(uint32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(FK_UNI_NUMBER, FK_UNI_NUMBER_N, c);
}

int fk_uni_is_space(uint32_t c) {
  return in_ranges(FK_UNI_SPACE, FK_UNI_SPACE_N, c);
}

static int lower1(uint32_t c, uint32_t *to) {
  size_t lo = 0, hi = FK_UNI_LOWER_N;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c < FK_UNI_LOWER[mid].from)
      hi = mid;
    else if (c > FK_UNI_LOWER[mid].from)
      lo = mid + 1;
    else {
      *to = FK_UNI_LOWER[mid].to;
      return 1;
    }
  }
  return 0;
}

/* CPython's rule: capital sigma becomes final when a cased letter precedes
 * it and none follows, looking past case-ignorable characters. */
static int final_sigma(const uint32_t *v, size_t n, size_t i) {
  size_t j = i;
  while (j > 0 && in_ranges(FK_UNI_CASE_IGNORABLE, FK_UNI_CASE_IGNORABLE_N, v[j - 1])) j--;
  if (j == 0 || !in_ranges(FK_UNI_CASED, FK_UNI_CASED_N, v[j - 1])) return 0;
  j = i + 1;
  while (j < n && in_ranges(FK_UNI_CASE_IGNORABLE, FK_UNI_CASE_IGNORABLE_N, v[j])) j++;
  return j == n || !in_ranges(FK_UNI_CASED, FK_UNI_CASED_N, v[j]);
}

int fk_uni_lower(const fk_u32s *in, fk_u32s *out, fk_err *e) {
  for (size_t i = 0; i < in->n; i++) {
    uint32_t c = in->v[i], to = c;
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') to = c + 32;
    } else if (c == 0x3A3) {
      to = final_sigma(in->v, in->n, i) ? 0x3C2 : 0x3C3;
    } else if (!lower1(c, &to)) {
      int multi = 0;
      for (size_t k = 0; k < FK_UNI_LOWER_MULTI_N; k++) {
        if (FK_UNI_LOWER_MULTI[k].from == c) {
          if (fk_u32s_append(out, FK_UNI_LOWER_MULTI[k].to, (size_t)FK_UNI_LOWER_MULTI[k].n, e))
            return FK_EINTERNAL;
          multi = 1;
          break;
        }
      }
      if (multi) continue;
    }
    if (fk_u32s_push(out, to, e)) return FK_EINTERNAL;
  }
  return 0;
}
