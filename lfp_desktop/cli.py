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
    "scan",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lfp",
        description="LFP Desktop: attribute images to users of a latent-fingerprinted generator.",
    )
    parser.add_argument("--version", action=_VersionAction)
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


class _VersionAction(argparse.Action):
    """``--version``: print the about text and exit; built only when asked for, because naming
    the engine device imports torch."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help=help or "show the version, engine device and library versions, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(_version_text())
        parser.exit()


def _version_text() -> str:
    """Version, engine device, library versions and the user guide (see lfp_desktop.about)."""
    from lfp_desktop.about import about_text

    return about_text()


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
