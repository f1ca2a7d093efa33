/* Per-frame features on signals whose answers are known: click tracks
 * (tempo, beats, onsets), sines (RMS, bands) and silence (no NaN, no beats). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/features.h"
#include "check.h"
#include "core/hash.h"

#define RATE 44100
#define PI 3.14159265358979323846

static const fk_band BANDS[] = {{20, 150}, {150, 2000}, {2000, 8000}};

static float *alloc_song(fk_song *s, double seconds, const char *name) {
  memset(s, 0, sizeof *s);
  s->rate = RATE;
  s->channels = 1;
  s->n = (size_t)(seconds * RATE);
  s->samples = calloc(s->n, sizeof(float));
  snprintf(s->name, sizeof s->name, "%s", name);
  return s->samples;
}

/* Clicks (a 1 kHz burst decaying in ~5 ms plus a little hashed noise) at
 * every beat of bpm from `first` seconds, over a quiet noise floor. */
static void click_track(fk_song *s, double bpm, double seconds, double first, double stop) {
  float *x = alloc_song(s, seconds, "clicks");
  for (size_t i = 0; i < s->n; i++)
    x[i] = 0.002f * (float)((double)(fk_hash3(7, i, 0) >> 11) / 4503599627370496.0 - 1.0);
  for (double t0 = first; t0 < stop; t0 += 60.0 / bpm) {
    size_t start = (size_t)llround(t0 * RATE);
    for (size_t i = 0; i < (size_t)(0.03 * RATE) && start + i < s->n; i++) {
      double t = (double)i / RATE;
      x[start + i] += (float)(0.8 * sin(2 * PI * 1000.0 * t) * exp(-t / 0.005));
    }
  }
}

