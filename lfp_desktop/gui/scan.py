"""A batch folder scan followed in the dialog: on this computer's workers (ScanSession) or on
a Ray cluster (ClusterScanSession); both give rows, counts, ETA, summary and CSV alike."""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from lfp_desktop.errors import LFPError
from lfp_desktop.gui.evidence import VERDICT_RANK, EvidenceRecord
from lfp_desktop.gui.investigation import Investigation
from lfp_desktop.gui.jobs import ItemOutcome
from lfp_desktop.scan.summary import CSV_COLUMNS, FINAL_STATES, ScanSummary, write_csv
from lfp_desktop.scan.summary import scan_user as _scan_user

__all__ = ["CSV_COLUMNS", "FINAL_STATES", "ClusterScanSession", "ScanSession", "ScanSummary", "row_state", "scan_user"]


def scan_user(outcome: ItemOutcome | None) -> str:
    """The user a scan row names (see lfp_desktop.scan.summary.scan_user)."""
    return "" if outcome is None else _scan_user(outcome.verdict, outcome.user_name)


def row_state(rec: EvidenceRecord, skipped: bool) -> str:
    """'queued', 'running', 'analysed', 'skipped' (analysed before, found by hash), 'error',
    'cancelled' or 'not analysed' (no model fits, or none loaded)."""
    status = rec.overall_status()
    if status in ("running", "queued", "error", "cancelled"):
        return status
    if rec.outcomes:
        return "skipped" if skipped else "analysed"
    return "not analysed"


class _Rows:
    """What both sessions offer the dialog on top of their rows (``keys``, ``row``, ``state``)."""

    keys: list[str]
    started_at: float
    target: str = "this computer"
    error: str = ""

    def row(self, key: str) -> dict[str, object] | None:
        raise NotImplementedError

    def counts(self) -> Counter:
        raise NotImplementedError

    def rows(self) -> list[dict[str, object]]:
        """One dict per scanned file with the CSV columns."""
        return [r for r in (self.row(k) for k in self.keys) if r is not None]

    def write_csv(self, path: Path) -> Path:
        """Write :meth:`rows` as UTF-8 CSV with a header row."""
        return write_csv(self.rows(), path)

    def summary(self) -> ScanSummary:
        s = ScanSummary()
        for r in self.rows():
            s.add(str(r["state"]), str(r["verdict"]), str(r["user"]) or None)
        return s

    def images_per_second(self) -> float | None:
        done = self.counts()["analysed"]
        elapsed = time.monotonic() - self.started_at
        return done / elapsed if done and elapsed > 0 else None

    def eta_seconds(self) -> float | None:
        """Remaining time from the rate of analyses finished so far (None until one finished)."""
        c = self.counts()
        rate, left = self.images_per_second(), c["queued"] + c["running"]
        return left / rate if rate and left else None


