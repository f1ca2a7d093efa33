/* funky bench interp: one in-between frame (t = 0.5) of FILM or RIFE,
 * whichever the file holds, at a size, on the current device: load, first
 * pass (compiles pipelines), steady passes, GFLOP/s (the convolutions'
 * work counted from the architecture) and peak memory; then the same
 * network in Debian's torch on the CPU (tests/reference/film_ref.py or
 * rife_ref.py) over as many threads as lavapipe uses. One table for both
 * families, so their numbers compare line by line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "interp/interp.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_size(const char *s, int *w, int *h) {
  char *end;
  long a = strtol(s, &end, 10);
  if (end == s || *end != 'x') return -1;
  const char *p = end + 1;
  long b = strtol(p, &end, 10);
  if (end == p || *end || a < 1 || b < 1 || a > 8192 || b > 8192) return -1;
  *w = (int)a;
  *h = (int)b;
  return 0;
}

/* ms per frame of tests/reference/<family>_ref.py at the network's size,
 * or a negative value. */
static double reference_ms(const char *family, const char *model, int w, int h, int reps,
                           long threads) {
  const char *dir = getenv("FUNKY_SOURCE_DIR");
  char script[4300], cmd[9000];
  snprintf(script, sizeof script, "%s/tests/reference/%s_ref.py",
           dir && *dir ? dir : FUNKY_SOURCE_DIR, family);
  if (access(script, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0 || strchr(model, '\''))
    return -1;
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 '%s' --weights '%s' --bench %d %d --reps %d --threads %ld 2>/dev/null",
           script, model, w, h, reps, threads);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char line[256];
  double ms = -1;
  while (fgets(line, sizeof line, p))
    if (sscanf(line, "ms_per_frame=%lf", &ms) == 1) break;
  return pclose(p) == 0 ? ms : -1;
}

int fk_cli_bench_interp(int argc, char **argv) {
  const char *model = NULL;
  fk_nn_opts o = {.kind = FK_NN_VULKAN};
  int w = 512, h = 512, f16 = 1, reps = 3, align = FK_INTERP_ALIGN, reference = 1;
  fk_err e = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (!strcmp(a, "--model") && more) {
      model = argv[++i];
    } else if (!strcmp(a, "--size") && more) {
      if (parse_size(argv[++i], &w, &h)) {
        fk_err_set(&e, FK_EUSER, "bench interp: --size is WxH, e.g. 512x512 or 1920x1080");
        return fk_cli_fail(&e);
      }
    } else if (!strcmp(a, "--device") && more) {
      if (fk_cli_device_opts(argv[++i], &o, &e)) return fk_cli_fail(&e);
    } else if (!strcmp(a, "--f32")) {
      f16 = 0;
    } else if (!strcmp(a, "--no-pad")) {
      align = 0;
    } else if (!strcmp(a, "--no-reference")) {
      reference = 0;
    } else if (!strcmp(a, "--reps") && more) {
      char *end;
      long r = strtol(argv[++i], &end, 10);
      reps = *end || r < 1 || r > 100 ? 0 : (int)r;
    } else {
      fk_err_set(&e, FK_EUSER, "bench interp: unknown option '%s'; see funky --help", a);
      return fk_cli_fail(&e);
    }
  }
  if (!model || reps < 1) {
    fk_err_set(&e, FK_EUSER,
               "bench interp: --model PATH (FILM or RIFE .safetensors: see "
               "models/convert_interpolator.py, or funky model random --family rife) is "
               "required; --reps takes 1..100");
    return fk_cli_fail(&e);
  }
  fk_nn *nn = NULL;
  fk_interp_net net = {0};
  size_t n = (size_t)3 * (size_t)w * (size_t)h;
  float *a = fk_alloc(n, sizeof *a), *b = fk_alloc(n, sizeof *b), *out = fk_alloc(n, sizeof *out);
  int rc = a && b && out ? FK_OK : fk_err_oom(&e, "frames", 3 * n * sizeof *a);
  /* a pattern and the same pattern moved a few pixels: real flows */
  for (size_t i = 0; !rc && i < n; i++) {
    size_t x = i % (size_t)w, y = i / (size_t)w % (size_t)h;
    a[i] = (float)((x * 7 + y * 3) % 97) / 97.0f;
    b[i] = (float)(((x + 3) * 7 + (y + 2) * 3) % 97) / 97.0f;
  }
  double t0 = now(), load = 0, first = 0, steady = 0;
  if (!rc) rc = fk_nn_open(&o, &nn, &e);
  if (!rc) rc = fk_interp_load(nn, model, f16, &net, &e);
  load = now() - t0;
  for (int r = 0; r <= reps && !rc; r++) {
    t0 = now();
    rc = fk_interp_between(&net, a, b, h, w, 0.5f, align, out, &e);
    if (r == 0)
      first = now() - t0;
    else
      steady += now() - t0;
  }
  if (!rc) {
    int ph, pw;
    fk_interp_padded(&net, h, w, align, &ph, &pw);
    const char *family = fk_interp_model(&net);
    double gf = fk_interp_gflop(&net, ph, pw), per = steady / reps;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("funky bench interp: %s (%s), %dx%d (network at %dx%d), t = 0.5, %s, %s storage\n\n",
           model, net.rife ? "RIFE v4.6" : "FILM", w, h, pw, ph, fk_nn_name(nn),
           fk_interp_dtype(&net) == FK_NN_F16 ? "f16" : "f32");
    printf("| stage | ms | GFLOP | GFLOP/s |\n|---|---|---|---|\n");
    printf("| load (%.0f MB on the device) | %.0f | | |\n", (double)fk_interp_bytes(&net) / 1e6,
           load * 1e3);
    printf("| in-between frame, first (compiles pipelines) | %.0f | %.1f | %.1f |\n", first * 1e3,
           gf, gf / first);
    printf("| in-between frame, steady (mean of %d) | %.0f | %.1f | %.1f |\n", reps, per * 1e3, gf,
           gf / per);
    printf("\npeak RSS %.0f MB (the CPU backend's activations live there); device memory "
           "high-water mark %.0f MB\n",
           (double)ru.ru_maxrss / 1024.0, (double)fk_nn_device_peak(nn) / 1e6);
    /* torch gets the cores this backend computes on: lavapipe's threads,
     * or the CPU backend's pool */
    const char *lp = getenv("LP_NUM_THREADS");
    long threads = fk_nn_kind_of(nn) == FK_NN_CPU ? fk_nn_threads(nn)
                   : lp                           ? strtol(lp, NULL, 10)
                                                  : 0;
    if (threads < 1) threads = sysconf(_SC_NPROCESSORS_ONLN);
    double ref = reference ? reference_ms(family, model, pw, ph, reps, threads) : -1;
    if (ref > 0)
      printf("baseline: torch on the CPU (tests/reference/%s_ref.py, %ld threads) %.0f ms per "
             "frame, %.1f GFLOP/s; funky is %.2fx its speed\n",
             family, threads, ref, gf / (ref / 1e3), ref / (per * 1e3));
    else if (reference)
      printf("baseline not measured: needs /usr/bin/python3 with torch (python3-torch)\n");
  }
  fk_interp_free(&net);
  fk_nn_close(nn);
  free(a);
  free(b);
  free(out);
  return rc ? fk_cli_fail(&e) : 0;
}
