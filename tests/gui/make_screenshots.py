"""Screenshots of the desktop application on the bundled demo, for the README.

Not a test: a script that starts the real window with a fresh LFP home, drops one demo image,
waits for the verdict and saves ``main-window.png``, then runs a batch scan of the demo evidence
folder and saves ``batch-scan.png``. Run it under a display (or Xvfb) from the repository root:

    xvfb-run -s "-screen 0 1400x900x24" python tests/gui/make_screenshots.py --out resources/screenshots
    python tests/gui/make_screenshots.py --only scan --out resources/screenshots   # the scan alone

Attribution uses the default settings, so on a CPU the scan takes several minutes (about
15 min on 2 cores). To check that the script still works without that wait, scan a few files
with light settings (the pictures are then not for the README):

    QT_QPA_PLATFORM=offscreen python tests/gui/make_screenshots.py --only scan --scan-limit 2 --quick --out /tmp/shots
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def wait_until(cond, timeout_s: float, *, poll_ms: int = 50,  # noqa: ANN001
               message: str = "timed out waiting for the application") -> None:
    """Run the Qt event loop until ``cond()`` is true; exit with ``message`` after timeout_s."""
    from PySide6.QtCore import QEventLoop, QTimer

    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(message)
        loop = QEventLoop()
        QTimer.singleShot(poll_ms, loop.quit)
        loop.exec()


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("screenshots"), help="folder for the PNG files")
    p.add_argument("--image", default="", help="demo evidence file to show (default: the first clean one)")
    p.add_argument("--only", choices=("main", "scan"), default="", help="take only this screenshot")
    p.add_argument("--scan-limit", type=int, default=0,
                   help="scan a folder with only the first N demo evidence files (default: all of them)")
    p.add_argument("--quick", action="store_true", help="2 starts, 30 steps: checks the script, not for the README")
    return p.parse_args()


def _start(quick: bool):  # -> MainWindow
    from lfp_desktop.config import Settings, save_settings
    from lfp_desktop.gui.app import create_window

    if quick:
        save_settings(Settings(starts=2, steps=30, early_stopping=False))
    window = create_window()
    window.resize(1380, 860)
    window.show()
    window.commands.start()
    wait_until(lambda: window.inv.case is not None and window.inv.models and window.commands.demo, 600)
    return window


def _main_window_shot(window, image: str, out: Path) -> Path:  # noqa: ANN001
    ws = window.commands.demo
    name = image or next(e["file"] for e in ws.manifest() if e["kind"] == "fingerprinted"
                         and e["postprocess"] == "none")
    window.commands.add_paths([str(ws.evidence_dir / name)])
    wait_until(lambda: window.inv.records and all(r.overall_status() in ("done", "error")
                                             for r in window.inv.records.values()), 1800)
    window.evidence.select_key(next(iter(window.inv.records)))
    settle = time.monotonic() + 1.0  # let the plots and panels repaint
    wait_until(lambda: time.monotonic() > settle, 5)
    window.grab().save(str(out / "main-window.png"))
    return out / "main-window.png"


def _scan_folder(evidence_dir: Path, limit: int) -> Path:
    """The demo evidence folder, or a copy of its first ``limit`` images."""
    if limit <= 0:
        return evidence_dir
    subset = Path(tempfile.mkdtemp(prefix="lfp-scan-subset-"))
    for path in sorted(p for p in evidence_dir.iterdir() if p.suffix.lower() in (".png", ".jpg"))[:limit]:
        shutil.copy2(path, subset / path.name)
    return subset


def _scan_shot(window, limit: int, out: Path) -> Path:  # noqa: ANN001
    window.commands.scan_folder(str(_scan_folder(window.commands.demo.evidence_dir, limit)))
    dialog = window.commands.scan_dialog
    dialog.start_scan()
    wait_until(lambda: dialog.session is not None and dialog.session.is_done(), 7200)
    settle = time.monotonic() + 0.5
    wait_until(lambda: time.monotonic() > settle, 5)
    dialog.grab().save(str(out / "batch-scan.png"))
    return out / "batch-scan.png"


def main() -> int:
    args = _parse()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ["LFP_HOME"] = tempfile.mkdtemp(prefix="lfp-screens-")
    sys.path.insert(0, str(REPO))
    from PySide6.QtWidgets import QApplication

    from lfp_desktop.gui.app import app_icon

    app = QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    window = _start(args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    if args.only in ("", "main"):
        written.append(_main_window_shot(window, args.image, args.out))
    if args.only in ("", "scan"):
        written.append(_scan_shot(window, args.scan_limit, args.out))
    print("wrote " + " and ".join(str(p) for p in written))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
