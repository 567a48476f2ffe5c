"""What the scan driver needs from the workers that analyse its batches."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from lfp_desktop.scan.work import Batch, BatchOutcome, WorkerInfo


@dataclass(frozen=True)
class Done:
    """A batch that came back: its ``outcome``, or None with ``failure`` saying how its
    worker was lost (the batch can be sent again)."""

    batch: Batch
    outcome: BatchOutcome | None
    failure: str = ""
    worker: str = ""  # the worker that was lost


class Executor(Protocol):
    """Runs batches on workers that each hold the model. ``room()`` says how many more
    batches it takes now; ``poll`` waits up to ``timeout`` seconds for batches to come back."""

    target: str  # where the work runs, in words

    def workers(self) -> list[WorkerInfo]: ...

    def begin(self, options: Any, cancel: threading.Event) -> None: ...

    def room(self) -> int: ...

    def in_flight(self) -> int: ...

    def submit(self, batch: Batch) -> None: ...

    def poll(self, timeout: float) -> list[Done]: ...

    def cancel(self) -> list[Done]: ...

    def close(self) -> None: ...