class ScanSession(QObject, _Rows):
    """Follows the rows of one intake request through the investigation."""

    changed = Signal(str)  # row key
    progressed = Signal()
    finished = Signal()

    def __init__(self, inv: Investigation, folder: str, *, recursive: bool, suffixes: tuple[str, ...],
                 parent: QObject | None = None):
        QObject.__init__(self, parent)
        self.inv, self.folder = inv, folder
        self.keys: list[str] = []
        self._had_result: dict[str, bool] = {}  # outcomes already there when the file was taken in
        self._ran: set[str] = set()  # rows analysed during this scan
        self._states: dict[str, str] = {}
        self._counts: Counter = Counter()
        self.intake_finished = False
        self.cancelled = False
        self.started_at = time.monotonic()
        inv.record_added.connect(self._seen)
        inv.record_changed.connect(self._seen)
        inv.intake_done.connect(self._intake_done)
        self.request_id = inv.add_paths([folder], recursive=recursive, suffixes=suffixes)

    def _seen(self, key: str) -> None:
        rec = self.inv.records.get(key)
        if rec is None or rec.request_id != self.request_id:
            return
        pending = any(v in ("queued", "running") for v in rec.status.values())
        if key not in self._had_result:
            self._had_result[key] = bool(rec.outcomes) and not pending
            self.keys.append(key)
        if pending:
            self._ran.add(key)
        old, new = self._states.get(key), self._state_of(key)
        if old != new:  # counts are kept up to date here, so a scan of many files stays linear
            if old is not None:
                self._counts[old] -= 1
            self._counts[new] += 1
            self._states[key] = new
        self.changed.emit(key)
        self._check_done()

    def _intake_done(self, request_id: int, _seen: int) -> None:
        if request_id == self.request_id:
            self.intake_finished = True
            self._check_done()

    def _check_done(self) -> None:
        self.progressed.emit()
        if self.is_done():
            self.finished.emit()

    def _state_of(self, key: str) -> str:
        return row_state(self.inv.records[key], self._had_result.get(key, False) and key not in self._ran)

    def state(self, key: str) -> str:
        """The row's state in this scan (see :func:`row_state`)."""
        return self._states.get(key) or self._state_of(key)

    def counts(self) -> Counter:
        """Rows per state (zero counts left out)."""
        return Counter({k: v for k, v in self._counts.items() if v > 0})

    def is_done(self) -> bool:
        c = self.counts()
        return self.intake_finished and not (c["queued"] or c["running"])

    def cancel(self) -> None:
        """Stop taking in files and cancel this scan's pending analyses."""
        self.cancelled = True
        self.inv.cancel_intake(self.request_id)
        self.inv.cancel([k for k in self.keys if self.state(k) in ("queued", "running")])

    def row(self, key: str) -> dict[str, object] | None:
        rec = self.inv.records.get(key)
        if rec is None:
            return None
        best = rec.headline()
        r = best.record if best else {}
        return {"file": rec.display_path, "sha256": rec.sha256, "state": self.state(key),
                "verdict": best.verdict if best else "", "user": scan_user(best),
                "model": best.model_name if best else "", "hamming_distance": r.get("hamming_distance", ""),
                "key_len": r.get("key_len", ""), "p_value": r.get("p_value", ""), "margin": r.get("margin", ""),
                "error": rec.error_text()}


# A file scanned with several models: its row shows the most pressing state, then the best verdict.
_STATE_RANK = {"queued": 0, "running": 0, "error": 1, "cancelled": 2, "analysed": 3, "skipped": 4, "not analysed": 5}


def _merged(items: list[Any]) -> Any:
    """The ScanItem a row shows for one file scanned with several models."""
    state = min((it.state for it in items), key=lambda s: _STATE_RANK.get(s, 9))
    judged = [it for it in items if it.verdict]
    best = min(judged, key=lambda it: (VERDICT_RANK.get(it.verdict, 9), it.p_value if it.p_value is not None else 1.0),
               default=items[0])
    errors = "; ".join(dict.fromkeys(it.error for it in items if it.error))
    return replace(best, state=state, error=errors)


