"""Application start-up: ``run(argv)`` is the entry point of ``lfp-desktop``."""

from __future__ import annotations

import os
from collections.abc import Sequence

QUIT_ENV = "LFP_QUIT_AFTER_MS"


def run(argv: Sequence[str]) -> int:
    """Start the window and the event loop; returns the exit status.

    ``$LFP_QUIT_AFTER_MS`` quits after that many milliseconds (used by smoke tests).
    """
    # Idle OpenMP threads must sleep, or workers spinning between steps starve the interface.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from lfp_desktop import __version__

    app = QApplication.instance() or QApplication(list(argv))
    app.setApplicationName("LFP Desktop")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("lfp-desktop")
    app.setWindowIcon(app_icon())
    window = create_window()
    window.show()
    window.commands.start()
    if os.environ.get(QUIT_ENV):
        QTimer.singleShot(int(os.environ[QUIT_ENV]), window.close)
    return app.exec()


def app_icon():  # -> QIcon
    """The application icon from resources/icons (an empty icon when they are missing)."""
    from PySide6.QtGui import QIcon

    from lfp_desktop.resources import resource

    icon = QIcon()
    try:
        for px in (16, 32, 48, 64, 128, 256):
            path = resource("icons", f"lfp-desktop-{px}.png")
            if path.is_file():
                icon.addFile(str(path))
    except FileNotFoundError:
        pass
    return icon


def create_window():  # -> MainWindow
    """The main window with the user's settings (defaults when the settings file is unusable)."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from lfp_desktop.audit import default_actor
    from lfp_desktop.config import Settings, SettingsError, load_settings
    from lfp_desktop.gui.heap import freeze_long_lived
    from lfp_desktop.gui.main_window import MainWindow
    from lfp_desktop.gui.theme import apply_theme

    # Antialiased curves cost several times more to paint in software; live plots stay sharp enough.
    pg.setConfigOptions(antialias=False, background="w", foreground="#334155")
    apply_theme(QApplication.instance())
    problem = ""
    try:
        settings = load_settings()
    except SettingsError as exc:
        settings, problem = Settings(), str(exc)
    window = MainWindow(settings, default_actor())
    if problem:
        window.log.append("error", f"{problem}; the default settings are used until they are saved again")
    freeze_long_lived(full=True)  # Qt, pyqtgraph and the window live as long as the session
    return window
