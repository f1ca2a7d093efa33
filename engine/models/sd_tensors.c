/* The name correspondences follow the published conversion tables between
 * the CompVis/LDM, OpenCLIP and diffusers/transformers layouts:
 * input_blocks.{1 + i(L+1) + j} are the resnets/attentions of down level i,
 * input_blocks.{(i+1)(L+1)}.0.op its downsampler, output_blocks.{i(L+1) + j}
 * up block i, and the LDM VAE decoder numbers its up levels in reverse. */
#include "models/sd_tensors.h"

#include <stdio.h>
#include <string.h>

typedef struct em {
  fk_sd_visit fn;
  void *ctx;
  fk_err *e;
  fk_sd_part part;
  int rc;
} em;

static void emit(em *m, const char *dp, const char *ds, const char *lp, const char *ls, int ndim,
                 const int64_t *shape, int slice, int slices, int conv) {
  if (m->rc) return;
  char d[256], l[256];
  snprintf(d, sizeof d, "%s%s", dp, ds);
  snprintf(l, sizeof l, "%s%s", lp, ls);
  fk_sd_spec s = {.part = m->part,
                  .name = d,
                  .ldm = l,
                  .ndim = ndim,
                  .slice = slice,
                  .slices = slices,
                  .ldm_conv = conv};
  memcpy(s.shape, shape, (size_t)ndim * sizeof *shape);
  m->rc = m->fn(m->ctx, &s, m->e);
}

/* weight [out, in] (+ bias [out]) */
static void linear(em *m, const char *dp, const char *lp, const char *ds, const char *ls,
                   int64_t out, int64_t in, int bias) {
  char a[96], b[96];
  int64_t w[2] = {out, in};
  snprintf(a, sizeof a, "%s.weight", ds);
  snprintf(b, sizeof b, "%s.weight", ls);
  emit(m, dp, a, lp, b, 2, w, 0, 1, 0);
  if (!bias) return;
  snprintf(a, sizeof a, "%s.bias", ds);
  snprintf(b, sizeof b, "%s.bias", ls);
  emit(m, dp, a, lp, b, 1, &out, 0, 1, 0);
}

static void conv(em *m, const char *dp, const char *lp, const char *ds, const char *ls, int64_t out,
                 int64_t in, int64_t k) {
  char a[96], b[96];
  int64_t w[4] = {out, in, k, k};
  snprintf(a, sizeof a, "%s.weight", ds);
  snprintf(b, sizeof b, "%s.weight", ls);
  emit(m, dp, a, lp, b, 4, w, 0, 1, 0);
  snprintf(a, sizeof a, "%s.bias", ds);
  snprintf(b, sizeof b, "%s.bias", ls);
  emit(m, dp, a, lp, b, 1, &out, 0, 1, 0);
}

static void norm(em *m, const char *dp, const char *lp, const char *ds, const char *ls, int64_t c) {
  char a[96], b[96];
  snprintf(a, sizeof a, "%s.weight", ds);
  snprintf(b, sizeof b, "%s.weight", ls);
  emit(m, dp, a, lp, b, 1, &c, 0, 1, 0);
  snprintf(a, sizeof a, "%s.bias", ds);
  snprintf(b, sizeof b, "%s.bias", ls);
  emit(m, dp, a, lp, b, 1, &c, 0, 1, 0);
}

/* A resnet block; temb 0 for the VAE's (no time embedding, LDM VAE names). */
static void resnet(em *m, const char *dp, const char *lp, int64_t cin, int64_t cout, int64_t temb) {
  int vae = temb == 0;
  norm(m, dp, lp, "norm1", vae ? "norm1" : "in_layers.0", cin);
  conv(m, dp, lp, "conv1", vae ? "conv1" : "in_layers.2", cout, cin, 3);
  if (!vae) linear(m, dp, lp, "time_emb_proj", "emb_layers.1", cout, temb, 1);
  norm(m, dp, lp, "norm2", vae ? "norm2" : "out_layers.0", cout);
  conv(m, dp, lp, "conv2", vae ? "conv2" : "out_layers.3", cout, cout, 3);
  if (cin != cout)
    conv(m, dp, lp, "conv_shortcut", vae ? "nin_shortcut" : "skip_connection", cout, cin, 1);
}

