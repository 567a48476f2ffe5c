"""Argument helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lfp_desktop.errors import LFPError

DEMO_CHECKPOINT = ("demo", "generator.pt")
DEMO_SCHEME = ("demo", "scheme.npz")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N' (default: auto)")


def add_model(parser: argparse.ArgumentParser, *, scheme: bool = True) -> None:
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="generator checkpoint (.pt or .pkl) or latent diffusion model folder; default: the bundled demo model")
    if scheme:
        parser.add_argument("--scheme", type=Path, default=None,
                            help="fingerprint scheme file; default: the bundled demo scheme")


def demo_paths() -> tuple[Path, Path]:
    from lfp_desktop.resources import resource

    return resource(*DEMO_CHECKPOINT), resource(*DEMO_SCHEME)


def model_paths(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """(checkpoint, scheme) from the arguments, the bundled demo filling what is missing."""
    ckpt, scheme = args.checkpoint, getattr(args, "scheme", None)
    if ckpt is None or (scheme is None and hasattr(args, "scheme")):
        demo_ckpt, demo_scheme = demo_paths()
        if ckpt is None:
            if scheme is not None:
                raise LFPError("--scheme was given without --checkpoint; give both, or neither for the demo")
            ckpt, scheme = demo_ckpt, demo_scheme
        elif scheme is None and hasattr(args, "scheme"):
            raise LFPError("--checkpoint was given without --scheme; give the scheme made for it "
                           "('lfp scheme create' makes one)")
    return ckpt, scheme


def load_model(args: argparse.Namespace) -> tuple[Any, Any]:
    """Load the generator and its scheme (hash-checked) named by the arguments."""
    from lfp_desktop.engine.checkpoint import load_generator
    from lfp_desktop.engine.scheme import load_scheme

    ckpt, scheme_path = model_paths(args)
    gen = load_generator(ckpt, device=args.device)
    scheme = load_scheme(scheme_path, checkpoint_sha256=gen.sha256) if scheme_path else None
    return gen, scheme


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=_json_default)
    sys.stdout.write("\n")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")
