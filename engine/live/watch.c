#include "live/watch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/file.h"
#include "core/hash.h"

int fk_live_watch_open(fk_live_watch *w, const char *path, double debounce, fk_err *e) {
  memset(w, 0, sizeof *w);
  w->fd = -1;
  w->debounce = debounce > 0 ? debounce : FK_LIVE_DEBOUNCE;
  fk_path_dir(path, w->dir, sizeof w->dir);
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!*name || strlen(name) >= sizeof w->name)
    return fk_err_set(e, FK_EUSER, "live: '%s' does not name a recipe file", path);
  snprintf(w->name, sizeof w->name, "%s", name);
  snprintf(w->path, sizeof w->path, "%s", path);
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0)
    return fk_err_set(e, FK_EINTERNAL,
                      "live: inotify_init1 failed: %s (raise fs.inotify.max_user_instances?)",
                      strerror(errno));
  /* Every way a save can land: written in place (CLOSE_WRITE), renamed
   * over (MOVED_TO), created anew or deleted (the next write follows). */
  uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY;
  if (inotify_add_watch(w->fd, w->dir, mask) < 0) {
    int err = errno;
    fk_live_watch_close(w);
    return fk_err_set(e, FK_EUSER, "live: cannot watch the folder '%s': %s%s", w->dir,
                      strerror(err), err == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
  }
  return FK_OK;
}

void fk_live_watch_close(fk_live_watch *w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
}

void fk_live_watch_touch(fk_live_watch *w, double now) {
  w->due = now + w->debounce;
  w->events++;
}

int fk_live_watch_read(fk_live_watch *w, double now, fk_err *e) {
  /* aligned as inotify_event needs; room for several events per read */
  char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
      __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return FK_OK;
    if (n <= 0)
      return fk_err_set(e, FK_EINTERNAL, "live: reading inotify events failed: %s",
                        n < 0 ? strerror(errno) : "end of file");
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      /* an overflowed queue may have lost the recipe's event: look anyway */
      if ((ev->mask & IN_Q_OVERFLOW) || (ev->len && !strcmp(ev->name, w->name)))
        fk_live_watch_touch(w, now);
      if (ev->mask & IN_IGNORED)
        return fk_err_set(e, FK_EUSER,
                          "live: the recipe's folder '%s' went away; start funky live again",
                          w->dir);
      p += sizeof *ev + ev->len;
    }
  }
}

int fk_live_watch_timeout_ms(const fk_live_watch *w, double now) {
  if (w->due <= 0) return -1;
  double left = w->due - now;
  return left <= 0 ? 0 : (int)(left * 1000.0) + 1;
}

uint64_t fk_live_watch_hash(const void *data, size_t len) {
  return fk_hash_bytes(data, len, 0x6c697665ull); /* "live" */
}

int fk_live_watch_check(fk_live_watch *w, double now, int *changed) {
  *changed = 0;
  if (w->due <= 0 || now < w->due) return FK_OK;
  w->due = 0;
  char *data;
  size_t len;
  fk_err ignored = {0};
  if (fk_file_read(w->path, &data, &len, &ignored)) return FK_OK; /* gone for now */
  uint64_t h = fk_live_watch_hash(data, len);
  free(data);
  if (w->hashed && h == w->hash) {
    w->skipped++;
    return FK_OK;
  }
  w->hash = h;
  w->hashed = 1;
  *changed = 1;
  return FK_OK;
}