static void transformer(em *m, const char *dp, const char *lp, const fk_unet_config *u,
                        int64_t ch) {
  norm(m, dp, lp, "norm", "norm", ch);
  if (u->linear_projection)
    linear(m, dp, lp, "proj_in", "proj_in", ch, ch, 1);
  else
    conv(m, dp, lp, "proj_in", "proj_in", ch, ch, 1);
  for (int b = 0; b < u->transformer_depth; b++) {
    char dq[160], lq[160];
    snprintf(dq, sizeof dq, "%stransformer_blocks.%d.", dp, b);
    snprintf(lq, sizeof lq, "%stransformer_blocks.%d.", lp, b);
    norm(m, dq, lq, "norm1", "norm1", ch);
    linear(m, dq, lq, "attn1.to_q", "attn1.to_q", ch, ch, 0);
    linear(m, dq, lq, "attn1.to_k", "attn1.to_k", ch, ch, 0);
    linear(m, dq, lq, "attn1.to_v", "attn1.to_v", ch, ch, 0);
    linear(m, dq, lq, "attn1.to_out.0", "attn1.to_out.0", ch, ch, 1);
    norm(m, dq, lq, "norm2", "norm2", ch);
    linear(m, dq, lq, "attn2.to_q", "attn2.to_q", ch, ch, 0);
    linear(m, dq, lq, "attn2.to_k", "attn2.to_k", ch, u->cross_attention_dim, 0);
    linear(m, dq, lq, "attn2.to_v", "attn2.to_v", ch, u->cross_attention_dim, 0);
    linear(m, dq, lq, "attn2.to_out.0", "attn2.to_out.0", ch, ch, 1);
    norm(m, dq, lq, "norm3", "norm3", ch);
    linear(m, dq, lq, "ff.net.0.proj", "ff.net.0.proj", 8 * ch, ch, 1); /* GEGLU: value, gate */
    linear(m, dq, lq, "ff.net.2", "ff.net.2", ch, 4 * ch, 1);
  }
  if (u->linear_projection)
    linear(m, dp, lp, "proj_out", "proj_out", ch, ch, 1);
  else
    conv(m, dp, lp, "proj_out", "proj_out", ch, ch, 1);
}

static void unet(em *m, const fk_unet_config *u) {
  const char *L = "model.diffusion_model.";
  char dp[160], lp[160];
  int n = u->levels, lpb = u->layers_per_block;
  int64_t c0 = u->channels[0], temb = 4 * c0, top = u->channels[n - 1];
  conv(m, "", L, "conv_in", "input_blocks.0.0", c0, u->in_channels, 3);
  linear(m, "", L, "time_embedding.linear_1", "time_embed.0", temb, c0, 1);
  linear(m, "", L, "time_embedding.linear_2", "time_embed.2", temb, temb, 1);
  int64_t cin = c0;
  for (int i = 0; i < n; i++) {
    int64_t co = u->channels[i];
    for (int j = 0; j < lpb; j++) {
      int k = 1 + i * (lpb + 1) + j;
      snprintf(dp, sizeof dp, "down_blocks.%d.resnets.%d.", i, j);
      snprintf(lp, sizeof lp, "%sinput_blocks.%d.0.", L, k);
      resnet(m, dp, lp, cin, co, temb);
      cin = co;
      if (!u->attention[i]) continue;
      snprintf(dp, sizeof dp, "down_blocks.%d.attentions.%d.", i, j);
      snprintf(lp, sizeof lp, "%sinput_blocks.%d.1.", L, k);
      transformer(m, dp, lp, u, co);
    }
    if (i == n - 1) continue;
    snprintf(dp, sizeof dp, "down_blocks.%d.downsamplers.0.", i);
    snprintf(lp, sizeof lp, "%sinput_blocks.%d.0.", L, (i + 1) * (lpb + 1));
    conv(m, dp, lp, "conv", "op", co, co, 3);
  }
  snprintf(lp, sizeof lp, "%smiddle_block.0.", L);
  resnet(m, "mid_block.resnets.0.", lp, top, top, temb);
  snprintf(lp, sizeof lp, "%smiddle_block.1.", L);
  transformer(m, "mid_block.attentions.0.", lp, u, top);
  snprintf(lp, sizeof lp, "%smiddle_block.2.", L);
  resnet(m, "mid_block.resnets.1.", lp, top, top, temb);
  int64_t out = top;
  for (int i = 0; i < n; i++) {
    int r = n - 1 - i;
    int64_t prev = out, in = u->channels[r > 0 ? r - 1 : 0];
    out = u->channels[r];
    for (int j = 0; j <= lpb; j++) {
      int64_t skip = j == lpb ? in : out, rin = j == 0 ? prev : out;
      snprintf(dp, sizeof dp, "up_blocks.%d.resnets.%d.", i, j);
      snprintf(lp, sizeof lp, "%soutput_blocks.%d.0.", L, i * (lpb + 1) + j);
      resnet(m, dp, lp, rin + skip, out, temb);
      if (!u->attention[r]) continue;
      snprintf(dp, sizeof dp, "up_blocks.%d.attentions.%d.", i, j);
      snprintf(lp, sizeof lp, "%soutput_blocks.%d.1.", L, i * (lpb + 1) + j);
      transformer(m, dp, lp, u, out);
    }
    if (i == n - 1) continue;
    snprintf(dp, sizeof dp, "up_blocks.%d.upsamplers.0.", i);
    snprintf(lp, sizeof lp, "%soutput_blocks.%d.%d.", L, i * (lpb + 1) + lpb,
             u->attention[r] ? 2 : 1);
    conv(m, dp, lp, "conv", "conv", out, out, 3);
  }
  norm(m, "", L, "conv_norm_out", "out.0", c0);
  conv(m, "", L, "conv_out", "out.2", u->out_channels, c0, 3);
}

