/* The scheduler object: construction, the img2img start, and the parts
 * every family shares (input scaling, add_noise, the run buffers). The
 * step arithmetic lives in sched_alpha.c and sched_sigma.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/sched_internal.h"

static const char *const names[FK_SCHED_NKINDS] = {
    "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm", "pndm",
};

int fk_sched_parse(const char *name, fk_sched_kind *k, fk_err *e) {
  for (int i = 0; i < FK_SCHED_NKINDS; i++) {
    if (name && !strcmp(name, names[i])) {
      *k = (fk_sched_kind)i;
      return 0;
    }
  }
  return fk_err_set(e, FK_EUSER,
                    "unknown sampler \"%s\" (use ddim, euler, euler_a, dpmpp_2m, "
                    "dpmpp_2m_karras, lcm or pndm)",
                    name ? name : "(null)");
}

const char *fk_sched_name(fk_sched_kind k) {
  return k >= 0 && k < FK_SCHED_NKINDS ? names[k] : "unknown";
}

/* The prediction types each diffusers class implements. */
static int check_prediction(fk_sched_kind k, fk_sd_prediction p, fk_err *e) {
  if (p != FK_PRED_EPSILON && p != FK_PRED_V && p != FK_PRED_SAMPLE)
    return fk_err_set(e, FK_EUSER, "scheduler: unknown prediction type %d", (int)p);
  if (p == FK_PRED_SAMPLE && (k == FK_SCHED_EULER_A || k == FK_SCHED_PNDM))
    return fk_err_set(e, FK_EUSER,
                      "sampler %s does not support models that predict the sample (use ddim, "
                      "euler, dpmpp_2m or lcm)",
                      names[k]);
  return 0;
}

