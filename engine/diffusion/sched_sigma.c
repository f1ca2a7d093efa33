/* The schedulers that step along sigma = sqrt((1 - acp) / acp): Euler,
 * Euler ancestral and DPM-Solver++ 2M. Float32 throughout, as diffusers
 * runs them in torch. */
#include <math.h>
#include <string.h>

#include "diffusion/sched_internal.h"

/* Euler's x0 estimate of one element (sample prediction passes through). */
static float euler_x0(fk_sd_prediction p, float sigma, float mo, float x) {
  if (p == FK_PRED_SAMPLE) return mo;
  if (p == FK_PRED_V)
    return mo * (-sigma / sqrtf(sigma * sigma + 1.0f)) + x / (sigma * sigma + 1.0f);
  return x - sigma * mo;
}

void fk_sched_step_euler(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                         size_t n) {
  /* s_churn 0: gamma 0, so sigma_hat = sigma and no noise is added */
  float sigma = s->sigmas[step], dt = s->sigmas[step + 1] - sigma;
  for (size_t i = 0; i < n; i++) {
    float x0 = euler_x0(s->cfg.prediction, sigma, mo[i], x[i]);
    float der = (x[i] - x0) / sigma;
    prev[i] = x[i] + der * dt;
  }
}

void fk_sched_step_euler_a(fk_sched *s, int step, const float *mo, const float *x,
                           const float *noise, float *prev, size_t n) {
  float sf = s->sigmas[step], st = s->sigmas[step + 1];
  float up = sqrtf(st * st * (sf * sf - st * st) / (sf * sf));
  float down = sqrtf(st * st - up * up), dt = down - sf;
  for (size_t i = 0; i < n; i++) {
    float x0 = euler_x0(s->cfg.prediction, sf, mo[i], x[i]);
    float der = (x[i] - x0) / sf;
    float p = x[i] + der * dt;
    prev[i] = p + noise[i] * up;
  }
}

/* The VP-SDE coefficients of a sigma: alpha = 1/sqrt(sigma^2+1), sigma*alpha,
 * and the half log-SNR lambda = log(alpha) - log(sigma*alpha). */
typedef struct {
  float alpha, sigma, lambda;
} vp;

static vp vp_of(float sigma) {
  vp v;
  v.alpha = 1.0f / sqrtf(sigma * sigma + 1.0f);
  v.sigma = sigma * v.alpha;
  v.lambda = logf(v.alpha) - logf(v.sigma);
  return v;
}

/* DPM-Solver++(2M), midpoint, solver order 2: first order on the first
 * step of a run and on the last step (lower_order_final with a final
 * sigma of 0), second order from the previous x0 estimate otherwise. */
void fk_sched_step_dpm(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                       size_t n) {
  vp cur = vp_of(s->sigmas[step]), nxt = vp_of(s->sigmas[step + 1]);
  float *m0 = s->tmp;
  for (size_t i = 0; i < n; i++) {
    switch (s->cfg.prediction) {
    case FK_PRED_SAMPLE: m0[i] = mo[i]; break;
    case FK_PRED_V: m0[i] = cur.alpha * x[i] - cur.sigma * mo[i]; break;
    default: m0[i] = (x[i] - cur.sigma * mo[i]) / cur.alpha; break;
    }
  }
  int first = s->lower_order_nums < 1 || step == s->count - 1 || step == 0;
  float h = nxt.lambda - cur.lambda;
  float c_x = nxt.sigma / cur.sigma, c_0 = nxt.alpha * (expf(-h) - 1.0f);
  if (first) {
    for (size_t i = 0; i < n; i++) prev[i] = c_x * x[i] - c_0 * m0[i];
  } else {
    vp back = vp_of(s->sigmas[step - 1]);
    const float *m1 = s->hist[0];
    float r0 = (cur.lambda - back.lambda) / h, inv_r0 = 1.0f / r0, c_1 = 0.5f * c_0;
    for (size_t i = 0; i < n; i++) {
      float d1 = inv_r0 * (m0[i] - m1[i]);
      prev[i] = c_x * x[i] - c_0 * m0[i] - c_1 * d1;
    }
  }
  memcpy(s->hist[0], m0, n * sizeof *m0);
  s->nhist = 1;
  if (s->lower_order_nums < 2) s->lower_order_nums++;
}
