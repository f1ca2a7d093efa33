/* The fast CPU backend's context: its thread pool, scratch buffers that
 * live as long as the backend, and a small cache of freed tensor buffers.
 * Everything the kernels keep between calls is here (no globals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/cpu_internal.h"

/* Cache limits: buffers below 64 KiB come cheaply from malloc's bins;
 * the whole cache stays under 256 MiB so it never dominates peak memory. */
#define CACHE_MIN ((size_t)64 << 10)
#define CACHE_MAX ((size_t)256 << 20)

int fk_cpu_new(int threads, size_t tile, int profile, fk_cpu **out, fk_err *e) {
  *out = NULL;
  fk_cpu *c = fk_zalloc(1, sizeof *c);
  if (!c) return fk_err_oom(e, "the CPU backend", sizeof *c);
  c->tile = tile ? tile : (size_t)1 << 20;
  const char *prof = getenv("FUNKY_PROFILE");
  c->profile = profile || (prof && !strcmp(prof, "1"));
  if (fk_cpu_pool_new(threads, &c->pool, e)) {
    free(c);
    return e->code;
  }
  *out = c;
  return FK_OK;
}

void fk_cpu_free(fk_cpu *c) {
  if (!c) return;
  if (c->nprof) {
    double total = 0;
    for (int i = 0; i < c->nprof; i++) total += c->prof[i].ms;
    fprintf(stderr, "CPU profile (wall ms per op kind):\n");
    for (int i = 0; i < c->nprof; i++)
      fprintf(stderr, "  %-16s %10.1f ms %5.1f%% %8lu calls\n", c->prof[i].op, c->prof[i].ms,
              100.0 * c->prof[i].ms / (total > 0 ? total : 1), c->prof[i].calls);
  }
  for (int i = 0; i < FK_CPU_SCRATCH; i++) free(c->scratch[i].p);
  for (int i = 0; i < c->ncache; i++) free(c->cache[i].p);
  fk_cpu_pool_free(c->pool);
  free(c);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

double fk_cpu_prof_start(const fk_cpu *c) {
  return c && c->profile ? now_ms() : 0;
}

void fk_cpu_prof_end(fk_cpu *c, const char *op, double t0) {
  if (!c || !c->profile) return;
  double dt = now_ms() - t0;
  int i = 0;
  while (i < c->nprof && strcmp(c->prof[i].op, op)) i++;
  if (i == c->nprof) {
    if (c->nprof == (int)(sizeof c->prof / sizeof c->prof[0])) return;
    c->prof[c->nprof++].op = op;
  }
  c->prof[i].ms += dt;
  c->prof[i].calls++;
}

float *fk_cpu_scratch(fk_cpu *c, int slot, size_t n) {
  fk_cpu_buf *b = &c->scratch[slot];
  if (b->bytes >= n * sizeof(float)) return b->p;
  free(b->p);
  b->p = fk_alloc(n, sizeof(float));
  b->bytes = b->p ? n * sizeof(float) : 0;
  return b->p;
}

void *fk_cpu_alloc(fk_cpu *c, size_t bytes) {
  for (int i = c->ncache - 1; i >= 0; i--)
    if (c->cache[i].bytes == bytes) {
      void *p = c->cache[i].p;
      c->cached -= bytes;
      c->cache[i] = c->cache[--c->ncache];
      return p;
    }
  return fk_alloc(bytes, 1);
}

void fk_cpu_release(fk_cpu *c, void *p, size_t bytes) {
  if (!p) return;
  if (bytes < CACHE_MIN || bytes > CACHE_MAX / 2) {
    free(p);
    return;
  }
  /* make room: drop the oldest entries */
  while (c->ncache > 0 && (c->ncache == FK_CPU_CACHE || c->cached + bytes > CACHE_MAX)) {
    free(c->cache[0].p);
    c->cached -= c->cache[0].bytes;
    for (int i = 1; i < c->ncache; i++) c->cache[i - 1] = c->cache[i];
    c->ncache--;
  }
  c->cache[c->ncache++] = (fk_cpu_buf){p, bytes};
  c->cached += bytes;
}
