"""Background threads yield the processor to the interface thread."""

from __future__ import annotations

import os
import sys
import threading

from PySide6.QtCore import QThread

BACKGROUND_NICE = 10


def lower_current_thread_priority(nice: int = BACKGROUND_NICE) -> None:
    """Make the calling (worker) thread, and the compute threads it starts later, give way to
    the interface when the processor is busy.

    On Linux niceness is per thread and inherited by threads created afterwards (such as
    PyTorch's OpenMP pool, started by the first parallel operation of the worker); elsewhere
    Qt's thread priority is used.
    """
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
            return
        except OSError:
            pass
    thread = QThread.currentThread()
    if thread is not None:
        thread.setPriority(QThread.Priority.LowPriority)
