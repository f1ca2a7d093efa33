-- The Lua tests' small harness: check, raises, and the closing line.
-- Tests load it with dofile(arg[0]:match("^(.*)/") .. "/harness.lua").
local T = { passed = 0, failed = 0 }

function T.check(cond, msg)
  if cond then
    T.passed = T.passed + 1
  else
    T.failed = T.failed + 1
    print("FAIL " .. msg)
  end
end

--- Checks that fn(...) raises an error matching pattern.
function T.raises(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  T.check(not ok and tostring(err):find(pattern),
          ("expected error /%s/, got %s"):format(pattern, tostring(err)))
end

--- Prints "N passed, N failed" and exits non-zero on a failure.
function T.done()
  print(("%d passed, %d failed"):format(T.passed, T.failed))
  if T.failed > 0 then os.exit(1) end
end

return T
