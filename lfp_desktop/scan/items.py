"""A scan's files as they stand (one ScanItem each) and the report of a finished scan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfp_desktop.scan.progress import ScanProgress
from lfp_desktop.scan.summary import ScanSummary, scan_user, write_csv


@dataclass(frozen=True)
class ScanItem:
    """One file of a scan as it stands now; ``index`` is its place among the candidates.
    ``state``: 'queued', then 'analysed', 'skipped' (analysed before by this model),
    'error', 'cancelled' or 'not analysed' (too small for the model)."""

    index: int
    shown: str
    state: str
    sha256: str = ""
    item_id: int | None = None
    verdict: str = ""
    user_name: str | None = None
    model: str = ""
    hamming_distance: int | None = None
    key_len: int | None = None
    p_value: float | None = None
    margin: int | None = None
    error: str = ""
    worker: str = ""

    def row(self) -> dict[str, Any]:
        """The file's CSV row (see summary.CSV_COLUMNS)."""
        return {"file": self.shown, "sha256": self.sha256, "state": self.state, "verdict": self.verdict,
                "user": scan_user(self.verdict, self.user_name), "model": self.model,
                "hamming_distance": _blank(self.hamming_distance), "key_len": _blank(self.key_len),
                "p_value": _blank(self.p_value), "margin": _blank(self.margin), "error": self.error}


@dataclass(frozen=True)
class ScanReport:
    """The end of a scan: every file reached, in order, the summary and the last progress."""

    case_id: str
    case_folder: Path
    target: str
    items: tuple[ScanItem, ...]
    summary: ScanSummary
    progress: ScanProgress
    cancelled: bool
    not_reached: int  # candidate files not looked at before a cancel

    def rows(self) -> list[dict[str, Any]]:
        return [it.row() for it in self.items]

    def write_csv(self, path: str | Path) -> Path:
        return write_csv(self.rows(), path)


def _blank(value: Any) -> Any:
    return "" if value is None else value
