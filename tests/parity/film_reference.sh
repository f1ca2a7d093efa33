#!/usr/bin/env bash
# tests/reference/film_ref.py (the torch baseline of `funky bench interp`)
# reproduces the PyTorch port's goldens, so its timings are of the same
# network. Skipped when $PY has no torch.
set -uo pipefail
G=../shared/golden/film
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "skip: $PY has no torch"
  exit 0
fi
"$PY" tests/reference/film_ref.py --weights "$G/film-random.safetensors" \
  --check "$G/film_64x64_dt050.safetensors" "$G/film_64x64_dt025.safetensors"
