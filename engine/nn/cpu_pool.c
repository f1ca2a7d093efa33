/* A small thread pool owned by a CPU backend: threads - 1 workers that
 * sleep on a condition variable between jobs (so they leave the cores to
 * OpenBLAS's own threads during sgemm), and the calling thread, which
 * works too. A job is a range split into chunks handed out by an atomic
 * counter, so uneven chunks balance themselves. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/cpu_internal.h"

#define MAX_THREADS 256

struct fk_cpu_pool {
  int threads;
  pthread_t tid[MAX_THREADS];
  int started; /* workers created */
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  int quit;
  /* the current job, written under mu before it is published */
  unsigned gen;
  fk_cpu_range_fn fn;
  void *ctx;
  size_t n, chunk, nchunks;
  /* (generation << 32) | next chunk: a worker that wakes late, after its
   * job is over, fails the generation check and claims nothing */
  _Atomic uint64_t next;
  atomic_size_t finished; /* chunks of the current job done */
};

typedef struct job {
  unsigned gen;
  fk_cpu_range_fn fn;
  void *ctx;
  size_t n, chunk, nchunks;
} job;

typedef struct worker_arg {
  fk_cpu_pool *p;
  int index;
} worker_arg;

/* Claims and runs chunks of job j until none is left. The caller never
 * waits for a worker to wake up, only for claimed chunks to finish, so a
 * worker the scheduler runs late (busy shared cores) costs nothing. */
static void run_chunks(fk_cpu_pool *p, const job *j, int worker) {
  for (;;) {
    uint64_t v = atomic_load(&p->next);
    size_t c;
    do {
      c = (size_t)(v & 0xffffffffu);
      if ((unsigned)(v >> 32) != j->gen || c >= j->nchunks) return;
    } while (!atomic_compare_exchange_weak(&p->next, &v, v + 1));
    size_t lo = c * j->chunk, hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
    j->fn(j->ctx, lo, hi, worker);
    if (atomic_fetch_add(&p->finished, 1) + 1 == j->nchunks) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

static void *worker_main(void *arg) {
  fk_cpu_pool *p = ((worker_arg *)arg)->p;
  int index = ((worker_arg *)arg)->index;
  free(arg);
  unsigned seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->gen == seen) pthread_cond_wait(&p->go, &p->mu);
    if (p->quit) break;
    job j = {p->gen, p->fn, p->ctx, p->n, p->chunk, p->nchunks};
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    run_chunks(p, &j, index);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Cores this process may run on (affinity masks and cgroup-pinned
 * containers), not the machine's total. */
static int online_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int fk_cpu_pool_new(int threads, fk_cpu_pool **out, fk_err *e) {
  *out = NULL;
  if (threads <= 0) {
    const char *env = getenv("FUNKY_THREADS");
    char *end = NULL;
    long v = env ? strtol(env, &end, 10) : 0;
    threads = env && end != env && *end == '\0' && v > 0 ? (int)v : online_cores();
  }
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  fk_cpu_pool *p = fk_zalloc(1, sizeof *p);
  if (!p) return fk_err_oom(e, "the CPU thread pool", sizeof *p);
  p->threads = threads;
  atomic_init(&p->next, 0);
  atomic_init(&p->finished, 0);
  if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->go, NULL) ||
      pthread_cond_init(&p->done, NULL)) {
    free(p);
    return fk_err_set(e, FK_EINTERNAL, "cannot initialise the CPU thread pool's locks");
  }
  for (int i = 1; i < threads; i++) {
    worker_arg *a = malloc(sizeof *a);
    int rc = a ? 0 : ENOMEM;
    if (a) {
      a->p = p;
      a->index = i;
      rc = pthread_create(&p->tid[i], NULL, worker_main, a);
      if (rc) free(a);
    }
    if (rc) {
      fk_cpu_pool_free(p);
      return fk_err_set(e, FK_EINTERNAL,
                        "cannot start CPU worker thread %d of %d (%s); set FUNKY_THREADS lower", i,
                        threads, strerror(rc));
    }
    p->started = i;
  }
  *out = p;
  return FK_OK;
}

void fk_cpu_pool_free(fk_cpu_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i <= p->started; i++) pthread_join(p->tid[i], NULL);
  pthread_cond_destroy(&p->go);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

int fk_cpu_pool_threads(const fk_cpu_pool *p) {
  return p->threads;
}

void fk_cpu_parallel_for(fk_cpu_pool *p, size_t n, size_t grain, fk_cpu_range_fn fn, void *ctx) {
  if (n == 0) return;
  if (grain < 1) grain = 1;
  /* a few chunks per thread so a slow one does not hold the rest */
  size_t want = (size_t)p->threads * 4, chunk = (n + want - 1) / want;
  if (chunk < grain) chunk = grain;
  size_t nchunks = (n + chunk - 1) / chunk;
  if (p->started == 0 || nchunks == 1) {
    fn(ctx, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  if (++p->gen == 0) p->gen = 1; /* workers start having seen 0 */
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->chunk = chunk;
  p->nchunks = nchunks;
  job j = {p->gen, fn, ctx, n, chunk, nchunks};
  atomic_store(&p->finished, 0);
  atomic_store(&p->next, (uint64_t)p->gen << 32);
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  run_chunks(p, &j, 0);
  pthread_mutex_lock(&p->mu);
  while (atomic_load(&p->finished) < nchunks) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
