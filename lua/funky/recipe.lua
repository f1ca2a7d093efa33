-- Recipes: `recipe{...}` and `timeline{...}` declare; the renderer then asks
-- for a plan and calls the script's `frame(f)` once per frame.
--
-- Module state lives in this table, which is per Lua state (every render or
-- reload gets a fresh state), so nothing leaks between recipes.
local funky_native = require "funky.native"
local ftime = require "funky.time"

--- @module funky.recipe
--- Declaring a recipe: `recipe{...}` and `timeline{...}` (in a recipe also the globals `recipe`
--- and `timeline`), `funky recipe info`, and the render plan the renderer builds from them.
local M = { overrides = {}, declared = nil, timeline_decl = nil }

--- @module globals
--- What a recipe's file sees besides `require "funky"`: the declarations `recipe` and
--- `timeline` (see funky.recipe), the parameters, and the `frame` function the recipe defines.
--- A sandboxed recipe sees only these, `funky`, and Lua's base, string, table, math and utf8.
--- @field params table<string,any> the recipe's parameters with `--set key=value` applied (set
---   by recipe{...})
--- @field frame fun(f:frame_input):image|frame_result defined by the recipe, called once per
---   video frame: returns the frame's image, or its init image and per-frame overrides

local function fail(msg, level) error(msg, (level or 1) + 1) end

