#!/usr/bin/env bash
# Code standards: clang-format clean, and none of the banned calls (atoi,
# sprintf, strcpy, gets) in engine code.
set -uo pipefail
mkdir -p "$TMP"
fails=0
banned=$(grep -nE '\b(atoi|sprintf|vsprintf|strcpy|gets)\s*\(' engine/*/*.c engine/*/*.h | grep -v snprintf || true)
if [ -n "$banned" ]; then echo "FAIL banned calls:"; echo "$banned"; fails=$((fails + 1)); fi
if command -v clang-format >/dev/null; then
  if ! clang-format --dry-run -Werror engine/*/*.c engine/*/*.h tests/c/*.c tests/c/*.h 2>"$TMP/fmt"; then
    echo "FAIL not clang-formatted (run: clang-format -i engine/*/*.[ch] tests/c/*.[ch]):"
    head -20 "$TMP/fmt"; fails=$((fails + 1))
  fi
else
  echo "clang-format is not installed: formatting not checked"
fi
echo "$((2 - fails)) passed, $fails failed"
[ $fails -eq 0 ]
