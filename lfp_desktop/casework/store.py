"""The case store: one folder per case under ``config.data_dir() / "cases"``."""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

from lfp_desktop import config
from lfp_desktop.audit import check_actor, clean_text
from lfp_desktop.casework.case import CASE_FILE, Case
from lfp_desktop.casework.models import CaseInfo
from lfp_desktop.errors import CaseError, LFPError

_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def default_root() -> Path:
    """Where cases live unless told otherwise (``$LFP_HOME`` moves it)."""
    return config.data_dir() / "cases"


class CaseStore:
    """All cases under ``root``; case ids look like ``20240501-001`` (UTC date, number)."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else default_root()

    def new_case(self, title: str, analyst: str, notes: str = "") -> Case:
        """Create a case (its folder and database) and return it open."""
        analyst = check_actor(analyst, CaseError)
        try:
            title = clean_text(title, "the case title", required=True, limit=300)
            notes = clean_text(notes.replace("\n", " ") if notes else "", "the notes",
                               required=False, limit=10_000)
        except ValueError as exc:
            raise CaseError(str(exc)) from None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CaseError(f"cannot create the case folder {self.root} ({exc.strerror or exc})") from exc
        case_id, folder = self._reserve_folder()
        return Case.create(folder, case_id=case_id, title=title, analyst=analyst, notes=notes)

    def _reserve_folder(self) -> tuple[str, Path]:
        day = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d")
        taken = [int(p.name[9:]) for p in self.root.glob(f"{day}-*") if p.name[9:].isdigit()]
        number = max(taken, default=0) + 1
        for _ in range(1000):
            case_id = f"{day}-{number:03d}"
            try:
                os.mkdir(self.root / case_id)  # atomic: two programs never get the same id
                return case_id, self.root / case_id
            except FileExistsError:
                number += 1
        raise CaseError(f"could not find a free case id in {self.root}")

    def open_case(self, case_id: str, *, readonly: bool = False) -> Case:
        """Open an existing case by id."""
        if not isinstance(case_id, str) or not _CASE_ID.match(case_id):
            raise CaseError(f"{case_id!r} is not a case id (such as 20240501-001); "
                            "'lfp case list' shows the cases")
        folder = self.root / case_id
        if not (folder / CASE_FILE).exists():
            raise CaseError(f"there is no case {case_id} in {self.root}; 'lfp case list' shows the cases")
        return Case.open(folder, readonly=readonly)

    def list_cases(self) -> list[CaseInfo]:
        """Every case folder, oldest id first; unreadable ones carry a ``problem``."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and _CASE_ID.match(p.name)):
            found.append(_info(folder))
        return found


def _info(folder: Path) -> CaseInfo:
    if not (folder / CASE_FILE).exists():
        return CaseInfo(folder.name, folder, problem="incomplete case folder (no case.sqlite); "
                        "its creation was interrupted")
    try:
        with Case.open(folder, readonly=True) as case:
            return CaseInfo(case.id, folder, case.title, case.analyst, case.created_utc,
                            len(case.items()), len(case.results()))
    except LFPError as exc:
        return CaseInfo(folder.name, folder, problem=str(exc))
