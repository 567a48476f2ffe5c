"""The Ray actor that analyses scan batches: one per GPU (or per CPU worker), holding the
model it loaded once. Imported only where Ray is installed."""

from __future__ import annotations

from typing import Any

import ray

from lfp_desktop.scan.work import Batch, BatchOutcome, WorkerInfo, analyse_batch, this_worker


@ray.remote(concurrency_groups={"control": 1})
class ScanWorker:
    """Batches run one at a time; ``cancel`` and ``describe`` answer in their own thread
    while a batch runs, so a scan can be stopped between two optimisation steps."""

    def __init__(self, bundle: Any, device: str, threads: int):
        import torch

        if device == "cpu":
            torch.set_num_threads(max(1, threads))  # the CPUs Ray gave this actor, no more
        self._ctx = bundle.context(device)
        self._info = this_worker(str(self._ctx.generator.device))
        self._cancelled: set[str] = set()

    @ray.method(concurrency_group="control")
    def describe(self) -> WorkerInfo:
        return self._info

    @ray.method(concurrency_group="control")
    def cancel(self, token: str) -> None:
        self._cancelled.add(token)

    def run(self, batch: Batch, options: Any, token: str) -> BatchOutcome:
        return analyse_batch(self._ctx, batch, options, worker=self._info.name,
                             cancel=lambda: token in self._cancelled)
