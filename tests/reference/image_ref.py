"""Image reference: scipy's Gaussian blur for the engine's blur.

  image_ref.py make DIR    writes random 8-bit RGB PNGs (exact inputs)
  image_ref.py check DIR   compares DIR/<case>_<sigma>.raw (float32 HxWx3
                           written by image_case.lua) with
                           scipy.ndimage.gaussian_filter(img, (s, s, 0),
                           mode='nearest', truncate=4.0)
"""
import os, sys
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

CASES = [("odd", 37, 23), ("wide", 64, 48), ("tall", 9, 70)]
SIGMAS = ["0.7", "2", "3.5"]


def main():
    mode, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    if mode == "make":
        rng = np.random.default_rng(5)
        for name, w, h in CASES:
            px = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            Image.fromarray(px, "RGB").save(os.path.join(d, name + ".png"))
        with open(os.path.join(d, "cases.txt"), "w") as f:
            for name, w, h in CASES:
                for s in SIGMAS:
                    f.write(f"{name} {w} {h} {s}\n")
        return 0
    worst, failures = 0.0, 0
    for name, w, h in CASES:
        img = np.asarray(Image.open(os.path.join(d, name + ".png")).convert("RGB")).astype(np.float64) / 255
        for s in SIGMAS:
            got = np.fromfile(os.path.join(d, f"{name}_{s}.raw"), dtype="<f4").reshape(h, w, 3)
            ref = gaussian_filter(img, (float(s), float(s), 0), mode="nearest", truncate=4.0)
            err = float(np.abs(got - ref).max())
            worst = max(worst, err)
            ok = err < 1e-5
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name} {w}x{h} sigma {s}: max abs error {err:.2e}")
    print(f"worst {worst:.2e} (limit 1e-5; the issue allows 1e-3)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
