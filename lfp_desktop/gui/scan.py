"""A batch folder scan: which rows belong to it, counts, ETA, summary and CSV export."""

from __future__ import annotations

import csv
from html import escape
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from lfp_desktop.gui.evidence import EvidenceRecord
from lfp_desktop.gui.investigation import Investigation
from lfp_desktop.gui.jobs import ItemOutcome

CSV_COLUMNS = ("file", "sha256", "state", "verdict", "user", "model", "hamming_distance", "key_len",
               "p_value", "margin", "error")
FINAL_STATES = ("analysed", "skipped", "error", "cancelled", "not analysed")


def scan_user(outcome: ItemOutcome | None) -> str:
    """The user a scan row names: the attributed or nearest-but-inconclusive user; none for
    NO MATCH (the nearest key is then as close as chance)."""
    if outcome is None or outcome.verdict not in ("ATTRIBUTED", "INCONCLUSIVE"):
        return ""
    return outcome.user_name or ""


def row_state(rec: EvidenceRecord, skipped: bool) -> str:
    """'queued', 'running', 'analysed', 'skipped' (analysed before, found by hash), 'error',
    'cancelled' or 'not analysed' (no model fits, or none loaded)."""
    status = rec.overall_status()
    if status in ("running", "queued", "error", "cancelled"):
        return status
    if rec.outcomes:
        return "skipped" if skipped else "analysed"
    return "not analysed"


@dataclass
class ScanSummary:
    """Counts of a scan: ``per_user`` ATTRIBUTED rows per user name."""

    total: int = 0
    per_user: Counter = field(default_factory=Counter)
    inconclusive: int = 0
    no_match: int = 0
    errors: int = 0
    cancelled: int = 0
    not_analysed: int = 0
    skipped: int = 0

    def html(self, most_users: int = 30) -> str:
        """The summary as two short lines of rich text for the dialog."""
        users = sorted(self.per_user.items())
        named = ", ".join(f"{escape(u)}&nbsp;({n})" for u, n in users[:most_users])
        if len(users) > most_users:
            named += f" and {len(users) - most_users} more users"
        parts = [f"<b>Attributed {sum(self.per_user.values())}</b>" + (f": {named}" if named else ""),
                 f"<b>Inconclusive {self.inconclusive}</b>", f"<b>No match {self.no_match}</b>",
                 f"<b>Errors {self.errors}</b>"]
        parts += [f"<b>{k} {v}</b>" for k, v in (("Cancelled", self.cancelled), ("Not analysed", self.not_analysed)) if v]
        note = f"<br>{self.skipped} file(s) had been analysed before (same SHA-256 and model) and were skipped." \
            if self.skipped else ""
        return f"{self.total} file(s) — " + " · ".join(parts) + note

    def text(self) -> str:
        users = ", ".join(f"{u}: {n}" for u, n in sorted(self.per_user.items())) or "none"
        return (f"{self.total} file(s): attributed {sum(self.per_user.values())} ({users}); "
                f"inconclusive {self.inconclusive}; no match {self.no_match}; errors {self.errors}"
                + (f"; cancelled {self.cancelled}" if self.cancelled else "")
                + (f"; not analysed {self.not_analysed}" if self.not_analysed else "")
                + (f" — {self.skipped} already analysed before, skipped" if self.skipped else ""))


class ScanSession(QObject):
    """Follows the rows of one intake request through the investigation."""

    changed = Signal(str)  # row key
    progressed = Signal()
    finished = Signal()

    def __init__(self, inv: Investigation, folder: str, *, recursive: bool, suffixes: tuple[str, ...],
                 parent: QObject | None = None):
        super().__init__(parent)
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

    def eta_seconds(self) -> float | None:
        """Remaining time from the rate of analyses finished so far (None until one finished)."""
        c = self.counts()
        done, left = c["analysed"], c["queued"] + c["running"]
        if not done or not left:
            return None
        return (time.monotonic() - self.started_at) / done * left

    def summary(self) -> ScanSummary:
        s = ScanSummary()
        for key in self.keys:
            rec = self.inv.records.get(key)
            if rec is None:
                continue
            s.total += 1
            state = self.state(key)
            best = rec.headline()
            if state == "error":
                s.errors += 1
            elif state == "cancelled":
                s.cancelled += 1
            elif best is None:
                s.not_analysed += 1
            elif best.verdict == "ATTRIBUTED":
                s.per_user[best.user_name] += 1
            elif best.verdict == "INCONCLUSIVE":
                s.inconclusive += 1
            else:
                s.no_match += 1
            s.skipped += state == "skipped"
        return s

    def rows(self) -> list[dict[str, object]]:
        """One dict per scanned file with the CSV columns."""
        out = []
        for key in self.keys:
            rec = self.inv.records.get(key)
            if rec is None:
                continue
            best = rec.headline()
            r = best.record if best else {}
            out.append({"file": rec.display_path, "sha256": rec.sha256, "state": self.state(key),
                        "verdict": best.verdict if best else "", "user": scan_user(best),
                        "model": best.model_name if best else "", "hamming_distance": r.get("hamming_distance", ""),
                        "key_len": r.get("key_len", ""), "p_value": r.get("p_value", ""), "margin": r.get("margin", ""),
                        "error": rec.error_text()})
        return out

    def write_csv(self, path: Path) -> Path:
        """Write :meth:`rows` as UTF-8 CSV with a header row."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows())
        return Path(path)
