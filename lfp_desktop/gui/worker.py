"""A device worker: owns the models loaded on one device and runs jobs on its own thread.

Signals carry plain data (ModelInfo, StepBatch, ItemOutcome, text), never tensors.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from lfp_desktop.errors import LFPError
from lfp_desktop.gui.heap import freeze_long_lived
from lfp_desktop.gui.jobs import ItemOutcome, Job, ModelSpec
from lfp_desktop.gui.priority import lower_current_thread_priority
from lfp_desktop.gui.throttle import StepThrottle


class DeviceWorker(QObject):
    """Lives on a QThread; slots are invoked through queued signals from the pool."""

    model_loaded = Signal(str, object)  # device, ModelInfo
    model_load_failed = Signal(str, object, str)  # device, ModelSpec, message
    started = Signal(int)  # job id
    step_reported = Signal(object)  # StepBatch
    finished = Signal(int, object)  # job id, list[ItemOutcome]
    errored = Signal(int, str)  # job id, message
    cancelled = Signal(int)  # job id

    def __init__(self, device: str):
        super().__init__()
        self.device = device
        self._models: dict[str, Any] = {}  # model key -> ModelContext on this device

    @Slot()
    def begin(self) -> None:
        """First call on the worker's thread (connected to QThread.started): lower its priority
        and import the engine now, while the window opens, rather than during the first analysis
        (loading compiled modules holds the interpreter lock for a long moment); then take the
        imported objects out of the garbage collector's full passes."""
        lower_current_thread_priority()
        import lfp_desktop.analysis  # noqa: F401
        from lfp_desktop.engine.attribution import latin_hypercube

        latin_hypercube(2, 2, 0)
        freeze_long_lived()

    @Slot(object)
    def load_model(self, spec: ModelSpec) -> None:
        from lfp_desktop.gui.loading import load_model_pair

        try:
            ctx, info = load_model_pair(spec, self.device)
        except LFPError as exc:
            self.model_load_failed.emit(self.device, spec, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - any failure is reported, the worker lives on
            self.model_load_failed.emit(self.device, spec, _unexpected(exc))
            return
        self._models[spec.key] = ctx
        freeze_long_lived()  # the model's modules and keys stay for the session
        self.model_loaded.emit(self.device, info)

    @Slot(str)
    def unload_model(self, key: str) -> None:
        self._models.pop(key, None)

    @Slot(object, object)
    def run_job(self, job: Job, cancel: threading.Event) -> None:
        from lfp_desktop.analysis import analyse
        from lfp_desktop.engine.ldm import with_model_penalty
        from lfp_desktop.engine.attribution import AttributionCancelled

        self.started.emit(job.job_id)
        ctx = self._models.get(job.model_key)
        if ctx is None:
            self.errored.emit(job.job_id, "the model of this job is no longer loaded; load it again")
            return
        throttle = StepThrottle(job, self.step_reported.emit)
        try:
            analyses = analyse(ctx, [w.image for w in job.items],
                               settings=with_model_penalty(job.options.attribution, ctx.generator),
                               policy=job.options.policy, callback=throttle, cancel=cancel,
                               jpeg=[w.jpeg_grid for w in job.items])
        except AttributionCancelled:
            self.cancelled.emit(job.job_id)
            return
        except LFPError as exc:
            self.errored.emit(job.job_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - reported on the items, the worker lives on
            self.errored.emit(job.job_id, _unexpected(exc))
            return
        self.finished.emit(job.job_id, [_outcome(ctx, w, a) for w, a in zip(job.items, analyses)])


def _outcome(ctx: Any, item: Any, analysis: Any) -> ItemOutcome:
    res = analysis.attribution
    matched = None
    if analysis.decision is not None and analysis.decision.match.index >= 0:
        packed = ctx.keys.packed[analysis.decision.match.index]
        matched = np.unpackbits(packed)[:ctx.keys.key_len].astype(np.uint8)
    return ItemOutcome(item_id=item.item_id, model_key=item.model_key, model_name=analysis.model_name,
                       record=analysis.to_dict(arrays=True), image=item.image, reconstruction=res.reconstruction,
                       loss_curves=res.loss_curves, bit_probs=res.bit_probs, bits=res.bits, matched_bits=matched,
                       winning_start=int(res.winning_start))


def _unexpected(exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return f"unexpected error ({last}); please report it with the log"
