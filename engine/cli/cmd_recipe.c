/* funky recipe info FILE: a recipe's metadata and typed parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "render/render.h"

int fk_cli_recipe(int argc, char **argv) {
  fk_err e = {0};
  if (argc < 2 || strcmp(argv[0], "info")) {
    fk_err_set(&e, FK_EUSER, "recipe: use 'funky recipe info RECIPE.lua [--trust]'");
    return fk_cli_fail(&e);
  }
  fk_render_opts o = {.recipe = argv[1], .first = -1, .last = -1};
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--trust"))
      o.trusted = 1;
    else {
      fk_err_set(&e, FK_EUSER, "recipe info: unknown option '%s'", argv[i]);
      return fk_cli_fail(&e);
    }
  }
  char *text = malloc(65536);
  if (!text) return fk_cli_fail(&(fk_err){FK_EINTERNAL, "out of memory"});
  int rc = fk_render_info(&o, text, 65536, &e);
  if (!rc) puts(text);
  free(text);
  return rc ? fk_cli_fail(&e) : 0;
}
