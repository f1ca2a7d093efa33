#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "render/render.h"

int fk_cli_render(int argc, char **argv) {
  fk_render_opts o = {.first = -1, .last = -1};
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  const char **allow = calloc((size_t)argc + 1, sizeof *allow);
  fk_err e = {0};
  if (!sets || !allow) return fk_cli_fail(&(fk_err){FK_EINTERNAL, "out of memory"});
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (!strcmp(a, "--set") && has_value) {
      sets[o.n_sets++] = argv[++i];
    } else if (!strncmp(a, "--set=", 6)) {
      sets[o.n_sets++] = a + 6;
    } else if (!strcmp(a, "--out") && has_value) {
      o.out_dir = argv[++i];
    } else if (!strcmp(a, "--frames") && has_value) {
      if (fk_render_parse_range(argv[++i], &o.first, &o.last, &e)) break;
    } else if (!strcmp(a, "--shard") && has_value) {
      if (fk_render_parse_shard(argv[++i], &o.shard, &o.shards, &e)) break;
    } else if (!strcmp(a, "--assemble")) {
      o.assemble = 1;
    } else if (!strcmp(a, "--quiet")) {
      o.quiet = 1;
    } else if (!strcmp(a, "--no-video")) {
      o.no_video = 1;
    } else if (!strcmp(a, "--trust")) {
      o.trusted = 1;
    } else if ((!strcmp(a, "--max-instructions") || !strcmp(a, "--max-memory")) && has_value) {
      char *end;
      double v = strtod(argv[++i], &end);
      if (*end || !(v >= 1)) {
        fk_err_set(&e, FK_EUSER, "render: %s needs a positive number", a);
        break;
      }
      if (a[6] == 'i')
        o.max_instructions = v;
      else
        o.max_memory = (size_t)(v * 1048576.0);
    } else if (!strcmp(a, "--device") && has_value) {
      if (fk_cli_device(argv[++i], &e)) break;
    } else if (!strcmp(a, "--allow") && has_value) {
      allow[o.n_allow++] = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      fk_err_set(&e, FK_EUSER, "render: unknown or incomplete option '%s'; see funky --help", a);
      break;
    } else if (!o.recipe) {
      o.recipe = a;
    } else {
      fk_err_set(&e, FK_EUSER, "render: more than one recipe given ('%s' and '%s')", o.recipe, a);
      break;
    }
  }
  if (!e.code && !o.recipe)
    fk_err_set(&e, FK_EUSER, "render: give a recipe, e.g. funky render scripts/funky.lua");
  if (!e.code && o.assemble && o.shards)
    fk_err_set(&e, FK_EUSER, "render: --assemble joins all shards; give it without --shard");
  o.sets = sets;
  o.allow = allow;
  fk_render_result r;
  if (!e.code && fk_render(&o, &r, &e) == FK_OK) {
    if (o.shards)
      fprintf(stderr,
              "funky: shard %d/%d: frames %zu-%zu; run --assemble once every shard is done\n",
              o.shard, o.shards, r.first, r.last ? r.last - 1 : 0);
    fprintf(stderr, "funky: %zu frames (%zu from the frame cache) in %.1f s%s%s\n", r.frames,
            r.cached, r.seconds, r.video[0] ? " -> " : "", r.video);
    if (r.factor)
      fprintf(stderr, "funky: x%d interpolation: %zu in-between frames made, %zu from the cache\n",
              r.factor, r.interpolated, r.interp_cached);
    if (!r.model[0])
      fprintf(stderr, "funky: no model in the timeline, so these are the noise-field previews; "
                      "diffuse them with --set model=models/sd15.safetensors (a Stable "
                      "Diffusion 1.x/2.x checkpoint; models/README.md)\n");
    else
      fprintf(stderr, "funky: diffused with %s\n", r.model);
  }
  free(sets);
  free(allow);
  return e.code ? fk_cli_fail(&e) : 0;
}
