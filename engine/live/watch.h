/* Watching the recipe for saves. Editors save by writing a temporary file
 * and renaming it over the recipe (vim, VS Code, JetBrains) or by
 * truncating and rewriting it (nano): a watch on the file itself dies with
 * the first rename, so the watch is on the recipe's folder and filters by
 * name. One save is several events (create, write, close, move) spread over
 * a few milliseconds, so events only (re)arm a debounce timer; when it
 * expires the file is read and hashed, and a save that changed nothing
 * (":w" twice, a touch) is skipped. */
#ifndef FK_LIVE_WATCH_H
#define FK_LIVE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define FK_LIVE_DEBOUNCE 0.1 /* seconds of quiet after the last event */

typedef struct fk_live_watch {
  int fd;                   /* inotify; -1 when closed */
  char dir[4096];           /* the recipe's folder */
  char name[256];           /* the recipe's file name in it */
  char path[4400];          /* dir/name */
  double debounce;          /* seconds */
  double due;               /* when the debounce ends; 0: nothing pending */
  uint64_t hash;            /* content hash of the version last reported */
  int hashed;               /* hash is set */
  unsigned events, skipped; /* saves seen; of which had unchanged content */
} fk_live_watch;

/* Starts watching path's folder (the file need not exist yet). */
int fk_live_watch_open(fk_live_watch *w, const char *path, double debounce, fk_err *e);
void fk_live_watch_close(fk_live_watch *w);
/* Drains the inotify events (call when w->fd is readable); one naming the
 * recipe arms the debounce to end at now + debounce. */
int fk_live_watch_read(fk_live_watch *w, double now, fk_err *e);
/* (Re)arms the debounce as an event would (also for tests). */
void fk_live_watch_touch(fk_live_watch *w, double now);
/* Milliseconds until the debounce ends (>= 0), or -1 when none pending. */
int fk_live_watch_timeout_ms(const fk_live_watch *w, double now);
/* Once the debounce has ended: reads the recipe and sets *changed when its
 * content differs from the last version reported (the first read always
 * counts as a change). *changed = 0 when not due yet, or when the file is
 * missing for now (an editor between delete and write: the next event
 * brings it back). */
int fk_live_watch_check(fk_live_watch *w, double now, int *changed);
/* Content hash of a file's bytes, as fk_live_watch_check computes it. */
uint64_t fk_live_watch_hash(const void *data, size_t len);

#endif
