-- funky.audio / funky.bins / float arrays from Lua: shapes, values, errors.
local funky = require "funky"
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local check, raises = T.check, T.raises

-- the seed's bins for a 0.05 s window at 44.1 kHz (values from numpy)
local bins = funky.bins.log { count = 90, from = 10 }
local idx = bins:resolve(2205, 44100)
local want = { 10, 10, 11, 11, 12, 13, 13, 14, 15, 16, 16, 17 }
for i = 1, #want do check(idx[i] == want[i], ("log bin %d = %s, numpy says %d"):format(i, idx[i], want[i])) end
check(#idx == 90 and idx[88] == 991 and idx[89] == 1045 and idx[90] == 1102, "log bins top end")
check(#bins == 90, "#bins")
local lin = funky.bins.linear { count = 8 }:resolve(2205, 44100)
check(table.concat(lin, ",") == "0,157,314,472,629,787,944,1102", "linear bins " .. table.concat(lin, ","))

-- the demo track
local song = funky.audio.load "demo"
check(song.rate == 44100 and song.channels == 1, "demo rate/channels")
check(math.abs(song.duration - 20) < 0.01, "demo duration " .. song.duration)
check(song.tempo == 100, "demo tempo")
check(tostring(song):find("^song 'demo'"), "song tostring " .. tostring(song))
local frames = song:frames { fps = 15, window = 0.05 }
check(#frames == 300, "300 frames at 15 fps, got " .. #frames)
check(frames[1].index == 0 and frames[300].index == 299, "frame index from 0")
check(math.abs(frames[16].time - 1.0) < 1e-12, "frame time")
local sp = frames[5].spectrum
check(#sp == 1103, "spectrum length " .. #sp)
check(math.abs(sp.hz - 20) < 1e-9, "bin width 20 Hz")
check(sp.peak == frames.peak and frames.peak > 0, "global peak travels with spectra")
local amps = sp:take(bins)
check(#amps == 90 and amps[1] == sp[11] and amps[90] == sp[1103], "take picks bins (1-based view)")
local t = sp:take { 0, 1, 1102 }
check(t[1] == sp[1] and t[3] == sp[1103], "take with a table of bin numbers")
local bands = sp:take(funky.bins.bands { { 20, 150 }, { 150, 2000 } })
local m = 0
for b = 1, 7 do m = m + sp[b + 1] end -- bins 1..7 cover [20, 160) Hz: [20,150) -> 1..7
check(math.abs(bands[1] - m / 7) < 1e-4 * m, "band mean " .. bands[1] .. " vs " .. m / 7)
check(sp:max() >= amps:max() and sp:sum() > 0 and math.abs(sp:mean() - sp:sum() / #sp) < 1e-6, "max/sum/mean")
check(sp[0] == nil and sp[1104] == nil, "out of range index is nil")
check(#sp:table() == 1103, "table()")

-- a float array from a table
local f = funky.floats { 1, 2, 3 }
check(#f == 3 and f[2] == 2 and f:sum() == 6, "funky.floats")
f[2] = 5
check(f[2] == 5, "float array assignment")

-- errors name the argument
raises("count", funky.bins.log, { count = 0 })
raises("count", funky.bins.log, {})
raises("outside the spectrum", function() return sp:take { 5000 } end)
raises("fps", function() return song:frames { fps = 0 } end)
raises("window", function() return song:frames { window = -1 } end)
raises("cannot open audio", funky.audio.load, "/nonexistent/song.wav")
raises("band 1", funky.bins.bands, { { 100, 50 } })
raises("bpm", funky.audio.demo, { bpm = 0 })

T.done()
