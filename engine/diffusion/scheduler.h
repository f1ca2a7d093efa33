/* Noise schedulers for img2img, matching diffusers v0.27.2 value for value:
 * ddim (DDIMScheduler, eta 0), euler (EulerDiscreteScheduler), euler_a
 * (EulerAncestralDiscreteScheduler), dpmpp_2m and dpmpp_2m_karras
 * (DPMSolverMultistepScheduler, dpmsolver++, order 2, midpoint,
 * lower_order_final, final sigma 0; karras = use_karras_sigmas), lcm
 * (LCMScheduler, 50 original steps, timestep scaling 10) and pndm
 * (PNDMScheduler with skip_prk_steps, i.e. PLMS).
 *
 * A scheduler is chosen by name independently of the model's own scheduler
 * class, as diffusers' Class.from_config(model config) does: the model's
 * fk_sched_config supplies the betas, the spacing, the offset and the
 * prediction type; what the model config cannot say comes from the named
 * class's defaults.
 *
 * Latents are host float32 arrays of n values (any shape: every scheduler
 * works elementwise). Steps are indices into fk_sched_timesteps; run them
 * in order from fk_sched_begin() to fk_sched_count() - 1, because the
 * multistep schedulers (dpmpp_2m, pndm) keep their history inside. */
#ifndef FK_DIFFUSION_SCHEDULER_H
#define FK_DIFFUSION_SCHEDULER_H

#include <stddef.h>

#include "core/error.h"
#include "models/sd_config.h"

typedef enum fk_sched_kind {
  FK_SCHED_DDIM = 0,
  FK_SCHED_EULER,
  FK_SCHED_EULER_A,
  FK_SCHED_DPMPP_2M,
  FK_SCHED_DPMPP_2M_KARRAS,
  FK_SCHED_LCM,
  FK_SCHED_PNDM,
  FK_SCHED_NKINDS
} fk_sched_kind;

typedef struct fk_sched fk_sched;

/* "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm",
 * "pndm" -> kind; anything else is an FK_EUSER error listing the names. */
int fk_sched_parse(const char *name, fk_sched_kind *k, fk_err *e);
const char *fk_sched_name(fk_sched_kind k);

/* set_timesteps(steps) on a scheduler of kind k built from cfg. steps must
 * be in 1..cfg->train_timesteps (lcm: 1..50). */
int fk_sched_new(fk_sched_kind k, const fk_sched_config *cfg, int steps, fk_sched **out, fk_err *e);
void fk_sched_free(fk_sched *s);

fk_sched_kind fk_sched_kind_of(const fk_sched *s);
/* The timesteps to feed the UNet (pndm has steps + 1, with one repeated).
 * Integer schedulers hold whole numbers; euler and euler_a hold float32
 * values, fractional with "linspace" spacing. */
int fk_sched_count(const fk_sched *s);
const double *fk_sched_timesteps(const fk_sched *s);
int fk_sched_integer_timesteps(const fk_sched *s);
/* count + 1 sigmas ending in 0 for euler, euler_a and dpmpp_2m*; NULL for
 * the others. */
const float *fk_sched_sigmas(const fk_sched *s);
/* The training schedule: train_timesteps values each. */
const float *fk_sched_betas(const fk_sched *s);
const float *fk_sched_alphas_cumprod(const fk_sched *s);
int fk_sched_train_timesteps(const fk_sched *s);
/* The scale of the initial noise for a full (text-to-image) run. */
double fk_sched_init_noise_sigma(const fk_sched *s);
/* diffusers' Scheduler.order (1 for all of these in v0.27.2). */
int fk_sched_order(const fk_sched *s);
/* ddim: the alphas_cumprod step `step` moves between (prev: the one at
 * t - train/steps, or alphas_cumprod[0] when that is negative and
 * set_alpha_to_one is off). Other kinds: both 0. */
void fk_sched_ddim_alphas(const fk_sched *s, int step, float *alpha_t, float *alpha_prev);

/* img2img's get_timesteps: keeps the last min(int(steps * strength),
 * steps) steps, t_start = steps - that, and begins at index t_start *
 * order (diffusers' set_begin_index). strength must be in [0, 1]. Clears
 * the history. *t_start may be NULL. */
int fk_sched_img2img(fk_sched *s, double strength, int *t_start, fk_err *e);
/* The first step index to run: 0, or what fk_sched_img2img chose. */
int fk_sched_begin(const fk_sched *s);
/* Forgets the multistep history and the begin index (a new run). */
void fk_sched_reset(fk_sched *s);

/* The UNet input at step (x / sqrt(sigma^2 + 1) for euler and euler_a, x
 * otherwise). out may be x. */
void fk_sched_scale_model_input(const fk_sched *s, int step, const float *x, float *out, size_t n);
/* prepare_latents: noises orig to the first timestep that will run
 * (fk_sched_begin()). out may alias orig or noise. */
void fk_sched_add_noise(const fk_sched *s, const float *orig, const float *noise, float *out,
                        size_t n);
/* Whether step draws noise (euler_a always, lcm all but the last step). */
int fk_sched_step_needs_noise(const fk_sched *s, int step);
/* One denoising step: prev = the sample at the next timestep. noise (n
 * standard normals) is required where fk_sched_step_needs_noise says so
 * and ignored otherwise. prev may alias sample. n must stay the same
 * within a run. */
int fk_sched_step(fk_sched *s, int step, const float *model_output, const float *sample,
                  const float *noise, float *prev, size_t n, fk_err *e);
/* lcm: the last step's denoised sample (n values); NULL otherwise. */
const float *fk_sched_denoised(const fk_sched *s);

#endif
