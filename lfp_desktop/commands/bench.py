"""``lfp bench attribution|matcher``: benchmarks that print figures (never tests)."""

from __future__ import annotations

import argparse
import time

import numpy as np

from lfp_desktop.commands._common import add_device, add_model, load_model, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure attribution and matching speed")
    bsub = p.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    a = bsub.add_parser("attribution", help="batched engine vs the sequential loop, and raw generator speed")
    add_model(a)
    a.add_argument("--starts", type=int, default=20)
    a.add_argument("--steps", type=int, default=50, help="steps timed for both engines (default 50)")
    a.add_argument("--images", type=int, default=1, help="images in the batched run (default 1)")
    a.add_argument("--sequential-starts", type=int, default=4,
                   help="starts actually run by the sequential loop; its time is scaled to --starts")
    a.add_argument("--json", action="store_true")
    add_device(a)
    a.set_defaults(handler=_bench_attribution)
    m = bsub.add_parser("matcher", help="nearest-key search over many random keys")
    m.add_argument("--sizes", default="1000000,10000000", help="comma-separated registry sizes")
    m.add_argument("--key-len", type=int, default=64)
    m.add_argument("--json", action="store_true")
    m.set_defaults(handler=_bench_matcher)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _bench_attribution(args: argparse.Namespace) -> int:
    import torch

    from lfp_desktop.engine.attribution import AttributionSettings, attribute
    from lfp_desktop.engine.fingerprint import generate
    from lfp_desktop.engine.reference import sequential_attribution

    gen, scheme = load_model(args)
    dev = gen.device
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2, scheme.key_len, dtype=np.uint8)
    images = list(generate(gen, scheme, key, list(range(args.images))).images)
    settings = AttributionSettings.reference(starts=args.starts, steps=args.steps)
    attribute(gen, scheme, images[:1], settings=AttributionSettings.reference(starts=args.starts, steps=3))  # warm-up
    _sync(dev)
    t0 = time.perf_counter()
    attribute(gen, scheme, images, settings=settings)
    _sync(dev)
    batched = (time.perf_counter() - t0) / len(images)
    n_seq = min(args.sequential_starts, args.starts)
    t0 = time.perf_counter()
    sequential_attribution(gen, scheme, images[0], settings=AttributionSettings.reference(starts=n_seq, steps=args.steps))
    _sync(dev)
    sequential = (time.perf_counter() - t0) * args.starts / n_seq
    # Raw generator forward+backward at the same batch, gradient w.r.t. w only.
    rows = args.starts * len(images)
    w = gen.mapping(torch.randn(rows, gen.config.style_dim, device=dev)).detach().requires_grad_(True)
    for _ in range(2):
        gen.synthesis(w).square().mean().backward()
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        gen.synthesis(w).square().mean().backward()
    _sync(dev)
    raw_step = (time.perf_counter() - t0) / args.steps
    engine_step = batched * len(images) / args.steps
    out = {
        "device": str(dev), "generator": gen.config.to_dict(), "starts": args.starts, "steps": args.steps,
        "images": len(images), "batched_seconds_per_image": batched, "sequential_seconds_per_image": sequential,
        "sequential_starts_measured": n_seq, "speedup": sequential / batched,
        "generator_fwd_bwd_seconds_per_step": raw_step, "engine_seconds_per_step": engine_step,
        "engine_efficiency": raw_step / engine_step, "torch_threads": torch.get_num_threads(),
    }
    if args.json:
        print_json(out)
    else:
        for k, v in out.items():
            if k != "generator":
                print(f"{k:36s} {v:.4g}" if isinstance(v, float) else f"{k:36s} {v}")
    return 0


def _bench_matcher(args: argparse.Namespace) -> int:
    from lfp_desktop.engine.matching import bit_weights, nearest, nearest_weighted

    rng = np.random.default_rng(0)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        packed = rng.integers(0, 256, (n, (args.key_len + 7) // 8), dtype=np.uint8)
        query = np.unpackbits(packed[n // 2])[: args.key_len].copy()
        query[:3] ^= 1
        weights = bit_weights(rng.uniform(0, 0.5, args.key_len))
        searches = {"hamming": lambda: nearest(query, packed, args.key_len),
                    "weighted": lambda: nearest_weighted(query, weights, packed, args.key_len)}
        row = {"keys": n, "packed_mb": packed.nbytes / 1e6}
        for name, search in searches.items():
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                m = search()
                times.append(time.perf_counter() - t0)
            row[f"{name}_median_ms"] = 1e3 * float(np.median(times))
            row[f"{name}_found"] = m.index == n // 2
        row["median_ms"], row["found"] = row["hamming_median_ms"], row["hamming_found"]
        rows.append(row)
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['keys']:>10d} keys ({r['packed_mb']:.0f} MB packed): Hamming {r['hamming_median_ms']:.1f} ms, "
                  f"weighted {r['weighted_median_ms']:.1f} ms  found={r['found'] and r['weighted_found']}")
    return 0
