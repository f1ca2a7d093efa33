/* The recipe sandbox.
 *
 * A recipe runs in its own environment table (its chunk's _ENV, or its
 * function environment on LuaJIT) holding copies of the safe libraries; the
 * engine's own Lua modules keep the real globals. Forbidden names (io, os,
 * debug, package, dofile, ...) raise an error that says why.
 *
 * Runaway code: a count hook adds up instructions per call from C; past
 * the budget it marks the state killed and from then on raises at every
 * instruction, so a pcall in the script may catch the error but cannot run
 * another instruction: the kill unwinds to C. LuaJIT's compiled traces do
 * not run hooks, so the JIT is off in a sandboxed state.
 *
 * Memory: Lua 5.4 states get a counting allocator (funky.c) whose limit
 * the sandbox sets; on LuaJIT (no custom allocators in 64-bit builds) the
 * hook checks the heap size instead. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lua/fk_lua.h"
#ifdef FUNKY_LUAJIT
#include <luajit.h>
#endif

#define HOOK_STEP 10000
#define ENV_KEY "funky.sandbox.env"

static const char *const forbidden[] = {"io",     "os",       "debug",     "package",
                                        "dofile", "loadfile", "coroutine", "jit",
                                        "module", "newproxy", "gcinfo",    NULL};

static int env_index(lua_State *L) {
  const char *k = lua_tostring(L, 2);
  for (int i = 0; k && forbidden[i]; i++)
    if (!strcmp(k, forbidden[i]))
      return luaL_error(L,
                        "'%s' is not available in a sandboxed recipe (only base, string, table, "
                        "math, utf8 and funky); run your own scripts with --trust",
                        k);
  if (k && !strcmp(k, "params")) { /* recipe{} publishes the parameters here */
    lua_getglobal(L, "params");
    return 1;
  }
  return 0;
}

/* load(chunk [, name [, mode [, env]]]): text only, the sandbox by default. */
static int safe_load(lua_State *L) {
  int nargs = lua_gettop(L);
  size_t len;
  const char *name = luaL_optstring(L, 2, "=(load)");
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_argerror(L, 1, "a sandboxed recipe may load strings only");
  const char *src = lua_tolstring(L, 1, &len);
  if (len && src[0] == 0x1b) {
    lua_pushnil(L);
    lua_pushliteral(L, "binary (precompiled) chunks are not allowed in a sandboxed recipe");
    return 2;
  }
  if (luaL_loadbuffer(L, src, len, name) != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  int fn = lua_gettop(L);
  if (nargs >= 4 && !lua_isnil(L, 4))
    lua_pushvalue(L, 4);
  else
    lua_getfield(L, LUA_REGISTRYINDEX, ENV_KEY);
#if LUA_VERSION_NUM >= 502
  lua_setupvalue(L, fn, 1);
#else
  lua_setfenv(L, fn);
#endif
  lua_pushvalue(L, fn);
  return 1;
}

static int safe_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strcmp(name, "funky") && strncmp(name, "funky.", 6))
    return luaL_error(L,
                      "require '%s': a sandboxed recipe can require the funky modules only; run "
                      "your own scripts with --trust",
                      name);
  lua_getglobal(L, "require");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

static int safe_collectgarbage(lua_State *L) {
  const char *opt = luaL_optstring(L, 1, "collect");
  if (strcmp(opt, "collect") && strcmp(opt, "count") && strcmp(opt, "step"))
    return luaL_argerror(L, 1, "only \"collect\", \"count\" and \"step\" in a sandboxed recipe");
  lua_getglobal(L, "collectgarbage");
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* A shallow copy of library `name` (so a recipe replacing string.rep
 * changes its own copy only), without the `drop` entry. */
static void copy_lib(lua_State *L, int env, const char *name, const char *drop) {
  lua_getglobal(L, name);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -4);
  }
  if (drop) {
    lua_pushnil(L);
    lua_setfield(L, -2, drop);
  }
  lua_setfield(L, env, name);
  lua_pop(L, 1);
}

static void hook(lua_State *L, lua_Debug *ar) {
  fk_lua_ctx *c = fk_lua_ctx_get(L);
  if (c->killed) luaL_error(L, "%s", c->kill_msg);
  if (ar->event == LUA_HOOKCOUNT) c->used += HOOK_STEP;
  int over = c->used > c->budget;
#ifdef FUNKY_LUAJIT
  int mem = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 > c->mem_limit;
#else
  int mem = 0;
#endif
  if (!over && !mem) return;
  c->killed = 1;
  if (over)
    snprintf(c->kill_msg, sizeof c->kill_msg,
             "recipe sandbox: stopped after %.0f instructions in one call (an endless loop?); "
             "run your own scripts with --trust to lift the limit",
             c->budget);
  else
    snprintf(c->kill_msg, sizeof c->kill_msg,
             "recipe sandbox: the recipe's Lua heap grew over %zu MB; run your own scripts with "
             "--trust to lift the limit",
             c->mem_limit >> 20);
  lua_sethook(L, hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "%s", c->kill_msg);
}

static int real_root(const char *in, char *out, fk_err *e) {
  if (!realpath(in, out))
    return fk_err_set(e, FK_EUSER, "sandbox: cannot resolve folder '%s': %s", in, strerror(errno));
  return FK_OK;
}

