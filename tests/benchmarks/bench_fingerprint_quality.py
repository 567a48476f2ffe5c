"""The image cost of a fingerprint on a model: PSNR/SSIM between fingerprinted and plain
images of the same latents, and how much flipping one bit changes an image, for a range of
strengths σ and shifts S. A script, not a test.

    python tests/benchmarks/bench_fingerprint_quality.py [--checkpoint C --scheme S] \
        [--sigmas 0.6,0.8,1.0] [--shifts 80] [--key-len 48] [--encodings 01,pm1] [--n 64] [--json]
"""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 RGB images (Gaussian window 7, σ 1.5, per channel)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x):
        return cv2.GaussianBlur(x, (7, 7), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2, blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def measure(gen, scheme, n: int, seed: int = 0) -> dict:
    from lfp_desktop.engine.fingerprint import generate

    rng = np.random.default_rng(seed)
    seeds = [int(s) for s in rng.integers(0, 2 ** 31 - 1, n)]
    keys = rng.integers(0, 2, (n, scheme.key_len), dtype=np.uint8)
    plain = generate(gen, scheme, None, seeds).images
    marked = generate(gen, scheme, keys, seeds).images
    flipped_keys = keys.copy()
    bit = rng.integers(0, scheme.key_len, n)
    flipped_keys[np.arange(n), bit] ^= 1
    flipped = generate(gen, scheme, flipped_keys, seeds).images
    one_bit = np.abs(flipped.astype(np.float64) - marked).mean(axis=(1, 2, 3))
    return {
        "key_len": scheme.key_len, "shift": scheme.shift, "sigma": scheme.sigma, "encoding": scheme.encoding,
        "images": n,
        "psnr_db": float(np.mean([psnr(p, m) for p, m in zip(plain, marked)])),
        "ssim": float(np.mean([ssim(p, m) for p, m in zip(plain, marked)])),
        "mean_abs_change_grey_levels": float(np.abs(marked.astype(np.float64) - plain).mean()),
        "one_bit_mean_abs_change_grey_levels": float(one_bit.mean()),
        "one_bit_max_pixel_change_grey_levels": float(np.abs(flipped.astype(np.int16) - marked).max()),
    }


def main() -> None:
    from lfp_desktop.commands._common import add_model, load_model

    p = argparse.ArgumentParser(description=__doc__)
    add_model(p)
    p.add_argument("--sigmas", default="")
    p.add_argument("--shifts", default="")
    p.add_argument("--key-len", type=int, default=0)
    p.add_argument("--encodings", default="", help="bit encodings to compare (default: the scheme's)")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    gen, base = load_model(argparse.Namespace(**vars(args), device="cpu"))
    key_len = args.key_len or base.key_len
    sigmas = [float(s) for s in args.sigmas.split(",")] if args.sigmas else [base.sigma]
    shifts = [int(s) for s in args.shifts.split(",")] if args.shifts else [base.shift if key_len == base.key_len
                                                                           else base.latent_dim - key_len]
    encodings = args.encodings.split(",") if args.encodings else [base.encoding]
    rows = [measure(gen, base.with_layout(key_len=key_len, shift=s, sigma=g, encoding=e), args.n)
            for e in encodings for s in shifts for g in sigmas]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'K':>3} {'S':>4} {'enc':>4} {'sigma':>6} {'PSNR dB':>8} {'SSIM':>6} {'mean |Δ|':>9} {'1-bit |Δ|':>10} {'1-bit max':>10}")
    for r in rows:
        print(f"{r['key_len']:>3} {r['shift']:>4} {r['encoding']:>4} {r['sigma']:>6.2f} {r['psnr_db']:>8.2f} {r['ssim']:>6.3f} "
              f"{r['mean_abs_change_grey_levels']:>9.2f} {r['one_bit_mean_abs_change_grey_levels']:>10.3f} "
              f"{r['one_bit_max_pixel_change_grey_levels']:>10.0f}")


if __name__ == "__main__":
    main()
