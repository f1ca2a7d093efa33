#include "render/mux.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file.h"

extern char **environ;

int fk_mux_find_ffmpeg(char *path, size_t n) {
  const char *env = getenv("FUNKY_FFMPEG");
  if (env && *env) {
    snprintf(path, n, "%s", env);
    return access(path, X_OK) == 0 ? 0 : -1;
  }
  const char *p = getenv("PATH");
  if (!p) p = "/usr/bin:/bin";
  while (*p) {
    const char *c = strchr(p, ':');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (len > 0 && snprintf(path, n, "%.*s/ffmpeg", (int)len, p) < (int)n &&
        access(path, X_OK) == 0)
      return 0;
    p += len + (c ? 1 : 0);
  }
  return -1;
}

int fk_mux(const fk_mux_cfg *cfg, fk_err *e) {
  char ffmpeg[4096];
  if (fk_mux_find_ffmpeg(ffmpeg, sizeof ffmpeg) != 0)
    return fk_err_set(e, FK_EUSER, "ffmpeg not found; install it (apt-get install ffmpeg)");
  char pattern[4200], fps[64], start[32], dur[64], tmp[4200];
  if (fk_path_join(pattern, sizeof pattern, cfg->frames_dir, "%06d.png", e)) return e->code;
  snprintf(fps, sizeof fps, "%.17g", cfg->fps);
  snprintf(start, sizeof start, "%zu", cfg->first);
  /* ffmpeg keeps an image whose middle falls before the input's -t, so
   * count/fps reads exactly frames first .. first+count-1 (half a frame of
   * margin both ways), whatever else the folder holds. */
  snprintf(dur, sizeof dur, "%.17g", (double)cfg->count / cfg->fps);
  char dir[4096];
  fk_path_dir(cfg->out, dir, sizeof dir);
  const char *base = strrchr(cfg->out, '/');
  base = base ? base + 1 : cfg->out;
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp.mp4", dir, base);
  char *argv[] = {ffmpeg,
                  "-nostdin",
                  "-y",
                  "-loglevel",
                  "error",
                  "-framerate",
                  fps,
                  "-start_number",
                  start,
                  "-t",
                  dur,
                  "-i",
                  pattern,
                  "-i",
                  (char *)cfg->audio,
                  "-map",
                  "0:v:0",
                  "-map",
                  "1:a:0",
                  "-c:v",
                  "libx264",
                  "-pix_fmt",
                  "yuv420p",
                  "-preset",
                  "veryfast",
                  "-crf",
                  "18",
                  "-c:a",
                  "aac",
                  "-b:a",
                  "192k",
                  "-movflags",
                  "+faststart",
                  tmp,
                  NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, cfg->log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid;
  int rc = posix_spawn(&pid, ffmpeg, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return fk_err_set(e, FK_EUSER, "cannot run %s: %s", ffmpeg, strerror(rc));
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return fk_err_set(e, FK_EINTERNAL, "waiting for ffmpeg failed");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    unlink(tmp);
    return fk_err_set(e, FK_EUSER, "ffmpeg failed muxing %s (see %s); the frames are kept",
                      cfg->out, cfg->log);
  }
  if (rename(tmp, cfg->out) != 0) {
    int err = errno;
    unlink(tmp);
    return fk_err_set(e, FK_EUSER, "cannot rename video to %s: %s", cfg->out, strerror(err));
  }
  return FK_OK;
}
