/* The in-between frames of timeline.interpolate. Output frame k * factor
 * is key frame k (a hard link, so nothing is copied), frames k * factor +
 * j (0 < j < factor) are the interpolator's frame at t = j / factor
 * between key frames k and k + 1, cached like key frames: the key hashes
 * both key frames' keys, j, the factor and the interpolator file. Across
 * a cut (plan.cut) the first half holds frame k and the second k + 1; the
 * last key frame is held, so the video lasts as long as the song. Every
 * file is replaced atomically (link or write to a temporary, rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/hash.h"
#include "render/progress.h"
#include "render/render_internal.h"

static int frame_path(const char *dir, size_t k, const char *ext, char *out, size_t n, fk_err *e) {
  char name[40];
  snprintf(name, sizeof name, "%06zu.%s", k, ext);
  return fk_path_join(out, n, dir, name, e);
}

static int read_key(const char *dir, size_t k, char *key, size_t n, fk_err *e) {
  char path[4400], *data = NULL;
  size_t len;
  if (frame_path(dir, k, "key", path, sizeof path, e)) return e->code;
  if (fk_file_read(path, &data, &len, NULL) || len == 0 || len >= n) {
    free(data);
    return fk_err_set(e, FK_EUSER, "key frame %zu is missing (%s); render it before interpolating",
                      k, path);
  }
  memcpy(key, data, len + 1);
  free(data);
  return FK_OK;
}

/* dst becomes src's content: a hard link renamed over it, or a copy where
 * links are not possible; dst's cache key goes first, as it no longer
 * describes dst. */
static int link_frame(const char *src, const char *dst, fk_err *e) {
  char key[4400], tmp[4400];
  size_t l = strlen(dst);
  snprintf(key, sizeof key, "%.*s.key", (int)(l > 4 ? l - 4 : l), dst);
  if (unlink(key) != 0 && errno != ENOENT)
    return fk_err_set(e, FK_EUSER, "cannot remove '%s': %s", key, strerror(errno));
  const char *slash = strrchr(dst, '/');
  snprintf(tmp, sizeof tmp, "%.*s.%s.tmpL%ld", slash ? (int)(slash - dst + 1) : 0, dst,
           slash ? slash + 1 : dst, (long)getpid());
  unlink(tmp);
  if (link(src, tmp) == 0) {
    int ok = rename(tmp, dst) == 0, err = errno;
    unlink(tmp); /* still there when dst already was this file: rename does nothing then */
    if (ok) return FK_OK;
    return fk_err_set(e, FK_EUSER, "cannot rename '%s' to '%s': %s", tmp, dst, strerror(err));
  }
  char *data = NULL;
  size_t len;
  if (fk_file_read(src, &data, &len, e)) return e->code;
  int rc = fk_file_write_atomic(dst, data, len, e);
  free(data);
  return rc;
}

/* plan.cut(k) or plan.between(a, b, t): calls plan[name] with the values
 * pushed above it (n of them), leaves one result. */
static int call_plan(lua_State *L, int plan, const char *name, int n, fk_err *e) {
  lua_getfield(L, plan, name);
  lua_insert(L, -n - 1);
  return fk_lua_pcall(L, n, 1, e);
}

int fk_render_interpolate(lua_State *L, const fk_render_interp *ri, size_t *made, size_t *cached,
                          fk_err *e) {
  const size_t f = (size_t)ri->factor;
  char a[4400], b[4400], out[4400], key_a[64], key_b[64], key[40];
  *made = *cached = 0;
  if (fk_file_mkdirs(ri->video_dir, e)) return e->code;
  fk_progress prog;
  fk_progress_start(&prog, (ri->last - ri->first) * (f - 1), "interpolate", ri->quiet);
  int top = lua_gettop(L);
  for (size_t k = ri->first; k < ri->last; k++) {
    if (frame_path(ri->frames_dir, k, "png", a, sizeof a, e) ||
        frame_path(ri->video_dir, k * f, "png", out, sizeof out, e) ||
        read_key(ri->frames_dir, k, key_a, sizeof key_a, e) || link_frame(a, out, e))
      return e->code;
    int pair = k + 1 < ri->last, cut = 0;
    if (pair) {
      if (frame_path(ri->frames_dir, k + 1, "png", b, sizeof b, e) ||
          read_key(ri->frames_dir, k + 1, key_b, sizeof key_b, e))
        return e->code;
      lua_pushinteger(L, (lua_Integer)k);
      if (call_plan(L, ri->plan, "cut", 1, e)) return e->code;
      cut = lua_toboolean(L, -1);
      lua_settop(L, top);
    }
    for (size_t j = 1; j < f; j++, fk_progress_step(&prog)) {
      if (frame_path(ri->video_dir, k * f + j, "png", out, sizeof out, e)) return e->code;
      if (!pair || cut) { /* held: the nearer key frame */
        if (link_frame(pair && 2 * j >= f ? b : a, out, e)) return e->code;
        continue;
      }
      uint64_t h = fk_hash_bytes(key_a, strlen(key_a), ri->id);
      h = fk_hash_bytes(key_b, strlen(key_b), h);
      h = fk_hash3(h, j, f);
      snprintf(key, sizeof key, "%016llx", (unsigned long long)h);
      if (fk_render_cached(out, key)) {
        (*cached)++;
        continue;
      }
      lua_pushstring(L, a);
      lua_pushstring(L, b);
      lua_pushnumber(L, (double)j / (double)f);
      if (call_plan(L, ri->plan, "between", 3, e)) return e->code;
      fk_image *img = luaL_testudata(L, -1, FK_LUA_IMAGE);
      if (!img) return fk_err_set(e, FK_EINTERNAL, "plan.between returned no image");
      if (fk_image_save_png(img, out, e) || fk_render_save_key(out, key, e)) return e->code;
      lua_settop(L, top);
      lua_gc(L, LUA_GCCOLLECT, 0);
      (*made)++;
    }
  }
  fk_progress_end(&prog);
  return FK_OK;
}
