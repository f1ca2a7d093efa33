-- docs/api.md from the parsed doc blocks: one section per module and per
-- type, each function with its signature, arguments (with option fields),
-- returns and errors.
local C = assert(loadfile((...) .. "/check.lua"))(...)
local M = {}

-- GitHub's heading anchors: lower case, punctuation dropped, spaces to "-".
local function slug(title) return (title:lower():gsub("[^%w_%- ]", ""):gsub(" ", "-")) end

-- Sections in reading order: the recipe globals, funky, the modules by
-- name, then the types by name.
function M.sections(api)
  local mods, types = {}, {}
  for _, m in ipairs(api.modules) do mods[#mods + 1] = m end
  for _, t in ipairs(api.types) do types[#types + 1] = t end
  local rank = { globals = 1, funky = 2 }
  table.sort(mods, function(a, b)
    local ra, rb = rank[a.name] or 3, rank[b.name] or 3
    if ra ~= rb then return ra < rb end
    return a.name < b.name
  end)
  table.sort(types, function(a, b) return a.name < b.name end)
  local out = {}
  for _, m in ipairs(mods) do out[#out + 1] = { entry = m, title = m.name == "globals" and "Recipe globals" or m.name } end
  for _, t in ipairs(types) do out[#out + 1] = { entry = t, title = t.name .. " (type)" } end
  for _, s in ipairs(out) do
    s.functions = {}
    for _, f in ipairs(api.functions) do
      if C.owner(api, f.name) == s.entry then s.functions[#s.functions + 1] = f end
    end
  end
  return out
end

local function field_lines(add, list, indent)
  for _, f in ipairs(list) do
    add(("%s- `%s` (`%s`%s): %s"):format(indent, f.name, f.type, f.optional and ", optional" or "", f.desc))
    field_lines(add, f.fields, indent .. "  ")
  end
end

local function function_md(add, f)
  add("### " .. f.sig)
  add("")
  for _, p in ipairs(f.desc) do add(p); add("") end
  if #f.params > 0 then
    add("**Arguments**")
    add("")
    field_lines(add, f.params, "")
    add("")
  end
  if #f.returns > 0 then
    add("**Returns**")
    add("")
    for _, r in ipairs(f.returns) do add(("- `%s`%s"):format(r.type, r.desc ~= "" and ": " .. r.desc or "")) end
    add("")
  end
  for _, o in ipairs(f.overloads) do add("Also callable as `" .. o.type .. "`."); add("") end
  if f.global then add(("Also the global `%s` in recipes."):format(f.name:match("[%w_]+$"))); add("") end
  if #f.errors > 0 then
    add("**Errors**")
    add("")
    for _, e in ipairs(f.errors) do add("- " .. e.desc) end
    add("")
  end
end

function M.render(api)
  local lines = {}
  local function add(s) lines[#lines + 1] = s end
  local sections = M.sections(api)
  add("# Lua API reference (api = 1)")
  add("")
  add("Generated from the doc blocks beside the code (`engine/lua/*.c`, `lua/funky/*.lua`)")
  add("by `build/funky run tools/apidoc.lua .`, which also writes the editor stubs")
  add("`types/funky.lua`; do not edit this page by hand. [lua.md](lua.md) is the guide;")
  add("this page lists every function, its arguments with their units and ranges, what it")
  add("returns and the errors a script can hit. Errors are raised as Lua errors (a `pcall`")
  add("catches them); bad arguments name the argument or option field.")
  add("")
  add("## Contents")
  add("")
  for _, s in ipairs(sections) do
    add(("- [%s](#%s)"):format(s.title, slug(s.title)))
  end
  add("- [How this page is made](#how-this-page-is-made)")
  add("")
  for _, s in ipairs(sections) do
    local e = s.entry
    add("## " .. s.title)
    add("")
    for _, p in ipairs(e.desc) do add(p); add("") end
    if #e.fields > 0 then
      add(e.name == "globals" and "**Globals**" or "**Fields**")
      add("")
      field_lines(add, e.fields, "")
      add("")
    end
    for _, o in ipairs(e.overloads) do add("Callable as `" .. o.type .. "`."); add("") end
    for _, f in ipairs(s.functions) do function_md(add, f) end
  end
  add("## How this page is made")
  add("")
  add("Each entry is a comment block directly above the code it documents: in C a block")
  add("opened by `/***`, in Lua a run of `---` lines whose first line is a signature")
  add("(`funky.x.y(a [, b])`, `type:method(a)`), `@type name` or `@module name`. Then")
  add("description paragraphs and tags: `@param name[?] type meaning` (units, range,")
  add("default), `@field name[?] type meaning` (an option field of the `@param` above, or a")
  add("field of a type or module), `@return type meaning`, `@error message`, `@overload")
  add("fun(...)`, `@metatable registry-name` (types that are userdata), `@global` (also a")
  add("recipe global). An indented line continues the tag above. Types are LuaLS types;")
  add("the names of `@type` blocks may be used in them. `tests/lua/test_apidoc.lua` fails")
  add("when a function a script can reach has no block, when a block lacks a description")
  add("or documents arguments its signature lacks, and when this page or the stubs are stale.")
  return table.concat(lines, "\n") .. "\n"
end

return M