static int all_finite_f(const float *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

static double nearest(const double *v, size_t n, double t) {
  double best = INFINITY;
  for (size_t i = 0; i < n; i++)
    if (fabs(v[i] - t) < fabs(best)) best = v[i] - t;
  return best;
}

static void test_clicks(double bpm) {
  fk_song s;
  const double first = 0.25, seconds = 30.0, period = 60.0 / bpm;
  click_track(&s, bpm, seconds, first, seconds);
  fk_features_cfg cfg = {.fps = 15, .bands = BANDS, .n_bands = 3};
  fk_features f;
  fk_err e = {0};
  CHECK(fk_features_compute(&s, &cfg, &f, &e) == 0, "clicks %g: %s", bpm, e.msg);
  CHECK(fabs(f.tempo - bpm) <= 0.02 * bpm, "tempo %.3f for clicks at %g BPM", f.tempo, bpm);
  printf("clicks at %g BPM: tempo %.3f (%.3f%%), %zu beats, %zu onsets\n", bpm, f.tempo,
         100.0 * (f.tempo - bpm) / bpm, f.n_beats, f.n_onsets);

  /* Every beat after 2 s is on a click, and every click after 2 s (bar the
   * last beat, which the tracker may drop at the end) has a beat. */
  size_t n_late = 0, n_off = 0;
  double worst = 0, mean_off = 0;
  for (size_t i = 0; i < f.n_beats; i++) {
    if (f.beats[i] < 2.0) continue;
    n_late++;
    double k = floor((f.beats[i] - first) / period + 0.5), d = f.beats[i] - (first + k * period);
    if (fabs(d) > fabs(worst)) worst = d;
    if (fabs(d) > 0.025) n_off++;
    mean_off += d / (double)f.n_beats;
  }
  printf("  beat offsets after 2 s: worst %.1f ms, mean %.1f ms\n", worst * 1e3, mean_off * 1e3);
  CHECK(n_off == 0, "%zu of %zu beats more than 25 ms off a click at %g BPM", n_off, n_late, bpm);
  size_t clicks = 0, missed = 0;
  for (double t0 = first; t0 < seconds - period; t0 += period) {
    if (t0 < 2.0) continue;
    clicks++;
    if (fabs(nearest(f.beats, f.n_beats, t0)) > 0.025) missed++;
  }
  CHECK(missed <= 1, "%zu of %zu clicks without a beat at %g BPM", missed, clicks, bpm);

  /* Onsets: one per click, each within 25 ms of it. */
  size_t onset_missed = 0, onset_extra = 0;
  for (double t0 = first; t0 < seconds - 0.1; t0 += period)
    if (fabs(nearest(f.onset_times, f.n_onsets, t0)) > 0.025) onset_missed++;
  for (size_t i = 0; i < f.n_onsets; i++) {
    /* The noise floor starting at 0 s is itself an onset. */
    if (i == 0 && f.onset_times[i] < first - 0.025) continue;
    double k = floor((f.onset_times[i] - first) / period + 0.5);
    if (fabs(f.onset_times[i] - (first + k * period)) > 0.025) {
      onset_extra++;
      printf("  onset at %.4f s is %.1f ms off a click\n", f.onset_times[i],
             1e3 * (f.onset_times[i] - (first + k * period)));
    }
  }
  CHECK(onset_missed == 0, "%zu clicks without an onset at %g BPM", onset_missed, bpm);
  CHECK(onset_extra == 0, "%zu onsets away from the clicks at %g BPM", onset_extra, bpm);

  /* Per-frame values: sizes, ranges, the grid following the beats. */
  CHECK(f.n_frames == (size_t)ceil(seconds * 15 - 1e-9), "%zu frames for %g s at 15 fps",
        f.n_frames, seconds);
  float onset_max = 0;
  int ranges_ok = 1, index_ok = 1;
  for (size_t k = 0; k < f.n_frames; k++) {
    onset_max = f.onset[k] > onset_max ? f.onset[k] : onset_max;
    if (!(f.onset[k] >= 0 && f.onset[k] <= 1 && f.beat_phase[k] >= 0 && f.beat_phase[k] < 1 &&
          f.bar_phase[k] >= 0 && f.bar_phase[k] < 1))
      ranges_ok = 0;
    double t = (double)k / 15.0;
    int expect = -1;
    for (size_t i = 0; i < f.n_beats; i++)
      if (f.beats[i] <= t + 1e-9) expect = (int)i;
    if (f.beat_index[k] != expect) index_ok = 0;
  }
  CHECK_NEAR(onset_max, 1.0, 1e-6);
  CHECK(ranges_ok, "onset, beat_phase or bar_phase outside [0, 1) at %g BPM", bpm);
  CHECK(index_ok, "beat_index is not the last beat at or before the frame at %g BPM", bpm);
  /* Half way between two beats, the beat phase is one half. */
  if (f.n_beats > 10) {
    double t = 0.5 * (f.beats[8] + f.beats[9]);
    size_t k = (size_t)ceil(t * 15.0);
    double expect = ((double)k / 15.0 - f.beats[8]) / (f.beats[9] - f.beats[8]);
    if (expect < 1) CHECK_NEAR(f.beat_phase[k], expect, 1e-4);
    CHECK_NEAR(f.bar_phase[k], ((8 % 4) + f.beat_phase[k]) / 4.0, 1e-5);
  }
  fk_features_free(&f);
  free(s.samples);
}

/* Clicks that stop: beats end with them, the index stays on the last real
 * beat while the phases keep running at the tempo. */
static void test_clicks_stop(void) {
  fk_song s;
  const double bpm = 110, period = 60.0 / bpm;
  click_track(&s, bpm, 12.0, 0.5, 7.0);
  fk_features_cfg cfg = {.fps = 20};
  fk_features f;
  fk_err e = {0};
  CHECK(fk_features_compute(&s, &cfg, &f, &e) == 0, "clicks that stop: %s", e.msg);
  CHECK(fabs(f.tempo - bpm) <= 0.02 * bpm, "tempo %g for clicks at %g", f.tempo, bpm);
  CHECK(f.n_beats > 5 && f.beats[f.n_beats - 1] < 7.0, "%zu beats, the last at %g s", f.n_beats,
        f.n_beats ? f.beats[f.n_beats - 1] : -1.0);
  int ok = 1;
  for (size_t k = 0; k < f.n_frames; k++) {
    double t = (double)k / 20.0;
    if (t < 8.0) continue;
    ok &= f.beat_index[k] == (int)f.n_beats - 1;
    double x = (t - f.beats[f.n_beats - 1]) / period;
    double d = fabs(f.beat_phase[k] - (x - floor(x)));
    ok &= d < 0.03 || d > 0.97;
  }
  CHECK(ok, "beat index or phase after the last beat");
  fk_features_free(&f);
  free(s.samples);
}

static void test_sine(void) {
  fk_song s;
  float *x = alloc_song(&s, 3.0, "sine");
  /* A 50 ms fade in and out: no click at the ends to light up other bands. */
  for (size_t i = 0; i < s.n; i++) {
    double t = (double)i / RATE, fade = fmin(1.0, fmin(t, 3.0 - t) / 0.05);
    x[i] = (float)(0.5 * sin(2 * PI * 440.0 * t) * fade);
  }
  /* 10 fps: every chunk holds whole periods of 440 Hz, so its RMS is exact. */
  fk_features_cfg cfg = {.fps = 10, .bands = BANDS, .n_bands = 3};
  fk_features f;
  fk_err e = {0};
  CHECK(fk_features_compute(&s, &cfg, &f, &e) == 0, "sine: %s", e.msg);
  double rms_err = 0;
  for (size_t k = 1; k + 1 < f.n_frames; k++) rms_err = fmax(rms_err, fabs(f.rms[k] - 0.35355339));
  CHECK(rms_err < 1e-3, "RMS of a 0.5 sine off by %g", rms_err);
  CHECK(f.n_frames == 30, "%zu frames for 3 s at 10 fps", f.n_frames);
  /* The middle band (150..2000 Hz) holds the tone; the others only leakage. */
  double mean[3] = {0, 0, 0};
  for (size_t k = 1; k + 1 < f.n_frames; k++)
    for (size_t b = 0; b < 3; b++) mean[b] += f.bands[k * 3 + b] / (double)(f.n_frames - 2);
  printf("sine 440 Hz band means: %.4g %.4g %.4g\n", mean[0], mean[1], mean[2]);
  CHECK(mean[1] > 0.9, "band holding 440 Hz: mean %g", mean[1]);
  CHECK(mean[0] < 0.01 && mean[2] < 0.01, "bands without the tone: %g %g", mean[0], mean[2]);
  CHECK(all_finite_f(f.bands, f.n_frames * 3), "non-finite band value");
  fk_features_free(&f);
  free(s.samples);
}

static void test_silence(void) {
  const double lengths[] = {10.0, 0.3, 0.01, 0.0};
  for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
    fk_song s;
    alloc_song(&s, lengths[i], "silence");
    fk_features_cfg cfg = {.fps = 30, .bands = BANDS, .n_bands = 3};
    fk_features f;
    fk_err e = {0};
    int rc = fk_features_compute(&s, &cfg, &f, &e);
    CHECK(rc == 0, "silence of %g s: %s", lengths[i], e.msg);
    if (rc) continue;
    size_t n = f.n_frames;
    CHECK(n == (size_t)ceil(lengths[i] * 30 - 1e-9), "%zu frames for %g s", n, lengths[i]);
    CHECK(all_finite_f(f.rms, n) && all_finite_f(f.onset, n) && all_finite_f(f.bands, n * 3) &&
              all_finite_f(f.beat_phase, n) && all_finite_f(f.bar_phase, n),
          "non-finite feature for silence of %g s", lengths[i]);
    CHECK(isfinite(f.tempo) && (f.tempo == 0 || f.n_beats == 0),
          "silence of %g s: tempo %g with %zu beats", lengths[i], f.tempo, f.n_beats);
    CHECK(f.n_onsets == 0, "silence of %g s has %zu onsets", lengths[i], f.n_onsets);
    int idx_ok = 1;
    for (size_t k = 0; k < n; k++) idx_ok &= f.beat_index[k] == -1 && f.rms[k] == 0;
    CHECK(idx_ok, "silence of %g s: beat index or RMS set", lengths[i]);
    fk_features_free(&f);
    free(s.samples);
  }
}

