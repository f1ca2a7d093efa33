#!/usr/bin/env bash
# The recipe sandbox: each escape attempt fails with exit status 1 and a
# clear one-line error while the engine stays up; --trust lifts it; a
# normal recipe still renders sandboxed.
set -uo pipefail
mkdir -p "$TMP/recipes"
fails=0; passes=0
head='recipe { name = "escape" }
timeline { size = { 64, 64 } }
function frame(f) return funky.image.new(64, 64) end
'
attempt() { # name, pattern, lua code
  local name=$1 pattern=$2 code=$3
  printf '%s\n%s\n' "$head" "$code" >"$TMP/recipes/$name.lua"
  timeout 120 "$FUNKY" render "$TMP/recipes/$name.lua" --no-video --quiet --frames 0:1 \
    --max-instructions 1e8 --max-memory 256 --out "$TMP/out/$name" >/dev/null 2>"$TMP/$name.err"
  local rc=$?
  if [ $rc -eq 1 ] && grep -qiE -e "$pattern" "$TMP/$name.err" && [ "$(wc -l <"$TMP/$name.err")" -eq 1 ]; then
    echo "ok   $name: $(cut -c1-150 "$TMP/$name.err")"; passes=$((passes + 1))
  else
    echo "FAIL $name (status $rc):"; sed 's/^/    /' "$TMP/$name.err"; fails=$((fails + 1))
  fi
}
attempt os_execute "'os' is not available" 'os.execute("touch /tmp/funky-pwned")'
attempt io_open "'io' is not available" 'local f = io.open("/etc/passwd")'
attempt require_c "funky modules only" 'require("socket.core")'
attempt package_loadlib "'package' is not available" 'package.loadlib("libc.so.6", "system")'
attempt debug_lib "'debug' is not available" 'debug.sethook()'
attempt bytecode "binary" 'local f = assert(load("\27Lua"))'
attempt dofile "'dofile' is not available" 'dofile("/etc/passwd")'
attempt string_rep_bomb "memory|heap|too large|overflow" 'local s = string.rep("x", 2^27):rep(8)'
attempt string_grow_bomb "memory|heap" 'local t = {} for i = 1, 100 do t[i] = string.rep("x", 2^24) .. i end'
attempt table_bomb "heap|memory|instructions" 'local t = {} for i = 1, 1e12 do t[i] = i end'
attempt loop_in_pcall "instructions" 'for i = 1, 3 do pcall(function() while true do end end) end'
attempt nested_pcall_loop "instructions" 'while true do pcall(pcall, function() while true do end end) end'
attempt string_metatable "string|index|nil" 'getmetatable("").__index.rep = nil'
attempt read_system_file "may read only" 'funky.image.load("/etc/passwd")'
attempt write_outside "may write only" 'funky.image.new(4, 4):save("/tmp/funky-escape.png")'
attempt audio_outside "may read only" 'funky.audio.load("/etc/hostname")'
attempt load_env_escape "'os' is not available" 'load("os.exit(3)")()'
[ -e /tmp/funky-pwned ] && { echo "FAIL os.execute ran"; fails=$((fails + 1)); }
[ -e /tmp/funky-escape.png ] && { echo "FAIL wrote outside"; fails=$((fails + 1)); }

# writing inside the output folder is fine; --trust lifts the sandbox
printf '%s\n%s\n' "$head" 'funky.image.new(4, 4):save(arg_out or "'"$TMP"'/out/inside/x.png")' >"$TMP/recipes/inside.lua"
if "$FUNKY" render "$TMP/recipes/inside.lua" --no-video --quiet --frames 0:1 --out "$TMP/out/inside" 2>"$TMP/inside.err"; then
  echo "ok   write inside the output folder"; passes=$((passes + 1))
else echo "FAIL write inside:"; cat "$TMP/inside.err"; fails=$((fails + 1)); fi
printf '%s\n%s\n' "$head" 'assert(os.getenv("HOME") ~= nil or true)' >"$TMP/recipes/trusted.lua"
if "$FUNKY" render "$TMP/recipes/trusted.lua" --trust --no-video --quiet --frames 0:1 --out "$TMP/out/t" 2>"$TMP/t.err"; then
  echo "ok   --trust allows os"; passes=$((passes + 1))
else echo "FAIL --trust:"; cat "$TMP/t.err"; fails=$((fails + 1)); fi
# the shipped recipe renders sandboxed
if "$FUNKY" render scripts/funky.lua --set size=64 --no-video --quiet --frames 0:2 --out "$TMP/out/demo" 2>"$TMP/demo.err"; then
  echo "ok   demo recipe renders sandboxed"; passes=$((passes + 1))
else echo "FAIL demo sandboxed:"; cat "$TMP/demo.err"; fails=$((fails + 1)); fi
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
