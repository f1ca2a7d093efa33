/* The live session's state, shared by live.c (the loop), routes.c (the
 * HTTP handler) and state.c (the state as JSON). One struct, no globals. */
#ifndef FK_LIVE_INTERNAL_H
#define FK_LIVE_INTERNAL_H

#include "live/buf.h"
#include "live/http.h"
#include "live/live.h"
#include "live/watch.h"

enum { FRAME_TODO = 0, FRAME_DONE = 1, FRAME_FAILED = 2 };

#define LIVE_STRIP_BEFORE 2 /* frames shown before the playhead */
#define LIVE_STRIP_LEN 12

typedef struct fk_live {
  const fk_live_opts *o;
  fk_live_watch watch;
  fk_live_http http;
  int sigfd;
  char name[256]; /* the recipe's declared name */

  /* the live version (plan NULL until one loads) */
  fk_render_plan *plan;
  fk_render_plan_facts facts;
  size_t first, last;    /* the frame range rendered */
  unsigned version;      /* good versions so far */
  unsigned attempts;     /* loads tried */
  unsigned char *status; /* FRAME_* per frame of the song */
  char (*keys)[40];      /* cache key of the frame on disk, "" unknown */
  size_t n_keys;
  size_t done, rendered, cached, failed; /* of this version */
  size_t playhead, step; /* the next frame to look at is step (0, +1, -1, +2, ...) away */
  double t_save;         /* when the save that made this version happened */
  int finished;          /* every frame of the range is done or failed */

  /* the error on the page */
  int has_error;
  long error_frame;    /* -1: loading or validation */
  unsigned error_kept; /* the version that stayed live, 0 none */
  char error[1024];    /* the message with its traceback */
  char where[512];     /* file:line */

  int dirty, urgent; /* the state changed since last sent; send at once */
  double last_sent;
  fk_live_buf json;
} fk_live;

/* Writes the state as one line of JSON into l->json. */
int fk_live_state_json(fk_live *l, fk_err *e);
/* The HTTP handler (routes.c). */
void fk_live_route(void *ctx, fk_live_http *h, int c, const fk_live_request *rq);

#endif
