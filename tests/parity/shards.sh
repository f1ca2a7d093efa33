#!/usr/bin/env bash
# A frame that fails is reported and skipped while the render goes on; a
# render split into shards (local processes standing in for the nodes of a
# Slurm job array or a Kubernetes Indexed Job) writes one shared folder, and
# --assemble makes the video once every frame is there, naming the missing
# ones before.
set -uo pipefail
mkdir -p "$TMP"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
cat >"$TMP/flaky.lua" <<'LUA'
recipe { name = "flaky", params = { fail = "" } }
timeline { size = { 32, 32 }, fps = 15 }
function frame(f)
  for k in params.fail:gmatch("%d+") do
    if tonumber(k) == f.index then error("no luck at frame " .. k) end
  end
  return funky.noise.field { size = f.size, amps = f.spectrum:take(funky.bins.log { count = 8 }),
    points_per_bin = 20 }
end
LUA
out="$TMP/flaky"
rm -rf "$out"
"$FUNKY" render "$TMP/flaky.lua" --frames 0:12 --quiet --out "$out" --set fail=5,7,8 2>"$TMP/f.err"
rc=$?
check "failed frames: exit status 1 ($rc)" '[ $rc -eq 1 ]'
check "each failure named as it happens" 'grep -q "frame 5 failed, skipped: .*no luck at frame 5" "$TMP/f.err" && grep -q "frame 8 failed" "$TMP/f.err"'
check "failures listed at the end" 'grep -q "3 of 12 frames failed (frames 5, 7-8)" "$TMP/f.err"'
check "the other 9 frames are saved" '[ "$(ls "$out/frames" | grep -c "png$")" -eq 9 ]'
check "no video with holes" '[ ! -e "$out/flaky.mp4" ]'
again=$("$FUNKY" render "$TMP/flaky.lua" --frames 0:12 --no-video --quiet --out "$out" 2>&1 | head -1)
check "fixed: only the failed frames are redone ($again)" '[[ "$again" == *"12 frames (9 from the frame cache)"* ]]'
"$FUNKY" render "$TMP/flaky.lua" --frames 0:12 --quiet --out "$TMP/run" --set fail=3,4,5,6 2>"$TMP/r.err"
check "3 failures in a row stop the render" 'grep -q "3 frames in a row failed (frames 3-5)" "$TMP/r.err" && [ ! -e "$TMP/run/frames/000006.png" ]'
"$FUNKY" render "$TMP/flaky.lua" --frames 0:12 --quiet --out "$TMP/first" --set fail=0 2>"$TMP/z.err"
check "a failure before any success stops at once, one line" '[ "$(wc -l <"$TMP/z.err")" -eq 1 ] && grep -q "flaky.lua:5: no luck at frame 0" "$TMP/z.err"'

# three shards at once into one folder, as nodes sharing a file system
sh="$TMP/shared"
rm -rf "$sh"
"$FUNKY" render "$TMP/flaky.lua" --frames 0:30 --out "$sh" --assemble 2>"$TMP/a0.err"
check "assemble before anything: all missing named" 'grep -q "30 of 30 frames are missing or out of date (frames 0-29)" "$TMP/a0.err"'
"$FUNKY" render "$TMP/flaky.lua" --frames 0:30 --out "$sh" --shard 1/3 --quiet 2>"$TMP/s1.err"
check "shard 1/3 renders frames 10-19 only" 'grep -q "frames 10-19" "$TMP/s1.err" && [ "$(ls "$sh/frames" | grep -c "png$")" -eq 10 ] && [ -e "$sh/frames/000010.png" ] && [ -e "$sh/frames/000019.png" ]'
"$FUNKY" render "$TMP/flaky.lua" --frames 0:30 --out "$sh" --assemble 2>"$TMP/a1.err"
check "assemble names the missing frames" 'grep -q "20 of 30 frames are missing or out of date (frames 0-9, 20-29)" "$TMP/a1.err"'
# Slurm job array task 0 (of --array=0-2) and a Kubernetes Indexed Job pod 2, concurrently
SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 \
  "$FUNKY" render "$TMP/flaky.lua" --frames 0:30 --out "$sh" --shard auto --quiet 2>"$TMP/slurm.err" &
p1=$!
JOB_COMPLETION_INDEX=2 FUNKY_SHARDS=3 \
  "$FUNKY" render "$TMP/flaky.lua" --frames 0:30 --out "$sh" --shard auto --quiet 2>"$TMP/k8s.err" &
p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
check "Slurm task renders shard 0 (frames 0-9)" '[ $r1 -eq 0 ] && grep -q "shard 0/3: frames 0-9" "$TMP/slurm.err"'
check "Kubernetes pod renders shard 2 (frames 20-29)" '[ $r2 -eq 0 ] && grep -q "shard 2/3: frames 20-29" "$TMP/k8s.err"'
check "no temporaries left" '[ "$(find "$sh" -name ".*tmp*" | wc -l)" -eq 0 ]'
"$FUNKY" render "$TMP/flaky.lua" --frames 0:30 --out "$sh" --assemble 2>"$TMP/a2.err"
rc=$?
if command -v ffmpeg >/dev/null; then
  check "assemble muxes all 30 cached frames (rc $rc)" '[ $rc -eq 0 ] && grep -q "30 frames (30 from the frame cache)" "$TMP/a2.err" && [ -s "$sh/flaky.mp4" ]'
else
  check "assemble: all 30 frames cached (rc $rc)" '[ $rc -eq 0 ]'
fi
"$FUNKY" render "$TMP/flaky.lua" --out "$sh" --shard auto 2>"$TMP/noenv.err"
check "--shard auto outside a scheduler says what to do" 'grep -q "give --shard i/n" "$TMP/noenv.err"'
"$FUNKY" render "$TMP/flaky.lua" --out "$sh" --shard 3/3 2>"$TMP/bad.err"
check "--shard 3/3 rejected" 'grep -q "i must be in 0..n-1" "$TMP/bad.err"'
JOB_COMPLETION_INDEX=1 "$FUNKY" render "$TMP/flaky.lua" --out "$sh" --shard auto 2>"$TMP/k.err"
check "Indexed Job without FUNKY_SHARDS says so" 'grep -q "needs FUNKY_SHARDS" "$TMP/k.err"'
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
