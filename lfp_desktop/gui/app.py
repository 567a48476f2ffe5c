"""Application start-up."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from lfp_desktop import __version__


def _summary() -> str:
    from lfp_desktop.engine.scheme import load_scheme_metadata
    from lfp_desktop.resources import resource

    try:
        meta = load_scheme_metadata(resource("demo", "scheme.npz"))
    except Exception as exc:  # noqa: BLE001 - shown to the user as text
        return f"The bundled demo could not be loaded: {exc}"
    cfg = meta.get("generator_config") or {}
    return (f"Bundled demo generator: {cfg.get('size')} px StyleGAN2\n"
            f"Fingerprint scheme: {meta['key_len']}-bit keys, checkpoint {meta['checkpoint_sha256'][:16]}…")


def run(argv: Sequence[str]) -> int:
    app = QApplication.instance() or QApplication(list(argv))
    app.setApplicationName("LFP Desktop")
    window = QMainWindow()
    window.setWindowTitle(f"LFP Desktop {__version__}")
    label = QLabel(_summary())
    label.setMargin(24)
    window.setCentralWidget(label)
    window.resize(640, 360)
    window.show()
    # Smoke tests start the real entry point and ask it to quit after a moment.
    if os.environ.get("LFP_QUIT_AFTER_MS"):
        QTimer.singleShot(int(os.environ["LFP_QUIT_AFTER_MS"]), app.quit)
    return app.exec()
