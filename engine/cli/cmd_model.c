/* funky info MODEL and funky model random. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "interp/film.h"
#include "models/sd_model.h"
#include "interp/rife.h"
#include "models/sd_random.h"

static void print_config(const fk_sd_config *c) {
  const fk_clip_config *t = &c->text;
  static const char *const acts[] = {"silu", "gelu", "quick_gelu"};
  static const char *const preds[] = {"epsilon", "v_prediction", "sample"};
  printf("text encoder: width %d, %d layers, %d heads, mlp %d, %s, %d positions, pad id %d\n",
         t->hidden, t->layers, t->heads, t->intermediate, acts[t->act], t->positions, t->pad_id);
  const fk_unet_config *u = &c->unet;
  printf("unet: channels");
  for (int i = 0; i < u->levels; i++)
    printf(" %d%s", u->channels[i], u->attention[i] ? "+attn" : "");
  printf(", heads");
  for (int i = 0; i < u->levels; i++) printf(" %d", u->heads[i]);
  printf(", %d layers per block, context %d, %s projection, groups %d, eps %g\n",
         u->layers_per_block, u->cross_attention_dim, u->linear_projection ? "linear" : "conv",
         u->norm_groups, u->norm_eps);
  const fk_vae_config *v = &c->vae;
  printf("vae: channels");
  for (int i = 0; i < v->levels; i++) printf(" %d", v->channels[i]);
  printf(", %d layers per block, latent %d, scaling factor %g\n", v->layers_per_block,
         v->latent_channels, v->scaling_factor);
  const fk_sched_config *s = &c->sched;
  printf("scheduler: %s, %s betas %g..%g, %s spacing, steps offset %d, %s prediction\n", s->type,
         s->beta_schedule, s->beta_start, s->beta_end, s->timestep_spacing, s->steps_offset,
         preds[s->prediction]);
}

/* FILM weights (funky.interp): the check fk_film_load makes. */
static int info_film(const char *path, const fk_film_info *fi, int rc, const fk_err *e) {
  printf("model: %s\nfamily: FILM-net frame interpolation (the PyTorch port's names; 7 levels, "
         "64 filters)\ntensors: %zu, %.2fM parameters, %s\n",
         path, fi->tensors, (double)fi->params / 1e6, fi->dtypes);
  if (rc)
    printf("NOT loadable: %s\n", e->msg);
  else
    printf("loadable: every tensor present\n");
  return rc ? 1 : 0;
}

int fk_cli_info_model(const char *path) {
  fk_err e = {0};
  fk_film_info fi;
  int frc = fk_film_check_file(path, &fi, &e);
  if (fi.is_film) return info_film(path, &fi, frc, &e);
  e = (fk_err){0};
  fk_sd_model *m;
  if (fk_sd_open(path, FK_SD_REPORT, &m, &e)) return fk_cli_fail(&e);
  const fk_sd_config *c = fk_sd_config_of(m);
  printf("model: %s\nlayout: %s\nfamily: %s\nconfiguration from: %s\n", fk_sd_path(m),
         fk_sd_layout_of(m) == FK_SD_FOLDER ? "diffusers folder" : "single-file checkpoint",
         c->family == FK_SD_15     ? "SD 1.x (sd15)"
         : c->family == FK_SD_21   ? "SD 2.x (sd21)"
         : c->family == FK_SD_TINY ? "tiny test model"
                                   : "custom (from its configs)",
         fk_sd_config_source(m));
  printf("tokenizer: %s\n", fk_sd_tokenizer_dir(m) ? fk_sd_tokenizer_dir(m) : "built-in CLIP BPE");
  print_config(c);
  printf("\n| part | tensors | parameters | dtypes | missing | wrong shape "
         "|\n|---|---|---|---|---|---|\n");
  size_t problems = 0;
  for (fk_sd_part p = 0; p < FK_PART_N; p++) {
    size_t n = fk_sd_weight_count(m, p), miss = 0, wrong = 0, by[FK_ST_NDTYPES] = {0};
    uint64_t params = 0;
    for (size_t i = 0; i < n; i++) {
      const fk_sd_weight *w = fk_sd_weight_at(m, p, i);
      uint64_t k = 1;
      for (int d = 0; d < w->spec.ndim; d++) k *= (uint64_t)w->spec.shape[d];
      params += k;
      miss += !w->t && !w->wrong;
      wrong += w->wrong;
      if (w->t) by[w->t->dtype]++;
    }
    char dt[128] = "";
    for (int d = 0; d < FK_ST_NDTYPES; d++)
      if (by[d])
        snprintf(dt + strlen(dt), sizeof dt - strlen(dt), "%s%s %zu", *dt ? ", " : "",
                 fk_st_dtype_name((fk_st_dtype)d), by[d]);
    printf("| %s | %zu | %.2fM | %s | %zu | %zu |\n", fk_sd_part_name(p), n, (double)params / 1e6,
           dt, miss, wrong);
    problems += miss + wrong;
  }
  for (fk_sd_part p = 0; p < FK_PART_N; p++)
    for (size_t i = 0; i < fk_sd_weight_count(m, p); i++) {
      const fk_sd_weight *w = fk_sd_weight_at(m, p, i);
      if (w->t) continue;
      char shape[96] = "[";
      for (int d = 0; d < w->spec.ndim; d++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? ", " : "",
                 (long long)w->spec.shape[d]);
      printf("%s: %s (expected %s])\n", w->wrong ? "wrong shape" : "missing",
             fk_sd_layout_of(m) == FK_SD_SINGLE ? w->spec.ldm : w->spec.name, shape);
    }
  size_t nu = fk_sd_unexpected_count(m);
  for (size_t i = 0; i < nu; i++) printf("unexpected: %s\n", fk_sd_unexpected_at(m, i));
  printf("\n%zu unexpected tensors, %zu known extras ignored (EMA, schedule buffers, ...)\n", nu,
         fk_sd_ignored_count(m));
  printf(problems ? "NOT loadable: %zu tensors missing or wrong\n"
                  : "loadable: every tensor present\n",
         problems);
  fk_sd_close(m);
  return problems ? 1 : 0;
}

