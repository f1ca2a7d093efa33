/* ftfy.fix_text (6.1.1, default settings) as it acts on prompts, then
 * CLIP's whitespace_clean and lower(). Every step is a pass from one code
 * point buffer into another, in ftfy's order. */
#include "text/clean.h"

#include <string.h>

#include "text/unicode_tables.h"

typedef int (*fixer)(const fk_u32s *in, fk_u32s *out, fk_err *e);

static int is_alnum_ascii(uint32_t c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static const fk_uni_entity *find_entity(const char *name) {
  size_t lo = 0, hi = FK_UNI_ENTITIES_N;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, FK_UNI_ENTITIES[mid].name);
    if (c < 0)
      hi = mid;
    else if (c > 0)
      lo = mid + 1;
    else
      return &FK_UNI_ENTITIES[mid];
  }
  return NULL;
}

/* html.unescape of one "&#...;" reference as ftfy uses it: *n = 0 when the
 * reference stays as written (not fully numeric, or it decodes to ';'). */
static void charref(const char *body, uint32_t out[1], int *n) {
  int hex = body[0] == 'x' || body[0] == 'X';
  const char *p = body + hex;
  uint64_t v = 0;
  *n = 0;
  if (!*p) return;
  for (; *p; p++) {
    int d;
    if (*p >= '0' && *p <= '9')
      d = *p - '0';
    else if (hex && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
      d = (*p | 0x20) - 'a' + 10;
    else
      return;
    v = v * (hex ? 16u : 10u) + (uint64_t)d;
    if (v > 0x10FFFFu) v = 0x110000u; /* saturate: only "too large" matters */
  }
  for (size_t i = 0; i < FK_UNI_CHARREF_FIX_N; i++) {
    if (FK_UNI_CHARREF_FIX[i].from == v) {
      out[0] = FK_UNI_CHARREF_FIX[i].to;
      *n = 1;
      return;
    }
  }
  if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
    out[0] = 0xFFFD;
    *n = 1;
    return;
  }
  for (size_t i = 0; i < FK_UNI_CHARREF_DROP_N; i++) {
    if (v >= FK_UNI_CHARREF_DROP[i].lo && v <= FK_UNI_CHARREF_DROP[i].hi) {
      *n = -1; /* decodes to nothing */
      return;
    }
  }
  if (v == ';') return;
  out[0] = (uint32_t)v;
  *n = 1;
}

/* ftfy's unescape_html: every match of &#?[0-9A-Za-z]{1,24}; that names
 * a known entity or a numeric reference is replaced. */
static int unescape_html(const fk_u32s *in, fk_u32s *out, fk_err *e) {
  size_t i = 0;
  while (i < in->n) {
    if (in->v[i] == '&') {
      size_t j = i + 1;
      int num = j < in->n && in->v[j] == '#';
      j += (size_t)num;
      size_t k = j;
      while (k < in->n && k - j <= 24 && is_alnum_ascii(in->v[k])) k++;
      if (k > j && k - j <= 24 && k < in->n && in->v[k] == ';') {
        char name[32];
        for (size_t m = j; m < k; m++) name[m - j] = (char)in->v[m];
        name[k - j] = 0;
        uint32_t rep[3];
        int n = 0;
        if (num) {
          charref(name, rep, &n);
        } else {
          const fk_uni_entity *ent = find_entity(name);
          if (ent)
            for (; n < 3 && ent->cp[n]; n++) rep[n] = ent->cp[n];
        }
        if (n != 0) {
          if (n > 0 && fk_u32s_append(out, rep, (size_t)n, e)) return FK_EINTERNAL;
          i = k + 1;
          continue;
        }
      }
    }
    if (fk_u32s_push(out, in->v[i], e)) return FK_EINTERNAL;
    i++;
  }
  return 0;
}

/* ftfy's LIGATURES table (Latin only). */
static const fk_uni_multi LIGATURES[] = {
    {0x132, 2, {'I', 'J', 0}},    {0x133, 2, {'i', 'j', 0}},    {0x149, 2, {0x2BC, 'n', 0}},
    {0x1C4, 2, {'D', 0x17D, 0}},  {0x1C5, 2, {'D', 0x17E, 0}},  {0x1C6, 2, {'d', 0x17E, 0}},
    {0x1C7, 2, {'L', 'J', 0}},    {0x1C8, 2, {'L', 'j', 0}},    {0x1C9, 2, {'l', 'j', 0}},
    {0x1CA, 2, {'N', 'J', 0}},    {0x1CB, 2, {'N', 'j', 0}},    {0x1CC, 2, {'n', 'j', 0}},
    {0x1F1, 2, {'D', 'Z', 0}},    {0x1F2, 2, {'D', 'z', 0}},    {0x1F3, 2, {'d', 'z', 0}},
    {0xFB00, 2, {'f', 'f', 0}},   {0xFB01, 2, {'f', 'i', 0}},   {0xFB02, 2, {'f', 'l', 0}},
    {0xFB03, 3, {'f', 'f', 'i'}}, {0xFB04, 3, {'f', 'f', 'l'}}, {0xFB05, 2, {0x17F, 't', 0}},
    {0xFB06, 2, {'s', 't', 0}},
};

/* The C1 controls, ligatures, width forms and curly quotes are all
 * per-character translations, so one pass applies them in ftfy's order. */
