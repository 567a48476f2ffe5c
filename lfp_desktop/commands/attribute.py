"""``lfp attribute``: attribute image files and decide against registered keys."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lfp_desktop.commands._common import add_device, add_model, load_model, print_json
from lfp_desktop.engine.jpeg_grid import JpegGrid
from lfp_desktop.engine.settings import STATISTICS
from lfp_desktop.errors import LFPError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attribute", help="attribute images to registered users")
    p.add_argument("images", nargs="+", type=Path, help="image files")
    add_model(p)
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--keys", type=Path, help="CSV (name,key) or JSON ([{name, key}]) keys file")
    keys.add_argument("--registry", type=Path, help="key registry (.lfpreg SQLite file)")
    add_attribution_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON lines)")
    add_device(p)
    p.set_defaults(handler=_attribute)


def add_attribution_options(p: argparse.ArgumentParser) -> None:
    from lfp_desktop.engine.settings import AttributionSettings

    d = AttributionSettings()
    p.add_argument("--starts", type=int, default=d.starts, help=f"starts per image (default {d.starts})")
    p.add_argument("--steps", type=int, default=d.steps, help=f"maximum steps (default {d.steps})")
    p.add_argument("--loss", default=d.loss, choices=("pixel", "lpips-vgg", "lpips-alex"))
    p.add_argument("--lpips-backbone", default="", help="backbone weights file for an LPIPS loss")
    p.add_argument("--penalty", type=float, default=None,
                   help="penalty λ on free coordinates beyond ±5 std (default: 0.1 StyleGAN2, 0.005 LDM)")
    p.add_argument("--no-early-stopping", action="store_true",
                   help="run every start for every step (the reference procedure)")
    p.add_argument("--polish", type=int, default=None, metavar="N",
                   help=f"Levenberg–Marquardt steps on the best starts after Adam, pixel loss only "
                        f"(default {d.polish_iterations}; 0 = off, as with --no-early-stopping)")
    p.add_argument("--blur-radius", type=int, default=d.blur_radius, metavar="R",
                   help="fit a blur of up to R pixels in front of the loss, for evidence that was blurred, "
                        "resized or re-compressed after it was made (default 0 = off)")
    p.add_argument("--no-jpeg-model", action="store_true",
                   help="compare JPEG evidence pixel by pixel instead of through the file's quantisation grid")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--fpr", type=float, default=1e-6, help="target false-attribution probability (default 1e-6)")
    p.add_argument("--statistic", choices=STATISTICS, default="hamming",
                   help="compare decoded bits with keys by the number of differing bits (hamming, default) "
                        "or with each differing bit weighted by its confidence (weighted; its chance "
                        "probability is computed exactly)")


def settings_from_args(args: argparse.Namespace, generator: Any = None):  # -> AttributionSettings
    """Attribution settings from the options; an unset --penalty takes the default of the
    generator's kind (see :func:`lfp_desktop.engine.ldm.default_penalty`)."""
    from lfp_desktop.engine.settings import AttributionSettings

    kw: dict[str, Any] = {"starts": args.starts, "steps": args.steps, "loss": args.loss,
                          "lpips_backbone": args.lpips_backbone, "seed": args.seed,
                          "blur_radius": args.blur_radius}
    if args.no_jpeg_model:
        kw["jpeg_model"] = False
    penalty = getattr(args, "penalty", None)
    if penalty is None and generator is not None:
        from lfp_desktop.engine.ldm import default_penalty

        penalty = default_penalty(generator)
    if penalty is not None:
        kw["penalty"] = penalty
    if getattr(args, "polish", None) is not None:
        kw["polish_iterations"] = args.polish
    s = AttributionSettings.reference(**kw) if args.no_early_stopping else AttributionSettings(**kw)
    s.validate()
    return s


