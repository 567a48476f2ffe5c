"""The investigation: evidence rows of the open case, loaded models, and the route
intake → worker pool → case store. Views listen to its signals; it holds no widgets."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from lfp_desktop.gui.case_worker import IMAGE_SUFFIXES, CaseSummary, CaseWorker, IntakeOutcome, IntakeRequest, fits
from lfp_desktop.gui.curves import CurveBuffer
from lfp_desktop.gui.evidence import EvidenceRecord, info_identity, outcome_identity, row_key
from lfp_desktop.gui.jobs import ItemOutcome, ModelInfo, ModelSpec, RunOptions, StepBatch, WorkItem
from lfp_desktop.gui.pool import WorkerPool


def run_options(settings: Any) -> RunOptions:
    """Engine settings and decision policy from the user's Settings, exactly as ``lfp attribute``
    and ``lfp scan`` build them from the same values (so all faces give the same verdicts)."""
    from lfp_desktop.scan.options import scan_options  # torch-free: this runs on the interface thread

    options = scan_options(settings)
    return RunOptions(attribution=options.attribution, policy=options.policy)


class _CaseCommands(QObject):
    open = Signal(object, object, str)
    take_in = Signal(object)
    refit = Signal(object, int)
    store = Signal(int, object, str, str)
    custody = Signal(int)
    close = Signal()


class Investigation(QObject):
    """Evidence rows keyed '<case>/item/<id>' (or 'refused/<n>'), in the order they arrived."""

    case_opened = Signal(object)  # CaseSummary
    case_failed = Signal(str)
    records_reset = Signal()
    record_added = Signal(str)
    record_changed = Signal(str)
    models_changed = Signal()
    model_load_failed = Signal(object, str)  # ModelSpec, message
    loading_changed = Signal(int)  # number of models still loading
    step_reported = Signal(str, str)  # row key, model key (its CurveBuffer changed)
    intake_done = Signal(int, int)
    custody_loaded = Signal(str, object)
    busy_changed = Signal(bool)
    message = Signal(str, str)  # level ("info", "warning", "error"), text

    def __init__(self, actor: str, settings: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.records: dict[str, EvidenceRecord] = {}
        self.models: dict[str, ModelInfo] = {}
        self.curves: dict[tuple[str, str], CurveBuffer] = {}
        self.case: CaseSummary | None = None
        self.options = run_options(settings)
        self._loading: set[str] = set()
        self._closed = False
        self._request_ids = itertools.count(1)
        self._refused = itertools.count(1)
        self._intakes: dict[int, IntakeRequest] = {}
        self.pool = WorkerPool(self, batch_size=settings.images_per_job)
        self._wire_pool()
        self._case_thread = QThread(self)
        self._case_thread.setObjectName("lfp-case")
        self._case_worker = CaseWorker(actor)
        self._case_worker.moveToThread(self._case_thread)
        self._cmd = _CaseCommands()
        self._wire_case()
        self._case_thread.start()

    # -- wiring ------------------------------------------------------------------------------
    def _wire_pool(self) -> None:
        p = self.pool
        p.model_loaded.connect(self._on_model_loaded)
        p.model_load_failed.connect(self._on_model_failed)
        p.item_queued.connect(lambda k, m: self._set_status(k, m, "queued"))
        p.item_started.connect(lambda k, m: self._set_status(k, m, "running"))
        p.item_cancelled.connect(self._on_cancelled)
        p.item_failed.connect(self._on_failed)
        p.item_finished.connect(self._on_finished)
        p.step_reported.connect(self._on_step)
        p.busy_changed.connect(self.busy_changed)

    def _wire_case(self) -> None:
        w, c = self._case_worker, self._cmd
        c.open.connect(w.open_case)
        c.take_in.connect(w.take_in)
        c.refit.connect(w.refit)
        c.store.connect(w.store)
        c.custody.connect(w.load_custody)
        c.close.connect(w.close)
        w.case_opened.connect(self._on_case_opened)
        w.case_failed.connect(self.case_failed)
        w.item_taken.connect(self._on_item_taken)
        w.intake_done.connect(self._on_intake_done)
        w.item_refitted.connect(self._on_refitted)
        w.store_failed.connect(self._on_store_failed)  # bound methods: they run on this thread
        w.custody_loaded.connect(self._on_custody_loaded)
        self._case_thread.started.connect(w.begin)
        self._case_thread.finished.connect(w.deleteLater)

    # -- life cycle ---------------------------------------------------------------------------
    def start_workers(self, devices: list[str]) -> None:
        """Start (or restart) one worker per device; ignored once shut down."""
        if not self._closed:
            self.pool.start(devices)

    def shutdown(self) -> None:
        """Stop intake and workers, close the case (waits for the threads)."""
        if self._closed:
            return
        self._closed = True
        for req in self._intakes.values():
            req.cancel.set()
        self.pool.cancel_all()
        self.pool.stop()
        self._cmd.close.emit()
        self._case_thread.quit()
        self._case_thread.wait(10_000)

    def apply_settings(self, settings: Any) -> None:
        """New runs use these settings; queued and running ones keep theirs."""
        self.options = run_options(settings)
        self.pool.batch_size = settings.images_per_job

    # -- case -----------------------------------------------------------------------------
    def open_case(self, case_id: str | None, title: str = "") -> None:
        """Open a case (None: create one titled ``title``); its rows replace the current ones.
        Intake still running for the current case stops first (the case thread does one thing
        at a time, so nothing is added to the wrong case)."""
        for req in self._intakes.values():
            req.cancel.set()
        self._cmd.open.emit(case_id, self._sizes(), title)

    def _on_case_opened(self, summary: CaseSummary, existing: list[IntakeOutcome]) -> None:
        self.pool.cancel_all()
        self.case = summary
        self.records.clear()
        self.curves.clear()
        self.records_reset.emit()
        self.case_opened.emit(summary)
        for outcome in existing:
            self._on_item_taken(outcome, submit=False)

    def _on_store_failed(self, item_id: int, message: str) -> None:
        self.message.emit("error", f"the result of item {item_id} was not stored: {message}")

    def _on_custody_loaded(self, case_id: str, item_id: int, entries: list) -> None:
        self.custody_loaded.emit(row_key(case_id, item_id), entries)

    def request_custody(self, key: str) -> None:
        rec = self.records.get(key)
        if rec is not None and rec.item_id is not None:
            self._cmd.custody.emit(rec.item_id)

    # -- models ----------------------------------------------------------------------------
    def load_model(self, spec: ModelSpec) -> None:
        if spec.key in self.models or spec.key in self._loading:
            self.message.emit("info", f"{spec.registry_path.name} with {spec.checkpoint_path.name} is already loaded")
            return
        self._loading.add(spec.key)
        self.loading_changed.emit(len(self._loading))
        self.pool.load_model(spec)

    def unload_model(self, key: str) -> None:
        info = self.models.pop(key, None)
        self.pool.unload_model(key)
        if info is not None:
            self.message.emit("info", f"model {info.name} closed")
            self.models_changed.emit()

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self._loading.discard(info.key)
        self.loading_changed.emit(len(self._loading))
        self.models[info.key] = info
        self.message.emit("info", f"model {info.name} loaded: {info.size} px, {info.key_len}-bit keys, "
                                  f"{info.n_users} users, on {', '.join(info.devices)}")
        self.models_changed.emit()
        self._adopt_stored(info)
        # Files taken in during this session are analysed by every model that arrives; rows
        # reopened from the case wait for Re-run, so opening a case never starts work by itself.
        self._submit_records([r for r in self.records.values() if r.request_id], [info])

    def _on_model_failed(self, spec: ModelSpec, message: str) -> None:
        self._loading.discard(spec.key)
        self.loading_changed.emit(len(self._loading))
        self.model_load_failed.emit(spec, message)
        self.message.emit("error", f"could not load {spec.registry_path.name} + {spec.checkpoint_path.name}: {message}")

    def _adopt_stored(self, info: ModelInfo) -> None:
        """Stored outcomes made with this model's exact identity now belong to it."""
        for rec in self.records.values():
            for key, out in list(rec.outcomes.items()):
                if key.startswith("stored:") and outcome_identity(out) == info_identity(info):
                    rec.outcomes[info.key] = replace(out, model_key=info.key)
                    del rec.outcomes[key]
                    if (rec.key, key) in self.curves:
                        self.curves[(rec.key, info.key)] = self.curves.pop((rec.key, key))
                    self.record_changed.emit(rec.key)

    @property
    def loading_count(self) -> int:
        """Models asked for that have not finished loading."""
        return len(self._loading)

    def _sizes(self) -> tuple[int, ...]:
        return tuple(sorted({m.size for m in self.models.values()}))

    # -- intake ----------------------------------------------------------------------------
    def add_paths(self, paths: list[str], *, recursive: bool = True,
                  suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> int:
        """Take in files and folders (off this thread); returns the request id."""
        req = IntakeRequest(next(self._request_ids), tuple(paths), self._sizes(), recursive, suffixes)
        self._intakes[req.request_id] = req
        self._cmd.take_in.emit(req)
        return req.request_id

    def cancel_intake(self, request_id: int) -> None:
        req = self._intakes.get(request_id)
        if req is not None:
            req.cancel.set()

    def _on_intake_done(self, request_id: int, seen: int) -> None:
        self._intakes.pop(request_id, None)
        self.intake_done.emit(request_id, seen)

    def _on_item_taken(self, outcome: IntakeOutcome, submit: bool = True) -> None:
        if self.case is None or outcome.case_id != self.case.case_id:
            return  # taken into a case that has been closed since
        if outcome.item is None:
            rec = EvidenceRecord(key=f"refused/{next(self._refused)}", display_path=outcome.shown,
                                 error=outcome.error, request_id=outcome.request_id)
            self.records[rec.key] = rec
            self.record_added.emit(rec.key)
            self.message.emit("warning", f"refused {outcome.shown}: {outcome.error}")
            return
        rec, new = self._record_for(outcome)
        rec.request_id = outcome.request_id
        for stored in outcome.stored:
            self._add_stored(rec, stored)
        if new:
            self.record_added.emit(rec.key)
        else:
            self.record_changed.emit(rec.key)
        if submit and not outcome.error:
            self._submit_records([rec], list(self.models.values()))

    def _record_for(self, outcome: IntakeOutcome) -> tuple[EvidenceRecord, bool]:
        it = outcome.item
        key = row_key(self.case.case_id, it.id)
        rec = self.records.get(key)
        new = rec is None
        if new:
            rec = EvidenceRecord(key=key, display_path=it.original_path, item_id=it.id, sha256=it.sha256,
                                 size_bytes=it.size_bytes, width=it.width, height=it.height, format=it.format,
                                 error=outcome.error)
            self.records[key] = rec
        if outcome.thumbnail is not None:
            rec.thumbnail = outcome.thumbnail
        for size, (image, note) in outcome.fitted.items():
            rec.fitted[size], rec.fit_notes[size] = image, note
            rec.jpeg_grids[size] = outcome.jpeg_grids.get(size)
        return rec, new

    def _add_stored(self, rec: EvidenceRecord, out: ItemOutcome) -> None:
        """A stored outcome belongs to the loaded model with its exact identity, if any."""
        ident = outcome_identity(out)
        model_key = next((m.key for m in self.models.values() if info_identity(m) == ident), out.model_key)
        out = replace(out, item_id=rec.key, model_key=model_key)
        rec.outcomes[model_key] = out
        self.curves[(rec.key, model_key)] = CurveBuffer.from_outcome(out)

    def _on_refitted(self, case_id: str, item_id: int, size: int, image: Any, note: str, grid: Any) -> None:
        rec = self.records.get(row_key(case_id, item_id))
        if rec is None:
            return
        rec.fitted[size], rec.fit_notes[size], rec.jpeg_grids[size] = image, note, grid
        self._submit_records([rec], [m for m in self.models.values() if m.size == size])

    # -- analysis --------------------------------------------------------------------------
    def _submit_records(self, records: list[EvidenceRecord], models: list[ModelInfo], *, force: bool = False) -> None:
        work: list[WorkItem] = []
        refit: dict[int, list[int]] = {}
        for rec in records:
            if rec.error or rec.item_id is None:
                continue
            for m in models:
                if not fits(rec.width, rec.height, m.size):
                    continue
                if rec.status.get(m.key) in ("queued", "running") or (not force and self._has_result(rec, m)):
                    continue
                if m.size not in rec.fitted:
                    refit.setdefault(m.size, []).append(rec.item_id)
                    continue
                work.append(WorkItem(rec.key, m.key, rec.fitted[m.size], self.options, rec.jpeg_grids.get(m.size)))
            self._note_fit(rec)
        for size, ids in refit.items():
            self._cmd.refit.emit(ids, size)
        if work:
            self.pool.submit(work)

    def _has_result(self, rec: EvidenceRecord, m: ModelInfo) -> bool:
        out = rec.outcomes.get(m.key)
        return out is not None and outcome_identity(out) == info_identity(m)

    def _note_fit(self, rec: EvidenceRecord) -> None:
        if not self.models:
            rec.note = "waiting for a model"
        elif not any(fits(rec.width, rec.height, m.size) for m in self.models.values()):
            need = min(m.size for m in self.models.values())
            rec.note = f"too small: {rec.width}×{rec.height}, the models need {need}×{need} or more"
        else:
            rec.note = ""
        self.record_changed.emit(rec.key)

    def rerun(self, keys: list[str]) -> None:
        """Analyse these rows again under every loaded model with the current settings."""
        recs = [self.records[k] for k in keys if k in self.records]
        for rec in recs:
            rec.messages.clear()
        self._submit_records(recs, list(self.models.values()), force=True)

    def cancel(self, keys: list[str]) -> None:
        for key in keys:
            self.pool.cancel_item(key)

    def cancel_all(self) -> None:
        for req in self._intakes.values():
            req.cancel.set()
        self.pool.cancel_all()

    def _set_status(self, key: str, model_key: str, status: str) -> None:
        rec = self.records.get(key)
        if rec is not None:
            rec.status[model_key] = status
            if status == "running":
                self.curves.pop((key, model_key), None)
            self.record_changed.emit(key)

    def _on_cancelled(self, key: str, model_key: str) -> None:
        self._set_status(key, model_key, "cancelled")

    def _on_failed(self, key: str, model_key: str, message: str) -> None:
        rec = self.records.get(key)
        if rec is not None:
            rec.messages[model_key] = message
            self.message.emit("error", f"{rec.file_name}: {message}")
        self._set_status(key, model_key, "error")

    def _on_step(self, batch: StepBatch) -> None:
        buf = self.curves.get((batch.item_id, batch.model_key))
        if buf is None:
            buf = self.curves[(batch.item_id, batch.model_key)] = CurveBuffer(
                batch.losses.shape[1], batch.bit_probs.size)
        buf.add(batch)
        self.step_reported.emit(batch.item_id, batch.model_key)

    def _on_finished(self, outcome: ItemOutcome) -> None:
        rec = self.records.get(outcome.item_id)
        if rec is None:
            return
        rec.outcomes[outcome.model_key] = outcome
        rec.status[outcome.model_key] = "done"
        rec.messages.pop(outcome.model_key, None)
        if (outcome.item_id, outcome.model_key) not in self.curves or not self.curves[(outcome.item_id, outcome.model_key)].steps:
            self.curves[(outcome.item_id, outcome.model_key)] = CurveBuffer.from_outcome(outcome)
        size = int(outcome.image.shape[0])
        self._cmd.store.emit(rec.item_id, outcome, rec.sha256, rec.fit_notes.get(size, ""))
        self.message.emit("info", f"{rec.file_name}: {rec.verdict_text()}")
        self.record_changed.emit(rec.key)