class ClusterScanSession(QObject, _Rows):
    """A scan run by ``lfp_desktop.scan`` on a Ray cluster, with every loaded model in turn,
    into the open case; rows are keyed by the file's place in the folder listing."""

    changed = Signal(str)
    progressed = Signal()
    finished = Signal()
    _item_arrived = Signal(str, object)  # model key, ScanItem (from the scan thread)
    _progress_arrived = Signal(object)  # ScanProgress
    _ended = Signal(str)  # error text, '' when the scan ended normally

    def __init__(self, inv: Investigation, folder: str, *, address: str, recursive: bool, suffixes: tuple[str, ...],
                 actor: str, parent: QObject | None = None):
        QObject.__init__(self, parent)
        from lfp_desktop.scan.options import ScanOptions

        self.inv, self.folder, self.address = inv, folder, address
        self.target = f"Ray cluster ({address})"
        self.keys: list[str] = []
        self._items: dict[str, dict[str, Any]] = {}  # row key -> model key -> ScanItem
        self._rows: dict[str, Any] = {}  # row key -> the merged ScanItem it shows
        self._counts: Counter = Counter()  # kept up to date, so a scan of many files stays linear
        self._progress: Any = None
        self.intake_finished = self.cancelled = self._done = False
        self.started_at = time.monotonic()
        self._cancel = threading.Event()
        self._item_arrived.connect(self._on_item)
        self._progress_arrived.connect(self._on_progress)
        self._ended.connect(self._on_ended)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)
        specs = [m.spec for m in inv.models.values()]
        options = ScanOptions(inv.options.attribution, inv.options.policy, inv.pool.batch_size)
        self._thread = threading.Thread(target=self._work, name="lfp-cluster-scan", daemon=True,
                                        args=(specs, Path(inv.case.folder), options, recursive, suffixes, actor))
        self._thread.start()

    # -- the scan thread ---------------------------------------------------------------------
    def _work(self, specs: list[Any], case_folder: Path, options: Any, recursive: bool,
              suffixes: tuple[str, ...], actor: str) -> None:
        try:
            self._scan_all(specs, case_folder, options, recursive, suffixes, actor)
        except LFPError as exc:
            self._ended.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the dialog rather than lost in a thread
            self._ended.emit(f"unexpected error ({traceback.format_exception_only(type(exc), exc)[-1].strip()})")
        else:
            self._ended.emit("")

    def _scan_all(self, specs: list[Any], case_folder: Path, options: Any, recursive: bool,
                  suffixes: tuple[str, ...], actor: str) -> None:
        from lfp_desktop.casework import Case
        from lfp_desktop.scan import read_model, run_scan
        from lfp_desktop.scan.cluster import RayExecutor, ray_connection

        with ray_connection(self.address):
            for spec in specs:
                if self._cancel.is_set():
                    return
                model = read_model(spec.registry_path, spec.checkpoint_path)
                with RayExecutor(model) as executor, Case.open(case_folder) as case:
                    run_scan([self.folder], case=case, model=model, executor=executor, options=options, actor=actor,
                             recursive=recursive, suffixes=suffixes, cancel=self._cancel,
                             on_item=lambda it, k=spec.key: self._item_arrived.emit(k, it),
                             on_progress=self._progress_arrived.emit)

    # -- back on the interface thread ----------------------------------------------------------
    def _on_item(self, model_key: str, item: Any) -> None:
        key = str(item.index)
        if key not in self._items:
            self._items[key] = {}
            self.keys.append(key)
        self._items[key][model_key] = item
        old = self._rows.get(key)
        if old is not None:
            self._counts[old.state] -= 1
        self._rows[key] = _merged(list(self._items[key].values()))
        self._counts[self._rows[key].state] += 1
        self.changed.emit(key)
        self.progressed.emit()

    def _on_progress(self, progress: Any) -> None:
        self._progress = progress
        self.intake_finished = self.intake_finished or progress.seen >= progress.total
        self.progressed.emit()

    def _on_ended(self, error: str) -> None:
        self.error, self._done, self.intake_finished = error, True, True
        self.cancelled = self.cancelled or self._cancel.is_set()
        self.progressed.emit()
        self.finished.emit()

    def state(self, key: str) -> str:
        return self._rows[key].state

    def row(self, key: str) -> dict[str, object] | None:
        item = self._rows.get(key)
        return None if item is None else item.row()

    def counts(self) -> Counter:
        return Counter({k: v for k, v in self._counts.items() if v > 0})

    def is_done(self) -> bool:
        return self._done

    def images_per_second(self) -> float | None:
        return self._progress.images_per_second if self._progress is not None else None

    def eta_seconds(self) -> float | None:
        return self._progress.eta_s if self._progress is not None and not self._done else None

    def cancel(self) -> None:
        """Stop the cluster's workers between two optimisation steps; finished results are kept."""
        self.cancelled = True
        self._cancel.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Cancel and wait for the scan thread (the application is quitting)."""
        self.cancel()
        self._thread.join(timeout)
