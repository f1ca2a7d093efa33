/* What the live server answers: the page, the state (as JSON and as an
 * event stream), frames as PNG, and setting the playhead. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "live/live_internal.h"

static void text(fk_live_http *h, int c, int status, const char *msg) {
  fk_live_http_reply(h, c, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* "/frames/NNNNNN.png" -> k; only exactly that shape, so no path from the
 * request ever reaches the file system. */
static int frame_of(const char *path, size_t *k) {
  static const char prefix[] = "/frames/";
  if (strncmp(path, prefix, sizeof prefix - 1)) return 0;
  const char *d = path + sizeof prefix - 1;
  for (int i = 0; i < 6; i++)
    if (d[i] < '0' || d[i] > '9') return 0;
  if (strcmp(d + 6, ".png")) return 0;
  *k = (size_t)strtoul(d, NULL, 10);
  return 1;
}

static void send_frame(fk_live *l, fk_live_http *h, int c, size_t k) {
  char name[32], path[4300];
  fk_err e = {0};
  snprintf(name, sizeof name, "%06zu.png", k);
  if (!l->plan || fk_path_join(path, sizeof path, l->facts.frames_dir, name, &e))
    return text(h, c, 404, "no such frame\n");
  char *data;
  size_t len;
  if (fk_file_read(path, &data, &len, &e)) return text(h, c, 404, "no such frame (yet)\n");
  fk_live_http_reply(h, c, 200, "image/png", data, len);
  free(data);
}

static void set_playhead(fk_live *l, fk_live_http *h, int c, const char *query) {
  const char *v = strstr(query, "frame=");
  char *end;
  errno = 0;
  long k = v ? strtol(v + 6, &end, 10) : -1;
  if (!v || errno || end == v + 6 || k < 0)
    return text(h, c, 400, "POST /playhead?frame=N with N a frame number\n");
  size_t p = (size_t)k;
  if (l->plan && p >= l->last) p = l->last ? l->last - 1 : 0;
  if (l->plan && p < l->first) p = l->first;
  l->playhead = p;
  l->step = 0; /* look outwards from the new playhead */
  l->dirty = l->urgent = 1;
  text(h, c, 200, "ok\n");
}

void fk_live_route(void *ctx, fk_live_http *h, int c, const fk_live_request *rq) {
  fk_live *l = ctx;
  int get = !strcmp(rq->method, "GET");
  size_t k;
  if (!strcmp(rq->path, "/playhead")) {
    if (strcmp(rq->method, "POST")) return text(h, c, 405, "use POST /playhead?frame=N\n");
    return set_playhead(l, h, c, rq->query);
  }
  if (!get) return text(h, c, 405, "only GET, and POST /playhead\n");
  if (!strcmp(rq->path, "/") || !strcmp(rq->path, "/index.html")) {
    size_t len;
    const char *page = fk_live_page(&len);
    return fk_live_http_reply(h, c, 200, "text/html; charset=utf-8", page, len);
  }
  if (!strcmp(rq->path, "/state") || !strcmp(rq->path, "/events")) {
    fk_err e = {0};
    if (fk_live_state_json(l, &e)) return text(h, c, 503, e.msg);
    if (rq->path[1] == 's')
      return fk_live_http_reply(h, c, 200, "application/json", l->json.p, l->json.len);
    return fk_live_http_stream(h, c, l->json.p);
  }
  if (frame_of(rq->path, &k)) return send_frame(l, h, c, k);
  text(h, c, 404, "not found: the page is at /\n");
}
