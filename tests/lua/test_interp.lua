-- funky.interp: FILM through Lua on Vulkan against the PyTorch port's
-- goldens (tensors in, raw tensor out, pad = false), the image path
-- (clamped to [0, 1]) and the argument errors.
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local funky = require "funky"
local g = (os.getenv("SRC") or ".") .. "/../shared/golden/film/"
local G50, G25 = g .. "film_64x64_dt050.safetensors", g .. "film_64x64_dt025.safetensors"
local function load(file, name) return funky.tensor.load(file, name) end

T.raises("convs.0.0.0.weight. %[64, 3, 3, 3%] is missing", funky.interp.load, G50)
T.raises("device", funky.interp.load, g .. "film-random.safetensors", { device = "tpu" })
T.raises("No such file", funky.interp.load, g .. "nothing.safetensors")

local interp = funky.interp.load(g .. "film-random.safetensors", { f16 = false })
T.check(tostring(interp):find("interpolator film"), "tostring: " .. tostring(interp))
T.check(interp:device().storage == "f32", "f32 storage when f16 = false")

local x0, x1 = load(G50, "x0"), load(G50, "x1")
for _, c in ipairs { { G50, 0.5 }, { G25, 0.25 } } do
  local out = interp:between(x0, x1, c[2], { pad = false })
  local err = out:rel_error(load(c[1], "image"))
  T.check(err < 1e-3, ("tensors at t = %g: relative error %.3g"):format(c[2], err))
end

-- one midpoint is the frame at t = 0.5
local mids = interp:midpoints(x0, x1, 1, { pad = false })
local merr = #mids == 1 and mids[1]:rel_error(load(G50, "image")) or math.huge
T.check(merr < 1e-3, ("midpoints(1): relative error %.3g"):format(merr))

-- images in: the same frame, clamped to [0, 1]
local function image_of(t)
  local v = t:table()[1]
  local h, w = #v[1], #v[1][1]
  local img = funky.image.new(w, h)
  for y = 0, h - 1 do
    for x = 0, w - 1 do img:set(x, y, v[1][y + 1][x + 1], v[2][y + 1][x + 1], v[3][y + 1][x + 1]) end
  end
  return img
end
local a, b = image_of(x0), image_of(x1)
local img = interp:between(a, b, 0.5, { pad = false })
local w, h = img:size()
T.check(w == 64 and h == 64, "image out keeps the size")
local ref, worst = load(G50, "image"):table()[1], 0
for y = 0, 63, 3 do
  for x = 0, 63, 3 do
    local p = { img:get(x, y) }
    for c = 1, 3 do
      local r = math.min(1, math.max(0, ref[c][y + 1][x + 1]))
      worst = math.max(worst, math.abs(p[c] - r))
    end
  end
end
T.check(worst < 1e-3, ("image path: clamped golden within %.3g"):format(worst))

-- bad arguments
T.raises("image, like the first frame", function() interp:between(a, x1) end)
T.raises("first frame's shape", function() interp:between(x0, load(G50, "dt")) end)
T.raises("image or a {1, 3, H, W} tensor", function() interp:between(load(G50, "dt"), x1) end)
T.raises("t must be in %[0, 1%]", function() interp:between(x0, x1, 2) end)
T.raises("pad", function() interp:between(x0, x1, 0.5, { pad = true }) end)
T.raises("pad", function() interp:between(x0, x1, { pad = 0 }) end)
T.raises("2%^k %- 1", function() interp:midpoints(x0, x1, 2) end)
local small = funky.image.new(32, 40)
T.raises("too small", function() interp:between(small, small, 0.5, { pad = false }) end)
T.check(interp:device().validation_messages == 0, "no validation messages")
interp:close()
T.raises("closed", function() interp:between(x0, x1) end)
T.done()
