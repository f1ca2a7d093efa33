-- Schedules: values that change over a render. A schedule is a callable
-- table: s(f) with frame f (the table frame(f) receives) or s(k) with a
-- frame index gives the value there.
--
--   local strength = schedule.keys { { 0, 0.65 }, { "8s", 0.4, "smoothstep" }, { "16b", 0.7 } }
--   local strength = schedule.parse "0:(0.65), 30:(0.4), 60:(0.5 + 0.1*sin(t/10))"
--   local pulse = schedule.pulse { every = "beat", low = 0.4, high = 0.8, decay = "linear" }
--
-- Keys sit at frames (numbers) or times ("8s", "16b", "4bar", "120f");
-- between two keys the later key's easing shapes the transition; before
-- the first and after the last key the value holds.
local ftime = require "funky.time"

--- @module funky.schedule
--- Values that change over a render: keyframes with easing, Deforum/Parseq strings and pulses
--- on the beat grid. Each constructor returns a `schedule`, called with the frame table f
--- (`s(f)`, needed for keys given as times and for beat pulses) or a frame number (`s(k)`).

--- @type schedule
--- A value over frames, from funky.schedule.keys, parse or pulse: call it as s(f) with the
--- frame table frame(f) receives, or s(k) with a frame number from 0.
--- @overload fun(f: frame_input|integer): number
local M = {}

local function fail(msg, level) error(msg, (level or 1) + 1) end

--- Easing curves on [0, 1] -> [0, 1].
M.easing = {
  --- funky.schedule.easing.linear(x)
  --- The identity: a constant rate from one key to the next (the default easing).
  --- @param x number the way from the previous key (0) to this one (1)
  --- @return number x
  linear = function(x) return x end,
  --- funky.schedule.easing.step(x)
  --- Holds the previous key's value until this key.
  --- @param x number the way from the previous key (0) to this one (1)
  --- @return number 0 before the key, 1 at it
  step = function(x) return x < 1 and 0 or 1 end,
  --- funky.schedule.easing.smoothstep(x)
  --- Eases in and out: 3x^2 - 2x^3.
  --- @param x number the way from the previous key (0) to this one (1)
  --- @return number 0..1
  smoothstep = function(x) return x * x * (3 - 2 * x) end,
  --- funky.schedule.easing.cubic(x)
  --- Cubic ease in and out: 4x^3 up to the middle, mirrored after.
  --- @param x number the way from the previous key (0) to this one (1)
  --- @return number 0..1
  cubic = function(x) -- ease in and out
    if x < 0.5 then return 4 * x * x * x end
    local y = -2 * x + 2
    return 1 - y * y * y / 2
  end,
  --- funky.schedule.easing.exponential(x)
  --- Exponential ease in, slow start and fast end: 2^(10x - 10) (0 at x = 0).
  --- @param x number the way from the previous key (0) to this one (1)
  --- @return number 0..1
  exponential = function(x) -- ease in: slow start, fast end
    if x <= 0 then return 0 end
    return 2 ^ (10 * x - 10)
  end,
}

local function frame_of(f)
  if type(f) == "number" then return f, nil end
  if type(f) == "table" and type(f.index) == "number" then return f.index, f end
  fail("a schedule is called with a frame table f or a frame number", 3)
end

local function make(fn) return setmetatable({}, { __call = function(_, f) return fn(f) end }) end

-- Times in keys resolve when the schedule is first called with a frame
-- table (which knows fps and tempo) or eagerly when all are numbers.
local function key_frame(at, f)
  if type(at) == "number" then return at end
  if not f then fail(("key time %q needs the frame table f (for fps and tempo)"):format(tostring(at)), 4) end
  return ftime.seconds(at, { fps = f.fps, tempo = f.tempo }) * f.fps
end

