/* funky bench audio: frames/s of the per-frame image path (onset spectrum,
 * log bins, noise field, blur) over the demo track with scripts/funky.lua's
 * settings, against the seed's numpy/PIL way (tests/reference/
 * bench_audio_ref.py, the same settings) timed in the same run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "cli/cli.h"
#include "core/file.h"
#include "image/noise.h"
#include "render/progress.h"

typedef struct bench_cfg {
  int w, h, frames, reference;
  double fps, window, blur, radius, floor_db;
  int bins, points;
} bench_cfg;

static int parse(int argc, char **argv, bench_cfg *c, fk_err *e) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end;
    if (!strcmp(a, "--no-reference")) {
      c->reference = 0;
    } else if (!strcmp(a, "--frames") && v) {
      long n = strtol(v, &end, 10);
      if (*end || n < 1) return fk_err_set(e, FK_EUSER, "--frames must be a positive number");
      c->frames = (int)n;
      i++;
    } else if (!strcmp(a, "--size") && v) {
      long w = strtol(v, &end, 10), h = *end == 'x' ? strtol(end + 1, &end, 10) : 0;
      if (*end || w < 1 || h < 1 || w > 8192 || h > 8192)
        return fk_err_set(e, FK_EUSER, "--size must be WxH within 1..8192, e.g. 512x512");
      c->w = (int)w;
      c->h = (int)h;
      i++;
    } else {
      return fk_err_set(e, FK_EUSER, "bench audio: unknown option '%s'; see funky --help", a);
    }
  }
  return FK_OK;
}

/* Runs the numpy/PIL reference; returns frames/s or a negative value. */
static double reference_fps(const bench_cfg *c, const char *wav, int frames) {
  const char *dir = getenv("FUNKY_SOURCE_DIR");
  char script[4300], cmd[9000];
  snprintf(script, sizeof script, "%s/tests/reference/bench_audio_ref.py",
           dir && *dir ? dir : FUNKY_SOURCE_DIR);
  if (access(script, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) return -1;
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 '%s' '%s' --fps %g --window %g --size %d %d --bins %d --points %d "
           "--radius %g --blur %g --floor-db %g --frames %d",
           script, wav, c->fps, c->window, c->w, c->h, c->bins, c->points, c->radius, c->blur,
           c->floor_db, frames);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char line[256] = "";
  int n = 0;
  double s = 0;
  while (fgets(line, sizeof line, p))
    if (sscanf(line, "frames=%d seconds=%lf", &n, &s) == 2) break;
  int rc = pclose(p);
  return rc == 0 && n > 0 && s > 0 ? n / s : -1;
}

