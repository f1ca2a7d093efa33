-- Writes the Lua API reference (docs/api.md) and the LuaLS editor stubs
-- (types/funky.lua) from the doc blocks beside the code:
--
--   build/funky run tools/apidoc.lua OUTDIR     (OUTDIR = . updates the repo's)
--
-- It also reports undocumented functions and malformed blocks (the test,
-- tests/lua/test_apidoc.lua, fails on them). Loaded with loadfile(path)()
-- and no OUTDIR it only returns its parts, for the test.
local out = ...
if type(out) ~= "string" then out = nil end
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local function part(name) return assert(loadfile(dir .. "/apidoc/" .. name .. ".lua"))(dir .. "/apidoc") end

local A = {
  root = dir .. "/..",
  parse = part("parse"),
  check = part("check"),
  markdown = part("markdown"),
  luals = part("luals"),
  regenerate = "build/funky run tools/apidoc.lua .",
}

-- { ["docs/api.md"] = text, ["types/funky.lua"] = text } and the problems.
function A.generate(root)
  local api, errs = A.parse.api(root or A.root)
  for _, e in ipairs(A.check.blocks(api)) do errs[#errs + 1] = e end
  local files = {
    ["docs/api.md"] = A.markdown.render(api),
    ["types/funky.lua"] = A.luals.render(api, A.markdown.sections(api)),
  }
  return files, api, errs
end

local function write(path, text)
  local f = assert(io.open(path .. ".tmp", "wb"))
  f:write(text)
  f:close()
  assert(os.rename(path .. ".tmp", path))
end

if out then
  local files, api, errs = A.generate()
  local cov = A.check.coverage(api, require "funky", debug.getregistry())
  for _, m in ipairs(cov.missing) do errs[#errs + 1] = "no doc block: " .. m end
  for _, m in ipairs(cov.stale) do errs[#errs + 1] = "documents a function that does not exist: " .. m end
  for _, m in ipairs(cov.untyped) do errs[#errs + 1] = "no @type block with @metatable " .. m end
  for _, rel in ipairs { "docs/api.md", "types/funky.lua" } do
    local d = (out .. "/" .. rel):match("^(.*)/")
    os.execute(("mkdir -p %q"):format(d))
    write(out .. "/" .. rel, files[rel])
    print("wrote " .. out .. "/" .. rel)
  end
  print(("%d functions and methods documented, %d reachable"):format(#api.functions, #cov.names))
  for _, e in ipairs(errs) do io.stderr:write("apidoc: " .. e .. "\n") end
  if #errs > 0 then os.exit(1) end
end

return A
