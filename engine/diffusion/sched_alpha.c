/* The schedulers that step along alphas_cumprod: DDIM (eta 0), LCM and
 * PNDM's PLMS. Arithmetic is float32 in the order torch evaluates it, so
 * results match diffusers to rounding. */
#include <math.h>
#include <string.h>

#include "diffusion/sched_internal.h"

/* The clean-sample estimate x0 and (for DDIM) the noise estimate of one
 * element, from whichever quantity the model predicts. */
static void predict(const fk_sched *s, float sa, float sb, float mo, float x, float *x0,
                    float *eps) {
  switch (s->cfg.prediction) {
  case FK_PRED_SAMPLE:
    *x0 = mo;
    *eps = (x - sa * *x0) / sb;
    break;
  case FK_PRED_V:
    *x0 = sa * x - sb * mo;
    *eps = sa * mo + sb * x;
    break;
  default:
    *x0 = (x - sb * mo) / sa;
    *eps = mo;
    break;
  }
  if (s->cfg.clip_sample) *x0 = fminf(fmaxf(*x0, -1.0f), 1.0f);
}

void fk_sched_step_ddim(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                        size_t n) {
  float at, ap;
  fk_sched_ddim_alphas(s, step, &at, &ap);
  float sa = sqrtf(at), sb = sqrtf(1.0f - at);
  float c_x0 = sqrtf(ap), c_eps = sqrtf(1.0f - ap - 0.0f);
  for (size_t i = 0; i < n; i++) {
    float x0, eps;
    predict(s, sa, sb, mo[i], x[i], &x0, &eps);
    prev[i] = c_x0 * x0 + c_eps * eps;
  }
}

void fk_sched_step_lcm(fk_sched *s, int step, const float *mo, const float *x, const float *noise,
                       float *prev, size_t n) {
  long t = (long)s->timesteps[step];
  long tp = step + 1 < s->count ? (long)s->timesteps[step + 1] : t;
  float at = fk_sched_acp_at(s, t), ap = fk_sched_acp_at(s, tp);
  float sa = sqrtf(at), sb = sqrtf(1.0f - at);
  /* consistency-model boundary scalings, sigma_data 0.5, timestep x 10 */
  float st = (float)t * 10.0f;
  float c_skip = 0.25f / (st * st + 0.25f), c_out = st / sqrtf(st * st + 0.25f);
  int last = step == s->steps - 1;
  float c_d = sqrtf(ap), c_n = sqrtf(1.0f - ap);
  for (size_t i = 0; i < n; i++) {
    float x0, eps;
    predict(s, sa, sb, mo[i], x[i], &x0, &eps);
    float d = c_out * x0 + c_skip * x[i];
    s->denoised[i] = d;
    prev[i] = last ? d : c_d * d + c_n * noise[i];
  }
}

/* PNDM's _get_prev_sample: the DDIM-like transfer from t to tp. */
static void pndm_transfer(const fk_sched *s, long t, long tp, const float *x, const float *m,
                          float *prev, size_t n) {
  float at = fk_sched_acp_at(s, t), ap = fk_sched_acp_at(s, tp);
  float bt = 1.0f - at, bp = 1.0f - ap;
  float coeff = sqrtf(ap / at), denom = at * sqrtf(bp) + sqrtf(at * bt * ap), d = ap - at;
  int v = s->cfg.prediction == FK_PRED_V;
  float sa = sqrtf(at), sb = sqrtf(bt);
  for (size_t i = 0; i < n; i++) {
    float mi = v ? sa * m[i] + sb * x[i] : m[i];
    prev[i] = coeff * x[i] - d * mi / denom;
  }
}

/* PLMS: linear multistep over up to four past noise estimates (ets). The
 * second call re-runs the first transfer with the average of the first
 * two estimates (a Heun-like start), exactly as diffusers' counter logic
 * does, including when img2img starts mid-schedule. */
void fk_sched_step_pndm(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                        size_t n) {
  long ratio = s->train / s->steps;
  long t = (long)s->timesteps[step], tp = t - ratio;
  if (s->counter != 1) {
    if (s->nhist == 4) {
      float *old = s->hist[0];
      memmove(s->hist, s->hist + 1, 3 * sizeof s->hist[0]);
      s->hist[3] = old;
      s->nhist = 3;
    }
    memcpy(s->hist[s->nhist++], mo, n * sizeof *mo);
  } else {
    tp = t;
    t = t + ratio;
  }
  float *m = s->tmp;
  const float *src = x;
  const float *e1 = s->nhist >= 1 ? s->hist[s->nhist - 1] : mo;
  const float *e2 = s->nhist >= 2 ? s->hist[s->nhist - 2] : NULL;
  const float *e3 = s->nhist >= 3 ? s->hist[s->nhist - 3] : NULL;
  const float *e4 = s->nhist >= 4 ? s->hist[s->nhist - 4] : NULL;
  if (s->nhist == 1 && s->counter == 0) {
    memcpy(m, mo, n * sizeof *m);
    memcpy(s->cur_sample, x, n * sizeof *x);
  } else if (s->nhist == 1 && s->counter == 1) {
    for (size_t i = 0; i < n; i++) m[i] = (mo[i] + e1[i]) / 2.0f;
    src = s->cur_sample;
  } else if (s->nhist == 2) {
    for (size_t i = 0; i < n; i++) m[i] = (3.0f * e1[i] - e2[i]) / 2.0f;
  } else if (s->nhist == 3) {
    for (size_t i = 0; i < n; i++) m[i] = (23.0f * e1[i] - 16.0f * e2[i] + 5.0f * e3[i]) / 12.0f;
  } else {
    const float c = 1.0f / 24.0f;
    for (size_t i = 0; i < n; i++)
      m[i] = c * (55.0f * e1[i] - 59.0f * e2[i] + 37.0f * e3[i] - 9.0f * e4[i]);
  }
  pndm_transfer(s, t, tp, src, m, prev, n);
  s->counter++;
}
