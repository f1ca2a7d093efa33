-- Writes take(log bins) of every frame for each case listed by spectra_ref.py.
local funky = require "funky"
local dir = assert(arg[1], "usage: spectra_dump.lua DIR")
for line in io.lines(dir .. "/cases.txt") do
  local name, fps, win = line:match("^(%S+) (%S+) (%S+)$")
  fps, win = tonumber(fps), tonumber(win)
  local song = funky.audio.load(dir .. "/" .. name .. ".wav")
  local frames = song:frames { fps = fps, window = win }
  local bins = funky.bins.log { count = 90, from = 10 }
  local out = assert(io.open(("%s/%s_%s_%s.dump"):format(dir, name, line:match("^%S+ (%S+)"), line:match("(%S+)$")), "w"))
  out:write(table.concat(bins:resolve(frames), " "), "\n")
  for _, f in ipairs(frames) do
    local a = f.spectrum:take(bins)
    local row = {}
    for i = 1, #a do row[i] = ("%.9g"):format(a[i]) end
    out:write(table.concat(row, " "), "\n")
  end
  out:close()
end
