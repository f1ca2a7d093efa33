/* The built-in demo track: two bars of a funk break looped for the length
 * asked (kick, snare with ghost notes, 16th hats with an open hat, a bass
 * riff in E minor), synthesised from sines and hashed noise so that every
 * machine makes the same samples. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/hash.h"

#define STEPS 32 /* two bars of 16th notes */

/* Per step: kick, snare (2 = accent, 1 = ghost), hat (1 closed, 2 accent, 3 open). */
static const unsigned char KICK[STEPS] = {1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
                                          1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0};
static const unsigned char SNARE[STEPS] = {0, 0, 0, 0, 2, 0, 0, 1, 0, 1, 0, 0, 2, 0, 0, 1,
                                           0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 1, 2, 0, 1, 0};
static const unsigned char HAT[STEPS] = {2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 3, 0,
                                         2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 3, 0};
/* Bass: semitones above E1 (41.2 Hz), -1 = rest. */
static const signed char BASS[STEPS] = {0, -1, 12, 0, -1, -1, 3,  -1, 5,  -1, 0, -1, 7, 5,  3, -1,
                                        0, -1, 12, 0, -1, 10, -1, 7,  -1, 5,  3, -1, 0, -1, 2, 3};

static float noise(uint64_t seed, uint64_t i, uint64_t voice) {
  return (float)((double)(fk_hash3(seed, i, voice) >> 11) / 4503599627370496.0 - 1.0);
}

int fk_audio_demo(fk_song *song, int rate, double bpm, double seconds, uint64_t seed, fk_err *e) {
  memset(song, 0, sizeof *song);
  if (rate < 8000 || rate > 192000 || !(bpm >= 40 && bpm <= 300) ||
      !(seconds > 0 && seconds <= 600))
    return fk_err_set(e, FK_EUSER, "demo: rate 8000..192000, bpm 40..300, seconds (0, 600]");
  size_t n = (size_t)llround(seconds * rate);
  float *x = fk_zalloc(n, sizeof *x);
  if (!x) return fk_err_oom(e, "the demo track", n * sizeof *x);
  const double step = 60.0 / bpm / 4.0, sr = rate;
  size_t n_steps = (size_t)(seconds / step) + 1;
  float hp_prev = 0;
  for (size_t s = 0; s < n_steps; s++) {
    int p = (int)(s % STEPS);
    size_t start = (size_t)llround((double)s * step * sr);
    /* a little swing on the off 16ths */
    if (s % 2 == 1) start += (size_t)llround(0.12 * step * sr);
    if (start >= n) break;
    size_t len = (size_t)(0.6 * sr);
    if (start + len > n) len = n - start;
    for (size_t i = 0; i < len; i++) {
      double t = (double)i / sr;
      float v = 0;
      if (KICK[p]) {
        /* pitch falling from 120 to 45 Hz: the phase integrates it */
        double ph = 2 * M_PI * (45.0 * t + 75.0 / 30.0 * (1 - exp(-t * 30.0)));
        v += (float)(0.9 * sin(ph) * exp(-t * 7.0));
      }
      if (SNARE[p]) {
        double amp = SNARE[p] == 2 ? 0.55 : 0.15;
        v += (float)(amp * (0.7 * noise(seed, start + i, 1) * exp(-t * 22.0) +
                            0.5 * sin(2 * M_PI * 185.0 * t) * exp(-t * 30.0)));
      }
      if (HAT[p]) {
        double decay = HAT[p] == 3 ? 9.0 : 60.0, amp = HAT[p] == 2   ? 0.22
                                                       : HAT[p] == 3 ? 0.2
                                                                     : 0.12;
        /* first difference of white noise: a cheap high-pass for the metal */
        float wn = noise(seed, start + i, 2);
        v += (float)(amp * (wn - hp_prev) * 0.5 * exp(-t * decay));
        hp_prev = wn;
      }
      if (BASS[p] >= 0 && t < step * 1.8) {
        double f = 41.2034 * pow(2.0, BASS[p] / 12.0), ph = 2 * M_PI * f * t;
        double tone = sin(ph) + 0.5 * sin(2 * ph) + 0.25 * sin(3 * ph);
        double env = (1 - exp(-t * 300.0)) * exp(-t * 6.0) * (t < step * 1.6 ? 1.0 : 0.0);
        v += (float)(0.35 * tone * env);
      }
      x[start + i] += v;
    }
  }
  /* soft clip, then peak at 0.9 */
  float peak = 0;
  for (size_t i = 0; i < n; i++) {
    x[i] = tanhf(x[i]);
    float a = fabsf(x[i]);
    peak = a > peak ? a : peak;
  }
  if (peak > 0)
    for (size_t i = 0; i < n; i++) x[i] *= 0.9f / peak;
  song->samples = x;
  song->n = n;
  song->rate = rate;
  song->channels = 1;
  song->tempo = bpm;
  snprintf(song->name, sizeof song->name, "demo");
  return FK_OK;
}
