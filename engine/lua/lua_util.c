/* Helpers shared by every binding file: context, errors, option fields,
 * class registration. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua/fk_lua.h"

static const char CTX_KEY = 'k'; /* address used as the registry key */

fk_lua_ctx *fk_lua_ctx_get(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&CTX_KEY);
  lua_rawget(L, LUA_REGISTRYINDEX);
  fk_lua_ctx *c = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!c) {
    lua_pushlightuserdata(L, (void *)&CTX_KEY);
    c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  return c;
}

int fk_lua_raise(lua_State *L, const fk_err *e) {
  if (e->code == FK_EINTERNAL) fk_lua_ctx_get(L)->internal_error = 1;
  return luaL_error(L, "%s", e->msg[0] ? e->msg : "unknown error");
}

int fk_lua_field_error(lua_State *L, int arg, const char *name, const char *msg) {
  char buf[512];
  snprintf(buf, sizeof buf, "field '%s' %s", name, msg);
  return luaL_argerror(L, arg, buf);
}

static int get_field(lua_State *L, int t, const char *name) {
  if (t == 0) return LUA_TNIL;
  lua_getfield(L, t, name);
  return lua_type(L, -1);
}

double fk_lua_num_field(lua_State *L, int t, int arg, const char *name, double dflt) {
  int ty = get_field(L, t, name);
  if (ty == LUA_TNIL || ty == LUA_TNONE) {
    if (t) lua_pop(L, 1);
    return dflt;
  }
  if (ty != LUA_TNUMBER) fk_lua_field_error(L, arg, name, "must be a number");
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!isfinite(v)) fk_lua_field_error(L, arg, name, "must be a finite number");
  return v;
}

int64_t fk_lua_int_field(lua_State *L, int t, int arg, const char *name, int64_t dflt) {
  double v = fk_lua_num_field(L, t, arg, name, (double)dflt);
  if (v != floor(v) || fabs(v) > 9.0e15) fk_lua_field_error(L, arg, name, "must be an integer");
  return (int64_t)v;
}

const char *fk_lua_str_field(lua_State *L, int t, int arg, const char *name, const char *dflt) {
  int ty = get_field(L, t, name);
  if (ty == LUA_TNIL || ty == LUA_TNONE) {
    if (t) lua_pop(L, 1);
    return dflt;
  }
  if (ty != LUA_TSTRING) fk_lua_field_error(L, arg, name, "must be a string");
  /* The string stays alive: option tables are on the caller's stack. */
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1);
  return s;
}

int64_t fk_lua_check_int(lua_State *L, int arg) {
  double v = luaL_checknumber(L, arg);
  if (v != floor(v) || fabs(v) > 9.0e15) luaL_argerror(L, arg, "must be an integer");
  return (int64_t)v;
}

void fk_lua_new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      const luaL_Reg *meta) {
  if (!luaL_newmetatable(L, name)) {
    lua_pop(L, 1);
    return;
  }
  if (meta) luaL_setfuncs(L, meta, 0);
  lua_getfield(L, -1, "__index");
  int has_index = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (!has_index) {
    lua_newtable(L);
    if (methods) luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  } else if (methods) {
    /* A custom __index (e.g. numeric indexing) finds methods here. */
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "methods");
  }
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}