static int random_cmd(int argc, char **argv) {
  fk_sd_random_opts o = {.family = FK_SD_15, .dtype = FK_ST_F16, .seed = 1};
  const char *out = NULL;
  int rife = 0;
  fk_err e = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fk_err_set(&e, FK_EUSER, "model random: %s needs a value", a);
      return fk_cli_fail(&e);
    }
    i++;
    if (!strcmp(a, "--family") && !strcmp(v, "rife")) {
      rife = 1;
    } else if (!strcmp(a, "--family")) {
      int f = fk_sd_family_parse(v);
      if (f < 0) {
        fk_err_set(&e, FK_EUSER, "model random: --family is sd15, sd21, tiny or rife, not '%s'", v);
        return fk_cli_fail(&e);
      }
      o.family = (fk_sd_family)f;
    } else if (!strcmp(a, "--dtype") && (!strcmp(v, "f16") || !strcmp(v, "f32"))) {
      o.dtype = v[1] == '1' ? FK_ST_F16 : FK_ST_F32;
    } else if (!strcmp(a, "--seed")) {
      char *end;
      o.seed = strtoull(v, &end, 10);
      if (*end || !*v) {
        fk_err_set(&e, FK_EUSER, "model random: --seed must be a non-negative integer");
        return fk_cli_fail(&e);
      }
    } else if (!strcmp(a, "--out")) {
      out = v;
    } else {
      fk_err_set(&e, FK_EUSER, "model random: unknown option '%s %s'; see funky --help", a, v);
      return fk_cli_fail(&e);
    }
  }
  if (!out) {
    fk_err_set(&e, FK_EUSER,
               "model random: --out FILE.safetensors (single file) or --out FOLDER (diffusers) "
               "is required");
    return fk_cli_fail(&e);
  }
  if (rife) { /* the interpolator: one F32 file */
    if (fk_rife_write_random(out, o.seed, &e)) return fk_cli_fail(&e);
    printf("wrote %s (RIFE v4.6, random f32 weights, seed %" PRIu64 ")\n", out, o.seed);
    return 0;
  }
  size_t l = strlen(out);
  o.single = l > 12 && !strcmp(out + l - 12, ".safetensors");
  if (fk_sd_random_write(&o, out, &e)) return fk_cli_fail(&e);
  printf("wrote %s (%s, random %s weights, seed %" PRIu64 ", %s)\n", out,
         fk_sd_family_name(o.family), o.dtype == FK_ST_F16 ? "f16" : "f32", o.seed,
         o.single ? "single-file checkpoint" : "diffusers folder");
  return 0;
}

int fk_cli_model(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "random")) return random_cmd(argc - 1, argv + 1);
  fk_err e = {0};
  fk_err_set(&e, FK_EUSER,
             "model: use 'funky model random --family sd15|sd21|tiny|rife --out PATH'");
  return fk_cli_fail(&e);
}
