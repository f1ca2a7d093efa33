/* The schedules, reproducing diffusers' set_timesteps bit for bit where it
 * matters: betas and alphas_cumprod are float32 as torch computes them
 * (linspace from both ends, cumprod accumulated in double); timestep
 * spacings follow numpy's linspace/arange arithmetic (the trailing spacing
 * included) and round half to even as np.round does; sigmas are
 * interpolated in double over the float32 table and stored as float32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/sched_internal.h"

/* torch.linspace(a, b, n, float32): a + step*i on the first half and
 * b - step*(n-1-i) on the second, step in float32. */
static void linspace_f32(float a, float b, int n, float *out) {
  float step = n > 1 ? (b - a) / (float)(n - 1) : 0.0f;
  for (int i = 0; i < n; i++)
    out[i] = i < n / 2 ? a + step * (float)i : b - step * (float)(n - 1 - i);
}

/* np.linspace(a, b, n): i*step + a in double, the last value exactly b. */
static double np_linspace(double a, double b, int n, int i, int endpoint) {
  int div = endpoint ? n - 1 : n;
  if (div <= 0) return a;
  if (endpoint && i == n - 1) return b;
  return (double)i * ((b - a) / div) + a;
}

/* np.arange(T, 0, step) for floats: numpy fills a + i*d with d = (a + step) - a.
 * (Its length, ceil(-a / step), can exceed the steps asked for when
 * train/steps is inexact; the extra value, -1 after the shift, is dropped.) */
static double np_arange(double a, double step, int i) {
  return a + (double)i * ((a + step) - a);
}

static int build_betas(fk_sched *s, fk_err *e) {
  const fk_sched_config *c = &s->cfg;
  int T = s->train;
  if (!strcmp(c->beta_schedule, "scaled_linear")) {
    linspace_f32((float)sqrt(c->beta_start), (float)sqrt(c->beta_end), T, s->betas);
    for (int i = 0; i < T; i++) s->betas[i] = s->betas[i] * s->betas[i];
  } else if (!strcmp(c->beta_schedule, "linear")) {
    linspace_f32((float)c->beta_start, (float)c->beta_end, T, s->betas);
  } else {
    return fk_err_set(e, FK_EUSER,
                      "scheduler: beta_schedule \"%s\" is not supported (use scaled_linear or "
                      "linear)",
                      c->beta_schedule);
  }
  double p = 1.0;
  for (int i = 0; i < T; i++) {
    p *= (double)(1.0f - s->betas[i]);
    s->acp[i] = (float)p;
  }
  s->final_acp = c->set_alpha_to_one ? 1.0f : s->acp[0];
  return 0;
}

typedef enum { SPACE_LEADING, SPACE_LINSPACE, SPACE_TRAILING } spacing;

static int parse_spacing(const char *name, spacing *sp, fk_err *e) {
  if (!strcmp(name, "leading"))
    *sp = SPACE_LEADING;
  else if (!strcmp(name, "linspace"))
    *sp = SPACE_LINSPACE;
  else if (!strcmp(name, "trailing"))
    *sp = SPACE_TRAILING;
  else
    return fk_err_set(e, FK_EUSER,
                      "scheduler: timestep_spacing \"%s\" is not supported (use leading, "
                      "linspace or trailing)",
                      name);
  return 0;
}

/* Descending timesteps of DDIM, Euler, Euler a (n = steps values). The
 * trailing spacing can make numpy's arange one longer than asked (when
 * train/steps is inexact), ending at -1; that extra value is dropped. */
static void plain_timesteps(const fk_sched *s, spacing sp, int round_linspace, double *t) {
  int n = s->steps, T = s->train;
  for (int i = 0; i < n; i++) {
    double v;
    if (sp == SPACE_LEADING) {
      v = (double)((long)(n - 1 - i) * (T / n) + s->cfg.steps_offset);
    } else if (sp == SPACE_LINSPACE) {
      v = np_linspace(0, T - 1, n, n - 1 - i, 1);
      v = round_linspace ? nearbyint(v) : (double)(float)v;
    } else {
      v = nearbyint(np_arange(T, -(double)T / n, i)) - 1;
    }
    t[i] = v;
  }
}

