-- start_schedule pulsing on the beat grid: each beat hits at 0.8 and decays
-- to 0.4, the snare pulse 0.4 + (1 - ((i - 4) % 8) / 8) * 0.4 at 15 fps and
-- 112 BPM written as a schedule; FILM doubles the frame rate.
local funky = require "funky"

recipe {
  name = "Snare pulse", version = "1.0", api = 1, author = "Funky Diffusion", license = "CC0",
  description = "start_schedule pulsing on the beat, noise fields, 2x interpolation.",
  params = { audio = "demo", fps = 15, size = 512, bins = 90, points = 320, radius = 1.5,
             blur = 2, seed = 5, colour = "fire", floor_db = -48, model = "",
             film = { "", type = "path",
                      doc = "FILM weights (.safetensors, models/convert_interpolator.py) for 2x frames; empty: none" } },
}

local bins = funky.bins.log { count = params.bins, from = 10 }
local pulse = funky.schedule.pulse { every = 8, offset = 4, low = 0.4, high = 0.8 }

timeline {
  audio = params.audio, fps = params.fps, size = { params.size, params.size }, seed = 42,
  sampler = "ddim", steps = 20, model = params.model,
  -- in-betweens, but none across a strong onset: the hits stay sharp
  interpolate = params.film ~= "" and { model = "film", path = params.film, factor = 2, cut = "onsets" } or nil,
  sections = {
    { at = "0s", prompt = "neon drum machine in a rain soaked alley, film grain" },
    { at = "8bar", prompt = "shattered glass drums exploding into light, high speed photo" },
  },
}

function frame(f)
  local field = funky.noise.field {
    size = f.size, amps = f.spectrum:take(bins), colour = params.colour, seed = params.seed,
    points_per_bin = params.points, radius = params.radius, normalise = { params.floor_db, 0 },
  }
  return { init = field:blur(params.blur), start_schedule = pulse(f) }
end
