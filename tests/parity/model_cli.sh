#!/usr/bin/env bash
# funky model random and funky info MODEL: random tiny models in both
# layouts load, report their parts and parameter counts, and encode text;
# broken files are refused with exit status 1 and one clear line; an
# out-of-memory GPU too (this test opens a Vulkan device).
set -uo pipefail
mkdir -p "$TMP"
fails=0; passes=0
check() { # name, condition command...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; passes=$((passes + 1)); else echo "FAIL $name"; fails=$((fails + 1)); fi
}

rm -rf "$TMP/tiny" "$TMP/tiny.safetensors" "$TMP/tiny.json"
check "random folder" "$FUNKY" model random --family tiny --out "$TMP/tiny" --dtype f32 --seed 3
check "random single" "$FUNKY" model random --family tiny --out "$TMP/tiny.safetensors"
check "folder layout" test -f "$TMP/tiny/model_index.json" -a -f "$TMP/tiny/unet/config.json" \
  -a -f "$TMP/tiny/vae/diffusion_pytorch_model.safetensors" -a -f "$TMP/tiny/scheduler/scheduler_config.json"
check "sidecar" test -f "$TMP/tiny.json"
check "folder tokenizer = the shipped CLIP vocabulary" cmp -s "$TMP/tiny/tokenizer/merges.txt" models/clip/merges.txt
check "folder tokenizer vocab.json" "$PY" -c "import json, sys; sys.exit(json.load(open('$TMP/tiny/tokenizer/vocab.json')) != json.load(open('models/clip/vocab.json')))"
for m in "$TMP/tiny" "$TMP/tiny.safetensors"; do
  "$FUNKY" info "$m" >"$TMP/info.txt" 2>&1
  check "info $(basename "$m") loads" grep -q "loadable: every tensor present" "$TMP/info.txt"
  check "info $(basename "$m") counts" grep -qE "^\| UNet \| 684 \| 3.28M" "$TMP/info.txt"
done
check "f32 dtype" grep -q "F32 684" <("$FUNKY" info "$TMP/tiny")
check "f16 dtype" grep -q "F16 684" <("$FUNKY" info "$TMP/tiny.safetensors")
cat >"$TMP/enc.lua" <<'LUA'
local funky = require "funky"
local a = funky.sd.load(arg[1], { device = "cpu" }):encode_text("a cat", { weighting = "none" })
local s = a:stats()
assert(not s.nan and s.max > s.min, "text embedding is degenerate")
print(("ok %s %g"):format(tostring(a), s.mean))
LUA
check "encode random model" "$FUNKY" run "$TMP/enc.lua" "$TMP/tiny"

expect_fail() { # name, pattern, command...
  local name=$1 pattern=$2; shift 2
  "$@" >/dev/null 2>"$TMP/err.txt"
  local rc=$?
  if [ $rc -eq 1 ] && grep -qiE -e "$pattern" "$TMP/err.txt" && [ "$(wc -l <"$TMP/err.txt")" -eq 1 ]; then
    echo "ok   $name: $(cat "$TMP/err.txt")"; passes=$((passes + 1))
  else
    echo "FAIL $name (status $rc):"; sed 's/^/    /' "$TMP/err.txt"; fails=$((fails + 1))
  fi
}
head -c 5000 "$TMP/tiny.safetensors" >"$TMP/cut.safetensors"
expect_fail "truncated file" "cut.safetensors" "$FUNKY" info "$TMP/cut.safetensors"
expect_fail "missing model" "does not exist" "$FUNKY" info "$TMP/nothing.safetensors"
expect_fail "bad family" "sd15, sd21, tiny or rife" "$FUNKY" model random --family sdxl --out "$TMP/x"
expect_fail "no out" "is required" "$FUNKY" model random --family tiny
rm -rf "$TMP/nocfg" && cp -r "$TMP/tiny" "$TMP/nocfg" && rm "$TMP/nocfg/unet/config.json"
expect_fail "folder without unet config" "unet/config.json is missing" "$FUNKY" info "$TMP/nocfg"
sed -i 's/"layers_per_block": 2/"layers_per_block": 3/' "$TMP/tiny/unet/config.json"
"$FUNKY" info "$TMP/tiny" >"$TMP/info.txt" 2>&1; rc=$?
check "wrong config: not loadable, exit 1" test $rc -eq 1
check "wrong config: names the missing tensor" grep -q "missing: down_blocks.0.resnets.2" "$TMP/info.txt"

# an out-of-memory GPU (FUNKY_VK_MEMORY_LIMIT stands in for a small one):
# one clear line, exit 1, no frame written, also mid-render
cat >"$TMP/oom.lua" <<'LUA'
recipe { name = "oom" }
timeline { size = { 64, 64 }, fps = 15, model = params.model, steps = 2, prompt = "a cat" }
function frame(f)
  return funky.noise.field { size = f.size, amps = f.spectrum:take(funky.bins.log { count = 8 }) }
end
LUA
sed -i 's/recipe { name = "oom" }/recipe { name = "oom", params = { model = { "", type = "path" } } }/' "$TMP/oom.lua"
FUNKY_VK_MEMORY_LIMIT=4 "$FUNKY" render "$TMP/oom.lua" --set model="$TMP/tiny.safetensors" \
  --frames 0:2 --out "$TMP/oom" --quiet 2>"$TMP/oom.err"; rc=$?
check "device OOM at load: exit 1, one line" test $rc -eq 1 -a "$(wc -l <"$TMP/oom.err")" -eq 1
check "device OOM says what to do" grep -q "out of memory: render at a smaller size" "$TMP/oom.err"
check "device OOM: no frame written" test -z "$(ls "$TMP/oom/frames" 2>/dev/null)"
expect_fail "bad FUNKY_VK_MEMORY_LIMIT" "in MiB" env FUNKY_VK_MEMORY_LIMIT=lots "$FUNKY" render "$TMP/oom.lua" \
  --set model="$TMP/tiny.safetensors" --frames 0:1 --out "$TMP/oom" --quiet

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
