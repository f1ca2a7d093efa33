-- Reads the API doc blocks out of the sources (engine/lua/*.c and
-- lua/funky/*.lua) into one table. The blocks are the single source of the
-- reference (docs/api.md) and the editor stubs (types/funky.lua); the tag
-- grammar is described in docs/api.md's "How this page is made".
--
-- A block starts with `/***` in C or `--- funky.` / `--- @type` /
-- `--- @module` in Lua; its first line is the header (a call signature,
-- `@type name` or `@module name`). Each further line is description, a
-- tag (@param, @field, @return, @error, @overload, @metatable, @global) or,
-- when indented, the continuation of the tag above.
local P = {}

-- Strips the comment prefix of one body line; nil ends the block.
local function c_body(line)
  if line:match("^%s*%*/") then return nil end
  local text = line:match("^%s*%*%s?(.*)$")
  if not text then return nil end
  return (text:gsub("%s*%*/%s*$", ""))
end

local function lua_body(line) return line:match("^%s*%-%-%-%s?(.*)$") end

-- Splits a file into raw blocks: { header, lines = {...}, file, line }.
function P.blocks(path, text)
  local lines, out = {}, {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local is_c = path:match("%.[ch]$") ~= nil
  local i = 1
  while i <= #lines do
    local l = lines[i]
    local header
    if is_c then
      header = l:match("^%s*/%*%*%*%s+(.-)%s*$")
    else
      header = l:match("^%s*%-%-%-%s*(funky[%w_.:]*%s*%(.*)$") or l:match("^%s*%-%-%-%s*(@type%s.*)$")
        or l:match("^%s*%-%-%-%s*(@module%s.*)$")
    end
    if header then
      local closed = is_c and header:find("%*/%s*$")
      header = header:gsub("%s*%*/%s*$", "")
      local b = { header = header, lines = {}, file = path, line = i }
      i = i + 1
      while not closed and i <= #lines do
        local body = (is_c and c_body or lua_body)(lines[i])
        if is_c and lines[i]:find("%*/") then closed = true end
        if body == nil then break end
        b.lines[#b.lines + 1] = body
        i = i + 1
      end
      out[#out + 1] = b
    else
      i = i + 1
    end
  end
  return out
end

-- "funky.image.new(width, height [, colour])" -> name, { {name, optional} }
function P.signature(sig)
  local name, args = sig:match("^([%w_.:]+)%s*(%b())%s*$")
  if not name then return nil end
  local params, depth = {}, 0
  for tok in args:sub(2, -2):gmatch("[%[%]]?[^%s,%[%]]*") do
    if tok:sub(1, 1) == "[" then depth = depth + 1; tok = tok:sub(2) end
    if tok:sub(1, 1) == "]" then depth = depth - 1; tok = tok:sub(2) end
    if tok ~= "" then params[#params + 1] = { name = tok, optional = depth > 0 } end
  end
  return name, params
end

-- "name? type description" -> { name, optional, type, desc }
local function typed(rest)
  local name, ty, desc = rest:match("^(%S+)%s+(%S+)%s*(.*)$")
  if not name then return nil end
  local opt = name:sub(-1) == "?"
  return { name = opt and name:sub(1, -2) or name, optional = opt, type = ty, desc = desc, fields = {} }
end

-- Turns a raw block into a doc entry; problems go to errs as strings.
function P.entry(b, errs)
  local where = ("%s:%d"):format(b.file, b.line)
  local function bad(msg) errs[#errs + 1] = where .. ": " .. msg end
  local e = { file = b.file, line = b.line, desc = {}, params = {}, fields = {}, returns = {},
              errors = {}, overloads = {} }
  local kind, name = b.header:match("^@(%a+)%s+(%S+)%s*$")
  if kind == "type" or kind == "module" then
    e.kind, e.name = kind, name
  else
    local fname, params = P.signature(b.header)
    if not fname then
      bad(("cannot read the header %q: write name(arg, [, optional])"):format(b.header))
      return nil
    end
    e.kind, e.name, e.sig, e.sig_params = "function", fname, b.header, params
  end
  local last, para = nil, {}
  local function flush()
    if #para > 0 then e.desc[#e.desc + 1] = table.concat(para, " ") end
    para = {}
  end
  for _, l in ipairs(b.lines) do
    local tag, rest = l:match("^@(%a+)%s*(.*)$")
    if tag then
      flush()
      if tag == "param" then
        last = typed(rest)
        if not last then bad("@param needs a name, a type and a description") else e.params[#e.params + 1] = last end
      elseif tag == "field" then
        last = typed(rest)
        local owner = e.kind == "function" and e.params[#e.params] or e
        -- "a.b" is field b of the option table in field a
        local outer, inner
        if last then outer, inner = last.name:match("^([%w_]+)%.([%w_]+)$") end
        if outer and owner then
          local found
          for _, f in ipairs(owner.fields) do if f.name == outer then found = f end end
          owner, last.name = found, inner
        end
        if not last then bad("@field needs a name, a type and a description")
        elseif not owner then bad("@field " .. rest:match("^%S*") .. " has no @param or field to belong to")
        else owner.fields[#owner.fields + 1] = last end
      elseif tag == "return" then
        local ty, desc = rest:match("^(%S+)%s*(.*)$")
        last = { type = ty or "", desc = desc or "" }
        if not ty then bad("@return needs a type") end
        e.returns[#e.returns + 1] = last
      elseif tag == "error" then
        last = { desc = rest }
        e.errors[#e.errors + 1] = last
      elseif tag == "overload" then
        last = { type = rest }
        e.overloads[#e.overloads + 1] = last
      elseif tag == "metatable" then
        e.metatable, last = rest, nil
      elseif tag == "global" then
        e.global, last = true, nil
      else
        bad("unknown tag @" .. tag)
      end
    elseif l:match("^%s+%S") and last then -- continues the tag above
      local key = last.desc and "desc" or "type"
      last[key] = (last[key] == "" and "" or last[key] .. " ") .. l:match("^%s*(.-)%s*$")
    elseif l:match("^%s*$") then
      flush()
    else
      if last then bad("description text after the tags (indent it to continue a tag)") end
      para[#para + 1] = l:match("^%s*(.-)%s*$")
    end
  end
  flush()
  return e
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

-- The source files, relative to root, in a stable order.
function P.files(root)
  local p = assert(io.popen(("ls %q/engine/lua/*.c %q/lua/funky/*.lua"):format(root, root)))
  local files = {}
  for line in p:lines() do files[#files + 1] = line:sub(#root + 2) end
  p:close()
  table.sort(files)
  return files
end

-- Everything in sources ({ {file, text}, ... }): { modules = {}, types =
-- {}, functions = {}, by_name = {} }, plus errs, the problems found reading.
function P.collect(sources)
  local api = { modules = {}, types = {}, functions = {}, by_name = {} }
  local errs = {}
  for _, src in ipairs(sources) do
    for _, b in ipairs(P.blocks(src[1], src[2])) do
      local e = P.entry(b, errs)
      if e then
        local list = e.kind == "module" and api.modules or e.kind == "type" and api.types or api.functions
        local key = e.kind .. " " .. e.name
        if api.by_name[key] then
          errs[#errs + 1] = ("%s:%d: %s is documented twice (also at %s:%d)"):format(
            e.file, e.line, e.name, api.by_name[key].file, api.by_name[key].line)
        else
          api.by_name[key] = e
          list[#list + 1] = e
        end
      end
    end
  end
  return api, errs
end

-- The doc blocks of the repository at root.
function P.api(root)
  local sources = {}
  for _, file in ipairs(P.files(root)) do sources[#sources + 1] = { file, read(root .. "/" .. file) } end
  return P.collect(sources)
end

return P