/* The VAE mid block: resnet, single-head attention, resnet. */
static void vae_mid(em *m, const char *dp, const char *lp, int64_t c) {
  char d[96], l[96];
  snprintf(d, sizeof d, "%smid_block.resnets.0.", dp);
  snprintf(l, sizeof l, "%smid.block_1.", lp);
  resnet(m, d, l, c, c, 0);
  snprintf(d, sizeof d, "%smid_block.attentions.0.", dp);
  snprintf(l, sizeof l, "%smid.attn_1.", lp);
  norm(m, d, l, "group_norm", "norm", c);
  static const char *const dn[] = {"to_q", "to_k", "to_v", "to_out.0"};
  static const char *const ln[] = {"q", "k", "v", "proj_out"};
  for (int i = 0; i < 4; i++) {
    char a[64], b[64];
    int64_t w[2] = {c, c};
    snprintf(a, sizeof a, "%s.weight", dn[i]);
    snprintf(b, sizeof b, "%s.weight", ln[i]);
    emit(m, d, a, l, b, 2, w, 0, 1, 1);
    snprintf(a, sizeof a, "%s.bias", dn[i]);
    snprintf(b, sizeof b, "%s.bias", ln[i]);
    emit(m, d, a, l, b, 1, &c, 0, 1, 0);
  }
  snprintf(d, sizeof d, "%smid_block.resnets.1.", dp);
  snprintf(l, sizeof l, "%smid.block_2.", lp);
  resnet(m, d, l, c, c, 0);
}

static void vae(em *m, const fk_vae_config *v) {
  const char *E = "first_stage_model.encoder.", *D = "first_stage_model.decoder.";
  char dp[160], lp[160];
  int n = v->levels, lpb = v->layers_per_block;
  int64_t z = v->latent_channels, c0 = v->channels[0], top = v->channels[n - 1];
  conv(m, "encoder.", E, "conv_in", "conv_in", c0, v->in_channels, 3);
  int64_t cin = c0;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < lpb; j++) {
      snprintf(dp, sizeof dp, "encoder.down_blocks.%d.resnets.%d.", i, j);
      snprintf(lp, sizeof lp, "%sdown.%d.block.%d.", E, i, j);
      resnet(m, dp, lp, cin, v->channels[i], 0);
      cin = v->channels[i];
    }
    if (i == n - 1) continue;
    snprintf(dp, sizeof dp, "encoder.down_blocks.%d.downsamplers.0.", i);
    snprintf(lp, sizeof lp, "%sdown.%d.downsample.", E, i);
    conv(m, dp, lp, "conv", "conv", cin, cin, 3);
  }
  vae_mid(m, "encoder.", E, top);
  norm(m, "encoder.", E, "conv_norm_out", "norm_out", top);
  conv(m, "encoder.", E, "conv_out", "conv_out", 2 * z, top, 3);
  conv(m, "", "first_stage_model.", "quant_conv", "quant_conv", 2 * z, 2 * z, 1);
  conv(m, "", "first_stage_model.", "post_quant_conv", "post_quant_conv", z, z, 1);
  conv(m, "decoder.", D, "conv_in", "conv_in", top, z, 3);
  vae_mid(m, "decoder.", D, top);
  cin = top;
  for (int i = 0; i < n; i++) {
    int r = n - 1 - i;
    for (int j = 0; j <= lpb; j++) {
      snprintf(dp, sizeof dp, "decoder.up_blocks.%d.resnets.%d.", i, j);
      snprintf(lp, sizeof lp, "%sup.%d.block.%d.", D, r, j);
      resnet(m, dp, lp, cin, v->channels[r], 0);
      cin = v->channels[r];
    }
    if (i == n - 1) continue;
    snprintf(dp, sizeof dp, "decoder.up_blocks.%d.upsamplers.0.", i);
    snprintf(lp, sizeof lp, "%sup.%d.upsample.", D, r);
    conv(m, dp, lp, "conv", "conv", cin, cin, 3);
  }
  norm(m, "decoder.", D, "conv_norm_out", "norm_out", c0);
  conv(m, "decoder.", D, "conv_out", "conv_out", v->out_channels, c0, 3);
}

