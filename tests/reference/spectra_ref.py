"""The seed's audio path in numpy/scipy, as the reference for the engine.

  spectra_ref.py make DIR   writes the test songs (deterministic synthesis)
  spectra_ref.py check DIR  compares DIR/*.dump (written by spectra_dump.lua)
                            with |rfft(onset window, n_window)|[log bins]

Chunk k = samples[int(k*rate/fps) : int((k+1)*rate/fps)]; onset window =
the chunk's first int(window*rate) samples, zero-padded; bins =
np.logspace(1, log10(n_window/2), 90).astype(int). Samples are read the way
libsndfile reads them: int16 / 32768, stereo averaged.
"""
import sys, os
import numpy as np
from scipy.fft import rfft
from scipy.io import wavfile

SONGS = [  # name, rate, channels, sample type, seconds
    ("mono_f32_44k", 44100, 1, np.float32, 3.3),
    ("stereo_i16_48k", 48000, 2, np.int16, 2.9),
    ("mono_i16_22k", 22050, 1, np.int16, 2.05),
]
CONFIGS = [(fps, win) for fps in (15, 24, 30) for win in (0.05, 0.1)]


def synth(rate, channels, seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = []
    for c in range(channels):
        x = 0.3 * np.sin(2 * np.pi * (110 + 40 * c) * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
        x += 0.2 * np.sin(2 * np.pi * 1760 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
        x += 0.1 * rng.standard_normal(len(t)) * np.exp(-((t * 4) % 1) * 8)  # hats
        out.append(np.clip(x, -0.99, 0.99))
    return np.stack(out, axis=1)


def load(path, stype):
    rate, data = wavfile.read(path)
    x = data.astype(np.float64)
    if stype == np.int16:
        x /= 32768.0
    if x.ndim == 2:
        x = x.mean(axis=1)
    return rate, x


def expected(x, rate, fps, win):
    n_window = int(win * rate)
    bins = np.logspace(1, np.log10(n_window / 2), 90).astype(int)
    rows = []
    k = 0
    while True:
        s = int(k * rate / fps)
        e = int((k + 1) * rate / fps)
        if s >= len(x):
            break
        chunk = x[s:min(e, len(x))]
        if e > len(x) and len(chunk) < min(n_window, e - s):
            break
        w = chunk[:n_window]
        rows.append(np.abs(rfft(w, n_window))[bins])
        k += 1
    return bins, np.array(rows)


def main():
    mode, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    if mode == "make":
        for i, (name, rate, ch, stype, sec) in enumerate(SONGS):
            x = synth(rate, ch, sec, 100 + i)
            data = (np.round(x * 32767)).astype(np.int16) if stype == np.int16 else x.astype(np.float32)
            wavfile.write(os.path.join(d, name + ".wav"), rate, data if ch > 1 else data[:, 0])
        with open(os.path.join(d, "cases.txt"), "w") as f:
            for name, *_ in SONGS:
                for fps, win in CONFIGS:
                    f.write(f"{name} {fps} {win}\n")
        return 0
    worst = 0.0
    failures = 0
    for name, rate, ch, stype, sec in SONGS:
        r, x = load(os.path.join(d, name + ".wav"), stype)
        for fps, win in CONFIGS:
            bins, ref = expected(x, r, fps, win)
            path = os.path.join(d, f"{name}_{fps}_{win}.dump")
            with open(path) as f:
                got_bins = np.array([int(v) for v in f.readline().split()])
                got = np.array([[float(v) for v in line.split()] for line in f if line.strip()])
            if not np.array_equal(got_bins, bins):
                print(f"FAIL {name} fps {fps} window {win}: bins differ\n ref {bins}\n got {got_bins}")
                failures += 1
                continue
            if got.shape != ref.shape:
                print(f"FAIL {name} fps {fps} window {win}: {got.shape[0]} frames, reference {ref.shape[0]}")
                failures += 1
                continue
            # Relative error per frame: ||got - ref|| / ||ref||.
            norms = np.linalg.norm(ref, axis=1)
            rel = np.linalg.norm(got - ref, axis=1) / np.maximum(norms, 1e-30)
            e = float(rel.max())
            worst = max(worst, e)
            status = "ok  " if e < 1e-5 else "FAIL"
            failures += e >= 1e-5
            print(f"{status} {name:16s} fps {fps:2d} window {win:4.2f}: {ref.shape[0]:3d} frames, "
                  f"max relative error {e:.2e}")
    print(f"worst relative error {worst:.2e} (limit 1e-5)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
