/* Progress on stderr: a rewritten line on a terminal, periodic plain lines
 * otherwise (logs, CI). */
#ifndef FK_RENDER_PROGRESS_H
#define FK_RENDER_PROGRESS_H

#include <stddef.h>

typedef struct fk_progress {
  size_t total, done;
  double t0, last;
  int tty, quiet;
  const char *label;
} fk_progress;

double fk_now(void); /* monotonic seconds */
void fk_progress_start(fk_progress *p, size_t total, const char *label, int quiet);
void fk_progress_step(fk_progress *p);
void fk_progress_end(fk_progress *p);

#endif
