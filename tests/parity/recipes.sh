#!/usr/bin/env bash
# Every shipped recipe renders in preview mode (no model) at a small size,
# sandboxed: all frames of a short range, no temporary files left.
set -euo pipefail
mkdir -p "$TMP"
for r in scripts/*.lua; do
  name=$(basename "$r" .lua)
  out="$TMP/$name"
  rm -rf "$out"
  "$FUNKY" render "$r" --set size=64 --frames 0:8 --no-video --quiet --out "$out" 2>"$TMP/$name.err"
  n=$(ls "$out/frames" | grep -c '^[0-9]\{6\}\.png$')
  [ "$n" -eq 8 ] || { echo "FAIL $name: $n frames"; cat "$TMP/$name.err"; exit 1; }
  [ "$(find "$out" -name '.*tmp*' | wc -l)" -eq 0 ] || { echo "FAIL $name: temporary files left"; exit 1; }
  grep -q "previews" "$TMP/$name.err" || { echo "FAIL $name: no preview notice"; cat "$TMP/$name.err"; exit 1; }
  echo "ok   $name: 8 frames"
done
