"""What a case holds: evidence items and stored attribution results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence file as taken in. ``working_copy`` is the case's read-only copy of the
    exact bytes; ``duplicate`` is True when the same bytes had been added before."""

    id: int
    sha256: str
    size_bytes: int
    original_path: str
    original_mtime: str
    format: str
    width: int
    height: int
    mode: str
    conversions: tuple[str, ...]
    exif_summary: dict[str, str]
    frames_note: str
    warnings: tuple[str, ...]
    working_copy: Path
    intake_utc: str
    intake_local: str
    actor: str
    duplicate: bool = False

    @property
    def original_name(self) -> str:
        return Path(self.original_path).name


@dataclass(frozen=True)
class StoredResult:
    """An attribution result as stored: the full JSON in ``result`` plus indexed fields."""

    id: int
    item_id: int
    created_utc: str
    actor: str
    verdict: str | None
    user_id: int | None
    user_name: str | None
    engine_version: str | None
    checkpoint_sha256: str | None
    scheme_sha256: str | None
    registry_digest: str | None
    result: dict[str, Any]
    result_sha256: str
    attachments: dict[str, Path] = field(default_factory=dict)
    attachment_sha256: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseInfo:
    """A case as listed; ``problem`` is set (and the rest may be empty) when it cannot be read."""

    case_id: str
    folder: Path
    title: str = ""
    analyst: str = ""
    created_utc: str = ""
    items: int = 0
    results: int = 0
    problem: str = ""
