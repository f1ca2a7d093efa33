#!/usr/bin/env bash
# Onset-window spectra against numpy/scipy (the seed's algorithm).
set -euo pipefail
mkdir -p "$TMP"
"$PY" tests/reference/spectra_ref.py make "$TMP"
"$FUNKY" run tests/reference/spectra_dump.lua "$TMP"
"$PY" tests/reference/spectra_ref.py check "$TMP"
