-- Time values in recipes: numbers are seconds; strings carry a unit:
-- "12s" or "12.5s" seconds, "32b" beats, "8bar" bars (4 beats), "120f" frames.
--- @module funky.time
--- Time values as recipes write them: numbers are seconds; strings carry a unit: "12s" or
--- "12.5s" seconds, "32b" beats, "8bar" bars (4 beats), "120f" frames.
local M = {}

--- funky.time.seconds(v [, ctx])
--- Converts a time value to seconds. Beats count from ctx.first_beat (0 by default).
--- @param v number|string the time: seconds, or "12s", "32b", "8bar", "120f"
--- @param ctx? table what units other than seconds need
--- @field fps? number video frames per second (for "f")
--- @field tempo? number beats per minute (for "b" and "bar")
--- @field first_beat? number time of beat 0 in seconds; default 0
--- @return number seconds
--- @error "time must be a number of seconds or a string like \"12s\"", "cannot read time
---   \"V\": use \"12s\", \"32b\", \"8bar\" or \"120f\"", "unknown time unit \"U\" in \"V\""
--- @error "time \"V\" is in frames but fps is unknown", "time \"V\" is in beats but the song's
---   tempo is unknown; give seconds instead"
function M.seconds(v, ctx)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then
    error(("time must be a number of seconds or a string like \"12s\", got %s"):format(type(v)), 2)
  end
  local num, unit = v:match("^%s*([%d%.]+)%s*(%a*)%s*$")
  num = tonumber(num)
  if not num then error(("cannot read time %q: use \"12s\", \"32b\", \"8bar\" or \"120f\""):format(v), 2) end
  if unit == "" or unit == "s" then return num end
  if unit == "f" then
    if not (ctx and ctx.fps) then error(("time %q is in frames but fps is unknown"):format(v), 2) end
    return num / ctx.fps
  end
  if unit == "b" or unit == "bar" then
    local tempo = ctx and ctx.tempo
    if not tempo or tempo <= 0 then
      error(("time %q is in beats but the song's tempo is unknown; give seconds instead"):format(v), 2)
    end
    local beats = unit == "bar" and num * 4 or num
    return beats * 60 / tempo + (ctx.first_beat or 0)
  end
  error(("unknown time unit %q in %q: use s, b, bar or f"):format(unit, v), 2)
end

return M
