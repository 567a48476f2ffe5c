"""``python -m lfp_desktop`` / ``lfp-desktop``: start the desktop application."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    # Idle OpenMP threads sleep rather than spin, so the interface stays responsive.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from lfp_desktop.gui.app import run  # Qt is imported only here

    return run(sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
