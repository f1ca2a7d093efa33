#!/usr/bin/env bash
# Every format Debian's libsndfile reads: the same song as WAV, FLAC, Ogg
# Vorbis, Opus and MP3 (made with ffmpeg) loads with the right rate, channel
# count and duration; lossless formats give the WAV's samples exactly.
set -euo pipefail
mkdir -p "$TMP"
cat >"$TMP/make.lua" <<'LUA'
local funky = require "funky"
local song = funky.audio.demo { seconds = 3, rate = 48000 }
song:save(arg[1] .. "/song.wav")
LUA
"$FUNKY" run "$TMP/make.lua" "$TMP"
# stereo (float): left = the song, right = silence, so the mixdown is song / 2 exactly
"$PY" - "$TMP" <<'PYEOF'
import sys, numpy as np
from scipy.io import wavfile
rate, x = wavfile.read(sys.argv[1] + "/song.wav")
x = x.astype(np.float32) / 32768
wavfile.write(sys.argv[1] + "/stereo.wav", rate, np.stack([x, np.zeros_like(x)], axis=1))
PYEOF
ffmpeg -nostdin -loglevel error -y -i "$TMP/song.wav" "$TMP/song.flac"
ffmpeg -nostdin -loglevel error -y -i "$TMP/song.wav" -c:a libvorbis "$TMP/song.ogg"
ffmpeg -nostdin -loglevel error -y -i "$TMP/song.wav" -c:a libopus "$TMP/song.opus"
ffmpeg -nostdin -loglevel error -y -i "$TMP/song.wav" -c:a libmp3lame "$TMP/song.mp3"
cat >"$TMP/check.lua" <<'LUA'
local funky = require "funky"
local dir = arg[1]
local wav = funky.audio.load(dir .. "/song.wav")
local fails = 0
local function check(cond, msg) if not cond then print("FAIL " .. msg); fails = fails + 1 end end
check(wav.rate == 48000 and wav.channels == 1, "wav rate/channels")
check(math.abs(wav.duration - 3) < 1e-3, "wav duration " .. wav.duration)
local st = funky.audio.load(dir .. "/stereo.wav")
check(st.channels == 2 and st.samples == wav.samples, "stereo wav")
-- left is the song, right silence: the mixdown is half the song
local maxd = 0
for i = 1, wav.samples, 997 do maxd = math.max(maxd, math.abs(st:sample(i) - wav:sample(i) / 2)) end
check(maxd == 0, "stereo mixdown differs by " .. maxd)
local flac = funky.audio.load(dir .. "/song.flac")
maxd = 0
for i = 1, wav.samples, 101 do maxd = math.max(maxd, math.abs(flac:sample(i) - wav:sample(i))) end
check(flac.samples == wav.samples and maxd == 0, "flac differs from wav by " .. maxd)
for _, ext in ipairs { "ogg", "opus", "mp3" } do
  local s = funky.audio.load(dir .. "/song." .. ext)
  -- lossy codecs pad by up to a few thousand samples of encoder delay
  check(s.rate == 48000 and math.abs(s.duration - 3) < 0.1, ext .. " duration " .. s.duration)
  local fr = s:frames { fps = 15, window = 0.05 }
  check(#fr >= 44 and #fr <= 47, ext .. " frames " .. #fr)
  print(("ok   %-4s %d Hz %d ch %.3f s"):format(ext, s.rate, s.channels, s.duration))
end
print(("%d passed, %d failed"):format(fails == 0 and 1 or 0, fails))
os.exit(fails == 0 and 0 or 1)
LUA
"$FUNKY" run "$TMP/check.lua" "$TMP"
