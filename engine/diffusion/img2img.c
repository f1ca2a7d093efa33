/* Host-side latents: a step's scheduler arithmetic on [4, h, w] floats is
 * negligible next to the UNet, and keeping it on the host keeps every
 * scheduler in one plain C implementation. RNG streams per frame: 0 the
 * VAE posterior sample, 1 the initial latent noise, 2 (at step k) the noise
 * step k draws (ancestral and LCM samplers). */
#include "diffusion/img2img.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/rng.h"
#include "diffusion/scheduler.h"

static int upload(fk_nn *nn, fk_nn_dtype dt, int nd, const int64_t *shape, const float *v,
                  fk_tensor **out, fk_err *e) {
  if (fk_tensor_new(nn, dt, nd, shape, out, e)) return e->code;
  if (fk_tensor_write(*out, v, e)) {
    fk_tensor_free(*out);
    *out = NULL;
    return e->code;
  }
  return FK_OK;
}

static int read_free(fk_tensor *t, float *dst, fk_err *e) {
  int rc = fk_tensor_read(t, dst, e);
  fk_tensor_free(t);
  return rc;
}

/* init latents = scaling_factor * (mean + std * noise) */
static int encode(fk_sd_nets *n, const fk_img2img *p, float *lat, size_t nl, fk_err *e) {
  int64_t is[4] = {1, 3, p->height, p->width};
  fk_tensor *img = NULL, *mean = NULL, *std = NULL;
  float *m = fk_alloc(nl, sizeof *m), *s = fk_alloc(nl, sizeof *s), *z = fk_alloc(nl, sizeof *z);
  int rc = !m || !s || !z ? fk_err_oom(e, "latents", 3 * nl * sizeof *m) : FK_OK;
  if (!rc) rc = upload(n->nn, fk_unet_dtype(n->unet), 4, is, p->init, &img, e);
  if (!rc) rc = fk_vae_encode(n->vae, img, &mean, &std, e);
  fk_tensor_free(img);
  if (!rc)
    rc = read_free(mean, m, e);
  else
    fk_tensor_free(mean);
  if (!rc)
    rc = read_free(std, s, e);
  else
    fk_tensor_free(std);
  if (!rc) {
    if (p->vae_noise)
      memcpy(z, p->vae_noise, nl * sizeof *z);
    else
      fk_rng_normal(p->seed, p->frame, 0, 0, z, nl);
    float sf = (float)fk_vae_scaling_factor(n->vae);
    for (size_t i = 0; i < nl; i++) lat[i] = sf * (m[i] + s[i] * z[i]);
  }
  free(m);
  free(s);
  free(z);
  return rc;
}

/* One guided prediction: the UNet on [uncond, cond] (or cond alone). */
static int predict(fk_sd_nets *n, const fk_img2img *p, const fk_tensor *ctx, const float *x,
                   float t, float *pred, size_t nl, int h, int w, fk_err *e) {
  int cfg = p->uncond && p->guidance > 1, b = cfg ? 2 : 1;
  int64_t xs[4] = {b, 4, h, w};
  float *in = fk_alloc((size_t)b * nl, sizeof *in), *out = fk_alloc((size_t)b * nl, sizeof *out);
  fk_tensor *tx = NULL, *ty = NULL;
  int rc = !in || !out ? fk_err_oom(e, "UNet batch", 2 * (size_t)b * nl * sizeof *in) : FK_OK;
  for (int i = 0; !rc && i < b; i++) memcpy(in + (size_t)i * nl, x, nl * sizeof *in);
  float ts[2] = {t, t};
  if (!rc) rc = upload(n->nn, fk_unet_dtype(n->unet), 4, xs, in, &tx, e);
  if (!rc) rc = fk_unet_forward(n->unet, tx, ts, ctx, &ty, e);
  fk_tensor_free(tx);
  if (!rc) rc = read_free(ty, out, e);
  if (!rc) {
    if (cfg) {
      float g = (float)p->guidance;
      for (size_t i = 0; i < nl; i++) pred[i] = out[i] + g * (out[nl + i] - out[i]);
    } else {
      memcpy(pred, out, nl * sizeof *pred);
    }
  }
  free(in);
  free(out);
  return rc;
}

static int context(fk_sd_nets *n, const fk_img2img *p, fk_tensor **ctx, fk_err *e) {
  int cfg = p->uncond && p->guidance > 1;
  size_t one = (size_t)p->ctx_len * (size_t)p->ctx_dim;
  float *c = fk_alloc(2 * one, sizeof *c);
  if (!c) return fk_err_oom(e, "text context", 2 * one * sizeof *c);
  if (cfg) {
    memcpy(c, p->uncond, one * sizeof *c);
    memcpy(c + one, p->cond, one * sizeof *c);
  } else {
    memcpy(c, p->cond, one * sizeof *c);
  }
  int64_t cs[3] = {cfg ? 2 : 1, p->ctx_len, p->ctx_dim};
  int rc = upload(n->nn, fk_unet_dtype(n->unet), 3, cs, c, ctx, e);
  free(c);
  return rc;
}

