-- Time values in recipes: numbers are seconds; strings carry a unit:
-- "12s" or "12.5s" seconds, "32b" beats, "8bar" bars (4 beats), "120f" frames.
local M = {}

--- Converts a time value to seconds.
-- @param v number|string the time ("12s", "32b", "8bar", "120f" or seconds)
-- @param ctx table { fps = frames per second, tempo = beats per minute }
-- @return number seconds
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
