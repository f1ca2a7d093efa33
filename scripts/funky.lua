-- The seed recipe: 15 fps, a 0.05 s onset window at the start of every frame,
-- 90 log-spaced FFT bins, each bin's energy scattered as points at hashed
-- positions (hue by bin, lightness by magnitude), Gaussian blur, then
-- img2img at start_schedule 0.5 with a fixed seed and per-section prompts.
-- Without a model the blurred noise fields are the frames (the preview).
local funky = require "funky"

recipe {
  name = "Funky Diffusion", version = "1.0", api = 1, author = "Funky Diffusion", license = "CC0",
  description = "Onset spectra as hashed noise fields, diffused with per-section prompts.",
  params = {
    audio = { "demo", type = "path", doc = "the song: a file, or demo for the built-in track" },
    fps = { 15, min = 1, max = 60, doc = "frames per second" },
    window = { 0.05, min = 0.005, max = 1, doc = "onset window at the start of each frame, s" },
    size = { 512, min = 64, max = 2048, doc = "frame width and height, pixels" },
    bins = { 90, min = 1, max = 1024, doc = "log-spaced FFT bins" },
    points = { 320, min = 1, max = 10000, doc = "noise points per bin" },
    radius = { 1.5, min = 0, max = 64, doc = "point radius, pixels" },
    blur = { 2, min = 0, max = 64, doc = "Gaussian blur sigma, pixels" },
    start = { 0.5, min = 0.01, max = 1, doc = "start_schedule (img2img strength)" },
    seed = { 7, doc = "noise placement seed" },
    colour = { "rainbow", choices = { "rainbow", "fire", "ice", "mono" }, doc = "hue by bin" },
    floor_db = { -48, min = -120, max = -1, doc = "magnitudes below this are black, dB" },
    model = { "", type = "path", doc = "a Stable Diffusion checkpoint; empty renders the preview" },
  },
}

local bins = funky.bins.log { count = params.bins, from = 10 }

timeline {
  audio = params.audio, fps = params.fps, window = params.window,
  size = { params.size, params.size }, seed = 42, sampler = "ddim", steps = 20, guidance = 7.5,
  model = params.model, -- "" renders the noise-field preview
  sections = {
    { at = "0s", prompt = "iceland vista high res photo 4k cinematic lighting anamorphic 16mm" },
    { at = "16s", prompt = "hyperrealistic photography of an android moody fog cyberpunk" },
  },
}

function frame(f)
  local field = funky.noise.field {
    size = f.size, amps = f.spectrum:take(bins), colour = params.colour, seed = params.seed,
    points_per_bin = params.points, radius = params.radius, normalise = { params.floor_db, 0 },
  }
  return { init = field:blur(params.blur), start_schedule = params.start, prompt = f.section.prompt }
end
