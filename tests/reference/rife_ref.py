#!/usr/bin/python3
"""RIFE v4.6 (Practical-RIFE's IFNet_HDv3 of the 4.6 release) in torch, written
from the published architecture, for parity tests on random weights.

The network (scale 1.0, no ensemble, what Practical-RIFE's inference runs):
- 4 IFBlocks at scales 8, 4, 2, 1 with widths 192, 128, 96, 64; block 0 sees
  both frames and the timestep plane (7 channels), the others the frames
  warped so far, the timestep, the mask so far (8) and the flow so far (4);
- each block: its input resized by 1/scale (bilinear, align_corners False,
  the flow also divided by scale), two 3x3 stride-2 convs with LeakyReLU 0.2,
  8 ResConvs (LeakyReLU(conv(x) * beta + x)), ConvTranspose2d(c, 24, 4, 2, 1)
  and PixelShuffle(2), resized back by scale; channels 0-3 times scale are
  the flow update, channel 4 the mask update (channel 5 is unused);
- flow and mask accumulate over the blocks; both frames are backward-warped
  (grid_sample, bilinear, border padding, align_corners True) by their half
  of the flow; the result is w0 * sigmoid(mask) + w1 * (1 - sigmoid(mask)).
Frames of any size are padded with zeros right and below to a multiple of
`align` (Practical-RIFE's inference) and the output is cropped back.

Sources: Practical-RIFE's model/warplayer.py and inference_img.py /
inference_video.py (padding). The 4.6 train_log/IFNet_HDv3.py ships in the
model zip, not in the git repository, so the block details (ResConv with
beta, 4*6 transpose-conv outputs with PixelShuffle, resizing back by scale,
the mask accumulated) were checked against two independent ports that agree:
HolyWu/vs-rife's IFNet_HDv3_v4_6.py and ComfyUI-Frame-Interpolation's
rife_arch.py at arch_ver "4.6". Other 4.x differ: 4.0-4.3 have 8 plain convs
(4.0 with an outer residual) and ConvTranspose2d(c, 5, 4, 2, 1) resized by
2 * scale, 4.5 has 4*5 transpose-conv outputs, 4.7 and later an encoder.

Usage: rife_ref.py OUT_DIR [--seed N]
writes OUT_DIR/flownet.pkl (a state dict with "module." prefixes, as
Practical-RIFE's train_log ships it) and OUT_DIR/rife_ref.safetensors with,
per case k: case{k}_x0, case{k}_x1 ([1, 3, H, W]), case{k}_t (the times),
case{k}_align, and case{k}_out{i} (the raw output at time t[i]).

  rife_ref.py --weights W --bench WIDTH HEIGHT [--reps N] [--threads T]
times the network on W (a .safetensors file with funky's names) at t = 0.5
on WIDTH x HEIGHT frames (multiples of 32: the padded size), warm-up
excluded, and prints ms_per_frame=... (the baseline of `funky bench interp`).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LEAK = 0.2
WIDTHS = (192, 128, 96, 64)
SCALES = (8, 4, 2, 1)
CASES = (  # (height, width, align, times)
    (64, 96, 32, (0.5, 0.25, 0.8)),
    (50, 84, 64, (0.5, 0.3)),
)


class ResConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, c, 1, 1)))

    def forward(self, x):
        return F.leaky_relu(self.conv(x) * self.beta + x, LEAK)


def conv_act(cin, cout):
    # Practical-RIFE's conv(): Conv2d then LeakyReLU, inside a Sequential,
    # so the weight is named "<i>.0.weight"
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.LeakyReLU(LEAK))


class IFBlock(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.conv0 = nn.Sequential(conv_act(cin, c // 2), conv_act(c // 2, c))
        self.convblock = nn.Sequential(*[ResConv(c) for _ in range(8)])
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(c, 24, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x, flow, scale):
        x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear",
                                 align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        y = self.lastconv(self.convblock(self.conv0(x)))
        y = F.interpolate(y, scale_factor=scale, mode="bilinear", align_corners=False)
        return y[:, :4] * scale, y[:, 4:5]


def warp(img, flow):
    """Backward warp by a pixel flow: grid_sample, border, align_corners True."""
    n, _, h, w = img.shape
    gx = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(n, 1, h, w)
    gy = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(n, 1, h, w)
    grid = torch.cat((gx + flow[:, 0:1] / ((w - 1.0) / 2.0),
                      gy + flow[:, 1:2] / ((h - 1.0) / 2.0)), 1).permute(0, 2, 3, 1)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)


class IFNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block0 = IFBlock(7, WIDTHS[0])
        self.block1 = IFBlock(8 + 4, WIDTHS[1])
        self.block2 = IFBlock(8 + 4, WIDTHS[2])
        self.block3 = IFBlock(8 + 4, WIDTHS[3])

    def forward(self, img0, img1, t):
        tp = torch.full_like(img0[:, :1], t)
        blocks = (self.block0, self.block1, self.block2, self.block3)
        flow = mask = None
        w0, w1 = img0, img1
        for blk, s in zip(blocks, SCALES):
            if flow is None:
                flow, mask = blk(torch.cat((img0, img1, tp), 1), None, s)
            else:
                df, dm = blk(torch.cat((w0, w1, tp, mask), 1), flow, s)
                flow, mask = flow + df, mask + dm
            w0 = warp(img0, flow[:, :2])
            w1 = warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return w0 * m + w1 * (1 - m)


def randomize(net, gen):
    """Random weights whose activations neither vanish nor explode: He-scaled
    convs, ResConv betas in [0.2, 0.6] (the residual path dominates, as in a
    trained net), the last layer scaled so flows are a few pixels and the
    mask logits of order one (non-trivial warps and blends)."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("beta"):
                p.copy_(0.2 + 0.4 * torch.rand(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                if "lastconv" in name:
                    fan_in = p.shape[0] * 4  # a 4x4 stride-2 transpose sums about 4 taps per input
                    std = 0.5 / np.sqrt(fan_in)
                elif "convblock" in name:
                    std = 0.5 * np.sqrt(2.0 / fan_in)
                else:
                    std = np.sqrt(2.0 / fan_in)
                p.copy_(std * torch.randn(p.shape, generator=gen))


def frames(h, w, gen):
    """Two smooth random frames in [0, 1], the second a shifted variant of the
    first plus its own detail: something for the flows to find."""
    base = torch.rand((1, 3, h // 8 + 3, w // 8 + 3), generator=gen)
    big = F.interpolate(base, size=(h + 16, w + 16), mode="bicubic", align_corners=False)
    detail = F.interpolate(torch.rand((1, 3, h // 2, w // 2), generator=gen), size=(h, w),
                           mode="bilinear", align_corners=False)
    x0 = big[:, :, 4:4 + h, 4:4 + w] * 0.8 + 0.2 * detail
    x1 = big[:, :, 7:7 + h, 6:6 + w] * 0.8 + 0.2 * detail.roll(2, 3)
    return x0.clamp(0, 1), x1.clamp(0, 1)


def between(net, x0, x1, t, align):
    """Practical-RIFE's inference: pad right and below to a multiple of align,
    run, crop back."""
    _, _, h, w = x0.shape
    ph, pw = (h + align - 1) // align * align, (w + align - 1) // align * align
    pad = (0, pw - w, 0, ph - h)
    return net(F.pad(x0, pad), F.pad(x1, pad), t)[:, :, :h, :w]


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


def bench(args):
    """ms per frame at t = 0.5 on the weights of a funky .safetensors file."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from film_ref import read_safetensors  # numpy only: one reader for both

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    net = IFNet().eval()
    sd = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(args.weights).items()}
    net.load_state_dict(sd)
    w, h = args.bench
    if w % 32 or h % 32:
        print(f"rife_ref.py: --bench {w} {h}: sides must be multiples of 32 (the padded size)",
              file=sys.stderr)
        return 1
    gen = torch.Generator().manual_seed(0)
    x0, x1 = frames(h, w, gen)
    net(x0, x1, 0.5)  # warm-up
    t0 = time.perf_counter()
    for _ in range(args.reps):
        net(x0, x1, 0.5)
    ms = (time.perf_counter() - t0) / args.reps * 1e3
    print(f"ms_per_frame={ms:.1f} threads={torch.get_num_threads()}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--weights")
    ap.add_argument("--bench", nargs=2, type=int, metavar=("WIDTH", "HEIGHT"))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    if args.bench:
        if not args.weights:
            ap.error("--bench needs --weights FILE.safetensors")
        return bench(args)
    if not args.out_dir:
        ap.error("give OUT_DIR (parity data) or --weights W --bench WIDTH HEIGHT (timing)")
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(args.seed)
    net = IFNet().eval()
    randomize(net, gen)
    os.makedirs(args.out_dir, exist_ok=True)
    sd = {"module." + k: v.clone() for k, v in net.state_dict().items()}
    torch.save(sd, os.path.join(args.out_dir, "flownet.pkl"))
    out = {}
    for k, (h, w, align, times) in enumerate(CASES):
        x0, x1 = frames(h, w, gen)
        out[f"case{k}_x0"] = x0.numpy()
        out[f"case{k}_x1"] = x1.numpy()
        out[f"case{k}_t"] = np.array(times, dtype=np.float32)
        out[f"case{k}_align"] = np.array([align], dtype=np.float32)
        for i, t in enumerate(times):
            y = between(net, x0, x1, t, align)
            out[f"case{k}_out{i}"] = y.numpy()
            d = (y - x0).abs().mean().item()
            print(f"case {k} {h}x{w} t={t}: output mean {y.mean().item():.4f}, "
                  f"mean |out - x0| {d:.4f}")
    write_safetensors(os.path.join(args.out_dir, "rife_ref.safetensors"), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
