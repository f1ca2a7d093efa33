"""FILM-net in PyTorch (Debian's torch 1.13 on the CPU): the baseline of
`funky bench interp`, written from the published architecture
(google-research/frame-interpolation; the PyTorch port's tensor names),
and checked against the port's goldens before it is trusted for timing.

  film_ref.py --weights W --check GOLDEN...      relative error per golden
  film_ref.py --weights W --bench WIDTH HEIGHT [--reps N] [--threads T]
                                                  prints ms_per_frame=...
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np

LEVELS, FUSION_LEVELS, SUB_LEVELS, SPECIALIZED = 7, 5, 4, 3


def read_safetensors(path):
    """name -> float32 array (F16/F32/BF16), read with numpy only."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        raw = data[d["data_offsets"][0]:d["data_offsets"][1]]
        if d["dtype"] == "BF16":
            v = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            v = np.frombuffer(raw, {"F16": "<f2", "F32": "<f4"}[d["dtype"]]).astype(np.float32)
        out[name] = v.reshape(d["shape"])
    return out


class Film:
    def __init__(self, weights, torch):
        self.torch, self.F = torch, torch.nn.functional
        self.w = {k: torch.from_numpy(v.copy()) for k, v in weights.items()}

    def conv(self, x, name, act=True):
        w, b = self.w[name + ".weight"], self.w[name + ".bias"]
        if w.shape[2] % 2 == 0:  # even kernels: one column right, one row below
            x = self.F.pad(x, (0, 1, 0, 1))
            y = self.F.conv2d(x, w, b)
        else:
            y = self.F.conv2d(x, w, b, padding=w.shape[2] // 2)
        return self.F.leaky_relu(y, 0.2) if act else y

    def warp(self, x, flow):
        """Backward bilinear warp, border clamp: out(i, j) = x(i + fy, j + fx)."""
        n, _, h, w = x.shape
        torch = self.torch
        jj = torch.arange(w, dtype=x.dtype).reshape(1, 1, w)
        ii = torch.arange(h, dtype=x.dtype).reshape(1, h, 1)
        gx = (jj + flow[:, 0] + 0.5) * (2.0 / w) - 1.0
        gy = (ii + flow[:, 1] + 0.5) * (2.0 / h) - 1.0
        grid = torch.stack([gx, gy], dim=-1)
        return self.F.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                                  align_corners=False)

    def pyramid(self, x):
        out = [x]
        for _ in range(LEVELS - 1):
            out.append(self.F.avg_pool2d(out[-1], 2, 2))
        return out

    def features(self, pyr):
        subs = []
        for i, head in enumerate(pyr):
            depth, levels = min(LEVELS - i, SUB_LEVELS), []
            for j in range(depth):
                head = self.conv(head, f"extract.extract_sublevels.convs.{j}.0.0")
                head = self.conv(head, f"extract.extract_sublevels.convs.{j}.1.0")
                levels.append(head)
                if j < depth - 1:
                    head = self.F.avg_pool2d(head, 2, 2)
            subs.append(levels)
        return [self.torch.cat([subs[i - j][j] for j in range(min(i, SUB_LEVELS - 1) + 1)], 1)
                for i in range(LEVELS)]

    def estimate(self, level, a, b):
        name = ("predict_flow._predictor" if level >= SPECIALIZED
                else f"predict_flow._predictors.{SPECIALIZED - 1 - level}")
        x = self.torch.cat([a, b], 1)
        for i in range(4):
            x = self.conv(x, f"{name}._convs.{i}.0")
        return self.conv(x, f"{name}._convs.4.0", act=False)

    def flows(self, fa, fb):
        v = self.estimate(LEVELS - 1, fa[-1], fb[-1])
        out = [v]
        for level in range(LEVELS - 2, -1, -1):
            v = 2 * self.F.interpolate(v, size=fa[level].shape[2:], mode="bilinear",
                                       align_corners=False)
            v = v + self.estimate(level, fa[level], self.warp(fb[level], v))
            out.insert(0, v)
        return out

    def forward(self, x0, x1, dt):
        torch = self.torch
        p0, p1 = self.pyramid(x0), self.pyramid(x1)
        f0, f1 = self.features(p0), self.features(p1)
        fwd, bwd = self.flows(f0, f1), self.flows(f1, f0)
        aligned = []
        for level in range(FUSION_LEVELS):
            b, f = bwd[level] * dt, fwd[level] * (1 - dt)
            aligned.append(torch.cat([self.warp(torch.cat([p0[level], f0[level]], 1), b),
                                      self.warp(torch.cat([p1[level], f1[level]], 1), f), b, f], 1))
        net = aligned[-1]
        for level in range(FUSION_LEVELS - 2, -1, -1):
            k = FUSION_LEVELS - 2 - level
            net = self.F.interpolate(net, size=aligned[level].shape[2:], mode="nearest")
            net = self.conv(net, f"fuse.convs.{k}.0.0", act=False)
            net = self.conv(torch.cat([aligned[level], net], 1), f"fuse.convs.{k}.1.0")
            net = self.conv(net, f"fuse.convs.{k}.2.0")
        return self.conv(net, "fuse.output_conv", act=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--check", nargs="*", default=[])
    ap.add_argument("--bench", nargs=2, type=int, metavar=("WIDTH", "HEIGHT"))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print(f"film_ref.py: {sys.executable} has no torch (Debian: apt install python3-torch)",
              file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = Film(read_safetensors(args.weights), torch)
    worst = 0.0
    with torch.no_grad():
        for path in args.check:
            g = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()}
            got = model.forward(g["x0"], g["x1"], float(g["dt"].reshape(-1)[0]))
            ref = g["image"]
            err = float(torch.linalg.norm(got - ref) / torch.linalg.norm(ref))
            print(f"{os.path.basename(path)}: relative error {err:.3g}")
            worst = max(worst, err)
        if args.bench:
            w, h = args.bench
            gen = torch.Generator().manual_seed(0)
            x0 = torch.rand(1, 3, h, w, generator=gen)
            x1 = torch.roll(x0, shifts=(2, 3), dims=(2, 3))
            model.forward(x0, x1, 0.5)  # warm-up
            t0 = time.perf_counter()
            for _ in range(args.reps):
                model.forward(x0, x1, 0.5)
            ms = (time.perf_counter() - t0) / args.reps * 1e3
            print(f"ms_per_frame={ms:.1f} threads={torch.get_num_threads()}")
    return 1 if worst > 1e-4 else 0


if __name__ == "__main__":
    sys.exit(main())
