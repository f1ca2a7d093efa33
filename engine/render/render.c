/* The frame loop. Lua declares and computes per frame; C owns the loop, the
 * files and the video. Frames are written to frames/%06d.png under the
 * output folder through temp-and-rename, so an interrupted render leaves
 * only whole frames. */
#include "render/render.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/hash.h"
#include "lua/fk_lua.h"
#include "render/mux.h"
#include "render/progress.h"
#include "render/render_internal.h"

int fk_render_parse_range(const char *s, long *first, long *last, fk_err *e) {
  const char *colon = strchr(s, ':');
  if (!colon) return fk_err_set(e, FK_EUSER, "--frames '%s': expected A:B, A: or :B", s);
  *first = *last = -1;
  char *end;
  if (colon != s) {
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end != colon || v < 0)
      return fk_err_set(e, FK_EUSER, "--frames '%s': A must be a frame number >= 0", s);
    *first = v;
  }
  if (colon[1]) {
    errno = 0;
    long v = strtol(colon + 1, &end, 10);
    if (errno || *end || v < 0)
      return fk_err_set(e, FK_EUSER, "--frames '%s': B must be a frame number >= 0", s);
    *last = v;
  }
  if (*first >= 0 && *last >= 0 && *last <= *first)
    return fk_err_set(e, FK_EUSER, "--frames '%s' is empty: B must be greater than A", s);
  return FK_OK;
}

static int parse_count(const char *s, long *v) {
  char *end;
  errno = 0;
  *v = s ? strtol(s, &end, 10) : -1;
  return s && !errno && end != s && !*end && *v >= 0 && *v <= 1000000;
}

int fk_render_parse_shard(const char *s, int *shard, int *shards, fk_err *e) {
  long i = -1, n = -1;
  if (!strcmp(s, "auto")) {
    const char *id = getenv("SLURM_ARRAY_TASK_ID");
    if (id) {
      long min = 0, step = 1;
      const char *m = getenv("SLURM_ARRAY_TASK_MIN"), *st = getenv("SLURM_ARRAY_TASK_STEP");
      if (!parse_count(id, &i) || !parse_count(getenv("SLURM_ARRAY_TASK_COUNT"), &n) ||
          (m && !parse_count(m, &min)) || (st && (!parse_count(st, &step) || step < 1)))
        return fk_err_set(e, FK_EUSER,
                          "--shard auto: the Slurm variables SLURM_ARRAY_TASK_ID/_COUNT/_MIN/_STEP "
                          "are not whole numbers; run inside a job array (sbatch --array=0-N)");
      i = (i - min) / step;
    } else if ((id = getenv("JOB_COMPLETION_INDEX"))) {
      if (!parse_count(id, &i) || !parse_count(getenv("FUNKY_SHARDS"), &n))
        return fk_err_set(e, FK_EUSER,
                          "--shard auto in a Kubernetes Indexed Job needs FUNKY_SHARDS, the job's "
                          "completions, in the pod's environment (JOB_COMPLETION_INDEX='%s')",
                          id);
    } else {
      return fk_err_set(e, FK_EUSER,
                        "--shard auto: no Slurm job array (SLURM_ARRAY_TASK_ID) or Kubernetes "
                        "Indexed Job (JOB_COMPLETION_INDEX) runs this process; give --shard i/n");
    }
  } else {
    const char *slash = strchr(s, '/');
    char a[32];
    if (!slash || (size_t)(slash - s) >= sizeof a)
      return fk_err_set(e, FK_EUSER, "--shard '%s': expected i/n (e.g. 0/4) or auto", s);
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = '\0';
    if (!parse_count(a, &i) || !parse_count(slash + 1, &n))
      return fk_err_set(e, FK_EUSER, "--shard '%s': i and n must be whole numbers, as in 0/4", s);
  }
  if (n < 1 || i < 0 || i >= n)
    return fk_err_set(e, FK_EUSER, "--shard %ld/%ld: i must be in 0..n-1 and n at least 1", i, n);
  *shard = (int)i;
  *shards = (int)n;
  return FK_OK;
}

/* Pushes the Lua recipe module; sets --set overrides and the globals
 * recipe/timeline the script declares with. */
