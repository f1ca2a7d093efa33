/* Commands of the funky program. Each returns the process exit status:
 * 0 ok, 1 user error (the message says what and how to fix), 2 internal. */
#ifndef FK_CLI_CLI_H
#define FK_CLI_CLI_H

#include "core/error.h"
#include "nn/backend.h"

int fk_cli_run(int argc, char **argv);
int fk_cli_render(int argc, char **argv);
int fk_cli_live(int argc, char **argv);
int fk_cli_bench(int argc, char **argv);
int fk_cli_info(int argc, char **argv);
int fk_cli_info_model(const char *path);
int fk_cli_model(int argc, char **argv);
int fk_cli_recipe(int argc, char **argv);
/* Prints "funky: <message>" and returns the exit status for e. */
int fk_cli_fail(const fk_err *e);
/* --device D of render and run: checks the name and makes it the default
 * of funky.sd.load (through FUNKY_DEVICE) for the rest of the process. */
int fk_cli_device(const char *name, fk_err *e);
/* --device D of the benchmarks: o's kind and device, or an error naming the choices. */
int fk_cli_device_opts(const char *name, fk_nn_opts *o, fk_err *e);

#endif
