/* `funky render`: runs a recipe, calls its frame(f) for every frame in the
 * range, writes frames atomically, muxes the video. */
#ifndef FK_RENDER_RENDER_H
#define FK_RENDER_RENDER_H

#include <stddef.h>

#include "core/error.h"

typedef struct fk_render_opts {
  const char *recipe;
  const char *out_dir;     /* NULL: out/<recipe name> */
  const char *const *sets; /* "key=value" parameter overrides */
  size_t n_sets;
  long first, last;        /* frame range [first, last); -1 = start / end */
  int quiet;               /* no progress lines */
  int no_video;            /* frames only */
  int trusted;             /* --trust: no sandbox */
  double max_instructions; /* sandbox budgets (0: defaults) */
  size_t max_memory;
  const char *const *allow; /* --allow DIR: more folders the recipe may read */
  size_t n_allow;
  int shard, shards;  /* --shard i/n: this process renders the i-th of n equal
                       * slices of the range (shards = 0: all of it), no video */
  int assemble;       /* --assemble: render nothing; mux once every frame of the
                       * range is in the cache, else name the missing ones */
  int size_w, size_h; /* funky live's preview: draw at this size instead of the
                       * timeline's (0: the timeline's) ... */
  int size_max;       /* ... or scale the timeline's size down so its longer side is
                       * at most this many pixels (a multiple of 8; 0: no limit) */
} fk_render_opts;

typedef struct fk_render_result {
  size_t frames;                      /* frames in the range */
  size_t cached;                      /* of which the frame cache already had */
  double seconds;                     /* wall time of the frame loop */
  char video[4096];                   /* path of the video, "" if none */
  char model[1024];                   /* the timeline's model, "" if none */
  size_t first, last;                 /* the frames this process rendered: [first, last) */
  size_t failed;                      /* frames whose frame(f) or diffusion raised an error */
  int factor;                         /* timeline.interpolate's factor (0: none) */
  size_t interpolated, interp_cached; /* in-betweens made, and from the cache */
} fk_render_result;

int fk_render(const fk_render_opts *o, fk_render_result *r, fk_err *e);

/* A recipe loaded up to its plan in its own Lua state (sandboxed unless
 * o->trusted), from which frames are rendered one at a time through the
 * frame cache: fk_render's loop, and funky live, which keeps one plan per
 * version of the recipe. */
typedef struct fk_render_plan fk_render_plan;
typedef struct fk_render_plan_facts {
  size_t count; /* frames in the song */
  double fps;
  int width, height;      /* of every frame */
  const char *frames_dir; /* where frame k is NNNNNN.png, its cache key NNNNNN.key */
  const char *model;      /* the timeline's model, "" for the noise-field preview */
  const char *name;       /* the recipe's declared name */
} fk_render_plan_facts;
/* Runs the recipe's declarations and plan; frames go to
 * (o->out_dir or out/<recipe>)/frames. Errors carry file:line. */
int fk_render_plan_open(const fk_render_opts *o, fk_render_plan **p, fk_err *e);
void fk_render_plan_close(fk_render_plan *p);
/* The plan's facts; the strings live as long as the plan. */
void fk_render_plan_info(const fk_render_plan *p, fk_render_plan_facts *f);
/* Renders frame k (from 0) unless the frame cache holds it with the same
 * key: *cached says which, key gets the frame's cache key (hex). */
int fk_render_plan_frame(fk_render_plan *p, size_t k, int *cached, char key[40], fk_err *e);
/* funky recipe info: runs the recipe's declarations (sandboxed unless
 * o->trusted) and writes its metadata and parameter table into out. */
int fk_render_info(const fk_render_opts *o, char *out, size_t n, fk_err *e);
/* Parses "A:B", "A:" or ":B" into first/last (-1 for an open end). */
int fk_render_parse_range(const char *s, long *first, long *last, fk_err *e);
/* Parses "i/n" (0 <= i < n) or "auto": a Slurm job array
 * (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT) or
 * a Kubernetes Indexed Job (JOB_COMPLETION_INDEX of FUNKY_SHARDS, which the
 * job sets to its completions). */
int fk_render_parse_shard(const char *s, int *shard, int *shards, fk_err *e);

#endif
