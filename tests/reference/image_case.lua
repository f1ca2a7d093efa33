-- Blurs each case of image_ref.py and writes the float pixels.
local funky = require "funky"
local dir = assert(arg[1], "usage: image_case.lua DIR")
for line in io.lines(dir .. "/cases.txt") do
  local name, w, h, s = line:match("^(%S+) (%d+) (%d+) (%S+)$")
  local img = funky.image.load(dir .. "/" .. name .. ".png")
  assert(img.w == tonumber(w) and img.h == tonumber(h), "size of " .. name)
  img:blur(tonumber(s)):save_raw(("%s/%s_%s.raw"):format(dir, name, s))
end
