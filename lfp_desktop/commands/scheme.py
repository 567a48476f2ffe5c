"""``lfp scheme create|show``: make and inspect fingerprint schemes."""

from __future__ import annotations

import argparse
from pathlib import Path

from lfp_desktop.commands._common import add_device, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scheme", help="create or show a fingerprint scheme")
    ssub = p.add_subparsers(dest="scheme_command", metavar="ACTION", required=True)
    c = ssub.add_parser("create", help="compute a scheme (PCA of W) for a checkpoint")
    c.add_argument("checkpoint", type=Path)
    c.add_argument("--key-len", type=int, required=True, help="key length K in bits")
    c.add_argument("--shift", type=int, default=None, help="first PCA component of the key (default d − K)")
    c.add_argument("--sigma", type=float, default=1.0, help="fingerprint strength σ (default 1)")
    c.add_argument("--encoding", choices=("01", "pm1"), default="01", help="bit encoding (default 01)")
    c.add_argument("--samples", type=int, default=10_000, help="mapped samples for the PCA (default 10000)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", type=Path, required=True)
    add_device(c)
    c.set_defaults(handler=_create)
    s = ssub.add_parser("show", help="print a scheme's metadata")
    s.add_argument("file", type=Path)
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=_show)


def _create(args: argparse.Namespace) -> int:
    from lfp_desktop.engine.checkpoint import load_generator
    from lfp_desktop.engine.scheme import create_scheme, save_scheme

    gen = load_generator(args.checkpoint, device=args.device)
    scheme = create_scheme(gen, key_len=args.key_len, shift=args.shift, sigma=args.sigma,
                           n_samples=args.samples, seed=args.seed, encoding=args.encoding)
    scheme = save_scheme(scheme, args.out)
    print(f"wrote {args.out} (sha256 {scheme.sha256})")
    return 0


def _show(args: argparse.Namespace) -> int:
    from lfp_desktop.engine.scheme import load_scheme_metadata

    meta = load_scheme_metadata(args.file)
    if args.json:
        print_json(meta)
        return 0
    for key in ("model_kind", "key_len", "shift", "sigma", "encoding", "latent_dim", "n_samples",
                "seed", "truncation", "created_at", "checkpoint_sha256", "sha256"):
        print(f"{key:18s} {meta[key]}")
    cfg = meta.get("generator_config") or {}
    if cfg:
        print(f"{'generator':18s} {cfg.get('size')} px, style dim {cfg.get('style_dim')}, "
              f"{cfg.get('n_mlp')} mapping layers, channels {cfg.get('channels')}")
    return 0