int fk_lua_sandbox(lua_State *L, const fk_lua_sandbox_opts *o, fk_err *e) {
  fk_lua_ctx *c = fk_lua_ctx_get(L);
  c->sandboxed = 1;
  c->budget = o->instructions > 0 ? o->instructions : 2e9;
  c->mem_limit = o->memory ? o->memory : (size_t)2 << 30;
  fk_lua_set_heap_limit(L, c->mem_limit);
  c->n_read_roots = 0;
  for (int i = 0; i < o->n_read_roots && i < FK_LUA_MAX_ROOTS; i++)
    if (real_root(o->read_roots[i], c->read_roots[c->n_read_roots++], e)) return e->code;
  c->write_root[0] = 0;
  if (o->write_root && real_root(o->write_root, c->write_root, e)) return e->code;
  lua_newtable(L);
  int env = lua_gettop(L);
  static const char *const base[] = {
      "assert",       "error",        "ipairs",   "next",     "pairs",  "pcall",
      "print",        "rawequal",     "rawget",   "rawlen",   "rawset", "select",
      "setmetatable", "getmetatable", "tonumber", "tostring", "type",   "xpcall",
      "unpack",       "_VERSION",     "recipe",   "timeline", NULL};
  for (int i = 0; base[i]; i++) {
    lua_getglobal(L, base[i]);
    lua_setfield(L, env, base[i]);
  }
  copy_lib(L, env, "string", "dump");
  copy_lib(L, env, "table", NULL);
  copy_lib(L, env, "math", NULL);
  copy_lib(L, env, "utf8", NULL);
  lua_pushcfunction(L, safe_load);
  lua_setfield(L, env, "load");
  lua_pushcfunction(L, safe_load);
  lua_setfield(L, env, "loadstring");
  lua_pushcfunction(L, safe_require);
  lua_setfield(L, env, "require");
  lua_pushcfunction(L, safe_collectgarbage);
  lua_setfield(L, env, "collectgarbage");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "funky");
  if (fk_lua_pcall(L, 1, 1, e)) return e->code;
  lua_setfield(L, env, "funky");
  lua_pushvalue(L, env);
  lua_setfield(L, env, "_G");
  lua_newtable(L);
  lua_pushcfunction(L, env_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, env);
  lua_setfield(L, LUA_REGISTRYINDEX, ENV_KEY);
  /* the string metatable is shared by every string of the state: hide it
   * so a recipe cannot rewire string methods under the engine's modules */
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
#ifdef FUNKY_LUAJIT
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
#endif
#ifdef FUNKY_LUAJIT
  /* calls too: one string.rep can grow the heap by gigabytes */
  lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKCALL, HOOK_STEP);
#else
  lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_STEP);
#endif
  return FK_OK;
}

/* Is the absolute real path p inside root? */
static int inside(const char *p, const char *root) {
  size_t n = strlen(root);
  return n && !strncmp(p, root, n) && (p[n] == '/' || p[n] == 0 || (n == 1 && root[0] == '/'));
}

void fk_lua_check_path(lua_State *L, const char *path, int write) {
  fk_lua_ctx *c = fk_lua_ctx_get(L);
  if (!c->sandboxed) return;
  char real[PATH_MAX], dir[PATH_MAX];
  /* a file to be written need not exist: resolve its folder */
  if (!realpath(path, real)) {
    if (!write) return; /* nothing to read there: the open will say so */
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (n >= sizeof dir) n = sizeof dir - 1;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = 0;
    if (slash == path) snprintf(dir, sizeof dir, "/");
    if (!realpath(dir, real))
      luaL_error(L, "sandbox: cannot write '%s': its folder does not exist", path);
    size_t l = strlen(real);
    snprintf(real + l, sizeof real - l, "/%s", slash ? slash + 1 : path);
  }
  if (write) {
    if (!inside(real, c->write_root))
      luaL_error(L,
                 "sandbox: a recipe may write only under its output folder %s, not '%s'; run your "
                 "own scripts with --trust",
                 c->write_root[0] ? c->write_root : "(none)", path);
    return;
  }
  for (int i = 0; i < c->n_read_roots; i++)
    if (inside(real, c->read_roots[i])) return;
  if (inside(real, c->write_root)) return;
  luaL_error(L,
             "sandbox: a recipe may read only under its own folder and the folders given with "
             "--allow, not '%s'; run your own scripts with --trust",
             path);
}

void fk_lua_script_global(lua_State *L, const char *name) {
  if (fk_lua_ctx_get(L)->sandboxed) {
    lua_getfield(L, LUA_REGISTRYINDEX, ENV_KEY);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
  } else {
    lua_getglobal(L, name);
  }
}

/* Loads a script file as text into the sandbox environment. */
int fk_lua_sandbox_load(lua_State *L, const char *path) {
  int rc = luaL_loadfilex(L, path, "t");
  if (rc != 0) return rc;
  lua_getfield(L, LUA_REGISTRYINDEX, ENV_KEY);
#if LUA_VERSION_NUM >= 502
  lua_setupvalue(L, -2, 1);
#else
  lua_setfenv(L, -2);
#endif
  return 0;
}
