/* The schedulers against diffusers v0.27.2 (../shared/golden/cases/
 * scheduler_*.safetensors and the DDIM parts of img2img_*): training
 * tables, timesteps, sigmas, img2img starts, add_noise, and full step
 * traces (4 steps, and the last 10 of 20 after an img2img start, which
 * exercises the multistep history); then the errors a user can cause. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/json.h"
#include "diffusion/rng.h"
#include "diffusion/scheduler.h"
#include "models/safetensors.h"
#include "models/sd_config.h"

static char golden_dir[2100];

/* ||got - ref|| / ||ref|| (0 when both are 0). */
static double rel_err(const float *got, const float *ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(got[i])) return INFINITY;
    num += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
    den += (double)ref[i] * ref[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Largest elementwise relative error (absolute where ref is 0). */
static double max_rel(const double *got, const float *ref, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs(got[i] - ref[i]), r = fabs((double)ref[i]);
    d = r > 0 ? d / r : d;
    if (!(d <= m)) m = d;
  }
  return m;
}

static float *golden(fk_st_file *f, const char *name, size_t *n) {
  const fk_st_tensor *t = fk_st_find(f, name);
  float *v = NULL;
  fk_err e = {0};
  if (!t || fk_st_to_f32(t, &v, &e)) {
    CHECK(0, "%s: golden tensor %s: %s", fk_st_name(f), name, e.msg);
    return NULL;
  }
  if (n) *n = t->numel;
  return v;
}

static int has(fk_st_file *f, const char *name) {
  return fk_st_find(f, name) != NULL;
}

/* The tiny model's scheduler config overridden by the case's resolved one. */
static int case_config(fk_st_file *f, fk_sched_config *c) {
  fk_sd_config sd;
  fk_sd_config_family(FK_SD_TINY, &sd);
  *c = sd.sched;
  const char *js = fk_st_metadata(f, "scheduler_config");
  fk_json_doc *d = NULL;
  fk_err e = {0};
  /* Python's json writes lambda_min_clipped as -Infinity, which strict JSON
   * (and core/json) rejects; any number serves, the key is unused */
  char *text = js ? strdup(js) : NULL, *inf;
  while (text && (inf = strstr(text, "-Infinity"))) memcpy(inf, "-1.0e308 ", 9);
  int rc = !text || fk_json_parse(text, strlen(text), "scheduler_config", &d, &e) ||
           fk_sd_config_sched(fk_json_root(d), c, "scheduler_config", &e);
  CHECK(!rc, "%s: scheduler_config: %s", fk_st_name(f), e.msg);
  fk_json_free(d);
  free(text);
  return rc;
}

static double worst_table, worst_trace;

static void note(double *worst, double v) {
  if (!(v <= *worst)) *worst = v;
}

static void check_tables(fk_st_file *f, const fk_sched *s, const char *what) {
  size_t n;
  int T = fk_sched_train_timesteps(s);
  const char *names[2] = {"betas", "alphas_cumprod"};
  const float *ours[2] = {fk_sched_betas(s), fk_sched_alphas_cumprod(s)};
  for (int k = 0; k < 2; k++) {
    float *ref = golden(f, names[k], &n);
    if (!ref) continue;
    CHECK(n == (size_t)T, "%s %s: %zu values vs %d", what, names[k], n, T);
    double got[T];
    for (int i = 0; i < T; i++) got[i] = ours[k][i];
    double r = n == (size_t)T ? max_rel(got, ref, n) : INFINITY;
    note(&worst_table, r);
    CHECK(r < 1e-6, "%s %s: max relative error %g", what, names[k], r);
    free(ref);
  }
}

/* timesteps (exact for integers; float32 values for Euler), sigmas,
 * init_noise_sigma and DDIM's alphas for an N-step schedule. */