static int translate(const fk_u32s *in, fk_u32s *out, fk_err *e) {
  for (size_t i = 0; i < in->n; i++) {
    uint32_t c = in->v[i];
    const fk_uni_multi *m = NULL;
    if (c >= 0x80 && c <= 0x9F) c = FK_UNI_C1[c - 0x80];
    if (c >= 0x132 && c <= 0xFB06) {
      for (size_t k = 0; k < sizeof LIGATURES / sizeof LIGATURES[0]; k++)
        if (LIGATURES[k].from == c) m = &LIGATURES[k];
    }
    if (!m && (c == 0x3000 || (c >= 0xFF01 && c <= 0xFFEF))) {
      for (size_t k = 0; k < FK_UNI_WIDTH_N; k++)
        if (FK_UNI_WIDTH[k].from == c) m = &FK_UNI_WIDTH[k];
    }
    uint32_t buf[3];
    size_t n = 1;
    if (m) {
      memcpy(buf, m->to, sizeof buf);
      n = (size_t)m->n;
    } else {
      buf[0] = c;
    }
    /* Ligatures and width forms can only produce plain letters, spaces,
     * ASCII and the long s or apostrophe-n: uncurling after them is safe. */
    for (size_t k = 0; k < n; k++) {
      uint32_t d = buf[k];
      if (d == 0x2BC || (d >= 0x2018 && d <= 0x201B))
        d = '\'';
      else if (d >= 0x201C && d <= 0x201F)
        d = '"';
      if (fk_u32s_push(out, d, e)) return FK_EINTERNAL;
    }
  }
  return 0;
}

static int is_control(uint32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* fix_line_breaks, remove_terminal_escapes and remove_control_chars. */
static int breaks_and_controls(const fk_u32s *in, fk_u32s *out, fk_err *e) {
  fk_u32s lb = {0};
  int r = 0;
  for (size_t i = 0; i < in->n && !r; i++) {
    uint32_t c = in->v[i];
    if (c == '\r' && i + 1 < in->n && in->v[i + 1] == '\n') continue;
    if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
    r = fk_u32s_push(&lb, c, e);
  }
  for (size_t i = 0; i < lb.n && !r; i++) {
    if (lb.v[i] == 0x1B && i + 1 < lb.n && lb.v[i + 1] == '[') {
      size_t j = i + 2;
      while (j < lb.n && ((lb.v[j] >= '0' && lb.v[j] <= '9') || lb.v[j] == ';')) j++;
      if (j < lb.n && lb.v[j] < 0x80 && ((lb.v[j] | 0x20) >= 'a' && (lb.v[j] | 0x20) <= 'z')) {
        i = j;
        continue;
      }
    }
    if (lb.v[i] == 0x1B) { /* ESC itself is a control character */
      continue;
    }
    if (!is_control(lb.v[i])) r = fk_u32s_push(out, lb.v[i], e);
  }
  fk_u32s_free(&lb);
  return r ? FK_EINTERNAL : 0;
}

/* fix_and_explain: the fixers run in a loop until the text stops changing. */
static int fix_segment(const fk_u32s *seg, int unescape, fk_u32s *out, fk_err *e) {
  fk_u32s a = {0}, b = {0};
  int r = fk_u32s_append(&a, seg->v, seg->n, e);
  for (int round = 0; !r; round++) {
    fk_u32s orig = {0};
    r = fk_u32s_append(&orig, a.v, a.n, e);
    const fixer steps[] = {unescape ? unescape_html : NULL, translate, breaks_and_controls,
                           fk_uni_nfc};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0] && !r; s++) {
      if (!steps[s]) continue;
      b.n = 0;
      r = steps[s](&a, &b, e);
      fk_u32s t = a;
      a = b;
      b = t;
    }
    int same = !r && orig.n == a.n && (a.n == 0 || !memcmp(orig.v, a.v, a.n * sizeof *a.v));
    fk_u32s_free(&orig);
    /* Each round only shrinks or normalises; 64 rounds is far past any
     * real nesting of entities. */
    if (same || round > 64) break;
  }
  if (!r) r = fk_u32s_append(out, a.v, a.n, e);
  fk_u32s_free(&a);
  fk_u32s_free(&b);
  return r ? FK_EINTERNAL : 0;
}

int fk_text_ftfy(const fk_u32s *in, fk_u32s *out, fk_err *e) {
  /* Lines are fixed one by one; HTML unescaping stops for good at the
   * first line containing '<' (ftfy's "auto" mode). */
  int unescape = 1;
  size_t pos = 0;
  while (pos < in->n) {
    size_t end = pos;
    while (end < in->n && in->v[end] != '\n') end++;
    if (end < in->n) end++;
    fk_u32s seg = {in->v + pos, end - pos, end - pos};
    for (size_t i = pos; i < end && unescape; i++)
      if (in->v[i] == '<') unescape = 0;
    if (fix_segment(&seg, unescape, out, e)) return FK_EINTERNAL;
    pos = end;
  }
  return 0;
}

int fk_text_clip_clean(const fk_u32s *in, fk_u32s *out, fk_err *e) {
  fk_u32s fixed = {0}, ws = {0};
  int r = fk_text_ftfy(in, &fixed, e);
  for (size_t i = 0; i < fixed.n && !r;) {
    if (fk_uni_is_space(fixed.v[i])) {
      while (i < fixed.n && fk_uni_is_space(fixed.v[i])) i++;
      if (ws.n > 0 && i < fixed.n) r = fk_u32s_push(&ws, ' ', e);
    } else {
      r = fk_u32s_push(&ws, fixed.v[i++], e);
    }
  }
  if (!r) r = fk_uni_lower(&ws, out, e);
  fk_u32s_free(&fixed);
  fk_u32s_free(&ws);
  return r ? FK_EINTERNAL : 0;
}
