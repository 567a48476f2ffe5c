"""All reads and writes of the open case, on one background thread (intake hashes and
decodes files; the interface thread never waits on the disk)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from lfp_desktop.errors import LFPError
from lfp_desktop.gui.priority import lower_current_thread_priority
from lfp_desktop.gui.stored import outcome_from_stored, outcome_record
from lfp_desktop.scan.files import IMAGE_SUFFIXES, fits, list_candidates

__all__ = ["IMAGE_SUFFIXES", "CaseSummary", "CaseWorker", "IntakeOutcome", "IntakeRequest", "fits", "list_files",
           "thumbnail"]

THUMBNAIL_PX = 56


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    title: str
    analyst: str
    folder: Path


@dataclass(frozen=True)
class IntakeRequest:
    """Files and folders to take in. Folders are walked (``recursive``) keeping files whose
    suffix is in ``suffixes``; files named directly are always tried. ``sizes``: model
    resolutions to fit each image to."""

    request_id: int
    paths: tuple[str, ...]
    sizes: tuple[int, ...]
    recursive: bool = True
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class IntakeOutcome:
    """One file taken in (``item`` set) or refused (``error`` set); ``stored``: the item's
    results already in the case, as ItemOutcomes whose model key is 'stored:<identity>'."""

    request_id: int
    shown: str
    item: Any = None
    error: str = ""
    thumbnail: np.ndarray | None = None
    fitted: dict[int, tuple[np.ndarray, str]] = field(default_factory=dict)
    jpeg_grids: dict[int, Any] = field(default_factory=dict)  # size -> the file's JPEG grid, if it applies
    stored: tuple[Any, ...] = ()
    case_id: str = ""  # the case the file went into


def thumbnail(rgb: np.ndarray, px: int = THUMBNAIL_PX) -> np.ndarray:
    """uint8 (h, w, 3) with the longer side at most ``px`` (area averaging)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(1.0, px / max(h, w))
    if scale == 1.0:
        return rgb.copy()
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def list_files(request: IntakeRequest) -> list[tuple[str, str | None, str]]:
    """(shown, path or None, problem) for every candidate file of the request, in order."""
    found = list_candidates(request.paths, recursive=request.recursive, suffixes=request.suffixes)
    return [(c.shown, c.path, c.error) for c in found]


