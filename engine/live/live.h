/* funky live: the recipe is watched, reloaded into a fresh Lua state on
 * every save that changes it, validated (declarations, plan, and frame(f)
 * at the playhead) and swapped in only when all of that works; otherwise
 * the last good version stays live and the page shows the error with
 * file:line. Frames whose cache key changed are re-rendered at the preview
 * size, nearest to the playhead first, a bounded slice per tick so the page
 * and the watcher stay responsive. */
#ifndef FK_LIVE_LIVE_H
#define FK_LIVE_LIVE_H

#include <stddef.h>

#include "core/error.h"
#include "render/render.h"

typedef struct fk_live_opts {
  fk_render_opts render; /* recipe, --set, --trust, --frames, --out, preview size */
  int port;              /* 127.0.0.1:port; 0 picks a free one (printed) */
  double budget;         /* seconds of rendering between servicing the page (0: 0.05) */
  double debounce;       /* seconds of quiet after a save (0: FK_LIVE_DEBOUNCE) */
} fk_live_opts;

/* Serves until SIGINT, SIGTERM or SIGHUP (then FK_OK). Errors: the port
 * or the folder cannot be used. A recipe that fails is not an error. */
int fk_live_run(const fk_live_opts *o, fk_err *e);

/* The page's HTML (page.c). */
const char *fk_live_page(size_t *len);

/* The place a Lua error message points at, "file:line": the first one in
 * the recipe (its path or file name), else the first "*.lua:N" one; "" when
 * none. Handles "path:12: msg" (syntax errors, error()) and tracebacks. */
void fk_live_error_where(const char *msg, const char *recipe, char *out, size_t n);

#endif
