#!/usr/bin/env bash
# The blur against scipy.ndimage.gaussian_filter (mode 'nearest').
set -euo pipefail
mkdir -p "$TMP"
"$PY" tests/reference/image_ref.py make "$TMP"
"$FUNKY" run tests/reference/image_case.lua "$TMP"
"$PY" tests/reference/image_ref.py check "$TMP"
