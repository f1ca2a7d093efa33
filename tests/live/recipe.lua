-- funky live's test recipe: a 2 s demo song (30 frames), small frames, and a
-- colour scheme on line 5 that the tests edit; line 6 is where they put errors.
recipe { name = "live test", params = { from = 0 } }
timeline { audio = funky.audio.demo { seconds = 2 }, size = { 96, 96 }, fps = 15 }
local bins, colour = funky.bins.log { count = 24 }, "rainbow"
function frame(f)
  return funky.noise.field { size = f.size, amps = f.spectrum:take(bins), radius = 2,
    colour = f.index >= params.from and colour or "mono", points_per_bin = 60 }
end