static void check_schedule(fk_st_file *f, fk_sched *s, int N, const char *what) {
  char name[128];
  size_t n;
  snprintf(name, sizeof name, "n%d_timesteps", N);
  float *ref = golden(f, name, &n);
  int count = fk_sched_count(s);
  const double *t = fk_sched_timesteps(s);
  if (ref) {
    CHECK(n == (size_t)count, "%s %s: %d timesteps, golden %zu", what, name, count, n);
    for (size_t i = 0; i < n && i < (size_t)count; i++) {
      if (fk_sched_integer_timesteps(s))
        CHECK(t[i] == ref[i], "%s %s[%zu]: %g vs %g", what, name, i, t[i], (double)ref[i]);
      else
        CHECK(fabs(t[i] - ref[i]) <= 1e-6 * fabs(ref[i]), "%s %s[%zu]: %.9g vs %.9g", what, name, i,
              t[i], (double)ref[i]);
    }
    free(ref);
  }
  snprintf(name, sizeof name, "n%d_sigmas", N);
  if (has(f, name)) {
    ref = golden(f, name, &n);
    const float *sg = fk_sched_sigmas(s);
    CHECK(sg && n == (size_t)count + 1, "%s %s: sigmas missing or %zu of them", what, name, n);
    if (ref && sg && n == (size_t)count + 1) {
      double got[n];
      for (size_t i = 0; i < n; i++) got[i] = sg[i];
      double r = max_rel(got, ref, n);
      note(&worst_table, r);
      CHECK(r < 1e-6, "%s %s: max relative error %g", what, name, r);
    }
    free(ref);
  } else {
    CHECK(!fk_sched_sigmas(s), "%s: sigmas where diffusers has none", what);
  }
  snprintf(name, sizeof name, "n%d_init_noise_sigma", N);
  ref = golden(f, name, &n);
  if (ref) {
    double got = fk_sched_init_noise_sigma(s), r = max_rel(&got, ref, 1);
    note(&worst_table, r);
    CHECK(r < 1e-6, "%s %s: %.9g vs %.9g", what, name, got, (double)ref[0]);
    free(ref);
  }
  snprintf(name, sizeof name, "n%d_alphas_cumprod_t", N);
  if (has(f, name)) {
    char pname[128];
    snprintf(pname, sizeof pname, "n%d_alphas_cumprod_prev", N);
    float *rt = golden(f, name, &n), *rp = golden(f, pname, NULL);
    if (rt && rp && n == (size_t)count) {
      double gt[n], gp[n];
      for (int i = 0; i < count; i++) {
        float a, b;
        fk_sched_ddim_alphas(s, i, &a, &b);
        gt[i] = a;
        gp[i] = b;
      }
      double r = fmax(max_rel(gt, rt, n), max_rel(gp, rp, n));
      note(&worst_table, r);
      CHECK(r < 1e-6, "%s %s / _prev: max relative error %g", what, name, r);
    }
    free(rt);
    free(rp);
  }
}

static void check_img2img(fk_st_file *f, fk_sched *s, int N, const char *what) {
  const char *tags[2] = {"050", "075"};
  const double strengths[2] = {0.5, 0.75};
  for (int k = 0; k < 2; k++) {
    char name[128], base[64];
    size_t n;
    snprintf(base, sizeof base, "n%d_img2img_s%s", N, tags[k]);
    int t_start = -1;
    fk_err e = {0};
    CHECK(!fk_sched_img2img(s, strengths[k], &t_start, &e), "%s %s: %s", what, base, e.msg);
    snprintf(name, sizeof name, "%s_t_start", base);
    float *ts = golden(f, name, NULL);
    if (ts) CHECK(t_start == (int)ts[0], "%s %s: %d vs %g", what, name, t_start, (double)ts[0]);
    free(ts);
    snprintf(name, sizeof name, "%s_timesteps", base);
    float *ref = golden(f, name, &n);
    int b = fk_sched_begin(s), count = fk_sched_count(s);
    const double *t = fk_sched_timesteps(s);
    if (ref) {
      CHECK(n == (size_t)(count - b), "%s %s: %d kept, golden %zu", what, name, count - b, n);
      for (size_t i = 0; i < n && b + (int)i < count; i++)
        CHECK(fabs(t[b + i] - ref[i]) <= 1e-6 * fabs(ref[i]), "%s %s[%zu]: %.9g vs %.9g", what,
              name, i, t[b + i], (double)ref[i]);
    }
    free(ref);
    char no[128], nn[128], nout[128];
    snprintf(no, sizeof no, "%s_add_noise_original", base);
    snprintf(nn, sizeof nn, "%s_add_noise_noise", base);
    snprintf(nout, sizeof nout, "%s_add_noise_out", base);
    float *orig = golden(f, no, &n), *noise = golden(f, nn, NULL), *out = golden(f, nout, NULL);
    float *got = malloc(n * sizeof *got);
    if (orig && noise && out && got) {
      fk_sched_add_noise(s, orig, noise, got, n);
      double r = rel_err(got, out, n);
      note(&worst_trace, r);
      CHECK(r < 1e-5, "%s %s: relative error %g", what, nout, r);
    }
    free(orig);
    free(noise);
    free(out);
    free(got);
  }
}

