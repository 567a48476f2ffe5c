"""How much of a key survives the paper's noise and blur, to first order — a quick way to
compare fingerprint layouts (K, S, σ, encoding) on a model before running `lfp evaluate`.
A script, not a test.

    python tests/benchmarks/bench_key_identifiability.py [--checkpoint C --scheme S] \
        [--layouts 48:80:1.0:01,48:80:0.75:pm1] [--n 40] [--json]

For each of n fingerprinted latents it takes the generator's Jacobian along every principal
direction of W (finite differences), blurs it with a kernel drawn as the blur post-process
draws one, removes what the free directions can explain, and reads off the standard error of
each key coordinate under Gaussian noise of a drawn std (U[0, 0.1] on the [0, 1] scale). A bit
is wrong with probability Φ(−gap / 2se), gap = σ for {0, 1} bits and 2σ for ±1 bits. Figures:
the median expected number of wrong bits, and the share of images whose expected count is
within the distance a 1 000-user registry accepts at 10⁻⁶. JPEG is left out and the bits are
treated as continuous, so the figures are pessimistic; they rank layouts, `lfp evaluate
--postprocess combo` gives the real accuracy.
"""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np


def parse_layouts(text: str) -> list[tuple[int, int, float, str]]:
    out = []
    for item in text.split(","):
        k, s, sigma, enc = item.split(":")
        out.append((int(k), int(s), float(sigma), enc))
    return out


def jacobians(gen, w, components, eps: float = 0.05) -> np.ndarray:
    """(n, d, 3, H, W): change of each image per unit step along each principal direction."""
    import torch

    pcs = torch.as_tensor(components, dtype=torch.float32)
    out = []
    with torch.no_grad():
        for row in w:
            x = gen.synthesis(torch.cat([row[None], row[None] + eps * pcs])).numpy()
            out.append((x[1:] - x[:1]) / eps)
    return np.stack(out)


def expected_wrong_bits(jac: np.ndarray, key_idx: np.ndarray, gap: float, noise_std: float,
                        kernel: int, blur_sigma: float) -> float:
    from scipy.stats import norm

    blurred = np.stack([cv2.GaussianBlur(c.transpose(1, 2, 0), (kernel, kernel), blur_sigma).transpose(2, 0, 1)
                        for c in jac])
    m = blurred.reshape(len(jac), -1).T.astype(np.float64)
    free = np.setdiff1d(np.arange(m.shape[1]), key_idx)
    q, _ = np.linalg.qr(m[:, free])
    own = m[:, key_idx] - q @ (q.T @ m[:, key_idx])
    se = np.sqrt(np.diag(np.linalg.pinv(own.T @ own))) * 2.0 * max(noise_std, 1e-3)  # images in [−1, 1]
    return float(norm.cdf(-gap / (2.0 * se)).sum())


def main() -> None:
    import torch

    from lfp_desktop.commands._common import add_model, load_model
    from lfp_desktop.engine.fingerprint import fingerprint_latents
    from lfp_desktop.engine.matching import max_attributable_distance
    from lfp_desktop.engine.postprocess import BLUR_KERNELS, BLUR_SIGMAS, NOISE_STD_MAX, odd_kernel

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model(p)
    p.add_argument("--layouts", default="", help="K:S:sigma:encoding,... (default: the scheme's own)")
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    gen, base = load_model(argparse.Namespace(**vars(args), device="cpu"))
    layouts = parse_layouts(args.layouts) if args.layouts else [(base.key_len, base.shift, base.sigma, base.encoding)]
    torch.manual_seed(args.seed)
    with torch.no_grad():
        w = gen.mapping(torch.randn(args.n, base.latent_dim))
    draws = np.random.default_rng(args.seed + 1)
    conditions = [(float(draws.uniform(0.0, NOISE_STD_MAX)), odd_kernel(int(draws.choice(BLUR_KERNELS))),
                   float(draws.choice(BLUR_SIGMAS))) for _ in range(args.n)]
    rows = []
    for key_len, shift, sigma, enc in layouts:
        scheme = base.with_layout(key_len=key_len, shift=shift, sigma=sigma, encoding=enc)
        bits = np.random.default_rng(args.seed + 2).integers(0, 2, (args.n, key_len), dtype=np.uint8)
        marked = fingerprint_latents(w, scheme, bits)
        jac = jacobians(gen, marked, base.components)
        gap = sigma * float(np.ptp(scheme.encode_bits(np.array([0, 1]))))  # between a 0 and a 1 bit
        key_idx = np.arange(shift, shift + key_len)
        wrong = np.array([expected_wrong_bits(j, key_idx, gap, *c) for j, c in zip(jac, conditions)])
        limit = max_attributable_distance(key_len, 1000, 1e-6)
        rows.append({"key_len": key_len, "shift": shift, "sigma": sigma, "encoding": enc, "images": args.n,
                     "median_expected_wrong_bits": float(np.median(wrong)), "max_accepted_distance": limit,
                     "share_within_distance": float(np.mean(wrong <= limit))})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'K':>3} {'S':>4} {'sigma':>6} {'enc':>4} {'median wrong':>13} {'limit':>6} {'share within':>13}")
    for r in rows:
        print(f"{r['key_len']:>3} {r['shift']:>4} {r['sigma']:>6.2f} {r['encoding']:>4} "
              f"{r['median_expected_wrong_bits']:>13.1f} {r['max_accepted_distance']:>6d} {r['share_within_distance']:>13.2f}")


if __name__ == "__main__":
    main()
