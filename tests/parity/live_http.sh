#!/usr/bin/env bash
# funky live without a browser: the server's answers (page, state, events,
# frames, playhead, refusals), its socket on 127.0.0.1 only, reloads on a
# save by rename, unchanged saves skipped, only changed frames re-rendered,
# a broken version rejected with file:line while the last good one stays,
# and a clean stop on SIGTERM.
set -uo pipefail
mkdir -p "$TMP"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
rm -rf "$TMP/rec" "$TMP/out"; mkdir -p "$TMP/rec"
R="$TMP/rec/live.lua"
cp tests/live/recipe.lua "$R"
save() { sed "$1" "$R" >"$TMP/rec/.live.lua.swp" && mv "$TMP/rec/.live.lua.swp" "$R"; } # as editors do
"$FUNKY" live "$R" --port 0 --set from=15 --out "$TMP/out" 2>"$TMP/live.err" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/live.err" | head -1)
  [ -n "$url" ] && break
  sleep 0.1
done
check "serves on 127.0.0.1 ($url)" '[ -n "$url" ]'
port=${url##*:}
q() { curl -s "$url/state" | "$PY" -c "import json, sys; s = json.load(sys.stdin); print($1)"; }
# waits up to 10 s for a Python condition on the state
until_state() { for _ in $(seq 1 100); do [ "$(q "$1")" = True ] && return 0; sleep 0.1; done; return 1; }

check "version 1 renders all 30 frames" 'until_state "s[\"version\"] == 1 and s[\"done\"] == 30 and not s[\"busy\"]"'
check "preview size: the timeline's 96x96 fits 256, kept" '[ "$(q "s[\"width\"], s[\"height\"]")" = "96 96" ]'
hex=$(printf '%04X' "$port")
check "listens on 127.0.0.1 only" 'grep -q " 0100007F:$hex 00000000:0000 0A" /proc/net/tcp && ! grep -q " 00000000:$hex 00000000:0000 0A" /proc/net/tcp'
check "the page" 'curl -s "$url/" | grep -q "new EventSource(.\/events.)"'
check "a frame is a PNG" '[ "$(curl -s "$url/frames/000003.png" | head -c 4 | tail -c 3)" = PNG ]'
code() { curl -s -o /dev/null -w "%{http_code}" "$@"; }
check "a missing frame: 404" '[ "$(code "$url/frames/000999.png")" = 404 ]'
check "no path from the request reaches the disk: 404" '[ "$(code --path-as-is "$url/frames/../../../etc/passwd")" = 404 ] && [ "$(code "$url/frames/3.png")" = 404 ]'
check "another Host (DNS rebinding): 403" '[ "$(code -H "Host: evil.example" "$url/state")" = 403 ]'
check "GET /playhead: 405" '[ "$(code "$url/playhead?frame=2")" = 405 ]'
check "a bad playhead: 400" '[ "$(code -X POST "$url/playhead?frame=x")" = 400 ]'
check "events: the state as the first event" '{ curl -s -N --max-time 1 "$url/events" || true; } | grep -q "^data: {\"recipe\":\"live.lua\""'
check "POST /playhead moves the playhead and the strip" '[ "$(code -X POST "$url/playhead?frame=20")" = 200 ] && [ "$(q "s[\"playhead\"], s[\"strip\"][0][\"k\"]")" = "20 18" ]'
keys1=$(q '[f["key"] for f in s["strip"]]')

save 's/"rainbow"$/"fire"/'
check "a new colour scheme: version 2, only frames 15-29 rendered again" 'until_state "s[\"version\"] == 2 and not s[\"busy\"]" && [ "$(q "s[\"rendered\"], s[\"cached\"]")" = "15 15" ]'
echo "     $(grep -o "version 2: .*" "$TMP/live.err")"
check "the strip shows new keys" '[ "$(q "[f[\"key\"] for f in s[\"strip\"]]")" != "$keys1" ]'
save 's/"fire"$/"fire"/'
sleep 0.5
check "an unchanged save is skipped" '[ "$(q "s[\"version\"], s[\"attempts\"], s[\"skipped_saves\"]")" = "2 2 1" ]'

save 's/^function frame(f)$/function frame(f) x = = 1/'
check "a syntax error: rejected with file:line, version 2 stays" 'until_state "s[\"error\"] is not None and s[\"error\"][\"where\"].endswith(\"live.lua:6\") and s[\"error\"][\"kept\"] == 2 and s[\"version\"] == 2"'
check "the last good frames are still served" '[ "$(code "$url/frames/000020.png")" = 200 ] && [ "$(q "len(s[\"strip\"])")" -ge 10 ]'
save 's/x = = 1/error("boom")/'
check "an error in frame(f): rejected with file:line" 'until_state "s[\"error\"] is not None and \"live.lua:6: boom\" in s[\"error\"][\"message\"] and s[\"version\"] == 2"'
save 's/ error("boom")//; s/"fire"$/"ice"/'
check "fixed: version 3, the error gone" 'until_state "s[\"version\"] == 3 and s[\"error\"] is None and not s[\"busy\"]"'
save 's/^function frame(f)$/function frame(f) if f.index == 25 then error("late") end/'
check "an error at frame 25 only: version 4 goes live, frame 25 is named with file:line" 'until_state "s[\"version\"] == 4 and not s[\"busy\"] and s[\"failed\"] == 1 and s[\"error\"] is not None and s[\"error\"][\"frame\"] == 25 and s[\"error\"][\"where\"].endswith(\"live.lua:6\")"'

"$FUNKY" live "$R" --port "$port" 2>"$TMP/busy.err"
check "a port in use: a clear error" '[ $? -eq 1 ] && grep -q "cannot listen on 127.0.0.1:$port: .*--port 0" "$TMP/busy.err"'
bad() { "$FUNKY" live "$@" >/dev/null 2>"$TMP/bad.err"; [ $? -eq 1 ] && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ]; }
check "no recipe: one clear line, exit 1" 'bad && grep -q "give a recipe" "$TMP/bad.err"'
check "a missing recipe" 'bad "$TMP/none.lua" && grep -q "not found" "$TMP/bad.err"'
check "a bad --preview-size" 'bad "$R" --preview-size 7x7 && grep -q "expected WxH" "$TMP/bad.err"'
check "a bad --port" 'bad "$R" --port 70000 && grep -q "0..65535" "$TMP/bad.err"'
kill -TERM $pid
stopped=0
for _ in $(seq 1 30); do kill -0 $pid 2>/dev/null || { stopped=1; break; }; sleep 0.1; done
wait $pid; rc=$?
check "SIGTERM stops it cleanly (exit $rc)" '[ $stopped = 1 ] && [ $rc -eq 0 ] && grep -q "stopped by signal" "$TMP/live.err"'
check "no temporary files" '[ "$(find "$TMP/out" -name ".*tmp*" | wc -l)" -eq 0 ]'
echo "$passes passed, $fails failed"
[ $fails -eq 0 ] || sed 's/^/    /' "$TMP/live.err"
[ $fails -eq 0 ]