static void text(em *m, const fk_clip_config *t, int openclip) {
  const char *T = openclip ? "cond_stage_model.model." : "cond_stage_model.transformer.text_model.";
  int64_t d = t->hidden, emb[2] = {t->vocab, d}, pos[2] = {t->positions, d};
  const char *dp = "text_model.";
  emit(m, dp, "embeddings.token_embedding.weight", T,
       openclip ? "token_embedding.weight" : "embeddings.token_embedding.weight", 2, emb, 0, 1, 0);
  emit(m, dp, "embeddings.position_embedding.weight", T,
       openclip ? "positional_embedding" : "embeddings.position_embedding.weight", 2, pos, 0, 1, 0);
  for (int i = 0; i < t->layers; i++) {
    char a[96], b[128];
    snprintf(a, sizeof a, "text_model.encoder.layers.%d.", i);
    if (!openclip) {
      snprintf(b, sizeof b, "%sencoder.layers.%d.", T, i);
      linear(m, a, b, "self_attn.q_proj", "self_attn.q_proj", d, d, 1);
      linear(m, a, b, "self_attn.k_proj", "self_attn.k_proj", d, d, 1);
      linear(m, a, b, "self_attn.v_proj", "self_attn.v_proj", d, d, 1);
      linear(m, a, b, "self_attn.out_proj", "self_attn.out_proj", d, d, 1);
      norm(m, a, b, "layer_norm1", "layer_norm1", d);
      linear(m, a, b, "mlp.fc1", "mlp.fc1", t->intermediate, d, 1);
      linear(m, a, b, "mlp.fc2", "mlp.fc2", d, t->intermediate, 1);
      norm(m, a, b, "layer_norm2", "layer_norm2", d);
      continue;
    }
    snprintf(b, sizeof b, "%stransformer.resblocks.%d.", T, i);
    static const char *const qkv[] = {"q_proj", "k_proj", "v_proj"};
    for (int s = 0; s < 3; s++) {
      char dn[64];
      int64_t w[2] = {d, d};
      snprintf(dn, sizeof dn, "self_attn.%s.weight", qkv[s]);
      emit(m, a, dn, b, "attn.in_proj_weight", 2, w, s, 3, 0);
      snprintf(dn, sizeof dn, "self_attn.%s.bias", qkv[s]);
      emit(m, a, dn, b, "attn.in_proj_bias", 1, &d, s, 3, 0);
    }
    linear(m, a, b, "self_attn.out_proj", "attn.out_proj", d, d, 1);
    norm(m, a, b, "layer_norm1", "ln_1", d);
    linear(m, a, b, "mlp.fc1", "mlp.c_fc", t->intermediate, d, 1);
    linear(m, a, b, "mlp.fc2", "mlp.c_proj", d, t->intermediate, 1);
    norm(m, a, b, "layer_norm2", "ln_2", d);
  }
  norm(m, dp, T, "final_layer_norm", openclip ? "ln_final" : "final_layer_norm", d);
}

int fk_sd_specs(const fk_sd_config *c, fk_sd_part part, int openclip, fk_sd_visit fn, void *ctx,
                fk_err *e) {
  em m = {.fn = fn, .ctx = ctx, .e = e, .part = part};
  if (part == FK_PART_TEXT)
    text(&m, &c->text, openclip);
  else if (part == FK_PART_UNET)
    unet(&m, &c->unet);
  else
    vae(&m, &c->vae);
  return m.rc;
}

const char *fk_sd_part_name(fk_sd_part p) {
  return p == FK_PART_TEXT ? "text encoder" : p == FK_PART_UNET ? "UNet" : "VAE";
}

const char *fk_sd_part_folder(fk_sd_part p) {
  return p == FK_PART_TEXT ? "text_encoder" : p == FK_PART_UNET ? "unet" : "vae";
}
