/* The built-in demo track: length, level, determinism, a tempo the feature
 * analysis recovers, and a WAV round trip. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/features.h"
#include "check.h"
#include "core/file.h"

static void test_bpm(double bpm) {
  fk_song a, b, c;
  fk_err e = {0};
  CHECK(fk_audio_demo(&a, 44100, bpm, 20.0, 1, &e) == 0, "demo at %g BPM: %s", bpm, e.msg);
  CHECK(fk_audio_demo(&b, 44100, bpm, 20.0, 1, &e) == 0, "demo at %g BPM: %s", bpm, e.msg);
  CHECK(fk_audio_demo(&c, 44100, bpm, 20.0, 2, &e) == 0, "demo at %g BPM: %s", bpm, e.msg);
  CHECK_NEAR(fk_audio_duration(&a), 20.0, 0.05);
  CHECK(a.rate == 44100 && a.channels == 1 && a.tempo == bpm && !strcmp(a.name, "demo"),
        "rate %d channels %d tempo %g name '%s'", a.rate, a.channels, a.tempo, a.name);
  CHECK(a.n == b.n && !memcmp(a.samples, b.samples, a.n * sizeof(float)),
        "two demos with the same seed differ at %g BPM", bpm);
  CHECK(a.n == c.n && memcmp(a.samples, c.samples, a.n * sizeof(float)) != 0,
        "the seed changes nothing at %g BPM", bpm);

  double peak = 0, sum2 = 0;
  int finite = 1;
  for (size_t i = 0; i < a.n; i++) {
    finite &= isfinite(a.samples[i]) != 0;
    peak = fmax(peak, fabs(a.samples[i]));
    sum2 += (double)a.samples[i] * a.samples[i];
  }
  double rms = sqrt(sum2 / (double)a.n);
  printf("demo at %g BPM: peak %.3f, RMS %.3f\n", bpm, peak, rms);
  CHECK(finite, "non-finite sample in the demo");
  CHECK(peak <= 1.0 && peak > 0.5, "peak %g", peak);
  CHECK(rms > 0.05 && rms < 0.7, "RMS %g", rms);

  fk_features_cfg cfg = {.fps = 15};
  fk_features f;
  CHECK(fk_features_compute(&a, &cfg, &f, &e) == 0, "features of the demo: %s", e.msg);
  printf("  estimated tempo %.3f (%.3f%%), %zu beats, %zu onsets\n", f.tempo,
         100.0 * (f.tempo - bpm) / bpm, f.n_beats, f.n_onsets);
  CHECK(fabs(f.tempo - bpm) <= 0.02 * bpm, "demo made at %g BPM estimated at %g", bpm, f.tempo);
  /* Beats fall on the quarter-note grid the demo was written on. */
  size_t off = 0;
  const double period = 60.0 / bpm;
  for (size_t i = 0; i < f.n_beats; i++) {
    double k = floor(f.beats[i] / period + 0.5);
    if (f.beats[i] > 2.0 && fabs(f.beats[i] - k * period) > 0.025) off++;
  }
  CHECK(off == 0, "%zu beats off the demo's quarter notes at %g BPM", off, bpm);
  CHECK(f.n_beats + 3 >= (size_t)(20.0 / period), "%zu beats in 20 s at %g BPM", f.n_beats, bpm);
  /* Every frame has energy: the groove never stops. */
  size_t quiet = 0;
  for (size_t k = 0; k + 1 < f.n_frames; k++) quiet += f.rms[k] < 0.01;
  CHECK(quiet == 0, "%zu near-silent frames in the demo at %g BPM", quiet, bpm);
  fk_features_free(&f);
  fk_audio_free(&a);
  fk_audio_free(&b);
  fk_audio_free(&c);
  CHECK(a.samples == NULL && a.n == 0, "fk_audio_free leaves the song usable");
}

static void test_wav(void) {
  const char *tmp = getenv("TMP");
  char dir[4096], path[4200];
  snprintf(dir, sizeof dir, "%s", tmp && *tmp ? tmp : "/tmp/funky_test_demo");
  fk_err e = {0};
  CHECK(fk_file_mkdirs(dir, &e) == 0, "mkdirs %s: %s", dir, e.msg);
  snprintf(path, sizeof path, "%s/demo.wav", dir);
  fk_song s;
  CHECK(fk_audio_demo(&s, 22050, 100, 2.0, 3, &e) == 0, "demo: %s", e.msg);
  for (int as_float = 0; as_float <= 1; as_float++) {
    CHECK(fk_audio_save_wav(&s, path, as_float, &e) == 0, "save: %s", e.msg);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    CHECK(sf != NULL, "cannot reopen %s", path);
    if (!sf) continue;
    CHECK(info.samplerate == 22050 && info.channels == 1 && (size_t)info.frames == s.n,
          "rate %d channels %d frames %lld", info.samplerate, info.channels,
          (long long)info.frames);
    CHECK((info.format & SF_FORMAT_SUBMASK) == (as_float ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16),
          "format %x", info.format);
    float *back = calloc(s.n, sizeof *back);
    sf_count_t got = back ? sf_readf_float(sf, back, (sf_count_t)s.n) : 0;
    sf_close(sf);
    double worst = 0;
    for (size_t i = 0; i < s.n && got == (sf_count_t)s.n; i++)
      worst = fmax(worst, fabs(back[i] - s.samples[i]));
    CHECK(got == (sf_count_t)s.n && worst <= (as_float ? 0 : 2.0 / 32768),
          "round trip (%s): %lld samples, worst error %g", as_float ? "float" : "pcm16",
          (long long)got, worst);
    free(back);
  }
  CHECK(fk_audio_save_wav(&s, "/nonexistent-dir/x.wav", 0, &e) == FK_EUSER,
        "writing into a missing folder succeeded");
  fk_audio_free(&s);
}

static void test_errors(void) {
  fk_song s;
  fk_err e = {0};
  CHECK(fk_audio_demo(&s, 44100, 0, 20, 1, &e) == FK_EUSER, "bpm 0 accepted");
  CHECK(fk_audio_demo(&s, 100, 100, 20, 1, &e) == FK_EUSER, "rate 100 accepted");
  CHECK(fk_audio_demo(&s, 44100, 100, -1, 1, &e) == FK_EUSER, "negative length accepted");
  CHECK(fk_audio_demo(&s, 8000, 100, 0.05, 1, &e) == 0, "a very short demo: %s", e.msg);
  CHECK(s.n == 400, "%zu samples for 0.05 s at 8 kHz", s.n);
  fk_audio_free(&s);
}

int main(void) {
  test_bpm(100.0);
  test_bpm(112.0);
  test_wav();
  test_errors();
  return CHECK_DONE();
}
