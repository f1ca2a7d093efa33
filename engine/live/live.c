/* The live loop: one thread, one poll() over the signals, the recipe's
 * folder and the page's connections; between polls, a bounded slice of
 * rendering. Only this thread touches Lua, so swapping in a new version is
 * a pointer assignment between two frames: atomic for the page. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "live/live_internal.h"
#include "render/progress.h"

#define LIVE_SEND_EVERY 0.1    /* seconds between state events while rendering */
#define LIVE_LOGGED_FAILURES 3 /* frame failures per version printed on stderr */

static const char *first_line(const char *msg, int *len) {
  const char *nl = strchr(msg, '\n');
  *len = nl ? (int)(nl - msg) : (int)strlen(msg);
  return msg;
}

static void set_error(fk_live *l, long frame, unsigned kept, const char *msg) {
  l->has_error = 1;
  l->error_frame = frame;
  l->error_kept = kept;
  snprintf(l->error, sizeof l->error, "%s", msg);
  fk_live_error_where(msg, l->o->render.recipe, l->where, sizeof l->where);
  l->dirty = l->urgent = 1;
}

/* The frame range of plan p under --frames. */
static int range_of(const fk_live *l, const fk_render_plan_facts *f, size_t *first, size_t *last,
                    fk_err *e) {
  const fk_render_opts *o = &l->o->render;
  *first = o->first >= 0 ? (size_t)o->first : 0;
  *last = o->last >= 0 && (size_t)o->last < f->count ? (size_t)o->last : f->count;
  if (*first >= *last)
    return fk_err_set(e, FK_EUSER, "--frames starts at %zu but the song has %zu frames", *first,
                      f->count);
  return FK_OK;
}

/* Makes room for count frames' status and keys; the keys of frames already
 * on disk stay, so the strip keeps showing them until they are redone. */
static int resize(fk_live *l, size_t count, fk_err *e) {
  unsigned char *s = calloc(count ? count : 1, 1);
  if (!s) return fk_err_oom(e, "the live frame table", count);
  if (count > l->n_keys) {
    char(*k)[40] = realloc(l->keys, count * sizeof *k);
    if (!k) {
      free(s);
      return fk_err_oom(e, "the live frame keys", count * sizeof *k);
    }
    memset(k + l->n_keys, 0, (count - l->n_keys) * sizeof *k);
    l->keys = k;
    l->n_keys = count;
  }
  free(l->status);
  l->status = s;
  return FK_OK;
}

/* Renders frame k of the live plan and records the outcome. */
static void render_frame(fk_live *l, size_t k) {
  fk_err e = {0};
  int cached = 0;
  char key[40];
  if (fk_render_plan_frame(l->plan, k, &cached, key, &e)) {
    l->status[k] = FRAME_FAILED;
    l->failed++;
    int n;
    const char *m = first_line(e.msg, &n);
    /* a bug that every frame hits would flood the terminal: the page counts */
    if (l->failed <= LIVE_LOGGED_FAILURES)
      fprintf(stderr, "funky live: frame %zu failed: %.*s%s\n", k, n, m,
              l->failed == LIVE_LOGGED_FAILURES ? " (further failures: see the page)" : "");
    if (!l->has_error) set_error(l, (long)k, 0, e.msg);
  } else {
    l->status[k] = FRAME_DONE;
    l->done++;
    if (cached)
      l->cached++;
    else
      l->rendered++;
    snprintf(l->keys[k], sizeof l->keys[k], "%s", key);
  }
  l->dirty = 1;
}

/* Loads the recipe into a fresh state and renders the playhead's frame
 * with it; swaps it in only when both work. */
