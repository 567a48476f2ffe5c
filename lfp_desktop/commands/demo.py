"""``lfp demo init``: build the demo registry and demo evidence (offline, seconds)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the bundled demo workspace")
    dsub = p.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    i = dsub.add_parser("init", help="create the demo registry (1000 users) and demo evidence")
    i.add_argument("--dir", type=Path, default=None, help="where to build it (default: the user data folder)")
    i.add_argument("--force", action="store_true", help="rebuild an existing demo workspace")
    i.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from lfp_desktop.demo.workspace import build_demo_workspace

    t0 = time.perf_counter()
    ws = build_demo_workspace(args.dir, force=args.force)
    n = len(ws.manifest())
    print(f"demo registry: {ws.registry_path}")
    print(f"demo evidence: {ws.evidence_dir} ({n} images, ground truth in {ws.manifest_path.name})")
    print(f"checkpoint:    {ws.checkpoint_path}")
    print(f"built in {time.perf_counter() - t0:.1f} s")
    return 0
