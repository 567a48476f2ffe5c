"""The case a scan writes to: an existing case, or a new one made on the spot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def open_scan_case(out: str, *, analyst: str, root: str | os.PathLike[str] | None = None, title: str = "") -> Any:
    """The case a scan writes to, opened for writing: ``out`` is a case id of the case store
    under ``root`` (default: the LFP data folder) or the path of a case folder. A case that
    does not exist yet is created, its id being the folder's name."""
    from lfp_desktop.casework.store import CaseStore

    if os.sep in out or "/" in out:
        folder = Path(out)
        store, case_id = CaseStore(folder.parent), folder.name
    else:
        store, case_id = CaseStore(root), out
    return store.open_or_create(case_id, title or f"Scan {case_id}", analyst)