static void reload(fk_live *l) {
  double t0 = fk_now();
  fk_err e = {0};
  fk_render_plan *p = NULL;
  fk_render_plan_facts f;
  size_t first = 0, last = 0;
  int cached = 0;
  char key[40];
  l->attempts++;
  if (fk_render_plan_open(&l->o->render, &p, &e) == FK_OK) {
    fk_render_plan_info(p, &f);
    if (range_of(l, &f, &first, &last, &e) == FK_OK) {
      size_t k = l->playhead < first ? first : l->playhead >= last ? last - 1 : l->playhead;
      if (fk_render_plan_frame(p, k, &cached, key, &e) == FK_OK &&
          resize(l, f.count, &e) == FK_OK) {
        /* the swap */
        fk_render_plan_close(l->plan);
        l->plan = p;
        l->facts = f;
        l->first = first;
        l->last = last;
        l->playhead = k;
        l->step = 0;
        l->version++;
        l->done = 1, l->failed = 0;
        l->rendered = !cached, l->cached = cached;
        l->status[k] = FRAME_DONE;
        snprintf(l->keys[k], sizeof l->keys[k], "%s", key);
        l->finished = l->done == last - first;
        l->has_error = 0;
        l->dirty = l->urgent = 1;
        snprintf(l->name, sizeof l->name, "%s", f.name);
        fprintf(stderr, "funky live: version %u is live (%zu frames at %dx%d, loaded in %.0f ms)\n",
                l->version, last - first, f.width, f.height, (fk_now() - t0) * 1000);
        return;
      }
    }
  }
  fk_render_plan_close(p);
  int n;
  const char *m = first_line(e.msg, &n);
  if (l->version)
    fprintf(stderr, "funky live: the new version fails, version %u stays live: %.*s\n", l->version,
            n, m);
  else
    fprintf(stderr, "funky live: the recipe fails (fix it and save): %.*s\n", n, m);
  set_error(l, -1, l->version, e.msg);
}

/* The next frame to look at: outwards from the playhead (k, k+1, k-1,
 * k+2, ...), skipping those done; 0 when none is left. */
static int next_frame(fk_live *l, size_t *k) {
  size_t span = l->last - l->first;
  for (; l->step <= 2 * span; l->step++) {
    size_t d = (l->step + 1) / 2;
    int after = l->step % 2 == 1 || l->step == 0;
    if (after ? l->playhead + d >= l->last : l->playhead < l->first + d) continue;
    size_t c = after ? l->playhead + d : l->playhead - d;
    if (l->status[c] == FRAME_TODO) {
      *k = c;
      return 1;
    }
  }
  return 0;
}

/* Renders for up to the budget (at least one frame) and reports when the
 * version is complete. */
static void render_some(fk_live *l) {
  if (!l->plan || l->finished) return;
  double t0 = fk_now(), budget = l->o->budget > 0 ? l->o->budget : 0.05;
  size_t k;
  do {
    if (!next_frame(l, &k)) {
      l->finished = 1;
      l->dirty = l->urgent = 1;
      fprintf(stderr,
              "funky live: version %u: %zu frames up to date (%zu rendered, %zu from the cache, "
              "%zu failed), %.2f s after the save\n",
              l->version, l->done, l->rendered, l->cached, l->failed, fk_now() - l->t_save);
      return;
    }
    render_frame(l, k);
  } while (fk_now() - t0 < budget);
}

static void send_state(fk_live *l, double now) {
  if (!l->dirty || (!l->urgent && now - l->last_sent < LIVE_SEND_EVERY)) return;
  fk_err e = {0};
  if (fk_live_state_json(l, &e)) {
    fprintf(stderr, "funky live: cannot update the page: %s\n", e.msg);
    return;
  }
  fk_live_http_broadcast(&l->http, l->json.p);
  l->dirty = l->urgent = 0;
  l->last_sent = now;
}

static int poll_timeout(const fk_live *l, double now) {
  if (l->plan && !l->finished) return 0; /* rendering: just look, don't wait */
  int t = fk_live_watch_timeout_ms(&l->watch, now);
  if (l->dirty) {
    int s = (int)((l->last_sent + LIVE_SEND_EVERY - now) * 1000) + 1;
    if (s < 0) s = 0;
    if (t < 0 || s < t) t = s;
  }
  return t < 0 || t > 1000 ? 1000 : t;
}

/* SIGINT/SIGTERM/SIGHUP arrive through a signalfd that poll() watches:
 * no global flag. They are blocked on this (the main) thread, but threads
 * started before main (OpenBLAS's pool) do not block them, and the kernel
 * hands a process signal to any thread that accepts it; so a handler,
 * which runs only on such a thread, re-sends the signal to the main thread
 * (its thread id is the process id), where it waits for the signalfd. */
static void forward(int sig) {
  int saved = errno;
  syscall(SYS_tgkill, getpid(), getpid(), sig);
  errno = saved;
}

static const int live_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_SIGNALS (sizeof live_signals / sizeof live_signals[0])

