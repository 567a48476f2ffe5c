"""The worker pool: one DeviceWorker thread per device, a queue of images, batching,
cancellation. Lives on the interface thread and never runs torch itself."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from lfp_desktop.gui.jobs import ItemOutcome, Job, ModelInfo, ModelSpec, WorkItem, next_job_id
from lfp_desktop.gui.worker import DeviceWorker


class _Commands(QObject):
    """Queued signals into one worker's thread."""

    load = Signal(object)
    unload = Signal(str)
    run = Signal(object, object)


@dataclass
class _Slot:
    worker: DeviceWorker
    thread: QThread
    commands: _Commands
    models: set[str] = field(default_factory=set)
    job: Job | None = None
    cancel: threading.Event | None = None


@dataclass
class _PendingLoad:
    spec: ModelSpec
    waiting: set[int]
    infos: list[ModelInfo] = field(default_factory=list)
    error: str = ""


class WorkerPool(QObject):
    """Queue of WorkItems dispatched as Jobs of up to ``batch_size`` images per device."""

    model_loaded = Signal(object)  # ModelInfo
    model_load_failed = Signal(object, str)  # ModelSpec, message
    item_queued = Signal(str, str)  # item id, model key
    item_started = Signal(str, str)
    step_reported = Signal(object)  # StepBatch
    item_finished = Signal(object)  # ItemOutcome
    item_failed = Signal(str, str, str)  # item id, model key, message
    item_cancelled = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, batch_size: int = 4, coalesce_ms: int = 60):
        super().__init__(parent)
        self.batch_size = batch_size
        self._slots: list[_Slot] = []
        self._queue: deque[WorkItem] = deque()
        self._loads: dict[str, _PendingLoad] = {}
        self._specs: dict[str, ModelSpec] = {}  # every model asked for, to reload on restart
        self._drop: set[str] = set()  # item ids whose cancellation was asked while running
        self._busy = False
        self._timer = QTimer(self, singleShot=True, interval=coalesce_ms)
        self._timer.timeout.connect(self._dispatch)

    # -- workers ---------------------------------------------------------------------------
    @property
    def devices(self) -> list[str]:
        return [s.worker.device for s in self._slots]

    @property
    def started(self) -> bool:
        return bool(self._slots)

    def start(self, devices: list[str]) -> None:
        """Start one worker per entry of ``devices`` (replacing running ones) and load every
        model asked for so far on each."""
        self.stop()
        for device in devices:
            self._slots.append(self._make_slot(device))
        for spec in self._specs.values():
            self._begin_load(spec)

    def _make_slot(self, device: str) -> _Slot:
        worker, thread, commands = DeviceWorker(device), QThread(self), _Commands()
        thread.setObjectName(f"lfp-worker-{device}")
        worker.moveToThread(thread)
        commands.load.connect(worker.load_model)
        commands.unload.connect(worker.unload_model)
        commands.run.connect(worker.run_job)
        worker.model_loaded.connect(self._on_loaded)
        worker.model_load_failed.connect(self._on_load_failed)
        worker.step_reported.connect(self.step_reported)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_errored)
        worker.cancelled.connect(self._on_cancelled)
        worker.started.connect(self._on_started)
        thread.started.connect(worker.begin)
        thread.finished.connect(worker.deleteLater)
        thread.start()
        return _Slot(worker, thread, commands)

    def stop(self, timeout_ms: int = 10_000) -> None:
        """Cancel running jobs (their items go back to the queue) and stop every worker."""
        for slot in self._slots:
            if slot.job is not None:
                self._queue.extendleft(reversed(slot.job.items))
                slot.cancel.set()
            slot.thread.quit()
        for slot in self._slots:
            slot.thread.wait(timeout_ms)
        self._slots.clear()
        self._loads.clear()
        self._set_busy(bool(self._queue))

    # -- models ----------------------------------------------------------------------------
    def load_model(self, spec: ModelSpec) -> None:
        """Load a pair on every worker; ends with model_loaded or model_load_failed."""
        self._specs.setdefault(spec.key, spec)
        if self._slots:
            self._begin_load(spec)

    def _begin_load(self, spec: ModelSpec) -> None:
        self._loads[spec.key] = _PendingLoad(spec, set(range(len(self._slots))))
        for slot in self._slots:
            slot.commands.load.emit(spec)

    def unload_model(self, key: str) -> None:
        """Forget a model: its queued items are cancelled, workers drop it."""
        self._specs.pop(key, None)
        for w in [w for w in self._queue if w.model_key == key]:
            self._queue.remove(w)
            self.item_cancelled.emit(w.item_id, key)
        for slot in self._slots:
            if slot.job is not None and slot.job.model_key == key:
                self._drop.update(slot.job.item_ids)
                slot.cancel.set()
            slot.models.discard(key)
            slot.commands.unload.emit(key)

    def _slot_of(self, worker: QObject) -> int:
        return next(i for i, s in enumerate(self._slots) if s.worker is worker)

    def _on_loaded(self, device: str, info: ModelInfo) -> None:
        i = self._slot_of(self.sender())
        pending = self._loads.get(info.key)
        if pending is None or info.key not in self._specs:
            self._slots[i].commands.unload.emit(info.key)
            return
        self._slots[i].models.add(info.key)
        pending.infos.append(info)
        self._settle_load(pending, i)

    def _on_load_failed(self, device: str, spec: ModelSpec, message: str) -> None:
        pending = self._loads.get(spec.key)
        if pending is None:
            return
        pending.error = pending.error or message
        self._settle_load(pending, self._slot_of(self.sender()))

    def _settle_load(self, pending: _PendingLoad, slot_index: int) -> None:
        pending.waiting.discard(slot_index)
        if pending.waiting:
            return
        key = pending.spec.key
        del self._loads[key]
        if pending.error:  # nothing stays half-loaded
            self._specs.pop(key, None)
            for slot in self._slots:
                slot.models.discard(key)
                slot.commands.unload.emit(key)
            self.model_load_failed.emit(pending.spec, pending.error)
            return
        devices = tuple(d for info in pending.infos for d in info.devices)
        self.model_loaded.emit(replace(pending.infos[0], devices=devices))
        self._timer.start()

    # -- queue -----------------------------------------------------------------------------
    def submit(self, items: list[WorkItem]) -> None:
        """Queue images; they are batched per (model, options) when a worker is free."""
        for w in items:
            self._queue.append(w)
            self.item_queued.emit(w.item_id, w.model_key)
        self._set_busy(True)
        self._timer.start()

    def queued_count(self) -> int:
        return len(self._queue)

    def running_items(self) -> list[str]:
        return [i for s in self._slots if s.job is not None for i in s.job.item_ids]

    def cancel_item(self, item_id: str) -> None:
        """Cancel one image (queued or running); others in its batch are re-queued."""
        for w in [w for w in self._queue if w.item_id == item_id]:
            self._queue.remove(w)
            self.item_cancelled.emit(w.item_id, w.model_key)
        for slot in self._slots:
            if slot.job is not None and item_id in slot.job.item_ids:
                self._drop.add(item_id)
                slot.cancel.set()
        self._set_busy(self._any_work())

    def cancel_all(self) -> None:
        """Empty the queue and stop every running job."""
        while self._queue:
            w = self._queue.popleft()
            self.item_cancelled.emit(w.item_id, w.model_key)
        for slot in self._slots:
            if slot.job is not None:
                self._drop.update(slot.job.item_ids)
                slot.cancel.set()

    def _dispatch(self) -> None:
        for slot in self._slots:
            if slot.job is None:
                job = self._take_job(slot)
                if job is None:
                    continue
                slot.job, slot.cancel = job, threading.Event()
                slot.commands.run.emit(job, slot.cancel)
        self._set_busy(self._any_work())

    def _take_job(self, slot: _Slot) -> Job | None:
        first = next((w for w in self._queue if w.model_key in slot.models), None)
        if first is None:
            return None
        group = [w for w in self._queue if w.model_key == first.model_key
                 and w.options.group == first.options.group][:self.batch_size]
        for w in group:
            self._queue.remove(w)
        return Job(next_job_id(), first.model_key, tuple(group), first.options)

    # -- job outcomes ----------------------------------------------------------------------
    def _end_job(self, job_id: int) -> Job | None:
        for slot in self._slots:
            if slot.job is not None and slot.job.job_id == job_id:
                job, slot.job, slot.cancel = slot.job, None, None
                self._timer.start()
                return job
        return None

    def _on_started(self, job_id: int) -> None:
        job = next((s.job for s in self._slots if s.job is not None and s.job.job_id == job_id), None)
        for w in job.items if job else ():
            self.item_started.emit(w.item_id, w.model_key)

    def _on_finished(self, job_id: int, outcomes: list[ItemOutcome]) -> None:
        job = self._end_job(job_id)
        for outcome in outcomes:
            self._drop.discard(outcome.item_id)
            self.item_finished.emit(outcome)
        self._after_job(job)

    def _on_errored(self, job_id: int, message: str) -> None:
        job = self._end_job(job_id)
        for w in job.items if job else ():
            self._drop.discard(w.item_id)
            self.item_failed.emit(w.item_id, w.model_key, message)
        self._after_job(job)

    def _on_cancelled(self, job_id: int) -> None:
        job = self._end_job(job_id)
        if job is None:
            return
        requeue = [w for w in job.items if w.item_id not in self._drop and w.model_key in self._specs]
        for w in job.items:
            if w not in requeue:
                self._drop.discard(w.item_id)
                self.item_cancelled.emit(w.item_id, w.model_key)
        self._queue.extendleft(reversed(requeue))
        for w in requeue:
            self.item_queued.emit(w.item_id, w.model_key)
        self._after_job(job)

    def _after_job(self, job: Job | None) -> None:
        self._set_busy(self._any_work())

    def _any_work(self) -> bool:
        return bool(self._queue) or any(s.job is not None for s in self._slots)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