--- funky.schedule.keys(points [, opts])
--- Keyframes. Between two keys the later key's easing shapes the way from the earlier value to
--- the later one; before the first and after the last key the value holds. A function value is
--- evaluated at every frame from its key to the next one (as Deforum's expressions are). Keys
--- given as times resolve on the first call with a frame table (which carries fps and tempo).
--- @param points table[] {{at, value [, easing]}, ...}: `at` a frame number or a time ("8s",
---   "16b", "4bar", "120f"); `value` a number or a function of f; `easing` "linear", "step",
---   "smoothstep", "cubic" or "exponential" (funky.schedule.easing)
--- @param opts? table options
--- @field easing? string the easing of keys that name none; default "linear"
--- @return schedule the schedule
--- @error "schedule.keys expects a list of {at, value}", "schedule.keys: point N must be {at,
---   value [, easing]}", "...: unknown easing \"E\" (linear, step, smoothstep, cubic,
---   exponential)", "...: value must be a number or a function of f"
--- @error when called: "key time \"8s\" needs the frame table f (for fps and tempo)", "a
---   schedule is called with a frame table f or a frame number", funky.time.seconds' errors
function M.keys(points, opts)
  if type(points) ~= "table" or #points == 0 then fail("schedule.keys expects a list of {at, value}", 2) end
  local default_ease = (opts and opts.easing) or "linear"
  local keys = {}
  for i, p in ipairs(points) do
    if type(p) ~= "table" or p[1] == nil or p[2] == nil then
      fail(("schedule.keys: point %d must be {at, value [, easing]}"):format(i), 2)
    end
    local ease = p[3] or default_ease
    if not M.easing[ease] then
      fail(("schedule.keys: point %d: unknown easing %q (linear, step, smoothstep, cubic, exponential)")
        :format(i, tostring(ease)), 2)
    end
    if type(p[2]) ~= "number" and type(p[2]) ~= "function" then
      fail(("schedule.keys: point %d: value must be a number or a function of f"):format(i), 2)
    end
    keys[i] = { at = p[1], value = p[2], ease = M.easing[ease] }
  end
  local resolved
  return make(function(f)
    local k, ft = frame_of(f)
    if not resolved then
      for _, key in ipairs(keys) do key.frame = key_frame(key.at, ft) end
      table.sort(keys, function(a, b) return a.frame < b.frame end)
      resolved = true
    end
    -- a function key applies from its frame until the next key (as
    -- Deforum's expressions do); a number key eases into the next key's
    -- value at that key's frame
    local function at_key(key)
      if type(key.value) ~= "function" then return key.value end
      local g = {}
      if ft then for name, v in pairs(ft) do g[name] = v end end
      g.index = key.frame
      return key.value(g)
    end
    local function val(key) return type(key.value) == "function" and key.value(f) or key.value end
    if k <= keys[1].frame then return val(keys[1]) end
    for i = 2, #keys do
      local a, b = keys[i - 1], keys[i]
      if k < b.frame then
        if type(a.value) == "function" then return val(a) end
        local x = (k - a.frame) / (b.frame - a.frame)
        local vb = at_key(b)
        return a.value + (vb - a.value) * b.ease(x)
      end
    end
    return val(keys[#keys])
  end)
end

-- Deforum's expression names (numexpr's functions) for "frame:(expr)" strings.
local expr_env = {
  sin = math.sin, cos = math.cos, tan = math.tan, asin = math.asin, acos = math.acos,
  atan = math.atan, sqrt = math.sqrt, abs = math.abs, exp = math.exp, log = math.log,
  floor = math.floor, ceil = math.ceil, min = math.min, max = math.max, pi = math.pi,
}

local function compile(expr, where)
  local src = "return " .. expr:gsub("%*%*", "^")
  local env = setmetatable({}, { __index = expr_env })
  local chunk, err
  if setfenv then -- LuaJIT / Lua 5.1
    chunk, err = loadstring(src, "=" .. where)
    if chunk then setfenv(chunk, env) end
  else
    chunk, err = load(src, "=" .. where, "t", env)
  end
  if not chunk then fail(("schedule %s: cannot read expression %q: %s"):format(where, expr, err), 4) end
  return function(t, f)
    env.t = t
    env.beat = f and f.beat or 0
    local ok, v = pcall(chunk)
    if not ok or type(v) ~= "number" then
      fail(("schedule %s: expression %q gave %s"):format(where, expr, tostring(v)), 3)
    end
    return v
  end
end

--- funky.schedule.parse(text [, opts])
--- Deforum/Parseq keyframe strings: "0:(0.65), 30:(0.4)". Numbers interpolate to the next key
--- (linearly unless opts.easing says otherwise); an expression of `t` (the frame number) and
--- `beat` holds from its key to the next, evaluated per frame, as in Deforum. Expressions may
--- use sin, cos, tan, asin, acos, atan, sqrt, abs, exp, log, floor, ceil, min, max, pi and `**`.
--- @param text string "frame:(value or expression), ..." with frame numbers from 0
--- @param opts? table options, as funky.schedule.keys
--- @field easing? string the easing between number keys; default "linear"
--- @return schedule the schedule
--- @error "schedule.parse expects a string like ...", "schedule.parse: key \"K\" is not a frame
---   number", "schedule.parse: cannot read \"TEXT\": write keys like ..."
--- @error "schedule key N: cannot read expression ...", and when called: "schedule key N:
---   expression \"E\" gave VALUE" (an error, or not a number)
function M.parse(text, opts)
  if type(text) ~= "string" then fail("schedule.parse expects a string like \"0:(0.65), 30:(0.4)\"", 2) end
  local points, n = {}, 0
  for at, expr in text:gmatch("%s*([^,:]+)%s*:%s*(%b())") do
    n = n + 1
    local fr = tonumber(at)
    if not fr then fail(("schedule.parse: key %q is not a frame number"):format(at), 2) end
    local inner = expr:sub(2, -2)
    local num = tonumber(inner)
    local value = num or (function()
      local ev = compile(inner, ("key %d"):format(n))
      return function(f)
        local k = type(f) == "table" and f.index or f
        return ev(k, type(f) == "table" and f or nil)
      end
    end)()
    points[n] = { fr, value }
  end
  local stripped = text:gsub("%s*[^,:]+%s*:%s*%b()%s*,?", "")
  if n == 0 or stripped:match("%S") then
    fail(("schedule.parse: cannot read %q: write keys like \"0:(0.65), 30:(0.4)\""):format(text), 2)
  end
  return M.keys(points, opts)
end

--- funky.schedule.pulse([o])
--- A pulse: `high` at each hit, decaying to `low` before the next. On the beat grid the phase
--- is f.beat_phase or f.bar_phase; every n frames it is ((k - offset) % n) / n. The snare pulse
--- 0.4 + (1 - ((i - 4) % 8) / 8) * 0.4 is pulse { every = 8, offset = 4, low = 0.4, high = 0.8 }.
--- @param o? table options, all optional
--- @field every? string|number "beat" (default), "bar", or a period in frames (> 0)
--- @field offset? number frames the hits are shifted by (periods in frames only); default 0
--- @field low? number the value just before a hit; default 0
--- @field high? number the value at a hit; default 1
--- @field decay? string "linear" (default), "exponential" (e^(-5 phase)) or "step" (high for
---   the first half of the period)
--- @return schedule the schedule
--- @error "schedule.pulse: low and high are numbers", "schedule.pulse: decay \"D\" is linear,
---   exponential or step", "schedule.pulse: every is \"beat\", \"bar\" or a number of frames",
---   "schedule.pulse: every must be a positive number of frames"
--- @error when called: "schedule.pulse on the beat grid needs the frame table f"
function M.pulse(o)
  o = o or {}
  local low, high = o.low or 0, o.high or 1
  local every, offset, decay = o.every or "beat", o.offset or 0, o.decay or "linear"
  if type(low) ~= "number" or type(high) ~= "number" then fail("schedule.pulse: low and high are numbers", 2) end
  local shapes = {
    linear = function(p) return 1 - p end,
    exponential = function(p) return math.exp(-5 * p) end,
    step = function(p) return p < 0.5 and 1 or 0 end,
  }
  local shape = shapes[decay]
  if not shape then fail(("schedule.pulse: decay %q is linear, exponential or step"):format(tostring(decay)), 2) end
  if type(every) == "number" then
    if every <= 0 then fail("schedule.pulse: every must be a positive number of frames", 2) end
  elseif every ~= "beat" and every ~= "bar" then
    fail("schedule.pulse: every is \"beat\", \"bar\" or a number of frames", 2)
  end
  return make(function(f)
    local k, ft = frame_of(f)
    local phase
    if type(every) == "number" then
      phase = ((k - offset) % every) / every
    else
      if not ft then fail("schedule.pulse on the beat grid needs the frame table f", 3) end
      phase = every == "beat" and ft.beat_phase or ft.bar_phase
    end
    return low + (high - low) * shape(phase)
  end)
end

return M