int fk_cli_bench_audio(int argc, char **argv) {
  /* scripts/funky.lua's defaults */
  bench_cfg c = {.w = 512,
                 .h = 512,
                 .frames = 0,
                 .reference = 1,
                 .fps = 15,
                 .window = 0.05,
                 .blur = 2,
                 .radius = 1.5,
                 .floor_db = -48,
                 .bins = 90,
                 .points = 320};
  fk_err e = {0};
  if (parse(argc, argv, &c, &e)) return fk_cli_fail(&e);
  fk_song song;
  fk_frames fr;
  int64_t *bins = NULL;
  if (fk_audio_demo(&song, 44100, 100, 20, 1, &e)) return fk_cli_fail(&e);
  if (fk_audio_frames(&song, c.fps, c.window, &fr, &e) ||
      fk_bins_log(10, (double)fr.n_window / 2.0, (size_t)c.bins, &bins, &e)) {
    fk_audio_free(&song);
    return fk_cli_fail(&e);
  }
  size_t n = c.frames > 0 && (size_t)c.frames < fr.n_frames ? (size_t)c.frames : fr.n_frames;
  float *amps = fk_alloc((size_t)c.bins, sizeof *amps);
  fk_image img = {0};
  int scheme = FK_SCHEME_RAINBOW;
  fk_noise_cache cache = {0}; /* positions hashed once, as funky.noise.field keeps them */
  double t_spec = 0, t_field = 0, t_blur = 0;
  int rc = amps ? FK_OK : fk_err_oom(&e, "amplitudes", (size_t)c.bins * sizeof *amps);
  fk_spectrum *sp = NULL;
  float *mag = fk_alloc(fr.n_bins, sizeof *mag);
  if (!rc && !mag) rc = fk_err_oom(&e, "spectrum", fr.n_bins * sizeof *mag);
  if (!rc) rc = fk_spectrum_new(&sp, fr.n_window, &e);
  for (size_t k = 0; k < n && !rc; k++) {
    /* The spectrum is recomputed per frame (not taken from the precomputed
     * table) so its cost is in the measurement, as in the reference. */
    double t0 = fk_now();
    size_t s = fk_frames_chunk_start(song.rate, c.fps, k);
    fk_spectrum_run(sp, song.samples + s, song.n - s, mag);
    for (int b = 0; b < c.bins; b++) amps[b] = mag[bins[b]];
    double t1 = fk_now();
    fk_noise_cfg nc = {.w = c.w,
                       .h = c.h,
                       .amps = amps,
                       .n = (size_t)c.bins,
                       .colour = fk_colour_named,
                       .colour_ctx = &scheme,
                       .seed = 7,
                       .points_per_bin = c.points,
                       .radius = c.radius,
                       .norm = FK_NORM_DB,
                       .db_min = c.floor_db,
                       .db_max = 0,
                       .cache = &cache};
    /* The last frame is done with, and the field is blurred in place: a
     * pipeline with no further use for either keeps one image in cache. */
    fk_image_free(&img);
    rc = fk_noise_field(&nc, &img, &e);
    double t2 = fk_now();
    if (!rc) rc = fk_image_blur(&img, &img, c.blur, &e);
    double t3 = fk_now();
    t_spec += t1 - t0;
    t_field += t2 - t1;
    t_blur += t3 - t2;
  }
  double total = t_spec + t_field + t_blur;
  double ref = -1;
  char wav[] = "/tmp/funky-bench-XXXXXX.wav";
  if (!rc && c.reference) {
    int fd = mkstemps(wav, 4);
    if (fd >= 0) {
      close(fd);
      if (fk_audio_save_wav(&song, wav, 0, &e) == FK_OK) ref = reference_fps(&c, wav, (int)n);
      unlink(wav);
    }
  }
  fk_image_free(&img);
  fk_noise_cache_free(&cache);
  fk_spectrum_free(sp);
  free(mag);
  free(amps);
  free(bins);
  fk_frames_free(&fr);
  fk_audio_free(&song);
  if (rc) return fk_cli_fail(&e);
  double fps = (double)n / total;
  printf("funky bench audio: demo track, %zu frames at %dx%d, %d log bins x %d points, "
         "radius %g, %g dB floor, blur sigma %g (scripts/funky.lua's settings)\n\n",
         n, c.w, c.h, c.bins, c.points, c.radius, c.floor_db, c.blur);
  printf("| pipeline | ms/frame | frames/s | ratio |\n|---|---|---|---|\n");
  printf("| spectrum + bins | %.3f | | |\n", 1e3 * t_spec / (double)n);
  printf("| noise field | %.3f | | |\n", 1e3 * t_field / (double)n);
  printf("| blur | %.3f | | |\n", 1e3 * t_blur / (double)n);
  printf("| funky (total) | %.3f | %.1f | %s |\n", 1e3 * total / (double)n, fps,
         ref > 0 ? "" : "no baseline");
  if (ref > 0) {
    printf("| numpy/PIL (seed's way, same run) | %.3f | %.1f | 1.0 |\n", 1e3 / ref, ref);
    printf("\nfunky / numpy-PIL: %.1fx (target >= 50x)\n", fps / ref);
  } else if (c.reference) {
    printf("\nbaseline not measured: needs /usr/bin/python3 with numpy, scipy and PIL\n");
  }
  return 0;
}
