-- Checks of the doc blocks: each says what it documents (a description,
-- every argument with a type and a meaning, no argument the signature
-- lacks), and every function a script can reach has one.
local C = {}

-- Where a function's entry belongs: a module ("funky.image.new" ->
-- funky.image) or a type ("image:blur" -> image).
function C.owner(api, name)
  local ty = name:match("^([%w_]+):")
  if ty then return api.by_name["type " .. ty] end
  local best
  for _, m in ipairs(api.modules) do
    if (name:sub(1, #m.name + 1) == m.name .. ".") and (not best or #m.name > #best.name) then best = m end
  end
  return best
end

-- Problems of single entries (strings "file:line: what").
function C.blocks(api)
  local errs = {}
  local function bad(e, msg) errs[#errs + 1] = ("%s:%d: %s: %s"):format(e.file, e.line, e.name, msg) end
  local function fields_ok(e, list)
    for _, f in ipairs(list) do
      if f.desc == "" then bad(e, ("field '%s' has no description"):format(f.name)) end
    end
  end
  for _, list in ipairs { api.modules, api.types, api.functions } do
    for _, e in ipairs(list) do
      if #e.desc == 0 then bad(e, "no description (a sentence on what it does)") end
      fields_ok(e, e.fields)
    end
  end
  for _, e in ipairs(api.functions) do
    if not C.owner(api, e.name) then bad(e, "belongs to no documented @module or @type") end
    local in_sig = {}
    for i, p in ipairs(e.sig_params) do
      in_sig[p.name] = p
      local doc = e.params[i]
      if not doc or doc.name ~= p.name then
        bad(e, ("argument %d '%s' of the signature is not the %s @param"):format(i, p.name,
          i == 1 and "first" or "next"))
      end
    end
    for _, p in ipairs(e.params) do
      local s = in_sig[p.name]
      if not s then
        bad(e, ("@param '%s' is not in the signature %s"):format(p.name, e.sig))
      elseif s.optional ~= p.optional then
        bad(e, ("@param '%s' is %s in the signature but %s in its @param (write %s)"):format(p.name,
          s.optional and "optional" or "required", p.optional and "optional" or "required",
          s.optional and "name?" or "name"))
      end
      if p.desc == "" then bad(e, ("@param '%s' has no description (units, range)"):format(p.name)) end
      fields_ok(e, p.fields)
    end
  end
  for _, t in ipairs(api.types) do
    if t.metatable and not t.metatable:match("^funky%.") then bad(t, "@metatable is a funky.* name") end
  end
  return errs
end

-- Every function reachable from the module table `funky` (through nested
-- tables) and every method of a funky.* metatable in the registry, as
-- documented names ("funky.image.new", "image:blur"). Metatables with no
-- @type block come back in `untyped`.
function C.reachable(api, funky, registry)
  local names, seen, untyped = {}, {}, {}
  local function walk(t, prefix)
    if seen[t] then return end
    seen[t] = true
    for k, v in pairs(t) do
      if type(k) == "string" then
        if type(v) == "function" then names[#names + 1] = prefix .. "." .. k
        elseif type(v) == "table" then walk(v, prefix .. "." .. k) end
      end
    end
  end
  walk(funky, "funky")
  local by_mt = {}
  for _, t in ipairs(api.types) do if t.metatable then by_mt[t.metatable] = t.name end end
  for key, mt in pairs(registry) do
    if type(key) == "string" and key:match("^funky%.") and type(mt) == "table" and mt.__name == key then
      local methods = type(mt.__index) == "table" and mt.__index or mt.methods or {}
      local ty = by_mt[key]
      if not ty then untyped[#untyped + 1] = key end
      for m, v in pairs(methods) do
        if type(v) == "function" then names[#names + 1] = (ty or key) .. ":" .. m end
      end
    end
  end
  table.sort(names)
  table.sort(untyped)
  return names, untyped
end

-- Functions with no doc block, and doc blocks of functions that do not exist.
function C.coverage(api, funky, registry)
  local names, untyped = C.reachable(api, funky, registry)
  local exists, missing, stale = {}, {}, {}
  for _, n in ipairs(names) do
    exists[n] = true
    if not api.by_name["function " .. n] then missing[#missing + 1] = n end
  end
  for _, e in ipairs(api.functions) do
    if not exists[e.name] then stale[#stale + 1] = ("%s:%d: %s"):format(e.file, e.line, e.name) end
  end
  return { names = names, missing = missing, stale = stale, untyped = untyped }
end

return C
