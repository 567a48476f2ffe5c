"""Starting the real window on a tiny workspace, dropping files on it, waiting for work."""

from __future__ import annotations

import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from lfp_desktop.config import Settings, save_settings
from lfp_desktop.gui import window_state
from lfp_desktop.gui.jobs import ModelSpec

FINAL = ("done", "error", "cancelled")


def start_window(qtbot, settings: Settings, specs: list[ModelSpec] | None = None, *, wait_models: int = 1):  # noqa: ANN001
    """The real MainWindow with these settings and saved models, started as at launch."""
    from lfp_desktop.gui.app import create_window

    save_settings(settings)
    if specs is not None:
        window_state.save_models(specs)
    window = create_window()
    qtbot.addWidget(window)
    window.show()
    window.commands.start()
    qtbot.waitUntil(lambda: window.inv.case is not None and len(window.inv.models) >= wait_models
                    and window.inv.pool.started, timeout=30_000)
    return window


def drop_paths(window, paths: list[Path]) -> None:  # noqa: ANN001
    """Deliver the events of a real drag and drop (enter, then drop) of local files."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with warnings.catch_warnings():  # the QPoint form is the one PySide6 offers for drag events
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(200, 200), *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QDropEvent(QPointF(200, 200), *args)
    QApplication.sendEvent(window, drop)
    assert drop.isAccepted(), "the window refused the drop"


def record_by_name(window, name: str):  # noqa: ANN001, ANN201
    return next(r for r in window.inv.records.values() if r.file_name == name)


def wait_all_final(qtbot, window, count: int, timeout: int = 60_000) -> None:  # noqa: ANN001
    """Wait until ``count`` rows exist and none is queued or running."""
    qtbot.waitUntil(lambda: len(window.inv.records) >= count
                    and all(r.overall_status() in FINAL for r in window.inv.records.values()), timeout=timeout)
