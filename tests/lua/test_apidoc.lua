-- The Lua API reference is complete and current: every function a script
-- can reach (through require "funky" and the methods of the funky.*
-- userdata types) has a doc block, every block is well formed, and the
-- committed docs/api.md and types/funky.lua are what tools/apidoc.lua makes
-- from the blocks now.
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local tmp = assert(arg[1], "usage: test_apidoc.lua TMPDIR")
local src = os.getenv("SRC") or "."
local A = assert(loadfile(src .. "/tools/apidoc.lua"))()

local files, api, errs = A.generate(src)

-- (a) coverage, found at run time so a new binding cannot slip past
local cov = A.check.coverage(api, require "funky", debug.getregistry())
T.check(#cov.names >= 60, ("found only %d functions and methods: the enumeration is broken"):format(#cov.names))
for _, name in ipairs(cov.missing) do
  T.check(false, ("%s has no doc block: add a /*** (C) or --- (Lua) block above it; see docs/api.md, "
    .. "\"How this page is made\""):format(name))
end
for _, where in ipairs(cov.stale) do T.check(false, "doc block of a function that does not exist: " .. where) end
for _, mt in ipairs(cov.untyped) do
  T.check(false, ("metatable %s has no @type block (write one with @metatable %s)"):format(mt, mt))
end

-- (b) well-formed blocks
for _, e in ipairs(errs) do T.check(false, "doc block: " .. e) end
T.check(#errs == 0 and #cov.missing == 0, ("%d functions and methods, all documented"):format(#cov.names))

-- (b) the checks themselves catch a block with no description, an argument
-- the signature lacks, an undocumented argument and a required/optional mismatch
local bad_api, bad_errs = A.parse.collect { { "bad.c", table.concat({
  "/*** @module funky.x", " * The x module.", " */",
  "/*** funky.x.f(a [, b])", " * @param a number seconds", " * @param b number Hz",
  " * @param c number not in the signature", " */",
  "/*** funky.x.g(a, b)", " * Has a description.", " * @param a number", " */",
}, "\n") } }
for _, e in ipairs(A.check.blocks(bad_api)) do bad_errs[#bad_errs + 1] = e end
local text = table.concat(bad_errs, "\n")
for _, want in ipairs { "funky.x.f: no description", "'c' is not in the signature", "'b' is optional in the signature",
                        "funky.x.g: argument 2 'b'", "@param 'a' has no description" } do
  T.check(text:find(want, 1, true), ("the checks miss %q in:\n%s"):format(want, text))
end

-- (c) the committed outputs are current
os.execute(("mkdir -p %q/docs %q/types"):format(tmp, tmp))
for _, rel in ipairs { "docs/api.md", "types/funky.lua" } do
  local f = io.open(tmp .. "/" .. rel, "wb")
  f:write(files[rel])
  f:close()
  local g = io.open(src .. "/" .. rel, "rb")
  local committed = g and g:read("*a")
  if g then g:close() end
  local line = 0
  if committed ~= files[rel] then
    local a, b = (committed or "") .. "\n", files[rel] .. "\n"
    local ia, ib = a:gmatch("([^\n]*)\n"), b:gmatch("([^\n]*)\n")
    repeat line = line + 1 local x, y = ia(), ib() until x ~= y
  end
  T.check(committed == files[rel], ("%s is stale (first difference at line %d; the new one is %s/%s): "
    .. "regenerate it with `%s`"):format(rel, line, tmp, rel, A.regenerate))
end
T.done()
