"""Checks models/convert_interpolator.py (run by tests/parity/film_convert.sh).

Without torch: the expected names and shapes match the golden FILM file's,
the writer's output reads back bit-exactly, and a misshapen tensor is named.
With torch: checkpoints the way users have them (a TorchScript archive, a
torch.save state dict nested under "state_dict" with "module." prefixes)
built from the golden weights convert to the same values, F32 and F16.
Usage: film_convert_check.py SRC TMP
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np

SRC, TMP = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "models"))
import convert_interpolator as conv  # noqa: E402

GOLDEN = os.path.join(SRC, "..", "shared", "golden", "film", "film-random.safetensors")
CONVERTER = os.path.join(SRC, "models", "convert_interpolator.py")
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    fails += 0 if ok else 1


def read_safetensors(path):
    """name -> (dtype string, float32 array), and the metadata."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, d in header.items():
            if name == "__metadata__":
                continue
            f.seek(base + d["data_offsets"][0])
            raw = f.read(d["data_offsets"][1] - d["data_offsets"][0])
            dt = {"F16": "<f2", "F32": "<f4"}[d["dtype"]]
            out[name] = (d["dtype"], np.frombuffer(raw, dtype=dt).astype(np.float32).reshape(d["shape"]))
        return out, header.get("__metadata__", {})


golden, _ = read_safetensors(GOLDEN)
weights = {k: v for k, (_, v) in golden.items()}
listing = [line.split("\t") for line in open(GOLDEN.replace(".safetensors", ".tensors.txt")).read().splitlines()]
want = conv.expected_tensors()
check("82 expected tensors, names and shapes as the golden listing",
      [(n, str(list(s))) for n, s in want] == [(a, b) for a, b in listing])

# the writer, without torch
out = os.path.join(TMP, "film-np.safetensors")
conv.write_safetensors(out, weights, conv.check(weights, "golden"), "f32", {"source": "golden"})
back, meta = read_safetensors(out)
check("writer: F32, values exact", all(back[n][0] == "F32" and np.array_equal(back[n][1], weights[n])
                                       for n, _ in want))
check("writer: metadata", meta.get("source") == "golden")
bad = dict(weights)
bad["fuse.output_conv.weight"] = np.zeros((4, 64, 1, 1), np.float32)
try:
    conv.check(bad, "bad.pt")
    check("a misshapen tensor is refused", False, "accepted")
except conv.ConvertError as exc:
    check("a misshapen tensor is named with both shapes",
          "'fuse.output_conv.weight' has shape [4, 64, 1, 1], expected [3, 64, 1, 1]" in str(exc), str(exc))
del bad["fuse.output_conv.weight"]
try:
    conv.check(bad, "bad.pt")
    check("a missing tensor is refused", False, "accepted")
except conv.ConvertError as exc:
    check("a missing tensor is named with its shape",
          "'fuse.output_conv.weight' [3, 64, 1, 1] is missing" in str(exc), str(exc))

try:
    import torch
except ImportError:
    torch = None
if torch is None:
    print(f"skip: {sys.executable} has no torch, so no checkpoint can be made to convert")
else:
    class Holder(torch.nn.Module):
        """Parameters under the port's dotted names; forward uses one, so
        TorchScript has a method to compile."""

        def forward(self, x):
            return x * self.fuse.output_conv.bias.sum()

    def module_of(tensors):
        root = Holder()
        for name, value in tensors.items():
            *path, leaf = name.split(".")
            m = root
            for part in path:
                if not hasattr(m, part):
                    m.add_module(part, torch.nn.Module())
                m = getattr(m, part)
            m.register_parameter(leaf, torch.nn.Parameter(torch.from_numpy(value.copy())))
        return root

    model = module_of(weights)
    script = os.path.join(TMP, "film_net.pt")
    torch.jit.save(torch.jit.script(model), script)
    nested = os.path.join(TMP, "film_state.pth")
    torch.save({"state_dict": {"module." + k: torch.from_numpy(v.copy()) for k, v in weights.items()}}, nested)
    for src, dtype in ((script, "f32"), (nested, "f32"), (script, "f16")):
        dst = os.path.join(TMP, f"conv-{os.path.basename(src)}-{dtype}.safetensors")
        r = subprocess.run([sys.executable, CONVERTER, src, dst, "--dtype", dtype, "--force"],
                           capture_output=True, text=True)
        check(f"convert {os.path.basename(src)} --dtype {dtype}", r.returncode == 0, r.stderr)
        if r.returncode:
            continue
        got, _ = read_safetensors(dst)
        # the golden weights are fp16 values, so F16 output is exact too
        check(f"{os.path.basename(src)} {dtype}: every value", set(got) == set(weights) and all(
            np.array_equal(got[n][1], weights[n]) for n in weights))
    r = subprocess.run([sys.executable, CONVERTER, script, os.path.join(TMP, "conv-film_net.pt-f32.safetensors")],
                       capture_output=True, text=True)
    check("an existing output needs --force", r.returncode == 1 and "--force" in r.stderr, r.stderr)

r = subprocess.run([sys.executable, CONVERTER, os.path.join(TMP, "nothing.pt"), os.path.join(TMP, "x.safetensors")],
                   capture_output=True, text=True)
check("a missing input: status 1, one line", r.returncode == 1 and "no such file" in r.stderr, r.stderr)
print(f"{'FAILED' if fails else 'passed'}: {fails} failures")
sys.exit(1 if fails else 0)