/* Runs a golden trace (prefix "trace_n4" or "trace_n20_img2img_s050") step
 * by step from the golden inputs of each step. */
static void check_trace(fk_st_file *f, fk_sched *s, const char *prefix, double strength,
                        const char *what) {
  char name[128];
  size_t nt, total;
  snprintf(name, sizeof name, "%s_timesteps", prefix);
  float *ts = golden(f, name, &nt);
  float *mo = NULL, *in = NULL, *scaled = NULL, *prev = NULL, *noise = NULL, *den = NULL;
  snprintf(name, sizeof name, "%s_model_output", prefix);
  mo = golden(f, name, &total);
  snprintf(name, sizeof name, "%s_sample_in", prefix);
  in = golden(f, name, NULL);
  snprintf(name, sizeof name, "%s_scaled_model_input", prefix);
  scaled = golden(f, name, NULL);
  snprintf(name, sizeof name, "%s_prev_sample", prefix);
  prev = golden(f, name, NULL);
  snprintf(name, sizeof name, "%s_step_noise", prefix);
  size_t nnoise = 0;
  if (has(f, name)) noise = golden(f, name, &nnoise);
  snprintf(name, sizeof name, "%s_denoised", prefix);
  if (has(f, name)) den = golden(f, name, NULL);
  int b = fk_sched_begin(s), count = fk_sched_count(s);
  CHECK(ts && (size_t)(count - b) == nt, "%s %s: %d steps to run, golden %zu", what, prefix,
        count - b, nt);
  if (!ts || !mo || !in || !scaled || !prev || (size_t)(count - b) != nt) goto done;
  size_t n = total / nt;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *chain = malloc(n * sizeof *y);
  if (!x || !y || !chain) {
    CHECK(0, "out of memory");
    free(x);
    free(y);
    free(chain);
    goto done;
  }
  memcpy(chain, in, n * sizeof *chain);
  double worst_step = 0;
  for (size_t k = 0; k < nt; k++) {
    int step = b + (int)k;
    const float *xin = in + k * n;
    CHECK(fabs(fk_sched_timesteps(s)[step] - ts[k]) <= 1e-6 * fabs(ts[k]), "%s %s: timestep %zu",
          what, prefix, k);
    fk_sched_scale_model_input(s, step, xin, x, n);
    double r = rel_err(x, scaled + k * n, n);
    note(&worst_trace, r);
    CHECK(r < 1e-5, "%s %s step %zu: scaled_model_input relative error %g", what, prefix, k, r);
    const float *nz = NULL;
    if (fk_sched_step_needs_noise(s, step)) {
      CHECK(noise && k < nnoise / n, "%s %s step %zu: no golden noise", what, prefix, k);
      if (!noise || k >= nnoise / n) break;
      nz = noise + k * n;
    } else if (noise && k < nnoise / n) {
      nz = noise + k * n; /* drawn but unused (Euler with s_churn 0) */
    }
    fk_err e = {0};
    int rc = fk_sched_step(s, step, mo + k * n, xin, nz, y, n, &e);
    CHECK(!rc, "%s %s step %zu: %s", what, prefix, k, e.msg);
    r = rel_err(y, prev + k * n, n);
    note(&worst_trace, r);
    if (r > worst_step) worst_step = r;
    CHECK(r < 1e-5, "%s %s step %zu (t=%g): prev_sample relative error %g", what, prefix, k,
          (double)ts[k], r);
    if (den) {
      const float *d = fk_sched_denoised(s);
      r = d ? rel_err(d, den + k * n, n) : INFINITY;
      note(&worst_trace, r);
      CHECK(r < 1e-5, "%s %s step %zu: denoised relative error %g", what, prefix, k, r);
    }
  }
  /* again from sample_in[0] alone, feeding each output to the next step */
  fk_sched_reset(s);
  if (strength >= 0) fk_sched_img2img(s, strength, NULL, NULL);
  double worst_chain = 0;
  for (size_t k = 0; k < nt; k++) {
    int step = b + (int)k;
    const float *nz = noise && k < nnoise / n ? noise + k * n : NULL;
    fk_err e = {0};
    if (fk_sched_step(s, step, mo + k * n, chain, nz, chain, n, &e)) break;
    double r = rel_err(chain, prev + k * n, n);
    note(&worst_trace, r);
    if (r > worst_chain) worst_chain = r;
    CHECK(r < 1e-5, "%s %s chained step %zu: relative error %g", what, prefix, k, r);
  }
  printf("  %-26s %-22s worst step %.3g, chained %.3g\n", what, prefix, worst_step, worst_chain);
  free(x);
  free(y);
  free(chain);
done:
  free(ts);
  free(mo);
  free(in);
  free(scaled);
  free(prev);
  free(noise);
  free(den);
}