class CaseWorker(QObject):
    """Owns the open Case; every slot runs on the case thread."""

    case_opened = Signal(object, object)  # CaseSummary, list[IntakeOutcome] of the existing items
    case_failed = Signal(str)
    item_taken = Signal(object)  # IntakeOutcome
    intake_done = Signal(int, int)  # request id, files seen
    item_refitted = Signal(str, int, int, object, str, object)  # case id, item id, size, image, note, JPEG grid
    result_stored = Signal(int, int)  # item id, result id
    store_failed = Signal(int, str)
    custody_loaded = Signal(str, int, object)  # case id, item id, list[AuditEntry]

    def __init__(self, actor: str):
        super().__init__()
        self.actor = actor
        self._case: Any = None

    @Slot()
    def begin(self) -> None:
        """First call on the case thread: intake must not slow the interface down, so the
        thread yields to it and imports the image libraries now rather than mid-intake."""
        lower_current_thread_priority()
        import cv2  # noqa: F401
        from PIL import Image  # noqa: F401

        import lfp_desktop.casework  # noqa: F401

    @Slot(object, object, str)
    def open_case(self, case_id: str | None, sizes: tuple[int, ...], title: str = "") -> None:
        """Open case ``case_id``, or create one titled ``title`` when it is None."""
        from lfp_desktop.casework import CaseStore

        try:
            store = CaseStore()
            case = store.open_case(case_id) if case_id else store.new_case(title or "Investigation", self.actor)
        except LFPError as exc:
            self.case_failed.emit(str(exc))
            return
        if self._case is not None:
            self._case.close()
        self._case = case
        summary = CaseSummary(case.id, case.title, case.analyst, case.folder)
        self.case_opened.emit(summary, [replace(self._existing(it, sizes), case_id=case.id) for it in case.items()])

    def _existing(self, item: Any, sizes: tuple[int, ...]) -> IntakeOutcome:
        try:
            evidence = self._case.load_image(item.id)
        except LFPError as exc:
            return IntakeOutcome(0, item.original_path, item=item, error=str(exc), stored=self._stored(item.id))
        return self._prepared(0, item.original_path, item, evidence, sizes)

    def _prepared(self, request_id: int, shown: str, item: Any, evidence: Any, sizes: tuple[int, ...]) -> IntakeOutcome:
        from lfp_desktop.casework import fit_to_resolution

        rgb = evidence.rgb
        fitted = {}
        for s in sizes:
            if fits(rgb.shape[1], rgb.shape[0], s):
                fitted[s] = fit_to_resolution(rgb, s)
        return IntakeOutcome(request_id, shown, item=item, thumbnail=thumbnail(rgb), fitted=fitted,
                             jpeg_grids={s: evidence.grid_for(img) for s, (img, _) in fitted.items()},
                             stored=self._stored(item.id))

    def _stored(self, item_id: int) -> tuple[Any, ...]:
        """The item's stored results the interface can show (read and decoded here, not there)."""
        out = []
        for stored in self._case.results(item_id):
            r = stored.result
            key = "stored:" + "|".join(str(r.get(k)) for k in ("checkpoint_sha256", "scheme_sha256", "registry_digest"))
            outcome = outcome_from_stored(stored, key)
            if outcome is not None:
                out.append(outcome)
        return tuple(out)

    @Slot(object)
    def take_in(self, request: IntakeRequest) -> None:
        """Intake every file of the request (refusals are reported and recorded, others go on)."""
        seen = 0
        for shown, path, problem in list_files(request):
            if request.cancel.is_set():
                break
            seen += 1
            outcome = self._take_one(request, shown, path, problem)
            self.item_taken.emit(replace(outcome, case_id=self._case.id if self._case is not None else ""))
        self.intake_done.emit(request.request_id, seen)

    def _take_one(self, request: IntakeRequest, shown: str, path: str | None, problem: str) -> IntakeOutcome:
        try:
            if self._case is None:
                raise LFPError("no case is open; open or create a case first")
            if path is None:
                self._case.record(self.actor, "evidence_refused", {"path": shown, "reason": problem})
                return IntakeOutcome(request.request_id, shown, error=problem)
            item = self._case.add_evidence(path, self.actor)
            evidence = self._case.load_image(item.id)
        except LFPError as exc:
            return IntakeOutcome(request.request_id, shown, error=str(exc))
        return self._prepared(request.request_id, shown, item, evidence, request.sizes)

    @Slot(object, int)
    def refit(self, item_ids: list[int], size: int) -> None:
        """Fit already taken-in items to another model resolution."""
        from lfp_desktop.casework import fit_to_resolution

        for item_id in item_ids:
            try:
                evidence = self._case.load_image(item_id)
            except LFPError:
                continue
            rgb = evidence.rgb
            if fits(rgb.shape[1], rgb.shape[0], size):
                image, note = fit_to_resolution(rgb, size)
                self.item_refitted.emit(self._case.id, item_id, size, image, note, evidence.grid_for(image))

    @Slot(int, object, str, str)
    def store(self, item_id: int, outcome: Any, item_sha256: str, fit_note: str) -> None:
        """Store an ItemOutcome (record and PNG attachments are made here, off the interface)."""
        record, attachments = outcome_record(outcome, item_sha256=item_sha256, fit_note=fit_note)
        try:
            rid = self._case.store_result(item_id, record, self.actor, attachments=attachments)
        except LFPError as exc:
            self.store_failed.emit(item_id, str(exc))
            return
        self.result_stored.emit(item_id, rid)

    @Slot(int)
    def load_custody(self, item_id: int) -> None:
        if self._case is not None:
            self.custody_loaded.emit(self._case.id, item_id, self._case.custody(item_id))

    @Slot()
    def close(self) -> None:
        if self._case is not None:
            self._case.close()
            self._case = None