static void test_errors(void) {
  fk_song s;
  alloc_song(&s, 1.0, "errors");
  fk_features f;
  fk_err e = {0};
  fk_features_cfg bad_fps = {.fps = 0};
  CHECK(fk_features_compute(&s, &bad_fps, &f, &e) == FK_EUSER, "fps 0 accepted");
  CHECK(strstr(e.msg, "fps") != NULL, "message '%s' does not name fps", e.msg);
  fk_band inverted = {500, 100};
  fk_features_cfg bad_band = {.fps = 15, .bands = &inverted, .n_bands = 1};
  fk_err_clear(&e);
  CHECK(fk_features_compute(&s, &bad_band, &f, &e) == FK_EUSER, "band 500..100 Hz accepted");
  /* No bands at all is fine. */
  fk_features_cfg none = {.fps = 15};
  CHECK(fk_features_compute(&s, &none, &f, &e) == 0, "no bands: %s", e.msg);
  CHECK(f.n_bands == 0 && f.n_frames == 15, "%zu bands, %zu frames", f.n_bands, f.n_frames);
  fk_features_free(&f);
  free(s.samples);
}

int main(void) {
  test_clicks(120.0);
  test_clicks(95.0);
  test_clicks(160.0);
  test_clicks(75.0);
  test_clicks(150.0); /* a period of 34.45 hop frames: needs the lag smoothing */
  test_clicks_stop();
  test_sine();
  test_silence();
  test_errors();
  return CHECK_DONE();
}