/* DPMSolverMultistep's: spacing over steps + 1 points, the last dropped. */
static void dpm_timesteps(const fk_sched *s, spacing sp, double *t) {
  int n = s->steps, T = s->train;
  for (int i = 0; i < n; i++) {
    if (sp == SPACE_LEADING)
      t[i] = (double)((long)(n - i) * (T / (n + 1)) + s->cfg.steps_offset);
    else if (sp == SPACE_LINSPACE)
      t[i] = nearbyint(np_linspace(0, T - 1, n + 1, n - i, 1));
    else
      t[i] = nearbyint(np_arange(T, -(double)T / n, i)) - 1;
  }
}

/* LCMScheduler: every (train/50)-th timestep of the 50-step distillation
 * schedule, steps of them picked evenly. */
static int lcm_timesteps(const fk_sched *s, double *t, fk_err *e) {
  const int orig = 50;
  int n = s->steps, k = s->train / orig;
  if (n > orig || k < 1)
    return fk_err_set(e, FK_EUSER,
                      "scheduler lcm: %d steps is more than its %d original inference steps "
                      "(use 1..%d)",
                      n, orig, orig);
  for (int i = 0; i < n; i++) {
    int idx = (int)floor(np_linspace(0, orig, n, i, 0));
    t[i] = (double)((orig - idx) * k - 1);
  }
  return 0;
}

/* PNDM's ascending base timestep i. */
static double pndm_base(const fk_sched *s, spacing sp, int i) {
  int n = s->steps, T = s->train;
  if (sp == SPACE_LEADING) return (double)((long)i * (T / n) + s->cfg.steps_offset);
  if (sp == SPACE_LINSPACE) return nearbyint(np_linspace(0, T - 1, n, i, 1));
  return nearbyint(np_arange(T, -(double)T / n, n - 1 - i)) - 1;
}

/* PNDM with skip_prk_steps: base timesteps b ascending, then
 * [b_0 .. b_{n-2}, b_{n-2}, b_{n-1}] reversed, so the second step repeats
 * the first one's target (numpy's b[-2:-1] is empty for one step). */
static int pndm_timesteps(const fk_sched *s, spacing sp, double *t) {
  int n = s->steps;
  if (n == 1) {
    t[0] = pndm_base(s, sp, 0);
    return 1;
  }
  t[0] = pndm_base(s, sp, n - 1);
  t[1] = pndm_base(s, sp, n - 2);
  for (int j = 2; j <= n; j++) t[j] = pndm_base(s, sp, n - j);
  return n + 1;
}

/* sqrt((1 - acp) / acp) in float32 over the training schedule. */
static void train_sigmas(const fk_sched *s, float *sig) {
  for (int i = 0; i < s->train; i++) sig[i] = sqrtf((1.0f - s->acp[i]) / s->acp[i]);
}

/* np.interp at t over (0..train-1, sig). */
static double interp(const float *sig, int T, double t) {
  if (t <= 0) return sig[0];
  if (t >= T - 1) return sig[T - 1];
  int j = (int)floor(t);
  double slope = ((double)sig[j + 1] - sig[j]);
  return slope * (t - j) + sig[j];
}

/* _sigma_to_t: the fractional training timestep of sigma, interpolating
 * log sigma between the neighbours. */
static double sigma_to_t(double sigma, const float *log_sig, int T) {
  double ls = log(fmax(sigma, 1e-10));
  int low = 0;
  for (int i = 0; i < T; i++)
    if (ls - log_sig[i] >= 0) low = i;
  if (low > T - 2) low = T - 2;
  double lo = log_sig[low], hi = log_sig[low + 1];
  double w = (lo - ls) / (lo - hi);
  w = w < 0 ? 0 : w > 1 ? 1 : w;
  return (1 - w) * low + w * (low + 1);
}

