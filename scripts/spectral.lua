-- The spectrum as pie slices: 256 linear bins round the circle, blurred,
-- desaturated and stretched to full contrast before diffusion.
local funky = require "funky"

recipe {
  name = "Spectral", version = "1.0", api = 1, author = "Funky Diffusion", license = "CC0",
  description = "Pie-slice spectrum (256 bins), blur radius 2, desaturate, autocontrast.",
  params = { audio = "demo", fps = 15, size = 512, bins = 256, blur = 2, start = 0.6,
             colour = "rainbow", floor_db = -60, model = "" },
}

local bins = funky.bins.linear { count = params.bins, from = 1 }

timeline {
  audio = params.audio, fps = params.fps, size = { params.size, params.size }, seed = 3,
  sampler = "euler", steps = 20, model = params.model,
  sections = { { at = "0s", prompt = "stained glass rose window, cathedral light, intricate" } },
}

function frame(f)
  local pie = funky.draw.pie {
    size = f.size, amps = f.spectrum:take(bins), normalise = { params.floor_db, 0 },
    colour = params.colour, inner = 0.1,
  }
  local img = pie:blur(params.blur):desaturate(0.6):autocontrast(0.01)
  return { init = img, start_schedule = params.start }
end
