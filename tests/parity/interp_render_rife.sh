#!/usr/bin/env bash
# timeline.interpolate with model = "rife" in the renderer, on random RIFE
# weights the test writes (funky model random --family rife): in-betweens
# at every factor's times (RIFE takes any t, no recursion), frame counts of
# fps x factor on disk and in the video, and a model that does not match
# the file refused with one clear line; `funky bench interp` on the same
# weights (this test opens a Vulkan device).
set -uo pipefail
mkdir -p "$TMP"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
rife="$TMP/rife-random.safetensors"
"$FUNKY" model random --family rife --out "$rife" >/dev/null || { echo "FAIL funky model random --family rife"; exit 1; }
cat >"$TMP/rife.lua" <<'LUA'
recipe { name = "rife", params = { rife = { "", type = "path" }, factor = 2, model = "rife" } }
timeline { size = { 64, 64 }, fps = 15,
  interpolate = { model = params.model, path = params.rife, factor = params.factor, cut = false } }
function frame(f)
  return funky.noise.field { size = f.size, amps = f.spectrum:take(funky.bins.log { count = 12 }),
    points_per_bin = 30, radius = 2, colour = "fire", seed = f.index }
end
LUA
out="$TMP/out"
rm -rf "$out"
run() { "$FUNKY" render "$TMP/rife.lua" --frames 0:4 --quiet --out "$out" --set rife="$rife" "$@" 2>&1; }
same() { [ "$(stat -c %i "$1")" = "$(stat -c %i "$2")" ]; }
pngs() { ls "$out/video" | grep -c "png$"; }
frames() { ffprobe -v error -select_streams v -count_frames -show_entries stream=nb_read_frames,r_frame_rate -of csv=p=0 "$out/rife.mp4"; }
log=$(run)
echo "$log"
check "x2: 3 in-betweens made (4 key frames, the last held)" '[[ "$log" == *"x2 interpolation: 3 in-between frames made, 0 from the cache"* ]]'
check "x2: 8 = 4 x 2 video frames" '[ "$(pngs)" -eq 8 ]'
check "key frames are links" 'same "$out/video/000002.png" "$out/frames/000001.png" && same "$out/video/000006.png" "$out/frames/000003.png"'
check "in-betweens are new frames with a cache key" '! same "$out/video/000001.png" "$out/frames/000000.png" && [ -s "$out/video/000001.key" ] && [ -s "$out/video/000005.key" ]'
check "an in-between is a real image of the frames' size" '"$PY" - "$out" <<PY
import sys, numpy as np
from PIL import Image
o = sys.argv[1]
a, m = (np.asarray(Image.open(p), np.float64) for p in (o + "/frames/000000.png", o + "/video/000001.png"))
assert m.shape == a.shape and m.std() > 0, "blank in-between"
PY'
if command -v ffprobe >/dev/null; then
  check "video at 30 fps, 8 frames" '[ "$(frames)" = "30/1,8" ]'
fi
log=$(run)
check "again: in-betweens from the cache" '[[ "$log" == *"0 in-between frames made, 3 from the cache"* ]]'
mid=$(md5sum <"$out/video/000001.png")
log=$(run --set factor=4)
echo "$log"
check "x4: 3 per pair, each at its own time" '[[ "$log" == *"x4 interpolation: 9 in-between frames made, 0 from the cache"* ]]'
check "x4: 16 = 4 x 4 video frames" '[ "$(pngs)" -eq 16 ]'
check "x4: the t = 0.5 frame equals the x2 in-between, t = 0.25 differs" '[ "$(md5sum <"$out/video/000002.png")" = "$mid" ] && [ "$(md5sum <"$out/video/000001.png")" != "$mid" ]'
if command -v ffprobe >/dev/null; then
  check "video at 60 fps, 16 frames" '[ "$(frames)" = "60/1,16" ]'
fi
check "no temporaries" '[ "$(find "$out" -name ".*tmp*" | wc -l)" -eq 0 ]'
"$FUNKY" render "$TMP/rife.lua" --frames 0:2 --quiet --out "$TMP/bad" --set rife="$rife" --set model=film 2>"$TMP/bad.err"
check "model = film on RIFE weights: one clear line" 'cat "$TMP/bad.err"; grep -q "holds RIFE weights" "$TMP/bad.err" && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ]'
# the same weights through funky bench interp (a smoke test: tells RIFE
# from the file, reports the padded size the network runs at)
log=$("$FUNKY" bench interp --model "$rife" --size 80x48 --reps 1 --no-reference 2>&1)
check "bench interp: RIFE at 80x48 runs at 128x64 (pad 64)" '[[ "$log" == *"(RIFE v4.6), 80x48 (network at 128x64)"* && "$log" == *"| in-between frame, steady (mean of 1) |"* ]]'
log=$("$FUNKY" bench interp --model "$rife" --size 80x48 --reps 1 --no-reference --no-pad 2>&1)
check "bench interp --no-pad: RIFE still pads to 32" '[[ "$log" == *"80x48 (network at 96x64)"* ]]'
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
