#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lua/fk_lua.h"
#include "nn/backend.h"

static const char USAGE[] =
    "usage: funky <command> [options]\n"
    "\n"
    "commands:\n"
    "  render RECIPE.lua [--set key=value]... [--out DIR] [--frames A:B] [--no-video] [--quiet]\n"
    "         [--trust] [--allow DIR]... [--max-instructions N] [--max-memory MB]\n"
    "         [--shard i/n|auto] [--assemble] [--device D]\n"
    "      render a recipe: frames to DIR/frames/NNNNNN.png (default DIR: out/<recipe>),\n"
    "      then DIR/<recipe>.mp4 with the song (needs ffmpeg). A:B is a frame range\n"
    "      from 0, B excluded; either end may be left out.\n"
    "      Recipes run sandboxed: no io/os/package/debug, reads under the recipe's folder,\n"
    "      ./models, --allow folders and files named by --set; writes under DIR; an\n"
    "      instruction budget per call (default 2e9) and a heap budget (default 2048 MB).\n"
    "      --trust lifts all of it for your own scripts.\n"
    "      A frame whose frame(f) or diffusion fails is reported and skipped (3 in a row\n"
    "      stop the render); the finished frames stay cached, so a re-render redoes\n"
    "      only what failed or changed. --shard i/n renders the i-th of n slices (from\n"
    "      0; auto: a Slurm job array or Kubernetes Indexed Job), frames only, into a\n"
    "      shared DIR; --assemble then makes the video, or names the missing frames.\n"
    "  live RECIPE.lua [--port P] [--preview-size WxH] [--set key=value]... [--out DIR]\n"
    "       [--frames A:B] [--trust] [--allow DIR]...\n"
    "      live preview: serves a page on http://127.0.0.1:P/ (default 8421; 0: any free\n"
    "      port, printed) that updates by itself. Every save of the recipe that changes\n"
    "      it (the folder is watched, so editors that save by rename work) is loaded\n"
    "      into a fresh sandboxed state and checked (declarations, plan, frame(f) at the\n"
    "      playhead); a version that fails leaves the last good one live and the page\n"
    "      shows the error with file:line. Frames whose cache key changed are rendered\n"
    "      again at the preview size (default: the timeline's, longer side scaled to\n"
    "      256), nearest to the playhead first (click a frame or drag the slider to move\n"
    "      it), into DIR/frames (default DIR: out/<recipe>/live). Ctrl-C stops.\n"
    "  recipe info RECIPE.lua [--trust]\n"
    "      the recipe's name, version, author, licence, description and parameters\n"
    "      (type, default, allowed values) for --set\n"
    "  run [--device D] FILE.lua [args...]\n"
    "      run a Lua file with the funky modules (require \"funky\"); args in `arg` and `...`\n"
    "  info --gpu\n"
    "      the CPU backend (threads; FUNKY_THREADS=N) and the Vulkan device the engine\n"
    "      picks (FUNKY_VK_DEVICE=index|name overrides) with its capability table.\n"
    "      FUNKY_VK_NO_FP16=1 keeps every tensor fp32;\n"
    "      FUNKY_VK_MEMORY_LIMIT=MiB caps device memory as a smaller GPU would;\n"
    "      FUNKY_PROFILE=1 prints GPU (or CPU) time per kernel at the end\n"
    "  info MODEL\n"
    "      a model folder or .safetensors checkpoint (Stable Diffusion, FILM or RIFE): layout,\n"
    "      family, configuration, dtypes, parameters per part, missing/wrong/unexpected\n"
    "      tensors (exit 1 if not loadable)\n"
    "  model random --family sd15|sd21|tiny|rife --out PATH [--dtype f16|f32] [--seed N]\n"
    "      a random-weight model of exact architecture: a PATH ending in .safetensors gives\n"
    "      a single-file checkpoint, any other a diffusers folder\n"
    "  bench audio [--frames N] [--size WxH] [--no-reference]\n"
    "      frames/s of spectra + noise field + blur, against the seed's numpy/PIL way\n"
    "  bench kernels [--quick] [--no-naive] [--reps N] [--device D]\n"
    "      kernels at SD 1.5's shapes against OpenBLAS and naive shaders\n"
    "  bench text --model M [--device D] [--f32] [--reps N] [--no-reference]\n"
    "      CLIP text encoder time per prompt, against the plain C reference backend\n"
    "  bench sd --model M [--size 256] [--steps N] [--device D] [--f32]\n"
    "      UNet time per denoising step (a CFG pair) with GFLOP/s and peak memory\n"
    "  bench interp --model M [--size WxH] [--device D] [--f32] [--no-pad] [--reps N]\n"
    "               [--no-reference]\n"
    "      FILM or RIFE (told from the file) time per in-between frame at t = 0.5\n"
    "      (default 512x512, padded to 64; --no-pad: FILM as it is, RIFE to 32) with\n"
    "      GFLOP/s and peak memory, against the same network in torch on the CPU over\n"
    "      the same threads (tests/reference/film_ref.py, rife_ref.py)\n"
    "  --device D: cpu (OpenBLAS + threads; FUNKY_THREADS=N), gpu or vulkan (Vulkan's pick),\n"
    "      lavapipe (Mesa's CPU Vulkan), auto (a real GPU if present, else cpu)\n"
    "\n"
    "  --help     this text\n"
    "  --version  the engine version\n"
    "\n"
    "environment: FUNKY_LUA_DEV=1 loads lua/funky/*.lua from the source tree instead of\n"
    "the copy built into the binary; FUNKY_FFMPEG names the ffmpeg to run;\n"
    "FUNKY_TRACEBACK=1 prints the Lua traceback after an error message;\n"
    "FUNKY_DEVICE=D is the device of funky.sd.load when a script names none.\n"
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

int fk_cli_device_opts(const char *name, fk_nn_opts *o, fk_err *e) {
  if (fk_nn_parse_device(name, o))
    return fk_err_set(e, FK_EUSER, "--device '%s': use " FK_NN_DEVICES, name);
  return FK_OK;
}

int fk_cli_device(const char *name, fk_err *e) {
  fk_nn_opts o = {0};
  if (fk_cli_device_opts(name, &o, e)) return e->code;
  if (setenv("FUNKY_DEVICE", name, 1))
    return fk_err_set(e, FK_EINTERNAL, "cannot set FUNKY_DEVICE for --device");
  return FK_OK;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(USAGE, stderr);
    return 1;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    /* The text is over a pipe buffer (4 KiB): a reader that stops at its
     * first match (grep -q) must not turn the rest into a SIGPIPE death. */
    signal(SIGPIPE, SIG_IGN);
    fputs(USAGE, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("funky %s (%s)\n", FUNKY_VERSION, LUA_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "run")) return fk_cli_run(argc - 2, argv + 2);
  if (!strcmp(cmd, "render")) return fk_cli_render(argc - 2, argv + 2);
  if (!strcmp(cmd, "live")) return fk_cli_live(argc - 2, argv + 2);
  if (!strcmp(cmd, "bench")) return fk_cli_bench(argc - 2, argv + 2);
  if (!strcmp(cmd, "info")) return fk_cli_info(argc - 2, argv + 2);
  if (!strcmp(cmd, "model")) return fk_cli_model(argc - 2, argv + 2);
  if (!strcmp(cmd, "recipe")) return fk_cli_recipe(argc - 2, argv + 2);
  fprintf(stderr, "funky: unknown command '%s'; see funky --help\n", cmd);
  return 1;
}
