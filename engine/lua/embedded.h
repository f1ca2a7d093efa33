/* The Lua half of the API, compiled into the binary (see tools/embed_lua.cmake). */
#ifndef FK_LUA_EMBEDDED_H
#define FK_LUA_EMBEDDED_H

#include <stddef.h>

typedef struct fk_embedded_lua {
  const char *module; /* "funky.schedule" */
  const char *path;   /* "lua/funky/schedule.lua", relative to the source tree */
  const char *src;
  size_t len;
} fk_embedded_lua;

extern const fk_embedded_lua fk_embedded_lua_files[];

#endif
