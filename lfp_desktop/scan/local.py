"""Scanning in this process: one worker on one device, a batch at a time."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from lfp_desktop.scan.executor import Done
from lfp_desktop.scan.model import ModelBundle
from lfp_desktop.scan.work import Batch, WorkerInfo, analyse_batch, this_worker


class LocalExecutor:
    """Loads the model once on ``device`` ('auto', 'cpu', 'cuda', 'cuda:N'); ``poll`` runs the
    waiting batch on the calling thread, so cancelling stops it between optimisation steps."""

    def __init__(self, bundle: ModelBundle, device: str = "auto"):
        self._ctx = bundle.context(device)
        self._info = this_worker(str(self._ctx.generator.device))
        self.target = f"this computer ({self._info.device})"
        self._queue: deque[Batch] = deque()
        self._options: Any = None
        self._cancel = threading.Event()

    def workers(self) -> list[WorkerInfo]:
        return [self._info]

    def begin(self, options: Any, cancel: threading.Event) -> None:
        self._options, self._cancel = options, cancel
        self._queue.clear()

    def room(self) -> int:
        return 0 if self._queue else 1

    def in_flight(self) -> int:
        return len(self._queue)

    def submit(self, batch: Batch) -> None:
        self._queue.append(batch)

    def poll(self, timeout: float) -> list[Done]:
        if not self._queue:
            return []
        batch = self._queue.popleft()
        outcome = analyse_batch(self._ctx, batch, self._options, worker=self._info.name, cancel=self._cancel.is_set)
        return [Done(batch, outcome)]

    def cancel(self) -> list[Done]:
        self._queue.clear()  # nothing runs between polls
        return []

    def close(self) -> None:
        self._queue.clear()

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
