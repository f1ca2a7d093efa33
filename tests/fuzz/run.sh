#!/bin/sh
# Fuzzes the .safetensors parser for ${FUZZ_SECONDS:-60} seconds with
# libFuzzer + ASan + UBSan over a copy of tests/fuzz/corpus (the committed
# seeds are never modified). Exits non-zero on any crash, leak or UB.
# Needs clang and libclang-rt-14-dev. Run from anywhere; TMP is a scratch
# folder (default: a fresh one under /tmp).
set -eu
cd "$(dirname "$0")/../.."
TMP=${TMP:-$(mktemp -d)}
mkdir -p "$TMP"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow \
  -I engine engine/models/safetensors.c engine/core/error.c engine/core/file.c \
  engine/core/hash.c engine/core/half.c tests/fuzz/fuzz_safetensors.c -o "$TMP/fuzz"
rm -rf "$TMP/corpus" "$TMP/artifacts"
mkdir -p "$TMP/corpus" "$TMP/artifacts"
cp tests/fuzz/corpus/* "$TMP/corpus/"
"$TMP/fuzz" -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$TMP/artifacts/" "$TMP/corpus"