static int prepare_state(lua_State *L, const fk_render_opts *o, fk_err *e) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "funky.recipe");
  if (fk_lua_pcall(L, 1, 1, e)) return e->code;
  lua_newtable(L);
  for (size_t i = 0; i < o->n_sets; i++) {
    const char *eq = strchr(o->sets[i], '=');
    if (!eq || eq == o->sets[i])
      return fk_err_set(e, FK_EUSER, "--set '%s': expected key=value", o->sets[i]);
    lua_pushlstring(L, o->sets[i], (size_t)(eq - o->sets[i]));
    lua_pushstring(L, eq + 1);
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "overrides");
  /* funky live's preview size, applied by timeline{} */
  if (o->size_w > 0 && o->size_h > 0) {
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, o->size_w);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, o->size_h);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "size_override");
  } else if (o->size_max > 0) {
    lua_pushinteger(L, o->size_max);
    lua_setfield(L, -2, "size_max");
  }
  lua_getfield(L, -1, "recipe");
  lua_setglobal(L, "recipe");
  lua_getfield(L, -1, "timeline");
  lua_setglobal(L, "timeline");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "funky");
  if (fk_lua_pcall(L, 1, 1, e)) return e->code;
  lua_setglobal(L, "funky"); /* recipes see `funky` with or without the sandbox */
  return FK_OK;
}

static int plan_number(lua_State *L, int plan, const char *k, double *v, fk_err *e) {
  lua_getfield(L, plan, k);
  int ok = lua_type(L, -1) == LUA_TNUMBER;
  *v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return ok ? FK_OK : fk_err_set(e, FK_EINTERNAL, "render plan lacks '%s'", k);
}

/* Takes frame(f)'s result at the top of the stack: an image, or a table
 * whose `init` (or `image`) is one. */
static fk_image *frame_image(lua_State *L, size_t k, fk_err *e) {
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "init");
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_getfield(L, -1, "image");
    }
    lua_replace(L, -2);
  }
  fk_image *img = luaL_testudata(L, -1, FK_LUA_IMAGE) ? fk_lua_image_check(L, -1) : NULL;
  if (!img)
    fk_err_set(e, FK_EUSER,
               "frame(f) for frame %zu returned %s; return an image or { init = image, ... }", k,
               luaL_typename(L, -1));
  return img;
}

static int write_audio(const fk_song *song, double fps, size_t first, size_t count,
                       const char *path, fk_err *e) {
  size_t a = (size_t)((double)first * song->rate / fps);
  size_t b = (size_t)((double)(first + count) * song->rate / fps);
  if (a > song->n) a = song->n;
  if (b > song->n) b = song->n;
  fk_song view = *song;
  view.samples = song->samples + a;
  view.n = b - a;
  if (view.n == 0) return fk_err_set(e, FK_EUSER, "the frame range holds no audio");
  return fk_audio_save_wav(&view, path, 0, e);
}

/* Recipes run sandboxed unless --trust: they read under their own folder,
 * ./models, --allow folders and files named by --set values; they write
 * under the output folder. */
static int sandbox(lua_State *L, const fk_render_opts *o, const char *out_dir, fk_err *e) {
  if (o->trusted) return FK_OK;
  fk_lua_sandbox_opts so = {
      .write_root = out_dir, .instructions = o->max_instructions, .memory = o->max_memory};
  char recipe_dir[4096];
  fk_path_dir(o->recipe, recipe_dir, sizeof recipe_dir);
  so.read_roots[so.n_read_roots++] = recipe_dir;
  if (fk_file_exists("models")) so.read_roots[so.n_read_roots++] = "models";
  for (size_t i = 0; i < o->n_allow && so.n_read_roots < FK_LUA_MAX_ROOTS; i++)
    so.read_roots[so.n_read_roots++] = o->allow[i];
  for (size_t i = 0; i < o->n_sets && so.n_read_roots < FK_LUA_MAX_ROOTS; i++) {
    const char *v = strchr(o->sets[i], '=');
    if (v && v[1] && fk_file_exists(v + 1)) so.read_roots[so.n_read_roots++] = v + 1;
  }
  return fk_lua_sandbox(L, &so, e);
}

#define FRAME_CACHED (-1) /* one_frame: the cache had the frame */

