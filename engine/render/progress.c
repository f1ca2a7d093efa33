#include "render/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double fk_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void fk_progress_start(fk_progress *p, size_t total, const char *label, int quiet) {
  p->total = total;
  p->done = 0;
  p->t0 = p->last = fk_now();
  p->tty = isatty(STDERR_FILENO);
  p->quiet = quiet;
  p->label = label;
}

static void print_line(fk_progress *p, double now, int final) {
  double el = now - p->t0, rate = el > 0 ? (double)p->done / el : 0;
  double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
  int m = (int)(eta / 60), s = (int)eta % 60;
  fprintf(stderr, "%s%s: frame %zu/%zu  %.2f frames/s  ETA %dm%02ds%s", p->tty ? "\r\033[K" : "",
          p->label, p->done, p->total, rate, m, s, p->tty && !final ? "" : "\n");
  fflush(stderr);
}

void fk_progress_step(fk_progress *p) {
  p->done++;
  if (p->quiet) return;
  double now = fk_now();
  /* A terminal gets ~10 updates a second; logs a line every 5 s. */
  double every = p->tty ? 0.1 : 5.0;
  if (now - p->last >= every || p->done == p->total) {
    p->last = now;
    print_line(p, now, p->done == p->total);
  }
}

void fk_progress_end(fk_progress *p) {
  if (p->quiet) return;
  if (p->done != p->total) print_line(p, fk_now(), 1);
}