-- A parameter is a plain default (its type is the default's) or a typed
-- declaration: { default, min = , max = } for numbers, { default, choices
-- = {...} } for strings, { default, type = "path" } for files, with an
-- optional doc = "...". spec() normalises both forms.
local function spec(name, v)
  if type(v) ~= "table" then return { default = v, kind = type(v) } end
  local default = v[1]
  if default == nil then default = v.default end
  local kind = v.type or type(default)
  if kind ~= "number" and kind ~= "string" and kind ~= "boolean" and kind ~= "path" then
    fail(("recipe: parameter '%s' needs a default number, string, boolean or path"):format(name), 4)
  end
  return { default = default, kind = kind, min = v.min, max = v.max, choices = v.choices, doc = v.doc }
end

local function check(name, s, v, how)
  local function bad(msg) fail(("%s: parameter '%s' %s"):format(how, name, msg), 5) end
  if s.kind == "number" then
    if type(v) ~= "number" then bad("is a number") end
    if s.min and v < s.min then bad(("is at least %s, got %s"):format(s.min, v)) end
    if s.max and v > s.max then bad(("is at most %s, got %s"):format(s.max, v)) end
  elseif s.kind == "boolean" then
    if type(v) ~= "boolean" then bad("is true or false") end
  elseif type(v) ~= "string" then
    bad("is a string")
  elseif s.choices then
    local ok = false
    for _, c in ipairs(s.choices) do ok = ok or c == v end
    if not ok then bad(("is one of %s, got %q"):format(table.concat(s.choices, ", "), v)) end
  end
  return v
end

local function convert(name, s, text)
  local how = ("--set %s=%s"):format(name, text)
  if s.kind == "number" then
    local v = tonumber(text)
    if not v then fail(("%s: parameter '%s' is a number"):format(how, name), 4) end
    return check(name, s, v, how)
  elseif s.kind == "boolean" then
    if text == "true" or text == "1" then return true end
    if text == "false" or text == "0" then return false end
    fail(("%s: parameter '%s' is true or false"):format(how, name), 4)
  end
  return check(name, s, text, how)
end

--- funky.recipe.recipe(t)
--- Declares the recipe and its typed parameters, and applies `--set key=value` overrides (a
--- value is converted to the parameter's type and checked against its range or choices).
--- @param t table the declaration
--- @field name string the recipe's name (required)
--- @field version? string the recipe's version, shown by `funky recipe info`
--- @field api? integer the API the recipe is written for; only 1 exists; default 1
--- @field author? string who wrote it
--- @field license? string its licence
--- @field description? string what it makes
--- @field params? table<string,any> name = default (its type is the default's: number, string
---   or boolean), or name = { default, min =, max = } (numbers), { default, choices = {...} }
---   (strings), { default, type = "path" } (files), each with an optional doc = "..."
--- @return table<string,any> the parameters with --set applied (also the global `params`)
--- @global
--- @error "recipe{...} expects a table", "recipe: field 'name' (a string) is required",
---   "recipe 'NAME' needs API N; this engine speaks API 1"
--- @error "recipe: parameter 'P' needs a default number, string, boolean or path", a default
---   outside its own range or choices
--- @error "--set K: recipe 'NAME' has no parameter 'K' (it has: ...)", "--set K=V: parameter
---   'K' is a number" / "is at least MIN, got V" / "is one of A, B, got \"V\"" / "is true or false"
function M.recipe(t)
  if type(t) ~= "table" then fail("recipe{...} expects a table", 2) end
  if type(t.name) ~= "string" or t.name == "" then fail("recipe: field 'name' (a string) is required", 2) end
  if t.api ~= nil and t.api ~= 1 then
    fail(("recipe '%s' needs API %s; this engine speaks API 1"):format(t.name, tostring(t.api)), 2)
  end
  local params, specs = {}, {}
  for k, v in pairs(t.params or {}) do
    specs[k] = spec(k, v)
    params[k] = check(k, specs[k], specs[k].default, "recipe")
  end
  for k, text in pairs(M.overrides) do
    if specs[k] == nil then
      local names = {}
      for n in pairs(params) do names[#names + 1] = n end
      table.sort(names)
      fail(("--set %s: recipe '%s' has no parameter '%s' (it has: %s)"):format(
        k, t.name, k, #names > 0 and table.concat(names, ", ") or "none"), 2)
    end
    params[k] = convert(k, specs[k], text)
  end
  M.declared = t
  M.param_specs = specs
  _G.params = params
  return params
end

--- funky.recipe.info()
--- The declared recipe's metadata and a Markdown table of its parameters (type, default,
--- allowed values, doc): what `funky recipe info FILE` prints.
--- @return string the description, several lines
--- @error "the file never calls recipe{...}"
function M.info()
  local t = M.declared
  if not t then fail("the file never calls recipe{...}", 1) end
  local lines = {}
  local function add(fmt, ...) lines[#lines + 1] = fmt:format(...) end
  add("%s %s (api %s)", t.name, t.version or "", tostring(t.api or 1))
  if t.author then add("author: %s", t.author) end
  if t.license then add("license: %s", t.license) end
  if t.description then add("%s", t.description) end
  local names = {}
  for k in pairs(M.param_specs) do names[#names + 1] = k end
  table.sort(names)
  add("")
  add("| parameter | type | default | allowed | about |")
  add("|---|---|---|---|---|")
  for _, k in ipairs(names) do
    local s = M.param_specs[k]
    local allowed = s.choices and table.concat(s.choices, ", ")
      or (s.min or s.max) and ("%s..%s"):format(s.min or "", s.max or "") or ""
    add("| %s | %s | %s | %s | %s |", k, s.kind, tostring(s.default), allowed, s.doc or "")
  end
  return table.concat(lines, "\n")
end

local function check_size(size)
  if type(size) ~= "table" then return nil end
  local w, h = size[1], size[2]
  if type(w) ~= "number" or type(h) ~= "number" or w ~= math.floor(w) or h ~= math.floor(h) then
    return nil
  end
  return w, h
end

--- funky.recipe.timeline(t)
--- Declares the timeline: the audio, the frame rate and size, and the sections. Any field
--- besides those listed (prompt, negative, sampler, steps, guidance, start_schedule, seed, ...)
--- is a default for every frame; a section's own fields win over the timeline's, and frame(f)'s
--- returned values win over both.
--- @param t table the declaration
--- @field audio? string|song a song, a path or "demo"; default params.audio, else "demo"
--- @field fps? number video frames per second, (0, 240]; default 15
--- @field window? number onset window in seconds, > 0; default 0.05
--- @field size? integer[] {width, height} in pixels, 1..8192 each; default {512, 512}
--- @field seed? integer the seed of the diffusion noise; default 0
--- @field sections? table[] { at = "16s" | "32b" | "8bar" | "120f" | seconds, prompt = ..., ... }:
---   each from its start (sorted by start) to the next one's; f.section is the one in force
--- @field bands? number[][] {{low_hz, high_hz}, ...} for f.bands; default {{20, 150}, {150,
---   2000}, {2000, 8000}}
--- @field model? string path of a Stable Diffusion model: each frame's init image is diffused
---   with sd:img2img; without one the init image is the frame
--- @field device? string "vulkan" (default) or "cpu", for the model
--- @field prompt? string the prompt (A1111 syntax), per timeline, section or frame
--- @field negative? string the negative prompt
--- @field start_schedule? number img2img strength, (0, 1]; default 0.5
--- @field steps? integer sampler steps, 1..1000; default 20
--- @field guidance? number classifier-free guidance scale; default 7.5
--- @field sampler? string as sd:img2img; default "ddim"
--- @field weighting? string prompt weighting, "a1111" (default) or "none", as sd:encode_text
--- @field clip_skip? integer text encoder layers left out, >= 0; default 0
--- @field crossfade? integer|string blend the previous section's prompt embeddings into a
---   section's first n frames (a number of frames, or a time such as "2s" or "4b"), with weight
---   n/(n+1) falling to 1/(n+1); 0 or nil: none. Also per section
--- @return table the timeline, with its defaults filled in and audio loaded as a song
--- @global
--- @error "timeline{...} expects a table", "timeline: fps must be a number in (0, 240]",
---   "timeline: window must be a positive number of seconds", "timeline: size must be {width,
---   height} in pixels", "timeline: size WxH is outside 1..8192 pixels per side"
--- @error "timeline: " followed by funky.audio.load's error for a bad audio path
function M.timeline(t)
  if type(t) ~= "table" then fail("timeline{...} expects a table", 2) end
  local fps = t.fps or 15
  if type(fps) ~= "number" or fps <= 0 or fps > 240 then
    fail(("timeline: fps must be a number in (0, 240], got %s"):format(tostring(fps)), 2)
  end
  local window = t.window or 0.05
  if type(window) ~= "number" or window <= 0 then
    fail(("timeline: window must be a positive number of seconds, got %s"):format(tostring(window)), 2)
  end
  local w, h = check_size(t.size or { 512, 512 })
  if not w then fail("timeline: size must be {width, height} in pixels", 2) end
  if w < 1 or h < 1 or w > 8192 or h > 8192 then
    fail(("timeline: size %dx%d is outside 1..8192 pixels per side"):format(w, h), 2)
  end
  -- funky live renders previews: at the size it was given, or scaled down
  -- so the longer side fits (multiples of 8, which a model's VAE needs)
  if M.size_override then
    w, h = M.size_override[1], M.size_override[2]
  elseif M.size_max and math.max(w, h) > M.size_max then
    local s = M.size_max / math.max(w, h)
    w = math.max(8, math.floor(w * s / 8) * 8)
    h = math.max(8, math.floor(h * s / 8) * 8)
  end
  local audio = t.audio or (_G.params and _G.params.audio) or "demo"
  if type(audio) == "string" then
    local ok, song = pcall(funky_native.audio.load, audio)
    if not ok then fail("timeline: " .. tostring(song):gsub("^[^:]*:%d+: ", ""), 2) end
    audio = song
  end
  local tl = {}
  for k, v in pairs(t) do tl[k] = v end
  tl.fps, tl.window, tl.size, tl.audio = fps, window, { w, h }, audio
  tl.seed = t.seed or 0
  M.timeline_decl = tl
  return tl
end

local default_bands = { { 20, 150 }, { 150, 2000 }, { 2000, 8000 } }

local function sections_of(tl, ctx)
  local out = {}
  for i, s in ipairs(tl.sections or {}) do
    if type(s) ~= "table" then fail(("timeline: sections[%d] must be a table"):format(i), 3) end
    local sec = {}
    for k, v in pairs(s) do sec[k] = v end
    sec.start = ftime.seconds(s.at or 0, ctx)
    sec.number = i
    out[#out + 1] = sec
  end
  table.sort(out, function(a, b) return a.start < b.start end)
  return out
end

--- @type frame_input
--- The argument of the recipe's `frame(f)`: where the frame is and what the audio does there.
--- Arrays are per frame; phases run 0..1.
--- @field index integer frame number from 0 (as in the output file names)
--- @field time number start of the frame in seconds, index / fps
--- @field fps number video frames per second
--- @field size integer[] {width, height} in pixels
--- @field seed integer the timeline's seed
--- @field spectrum floats |rFFT| of the frame's onset window (see song:frames)
--- @field section table? the section in force (its fields plus `start` in seconds and `number`
---   from 1), nil without sections
--- @field rms number RMS of the frame's samples, 0..1
--- @field onset number onset strength, 0..1
--- @field bands number[] energy of each timeline band, 0..1
--- @field beat integer number of the last beat at or before the frame (from 0), -1 before the
---   first
--- @field beat_phase number 0 at a beat, rising to 1 before the next
--- @field bar_phase number the same over bars of 4 beats
--- @field tempo number the tempo in BPM (the song's if known, else estimated)

--- @type frame_result
--- What the recipe's `frame(f)` may return instead of an image: the init image and any
--- per-frame values, which win over the section's and the timeline's.
--- @field init image the frame's image, diffused when the timeline has a model (`image` is
---   accepted as another name)
--- @field prompt? string the prompt for this frame (turns the section cross-fade off)
--- @field negative? string the negative prompt
--- @field start_schedule? number img2img strength, (0, 1]
--- @field steps? integer sampler steps
--- @field guidance? number classifier-free guidance scale
--- @field sampler? string the sampler
--- @field seed? integer the noise seed
--- @field weighting? string "a1111" or "none"
--- @field clip_skip? integer encoder layers left out

-- timeline.interpolate = { model = "film"|"rife", path, factor = 2|4|8,
-- cut = "sections"|"onsets"|false, onset_threshold = 0.5 }: the renderer
-- asks plan.cut(k) whether key frames k and k + 1 (from 0) are a cut (no
-- in-betweens across it: the first half holds frame k, the second k + 1)
-- and plan.between(a, b, t) for the frame at t between two key frames'
-- files. A strong onset is one at least onset_threshold times the song's
-- strongest. The file decides the network; model, when given, must match.
local function interpolation(plan, tl, frames, feats, section_at)
  local ip = tl.interpolate
  if type(ip) ~= "table" then
    fail('timeline: interpolate must be a table such as { model = "film", path = "models/film.safetensors", factor = 2 }', 3)
  end
  local factor = ip.factor or 2
  if factor ~= 2 and factor ~= 4 and factor ~= 8 then
    fail(("timeline: interpolate.factor must be 2, 4 or 8, got %s"):format(tostring(factor)), 3)
  end
  local model = ip.model or "film"
  if model ~= "film" and model ~= "rife" then
    fail(("timeline: interpolate.model must be \"film\" or \"rife\", got %s"):format(tostring(model)), 3)
  end
  if type(ip.path) ~= "string" or ip.path == "" then
    fail("timeline: interpolate.path must name the interpolator's .safetensors " ..
      "(models/convert_interpolator.py makes one from film_net_fp32.pt)", 3)
  end
  local cut = ip.cut
  if cut == nil then cut = "sections" end
  if cut ~= "sections" and cut ~= "onsets" and cut ~= false then
    fail(("timeline: interpolate.cut must be \"sections\", \"onsets\" or false, got %s"):format(tostring(cut)), 3)
  end
  local threshold = ip.onset_threshold or 0.5
  local strongest = 0
  for i = 1, feats.count do strongest = math.max(strongest, feats.onset[i]) end
  plan.interpolate = { factor = factor, model = model, path = ip.path, cut = cut, onset_threshold = threshold }
  function plan.cut(k)
    if cut == false or not frames[k + 2] then return false end
    local t0, t1 = frames[k + 1].time, frames[k + 2].time
    if section_at(t0) ~= section_at(t1) then return true end
    if cut ~= "onsets" then return false end
    local strength = feats.onset[math.min(k + 2, feats.count)] or 0
    if strength < threshold * strongest then return false end
    for _, ot in ipairs(feats.onset_times) do
      if ot > t0 and ot <= t1 then return true end
    end
    return false
  end
  local it, pa, pb, ia, ib
  function plan.between(a, b, t)
    if not it then
      it = funky_native.interp.load(ip.path, { device = tl.device })
      -- the file decides the network; a recipe that names the other one
      -- was probably pointed at the wrong file
      local got = it:device().model
      if ip.model and got ~= model then
        error(("timeline: interpolate.model is %q but %s holds %s weights; set model = %q or point path at %s weights")
          :format(model, ip.path, got:upper(), got, model:upper()), 0)
      end
    end
    if a ~= pa then ia, pa = funky_native.image.load(a), a end
    if b ~= pb then ib, pb = funky_native.image.load(b), b end
    return it:between(ia, ib, t)
  end
end

--- funky.recipe.plan()
--- Builds the render plan from the declarations: the renderer calls it after loading the
--- recipe; scripts rarely need it. The plan holds fps, width, height, count, the song, its
--- frames and features, the sorted sections, and functions input(k) (frame k's f table),
--- settings(f, out) (the frame cache's key text) and, with a model, open_model() and
--- diffuse(f, out).
--- @return table the plan
--- @error "the recipe never called timeline{...}; declare fps, size and audio there"
--- @error "timeline: model must be the path of a model"; errors of song:frames and
---   song:features, and of funky.time.seconds for bad section times
function M.plan()
  local tl = M.timeline_decl
  if not tl then fail("the recipe never called timeline{...}; declare fps, size and audio there", 1) end
  local song = tl.audio
  local frames = song:frames { fps = tl.fps, window = tl.window }
  local feats = song:features { fps = tl.fps, bands = tl.bands or default_bands }
  local ctx = { fps = tl.fps, tempo = song.tempo or feats.tempo,
                first_beat = (song.tempo == nil and feats.beats[1]) or 0 }
  local sections = sections_of(tl, ctx)
  local plan = {
    name = M.declared and M.declared.name or "recipe",
    fps = tl.fps, width = tl.size[1], height = tl.size[2], count = #frames,
    audio = song, frames = frames, features = feats, sections = sections, timeline = tl,
  }
  local function section_at(t)
    local cur = sections[1]
    for _, s in ipairs(sections) do if s.start <= t then cur = s end end
    return cur
  end
  --- The argument of frame(f) for frame k (from 0).
  function plan.input(k)
    local fr = frames[k + 1]
    local i = math.min(k + 1, feats.count)
    local bands = {}
    for b = 1, #feats.bands do bands[b] = feats.bands[b][i] end
    return {
      index = k, time = fr.time, size = { tl.size[1], tl.size[2] }, seed = tl.seed,
      spectrum = fr.spectrum, fps = tl.fps, section = section_at(fr.time),
      rms = feats.rms[i], onset = feats.onset[i], bands = bands,
      beat = feats.beat_index[i], beat_phase = feats.beat_phase[i],
      bar_phase = feats.bar_phase[i], tempo = ctx.tempo,
    }
  end
  --- Everything besides the init image that decides frame f's output, as
  --- one canonical string (sorted keys, exact numbers): the frame cache's
  --- key hashes it with the init image's pixels.
  function plan.settings(f, out)
    local parts, seen = {}, {}
    local function put(v)
      local t = type(v)
      if t == "number" then parts[#parts + 1] = ("%.17g"):format(v)
      elseif t == "string" then parts[#parts + 1] = ("%q"):format(v)
      elseif t == "boolean" then parts[#parts + 1] = tostring(v)
      elseif t == "table" and not seen[v] then
        seen[v] = true
        local keys = {}
        for k, x in pairs(v) do
          local tx = type(x)
          if (type(k) == "string" or type(k) == "number") and tx ~= "function" and tx ~= "userdata" then
            keys[#keys + 1] = k
          end
        end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        parts[#parts + 1] = "{"
        for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "="; put(v[k]) end
        parts[#parts + 1] = "}"
      end
    end
    -- the in-betweens have keys of their own: interpolation settings do
    -- not change key frames
    local keyed = {}
    for k, v in pairs(tl) do if k ~= "interpolate" then keyed[k] = v end end
    put { frame = f.index, out = out, section = f.section, timeline = keyed }
    return table.concat(parts, " ")
  end
  -- The init image as the preview or the diffusion takes it: blurred by
  -- frame(f)'s `blur` (Gaussian sigma in pixels), else its section's, else
  -- the timeline's, if any is above 0.
  function plan.prepare(f, out)
    local sec = f.section or {}
    local b = type(out) == "table" and out.blur or nil
    if b == nil then b = sec.blur end
    if b == nil then b = tl.blur end
    if b == nil or b == 0 then return out end
    if type(b) ~= "number" or b < 0 then fail(("blur must be a sigma in pixels >= 0, got %s"):format(tostring(b)), 2) end
    local t = {}
    if type(out) == "table" then for k, v in pairs(out) do t[k] = v end else t.init = out end
    local img = t.init or t.image
    if img == nil then return out end -- frame_image names the problem
    t.init, t.image = img:blur(b), nil
    return t
  end
  if tl.model and tl.model ~= "" then
    if type(tl.model) ~= "string" then fail("timeline: model must be the path of a model", 1) end
    local sd
    --- The cross-fade into section sec at frame f: the previous section's
    --- prompts with their weight, which falls from n/(n+1) to 1/(n+1) over
    --- the first n frames of sec (crossfade = n frames, or a time such as
    --- "2s" or "4b", on the section or the timeline); nil outside it.
    local function crossfade(f, sec)
      local cf = sec.crossfade
      if cf == nil then cf = tl.crossfade end
      if cf == nil or cf == 0 or cf == false then return nil end
      local n = cf
      if type(cf) == "string" then
        n = math.floor(ftime.seconds(cf, { fps = tl.fps, tempo = ctx.tempo }) * tl.fps + 0.5)
      elseif type(cf) ~= "number" or cf < 0 then
        fail(("crossfade must be a number of frames or a time like \"2s\", got %s"):format(tostring(cf)), 3)
      end
      local prev
      for _, s in ipairs(sections) do if s.start < sec.start then prev = s end end
      local d = f.index - math.ceil(sec.start * tl.fps - 1e-9)
      if not prev or d < 0 or d >= n then return nil end
      local function of(s, k) if s[k] ~= nil then return s[k] end return tl[k] or "" end
      return { prompt = of(prev, "prompt"), negative = of(prev, "negative"), weight = 1 - (d + 1) / (n + 1) }
    end
    --- Loads the model (the renderer calls it before the first frame it
    --- diffuses: a model that cannot load stops the render at once).
    function plan.open_model()
      sd = sd or funky_native.sd.load(tl.model, { device = tl.device })
      return sd
    end
    --- Diffuses frame f's init image with the timeline's model: per-frame
    --- values from frame(f)'s result win over the section's, the section's
    --- over the timeline's.
    function plan.diffuse(f, out)
      local sd = plan.open_model()
      local sec = f.section or {}
      local function pick(k, default)
        if out[k] ~= nil then return out[k] end
        if sec[k] ~= nil then return sec[k] end
        if tl[k] ~= nil then return tl[k] end
        return default
      end
      local img = sd:img2img {
        mix = out.prompt == nil and crossfade(f, sec) or nil,
        init = out.init, prompt = pick("prompt", ""), negative = pick("negative", ""),
        strength = pick("start_schedule", 0.5), steps = pick("steps", 20),
        guidance = pick("guidance", 7.5), sampler = pick("sampler", "ddim"),
        seed = pick("seed", 0), frame = f.index, weighting = pick("weighting", "a1111"),
        clip_skip = pick("clip_skip", 0),
      }
      return img
    end
  end
  if tl.interpolate ~= nil and tl.interpolate ~= false then interpolation(plan, tl, frames, feats, section_at) end
  return plan
end

return M
