#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int fk_cli_bench_audio(int argc, char **argv);
int fk_cli_bench_kernels(int argc, char **argv);
int fk_cli_bench_text(int argc, char **argv);
int fk_cli_bench_sd(int argc, char **argv);
int fk_cli_bench_interp(int argc, char **argv);

int fk_cli_bench(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "audio")) return fk_cli_bench_audio(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "kernels")) return fk_cli_bench_kernels(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "text")) return fk_cli_bench_text(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "sd")) return fk_cli_bench_sd(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "interp")) return fk_cli_bench_interp(argc - 1, argv + 1);
  fprintf(stderr, "funky bench: name a benchmark: audio, kernels, text, sd, interp\n");
  return 1;
}
