/* What the scheduler files share: the state of a scheduler and the
 * per-family step functions. Not part of the API. */
#ifndef FK_DIFFUSION_SCHED_INTERNAL_H
#define FK_DIFFUSION_SCHED_INTERNAL_H

#include "diffusion/scheduler.h"

struct fk_sched {
  fk_sched_kind kind;
  fk_sched_config cfg;
  int steps;          /* num_inference_steps as asked */
  int count;          /* timesteps to run (pndm: steps + 1) */
  int train;          /* train_timesteps */
  float *betas, *acp; /* [train] float32, as torch keeps them */
  float final_acp;    /* alphas_cumprod "before" timestep 0 */
  double *timesteps;  /* [count] */
  float *sigmas;      /* [count + 1] or NULL */
  float init_sigma;
  int begin;
  /* run state: buffers of n floats, allocated by the first step */
  size_t n;
  float *hist[4]; /* pndm: ets, oldest first; dpm: the previous x0 in [0] */
  int nhist;
  float *cur_sample; /* pndm: the sample the first plms step started from */
  float *denoised;   /* lcm */
  float *tmp;
  int counter;          /* pndm */
  int lower_order_nums; /* dpm */
};

/* sched_timesteps.c: betas, alphas_cumprod, timesteps and sigmas. */
int fk_sched_build(fk_sched *s, fk_err *e);

/* sched_alpha.c: the alphas_cumprod schedulers. */
void fk_sched_step_ddim(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                        size_t n);
void fk_sched_step_lcm(fk_sched *s, int step, const float *mo, const float *x, const float *noise,
                       float *prev, size_t n);
void fk_sched_step_pndm(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                        size_t n);

/* sched_sigma.c: the sigma schedulers. */
void fk_sched_step_euler(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                         size_t n);
void fk_sched_step_euler_a(fk_sched *s, int step, const float *mo, const float *x,
                           const float *noise, float *prev, size_t n);
void fk_sched_step_dpm(fk_sched *s, int step, const float *mo, const float *x, float *prev,
                       size_t n);

/* alphas_cumprod at an integer timestep; negative t is "before the start". */
float fk_sched_acp_at(const fk_sched *s, long t);

#endif
