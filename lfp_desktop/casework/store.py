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


def valid_case_id(name: str) -> bool:
    """True for a usable case id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    return isinstance(name, str) and bool(_CASE_ID.match(name))


def default_root() -> Path:
    """Where cases live unless told otherwise (``$LFP_HOME`` moves it)."""
    return config.data_dir() / "cases"


class CaseStore:
    """All cases under ``root``; case ids look like ``20240501-001`` (UTC date, number)."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else default_root()

    def new_case(self, title: str, analyst: str, notes: str = "", *, case_id: str | None = None) -> Case:
        """Create a case (its folder and database) and return it open; ``case_id`` chooses its
        id (default: the next free '<UTC date>-NNN')."""
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
        case_id, folder = self._reserve_folder() if case_id is None else self._claim_folder(case_id)
        return Case.create(folder, case_id=case_id, title=title, analyst=analyst, notes=notes)

    def open_or_create(self, case_id: str, title: str, analyst: str) -> Case:
        """The case ``case_id``, created with that id (and ``title``) when there is none yet."""
        if valid_case_id(case_id) and (self.root / case_id / CASE_FILE).exists():
            return self.open_case(case_id)
        return self.new_case(title, analyst, case_id=case_id)

    def _claim_folder(self, case_id: str) -> tuple[str, Path]:
        if not valid_case_id(case_id):
            raise CaseError(f"{case_id!r} cannot name a case; use 1-64 letters, digits, '.', '_' and '-' "
                            "(e.g. uploads-2024-05)")
        folder = self.root / case_id
        try:
            os.mkdir(folder)  # atomic: two programs never create the same case
        except FileExistsError:
            if not folder.is_dir() or any(folder.iterdir()):  # an empty one is left by an interrupted creation
                raise CaseError(f"{folder} already exists and is not a case; choose another case id") from None
        except OSError as exc:
            raise CaseError(f"cannot create the case folder {folder} ({exc.strerror or exc})") from exc
        return case_id, folder

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
