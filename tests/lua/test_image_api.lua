-- funky.image / funky.noise / funky.draw / funky.colour from Lua.
local funky = require "funky"
local tmp = assert(arg[1], "usage: test_image_api.lua TMPDIR")
os.execute("mkdir -p '" .. tmp .. "'")
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local check, raises = T.check, T.raises
local function same(a, b)
  for y = 0, a.h - 1, 7 do
    for x = 0, a.w - 1, 5 do
      local r1, g1, b1 = a:get(x, y)
      local r2, g2, b2 = b:get(x, y)
      if r1 ~= r2 or g1 ~= g2 or b1 ~= b2 then return false end
    end
  end
  return true
end

-- images
local img = funky.image.new(4, 3, { 0.25, 0.5, 1 })
check(img.w == 4 and img.h == 3 and tostring(img) == "image 4x3", "new/size/tostring")
local r, g, b = img:get(3, 2)
check(r == 0.25 and g == 0.5 and b == 1, "fill colour")
img:set(1, 1, 1, 0, 0)
check(select(1, img:get(1, 1)) == 1, "set")
raises("x is outside", img.get, img, 4, 0)
raises("width", funky.image.new, 0, 10)
raises("height", funky.image.new, 10, 9000)
raises("size", funky.image.new, { size = { 0, 5 } })
check(img:copy():desaturate() ~= nil and select(1, img:copy():desaturate():get(1, 1)) - 0.299 < 1e-6, "desaturate")
local ac = funky.image.new(2, 1)
ac:set(0, 0, 0.2, 0.2, 0.2)
ac:set(1, 0, 0.6, 0.4, 0.2)
ac:autocontrast()
check(select(1, ac:get(0, 0)) == 0 and select(1, ac:get(1, 0)) == 1 and math.abs(select(3, ac:get(1, 0)) - 0.2) < 1e-7,
      "autocontrast stretches each channel, leaves a flat one")
-- PNG round trip within 1/255
local grad = funky.image.new(16, 8)
for y = 0, 7 do for x = 0, 15 do grad:set(x, y, x / 15, y / 7, 0.5) end end
check(grad:save(tmp .. "/grad.png"), "save")
local back = funky.image.load(tmp .. "/grad.png")
local worst = 0
for y = 0, 7 do
  for x = 0, 15 do
    local a1, a2, a3 = grad:get(x, y)
    local b1, b2, b3 = back:get(x, y)
    worst = math.max(worst, math.abs(a1 - b1), math.abs(a2 - b2), math.abs(a3 - b3))
  end
end
check(worst <= 0.5 / 255 + 1e-7, "PNG round trip within half a level: " .. worst)
raises("cannot read image", funky.image.load, tmp .. "/missing.png")
-- blur: a new image, the original untouched; sigma 0 copies
local blurred = grad:blur(1.5)
check(blurred ~= grad and same(grad, grad:blur(0)), "blur returns a new image; sigma 0 copies")
raises("sigma", grad.blur, grad, -1)

-- noise fields
local song = funky.audio.load "demo"
local frames = song:frames { fps = 15, window = 0.05 }
local bins = funky.bins.log { count = 90, from = 10 }
local amps = frames[40].spectrum:take(bins)
local opts = { size = { 64, 48 }, amps = amps, seed = 7, points_per_bin = 8, radius = 1.5 }
local f1, f2 = funky.noise.field(opts), funky.noise.field(opts)
check(same(f1, f2), "same seed, same field")
opts.seed = 8
check(not same(f1, funky.noise.field(opts)), "another seed, another field")
-- Positions come from a fixed 64-bit hash: these pixels are lit on every
-- machine (a single point per bin, radius 0, all bins at full light).
local one = funky.noise.field { size = { 512, 512 }, amps = { 1, 1, 1 }, seed = 7, colour = "mono",
                                normalise = "none" }
local lit = {}
for y = 0, 511 do for x = 0, 511 do if one:get(x, y) > 0 then lit[#lit + 1] = x .. "," .. y end end end
table.sort(lit)
check(table.concat(lit, " ") == "195,312 2,224 289,259", "hash positions " .. table.concat(lit, " "))
for _, n in ipairs { "frame", "global", "none" } do
  check(funky.noise.field { size = { 8, 8 }, amps = amps, normalise = n } ~= nil, "normalise " .. n)
end
check(funky.noise.field { size = { 8, 8 }, amps = amps, normalise = { -40, 0 } } ~= nil, "normalise dB")
raises("global", funky.noise.field, { size = { 8, 8 }, amps = { 1, 2 }, normalise = "global" })
raises("size", funky.noise.field, { size = { 0, 8 }, amps = amps })
raises("size", funky.noise.field, { size = { 9000, 8 }, amps = amps })
raises("amps", funky.noise.field, { size = { 8, 8 } })
raises("colour", funky.noise.field, { size = { 8, 8 }, amps = amps, colour = "plaid" })
-- a Lua colour function, and its errors
local calls = 0
local green = funky.noise.field { size = { 32, 32 }, amps = { 1, 1 }, points_per_bin = 50,
  colour = function(bin, count) calls = calls + 1; return 0, 1, 0 end }
local gr, gg = 0, 0
for y = 0, 31 do for x = 0, 31 do local a, b2 = green:get(x, y); gr = gr + a; gg = gg + b2 end end
check(calls == 2 and gr == 0 and gg > 0, "colour function per bin")
raises("no colour today", funky.noise.field, { size = { 8, 8 }, amps = { 1 },
  colour = function() error("no colour today") end })
raises("r, g, b", funky.noise.field, { size = { 8, 8 }, amps = { 1 }, colour = function() return "red" end })

-- pie slices
local pie = funky.draw.pie { size = { 64, 64 }, values = { 1, 0, 0, 0 }, colour = "mono" }
check(select(1, pie:get(40, 10)) == 1 and select(1, pie:get(40, 50)) == 0, "extent: only slice 1 (top right) is lit")
local ring = funky.draw.pie { size = { 64, 64 }, values = { 1, 1 }, inner = 0.5, colour = "mono" }
check(select(1, ring:get(32, 32)) == 0 and select(1, ring:get(32, 4)) == 1, "inner radius")
raises("mode", funky.draw.pie, { size = { 8, 8 }, values = { 1 }, mode = "spiral" })
check(funky.draw.pie { size = { 16, 16 }, amps = amps, normalise = { -40, 0 } } ~= nil, "pie from amps")

-- colour schemes
check(#funky.colour.schemes == 4 and funky.colour.by_bin "fire" == "fire", "schemes")
raises("scheme", funky.colour.by_bin, "plaid")
local hr, hg, hb = funky.colour.hsv(0, 1, 1)
check(hr == 1 and hg == 0 and hb == 0, "hsv red")

T.done()
