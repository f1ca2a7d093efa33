-- recipe{} / timeline{} declarations, --set overrides, time units, the plan.
local funky = require "funky"
local R = funky.recipe
local ftime = funky.time
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local check, raises = T.check, T.raises

-- time units
check(ftime.seconds(12) == 12 and ftime.seconds("12s") == 12 and ftime.seconds("1.5s") == 1.5, "seconds")
check(ftime.seconds("30f", { fps = 15 }) == 2, "frames")
check(ftime.seconds("8b", { tempo = 120 }) == 4, "beats")
check(ftime.seconds("2bar", { tempo = 120 }) == 4, "bars")
raises("tempo is unknown", ftime.seconds, "8b", {})
raises("unknown time unit", ftime.seconds, "8q", {})
raises("cannot read time", ftime.seconds, "soon", {})

-- overrides are typed by the defaults
R.overrides = { fps = "24", colour = "fire", flag = "false" }
local p = R.recipe { name = "t", params = { fps = 15, colour = "rainbow", flag = true } }
check(p.fps == 24 and p.colour == "fire" and p.flag == false and params == p, "typed overrides")
R.overrides = { nope = "1" }
raises("has no parameter 'nope'", R.recipe, { name = "t", params = { fps = 15 } })
R.overrides = { fps = "x" }
raises("'fps' is a number", R.recipe, { name = "t", params = { fps = 15 } })
-- typed parameters: ranges, choices, paths, documentation
local typed = { start = { 0.5, min = 0, max = 1, doc = "img2img strength" },
                colour = { "rainbow", choices = { "rainbow", "fire" } }, song = { "demo", type = "path" } }
R.overrides = { start = "0.75", colour = "fire", song = "a.wav" }
p = R.recipe { name = "typed", params = typed }
check(p.start == 0.75 and p.colour == "fire" and p.song == "a.wav", "typed parameters read")
R.overrides = { start = "1.5" }
raises("at most 1, got 1.5", R.recipe, { name = "typed", params = typed })
R.overrides = { start = "-1" }
raises("at least 0", R.recipe, { name = "typed", params = typed })
R.overrides = { colour = "teal" }
raises("one of rainbow, fire", R.recipe, { name = "typed", params = typed })
R.overrides = {}
raises("at most 1", R.recipe, { name = "bad default", params = { s = { 3, max = 1 } } })
raises("needs a default", R.recipe, { name = "bad", params = { s = { min = 1 } } })
R.recipe { name = "typed", version = "2", author = "me", params = typed }
local info = R.info()
check(info:find("typed 2") and info:find("| start | number | 0.5 | 0..1 | img2img strength |", 1, true)
      and info:find("| colour | string | rainbow | rainbow, fire |", 1, true)
      and info:find("| song | path | demo |", 1, true), "recipe info:\n" .. info)
R.overrides = {}
raises("name", R.recipe, { params = {} })
raises("API 2", R.recipe, { name = "t", api = 2 })

-- timeline checks
raises("fps must be", R.timeline, { fps = 0 })
raises("window must be", R.timeline, { window = 0 })
raises("1..8192", R.timeline, { size = { 0, 10 } })
raises("1..8192", R.timeline, { size = { 9000, 10 } })
raises("size must be", R.timeline, { size = { 1.5, 10 } })

-- a plan over the demo: sections by time and beats, frame inputs
R.recipe { name = "plan" }
R.timeline { audio = "demo", fps = 10, size = { 32, 24 },
             sections = { { at = "8b", prompt = "b" }, { at = 0, prompt = "a" } } }
local plan = R.plan()
check(plan.count == 200 and plan.width == 32 and plan.height == 24, "plan shape " .. plan.count)
local f0, f60 = plan.input(0), plan.input(60)
check(f0.section.prompt == "a" and f60.section.prompt == "b", "sections (8 beats at 100 BPM = 4.8 s)")
check(plan.input(47).section.prompt == "a" and plan.input(48).section.prompt == "b", "section boundary at 4.8 s")
check(f0.index == 0 and f60.time == 6 and #f60.spectrum == 1103, "frame input fields")
check(type(f60.rms) == "number" and type(f60.onset) == "number" and type(f60.beat_phase) == "number", "features in f")
check(#f60.bands == 3, "default bands")

-- cross-fades of the prompt between sections (a stand-in model records the calls)
do
  local native = require "funky.native"
  local load, calls = native.sd.load, {}
  native.sd.load = function()
    return { img2img = function(_, a) calls[#calls + 1] = a; return a.init end }
  end
  R.timeline { fps = 10, size = { 8, 8 }, model = "stand-in", crossfade = 3, prompt = "base",
    sections = { { at = 0, prompt = "one" }, { at = "1s", prompt = "two", negative = "blur" },
                 { at = "2s", prompt = "three", crossfade = 0 }, { at = "3s", crossfade = "0.2s" } } }
  local pl = R.plan()
  local mixes = {}
  for k = 8, 33 do
    calls = {}
    pl.diffuse(pl.input(k), { init = "img", prompt = k == 11 and "override" or nil })
    mixes[k] = calls[1].mix or false
  end
  native.sd.load = load
  check(not mixes[8] and not mixes[9], "no cross-fade before the first change")
  check(mixes[10] and mixes[10].prompt == "one" and mixes[10].weight == 0.75 and mixes[10].negative == "",
    "first frame of a section: 3/4 of the previous prompt")
  check(not mixes[11], "a frame's own prompt is not cross-faded")
  check(mixes[12] and math.abs(mixes[12].weight - 0.25) < 1e-12, "third frame: 1/4")
  check(not mixes[13], "after n frames: the section's prompt alone")
  check(not mixes[20], "crossfade = 0 on a section turns it off")
  check(mixes[30] and mixes[30].prompt == "three" and mixes[30].negative == "" and
    math.abs(mixes[30].weight - 2 / 3) < 1e-12 and mixes[31] and not mixes[32],
    "a time: 0.2s = 2 frames")
  R.timeline { fps = 10, size = { 8, 8 }, model = "stand-in", crossfade = -1,
    sections = { { at = 0, prompt = "a" }, { at = "1s", prompt = "b" } } }
  native.sd.load = function() return { img2img = function(_, a) return a.init end } end
  local bad = R.plan()
  raises("crossfade must be a number of frames", bad.diffuse, bad.input(10), { init = "img" })
  native.sd.load = load
end
T.done()