/* ---- the frame cache ----------------------------------------------------
 * Frame k's key hashes the settings string plan.settings gives (frame
 * index, frame(f)'s overrides, section, timeline), the init image's pixels,
 * the model's identity and the engine version. It is written beside the
 * frame (NNNNNN.key) after the frame itself, both atomically: a frame with
 * a missing or different key is rendered again, so a render killed at any
 * point resumes without a lost, duplicated or half-written frame. */

/* The model's identity: size, mtime and its first and last 64 KiB (the
 * header and the tail): cheap for multi-GB files, and a replaced or
 * re-converted model changes it. */
int fk_render_file_identity(const char *path, uint64_t *id, fk_err *e) {
  struct stat st;
  if (stat(path, &st) != 0) return FK_OK; /* loading it will report the problem */
  uint64_t h = fk_hash3((uint64_t)st.st_size, (uint64_t)st.st_mtime, (uint64_t)st.st_mtim.tv_nsec);
  if (S_ISREG(st.st_mode)) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return fk_err_set(e, FK_EUSER, "cannot read model '%s'", path);
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, fp);
    h = fk_hash_bytes(buf, n, h);
    if (st.st_size > (off_t)sizeof buf && fseeko(fp, -(off_t)sizeof buf, SEEK_END) == 0) {
      n = fread(buf, 1, sizeof buf, fp);
      h = fk_hash_bytes(buf, n, h);
    }
    fclose(fp);
  }
  *id = h;
  return FK_OK;
}

/* Key of the frame whose frame(f) result is at the top of the stack. */
static int frame_key(lua_State *L, int settings_fn, int f, uint64_t model_id, char *key, size_t k,
                     fk_err *e) {
  int out = lua_gettop(L);
  lua_pushvalue(L, settings_fn);
  lua_pushvalue(L, f);
  lua_pushvalue(L, out);
  if (fk_lua_pcall(L, 2, 1, e)) return e->code;
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  uint64_t h = fk_hash_bytes(FUNKY_VERSION, strlen(FUNKY_VERSION), model_id);
  h = fk_hash_bytes(s ? s : "", s ? len : 0, h);
  lua_pop(L, 1);
  lua_pushvalue(L, out);
  fk_image *img = frame_image(L, k, e);
  if (!img) return e->code;
  h = fk_hash_bytes(img->px, (size_t)img->w * (size_t)img->h * 3 * sizeof(float), h);
  lua_pop(L, 1);
  snprintf(key, 40, "%016llx", (unsigned long long)h);
  return FK_OK;
}

static void key_path(const char *png, char *out, size_t n) {
  size_t l = strlen(png);
  snprintf(out, n, "%.*s.key", (int)(l > 4 ? l - 4 : l), png);
}

int fk_render_cached(const char *png, const char *key) {
  char kp[4400], have[64] = "";
  key_path(png, kp, sizeof kp);
  if (!fk_file_exists(png)) return 0;
  FILE *fp = fopen(kp, "r");
  if (!fp) return 0;
  size_t n = fread(have, 1, sizeof have - 1, fp);
  fclose(fp);
  have[n] = 0;
  return !strcmp(have, key);
}

int fk_render_save_key(const char *png, const char *key, fk_err *e) {
  char kp[4400];
  key_path(png, kp, sizeof kp);
  return fk_file_write_atomic(kp, key, strlen(key), e);
}

/* ---- a loaded plan ------------------------------------------------------
 * A recipe run in its own Lua state up to its plan: the render loop and
 * funky live both render frames from one. The plan's functions sit at fixed
 * stack slots of the state for the plan's lifetime. */
struct fk_render_plan {
  lua_State *L;
  char out_dir[4096], frames_dir[4200], stem[256];
  int plan, input_fn, frame_fn, settings_fn, open_fn, diffuse_fn; /* stack slots */
  int w, h, assemble, model_open;
  double fps;
  size_t count;
  uint64_t model_id;
  char model[1024];
  char name[256]; /* recipe{ name = ... } */
};

/* Renders frame k: FK_OK, FRAME_CACHED, or an error (*fatal set when the
 * render cannot go on). Leaves values above lp->diffuse_fn on the stack. */
