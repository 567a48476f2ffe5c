"""Background threads yield the processor to the interface thread."""

from __future__ import annotations

import os
import sys
import threading

from PySide6.QtCore import QThread

BACKGROUND_NICE = 10  # niceness added to background threads, relative to the interface
MAX_NICE = 19


def background_nice(interface_nice: int, step: int = BACKGROUND_NICE) -> int:
    """Niceness for a background thread when the interface runs at ``interface_nice``: ``step``
    lower in priority, at most 19. Relative, so that the interface keeps precedence even when the
    whole application was started niced (``nice -n 10 lfp-desktop``)."""
    return min(MAX_NICE, interface_nice + max(0, step))


def lower_current_thread_priority(nice: int = BACKGROUND_NICE) -> None:
    """Make the calling (worker) thread, and the compute threads it starts later, give way to
    the interface when the processor is busy: ``nice`` steps below the niceness the thread
    started with (inherited from the interface thread), at most 19.

    On Linux niceness is per thread and inherited by threads created afterwards (such as
    PyTorch's OpenMP pool, started by the first parallel operation of the worker); elsewhere
    Qt's thread priority is used.
    """
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, background_nice(os.getpriority(os.PRIO_PROCESS, tid), nice))
            return
        except OSError:
            pass
    thread = QThread.currentThread()
    if thread is not None:
        thread.setPriority(QThread.Priority.LowPriority)
