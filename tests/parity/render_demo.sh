#!/usr/bin/env bash
# The demo recipe end to end at a small size: every frame written, no
# temporary files left, an H.264/yuv420p video whose duration matches the
# audio's within one frame; a --frames range renders and cuts just that.
set -euo pipefail
mkdir -p "$TMP"
out="$TMP/demo"
rm -rf "$out"
"$FUNKY" render scripts/funky.lua --set size=96 --out "$out" --quiet
n=$(ls "$out/frames" | grep -c '^[0-9]\{6\}\.png$')
leftover=$(find "$out" -name '.*tmp*' | wc -l)
[ "$leftover" -eq 0 ] || { echo "FAIL: temporary files left: $(find "$out" -name '.*tmp*')"; exit 1; }
# The demo is 20 s at 15 fps with a 0.05 s window: 300 frames.
[ "$n" -eq 300 ] || { echo "FAIL: $n frames, expected 300"; exit 1; }
[ -f "$out/frames/000000.png" ] && [ -f "$out/frames/000299.png" ]
video="$out/funky.mp4"
[ -f "$video" ] || { echo "FAIL: no video at $video"; ls "$out"; exit 1; }
codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,pix_fmt -of csv=p=0 "$video")
[ "$codec" = "h264,yuv420p" ] || { echo "FAIL: video stream is $codec"; exit 1; }
vdur=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$video")
adur=$(ffprobe -v error -select_streams a:0 -show_entries stream=duration -of csv=p=0 "$video")
"$PY" - "$vdur" "$adur" <<'PYEOF'
import sys
v, a = float(sys.argv[1]), float(sys.argv[2])
print(f"video {v:.4f} s, audio {a:.4f} s, song 20.0 s")
assert abs(v - 20.0) <= 1 / 15, "video duration is off by more than one frame"
assert abs(a - 20.0) <= 1 / 15, "audio duration is off by more than one frame"
PYEOF
# A range: frames 10..19 only, and the video cut to them.
out2="$TMP/range"
rm -rf "$out2"
"$FUNKY" render scripts/funky.lua --set size=64 --out "$out2" --frames 10:20 --quiet
ls "$out2/frames" | grep 'png$' | tr '\n' ' ' | grep -q "^000010.png .*000019.png $"
[ "$(ls "$out2/frames" | grep -c 'png$')" -eq 10 ]
vdur=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$out2/funky.mp4")
adur=$(ffprobe -v error -select_streams a:0 -show_entries stream=duration -of csv=p=0 "$out2/funky.mp4")
"$PY" -c "v, a = float('$vdur'), float('$adur'); print('range video', v, 'audio', a); assert abs(v - 10/15) <= 1/15 and abs(a - 10/15) <= 1/15"
# Progress: a rewritten line on a terminal (script(1) provides one), plain lines otherwise.
if command -v script >/dev/null; then
  script -qec "'$FUNKY' render scripts/funky.lua --set size=64 --out '$TMP/tty' --frames 0:20 --no-video" /dev/null >"$TMP/tty.log"
  grep -q $'\r\033\[K' "$TMP/tty.log" || { echo "FAIL: no rewritten progress line on a terminal"; exit 1; }
fi
"$FUNKY" render scripts/funky.lua --set size=64 --out "$TMP/plain" --frames 0:20 --no-video 2>"$TMP/plain.log"
grep -q "frame 20/20" "$TMP/plain.log" && ! grep -q $'\033' "$TMP/plain.log" ||
  { echo "FAIL: plain progress lines"; cat "$TMP/plain.log"; exit 1; }
# Without ffmpeg: frames kept, the message says so, status 0.
out3="$TMP/noffmpeg"
rm -rf "$out3"
FUNKY_FFMPEG=/nonexistent "$FUNKY" render scripts/funky.lua --set size=64 --out "$out3" --frames 0:3 --quiet 2>"$TMP/noff.err"
grep -q "ffmpeg not found" "$TMP/noff.err"
[ "$(ls "$out3/frames" | grep -c 'png$')" -eq 3 ]
echo "1 passed, 0 failed"
