"""Screenshots of the desktop application on the bundled demo, for the README.

Not a test: a script that starts the real window with a fresh LFP home, drops one demo image,
waits for the verdict, then runs a batch scan of the demo evidence folder, and saves
``main-window.png`` and ``batch-scan.png``. Run it under a display (or Xvfb) from the
repository root:

    xvfb-run -s "-screen 0 1400x900x24" python tests/gui/make_screenshots.py --out resources/screenshots

Attribution uses the default settings, so on a CPU the scan takes several minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _wait(cond, timeout_s: float) -> None:  # noqa: ANN001
    from PySide6.QtCore import QEventLoop, QTimer

    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the application")
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("screenshots"), help="folder for the PNG files")
    p.add_argument("--image", default="", help="demo evidence file to show (default: the first clean one)")
    args = p.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ["LFP_HOME"] = tempfile.mkdtemp(prefix="lfp-screens-")
    sys.path.insert(0, str(REPO))
    from PySide6.QtWidgets import QApplication

    from lfp_desktop.gui.app import app_icon, create_window

    app = QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    window = create_window()
    window.resize(1380, 860)
    window.show()
    window.commands.start()
    _wait(lambda: window.inv.case is not None and window.inv.models and window.commands.demo, 600)
    ws = window.commands.demo
    name = args.image or next(e["file"] for e in ws.manifest() if e["kind"] == "fingerprinted"
                                and e["postprocess"] == "none")
    window.commands.add_paths([str(ws.evidence_dir / name)])
    _wait(lambda: window.inv.records and all(r.overall_status() in ("done", "error")
                                             for r in window.inv.records.values()), 1800)
    window.evidence.select_key(next(iter(window.inv.records)))
    settle = time.monotonic() + 1.0  # let the plots and panels repaint
    _wait(lambda: time.monotonic() > settle, 5)
    args.out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out / "main-window.png"))
    window.commands.scan_folder(str(ws.evidence_dir))
    dialog = window.commands.scan_dialog
    dialog.start_scan()
    _wait(lambda: dialog.session.is_done(), 7200)
    dialog.grab().save(str(args.out / "batch-scan.png"))
    print(f"wrote {args.out / 'main-window.png'} and {args.out / 'batch-scan.png'}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
