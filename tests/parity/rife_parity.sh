#!/usr/bin/env bash
# RIFE v4.6 (this test opens a Vulkan device) against
# tests/reference/rife_ref.py (the published IFNet in
# torch, random weights, computed here): its flownet.pkl through
# models/convert_interpolator.py, then funky.interp on the CPU and on
# Vulkan (fp32: relative error < 1e-3; fp16 storage: < 2e-2) at 3 times on
# 64x96 frames and 2 on 50x84 (padded to 64x128). Also the converter's
# answers to a flownet with unused extras and to a later RIFE. Skipped when
# $PY has no torch.
set -uo pipefail
mkdir -p "$TMP"
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "skip: $PY has no torch, so no RIFE reference can be computed"
  exit 0
fi
fails=0
step() { # name, command...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
step "reference (rife_ref.py)" "$PY" tests/reference/rife_ref.py "$TMP"
step "convert flownet.pkl (f32)" \
  "$PY" models/convert_interpolator.py --force "$TMP/flownet.pkl" "$TMP/rife.safetensors"
step "convert flownet.pkl (f16)" \
  "$PY" models/convert_interpolator.py --force --dtype f16 "$TMP/flownet.pkl" "$TMP/rife16.safetensors"
REF="$TMP/rife_ref.safetensors"
step "cpu fp32" "$FUNKY" run tests/reference/rife_case.lua "$TMP/rife.safetensors" "$REF" cpu 0 1e-3
step "vulkan fp32" "$FUNKY" run tests/reference/rife_case.lua "$TMP/rife.safetensors" "$REF" vulkan 0 1e-3
step "vulkan fp16" "$FUNKY" run tests/reference/rife_case.lua "$TMP/rife16.safetensors" "$REF" vulkan 1 2e-2

# the converter: tensors inference does not use are left out and listed; a
# later RIFE (an encoder, a fifth block) is refused by name
"$PY" - "$TMP" <<'PY' || fails=$((fails + 1))
import subprocess, sys, torch
tmp = sys.argv[1]
sd = torch.load(f"{tmp}/flownet.pkl")
conv = [sys.executable, "models/convert_interpolator.py", "--force"]
sd["module.teacher.conv0.0.0.weight"] = torch.zeros(4, 3, 3, 3)
torch.save(sd, f"{tmp}/extra.pkl")
r = subprocess.run(conv + [f"{tmp}/extra.pkl", f"{tmp}/extra.safetensors"], capture_output=True, text=True)
ok = r.returncode == 0 and "left out 1 tensors" in r.stdout and "teacher.conv0.0.0.weight" in r.stdout
print(("ok   " if ok else "FAIL ") + "unused tensors are left out and listed" + ("" if ok else ": " + r.stdout + r.stderr))
sd["module.encode.0.weight"] = torch.zeros(16, 3, 3, 3)
torch.save(sd, f"{tmp}/v47.pkl")
r = subprocess.run(conv + [f"{tmp}/v47.pkl", f"{tmp}/v47.safetensors"], capture_output=True, text=True)
ok2 = r.returncode == 1 and "only v4.6 is supported" in r.stderr
print(("ok   " if ok2 else "FAIL ") + "a later RIFE is refused" + ("" if ok2 else ": " + r.stdout + r.stderr))
del sd["module.encode.0.weight"]
sd["module.block1.conv0.0.0.weight"] = torch.zeros(64, 20, 3, 3)
torch.save(sd, f"{tmp}/shape.pkl")
r = subprocess.run(conv + [f"{tmp}/shape.pkl", f"{tmp}/shape.safetensors"], capture_output=True, text=True)
ok3 = r.returncode == 1 and "'block1.conv0.0.0.weight' has shape [64, 20, 3, 3], expected [64, 12, 3, 3]" in r.stderr
print(("ok   " if ok3 else "FAIL ") + "a misshapen tensor is named" + ("" if ok3 else ": " + r.stderr))
sys.exit(0 if ok and ok2 and ok3 else 1)
PY
exit $((fails > 0))
