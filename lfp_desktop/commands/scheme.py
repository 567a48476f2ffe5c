"""``lfp scheme create|show``: make and inspect fingerprint schemes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lfp_desktop.commands._common import add_device, print_json
from lfp_desktop.errors import LFPError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scheme", help="create or show a fingerprint scheme")
    ssub = p.add_subparsers(dest="scheme_command", metavar="ACTION", required=True)
    c = ssub.add_parser("create", help="compute a scheme (PCA of the latents) for a checkpoint or LDM folder")
    c.add_argument("checkpoint", type=Path, help="StyleGAN2 checkpoint file, or latent diffusion model folder")
    c.add_argument("--key-len", type=int, required=True, help="key length K in bits")
    c.add_argument("--shift", type=int, default=None,
                   help="first PCA component of the key (default: d − K for StyleGAN2, 4000 for an LDM)")
    c.add_argument("--sigma", type=float, default=1.0, help="fingerprint strength σ (default 1)")
    c.add_argument("--encoding", choices=("01", "pm1"), default="01", help="bit encoding (default 01)")
    c.add_argument("--samples", type=int, default=10_000, help="latent samples for the PCA (default 10000)")
    c.add_argument("--seed", type=int, default=0)
    ldm = c.add_argument_group("latent diffusion models")
    ldm.add_argument("--repeat", type=int, default=None, help="PCA components per key bit (default 3)")
    ldm.add_argument("--ddim-steps", type=int, default=None, help="DDIM steps for z₀ (default 50)")
    ldm.add_argument("--eta", type=float, default=None, help="DDIM eta (default 0, deterministic)")
    ldm.add_argument("--components", type=int, default=None,
                     help="principal components kept (default: all up to 4096 dims, else shift + K·repeat)")
    c.add_argument("--out", type=Path, required=True)
    add_device(c)
    c.set_defaults(handler=_create)
    s = ssub.add_parser("show", help="print a scheme's metadata")
    s.add_argument("file", type=Path)
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=_show)


_LDM_ONLY = ("repeat", "ddim_steps", "eta", "components")


def _create(args: argparse.Namespace) -> int:
    from lfp_desktop.engine.checkpoint import load_model
    from lfp_desktop.engine.ldm import LDMGenerator
    from lfp_desktop.engine.scheme import create_scheme, save_scheme

    gen = load_model(args.checkpoint, device=args.device)
    if isinstance(gen, LDMGenerator):
        scheme = _create_ldm(gen, args)
    else:
        given = [f"--{n.replace('_', '-')}" for n in _LDM_ONLY if getattr(args, n) is not None]
        if given:
            raise LFPError(f"{', '.join(given)} apply to latent diffusion models only; "
                           f"{args.checkpoint} is a StyleGAN2 checkpoint")
        scheme = create_scheme(gen, key_len=args.key_len, shift=args.shift, sigma=args.sigma,
                               n_samples=args.samples, seed=args.seed, encoding=args.encoding)
    scheme = save_scheme(scheme, args.out)
    print(f"wrote {args.out} (sha256 {scheme.sha256})")
    return 0


def _given_or(value: Any, default: Any) -> Any:
    """An option's value, or the LDM default when it was not given."""
    return default if value is None else value


def _create_ldm(gen: Any, args: argparse.Namespace) -> Any:  # -> Scheme
    from lfp_desktop.engine import ldm, ldm_scheme

    pick = _given_or
    return ldm_scheme.create_ldm_scheme(
        gen, key_len=args.key_len, shift=pick(args.shift, ldm_scheme.DEFAULT_SHIFT),
        repeat=pick(args.repeat, ldm_scheme.DEFAULT_REPEAT), sigma=args.sigma, n_samples=args.samples,
        seed=args.seed, encoding=args.encoding, ddim_steps=pick(args.ddim_steps, ldm.DEFAULT_DDIM_STEPS),
        eta=pick(args.eta, ldm.DEFAULT_ETA), n_components=args.components)


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
    if meta.get("model_kind") == "ldm":
        print(f"{'repeat':18s} {meta.get('repeat', 1)}")
        print(f"{'components':18s} {meta.get('n_components', meta['latent_dim'])} kept, "
              f"residual std {meta.get('residual_std', 0.0):.4g}")
        print(f"{'model':18s} latent diffusion, {cfg.get('size')} px, latent {cfg.get('latent_shape')}, "
              f"{cfg.get('autoencoder')} autoencoder, DDIM {cfg.get('ddim_steps')} steps, eta {cfg.get('eta')}")
    elif cfg:
        print(f"{'generator':18s} {cfg.get('size')} px, style dim {cfg.get('style_dim')}, "
              f"{cfg.get('n_mlp')} mapping layers, channels {cfg.get('channels')}")
    return 0
