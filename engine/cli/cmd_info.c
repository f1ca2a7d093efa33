#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "gpu/context.h"

int fk_cli_info(int argc, char **argv) {
  if (argc == 1 && strcmp(argv[0], "--gpu")) return fk_cli_info_model(argv[0]);
  if (argc < 1 || strcmp(argv[0], "--gpu")) {
    fprintf(stderr, "funky info: use 'funky info --gpu' or 'funky info MODEL'\n");
    return 1;
  }
  fk_err e = {0};
  fk_vk *vk;
  if (fk_vk_create(&vk, NULL, &e)) return fk_cli_fail(&e);
  char buf[4096];
  fk_vk_describe(vk, buf, sizeof buf);
  fputs(buf, stdout);
  fk_vk_destroy(vk);
  return 0;
}
