"""The scan driver: take each file into the case, skip what this model already analysed
(by SHA-256), send the rest in batches to an executor's workers, store results as they
come back, and keep the case consistent when workers are lost or the scan is cancelled."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from lfp_desktop.errors import EvidenceError, LFPError
from lfp_desktop.scan.executor import Done, Executor
from lfp_desktop.scan.files import IMAGE_SUFFIXES, Candidate, fits, list_candidates
from lfp_desktop.scan.model import ModelBundle
from lfp_desktop.scan.options import ScanOptions
from lfp_desktop.scan.items import ScanItem, ScanReport
from lfp_desktop.scan.progress import ScanProgress
from lfp_desktop.scan.summary import FINAL_STATES, ScanSummary
from lfp_desktop.scan.work import Batch, BatchItem, ItemAnalysis

HEADLINE = ("verdict", "user_name", "model", "hamming_distance", "key_len", "p_value", "margin")


def run_scan(paths: Sequence[str | os.PathLike[str]], *, case: Any, model: ModelBundle, executor: Executor,
             options: ScanOptions, actor: str, recursive: bool = True, suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
             cancel: threading.Event | None = None, on_progress: Callable[[ScanProgress], None] | None = None,
             on_item: Callable[[ScanItem], None] | None = None, max_attempts: int = 3,
             progress_every: float = 0.5) -> ScanReport:
    """Scan files and folders into an open ``case`` with ``model`` on ``executor``'s workers.

    Each result is stored as soon as its batch comes back; files whose SHA-256 already has a
    result of this exact model are skipped, so a scan run again resumes. A batch whose worker
    was lost is sent again (at most ``max_attempts`` times in all); a file that cannot be
    taken in or analysed is recorded as an error and the scan goes on. Setting ``cancel``
    stops the workers between two optimisation steps; results already back are stored.
    ``on_item`` hears of every change of a file's state, ``on_progress`` at most every
    ``progress_every`` seconds and once at the end.
    """
    scan = _Scan(case, model, executor, options, actor, cancel or threading.Event(), on_progress, on_item,
                 max_attempts, progress_every)
    return scan.run(list_candidates(paths, recursive=recursive, suffixes=suffixes), paths)


class _Scan:
    def __init__(self, case: Any, model: ModelBundle, executor: Executor, options: ScanOptions, actor: str,
                 cancel: threading.Event, on_progress: Callable[[ScanProgress], None] | None,
                 on_item: Callable[[ScanItem], None] | None, max_attempts: int, progress_every: float):
        self.case, self.model, self.ex, self.options, self.actor = case, model, executor, options, actor
        self.cancel, self.on_progress, self.on_item = cancel, on_progress, on_item
        self.max_attempts, self.progress_every = max(1, max_attempts), progress_every
        self.items: dict[int, ScanItem] = {}
        self.counts: Counter = Counter()
        self.scheduled: dict[int, list[int]] = {}  # item id -> candidate indices waiting for its result
        self.batches: dict[int, Batch] = {}  # sent and not back
        self.pending: list[BatchItem] = []  # taken in, not yet sent
        self.previous: dict[int, dict[str, Any]] = {}
        self.retried = self.analysed_here = self.next_batch = self.total = self.seen = 0
        self.t0 = time.monotonic()
        self.first_sent: float | None = None
        self.last_progress = 0.0

    # -- the loop ----------------------------------------------------------------------------
    def run(self, candidates: list[Candidate], paths: Sequence[Any]) -> ScanReport:
        self.total = len(candidates)
        self.previous = self.case.model_results(*self.model.identity)
        self._record("scan_started", self._start_details(paths))
        self.ex.begin(self.options, self.cancel)
        try:
            self._loop(candidates)
            if self.cancel.is_set():
                self._stop()
        except BaseException as exc:
            self._record("scan_stopped", {**self._counts(), "reason": f"{type(exc).__name__}: {exc}"[:300]}, quiet=True)
            raise
        self._record("scan_cancelled" if self.cancel.is_set() else "scan_finished", self._counts())
        progress = self._snapshot(time.monotonic(), final=True)
        if self.on_progress is not None:
            self.on_progress(progress)
        return ScanReport(self.case.id, Path(self.case.folder), self.ex.target,
                          tuple(self.items[i] for i in sorted(self.items)), self._summary(), progress,
                          self.cancel.is_set(), self.total - self.seen)

    def _loop(self, candidates: list[Candidate]) -> None:
        todo = iter(enumerate(candidates))
        exhausted = False
        while not self.cancel.is_set():
            while not exhausted and self.ex.room() > 0 and not self.cancel.is_set():
                nxt = next(todo, None)
                if nxt is None:
                    exhausted = True
                    break
                self._take_in(*nxt)
                self._progress()
            if exhausted and self.pending and self.ex.room() > 0:
                self._send()
            if exhausted and not self.pending and not self.batches:
                return
            for done in self.ex.poll(0.2):
                self._handle(done)
            self._progress()

    def _stop(self) -> None:
        """After a cancel: store what had finished, mark everything else cancelled."""
        for done in self.ex.cancel():
            self._handle(done)
        for batch in list(self.batches.values()):
            self._cancel_items(batch.items)
        self.batches.clear()
        self._cancel_items(self.pending)
        self.pending.clear()

    # -- intake ------------------------------------------------------------------------------
    def _take_in(self, index: int, cand: Candidate) -> None:
        self.seen += 1
        if cand.path is None:
            self._record("evidence_refused", {"path": cand.shown, "reason": cand.error})
            self._set(index, cand.shown, "error", error=cand.error)
            return
        try:
            item = self.case.add_evidence(cand.path, self.actor)  # refusals are recorded in custody
        except EvidenceError as exc:
            self._set(index, cand.shown, "error", error=str(exc))
            return
        ident = {"sha256": item.sha256, "item_id": item.id}
        if item.id in self.scheduled:  # the same bytes twice in this scan: one analysis
            self.scheduled[item.id].append(index)
            self._set(index, cand.shown, "queued", **ident)
        elif item.id in self.previous:
            self._set(index, cand.shown, "skipped", **ident, **_headline(self.previous[item.id]))
        elif not fits(item.width, item.height, self.model.size):
            s = self.model.size
            self._set(index, cand.shown, "not analysed", **ident,
                      error=f"too small: {item.width}×{item.height}, the model needs {s}×{s} or more")
        else:
            self._queue(index, cand.shown, item, ident)

    def _queue(self, index: int, shown: str, item: Any, ident: dict[str, Any]) -> None:
        from lfp_desktop.casework.intake import fit_to_resolution

        try:
            evidence = self.case.load_image(item.id)
            image, note = fit_to_resolution(evidence.rgb, self.model.size)
        except LFPError as exc:
            self._failed([index], item.id, item.sha256, str(exc))
            return
        self.pending.append(BatchItem(item.id, item.sha256, image, note, evidence.grid_for(image)))
        self.scheduled[item.id] = [index]
        self._set(index, shown, "queued", **ident)
        if len(self.pending) >= self.options.batch_size:
            self._send()

    def _send(self) -> None:
        self.next_batch += 1
        batch = Batch(self.next_batch, tuple(self.pending))
        self.pending = []
        self.batches[batch.batch_id] = batch
        self.first_sent = self.first_sent or time.monotonic()
        self.ex.submit(batch)

    # -- results -----------------------------------------------------------------------------
    def _handle(self, done: Done) -> None:
        batch = self.batches.pop(done.batch.batch_id, None)
        if batch is None:
            return
        if done.outcome is None:
            self._lost(batch, done)
        elif done.outcome.cancelled:
            self._cancel_items(batch.items)
        else:
            self._store(batch, done.outcome.items, done.outcome.worker)

    def _lost(self, batch: Batch, done: Done) -> None:
        if self.cancel.is_set():
            self._cancel_items(batch.items)
        elif batch.attempt < self.max_attempts:
            self.retried += 1
            again = replace(batch, attempt=batch.attempt + 1, avoid=batch.avoid | {done.worker})
            self.batches[again.batch_id] = again
            self.ex.submit(again)
        else:
            for it in batch.items:
                self._failed(self.scheduled.pop(it.item_id, []), it.item_id, it.sha256,
                             f"not analysed: its worker was lost {batch.attempt} times ({done.failure})")

    def _store(self, batch: Batch, results: tuple[ItemAnalysis, ...], worker: str) -> None:
        by_id = {r.item_id: r for r in results}
        for it in batch.items:
            indices = self.scheduled.pop(it.item_id, [])
            res = by_id.get(it.item_id)
            if res is None or res.sha256 != it.sha256:
                self._failed(indices, it.item_id, it.sha256, "the worker returned no result for this item")
            elif res.error:
                self._failed(indices, it.item_id, it.sha256, res.error)
            else:
                self.case.store_result(it.item_id, res.record, self.actor, attachments=res.attachments)
                self.analysed_here += 1
                self.previous[it.item_id] = {k: res.record.get(k) for k in HEADLINE}
                for i in indices:
                    self._set(i, None, "analysed", worker=worker, **_headline(res.record))

    def _failed(self, indices: list[int], item_id: int, sha256: str, reason: str) -> None:
        self._record("analysis_failed", {"item_id": item_id, "sha256": sha256, "reason": reason[:1000],
                                         "model": self.model.name}, item_id=item_id)
        for i in indices:
            self._set(i, None, "error", item_id=item_id, sha256=sha256, error=reason)

    def _cancel_items(self, items: Sequence[BatchItem]) -> None:
        for it in items:
            for i in self.scheduled.pop(it.item_id, []):
                self._set(i, None, "cancelled")

    # -- bookkeeping -------------------------------------------------------------------------
    def _set(self, index: int, shown: str | None, state: str, **fields: Any) -> None:
        old = self.items.get(index)
        item = replace(old, state=state, **fields) if old else ScanItem(index, shown or "", state, **fields)
        if old is not None and old.state in FINAL_STATES:
            self.counts[old.state] -= 1
        if state in FINAL_STATES:
            self.counts[state] += 1
        self.items[index] = item
        if self.on_item is not None:
            self.on_item(item)

    def _record(self, action: str, details: dict[str, Any], *, item_id: int | None = None, quiet: bool = False) -> None:
        try:
            self.case.record(self.actor, action, details, item_id=item_id)
        except LFPError:
            if not quiet:
                raise

    def _counts(self) -> dict[str, int]:
        return {"files": self.total, "seen": self.seen, "retried_batches": self.retried,
                **{k.replace(" ", "_"): self.counts[k] for k in FINAL_STATES}}

    def _start_details(self, paths: Sequence[Any]) -> dict[str, Any]:
        from lfp_desktop.casework.paths import display_path

        m = self.model
        return {"paths": [display_path(p) for p in paths], "files": self.total, "model": m.name,
                "checkpoint_sha256": m.checkpoint_sha256, "scheme_sha256": m.scheme_sha256,
                "registry_digest": m.registry_digest, "settings": self.options.attribution.to_dict(),
                "target_fpr": self.options.policy.target_fpr,
                "statistic": self.options.policy.statistic, "batch_size": self.options.batch_size,
                "target": self.ex.target, "workers": [w.name for w in self.ex.workers()]}

    def _progress(self) -> None:
        """Tell on_progress, at most every progress_every seconds."""
        now = time.monotonic()
        if self.on_progress is not None and now - self.last_progress >= self.progress_every:
            self.last_progress = now
            self.on_progress(self._snapshot(now, final=False))

    def _snapshot(self, now: float, final: bool) -> ScanProgress:
        rate = None
        if self.analysed_here and self.first_sent is not None and now > self.first_sent:
            rate = self.analysed_here / (now - self.first_sent)
        c = self.counts
        done = sum(c[k] for k in FINAL_STATES)
        return ScanProgress(total=self.total, seen=self.seen, analysed=c["analysed"], skipped=c["skipped"],
                            errors=c["error"], not_analysed=c["not analysed"], cancelled=c["cancelled"],
                            pending=sum(len(v) for v in self.scheduled.values()), retried=self.retried,
                            workers=len(self.ex.workers()), elapsed_s=now - self.t0, images_per_second=rate,
                            eta_s=(self.total - done) / rate if rate else None, finished=final)

    def _summary(self) -> ScanSummary:
        s = ScanSummary()
        for i in sorted(self.items):
            it = self.items[i]
            s.add(it.state, it.verdict, it.user_name)
        return s


def _headline(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: record.get(k) for k in HEADLINE}
    out["verdict"], out["model"] = out["verdict"] or "", out["model"] or ""
    return out
