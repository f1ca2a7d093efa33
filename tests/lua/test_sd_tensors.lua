-- sd:encode_image, sd:decode_latent and sd:unet (tensors in, tensors out)
-- against the diffusers goldens of the tiny model, on the CPU reference and
-- on Vulkan, and the argument errors they give.
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local funky = require "funky"
local g = (os.getenv("SRC") or ".") .. "/../shared/golden/"
local U, V = g .. "cases/unet.safetensors", g .. "cases/vae.safetensors"
local function load(file, name) return funky.tensor.load(file, name) end

for _, dev in ipairs { { device = "cpu" }, { device = "vulkan", f16 = false } } do
  local sd = funky.sd.load(g .. "tiny-sd", dev)
  local what = dev.device
  -- the CFG batch: one timestep for both halves, and a list of two
  local x, ctx = load(U, "cfg_sample"), load(U, "cfg_encoder_hidden_states")
  local ref = load(U, "cfg_out")
  local err = sd:unet(x, 500, ctx):rel_error(ref)
  T.check(err < 1e-4, ("%s: unet cfg batch relative error %.3g"):format(what, err))
  err = sd:unet(x, { 500, 500 }, ctx):rel_error(ref)
  T.check(err < 1e-4, ("%s: unet with a timestep list %.3g"):format(what, err))
  err = sd:unet(load(U, "float_t_sample"), 856.2857, load(U, "float_t_encoder_hidden_states"))
      :rel_error(load(U, "float_t_out"))
  T.check(err < 1e-4, ("%s: unet at a fractional timestep %.3g"):format(what, err))

  -- encode: latents are scaling_factor x the posterior mean
  local lat, post = sd:encode_image(load(V, "image"))
  err = post.mean:rel_error(load(V, "posterior_mean"))
  T.check(err < 1e-4, ("%s: posterior mean %.3g"):format(what, err))
  err = post.std:rel_error(load(V, "posterior_std"))
  T.check(err < 1e-4, ("%s: posterior std %.3g"):format(what, err))
  local sf = sd:config().scaling_factor
  T.check(math.abs(lat:stats().mean - sf * post.mean:stats().mean) < 1e-5, what .. ": latents scaled")

  -- decode divides by the scaling factor, as the pipeline does
  local img, raw = sd:decode_latent(lat)
  err = raw:rel_error(load(V, "decode_mean_out"))
  T.check(err < 1e-4, ("%s: decode_latent raw output %.3g"):format(what, err))
  local w, h = img:size()
  T.check(w == 64 and h == 64, what .. ": decoded image size")

  -- an image handle encodes like the same pixels as a tensor
  local lat2 = sd:encode_image(img)
  T.check(lat2:shape()[3] == 8 and lat2:shape()[4] == 8, what .. ": image handle encodes")

  T.raises("one B", function() sd:unet(x, 500, load(U, "case0_encoder_hidden_states")) end)
  T.raises("latent tensor", function() sd:decode_latent(ctx) end)
  T.raises("image or a {1, 3, H, W} tensor", function() sd:encode_image(ctx) end)
  sd:close()
end
-- a prompt cross-fade (mix) blends the two prompts' embeddings
do
  local sd = funky.sd.load(g .. "tiny-sd", { device = "cpu" })
  local init = funky.tensor.load(V, "image")
  local function run(t)
    t.init, t.steps, t.start_schedule, t.seed, t.guidance = init, 2, 0.5, 7, t.guidance or 3
    local _, lat = sd:img2img(t)
    return lat
  end
  local a = run { prompt = "a red cube", negative = "fog" }
  local b = run { prompt = "a blue sphere", negative = "rain" }
  T.check(run({ prompt = "a red cube", negative = "fog", mix = { prompt = "a blue sphere", negative = "rain", weight = 0 } })
    :rel_error(a) < 1e-6, "mix weight 0: the prompt alone")
  T.check(run({ prompt = "a red cube", negative = "fog", mix = { prompt = "a blue sphere", negative = "rain", weight = 1 } })
    :rel_error(b) < 1e-6, "mix weight 1: the other prompt")
  local half = run { prompt = "a red cube", negative = "fog", mix = { prompt = "a blue sphere", negative = "rain", weight = 0.5 } }
  T.check(half:rel_error(a) > 1e-4 and half:rel_error(b) > 1e-4, "mix 0.5 lies between")
  local long = run { prompt = "a red cube", mix = { prompt = ("a blue sphere, "):rep(30), weight = 0.5 } }
  T.check(not long:stats().nan, "prompts of different chunk counts blend (padded)")
  T.raises("weight must be in 0..1", run, { prompt = "x", mix = { prompt = "y", weight = 2 } })
  sd:close()
end
T.done()