static int one_frame(fk_render_plan *lp, size_t k, char key[40], int *fatal, fk_err *e) {
  lua_State *L = lp->L;
  char name[32], path[4300];
  *fatal = 1;
  lua_pushvalue(L, lp->input_fn);
  lua_pushinteger(L, (lua_Integer)k);
  if (fk_lua_pcall(L, 1, 1, e)) return e->code;
  int f = lua_gettop(L);
  snprintf(name, sizeof name, "%06zu.png", k);
  if (fk_path_join(path, sizeof path, lp->frames_dir, name, e)) return e->code;
  *fatal = 0;
  lua_pushvalue(L, lp->frame_fn);
  lua_pushvalue(L, f);
  if (fk_lua_pcall(L, 1, 1, e) || frame_key(L, lp->settings_fn, f, lp->model_id, key, k, e))
    return e->code;
  if (fk_render_cached(path, key))
    return FRAME_CACHED; /* the same inputs made this frame already */
  if (lp->assemble) return FK_EUSER;
  if (lua_isfunction(L, lp->diffuse_fn)) { /* a model: diffuse the init image */
    if (!lp->model_open) {
      int top = lua_gettop(L);
      lua_pushvalue(L, lp->open_fn);
      *fatal = 1;
      if (fk_lua_pcall(L, 0, 0, e)) return e->code;
      *fatal = 0;
      lp->model_open = 1;
      lua_settop(L, top);
    }
    if (!lua_istable(L, -1)) {
      lua_newtable(L);
      lua_insert(L, -2);
      lua_setfield(L, -2, "init");
    }
    lua_pushvalue(L, lp->diffuse_fn);
    lua_insert(L, -2);
    lua_pushvalue(L, f);
    lua_insert(L, -2);
    if (fk_lua_pcall(L, 2, 1, e)) return e->code;
  }
  fk_image *img = frame_image(L, k, e);
  if (!img) return e->code;
  *fatal = 1;
  if (img->w != lp->w || img->h != lp->h)
    return fk_err_set(e, FK_EUSER,
                      "frame %zu is %dx%d but the timeline's size is %dx%d; draw at f.size", k,
                      img->w, img->h, lp->w, lp->h);
  if (fk_image_save_png(img, path, e) || fk_render_save_key(path, key, e)) return e->code;
  *fatal = 0;
  lua_settop(L, lp->diffuse_fn);
  /* Image pixels live outside Lua's heap, so its GC cannot see their
   * weight: collect every frame to keep memory flat over long songs. */
  lua_gc(L, LUA_GCCOLLECT, 0);
  return FK_OK;
}

/* Runs the recipe in p->L (declarations, then plan) and fills p. */
static int plan_load(fk_render_plan *p, const fk_render_opts *o, fk_err *e) {
  lua_State *L = p->L;
  fk_path_stem(o->recipe, p->stem, sizeof p->stem);
  if (o->out_dir)
    snprintf(p->out_dir, sizeof p->out_dir, "%s", o->out_dir);
  else
    snprintf(p->out_dir, sizeof p->out_dir, "out/%s", p->stem);
  if (fk_path_join(p->frames_dir, sizeof p->frames_dir, p->out_dir, "frames", e) ||
      fk_file_mkdirs(p->frames_dir, e))
    return e->code;
  if (prepare_state(L, o, e)) return e->code;
  int recipe_mod = lua_gettop(L);
  if (sandbox(L, o, p->out_dir, e) || fk_lua_run_file(L, o->recipe, 0, NULL, e)) return e->code;

  lua_getfield(L, recipe_mod, "plan");
  if (fk_lua_pcall(L, 0, 1, e)) return e->code;
  p->plan = lua_gettop(L);
  double count, w, h;
  if (plan_number(L, p->plan, "fps", &p->fps, e) || plan_number(L, p->plan, "count", &count, e) ||
      plan_number(L, p->plan, "width", &w, e) || plan_number(L, p->plan, "height", &h, e))
    return e->code;
  p->count = (size_t)count;
  p->w = (int)w;
  p->h = (int)h;
  lua_getfield(L, p->plan, "name");
  if (lua_isstring(L, -1)) snprintf(p->name, sizeof p->name, "%s", lua_tostring(L, -1));
  lua_getfield(L, p->plan, "timeline");
  lua_getfield(L, -1, "model");
  if (lua_isstring(L, -1)) snprintf(p->model, sizeof p->model, "%s", lua_tostring(L, -1));
  lua_settop(L, p->plan);
  fk_lua_script_global(L, "frame");
  if (!lua_isfunction(L, -1))
    return fk_err_set(e, FK_EUSER, "%s defines no function frame(f); add one that returns an image",
                      o->recipe);
  p->frame_fn = lua_gettop(L);
  p->assemble = o->assemble;
  lua_getfield(L, p->plan, "input");
  p->input_fn = lua_gettop(L);
  lua_getfield(L, p->plan, "settings");
  p->settings_fn = lua_gettop(L);
  lua_getfield(L, p->plan, "open_model");
  p->open_fn = lua_gettop(L);
  lua_getfield(L, p->plan, "diffuse");
  p->diffuse_fn = lua_gettop(L);
  if (p->model[0] && fk_render_file_identity(p->model, &p->model_id, e)) return e->code;
  return FK_OK;
}