typedef struct saved_signals {
  sigset_t mask;
  struct sigaction act[N_SIGNALS];
} saved_signals;

static void close_signals(int fd, saved_signals *old) {
  if (fd >= 0) close(fd);
  for (size_t i = 0; i < N_SIGNALS; i++) sigaction(live_signals[i], &old->act[i], NULL);
  sigprocmask(SIG_SETMASK, &old->mask, NULL);
}

static int open_signals(saved_signals *old, fk_err *e) {
  if (syscall(SYS_gettid) != getpid()) {
    fk_err_set(e, FK_EINTERNAL, "live: fk_live_run must run on the main thread");
    return -1;
  }
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < N_SIGNALS; i++) sigaddset(&set, live_signals[i]);
  if (sigprocmask(SIG_BLOCK, &set, &old->mask) != 0) {
    fk_err_set(e, FK_EINTERNAL, "live: sigprocmask failed: %s", strerror(errno));
    return -1;
  }
  struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < N_SIGNALS; i++)
    if (sigaction(live_signals[i], &sa, &old->act[i]) != 0) {
      fk_err_set(e, FK_EINTERNAL, "live: sigaction failed: %s", strerror(errno));
      close_signals(-1, old);
      return -1;
    }
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    fk_err_set(e, FK_EINTERNAL, "live: signalfd failed: %s", strerror(errno));
    close_signals(-1, old);
  }
  return fd;
}

static int serve(fk_live *l, fk_err *e) {
  struct pollfd p[2 + 1 + FK_LIVE_HTTP_MAX_CONN];
  l->watch.due = fk_now(); /* the first load, at once */
  l->t_save = fk_now();
  for (;;) {
    double now = fk_now();
    p[0] = (struct pollfd){.fd = l->sigfd, .events = POLLIN};
    p[1] = (struct pollfd){.fd = l->watch.fd, .events = POLLIN};
    size_t n = 2 + fk_live_http_pollfds(&l->http, p + 2);
    int rc = poll(p, n, poll_timeout(l, now));
    if (rc < 0 && errno != EINTR)
      return fk_err_set(e, FK_EINTERNAL, "live: poll failed: %s", strerror(errno));
    now = fk_now();
    if (rc > 0 && (p[0].revents & POLLIN)) {
      /* Readable may still read nothing: another thread took the signal
       * first, and forward() re-sends it here. Stop only on a real one. */
      struct signalfd_siginfo si;
      if (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        fprintf(stderr, "funky live: stopped by signal %u\n", si.ssi_signo);
        return FK_OK;
      }
    }
    if (rc > 0 && (p[1].revents & POLLIN)) {
      int idle = l->watch.due <= 0;
      if (fk_live_watch_read(&l->watch, now, e)) return e->code;
      if (idle && l->watch.due > 0) l->t_save = now; /* the first event of a save */
    }
    if (rc > 0) fk_live_http_service(&l->http, p + 2, n - 2);
    int changed = 0;
    fk_live_watch_check(&l->watch, now, &changed);
    if (changed) reload(l);
    render_some(l);
    send_state(l, fk_now());
  }
}

int fk_live_run(const fk_live_opts *o, fk_err *e) {
  fk_live *l = calloc(1, sizeof *l);
  if (!l) return fk_err_oom(e, "the live session", sizeof *l);
  l->o = o;
  l->sigfd = -1;
  l->watch.fd = -1;
  l->http.fd = -1;
  saved_signals old;
  int rc = FK_OK;
  if ((l->sigfd = open_signals(&old, e)) < 0) {
    free(l);
    return e->code;
  }
  if (fk_live_watch_open(&l->watch, o->render.recipe, o->debounce, e) ||
      fk_live_http_open(&l->http, o->port, fk_live_route, l, e)) {
    rc = e->code;
  } else {
    fprintf(stderr, "funky live: serving http://127.0.0.1:%d/ for %s (Ctrl-C stops)\n",
            l->http.port, o->render.recipe);
    rc = serve(l, e);
  }
  fk_live_http_close(&l->http);
  fk_live_watch_close(&l->watch);
  fk_render_plan_close(l->plan);
  close_signals(l->sigfd, &old);
  free(l->status);
  free(l->keys);
  fk_live_buf_free(&l->json);
  free(l);
  return rc;
}
