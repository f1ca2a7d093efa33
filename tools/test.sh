#!/usr/bin/env bash
# Builds and tests the three configurations; the last line is ctest-style
# and a final "N passed, N failed" summary.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
export LP_NUM_THREADS=${LP_NUM_THREADS:-2}
status=0
passed=0
failed=0

run_config() { # name, cmake args..., then -- ctest args
  local dir=$1; shift
  local cm=() ct=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cm+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  ct=("$@")
  echo "=== $dir: configure and build"
  if ! cmake -S . -B "$dir" "${cm[@]}" >"$dir.cmake.log" 2>&1; then
    cat "$dir.cmake.log"; status=1; failed=$((failed + 1)); return
  fi
  if ! cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1; then
    tail -n 60 "$dir.build.log"; status=1; failed=$((failed + 1)); return
  fi
  echo "=== $dir: tests"
  local log="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "${ct[@]}") 2>&1 | tee "$log"
  local p f
  p=$(grep -oE '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$p" ]; then status=1; failed=$((failed + 1)); return; fi
  f=$(echo "$p" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+)/\1/')
  local total
  total=$(echo "$p" | sed -E 's/.*out of ([0-9]+)/\1/')
  passed=$((passed + total - f))
  failed=$((failed + f))
  [ "$f" -ne 0 ] && status=1
}

bash tools/deps.sh || exit 1
rm -rf build/tests/tmp build-luajit/tests/tmp build-asan/tests/tmp
run_config build -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_config build-luajit -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUNKY_LUAJIT=ON -- -LE "slow|heavy"
run_config build-asan -DCMAKE_BUILD_TYPE=Debug -DFUNKY_SANITIZE=address,undefined -- -LE "slow|heavy"
echo "=== fuzz: the .safetensors header parser, ${FUZZ_SECONDS:-60} s (libFuzzer, ASan, UBSan)"
mkdir -p build
if FUZZ_SECONDS=${FUZZ_SECONDS:-60} TMP="$PWD/build/fuzz" bash tests/fuzz/run.sh >build/fuzz.log 2>&1; then
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" build/fuzz.log | tail -2
  passed=$((passed + 1))
else
  tail -n 40 build/fuzz.log
  failed=$((failed + 1))
  status=1
fi
echo "total: $passed passed, $failed failed"
exit $status
