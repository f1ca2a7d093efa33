"""The seed's per-frame image path in numpy/PIL: the baseline of `funky bench audio`.

For every video frame: rFFT of the onset window, the 90 log-spaced bins,
lightness in dB below the loudest bin, one hue per bin (colorsys), points
placed by Python's string hash (as the seed did), drawn with PIL's ImageDraw, then PIL's
GaussianBlur; scripts/funky.lua's settings. Prints one line:
  frames=N seconds=S
"""
import argparse, colorsys
import numpy as np
from numpy.fft import rfft
from scipy.io import wavfile
from PIL import Image, ImageDraw, ImageFilter


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("wav")
    ap.add_argument("--fps", type=float, default=15)
    ap.add_argument("--window", type=float, default=0.05)
    ap.add_argument("--size", type=int, nargs=2, default=(512, 512))
    ap.add_argument("--bins", type=int, default=90)
    ap.add_argument("--points", type=int, default=320)
    ap.add_argument("--floor-db", type=float, default=-48)
    ap.add_argument("--radius", type=float, default=1.5)
    ap.add_argument("--blur", type=float, default=2.0)
    ap.add_argument("--frames", type=int, default=0)
    a = ap.parse_args()
    import time
    rate, data = wavfile.read(a.wav)
    x = data.astype(np.float64)
    if data.dtype == np.int16:
        x /= 32768.0
    if x.ndim == 2:
        x = x.mean(axis=1)
    n_window = int(a.window * rate)
    bins = np.logspace(1, np.log10(n_window / 2), a.bins).astype(int)
    W, H = a.size
    n = int(len(x) * a.fps / rate)
    if a.frames:
        n = min(n, a.frames)
    t0 = time.perf_counter()
    for k in range(n):
        s = int(k * rate / a.fps)
        amps = np.abs(rfft(x[s:s + n_window], n_window))[bins]
        # lightness: dB below the frame's loudest bin, floor_db .. 0 -> 0 .. 1
        db = 20 * np.log10(np.maximum(amps, 1e-30) / max(amps.max(), 1e-30))
        amps = np.clip((db - a.floor_db) / -a.floor_db, 0, 1)
        img = Image.new("RGB", (W, H))
        draw = ImageDraw.Draw(img)
        for i, amp in enumerate(amps):
            r, g, b = colorsys.hsv_to_rgb(i / len(amps), 1.0, float(amp))
            fill = (int(r * 255), int(g * 255), int(b * 255))
            for p in range(a.points):
                h = hash(f"{i}:{p}") & 0xFFFFFFFFFFFF  # the seed hashed strings
                px, py = h % W, (h >> 24) % H
                draw.ellipse([px - a.radius, py - a.radius, px + a.radius, py + a.radius], fill=fill)
        img = img.filter(ImageFilter.GaussianBlur(radius=a.blur))
        np.asarray(img)
    print(f"frames={n} seconds={time.perf_counter() - t0:.6f}")


if __name__ == "__main__":
    main()
