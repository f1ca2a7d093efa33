/* Unicode NFC (canonical decomposition, canonical ordering, canonical
 * composition), the last step of ftfy's fix_text. */
#include <stdlib.h>

#include "text/unicode.h"
#include "text/unicode_tables.h"

enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7 };
enum { LCOUNT = 19, VCOUNT = 21, TCOUNT = 28, NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

static int ccc(uint32_t c) {
  if (c < 0x300) return 0;
  size_t lo = 0, hi = FK_UNI_CCC_N;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c < FK_UNI_CCC[mid].lo)
      hi = mid;
    else if (c > FK_UNI_CCC[mid].hi)
      lo = mid + 1;
    else
      return FK_UNI_CCC[mid].ccc;
  }
  return 0;
}

static const fk_uni_decomp *decomp(uint32_t c) {
  size_t lo = 0, hi = FK_UNI_DECOMP_N;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c < FK_UNI_DECOMP[mid].cp)
      hi = mid;
    else if (c > FK_UNI_DECOMP[mid].cp)
      lo = mid + 1;
    else
      return &FK_UNI_DECOMP[mid];
  }
  return NULL;
}

/* 0 when the pair does not compose. */
static uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
    return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
  if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE &&
      b < TBASE + TCOUNT)
    return a + (b - TBASE);
  size_t lo = 0, hi = FK_UNI_COMP_N;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const fk_uni_comp *p = &FK_UNI_COMP[mid];
    if (a < p->first || (a == p->first && b < p->second))
      hi = mid;
    else if (a > p->first || b > p->second)
      lo = mid + 1;
    else
      return p->composite;
  }
  return 0;
}

static int decompose(const fk_u32s *in, fk_u32s *d, fk_err *e) {
  for (size_t i = 0; i < in->n; i++) {
    uint32_t c = in->v[i];
    const fk_uni_decomp *p;
    if (c >= SBASE && c < SBASE + SCOUNT) {
      uint32_t s = c - SBASE, t = s % TCOUNT;
      uint32_t h[3] = {LBASE + s / NCOUNT, VBASE + (s % NCOUNT) / TCOUNT, TBASE + t};
      if (fk_u32s_append(d, h, t ? 3 : 2, e)) return FK_EINTERNAL;
    } else if (c >= 0xC0 && (p = decomp(c)) != NULL) {
      if (fk_u32s_append(d, FK_UNI_DECOMP_DATA + p->off, (size_t)p->len, e)) return FK_EINTERNAL;
    } else if (fk_u32s_push(d, c, e)) {
      return FK_EINTERNAL;
    }
  }
  /* Canonical ordering: a stable insertion sort inside each run of
   * non-starters (runs are short). */
  for (size_t i = 1; i < d->n; i++) {
    int k = ccc(d->v[i]);
    if (!k) continue;
    size_t j = i;
    uint32_t c = d->v[i];
    while (j > 0 && ccc(d->v[j - 1]) > k) {
      d->v[j] = d->v[j - 1];
      j--;
    }
    d->v[j] = c;
  }
  return 0;
}

int fk_uni_nfc(const fk_u32s *in, fk_u32s *out, fk_err *e) {
  int ascii = 1;
  for (size_t i = 0; i < in->n && ascii; i++) ascii = in->v[i] < 0xC0;
  if (ascii) return fk_u32s_append(out, in->v, in->n, e) ? FK_EINTERNAL : 0;
  fk_u32s d = {0};
  if (decompose(in, &d, e)) {
    fk_u32s_free(&d);
    return FK_EINTERNAL;
  }
  /* A character joins the last starter unless blocked: something already
   * kept after the starter has class 0 or a class >= its own. */
  size_t starter = 0, o = 0;
  int have_starter = 0, adjacent = 0, last_ccc = 0;
  for (size_t i = 0; i < d.n; i++) {
    uint32_t c = d.v[i];
    int k = ccc(c);
    if (have_starter && (adjacent || (last_ccc != 0 && last_ccc < k))) {
      uint32_t comp = compose(d.v[starter], c);
      if (comp) {
        d.v[starter] = comp;
        continue;
      }
    }
    if (k == 0) {
      starter = o;
      have_starter = 1;
      adjacent = 1;
    } else {
      adjacent = 0;
      last_ccc = k;
    }
    d.v[o++] = c;
  }
  d.n = o;
  int r = fk_u32s_append(out, d.v, d.n, e) ? FK_EINTERNAL : 0;
  fk_u32s_free(&d);
  return r;
}
