#!/usr/bin/python3
"""Converts a FILM-net or RIFE v4.6 checkpoint into the .safetensors file funky loads.

Input: what users have.
- FILM, from the PyTorch port dajes/frame-interpolation-pytorch (the
  checkpoint ComfyUI ships): a TorchScript archive (film_net_fp32.pt,
  film_net_fp16.pt) or a state dict saved with torch.save (optionally nested
  under "state_dict" or "model", names optionally prefixed "module.").
- RIFE v4.6, from hzwer/Practical-RIFE: train_log/flownet.pkl, a state dict
  whose names carry DistributedDataParallel's "module." prefix.
The model is told by its tensor names (RIFE's start with "block0.").
Output: the state_dict names without prefixes and their shapes, checked
against the architecture (FILM: 7 levels, 64 filters, flow filters 32..256;
RIFE: IFNet v4.6, 4 blocks of widths 192/128/96/64), F32 by default or F16
with --dtype f16, written atomically. Tensors of a RIFE checkpoint that its
inference does not use (Practical-RIFE loads with strict=False) are left out
and listed.

Needs torch (Debian: apt install python3-torch); run it with the Python
that has it, e.g. /usr/bin/python3 models/convert_interpolator.py IN OUT.
"""
import argparse
import json
import os
import struct
import sys
import tempfile

FILTERS = 64
SUB_LEVELS = 4
SPECIALIZED = 3
FLOW_CONVS = 3
FUSION_STEPS = 4


def feat_ch(level):
    """Feature channels at a pyramid level (the cascade of sub-levels)."""
    j = min(level, SUB_LEVELS - 1)
    return FILTERS * ((2 << j) - 1)


