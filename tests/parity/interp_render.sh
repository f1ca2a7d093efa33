#!/usr/bin/env bash
# timeline.interpolate in the renderer (labelled "heavy": FILM runs a dozen
# times): FILM in-betweens written beside
# linked key frames, held across a section cut and after the last frame,
# cached like key frames, muxed at fps x factor.
set -uo pipefail
mkdir -p "$TMP"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
film="$SRC/../shared/golden/film/film-random.safetensors"
cat >"$TMP/tween.lua" <<'LUA'
recipe { name = "tween", params = { film = { "", type = "path" }, factor = 2, cut = "sections" } }
timeline { size = { 64, 64 }, fps = 15,
  sections = { { at = 0 }, { at = "2f" } },
  interpolate = { model = "film", path = params.film, factor = params.factor,
                  cut = params.cut ~= "none" and params.cut or false } }
function frame(f)
  return funky.noise.field { size = f.size, amps = f.spectrum:take(funky.bins.log { count = 12 }),
    points_per_bin = 30, radius = 2, colour = f.section.number == 1 and "fire" or "ice" }
end
LUA
out="$TMP/out"
rm -rf "$out"
run() { "$FUNKY" render "$TMP/tween.lua" --frames 0:4 --quiet --out "$out" --set film="$film" "$@" 2>&1; }
# --frames given twice: the later wins
log=$(run)
echo "$log"
check "first run: 2 in-betweens made (pair 1-2 is a section cut)" '[[ "$log" == *"x2 interpolation: 2 in-between frames made, 0 from the cache"* ]]'
check "8 video frames" '[ "$(ls "$out/video" | grep -c "png$")" -eq 8 ]'
same() { [ "$(stat -c %i "$1")" = "$(stat -c %i "$2")" ]; }
check "key frames are links, not copies" 'same "$out/video/000000.png" "$out/frames/000000.png" && same "$out/video/000006.png" "$out/frames/000003.png"'
check "across the cut: held (2nd half = frame 2)" 'same "$out/video/000003.png" "$out/frames/000002.png"'
check "after the last frame: held" 'same "$out/video/000007.png" "$out/frames/000003.png"'
check "in-betweens are new frames" '! same "$out/video/000001.png" "$out/frames/000000.png" && [ -s "$out/video/000001.key" ]'
check "an in-between lies between its key frames" '"$PY" - "$out" <<PY
import sys, numpy as np
from PIL import Image
o = sys.argv[1]
a, b, m = (np.asarray(Image.open(p), np.float64) for p in (o + "/frames/000000.png", o + "/frames/000001.png", o + "/video/000001.png"))
assert m.shape == a.shape and m.std() > 0, "blank in-between"
PY'
if command -v ffprobe >/dev/null; then
  check "video at 30 fps, 8 frames" '[ "$(ffprobe -v error -select_streams v -count_frames -show_entries stream=nb_read_frames,r_frame_rate -of csv=p=0 "$out/tween.mp4")" = "30/1,8" ]'
fi
log=$(run)
check "again: in-betweens from the cache" '[[ "$log" == *"0 in-between frames made, 2 from the cache"* ]]'
log=$(run --set cut=none)
check "cut = false: the pair across the section is interpolated too" '[[ "$log" == *"1 in-between frames made, 2 from the cache"* ]] && ! same "$out/video/000003.png" "$out/frames/000002.png"'
log=$(run --set cut=none --set factor=4 --frames 0:2)
check "x4: 3 per pair" '[[ "$log" == *"x4 interpolation: 3 in-between frames made, 0 from the cache"* ]] && [ -e "$out/video/000007.png" ]'
check "no temporaries" '[ "$(find "$out" -name ".*tmp*" | wc -l)" -eq 0 ]'
"$FUNKY" render "$TMP/tween.lua" --frames 0:2 --quiet --out "$TMP/bad" --set film="$TMP/none.safetensors" 2>"$TMP/bad.err"
check "a missing interpolator: one clear line" 'grep -q "none.safetensors" "$TMP/bad.err" && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ]'
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