int fk_img2img_run(fk_sd_nets *n, const fk_img2img *p, fk_img2img_result *r, fk_err *e) {
  memset(r, 0, sizeof *r);
  const fk_sd_config *cfg = fk_sd_config_of(n->model);
  int f = fk_vae_factor(n->vae), h = p->height / f, w = p->width / f;
  if (p->width < f || p->height < f || p->width % f || p->height % f)
    return fk_err_set(e, FK_EUSER, "img2img: size %dx%d must be multiples of %d pixels", p->width,
                      p->height, f);
  if (!(p->strength > 0 && p->strength <= 1))
    return fk_err_set(e, FK_EUSER, "img2img: strength must be in (0, 1], got %g", p->strength);
  if (p->ctx_dim != cfg->unet.cross_attention_dim)
    return fk_err_set(e, FK_EINTERNAL, "img2img: text width %d, the UNet wants %d", p->ctx_dim,
                      cfg->unet.cross_attention_dim);
  fk_sched_kind kind;
  if (fk_sched_parse(p->sampler, &kind, e)) return e->code;
  size_t nl = (size_t)cfg->unet.in_channels * (size_t)h * (size_t)w;
  fk_sched *s = NULL;
  fk_tensor *ctx = NULL;
  float *lat = fk_alloc(nl, sizeof *lat), *x = fk_alloc(nl, sizeof *x),
        *pred = fk_alloc(nl, sizeof *pred), *noise = fk_alloc(nl, sizeof *noise);
  int rc = !lat || !x || !pred || !noise ? fk_err_oom(e, "latents", 4 * nl * sizeof *lat) : FK_OK;
  int t_start = 0;
  if (!rc) rc = fk_sched_new(kind, &cfg->sched, p->steps, &s, e);
  if (!rc) rc = fk_sched_img2img(s, p->strength, &t_start, e);
  if (!rc) rc = encode(n, p, lat, nl, e);
  if (!rc) rc = context(n, p, &ctx, e);
  if (!rc) {
    if (p->noise)
      memcpy(noise, p->noise, nl * sizeof *noise);
    else
      fk_rng_normal(p->seed, p->frame, 0, 1, noise, nl);
    fk_sched_add_noise(s, lat, noise, lat, nl);
  }
  int k = 0, total = rc ? 0 : fk_sched_count(s) - fk_sched_begin(s);
  float *trace = rc ? NULL : fk_alloc((size_t)(total > 0 ? total : 1) * nl, sizeof *trace);
  if (!rc && !trace) rc = fk_err_oom(e, "step latents", (size_t)total * nl * sizeof *trace);
  for (int step = rc ? 0 : fk_sched_begin(s); !rc && step < fk_sched_count(s); step++, k++) {
    fk_sched_scale_model_input(s, step, lat, x, nl);
    rc = predict(n, p, ctx, x, (float)fk_sched_timesteps(s)[step], pred, nl, h, w, e);
    if (!rc) {
      int noisy = fk_sched_step_needs_noise(s, step);
      if (noisy) fk_rng_normal(p->seed, p->frame, (uint32_t)k, 2, noise, nl);
      rc = fk_sched_step(s, step, pred, lat, noisy ? noise : NULL, lat, nl, e);
    }
    for (size_t i = 0; !rc && i < nl; i++)
      if (!isfinite(lat[i]))
        rc = fk_err_set(e, FK_EUSER,
                        "img2img: the latents became NaN or infinite at step %d of %d (timestep "
                        "%g); try fp32 weights (f16 = false), another sampler or fewer steps",
                        k + 1, total, fk_sched_timesteps(s)[step]);
    if (!rc) memcpy(trace + (size_t)k * nl, lat, nl * sizeof *lat);
  }
  fk_tensor_free(ctx);
  fk_sched_free(s);
  free(x);
  free(pred);
  free(noise);
  /* decode latents / scaling_factor */
  size_t ni = (size_t)3 * (size_t)p->width * (size_t)p->height;
  float *img = rc ? NULL : fk_alloc(ni, sizeof *img), *zs = rc ? NULL : fk_alloc(nl, sizeof *zs);
  if (!rc && (!img || !zs)) rc = fk_err_oom(e, "decoded image", ni * sizeof *img);
  fk_tensor *tz = NULL, *ti = NULL;
  int64_t zsh[4] = {1, cfg->unet.in_channels, h, w};
  if (!rc) {
    float inv = (float)(1.0 / fk_vae_scaling_factor(n->vae));
    for (size_t i = 0; i < nl; i++) zs[i] = lat[i] * inv;
    rc = upload(n->nn, fk_unet_dtype(n->unet), 4, zsh, zs, &tz, e);
  }
  if (!rc) rc = fk_vae_decode(n->vae, tz, &ti, e);
  fk_tensor_free(tz);
  if (!rc) rc = read_free(ti, img, e);
  free(zs);
  if (rc) {
    free(lat);
    free(img);
    free(trace);
    return rc;
  }
  r->latents = lat;
  r->image = img;
  r->steps = trace;
  r->steps_run = k;
  return FK_OK;
}

void fk_img2img_result_free(fk_img2img_result *r) {
  free(r->steps);
  free(r->latents);
  free(r->image);
  memset(r, 0, sizeof *r);
}
