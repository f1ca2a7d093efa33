/* Muxing frames and audio into a video with ffmpeg, run as a program. */
#ifndef FK_RENDER_MUX_H
#define FK_RENDER_MUX_H

#include <stddef.h>

#include "core/error.h"

typedef struct fk_mux_cfg {
  const char *frames_dir; /* holds %06d.png */
  size_t first, count;    /* frame numbers first .. first+count-1 */
  double fps;
  const char *audio; /* WAV holding exactly the rendered range */
  const char *out;   /* .mp4, written to a temporary name then renamed */
  const char *log;   /* ffmpeg's output goes here */
} fk_mux_cfg;

/* Finds ffmpeg ($FUNKY_FFMPEG, else PATH); 0 if found. */
int fk_mux_find_ffmpeg(char *path, size_t n);
int fk_mux(const fk_mux_cfg *cfg, fk_err *e);

#endif
