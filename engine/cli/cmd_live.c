/* funky live RECIPE: the live preview server (engine/live). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file.h"
#include "live/live.h"

#define LIVE_DEFAULT_SIZE 256 /* the preview's longer side when --preview-size is not given */

static int parse_size(const char *s, int *w, int *h, fk_err *e) {
  char *end;
  errno = 0;
  long a = strtol(s, &end, 10), b = -1;
  if (!errno && end != s && (*end == 'x' || *end == 'X')) {
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t) b = -1;
  }
  if (errno || *end || a < 8 || b < 8 || a > 8192 || b > 8192)
    return fk_err_set(e, FK_EUSER,
                      "live: --preview-size '%s': expected WxH, 8..8192 each, e.g. 256x256", s);
  *w = (int)a;
  *h = (int)b;
  return FK_OK;
}

static int parse_port(const char *s, int *port, fk_err *e) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > 65535)
    return fk_err_set(e, FK_EUSER, "live: --port '%s': expected 0..65535 (0: any free port)", s);
  *port = (int)v;
  return FK_OK;
}

int fk_cli_live(int argc, char **argv) {
  fk_live_opts o = {.port = 8421};
  fk_render_opts *r = &o.render;
  r->first = r->last = -1;
  r->size_max = LIVE_DEFAULT_SIZE;
  r->quiet = 1;
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  const char **allow = calloc((size_t)argc + 1, sizeof *allow);
  fk_err e = {0};
  char out_dir[4400];
  if (!sets || !allow) {
    free(sets);
    free(allow);
    return fk_cli_fail(&(fk_err){FK_EINTERNAL, "out of memory"});
  }
  for (int i = 0; i < argc && !e.code; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (!strcmp(a, "--set") && has_value) {
      sets[r->n_sets++] = argv[++i];
    } else if (!strncmp(a, "--set=", 6)) {
      sets[r->n_sets++] = a + 6;
    } else if (!strcmp(a, "--out") && has_value) {
      r->out_dir = argv[++i];
    } else if (!strcmp(a, "--port") && has_value) {
      parse_port(argv[++i], &o.port, &e);
    } else if (!strcmp(a, "--preview-size") && has_value) {
      if (!parse_size(argv[++i], &r->size_w, &r->size_h, &e)) r->size_max = 0;
    } else if (!strcmp(a, "--frames") && has_value) {
      fk_render_parse_range(argv[++i], &r->first, &r->last, &e);
    } else if (!strcmp(a, "--trust")) {
      r->trusted = 1;
    } else if (!strcmp(a, "--allow") && has_value) {
      allow[r->n_allow++] = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      fk_err_set(&e, FK_EUSER, "live: unknown or incomplete option '%s'; see funky --help", a);
    } else if (!r->recipe) {
      r->recipe = a;
    } else {
      fk_err_set(&e, FK_EUSER, "live: more than one recipe given ('%s' and '%s')", r->recipe, a);
    }
  }
  if (!e.code && !r->recipe)
    fk_err_set(&e, FK_EUSER, "live: give a recipe, e.g. funky live scripts/funky.lua");
  if (!e.code && !fk_file_exists(r->recipe))
    fk_err_set(&e, FK_EUSER, "live: recipe '%s' not found; give the path of a .lua recipe",
               r->recipe);
  if (!e.code && !r->out_dir) { /* apart from full-size renders, which it would overwrite */
    char stem[256];
    fk_path_stem(r->recipe, stem, sizeof stem);
    snprintf(out_dir, sizeof out_dir, "out/%s/live", stem);
    r->out_dir = out_dir;
  }
  r->sets = sets;
  r->allow = allow;
  if (!e.code) fk_live_run(&o, &e);
  free(sets);
  free(allow);
  return e.code ? fk_cli_fail(&e) : 0;
}