int fk_render_plan_open(const fk_render_opts *o, fk_render_plan **out, fk_err *e) {
  *out = NULL;
  if (!fk_file_exists(o->recipe))
    return fk_err_set(e, FK_EUSER, "recipe '%s' not found; give the path of a .lua recipe",
                      o->recipe);
  fk_render_plan *p = calloc(1, sizeof *p);
  if (!p) return fk_err_oom(e, "a render plan", sizeof *p);
  p->L = fk_lua_new_state(e);
  if (!p->L || plan_load(p, o, e)) {
    fk_render_plan_close(p);
    return e->code ? e->code : fk_err_set(e, FK_EINTERNAL, "cannot load %s", o->recipe);
  }
  *out = p;
  return FK_OK;
}

void fk_render_plan_close(fk_render_plan *p) {
  if (!p) return;
  fk_lua_close_state(p->L);
  free(p);
}

void fk_render_plan_info(const fk_render_plan *p, fk_render_plan_facts *f) {
  f->count = p->count;
  f->fps = p->fps;
  f->width = p->w;
  f->height = p->h;
  f->frames_dir = p->frames_dir;
  f->model = p->model;
  f->name = p->name;
}

int fk_render_plan_frame(fk_render_plan *p, size_t k, int *was_cached, char key[40], fk_err *e) {
  int fatal;
  if (k >= p->count)
    return fk_err_set(e, FK_EINTERNAL, "frame %zu is past the song's %zu frames", k, p->count);
  int rc = one_frame(p, k, key, &fatal, e);
  lua_settop(p->L, p->diffuse_fn);
  *was_cached = rc == FRAME_CACHED;
  return rc == FRAME_CACHED ? FK_OK : rc;
}

/* ---- the frame loop ----------------------------------------------------
 * A frame whose frame(f) or diffusion raises an error (a script bug that
 * one section hits, NaN latents at one frame, a budget kill) is reported
 * and skipped: the render goes on and lists the failures at the end. What
 * every frame would hit (no model, a wrong frame size, an unwritable
 * folder) stops it at once, as do a failure before any frame succeeded and
 * FK_RENDER_MAX_RUN failures in a row. */
#define FK_RENDER_MAX_RUN 3

typedef struct failures {
  size_t n, run;            /* failed frames; how many of the latest in a row */
  size_t lo, hi;            /* the list's last range, still open */
  char list[200], out[200]; /* closed ranges "3, 17-20"; list_of's result */
  char first[1024];
} failures;

/* Appends range lo-hi to buf (of n bytes), or ", ..." once it is full. */
static void add_range(char *buf, size_t n, size_t lo, size_t hi) {
  size_t len = strlen(buf);
  char one[48];
  if (lo == hi)
    snprintf(one, sizeof one, "%s%zu", len ? ", " : "", lo);
  else
    snprintf(one, sizeof one, "%s%zu-%zu", len ? ", " : "", lo, hi);
  if (len + strlen(one) + 6 < n)
    memcpy(buf + len, one, strlen(one) + 1);
  else if (!strstr(buf, "..."))
    memcpy(buf + len, ", ...", 6);
}

static void note(failures *f, size_t k, const char *msg) {
  if (f->n && k == f->hi + 1) {
    f->hi = k;
  } else {
    if (f->n) add_range(f->list, sizeof f->list, f->lo, f->hi);
    f->lo = f->hi = k;
  }
  if (!f->n && msg) snprintf(f->first, sizeof f->first, "%s", msg);
  f->n++;
  f->run++;
}

