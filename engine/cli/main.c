#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lua/fk_lua.h"

static const char USAGE[] =
    "usage: funky <command> [options]\n"
    "\n"
    "commands:\n"
    "  render RECIPE.lua [--set key=value]... [--out DIR] [--frames A:B] [--no-video] [--quiet]\n"
    "         [--trust] [--allow DIR]... [--max-instructions N] [--max-memory MB]\n"
    "      render a recipe: frames to DIR/frames/NNNNNN.png (default DIR: out/<recipe>),\n"
    "      then DIR/<recipe>.mp4 with the song (needs ffmpeg). A:B is a frame range\n"
    "      from 0, B excluded; either end may be left out.\n"
    "      Recipes run sandboxed: no io/os/package/debug, reads under the recipe's folder,\n"
    "      ./models, --allow folders and files named by --set; writes under DIR; an\n"
    "      instruction budget per call (default 2e9) and a heap budget (default 2048 MB).\n"
    "      --trust lifts all of it for your own scripts.\n"
    "  recipe info RECIPE.lua [--trust]\n"
    "      the recipe's name, version, author, licence, description and parameters\n"
    "      (type, default, allowed values) for --set\n"
    "  run FILE.lua [args...]\n"
    "      run a Lua file with the funky modules (require \"funky\"); args in `arg` and `...`\n"
    "  info --gpu\n"
    "      the Vulkan device the engine picks (FUNKY_VK_DEVICE=index|name overrides) and\n"
    "      its capability table\n"
    "  info MODEL\n"
    "      a model folder or .safetensors checkpoint: layout, family, configuration, dtypes,\n"
    "      parameters per part, missing/wrong/unexpected tensors (exit 1 if not loadable)\n"
    "  model random --family sd15|sd21|tiny|rife --out PATH [--dtype f16|f32] [--seed N]\n"
    "      a random-weight model of exact architecture: a PATH ending in .safetensors gives\n"
    "      a single-file checkpoint, any other a diffusers folder\n"
    "  bench audio [--frames N] [--size WxH] [--no-reference]\n"
    "      frames/s of spectra + noise field + blur, against the seed's numpy/PIL way\n"
    "  bench kernels [--quick] [--no-naive] [--reps N]\n"
    "      Vulkan kernels at SD 1.5's shapes against OpenBLAS and naive shaders\n"
    "  bench text --model M [--device cpu] [--f32] [--reps N] [--no-reference]\n"
    "      CLIP text encoder time per prompt, against the plain C reference backend\n"
    "  bench sd --model M [--size 256] [--steps N] [--device cpu] [--f32]\n"
    "      UNet time per denoising step (a CFG pair) with GFLOP/s and peak memory\n"
    "\n"
    "  --help     this text\n"
    "  --version  the engine version\n"
    "\n"
    "environment: FUNKY_LUA_DEV=1 loads lua/funky/*.lua from the source tree instead of\n"
    "the copy built into the binary; FUNKY_FFMPEG names the ffmpeg to run;\n"
    "FUNKY_TRACEBACK=1 prints the Lua traceback after an error message.\n"
    "exit status: 0 ok, 1 bad input (the message says how to fix it), 2 internal error.\n";

int fk_cli_fail(const fk_err *e) {
  /* One line by default; the Lua traceback after it on request. */
  const char *msg = e->msg[0] ? e->msg : "unknown error";
  const char *nl = strchr(msg, '\n');
  const char *trace = getenv("FUNKY_TRACEBACK");
  if (nl && !(trace && !strcmp(trace, "1")))
    fprintf(stderr, "funky: %.*s\n", (int)(nl - msg), msg);
  else
    fprintf(stderr, "funky: %s\n", msg);
  return e->code == FK_EINTERNAL ? 2 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(USAGE, stderr);
    return 1;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    fputs(USAGE, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("funky %s (%s)\n", FUNKY_VERSION, LUA_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "run")) return fk_cli_run(argc - 2, argv + 2);
  if (!strcmp(cmd, "render")) return fk_cli_render(argc - 2, argv + 2);
  if (!strcmp(cmd, "bench")) return fk_cli_bench(argc - 2, argv + 2);
  if (!strcmp(cmd, "info")) return fk_cli_info(argc - 2, argv + 2);
  if (!strcmp(cmd, "model")) return fk_cli_model(argc - 2, argv + 2);
  if (!strcmp(cmd, "recipe")) return fk_cli_recipe(argc - 2, argv + 2);
  fprintf(stderr, "funky: unknown command '%s'; see funky --help\n", cmd);
  return 1;
}