static void scheduler_case(const char *file, fk_sched_kind kind) {
  char path[2400];
  snprintf(path, sizeof path, "%s/scheduler_%s.safetensors", golden_dir, file);
  fk_st_file *f = NULL;
  fk_err e = {0};
  if (fk_st_open(path, &f, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  fk_sched_config cfg;
  if (case_config(f, &cfg)) {
    fk_st_close(f);
    return;
  }
  const int Ns[2] = {20, 4};
  for (int i = 0; i < 2; i++) {
    fk_sched *s = NULL;
    if (fk_sched_new(kind, &cfg, Ns[i], &s, &e)) {
      CHECK(0, "%s: %s", file, e.msg);
      continue;
    }
    CHECK(fk_sched_order(s) == 1, "%s: order", file);
    if (i == 0) check_tables(f, s, file);
    check_schedule(f, s, Ns[i], file);
    check_img2img(f, s, Ns[i], file);
    fk_sched_reset(s);
    if (Ns[i] == 4) check_trace(f, s, "trace_n4", -1, file);
    fk_sched_free(s);
  }
  fk_sched *s = NULL;
  if (!fk_sched_new(kind, &cfg, 20, &s, &e)) {
    CHECK(!fk_sched_img2img(s, 0.5, NULL, &e), "%s", e.msg);
    check_trace(f, s, "trace_n20_img2img_s050", 0.5, file);
  }
  fk_sched_free(s);
  fk_st_close(f);
}

/* The DDIM half of a full img2img pipeline golden. */
static void img2img_case(const char *file) {
  char path[2400];
  snprintf(path, sizeof path, "%s/%s.safetensors", golden_dir, file);
  fk_st_file *f = NULL;
  fk_err e = {0};
  if (fk_st_open(path, &f, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  fk_sched_config cfg;
  const char *st = fk_st_metadata(f, "strength"), *ns = fk_st_metadata(f, "num_inference_steps");
  CHECK(st && ns, "%s: strength / num_inference_steps metadata", file);
  fk_sched *s = NULL;
  if (!st || !ns || case_config(f, &cfg) ||
      fk_sched_new(FK_SCHED_DDIM, &cfg, (int)strtol(ns, NULL, 10), &s, &e) ||
      fk_sched_img2img(s, strtod(st, NULL), NULL, &e)) {
    CHECK(0, "%s: %s", file, e.msg);
    fk_sched_free(s);
    fk_st_close(f);
    return;
  }
  size_t nt, n;
  float *ts = golden(f, "timesteps", &nt), *init = golden(f, "init_latents", &n);
  float *noise = golden(f, "noise", NULL), *start = golden(f, "latents_start", NULL);
  float *mo = golden(f, "step_model_output", NULL), *in = golden(f, "step_sample_in", NULL);
  float *out = golden(f, "step_latents", NULL), *y = malloc(n * sizeof *y);
  int b = fk_sched_begin(s), count = fk_sched_count(s);
  const double *t = fk_sched_timesteps(s);
  if (ts && init && noise && start && mo && in && out && y) {
    CHECK((size_t)(count - b) == nt, "%s: %d steps, golden %zu", file, count - b, nt);
    for (size_t k = 0; k < nt && b + (int)k < count; k++)
      CHECK(t[b + k] == ts[k], "%s: timestep %zu: %g vs %g", file, k, t[b + k], (double)ts[k]);
    fk_sched_add_noise(s, init, noise, y, n);
    double r = rel_err(y, start, n), worst = 0;
    note(&worst_trace, r);
    CHECK(r < 1e-5, "%s: latents_start relative error %g", file, r);
    for (size_t k = 0; k < nt && b + (int)k < count; k++) {
      CHECK(!fk_sched_step(s, b + (int)k, mo + k * n, in + k * n, NULL, y, n, &e), "%s", e.msg);
      r = rel_err(y, out + k * n, n);
      note(&worst_trace, r);
      if (r > worst) worst = r;
      CHECK(r < 1e-5, "%s: step %zu relative error %g", file, k, r);
    }
    printf("  %-26s %-22s worst step %.3g\n", file, "step_latents", worst);
  }
  free(ts);
  free(init);
  free(noise);
  free(start);
  free(mo);
  free(in);
  free(out);
  free(y);
  fk_sched_free(s);
  fk_st_close(f);
}

static void errors(void) {
  fk_sd_config sd;
  fk_sd_config_family(FK_SD_TINY, &sd);
  fk_sched_kind k;
  fk_err e = {0};
  CHECK(fk_sched_parse("dpm_fancy", &k, &e) == FK_EUSER && strstr(e.msg, "dpm_fancy"),
        "bad name: %s", e.msg);
  CHECK(fk_sched_parse(NULL, &k, &e) == FK_EUSER, "NULL name");
  for (int i = 0; i < FK_SCHED_NKINDS; i++) {
    CHECK(!fk_sched_parse(fk_sched_name((fk_sched_kind)i), &k, &e) && k == (fk_sched_kind)i,
          "name round trip %d", i);
  }
  fk_sched *s = NULL;
  fk_err_clear(&e);
  CHECK(fk_sched_new(FK_SCHED_DDIM, &sd.sched, 0, &s, &e) == FK_EUSER && !s &&
            strstr(e.msg, "steps"),
        "0 steps: %s", e.msg);
  int over = sd.sched.train_timesteps + 1;
  CHECK(fk_sched_new(FK_SCHED_EULER, &sd.sched, over, &s, &e) == FK_EUSER && !s,
        "too many steps: %s", e.msg);
  CHECK(fk_sched_new(FK_SCHED_LCM, &sd.sched, 51, &s, &e) == FK_EUSER && !s, "lcm 51: %s", e.msg);
  fk_sched_config bad = sd.sched;
  snprintf(bad.beta_schedule, sizeof bad.beta_schedule, "cosine");
  CHECK(fk_sched_new(FK_SCHED_DDIM, &bad, 10, &s, &e) == FK_EUSER && !s, "cosine: %s", e.msg);
  bad = sd.sched;
  bad.prediction = FK_PRED_SAMPLE;
  CHECK(fk_sched_new(FK_SCHED_EULER_A, &bad, 10, &s, &e) == FK_EUSER && !s, "euler_a sample");
  CHECK(!fk_sched_new(FK_SCHED_EULER_A, &sd.sched, 10, &s, &e), "%s", e.msg);
  if (s) {
    float x[4] = {0}, y[4];
    CHECK(fk_sched_img2img(s, 1.5, NULL, &e) == FK_EUSER, "strength 1.5");
    CHECK(fk_sched_step(s, 0, x, x, NULL, y, 4, &e) == FK_EUSER, "euler_a without noise");
    CHECK(fk_sched_step(s, 10, x, x, x, y, 4, &e) == FK_EUSER, "step past the end");
    CHECK(!fk_sched_img2img(s, 0.0, NULL, &e) && fk_sched_begin(s) == fk_sched_count(s),
          "strength 0 runs nothing");
  }
  fk_sched_free(s);
}

/* Every sampler, spacing and a range of step counts (odd ones included,
 * where trailing spacing is inexact): timesteps inside the training range,
 * finite sigmas, and a full run on random model outputs that stays finite. */
static void sweep(void) {
  fk_sd_config sd;
  fk_sd_config_family(FK_SD_TINY, &sd);
  const char *spacings[3] = {"leading", "linspace", "trailing"};
  const int steps[6] = {1, 2, 3, 7, 25, 50};
  enum { N = 64 };
  float x[N], in[N], mo[N], nz[N];
  int bad = 0, runs = 0;
  for (int k = 0; k < FK_SCHED_NKINDS; k++) {
    for (int sp = 0; sp < 3; sp++) {
      fk_sched_config c = sd.sched;
      snprintf(c.timestep_spacing, sizeof c.timestep_spacing, "%s", spacings[sp]);
      for (int si = 0; si < 6; si++) {
        fk_sched *s = NULL;
        fk_err e = {0};
        if (fk_sched_new((fk_sched_kind)k, &c, steps[si], &s, &e)) {
          CHECK(0, "%s %s %d steps: %s", fk_sched_name((fk_sched_kind)k), spacings[sp], steps[si],
                e.msg);
          continue;
        }
        int count = fk_sched_count(s), ok = 1;
        const double *t = fk_sched_timesteps(s);
        const float *sg = fk_sched_sigmas(s);
        for (int i = 0; i < count; i++) ok &= t[i] >= 0 && t[i] <= c.train_timesteps - 1;
        for (int i = 0; sg && i <= count; i++) ok &= isfinite(sg[i]) && sg[i] >= 0;
        CHECK(ok, "%s %s %d steps: timesteps or sigmas out of range",
              fk_sched_name((fk_sched_kind)k), spacings[sp], steps[si]);
        fk_rng_normal(1, (uint64_t)k, (uint32_t)steps[si], 0, x, N);
        for (int i = 0; i < N; i++) x[i] *= (float)fk_sched_init_noise_sigma(s);
        for (int i = 0; i < count && ok; i++) {
          fk_rng_normal(1, (uint64_t)k, (uint32_t)i, 1, mo, N);
          fk_rng_normal(1, (uint64_t)k, (uint32_t)i, 2, nz, N);
          fk_sched_scale_model_input(s, i, x, in, N);
          ok &= !fk_sched_step(s, i, mo, x, nz, x, N, &e);
          for (int j = 0; j < N; j++) ok &= isfinite(x[j]) && isfinite(in[j]);
        }
        bad += !ok;
        runs++;
        CHECK(ok, "%s %s %d steps: the run failed or went non-finite: %s",
              fk_sched_name((fk_sched_kind)k), spacings[sp], steps[si], e.msg);
        fk_sched_free(s);
      }
    }
  }
  printf("sweep: %d runs, %d bad\n", runs, bad);
}

int main(void) {
  const char *src = getenv("SRC");
  snprintf(golden_dir, sizeof golden_dir, "%.2000s/../shared/golden/cases", src ? src : ".");
  static const struct {
    const char *file;
    fk_sched_kind kind;
  } cases[] = {
      {"ddim", FK_SCHED_DDIM},
      {"ddim_trailing", FK_SCHED_DDIM},
      {"pndm", FK_SCHED_PNDM},
      {"euler", FK_SCHED_EULER},
      {"euler_linspace", FK_SCHED_EULER},
      {"euler_trailing", FK_SCHED_EULER},
      {"euler_ancestral", FK_SCHED_EULER_A},
      {"euler_ancestral_linspace", FK_SCHED_EULER_A},
      {"dpmpp_2m", FK_SCHED_DPMPP_2M},
      {"dpmpp_2m_karras", FK_SCHED_DPMPP_2M_KARRAS},
      {"dpmpp_2m_linspace", FK_SCHED_DPMPP_2M},
      {"lcm", FK_SCHED_LCM},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    scheduler_case(cases[i].file, cases[i].kind);
  const char *i2i[4] = {"img2img_ddim10_s050", "img2img_ddim10_s075", "img2img_ddim10_s075_neg",
                        "img2img_ddim10_s050_nocfg"};
  for (int i = 0; i < 4; i++) img2img_case(i2i[i]);
  errors();
  sweep();
  printf("worst table error %.3g (limit 1e-6), worst trace error %.3g (limit 1e-5)\n", worst_table,
         worst_trace);
  return CHECK_DONE();
}
