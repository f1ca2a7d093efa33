/* Lua states with the funky modules. `require "funky"` loads lua/funky/init.lua
 * (the Lua half), which requires "funky.native" (the C modules). The Lua
 * half is embedded in the binary; FUNKY_LUA_DEV=1 loads it from the source
 * tree's lua/ folder instead (or from $FUNKY_LUA_DIR), for iterating without
 * rebuilding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/embedded.h"
#include "lua/fk_lua.h"

/*** @module funky
 * `local funky = require "funky"` in a recipe or any file run with `funky run`: the C modules
 * (audio, bins, colour, draw, image, noise, sd, tensor) and the Lua ones (recipe, schedule,
 * time). Times are in seconds and frequencies in Hz unless a name says otherwise.
 * @field version string the engine's version
 * @field lua string the Lua underneath: "lua5.4" or "luajit"
 */
static int open_native(lua_State *L) {
  fk_lua_floats_register(L);
  lua_newtable(L);
  static const struct {
    const char *name;
    lua_CFunction open;
  } mods[] = {
      {"audio", fk_lua_open_audio},   {"bins", fk_lua_open_bins}, {"image", fk_lua_open_image},
      {"noise", fk_lua_open_noise},   {"draw", fk_lua_open_draw}, {"colour", fk_lua_open_colour},
      {"tensor", fk_lua_open_tensor}, {"sd", fk_lua_open_sd},     {"interp", fk_lua_open_interp}};
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
    mods[i].open(L);
    lua_setfield(L, -2, mods[i].name);
  }
  lua_pushcfunction(L, fk_lua_floats_ctor);
  lua_setfield(L, -2, "floats");
  lua_pushstring(L, FUNKY_VERSION);
  lua_setfield(L, -2, "version");
#ifdef FUNKY_LUAJIT
  lua_pushliteral(L, "luajit");
#else
  lua_pushliteral(L, "lua5.4");
#endif
  lua_setfield(L, -2, "lua");
  return 1;
}

static const char *dev_dir(void) {
  const char *dev = getenv("FUNKY_LUA_DEV");
  if (!dev || strcmp(dev, "1")) return NULL;
  const char *dir = getenv("FUNKY_LUA_DIR");
  return dir && *dir ? dir : FUNKY_SOURCE_DIR "/lua";
}

/* Searcher for "funky" and "funky.*" modules. */
static int search_embedded(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strcmp(name, "funky") && strncmp(name, "funky.", 6)) {
    lua_pushfstring(L, "\n\tno embedded module '%s'", name);
    return 1;
  }
  const char *dir = dev_dir();
  for (const fk_embedded_lua *m = fk_embedded_lua_files; m->module; m++) {
    if (strcmp(m->module, name)) continue;
    int rc;
    if (dir) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", dir, m->path + 4); /* strip "lua/" */
      rc = luaL_loadfile(L, path);
    } else {
      char chunk[256];
      snprintf(chunk, sizeof chunk, "@%s", m->path);
      rc = luaL_loadbuffer(L, m->src, m->len, chunk);
    }
    if (rc != 0) return lua_error(L);
    lua_pushstring(L, m->path);
    return 2;
  }
  lua_pushfstring(L, "\n\tno embedded module '%s'", name);
  return 1;
}

static void add_searcher(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, open_native);
  lua_setfield(L, -2, "funky.native");
  lua_pop(L, 1);
#if LUA_VERSION_NUM >= 502
  lua_getfield(L, -1, "searchers");
#else
  lua_getfield(L, -1, "loaders");
#endif
  /* Insert at position 2: after preload, before the file system. */
  int n = (int)fk_lua_rawlen(L, -1);
  for (int i = n; i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, search_embedded);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}

#ifndef FUNKY_LUAJIT
/* Lua 5.4 heap accounting, so the sandbox can cap a recipe's memory. */
typedef struct heap {
  size_t used, limit;
} heap;

static void *heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  heap *h = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    h->used -= old;
    return NULL;
  }
  if (nsize > old && h->used - old + nsize > h->limit) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) h->used = h->used - old + nsize;
  return p;
}
#endif

#ifndef FUNKY_LUAJIT
static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "funky: unprotected Lua error (a bug): %s\n", msg ? msg : "?");
  return 0; /* Lua aborts */
}
#endif

lua_State *fk_lua_new_state(fk_err *e) {
#ifdef FUNKY_LUAJIT
  lua_State *L = luaL_newstate();
#else
  heap *h = calloc(1, sizeof *h);
  if (h) h->limit = SIZE_MAX;
  lua_State *L = h ? lua_newstate(heap_alloc, h) : NULL;
  if (!L)
    free(h);
  else
    lua_atpanic(L, panic);
#endif
  if (!L) {
    fk_err_set(e, FK_EINTERNAL, "cannot create a Lua state (out of memory)");
    return NULL;
  }
  luaL_openlibs(L);
  fk_lua_ctx_get(L);
  add_searcher(L);
  return L;
}

void fk_lua_set_heap_limit(lua_State *L, size_t bytes) {
#ifndef FUNKY_LUAJIT
  void *h;
  lua_getallocf(L, &h);
  ((heap *)h)->limit = bytes;
#else
  (void)L, (void)bytes; /* LuaJIT: the sandbox's hook watches the heap instead */
#endif
}

void fk_lua_close_state(lua_State *L) {
  if (!L) return;
#ifndef FUNKY_LUAJIT
  void *h;
  lua_getallocf(L, &h);
  lua_close(L);
  free(h);
#else
  lua_close(L);
#endif
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int fk_lua_pcall(lua_State *L, int nargs, int nresults, fk_err *e) {
  fk_lua_ctx *c = fk_lua_ctx_get(L);
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  if (c->depth++ == 0) c->used = 0; /* the instruction budget is per call from C */
  int rc = lua_pcall(L, nargs, nresults, base);
  c->depth--;
  lua_remove(L, base);
  if (rc == 0) return FK_OK;
  if (c->killed) {
    lua_pop(L, 1);
    fk_err_set(e, FK_EUSER, "%s", c->kill_msg);
    return FK_EUSER;
  }
  if (rc == LUA_ERRMEM && c->sandboxed) {
    lua_pop(L, 1);
    return fk_err_set(e, FK_EUSER,
                      "recipe sandbox: the recipe's Lua heap would grow over %zu MB; run your own "
                      "scripts with --trust to lift the limit",
                      c->mem_limit >> 20);
  }
  const char *msg = lua_tostring(L, -1);
  int code = rc == LUA_ERRMEM || fk_lua_ctx_get(L)->internal_error ? FK_EINTERNAL : FK_EUSER;
  fk_err_set(e, code, "%s", msg ? msg : "unknown Lua error");
  lua_pop(L, 1);
  return code;
}

int fk_lua_run_file(lua_State *L, const char *path, int argc, char **argv, fk_err *e) {
  lua_createtable(L, argc, 1);
  lua_pushstring(L, path);
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "arg");
  if ((fk_lua_ctx_get(L)->sandboxed ? fk_lua_sandbox_load(L, path) : luaL_loadfile(L, path)) != 0) {
    const char *msg = lua_tostring(L, -1);
    fk_err_set(e, FK_EUSER, "%s", msg ? msg : path);
    lua_pop(L, 1);
    return FK_EUSER;
  }
  for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  return fk_lua_pcall(L, argc, 0, e);
}
