"""The ``lfp`` command: a thin layer over the engine, registry, casework and reports.

Each sub-command lives in ``lfp_desktop/commands/<name>.py`` and exposes
``register(subparsers)``; its handler returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from lfp_desktop import __version__
from lfp_desktop.errors import LFPError

# Sub-command modules, in the order `lfp --help` lists them.
COMMAND_MODULES = (
    "scheme",
    "sample",
    "attribute",
    "evaluate",
    "bench",
    "demo",
    "registry",
    "case",
    "inspect",
    "report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lfp",
        description="LFP Desktop: attribute images to users of a latent-fingerprinted generator.",
    )
    parser.add_argument("--version", action="version", version=_version_text())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"lfp_desktop.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"lfp_desktop.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def _version_text() -> str:
    return f"lfp {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    # Idle OpenMP threads sleep rather than spin (set before torch is imported).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except LFPError as exc:
        print(f"lfp: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lfp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
