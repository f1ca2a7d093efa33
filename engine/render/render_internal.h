/* What the frame loop (render.c) and the interpolation pass
 * (interp_pass.c) share: the frame cache and file identities. */
#ifndef FK_RENDER_INTERNAL_H
#define FK_RENDER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "lua/fk_lua.h"

/* 1 if png exists with the key `key` beside it (NNNNNN.key). */
int fk_render_cached(const char *png, const char *key);
/* Writes png's key file atomically, after the frame itself. */
int fk_render_save_key(const char *png, const char *key, fk_err *e);
/* A file's identity for cache keys: size, mtime and its first and last
 * 64 KiB (cheap for multi-GB models; a replaced file changes it). A
 * missing file leaves *id as it is: loading it reports the problem. */
int fk_render_file_identity(const char *path, uint64_t *id, fk_err *e);

/* The in-between pass: key frames [first, last) of count are in
 * frames_dir; video_dir gets frame k * factor (a link to key frame k) and
 * the factor - 1 frames after it, made by plan.between(a, b, t), or held
 * across a cut (plan.cut(k)) and after the last key frame. */
typedef struct fk_render_interp {
  int plan; /* stack index of the plan */
  const char *frames_dir, *video_dir;
  size_t first, last, count;
  int factor;
  uint64_t id; /* the interpolator file's identity */
  int quiet;
} fk_render_interp;
int fk_render_interpolate(lua_State *L, const fk_render_interp *ri, size_t *made, size_t *cached,
                          fk_err *e);

#endif
