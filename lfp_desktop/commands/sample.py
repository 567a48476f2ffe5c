"""``lfp sample``: write fingerprinted (or plain) samples as PNG with a JSON sidecar."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lfp_desktop.commands._common import add_device, add_model, load_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="generate fingerprinted images for a key")
    add_model(p)
    p.add_argument("--key", default=None, help="key bits, e.g. 0110…; omit for unfingerprinted samples")
    p.add_argument("-n", type=int, default=8, help="number of images (default 8)")
    p.add_argument("--seed", type=int, default=0, help="first sample seed; image i uses seed + i")
    p.add_argument("--truncation", type=float, default=1.0, help="StyleGAN2 truncation ψ (default 1)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    add_device(p)
    p.set_defaults(handler=_sample)


def _sample(args: argparse.Namespace) -> int:
    from PIL import Image

    from lfp_desktop.engine.fingerprint import format_bits, generate, parse_bits
    from lfp_desktop.errors import LFPError

    if args.n < 1:
        raise LFPError("-n must be at least 1")
    gen, scheme = load_model(args)
    bits = parse_bits(args.key, scheme.key_len) if args.key is not None else None
    seeds = list(range(args.seed, args.seed + args.n))
    batch = generate(gen, scheme, bits, seeds, truncation=args.truncation)
    args.out.mkdir(parents=True, exist_ok=True)
    files = []
    for img, seed in zip(batch.images, seeds):
        name = f"seed{seed:06d}.png"
        Image.fromarray(img).save(args.out / name)
        files.append({"file": name, "seed": seed})
    sidecar = {
        "key": format_bits(bits) if bits is not None else None, "fingerprinted": bits is not None,
        "truncation": args.truncation, "images": files, "scheme_sha256": scheme.sha256,
        "checkpoint_sha256": gen.sha256, "model_kind": scheme.model_kind,
    }
    (args.out / "samples.json").write_text(json.dumps(sidecar, indent=2))
    print(f"wrote {len(files)} image(s) and samples.json to {args.out}")
    return 0