/* Karras et al. (2022) sigmas (rho 7) between the training extremes, and
 * the timesteps they correspond to (rounded, as DPM-Solver does). */
static void karras(fk_sched *s, const float *sig, float *log_sig, double *t) {
  int n = s->steps, T = s->train;
  for (int i = 0; i < T; i++) log_sig[i] = logf(sig[i]);
  double rho = 7.0, smin = sig[0], smax = sig[T - 1];
  double min_inv = pow(smin, 1 / rho), max_inv = pow(smax, 1 / rho);
  for (int i = 0; i < n; i++) {
    double ramp = np_linspace(0, 1, n, i, 1);
    double v = pow(max_inv + ramp * (min_inv - max_inv), rho);
    s->sigmas[i] = (float)v;
    t[i] = nearbyint(sigma_to_t(v, log_sig, T));
  }
}

int fk_sched_build(fk_sched *s, fk_err *e) {
  int T = s->train, n = s->steps;
  int sigma_kind = s->kind == FK_SCHED_EULER || s->kind == FK_SCHED_EULER_A ||
                   s->kind == FK_SCHED_DPMPP_2M || s->kind == FK_SCHED_DPMPP_2M_KARRAS;
  s->betas = fk_alloc((size_t)T, sizeof *s->betas);
  s->acp = fk_alloc((size_t)T, sizeof *s->acp);
  s->timesteps = fk_alloc((size_t)n + 1, sizeof *s->timesteps);
  s->sigmas = sigma_kind ? fk_alloc((size_t)n + 1, sizeof *s->sigmas) : NULL;
  /* the training sigmas and their logarithms */
  float *sig = fk_alloc(2 * (size_t)T, sizeof *sig);
  if (!s->betas || !s->acp || !s->timesteps || (sigma_kind && !s->sigmas) || !sig) {
    free(sig);
    return fk_err_oom(e, "scheduler tables", (size_t)T * 5 * sizeof(float));
  }
  spacing sp = SPACE_LEADING;
  int rc = build_betas(s, e);
  if (!rc) rc = parse_spacing(s->cfg.timestep_spacing, &sp, e);
  if (rc) {
    free(sig);
    return rc;
  }
  train_sigmas(s, sig);
  s->count = n;
  s->init_sigma = 1.0f;
  switch (s->kind) {
  case FK_SCHED_DDIM: plain_timesteps(s, sp, 1, s->timesteps); break;
  case FK_SCHED_EULER:
  case FK_SCHED_EULER_A: plain_timesteps(s, sp, 0, s->timesteps); break;
  case FK_SCHED_DPMPP_2M: dpm_timesteps(s, sp, s->timesteps); break;
  case FK_SCHED_DPMPP_2M_KARRAS: karras(s, sig, sig + T, s->timesteps); break;
  case FK_SCHED_LCM: rc = lcm_timesteps(s, s->timesteps, e); break;
  case FK_SCHED_PNDM: s->count = pndm_timesteps(s, sp, s->timesteps); break;
  default: break;
  }
  if (!rc && sigma_kind) {
    if (s->kind != FK_SCHED_DPMPP_2M_KARRAS)
      for (int i = 0; i < n; i++) s->sigmas[i] = (float)interp(sig, T, s->timesteps[i]);
    s->sigmas[n] = 0.0f;
    if (s->kind == FK_SCHED_EULER || s->kind == FK_SCHED_EULER_A) {
      float m = 0;
      for (int i = 0; i <= n; i++) m = fmaxf(m, s->sigmas[i]);
      /* diffusers starts from the largest sigma, inflated to
       * sqrt(sigma^2 + 1) for the "leading" spacing */
      s->init_sigma = sp == SPACE_LEADING ? sqrtf(m * m + 1.0f) : m;
    }
  }
  free(sig);
  return rc;
}
