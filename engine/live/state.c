/* The session's state as JSON for the page (/state and every event), and
 * finding file:line in a Lua error message. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "live/live_internal.h"

/* Is there "NAME:digits:" ending at s + len, with NAME a .lua path? Returns
 * the start of the path or NULL. p points at the ':' before the digits. */
static const char *lua_path_before(const char *msg, const char *colon) {
  const char *start = colon;
  while (start > msg && !isspace((unsigned char)start[-1]) && start[-1] != '"' &&
         start[-1] != '\'' && start[-1] != '[')
    start--;
  size_t len = (size_t)(colon - start);
  return len > 4 && !memcmp(colon - 4, ".lua", 4) ? start : NULL;
}

void fk_live_error_where(const char *msg, const char *recipe, char *out, size_t n) {
  const char *base = strrchr(recipe, '/');
  base = base ? base + 1 : recipe;
  const char *fallback = NULL;
  size_t fallback_len = 0;
  for (const char *p = strchr(msg, ':'); p; p = strchr(p + 1, ':')) {
    const char *d = p + 1;
    while (isdigit((unsigned char)*d)) d++;
    if (d == p + 1 || *d != ':') continue; /* not ":digits:" */
    const char *path = lua_path_before(msg, p);
    if (!path) continue;
    size_t plen = (size_t)(p - path), blen = strlen(base);
    size_t len = (size_t)(d - path);
    /* the recipe itself, by path or by file name (a traceback may shorten
     * a long path to ".../name.lua") */
    if ((plen == strlen(recipe) && !memcmp(path, recipe, plen)) ||
        (plen >= blen && !memcmp(p - blen, base, blen) &&
         (plen == blen || p[-(long)blen - 1] == '/'))) {
      snprintf(out, n, "%.*s", (int)len, path);
      return;
    }
    if (!fallback) {
      fallback = path;
      fallback_len = len;
    }
  }
  if (fallback)
    snprintf(out, n, "%.*s", (int)fallback_len, fallback);
  else if (n)
    out[0] = '\0';
}

int fk_live_state_json(fk_live *l, fk_err *e) {
  fk_live_buf *b = &l->json;
  b->len = 0;
  size_t count = l->plan ? l->last - l->first : 0;
  if (fk_live_buf_printf(b, e, "{\"recipe\":") || fk_live_buf_json(b, l->watch.name, e) ||
      fk_live_buf_printf(b, e, ",\"name\":") || fk_live_buf_json(b, l->name, e) ||
      fk_live_buf_printf(b, e,
                         ",\"version\":%u,\"attempts\":%u,\"frames\":%zu,\"first\":%zu,"
                         "\"fps\":%g,\"width\":%d,\"height\":%d,\"playhead\":%zu,\"done\":%zu,"
                         "\"rendered\":%zu,\"cached\":%zu,\"failed\":%zu,\"busy\":%s,"
                         "\"skipped_saves\":%u,\"error\":",
                         l->version, l->attempts, count, l->first, l->plan ? l->facts.fps : 0.0,
                         l->plan ? l->facts.width : 0, l->plan ? l->facts.height : 0, l->playhead,
                         l->done, l->rendered, l->cached, l->failed,
                         l->plan && !l->finished ? "true" : "false", l->watch.skipped))
    return e->code;
  if (!l->has_error) {
    if (fk_live_buf_printf(b, e, "null")) return e->code;
  } else if (fk_live_buf_printf(b, e, "{\"frame\":%ld,\"kept\":%u,\"where\":", l->error_frame,
                                l->error_kept) ||
             fk_live_buf_json(b, l->where, e) || fk_live_buf_printf(b, e, ",\"message\":") ||
             fk_live_buf_json(b, l->error, e) || fk_live_buf_printf(b, e, "}")) {
    return e->code;
  }
  if (fk_live_buf_printf(b, e, ",\"strip\":[")) return e->code;
  if (l->plan) {
    size_t lo =
        l->playhead >= l->first + LIVE_STRIP_BEFORE ? l->playhead - LIVE_STRIP_BEFORE : l->first;
    int n = 0;
    for (size_t k = lo; k < l->last && k < l->n_keys && n < LIVE_STRIP_LEN; k++) {
      if (!l->keys[k][0]) continue;
      if (fk_live_buf_printf(b, e, "%s{\"k\":%zu,\"t\":%.3f,\"key\":\"%s\"}", n ? "," : "", k,
                             (double)k / l->facts.fps, l->keys[k]))
        return e->code;
      n++;
    }
  }
  return fk_live_buf_printf(b, e, "]}");
}
