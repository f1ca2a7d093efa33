#!/usr/bin/env bash
# Bad input: each case exits with status 1, prints one clear line on stderr
# that mentions what is wrong, and leaves no partial frame behind.
set -uo pipefail
mkdir -p "$TMP"
fails=0; passes=0
R=scripts/funky.lua

expect_fail() { # name, pattern, command...
  local name=$1 pattern=$2; shift 2
  local out="$TMP/$name"
  rm -rf "$out"
  "$@" --out "$out" >"$TMP/$name.stdout" 2>"$TMP/$name.stderr"
  local rc=$? lines
  lines=$(wc -l <"$TMP/$name.stderr")
  local bad=""
  [ $rc -eq 1 ] || bad="exit status $rc, expected 1"
  grep -qiE "$pattern" "$TMP/$name.stderr" || bad="$bad; message lacks /$pattern/"
  [ "$lines" -eq 1 ] || bad="$bad; $lines lines on stderr, expected 1"
  if [ -d "$out" ] && [ -n "$(find "$out" -name '*.tmp*' -o -name '*.png' | head -1)" ]; then
    bad="$bad; files left in $out"
  fi
  if [ -n "$bad" ]; then
    echo "FAIL $name: $bad"; sed 's/^/    /' "$TMP/$name.stderr"; fails=$((fails + 1))
  else
    echo "ok   $name: $(cat "$TMP/$name.stderr")"; passes=$((passes + 1))
  fi
}

printf 'this is not audio\n' >"$TMP/text.wav"
"$PY" -c "import numpy as np; from scipy.io import wavfile; wavfile.write('$TMP/empty.wav', 44100, np.zeros(0, np.int16))"
printf 'recipe { name = "broken" }\ntimeline { fps = 15\nfunction frame(f) end\n' >"$TMP/syntax.lua"
printf 'recipe { name = "err" }\ntimeline { fps = 15 }\nfunction frame(f)\n  error("boom in frame")\nend\n' >"$TMP/runtime.lua"
touch "$TMP/a_file"

expect_fail missing_audio "cannot open audio.*missing\.wav" "$FUNKY" render $R --set audio="$TMP/missing.wav"
expect_fail text_audio "cannot read audio.*text\.wav" "$FUNKY" render $R --set audio="$TMP/text.wav"
expect_fail empty_audio "no samples" "$FUNKY" render $R --set audio="$TMP/empty.wav"
expect_fail fps_zero "fps must be|.fps. is at least" "$FUNKY" render $R --set fps=0
expect_fail fps_negative "fps must be|.fps. is at least" "$FUNKY" render $R --set fps=-15
expect_fail window_zero "window must be|.window. is at least" "$FUNKY" render $R --set window=0
expect_fail count_zero "count.* must be in 1|.bins. is at least 1" "$FUNKY" render $R --set bins=0
expect_fail size_zero "size.*1\.\.8192|.size. is at least" "$FUNKY" render $R --set size=0
expect_fail size_huge "size.*1\.\.8192|.size. is at most" "$FUNKY" render $R --set size=9000
expect_fail syntax_error "syntax\.lua:[0-9]+:" "$FUNKY" render "$TMP/syntax.lua"
expect_fail runtime_error "runtime\.lua:4: boom in frame" "$FUNKY" render "$TMP/runtime.lua"
expect_fail missing_recipe "recipe .*not found" "$FUNKY" render "$TMP/nope.lua"
expect_fail unknown_param "has no parameter 'colur'" "$FUNKY" render $R --set colur=fire
expect_fail bad_number "parameter 'fps' is a number" "$FUNKY" render $R --set fps=fast
expect_fail bad_range "frames" "$FUNKY" render $R --frames 9:3
# --out below a regular file and on a read-only file system
"$FUNKY" render $R --frames 0:2 --set size=64 --out "$TMP/a_file/out" 2>"$TMP/under_file.stderr"
rc=$?
if [ $rc -eq 1 ] && grep -q "cannot create folder" "$TMP/under_file.stderr"; then
  echo "ok   unwritable_out: $(cat "$TMP/under_file.stderr")"; passes=$((passes + 1))
else
  echo "FAIL unwritable_out: status $rc"; cat "$TMP/under_file.stderr"; fails=$((fails + 1))
fi
"$FUNKY" render $R --frames 0:2 --set size=64 --out /proc/funky-test 2>"$TMP/proc.stderr"
rc=$?
if [ $rc -eq 1 ] && grep -q "cannot create folder" "$TMP/proc.stderr"; then
  echo "ok   readonly_out: $(cat "$TMP/proc.stderr")"; passes=$((passes + 1))
else
  echo "FAIL readonly_out: status $rc"; cat "$TMP/proc.stderr"; fails=$((fails + 1))
fi
"$FUNKY" frobnicate 2>/dev/null; rc=$?
[ $rc -eq 1 ] && passes=$((passes + 1)) || { echo "FAIL unknown command: status $rc"; fails=$((fails + 1)); }
"$FUNKY" --version | grep -q "^funky [0-9]" && passes=$((passes + 1)) || { echo "FAIL --version"; fails=$((fails + 1)); }
"$FUNKY" --help >"$TMP/help.txt" && grep -q "render RECIPE" "$TMP/help.txt" && passes=$((passes + 1)) || { echo "FAIL --help"; fails=$((fails + 1)); }
# No Vulkan driver at all: one clear line, status 1.
VK_ICD_FILENAMES=/nonexistent/icd.json "$FUNKY" info --gpu >/dev/null 2>"$TMP/novk.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "no usable Vulkan driver" "$TMP/novk.err" && [ "$(wc -l <"$TMP/novk.err")" -eq 1 ]; then
  echo "ok   no_vulkan: $(cat "$TMP/novk.err")"; passes=$((passes + 1))
else
  echo "FAIL no_vulkan: status $rc"; cat "$TMP/novk.err"; fails=$((fails + 1))
fi
# (lavapipe leaks 128 bytes LeakSanitizer cannot name: see tests/CMakeLists.txt)
ASAN_OPTIONS=detect_leaks=0 "$FUNKY" info --gpu | grep -q "maxStorageBufferRange" && passes=$((passes + 1)) ||
  { echo "FAIL info --gpu"; fails=$((fails + 1)); }
# FUNKY_LUA_DEV=1 loads the Lua half from files instead of the binary's copy.
mkdir -p "$TMP/dev/funky"
cp lua/funky/*.lua "$TMP/dev/funky/"
sed -i 's/^return funky$/print("dev copy loaded")\nreturn funky/' "$TMP/dev/funky/init.lua"
printf 'require "funky"\n' >"$TMP/req.lua"
if FUNKY_LUA_DEV=1 FUNKY_LUA_DIR="$TMP/dev" "$FUNKY" run "$TMP/req.lua" | grep -q "dev copy loaded" &&
   ! "$FUNKY" run "$TMP/req.lua" | grep -q "dev copy loaded"; then
  passes=$((passes + 1))
else
  echo "FAIL FUNKY_LUA_DEV=1 did not load lua/ from FUNKY_LUA_DIR"; fails=$((fails + 1))
fi
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