/* The failed frames as "3, 17-20, ...". */
static const char *list_of(failures *f) {
  memcpy(f->out, f->list, sizeof f->list);
  if (f->n) add_range(f->out, sizeof f->out, f->lo, f->hi);
  return f->out;
}

/* Removes the temporaries (.NNNNNN.png.tmpXXXXXX, .NNNNNN.key.tmpXXXXXX)
 * that a killed render of frames [first, last) left behind. */
static void clean_temps(const char *dir, size_t first, size_t last) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char path[4400];
  while ((de = readdir(d))) {
    char *end;
    if (de->d_name[0] != '.' || !strstr(de->d_name, ".tmp")) continue;
    unsigned long long k = strtoull(de->d_name + 1, &end, 10);
    if (end == de->d_name + 1 || *end != '.' || k < first || k >= last) continue;
    if (fk_path_join(path, sizeof path, dir, de->d_name, NULL) == FK_OK) unlink(path);
  }
  closedir(d);
}

static int run_loop(fk_render_plan *lp, const fk_render_opts *o, fk_render_result *r, fk_err *e) {
  lua_State *L = lp->L;
  size_t count = lp->count;
  snprintf(r->model, sizeof r->model, "%s", lp->model);
  size_t first = o->first >= 0 ? (size_t)o->first : 0;
  size_t last = o->last >= 0 ? (size_t)o->last : count;
  if (first >= count)
    return fk_err_set(e, FK_EUSER, "--frames starts at %zu but the song has %zu frames (0..%zu)",
                      first, count, count ? count - 1 : 0);
  if (last > count) last = count;
  if (o->shards) { /* the shard's equal slice of the range */
    size_t n = last - first;
    last = first + n * (size_t)(o->shard + 1) / (size_t)o->shards;
    first += n * (size_t)o->shard / (size_t)o->shards;
  }
  r->first = first;
  r->last = last;
  /* Only this process's frames: shards sharing the folder write theirs. */
  clean_temps(lp->frames_dir, first, last);

  fk_progress prog;
  fk_progress_start(&prog, last - first, lp->stem, o->quiet || o->assemble);
  failures fl = {0};
  char key[40];
  for (size_t k = first; k < last; k++) {
    int fatal = 0, rc = one_frame(lp, k, key, &fatal, e);
    lua_settop(L, lp->diffuse_fn);
    if (rc == FK_OK) {
      fl.run = 0;
    } else if (rc == FRAME_CACHED) {
      r->cached++;
      fl.run = 0;
    } else if (fatal || (!o->assemble && k == first + fl.n)) {
      return e->code; /* nothing went right yet: the recipe or model is broken */
    } else if (o->assemble) {
      note(&fl, k, NULL); /* missing */
    } else {
      const char *nl = strchr(e->msg, '\n');
      fprintf(stderr, "%sfunky: frame %zu failed, skipped: %.*s\n", o->quiet ? "" : "\n", k,
              nl ? (int)(nl - e->msg) : (int)strlen(e->msg), e->msg);
      note(&fl, k, e->msg);
      if (fl.run >= FK_RENDER_MAX_RUN)
        return fk_err_set(e, FK_EUSER,
                          "%d frames in a row failed (frames %s), so the render stopped; the "
                          "first error: %s",
                          FK_RENDER_MAX_RUN, list_of(&fl), fl.first);
    }
    fk_err_clear(e);
    fk_progress_step(&prog);
  }
  fk_progress_end(&prog);
  r->frames = last - first;
  r->failed = fl.n;
  r->seconds = fk_now() - prog.t0;
  if (o->assemble && fl.n)
    return fk_err_set(e, FK_EUSER,
                      "cannot assemble: %zu of %zu frames are missing or out of date (frames "
                      "%s); render them (e.g. the shards that own them) and assemble again",
                      fl.n, last - first, list_of(&fl));
  if (fl.n)
    return fk_err_set(e, FK_EUSER,
                      "%zu of %zu frames failed (frames %s), so no video was made; the first "
                      "error: %s. The other frames are saved: fix the cause and render again, "
                      "and only the failed frames are redone",
                      fl.n, last - first, list_of(&fl), fl.first);
  /* In-betweens: not in shards (--assemble makes them once every key
   * frame exists), nor for a range a failure left with holes. */
  const char *mux_dir = lp->frames_dir;
  char video_dir[4300];
  size_t factor = 1;
  lua_getfield(L, lp->plan, "interpolate");
  if (lua_istable(L, -1) && !o->shards) {
    int ip = lua_gettop(L);
    lua_getfield(L, ip, "factor");
    factor = (size_t)lua_tointeger(L, -1);
    lua_getfield(L, ip, "path");
    uint64_t id = 0;
    const char *ipath = lua_tostring(L, -1);
    if (fk_render_file_identity(ipath ? ipath : "", &id, e) ||
        fk_path_join(video_dir, sizeof video_dir, lp->out_dir, "video", e) ||
        fk_file_mkdirs(video_dir, e))
      return e->code;
    clean_temps(video_dir, first * factor, last * factor);
    fk_render_interp ri = {lp->plan, lp->frames_dir, video_dir, first,   last,
                           count,    (int)factor,    id,        o->quiet};
    if (fk_render_interpolate(L, &ri, &r->interpolated, &r->interp_cached, e)) return e->code;
    r->factor = (int)factor;
    mux_dir = video_dir;
  }
  lua_settop(L, lp->diffuse_fn);
  if (o->no_video || o->shards) return FK_OK;

  char ffmpeg[4096];
  if (fk_mux_find_ffmpeg(ffmpeg, sizeof ffmpeg) != 0) {
    fprintf(stderr,
            "funky: ffmpeg not found, so no video was made; the frames are in %s "
            "(install ffmpeg with 'apt-get install ffmpeg' and render again)\n",
            mux_dir);
    return FK_OK;
  }
  lua_getfield(L, lp->plan, "audio");
  fk_lua_song *song = luaL_testudata(L, -1, FK_LUA_SONG);
  if (!song || !song->song.samples) return fk_err_set(e, FK_EINTERNAL, "render plan has no song");
  char audio[4300], log[4300];
  if (fk_path_join(audio, sizeof audio, lp->out_dir, "audio.wav", e) ||
      fk_path_join(log, sizeof log, lp->out_dir, "ffmpeg.log", e) ||
      write_audio(&song->song, lp->fps, first, last - first, audio, e))
    return e->code;
  char video_name[300];
  snprintf(video_name, sizeof video_name, "%s.mp4", lp->stem);
  if (fk_path_join(r->video, sizeof r->video, lp->out_dir, video_name, e)) return e->code;
  fk_mux_cfg mc = {.frames_dir = mux_dir,
                   .first = first * factor,
                   .count = (last - first) * factor,
                   .fps = lp->fps * (double)factor,
                   .audio = audio,
                   .out = r->video,
                   .log = log};
  if (fk_mux(&mc, e)) {
    r->video[0] = '\0';
    return e->code;
  }
  unlink(audio);
  return FK_OK;
}

