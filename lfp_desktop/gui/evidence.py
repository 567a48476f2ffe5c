"""The interface's record of each evidence row: intake facts, per-model status and outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lfp_desktop.gui.jobs import ItemOutcome, ModelInfo

VERDICT_RANK = {"ATTRIBUTED": 0, "INCONCLUSIVE": 1, "NO MATCH": 2, "NOT MATCHED": 3}
# Overall status of a row, most pressing first.
STATUS_ORDER = ("running", "queued", "error", "cancelled", "done")


def row_key(case_id: str, item_id: int) -> str:
    """Row key of a case item; it names the case, so a late result of a case that was closed
    meanwhile can never land on an item of the next one."""
    return f"{case_id}/item/{item_id}"


def model_identity(checkpoint_sha256: str, scheme_sha256: str, registry_digest: str) -> tuple[str, str, str]:
    """What makes two runs comparable: the same checkpoint, scheme and registry state."""
    return (checkpoint_sha256, scheme_sha256, registry_digest)


def info_identity(info: ModelInfo) -> tuple[str, str, str]:
    return model_identity(info.checkpoint_sha256, info.scheme_sha256, info.registry_digest)


def outcome_identity(outcome: ItemOutcome) -> tuple[str, str, str]:
    r = outcome.record
    return model_identity(str(r.get("checkpoint_sha256")), str(r.get("scheme_sha256")), str(r.get("registry_digest")))


@dataclass
class EvidenceRecord:
    """One row of the evidence list. ``key`` is '<case>/item/<id>' for case items, 'refused/<n>'
    for files intake refused. ``fitted`` maps a model resolution to the uint8 (s, s, 3) image."""

    key: str
    display_path: str
    item_id: int | None = None
    sha256: str = ""
    size_bytes: int = 0
    width: int = 0
    height: int = 0
    format: str = ""
    thumbnail: np.ndarray | None = None
    fitted: dict[int, np.ndarray] = field(default_factory=dict)
    fit_notes: dict[int, str] = field(default_factory=dict)
    jpeg_grids: dict[int, Any] = field(default_factory=dict)  # size -> the file's JPEG grid, if it applies
    error: str = ""
    status: dict[str, str] = field(default_factory=dict)  # model key -> queued/running/…
    messages: dict[str, str] = field(default_factory=dict)  # model key -> error text
    outcomes: dict[str, ItemOutcome] = field(default_factory=dict)  # model key -> outcome
    note: str = ""  # e.g. why no model was run
    request_id: int = 0  # the intake request that brought the row (0: already in the case)

    @property
    def file_name(self) -> str:
        return self.display_path.replace("\\", "/").rsplit("/", 1)[-1]

    def overall_status(self) -> str:
        """'error' for refused files, else the most pressing per-model status, else the note."""
        if self.error:
            return "error"
        states = set(self.status.values())
        for s in STATUS_ORDER:
            if s in states:
                return s
        return "done" if self.outcomes else (self.note or "taken in")

    def headline(self) -> ItemOutcome | None:
        """The outcome to show first: the strongest verdict, then the smallest p-value."""
        if not self.outcomes:
            return None
        return min(self.outcomes.values(), key=lambda o: (VERDICT_RANK.get(o.verdict, 9), o.p_value))

    def verdict_text(self, with_model: bool = True) -> str:
        """'ATTRIBUTED: alice (model)', 'NO MATCH (model)', or '' before any outcome."""
        best = self.headline()
        if best is None:
            return ""
        text = f"ATTRIBUTED: {best.user_name}" if best.verdict == "ATTRIBUTED" else best.verdict
        return f"{text} ({best.model_name})" if with_model else text

    def error_text(self) -> str:
        return self.error or "; ".join(self.messages.values())