def expected_tensors():
    """(name, shape) of every FILM-net tensor, in the port's order."""
    out = []

    def conv(name, cout, cin, k):
        out.append((name + ".weight", (cout, cin, k, k)))
        out.append((name + ".bias", (cout,)))

    for j in range(SUB_LEVELS):
        width = FILTERS << j
        conv(f"extract.extract_sublevels.convs.{j}.0.0", width, width // 2 if j else 3, 3)
        conv(f"extract.extract_sublevels.convs.{j}.1.0", width, width, 3)

    def flow(prefix, cin, width):
        for i in range(FLOW_CONVS):
            conv(f"{prefix}._convs.{i}.0", width, cin if i == 0 else width, 3)
        conv(f"{prefix}._convs.{FLOW_CONVS}.0", width // 2, width, 1)
        conv(f"{prefix}._convs.{FLOW_CONVS + 1}.0", 2, width // 2, 1)

    flow("predict_flow._predictor", 2 * feat_ch(SPECIALIZED), 32 << SPECIALIZED)
    for k in range(SPECIALIZED):  # coarse to fine
        level = SPECIALIZED - 1 - k
        flow(f"predict_flow._predictors.{k}", 2 * feat_ch(level), 32 << level)
    conv("fuse.output_conv", 3, FILTERS, 1)

    def aligned(level):
        return 2 * (3 + feat_ch(level)) + 4

    for k in range(FUSION_STEPS):
        level = FUSION_STEPS - 1 - k
        width = FILTERS << min(level, SPECIALIZED)
        cin = aligned(level + 1) if level == FUSION_STEPS - 1 else FILTERS << min(level + 1, SPECIALIZED)
        conv(f"fuse.convs.{k}.0.0", width, cin, 2)
        conv(f"fuse.convs.{k}.1.0", width, aligned(level) + width, 3)
        conv(f"fuse.convs.{k}.2.0", width, width, 3)
    return out


RIFE_WIDTHS = (192, 128, 96, 64)
RIFE_RESCONVS = 8


def rife_expected_tensors():
    """(name, shape) of every tensor RIFE v4.6's IFNet uses, in its order."""
    out = []
    for b, c in enumerate(RIFE_WIDTHS):
        cin = 7 if b == 0 else 8 + 4  # frames + time; then + mask, + flow
        for j, (cout, ci) in enumerate(((c // 2, cin), (c, c // 2))):
            out.append((f"block{b}.conv0.{j}.0.weight", (cout, ci, 3, 3)))
            out.append((f"block{b}.conv0.{j}.0.bias", (cout,)))
        for i in range(RIFE_RESCONVS):
            out.append((f"block{b}.convblock.{i}.beta", (1, c, 1, 1)))
            out.append((f"block{b}.convblock.{i}.conv.weight", (c, c, 3, 3)))
            out.append((f"block{b}.convblock.{i}.conv.bias", (c,)))
        out.append((f"block{b}.lastconv.0.weight", (c, 24, 4, 4)))  # ConvTranspose2d: [in, out, k, k]
        out.append((f"block{b}.lastconv.0.bias", (24,)))
    return out


RIFE_CONFIG = {
    "architecture": "rife_ifnet",
    "version": "4.6",
    "blocks": len(RIFE_WIDTHS),
    "scales": [8, 4, 2, 1],
    "widths": list(RIFE_WIDTHS),
}

CONFIG = {
    "architecture": "film_net",
    "pyramid_levels": 7,
    "fusion_pyramid_levels": 5,
    "specialized_levels": SPECIALIZED,
    "sub_levels": SUB_LEVELS,
    "filters": FILTERS,
    "flow_convs": [FLOW_CONVS] * 4,
    "flow_filters": [32, 64, 128, 256],
}


class ConvertError(Exception):
    pass


def load_state_dict(path):
    """The checkpoint's tensors by name, whatever way it was saved."""
    try:
        import torch
    except ImportError:
        raise ConvertError(
            f"{sys.executable} has no torch: install it (Debian: apt install python3-torch) "
            "or run this script with a Python that has it")
    try:
        module = torch.jit.load(path, map_location="cpu")
        sd = module.state_dict()
    except (RuntimeError, ValueError):
        try:
            obj = torch.load(path, map_location="cpu")
        except Exception as exc:  # torch raises many kinds for a foreign file
            raise ConvertError(f"{path}: neither TorchScript nor a torch.save checkpoint ({exc})")
        if isinstance(obj, torch.nn.Module):
            obj = obj.state_dict()
        for key in ("state_dict", "model"):
            if isinstance(obj, dict) and isinstance(obj.get(key), dict):
                obj = obj[key]
        if not isinstance(obj, dict):
            raise ConvertError(f"{path}: holds a {type(obj).__name__}, not a state dict")
        sd = obj
    tensors = {}
    for name, value in sd.items():
        if not hasattr(value, "detach"):
            continue
        for prefix in ("module.", "_orig_mod.", "model."):
            if name.startswith(prefix):
                name = name[len(prefix):]
        tensors[name] = value.detach().to("cpu").float().numpy()
    return tensors


def is_rife(tensors):
    return any(name.startswith("block0.") for name in tensors)


def rife_check(tensors, path):
    """Raises naming the first tensor that is missing or misshapen; returns
    the expected (name, shape) list and the names left out."""
    want = rife_expected_tensors()
    if any(name.startswith(("encode.", "block4.")) for name in tensors):
        raise ConvertError(f"{path}: a RIFE v4.7 or later flownet (it has an encoder or a fifth "
                           "block); only v4.6 is supported")
    for name, shape in want:
        if name not in tensors:
            raise ConvertError(f"{path}: RIFE tensor '{name}' {list(shape)} is missing; "
                               "is this Practical-RIFE v4.6's flownet.pkl?")
        got = tuple(tensors[name].shape)
        if got != shape:
            raise ConvertError(f"{path}: RIFE tensor '{name}' has shape {list(got)}, "
                               f"expected {list(shape)} (only RIFE v4.6 is supported)")
    known = {name for name, _ in want}
    return want, sorted(name for name in tensors if name not in known)


def check(tensors, path):
    """Raises naming the first tensor that is missing, misshapen or foreign."""
    want = expected_tensors()
    for name, shape in want:
        if name not in tensors:
            raise ConvertError(f"{path}: FILM tensor '{name}' {list(shape)} is missing; "
                               "is this a FILM-net checkpoint (the PyTorch port's)?")
        got = tuple(tensors[name].shape)
        if got != shape:
            raise ConvertError(f"{path}: FILM tensor '{name}' has shape {list(got)}, "
                               f"expected {list(shape)}")
    known = {name for name, _ in want}
    for name in tensors:
        if name not in known:
            raise ConvertError(f"{path}: tensor '{name}' is not part of FILM-net "
                               f"({len(want)} tensors expected, the file has {len(tensors)})")
    return want


def write_safetensors(out, tensors, order, dtype, metadata):
    """Writes through a temporary file and a rename (never a partial file)."""
    import numpy as np
    np_dtype, st_dtype = (np.float16, "F16") if dtype == "f16" else (np.float32, "F32")
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, shape in order:
        raw = np.ascontiguousarray(tensors[name], dtype=np.dtype(np_dtype).newbyteorder("<")).tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # tensor data 8-byte aligned
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".convert-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for raw in blobs:
                f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="FILM-net TorchScript (.pt) or state dict, or RIFE v4.6's flownet.pkl")
    ap.add_argument("output", help="the .safetensors file to write")
    ap.add_argument("--dtype", choices=("f32", "f16"), default="f32",
                    help="storage in the file (default f32; f16 halves it, funky computes in fp32)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing output")
    args = ap.parse_args(argv)
    try:
        if not os.path.exists(args.input):
            raise ConvertError(f"{args.input}: no such file")
        if os.path.exists(args.output) and not args.force:
            raise ConvertError(f"{args.output} exists: pass --force to overwrite it")
        tensors = load_state_dict(args.input)
        skipped = []
        if is_rife(tensors):
            model, config = "RIFE v4.6", RIFE_CONFIG
            order, skipped = rife_check(tensors, args.input)
        else:
            model, config = "FILM-net", CONFIG
            order = check(tensors, args.input)
        meta = {"config": json.dumps(config), "source": os.path.basename(args.input),
                "converter": "funky models/convert_interpolator.py"}
        write_safetensors(args.output, tensors, order, args.dtype, meta)
    except ConvertError as exc:
        print(f"convert_interpolator: {exc}", file=sys.stderr)
        return 1
    n = sum(int(tensors[name].size) for name, _ in order)
    if skipped:
        print(f"left out {len(skipped)} tensors RIFE's inference does not use: "
              + ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    print(f"wrote {args.output}: {model}, {len(order)} tensors, {n / 1e6:.1f}M parameters, "
          f"{args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
