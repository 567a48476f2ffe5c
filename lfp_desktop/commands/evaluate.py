"""``lfp evaluate``: the paper's attribution-accuracy protocol on a model."""

from __future__ import annotations

import argparse
import sys

from lfp_desktop.commands._common import add_device, add_model, load_model, print_json
from lfp_desktop.commands.attribute import add_attribution_options, settings_from_args
from lfp_desktop.engine.postprocess import POSTPROCESSES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="measure attribution accuracy (the paper's protocol)")
    add_model(p)
    p.add_argument("--fingerprints", type=int, default=10, help="random keys F (default 10)")
    p.add_argument("--samples", type=int, default=2, help="images per key M (default 2)")
    p.add_argument("--unfingerprinted", type=int, default=0,
                   help="also attribute this many base-model images and count false attributions")
    p.add_argument("--pictures", type=int, default=0,
                   help="also attribute this many non-generated pictures and count false attributions")
    p.add_argument("--registry-size", type=int, default=1000, help="registered keys, F of them true (default 1000)")
    p.add_argument("--postprocess", default="none", choices=POSTPROCESSES + ("all",))
    p.add_argument("--batch-images", type=int, default=8, help="images attributed together (default 8)")
    add_attribution_options(p)
    p.add_argument("--json", action="store_true")
    add_device(p)
    p.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from lfp_desktop.engine.matching import DecisionPolicy
    from lfp_desktop.evaluation import EvalPlan, evaluate

    from lfp_desktop.errors import LFPError

    counts = dict(fingerprints=(args.fingerprints, 1), samples=(args.samples, 1), pictures=(args.pictures, 0),
                  unfingerprinted=(args.unfingerprinted, 0), batch_images=(args.batch_images, 1))
    for name, (value, least) in counts.items():
        if value < least:
            raise LFPError(f"--{name.replace('_', '-')} must be at least {least}, got {value}")
    gen, scheme = load_model(args)
    pps = POSTPROCESSES if args.postprocess == "all" else (args.postprocess,)
    plan = EvalPlan(fingerprints=args.fingerprints, samples=args.samples, unfingerprinted=args.unfingerprinted,
                    pictures=args.pictures,
                    registry_size=max(args.registry_size, args.fingerprints), postprocesses=pps, seed=args.seed,
                    batch_images=args.batch_images)
    report = evaluate(gen, scheme, plan, settings=settings_from_args(args, gen),
                      policy=DecisionPolicy(target_fpr=args.fpr, statistic=args.statistic),
                      progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.json:
        print_json(report)
        return 0
    cols = ("full_key_accuracy", "bit_accuracy", "identification_accuracy", "false_attributions", "seconds_per_image")
    print(f"{'post-process':12s} " + " ".join(f"{c:>24s}" for c in cols))
    for pp, m in report.items():
        cells = [("-" if m[c] is None else f"{m[c]:.4f}" if isinstance(m[c], float) else str(m[c])) for c in cols]
        print(f"{pp:12s} " + " ".join(f"{c:>24s}" for c in cells))
    return 0
