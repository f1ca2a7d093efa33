-- funky.interp with RIFE weights (random, from `funky model random --family
-- rife`): load tells RIFE from FILM, images in give clamped images out of
-- the same size for any size (pad = 64, pad = false: RIFE's least, 32),
-- CPU and Vulkan agree, midpoints are each at their own time, and RIFE's
-- argument errors. Parity with torch: tests/parity/rife_parity.sh.
local funky = require "funky"
local tmp = assert(arg[1], "usage: test_interp_rife.lua TMPDIR")
os.execute("mkdir -p '" .. tmp .. "'")
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local weights = tmp .. "/rife-random.safetensors"
local bin = assert(os.getenv("FUNKY"), "FUNKY (the binary) is not set")
T.check(os.execute(("'%s' model random --family rife --seed 5 --out '%s' >/dev/null"):format(bin, weights)),
        "funky model random --family rife")

local gpu = funky.interp.load(weights, { f16 = false })
local cpu = funky.interp.load(weights, { device = "cpu" })
T.check(tostring(gpu):find("interpolator rife"), "tostring: " .. tostring(gpu))
T.check(gpu:device().model == "rife", "device().model")

local function frame(w, h, dx, dy)
  local img = funky.image.new(w, h)
  for y = 0, h - 1 do
    for x = 0, w - 1 do
      local v = 0.15 * (x - dx) + 0.2 * (y - dy)
      img:set(x, y, 0.5 + 0.4 * math.sin(v), 0.5 + 0.4 * math.sin(v + 1), 0.5 + 0.4 * math.sin(v + 2))
    end
  end
  return img
end
local function diff(a, b)
  local w, h = a:size()
  local worst = 0
  for y = 0, h - 1, 3 do
    for x = 0, w - 1, 3 do
      local p, q = { a:get(x, y) }, { b:get(x, y) }
      for c = 1, 3 do worst = math.max(worst, math.abs(p[c] - q[c])) end
    end
  end
  return worst
end

local a, b = frame(84, 50, 0, 0), frame(84, 50, 3, 2)
local mid = gpu:between(a, b, 0.4)
local w, h = mid:size()
T.check(w == 84 and h == 50, "pad = 64 keeps the size")
T.check(diff(mid, a) > 1e-2 and diff(mid, b) > 1e-2, "the in-between frame is neither input")
local d = diff(mid, cpu:between(a, b, 0.4))
T.check(d < 1e-4, ("cpu and vulkan agree within %.3g"):format(d))
local loose = gpu:between(a, b, 0.4, { pad = false })
w, h = loose:size()
T.check(w == 84 and h == 50, "pad = false (32 for RIFE) keeps the size")
local mids = gpu:midpoints(a, b, 3, { pad = false })
T.check(#mids == 3, "3 midpoints")
T.check(diff(mids[2], gpu:between(a, b, 0.5, { pad = false })) == 0, "the middle one is t = 0.5")

T.raises("multiples of 32", function() gpu:between(a, b, 0.5, { pad = 48 }) end)
T.raises("t must be in %[0, 1%]", function() gpu:between(a, b, -0.1) end)
T.check(gpu:device().validation_messages == 0, "no validation messages")
gpu:close()
cpu:close()
T.done()
