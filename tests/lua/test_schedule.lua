-- funky.schedule: keyframes with easing, Deforum strings, beat pulses.
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local funky = require "funky"
local S = funky.schedule
local function near(a, b, msg) T.check(math.abs(a - b) < 1e-9, ("%s: %.12g vs %.12g"):format(msg, a, b)) end

local k = S.keys { { 0, 0.65 }, { 30, 0.4 } }
near(k(0), 0.65, "first key")
near(k(15), 0.525, "linear midpoint")
near(k(30), 0.4, "last key")
near(k(100), 0.4, "holds after the last key")
near(k(-5), 0.65, "holds before the first key")
local sm = S.keys { { 0, 0 }, { 10, 1, "smoothstep" } }
near(sm(5), 0.5, "smoothstep middle")
near(sm(2), 0.104, "smoothstep 0.2")
near(S.keys { { 0, 0 }, { 10, 1, "step" } }(9), 0, "step holds until the key")
near(S.keys { { 0, 0 }, { 10, 1, "cubic" } }(2.5), 0.0625, "cubic ease in")
near(S.keys { { 0, 0 }, { 10, 1, "exponential" } }(10), 1, "exponential reaches the key")
-- times in keys resolve through the frame table
local f = { index = 45, fps = 15, tempo = 120 }
local tk = S.keys { { 0, 0 }, { "4s", 1 } }
near(tk(f), 0.75, "key at 4 s = frame 60")
near(S.keys { { 0, 0 }, { "8b", 1 } }({ index = 30, fps = 15, tempo = 120 }), 0.5, "8 beats at 120 bpm = 60 frames")
-- Deforum strings
local d = S.parse "0:(0.65), 30:(0.4)"
near(d(15), 0.525, "deforum linear")
local e = S.parse "0: (0.5 + 0.1*sin(t/10)), 20:(1)"
near(e(0), 0.5, "expression at 0")
near(e(10), 0.5 + 0.1 * math.sin(1), "an expression holds until the next key, per frame")
near(e(25), 1, "then the next key")
near(S.parse("0:(0), 10:(t/5)")(5), 1, "a number eases into an expression's value at its key")
near(S.parse("0:(2**3)")(0), 8, "** is a power")
T.raises("cannot read", S.parse, "0.65")
T.raises("cannot read", S.parse, "0:(0.65) junk")
T.raises("expression", function() return S.parse("0:(os.exit())")(0) end)
-- pulses
local snare = S.pulse { every = 8, offset = 4, low = 0.4, high = 0.8 }
for i = 0, 40 do near(snare(i), 0.4 + (1 - ((i - 4) % 8) / 8) * 0.4, "snare pulse at " .. i) end
local beat = S.pulse { every = "beat", low = 0.2, high = 1 }
near(beat { index = 3, beat_phase = 0 }, 1, "on the beat")
near(beat { index = 3, beat_phase = 0.5 }, 0.6, "half way")
T.raises("decay", S.pulse, { decay = "bouncy" })
T.raises("easing", S.keys, { { 0, 1, "wobble" } })
T.raises("frame", function() return k("x") end)
T.done()
