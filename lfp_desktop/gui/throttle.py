"""Collect per-step reports on the worker thread and hand them on in batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from lfp_desktop.gui.jobs import Job, StepBatch


class StepThrottle:
    """Buffers StepReports per image; ``emit`` gets a StepBatch at most every ``interval_s``
    per image, plus a closing one (``done``), so every step arrives exactly once. The engine's
    closing report repeats the last step; when that step was already sent, the closing batch
    carries no steps, only the final state."""

    def __init__(self, job: Job, emit: Callable[[StepBatch], None], *, interval_s: float = 0.05,
                 clock: Callable[[], float] = time.monotonic):
        self.job, self.emit, self.interval_s, self.clock = job, emit, interval_s, clock
        self.max_steps = int(job.options.attribution.steps)
        self._pending: dict[int, list[Any]] = {}
        self._last: dict[int, float] = {}
        self._sent_step: dict[int, int] = {}

    def __call__(self, report: Any) -> None:
        """Engine callback: one StepReport (image_index, step, losses, best_loss, …)."""
        i = int(report.image_index)
        pending = self._pending.setdefault(i, [])
        if report.done and pending and pending[-1].step == report.step:
            pending[-1] = report  # the closing report repeats the last step's losses
        else:
            pending.append(report)
        now = self.clock()
        if report.done or now - self._last.get(i, -np.inf) >= self.interval_s:
            self._flush(i, now)

    def _flush(self, i: int, now: float) -> None:
        reports = self._pending.pop(i, [])
        if not reports:
            return
        self._last[i] = now
        last = reports[-1]
        fresh = [r for r in reports if r.step > self._sent_step.get(i, 0)]
        self._sent_step[i] = max([self._sent_step.get(i, 0)] + [r.step for r in fresh])
        starts = np.asarray(last.losses).size
        item = self.job.items[i]
        self.emit(StepBatch(
            job_id=self.job.job_id, item_id=item.item_id, model_key=self.job.model_key,
            steps=np.array([r.step for r in fresh], dtype=np.int64),
            losses=np.array([np.asarray(r.losses, dtype=np.float32) for r in fresh], dtype=np.float32).reshape(-1, starts),
            best_loss=np.array([r.best_loss for r in fresh], dtype=np.float64),
            best_start=int(last.best_start), bit_probs=np.array(last.bit_probs, dtype=np.float64),
            active_starts=int(last.active_starts), done=bool(last.done), max_steps=self.max_steps))