def read_keys_file(path: Path, key_len: int):  # -> PlainKeys
    """Keys from CSV rows ``name,key`` (header optional) or a JSON list of {name, key}."""
    from lfp_desktop.analysis import PlainKeys
    from lfp_desktop.engine.fingerprint import parse_bits

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LFPError(f"keys file {path} could not be read ({exc})") from exc
    if path.suffix.lower() == ".json":
        try:
            rows = [(str(r["name"]), str(r["key"])) for r in json.loads(text)]
        except (ValueError, KeyError, TypeError) as exc:
            raise LFPError(f"keys file {path} must be a JSON list of {{\"name\", \"key\"}} objects ({exc})") from exc
    else:
        rows = [(r[0], r[1]) for r in csv.reader(text.splitlines()) if len(r) >= 2 and r[0] != "name"]
    if not rows:
        raise LFPError(f"keys file {path} holds no keys")
    bits = []
    for line, (name, key) in enumerate(rows, 1):
        try:
            bits.append(parse_bits(key, key_len))
        except LFPError as exc:
            raise LFPError(f"{path}, entry {line} ({name}): {exc}") from exc
    return PlainKeys.from_bits(np.stack(bits), [n for n, _ in rows])


def load_images(paths: list[Path], size: int) -> list[tuple[Path, np.ndarray | None, JpegGrid | None, str | None]]:
    """(path, fitted uint8 image or None, its JPEG grid or None, error or None) for each file;
    bad files don't stop the rest."""
    from lfp_desktop.casework.intake import fit_to_resolution, read_evidence

    out = []
    for path in paths:
        try:
            ev = read_evidence(path)
            fitted, _ = fit_to_resolution(ev.rgb, size)
            out.append((path, fitted, ev.grid_for(fitted), None))
        except LFPError as exc:
            out.append((path, None, None, str(exc)))
    return out


def _attribute(args: argparse.Namespace) -> int:
    from lfp_desktop.analysis import ModelContext, analyse
    from lfp_desktop.engine.matching import DecisionPolicy

    gen, scheme = load_model(args)
    settings = settings_from_args(args, gen)
    keys, digest = None, ""
    if args.keys:
        keys = read_keys_file(args.keys, scheme.key_len)
    elif args.registry:
        from lfp_desktop.registry import Registry

        with Registry.open(args.registry, readonly=True) as reg:
            if reg.scheme_sha256 != scheme.sha256:
                raise LFPError(f"registry {args.registry} was made for scheme {reg.scheme_sha256[:16]}…, "
                               f"not the loaded scheme {scheme.sha256[:16]}…")
            keys, digest = reg.load_keys(), reg.digest()
    ctx = ModelContext(generator=gen, scheme=scheme, keys=keys, name=Path(gen.source or "model").stem,
                       registry_digest=digest)
    loaded = load_images(args.images, gen.config.size)
    good = [(p, img, grid) for p, img, grid, err in loaded if img is not None]
    analyses = dict(zip([p for p, _, _ in good],
                        analyse(ctx, [img for _, img, _ in good], settings=settings, jpeg=[g for _, _, g in good],
                                policy=DecisionPolicy(target_fpr=args.fpr, statistic=args.statistic)))) if good else {}
    failures = 0
    for path, _, _, err in loaded:
        if err is not None:
            failures += 1
            record = {"path": str(path), "error": err}
        else:
            record = {"path": str(path), **analyses[path].to_dict(arrays=False)}
        if args.json:
            print_json(record)
        else:
            _print_human(record)
    return 1 if failures == len(loaded) else 0


def _print_human(r: dict) -> None:
    if "error" in r:
        print(f"{r['path']}: ERROR {r['error']}", file=sys.stderr)
        return
    line = f"{r['path']}: {r['verdict']}"
    if r.get("user_name") is not None:
        line += (f"  nearest {r['user_name']} (d={r['hamming_distance']}/{r['key_len']}, "
                 f"p={r['p_value']:.3g}, margin {r['margin']})")
    line += f"  [{r['steps_run']} steps, {r['seconds']:.1f} s]"
    print(line)
