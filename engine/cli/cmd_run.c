#include <stdio.h>

#include "cli/cli.h"
#include "lua/fk_lua.h"

int fk_cli_run(int argc, char **argv) {
  if (argc < 1) {
    fputs("funky run: give a Lua file: funky run FILE.lua [args...]\n", stderr);
    return 1;
  }
  fk_err e = {0};
  lua_State *L = fk_lua_new_state(&e);
  if (!L) return fk_cli_fail(&e);
  int rc = fk_lua_run_file(L, argv[0], argc - 1, argv + 1, &e);
  fk_lua_close_state(L);
  return rc ? fk_cli_fail(&e) : 0;
}
