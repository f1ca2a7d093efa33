/* Writing WAV files (tests, tools, and the audio handed to ffmpeg), through
 * a temporary name and a rename like every other file we write. */
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "core/file.h"

int fk_audio_save_wav(const fk_song *song, const char *path, int float_samples, fk_err *e) {
  char dir[4096], tmp[4300];
  fk_path_dir(path, dir, sizeof dir);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(tmp, sizeof tmp, "%s/.%s.tmpXXXXXX", dir, base);
  int fd = mkstemp(tmp);
  if (fd < 0) return fk_err_set(e, FK_EUSER, "cannot write in '%s': %s", dir, strerror(errno));
  SF_INFO info = {.samplerate = song->rate,
                  .channels = 1,
                  .format = SF_FORMAT_WAV | (float_samples ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16)};
  SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, 1);
  if (!sf) {
    close(fd);
    unlink(tmp);
    return fk_err_set(e, FK_EUSER, "cannot write WAV '%s': %s", path, sf_strerror(NULL));
  }
  sf_count_t n = sf_writef_float(sf, song->samples, (sf_count_t)song->n);
  int err = sf_error(sf);
  sf_write_sync(sf);
  if (sf_close(sf) != 0 || n != (sf_count_t)song->n || err) {
    unlink(tmp);
    return fk_err_set(e, FK_EUSER, "cannot write WAV '%s' (disk full?)", path);
  }
  if (rename(tmp, path) != 0) {
    int er = errno;
    unlink(tmp);
    return fk_err_set(e, FK_EUSER, "cannot rename '%s' to '%s': %s", tmp, path, strerror(er));
  }
  return FK_OK;
}

void fk_audio_free(fk_song *song) {
  free(song->samples);
  song->samples = NULL;
  song->n = 0;
}

double fk_audio_duration(const fk_song *song) {
  return song->rate > 0 ? (double)song->n / (double)song->rate : 0.0;
}