int fk_sched_new(fk_sched_kind k, const fk_sched_config *cfg, int steps, fk_sched **out,
                 fk_err *e) {
  *out = NULL;
  if (k < 0 || k >= FK_SCHED_NKINDS)
    return fk_err_set(e, FK_EUSER, "scheduler: unknown kind %d", (int)k);
  if (cfg->train_timesteps < 2 || cfg->train_timesteps > 100000)
    return fk_err_set(e, FK_EUSER, "scheduler: num_train_timesteps %d is out of range (2..100000)",
                      cfg->train_timesteps);
  if (steps < 1 || steps > cfg->train_timesteps)
    return fk_err_set(e, FK_EUSER,
                      "sampler %s: %d steps is out of range (use 1..%d, the model's training "
                      "timesteps)",
                      names[k], steps, cfg->train_timesteps);
  int rc = check_prediction(k, cfg->prediction, e);
  if (rc) return rc;
  fk_sched *s = fk_zalloc(1, sizeof *s);
  if (!s) return fk_err_oom(e, "scheduler", sizeof *s);
  s->kind = k;
  s->cfg = *cfg;
  s->steps = steps;
  s->train = cfg->train_timesteps;
  rc = fk_sched_build(s, e);
  if (rc) {
    fk_sched_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static void free_run(fk_sched *s) {
  for (int i = 0; i < 4; i++) free(s->hist[i]);
  free(s->cur_sample);
  free(s->denoised);
  free(s->tmp);
  memset(s->hist, 0, sizeof s->hist);
  s->cur_sample = s->denoised = s->tmp = NULL;
  s->n = 0;
}

void fk_sched_free(fk_sched *s) {
  if (!s) return;
  free_run(s);
  free(s->betas);
  free(s->acp);
  free(s->timesteps);
  free(s->sigmas);
  free(s);
}

fk_sched_kind fk_sched_kind_of(const fk_sched *s) {
  return s->kind;
}
int fk_sched_count(const fk_sched *s) {
  return s->count;
}
const double *fk_sched_timesteps(const fk_sched *s) {
  return s->timesteps;
}
int fk_sched_integer_timesteps(const fk_sched *s) {
  return s->kind != FK_SCHED_EULER && s->kind != FK_SCHED_EULER_A;
}
const float *fk_sched_sigmas(const fk_sched *s) {
  return s->sigmas;
}
const float *fk_sched_betas(const fk_sched *s) {
  return s->betas;
}
const float *fk_sched_alphas_cumprod(const fk_sched *s) {
  return s->acp;
}
int fk_sched_train_timesteps(const fk_sched *s) {
  return s->train;
}
double fk_sched_init_noise_sigma(const fk_sched *s) {
  return s->init_sigma;
}
int fk_sched_order(const fk_sched *s) {
  return 1;
}
int fk_sched_begin(const fk_sched *s) {
  return s->begin;
}
const float *fk_sched_denoised(const fk_sched *s) {
  return s->kind == FK_SCHED_LCM && s->n ? s->denoised : NULL;
}

float fk_sched_acp_at(const fk_sched *s, long t) {
  if (t < 0) return s->final_acp;
  return s->acp[t < s->train ? t : s->train - 1];
}

void fk_sched_ddim_alphas(const fk_sched *s, int step, float *alpha_t, float *alpha_prev) {
  *alpha_t = *alpha_prev = 0;
  if (s->kind != FK_SCHED_DDIM || step < 0 || step >= s->count) return;
  long t = (long)s->timesteps[step];
  *alpha_t = fk_sched_acp_at(s, t);
  *alpha_prev = fk_sched_acp_at(s, t - s->train / s->steps);
}

void fk_sched_reset(fk_sched *s) {
  s->begin = 0;
  s->nhist = 0;
  s->counter = 0;
  s->lower_order_nums = 0;
}

int fk_sched_img2img(fk_sched *s, double strength, int *t_start, fk_err *e) {
  if (!(strength >= 0 && strength <= 1))
    return fk_err_set(e, FK_EUSER, "img2img strength %g is out of range (use 0..1)", strength);
  int n = s->steps, init = (int)(n * strength);
  if (init > n) init = n;
  int start = n - init;
  fk_sched_reset(s);
  s->begin = start * fk_sched_order(s);
  if (s->begin > s->count) s->begin = s->count;
  if (t_start) *t_start = start;
  return 0;
}

/* The sigma a sigma scheduler is at on step (clamped to the schedule). */
static float sigma_at(const fk_sched *s, int step) {
  if (step < 0) step = 0;
  if (step > s->count) step = s->count;
  return s->sigmas[step];
}

void fk_sched_scale_model_input(const fk_sched *s, int step, const float *x, float *out, size_t n) {
  if (s->kind == FK_SCHED_EULER || s->kind == FK_SCHED_EULER_A) {
    float sigma = sigma_at(s, step), d = sqrtf(sigma * sigma + 1.0f);
    for (size_t i = 0; i < n; i++) out[i] = x[i] / d;
  } else if (out != x) {
    memmove(out, x, n * sizeof *out);
  }
}

void fk_sched_add_noise(const fk_sched *s, const float *orig, const float *noise, float *out,
                        size_t n) {
  int b = s->begin < s->count ? s->begin : s->count - 1;
  switch (s->kind) {
  case FK_SCHED_EULER:
  case FK_SCHED_EULER_A: {
    float sigma = sigma_at(s, b);
    for (size_t i = 0; i < n; i++) out[i] = orig[i] + noise[i] * sigma;
    break;
  }
  case FK_SCHED_DPMPP_2M:
  case FK_SCHED_DPMPP_2M_KARRAS: {
    float sigma = sigma_at(s, b), a = 1.0f / sqrtf(sigma * sigma + 1.0f), sg = sigma * a;
    for (size_t i = 0; i < n; i++) out[i] = a * orig[i] + sg * noise[i];
    break;
  }
  default: {
    float acp = fk_sched_acp_at(s, (long)s->timesteps[b]);
    float sa = sqrtf(acp), sb = sqrtf(1.0f - acp);
    for (size_t i = 0; i < n; i++) out[i] = sa * orig[i] + sb * noise[i];
    break;
  }
  }
}

int fk_sched_step_needs_noise(const fk_sched *s, int step) {
  if (s->kind == FK_SCHED_EULER_A) return 1;
  return s->kind == FK_SCHED_LCM && step != s->steps - 1;
}

/* The run buffers, sized by the first step of a run. */
static int run_buffers(fk_sched *s, size_t n, fk_err *e) {
  if (s->n == n) return 0;
  if (s->n && (s->nhist || s->counter))
    return fk_err_set(e, FK_EUSER,
                      "scheduler: the latent size changed from %zu to %zu values in the middle "
                      "of a run",
                      s->n, n);
  free_run(s);
  int nh = s->kind == FK_SCHED_PNDM                                              ? 4
           : s->kind == FK_SCHED_DPMPP_2M || s->kind == FK_SCHED_DPMPP_2M_KARRAS ? 1
                                                                                 : 0;
  for (int i = 0; i < nh; i++)
    if (!(s->hist[i] = fk_alloc(n, sizeof(float)))) goto oom;
  if (!(s->tmp = fk_alloc(n, sizeof(float)))) goto oom;
  if (s->kind == FK_SCHED_PNDM && !(s->cur_sample = fk_alloc(n, sizeof(float)))) goto oom;
  if (s->kind == FK_SCHED_LCM && !(s->denoised = fk_alloc(n, sizeof(float)))) goto oom;
  s->n = n;
  return 0;
oom:
  free_run(s);
  return fk_err_oom(e, "scheduler history", (size_t)(nh + 3) * n * sizeof(float));
}

int fk_sched_step(fk_sched *s, int step, const float *model_output, const float *sample,
                  const float *noise, float *prev, size_t n, fk_err *e) {
  if (step < 0 || step >= s->count)
    return fk_err_set(e, FK_EUSER, "sampler %s: step %d is outside its %d timesteps",
                      names[s->kind], step, s->count);
  if (!noise && fk_sched_step_needs_noise(s, step))
    return fk_err_set(e, FK_EUSER, "sampler %s: step %d needs noise and none was given",
                      names[s->kind], step);
  int rc = run_buffers(s, n, e);
  if (rc) return rc;
  switch (s->kind) {
  case FK_SCHED_DDIM: fk_sched_step_ddim(s, step, model_output, sample, prev, n); break;
  case FK_SCHED_EULER: fk_sched_step_euler(s, step, model_output, sample, prev, n); break;
  case FK_SCHED_EULER_A:
    fk_sched_step_euler_a(s, step, model_output, sample, noise, prev, n);
    break;
  case FK_SCHED_DPMPP_2M:
  case FK_SCHED_DPMPP_2M_KARRAS: fk_sched_step_dpm(s, step, model_output, sample, prev, n); break;
  case FK_SCHED_LCM: fk_sched_step_lcm(s, step, model_output, sample, noise, prev, n); break;
  case FK_SCHED_PNDM: fk_sched_step_pndm(s, step, model_output, sample, prev, n); break;
  default: break;
  }
  return 0;
}
