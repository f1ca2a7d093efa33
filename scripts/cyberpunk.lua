-- The android in the fog: the seed's noise fields, blurred harder, diffused
-- at start_schedule 0.75 so the prompt owns more of each frame.
local funky = require "funky"

recipe {
  name = "Cyberpunk", version = "1.0", api = 1, author = "Funky Diffusion", license = "CC0",
  description = "Blurred onset noise fields under a moody android prompt, start_schedule 0.75.",
  params = { audio = "demo", fps = 15, size = 512, bins = 90, points = 320, radius = 1.5,
             blur = 4, start = 0.75, seed = 11, colour = "ice", floor_db = -48, model = "" },
}

local bins = funky.bins.log { count = params.bins, from = 10 }

timeline {
  audio = params.audio, fps = params.fps, size = { params.size, params.size }, seed = 42,
  sampler = "dpmpp_2m", steps = 20, guidance = 7.5, model = params.model,
  negative = "blurry, low quality, watermark, text",
  sections = {
    { at = "0s", prompt = "hyperrealistic photography of an android moody fog cyberpunk" },
  },
}

function frame(f)
  local field = funky.noise.field {
    size = f.size, amps = f.spectrum:take(bins), colour = params.colour, seed = params.seed,
    points_per_bin = params.points, radius = params.radius, normalise = { params.floor_db, 0 },
  }
  return { init = field:blur(params.blur), start_schedule = params.start }
end
