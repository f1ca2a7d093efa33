/* Decoding through libsndfile: every format the installed libsndfile reads
 * (WAV, FLAC, Ogg/Vorbis, Opus, and MP3 on Debian 12). libsndfile's float
 * read scales integer PCM by 1/2^(bits-1), so 16-bit audio lands in [-1, 1). */
#include <errno.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio.h"

/* Blocks of this many frames keep the interleaved buffer small for long files. */
#define FK_DECODE_BLOCK 65536

int fk_audio_load(const char *path, fk_song *song, fk_err *e) {
  memset(song, 0, sizeof *song);
  struct stat st;
  if (stat(path, &st) != 0)
    return fk_err_set(e, FK_EUSER, "cannot open audio '%s': %s; check the path", path,
                      strerror(errno));
  if (S_ISDIR(st.st_mode))
    return fk_err_set(e, FK_EUSER, "audio '%s' is a folder, not a file", path);
  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *sf = sf_open(path, SFM_READ, &info);
  if (!sf)
    return fk_err_set(e, FK_EUSER, "cannot read audio '%s': %s; use WAV, FLAC, Ogg, Opus or MP3",
                      path, sf_strerror(NULL));
  if (info.channels < 1 || info.samplerate < 1) {
    sf_close(sf);
    return fk_err_set(e, FK_EUSER, "audio '%s' has %d channels at %d Hz; it looks damaged", path,
                      info.channels, info.samplerate);
  }
  /* Frame counts from headers can lie (MP3 estimates, truncated WAVs): grow
   * as we read instead of trusting info.frames. */
  size_t cap = info.frames > 0 && info.frames < ((sf_count_t)1 << 34) ? (size_t)info.frames : 0;
  if (cap < FK_DECODE_BLOCK) cap = FK_DECODE_BLOCK;
  float *mono = fk_alloc(cap, sizeof *mono);
  float *block = fk_alloc((size_t)FK_DECODE_BLOCK * (size_t)info.channels, sizeof *block);
  if (!mono || !block) {
    free(mono);
    free(block);
    sf_close(sf);
    return fk_err_oom(e, "decoded audio", cap * sizeof *mono);
  }
  size_t n = 0;
  const int ch = info.channels;
  for (;;) {
    sf_count_t got = sf_readf_float(sf, block, FK_DECODE_BLOCK);
    if (got <= 0) break;
    if (n + (size_t)got > cap) {
      size_t ncap = cap * 2 > n + (size_t)got ? cap * 2 : n + (size_t)got;
      float *nm = realloc(mono, ncap * sizeof *mono);
      if (!nm) {
        free(mono);
        free(block);
        sf_close(sf);
        return fk_err_oom(e, "decoded audio", ncap * sizeof *mono);
      }
      mono = nm;
      cap = ncap;
    }
    for (sf_count_t i = 0; i < got; i++) {
      float acc = 0.0f;
      for (int c = 0; c < ch; c++) acc += block[i * ch + c];
      mono[n + (size_t)i] = ch == 1 ? acc : acc / (float)ch;
    }
    n += (size_t)got;
  }
  int err = sf_error(sf);
  free(block);
  sf_close(sf);
  if (err != SF_ERR_NO_ERROR && n == 0) {
    free(mono);
    return fk_err_set(e, FK_EUSER, "cannot decode audio '%s': %s", path, sf_error_number(err));
  }
  if (n == 0) {
    free(mono);
    return fk_err_set(e, FK_EUSER, "audio '%s' holds no samples; give a file with sound in it",
                      path);
  }
  song->samples = mono;
  song->n = n;
  song->rate = info.samplerate;
  song->channels = ch;
  const char *base = strrchr(path, '/');
  snprintf(song->name, sizeof song->name, "%s", base ? base + 1 : path);
  return FK_OK;
}
