#!/usr/bin/env bash
# funky live end to end in headless Chromium (Debian's chromium package;
# tools/deps.sh installs it): the page, loaded once, follows a colour-scheme
# edit on disk with new frames within the bound below, shows a syntax error
# and an error in frame(f) with file:line while keeping the last good
# frames, and resumes rendering once the recipe is fixed. Screenshots of
# each state: $TMP/shots/1-initial.png ... 5-fixed.png. Skipped (77) when
# Chromium is not installed.
set -uo pipefail
BOUND=5 # seconds from a save to every frame of the strip new on the page (measured ~0.5 s)
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
  echo "SKIP: Chromium is not installed (apt-get install chromium, or tools/deps.sh)"
  exit 77
fi
mkdir -p "$TMP"
rm -rf "$TMP/rec" "$TMP/out" "$TMP/shots"; mkdir -p "$TMP/rec" "$TMP/shots"
R="$TMP/rec/live.lua"
cp tests/live/recipe.lua "$R"
"$FUNKY" live "$R" --port 0 --out "$TMP/out" 2>"$TMP/live.err" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/live.err" | head -1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "FAIL funky live did not start"; cat "$TMP/live.err"; exit 1; }
echo "     page at $url"
timeout 90 "$PY" tests/live/page.py "$chrome" "$url/" "$R" "$TMP/shots" "$BOUND"
rc=$?
kill -TERM $pid; wait $pid
echo "     the server's log:"; sed 's/^/       /' "$TMP/live.err"
[ $rc -eq 0 ] && echo "all passed" || echo "FAIL (exit $rc)"
exit $rc
