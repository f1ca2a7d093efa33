#!/usr/bin/env bash
# The frame cache: a re-render redoes only frames whose inputs changed; a
# render killed with SIGKILL mid-way resumes with every frame whole, none
# lost or duplicated.
set -uo pipefail
mkdir -p "$TMP"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
cat >"$TMP/cached.lua" <<'LUA'
recipe { name = "cached", params = { colour = "rainbow", from = 12 } }
timeline { size = { 48, 48 }, fps = 15 }
function frame(f)
  -- slow frames for the kill test (trusted runs only; not part of the cache key)
  local os_ = rawget(_G, "os")
  local delay = os_ and tonumber(os_.getenv("FUNKY_TEST_DELAY") or "") or 0
  local t0 = os_ and os_.clock()
  while delay > 0 and os_.clock() - t0 < delay do end
  return funky.noise.field { size = f.size, amps = f.spectrum:take(funky.bins.log { count = 20 }),
    colour = f.index >= params.from and params.colour or "ice", points_per_bin = 50 }
end
LUA
out="$TMP/out"
rm -rf "$out"
run() { "$FUNKY" render "$TMP/cached.lua" --frames 0:30 --no-video --quiet --out "$out" "$@" 2>&1 | head -1; }
check "first render: nothing cached" '[[ "$(run)" == *"30 frames (0 from the frame cache)"* ]]'
check "same inputs: everything cached" '[[ "$(run)" == *"(30 from the frame cache)"* ]]'
check "frames >= 12 changed: 12 cached" '[[ "$(run --set colour=fire)" == *"(12 from the frame cache)"* ]]'
check "back again: the first 12 stay cached" '[[ "$(run)" == *"(12 from the frame cache)"* ]]'

# kill -9 mid-render, then resume
rm -rf "$out"
FUNKY_TEST_DELAY=0.2 "$FUNKY" render "$TMP/cached.lua" --frames 0:30 --no-video --quiet --out "$out" --trust \
  >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 100); do
  n=$(ls "$out/frames" 2>/dev/null | grep -c 'png$' || true)
  [ "${n:-0}" -ge 3 ] && break
  sleep 0.2
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
before=$(ls "$out/frames" | grep -c '\.key$')
check "killed part-way ($before frames done)" '[ "$before" -ge 3 ] && [ "$before" -lt 30 ]'
resumed=$(run --trust)
check "resume reuses the finished frames: $resumed" '[[ "$resumed" == *"($before from the frame cache)"* ]]'
check "30 frames and 30 keys" '[ "$(ls "$out/frames" | grep -c "png$")" -eq 30 ] && [ "$(ls "$out/frames" | grep -c "key$")" -eq 30 ]'
check "no temporary files" '[ "$(find "$out" -name ".*tmp*" -o -name "*.tmp*" | wc -l)" -eq 0 ]'
check "every frame is a whole PNG" '"$PY" -c "
import sys, glob
from PIL import Image
for p in sorted(glob.glob(sys.argv[1] + \"/frames/*.png\")):
    Image.open(p).load()
" "$out"'
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
