#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lua/fk_lua.h"

int fk_cli_run(int argc, char **argv) {
  if (argc < 1) {
    fputs("funky run: give a Lua file: funky run FILE.lua [args...]\n", stderr);
    return 1;
  }
  fk_err e = {0};
  if (argc >= 2 && !strcmp(argv[0], "--device")) {
    if (fk_cli_device(argv[1], &e)) return fk_cli_fail(&e);
    argc -= 2;
    argv += 2;
  }
  if (argc < 1) {
    fputs("funky run: give a Lua file: funky run [--device D] FILE.lua [args...]\n", stderr);
    return 1;
  }
  lua_State *L = fk_lua_new_state(&e);
  if (!L) return fk_cli_fail(&e);
  int rc = fk_lua_run_file(L, argv[0], argc - 1, argv + 1, &e);
  fk_lua_close_state(L);
  return rc ? fk_cli_fail(&e) : 0;
}
