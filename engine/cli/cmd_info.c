#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "gpu/context.h"
#include "nn/backend.h"

int fk_cli_info(int argc, char **argv) {
  if (argc == 1 && strcmp(argv[0], "--gpu")) return fk_cli_info_model(argv[0]);
  if (argc < 1 || strcmp(argv[0], "--gpu")) {
    fprintf(stderr, "funky info: use 'funky info --gpu' or 'funky info MODEL'\n");
    return 1;
  }
  fk_err e = {0};
  /* The CPU backend first: it is there even where Vulkan is not. */
  fk_nn_opts co = {.kind = FK_NN_CPU};
  fk_nn *cpu;
  if (fk_nn_open(&co, &cpu, &e)) return fk_cli_fail(&e);
  printf("CPU backend (--device cpu): %s; FUNKY_THREADS=N changes the thread count\n\n",
         fk_nn_name(cpu));
  fk_nn_close(cpu);
  fk_vk *vk;
  if (fk_vk_create(&vk, NULL, &e)) return fk_cli_fail(&e);
  char buf[4096];
  fk_vk_describe(vk, buf, sizeof buf);
  fputs(buf, stdout);
  fk_vk_destroy(vk);
  return 0;
}
