"""Entry point of the desktop bundle: one program, built twice as ``lfp-desktop`` (the
window) and ``lfp`` (the command line), which share the bundle's libraries.

The executable's own file name picks the face, so links and desktop launchers that pass an
unusual argv[0] still start the right one.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

CLI_NAMES = ("lfp",)


def main() -> int:
    # A frozen program must handle multiprocessing's child start-up itself.
    multiprocessing.freeze_support()
    if Path(sys.executable).stem.lower() in CLI_NAMES:
        from lfp_desktop.cli import main as cli_main

        return cli_main()
    from lfp_desktop.__main__ import main as gui_main

    return gui_main()


if __name__ == "__main__":
    sys.exit(main())