static int info_in(lua_State *L, const fk_render_opts *o, char *out, size_t n, fk_err *e) {
  char tmp[] = "/tmp/funky-info-XXXXXX";
  if (!mkdtemp(tmp)) return fk_err_set(e, FK_EINTERNAL, "cannot make a temporary folder");
  int rc = prepare_state(L, o, e);
  int recipe_mod = lua_gettop(L);
  if (!rc) rc = sandbox(L, o, tmp, e);
  if (!rc) rc = fk_lua_run_file(L, o->recipe, 0, NULL, e);
  if (!rc) {
    lua_getfield(L, recipe_mod, "info");
    rc = fk_lua_pcall(L, 0, 1, e);
  }
  if (!rc) snprintf(out, n, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
  rmdir(tmp);
  return rc;
}

int fk_render_info(const fk_render_opts *o, char *out, size_t n, fk_err *e) {
  if (!fk_file_exists(o->recipe))
    return fk_err_set(e, FK_EUSER, "recipe '%s' not found; give the path of a .lua recipe",
                      o->recipe);
  lua_State *L = fk_lua_new_state(e);
  if (!L) return e->code;
  int rc = info_in(L, o, out, n, e);
  fk_lua_close_state(L);
  return rc;
}

int fk_render(const fk_render_opts *o, fk_render_result *r, fk_err *e) {
  memset(r, 0, sizeof *r);
  fk_render_plan *p;
  if (fk_render_plan_open(o, &p, e)) return e->code;
  int rc = run_loop(p, o, r, e);
  fk_render_plan_close(p);
  return rc;
}
