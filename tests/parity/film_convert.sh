#!/usr/bin/env bash
# models/convert_interpolator.py: names, shapes and values through the
# converter (checkpoints made with torch when $PY has it, else the parts
# that need no torch), and funky loads what it writes.
set -uo pipefail
mkdir -p "$TMP"
fails=0
"$PY" tests/reference/film_convert_check.py "$SRC" "$TMP" || fails=$((fails + 1))
cat >"$TMP/load.lua" <<'LUA'
local funky = require "funky"
local interp = funky.interp.load(arg[1], { device = "cpu" })
print("loads: " .. tostring(interp))
LUA
if "$FUNKY" run "$TMP/load.lua" "$TMP/film-np.safetensors"; then
  echo "ok   funky loads the converted file"
else
  echo "FAIL funky loads the converted file"; fails=$((fails + 1))
fi
if "$FUNKY" info "$TMP/film-np.safetensors" | grep -q "^loadable: every tensor present"; then
  echo "ok   funky info: a FILM file, loadable"
else
  echo "FAIL funky info on the converted file"; fails=$((fails + 1))
fi
exit $((fails > 0))
