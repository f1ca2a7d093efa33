-- RIFE through funky.interp against tests/reference/rife_ref.py's outputs
-- (run by tests/parity/rife_parity.sh). Tensors in, raw tensor out, each
-- case padded as the reference padded it (Practical-RIFE's right-and-below
-- zeros). Usage: funky run rife_case.lua WEIGHTS REF DEVICE F16 LIMIT
local funky = require "funky"
local weights, ref, device, f16, limit = arg[1], arg[2], arg[3], arg[4] == "1", tonumber(arg[5])
local interp = funky.interp.load(weights, { device = device, f16 = f16 })
local dev = interp:device()
assert(dev.model == "rife", "loads as " .. tostring(dev.model))
local label = ("%s %s"):format(device, dev.storage)
local function get(name) return funky.tensor.load(ref, name) end
local function flat(t)
  local out, v = {}, t:table()
  local function walk(x)
    if type(x) == "table" then
      for _, y in ipairs(x) do walk(y) end
    else
      out[#out + 1] = x
    end
  end
  walk(v)
  return out
end
local fails = 0
for k = 0, 1 do
  local x0, x1 = get(("case%d_x0"):format(k)), get(("case%d_x1"):format(k))
  local times, align = flat(get(("case%d_t"):format(k))), flat(get(("case%d_align"):format(k)))[1]
  local shape = x0:shape()
  for i, t in ipairs(times) do
    local clock = os.clock()
    local out = interp:between(x0, x1, t, { pad = math.floor(align + 0.5) }) -- LuaJIT has no math.tointeger
    local secs = os.clock() - clock
    local want = get(("case%d_out%d"):format(k, i - 1))
    local err, worst = out:rel_error(want), 0
    local a, b = flat(out), flat(want)
    for j = 1, #a do worst = math.max(worst, math.abs(a[j] - b[j])) end
    local ok = err < limit
    print(("%s %s case %d %dx%d pad %d t=%.2f: relative error %.3g, max abs %.3g (%.2f s cpu)")
          :format(ok and "ok  " or "FAIL", label, k, shape[4], shape[3], align, t, err, worst, secs))
    if not ok then fails = fails + 1 end
  end
end
assert(dev.validation_messages == 0 and interp:device().validation_messages == 0,
       "validation messages")
interp:close()
if fails > 0 then error(("%d RIFE parity cases failed (limit %g)"):format(fails, limit)) end
