"""One-off background work (preparing the demo, probing devices, exporting a report)."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from lfp_desktop.errors import LFPError


class BackgroundTask(QThread):
    """Runs ``fn()`` on its own thread; emits ``succeeded(result)`` or ``failed(message)``.

    ``fn`` must not touch widgets; the signals arrive on the thread that owns the task.
    """

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None, name: str = "lfp-task"):
        super().__init__(parent)
        self.fn = fn
        self.setObjectName(name)
        self.finished.connect(self.deleteLater)

    def run(self) -> None:  # noqa: D102 - QThread entry point
        try:
            result = self.fn()
        except LFPError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user, the application goes on
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.failed.emit(f"unexpected error ({last})")
            return
        self.succeeded.emit(result)
