"""Which files a scan looks at: folders walked (recursively or not), kept by file type."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".gif")


@dataclass(frozen=True)
class Candidate:
    """A file to take in (``path`` set) or a problem met while listing (``path`` None, ``error`` set)."""

    shown: str
    path: str | None
    error: str = ""


def list_candidates(paths: Iterable[str | os.PathLike[str]], *, recursive: bool = True,
                    suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Candidate]:
    """Every candidate file, in order: folders are walked (sorted; ``recursive`` or top level
    only) keeping files whose lower-case suffix is in ``suffixes``; files named directly are
    always kept."""
    from lfp_desktop.casework.paths import display_path, walk_files

    out: list[Candidate] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            for f in (walk_files([p]) if recursive else _top_level(p)):
                if f.path is None or f.path.lower().endswith(suffixes):
                    out.append(Candidate(f.shown, f.path, f.error))
        else:
            out.append(Candidate(display_path(p), p))
    return out


def _top_level(folder: str) -> list[Candidate]:
    from lfp_desktop.casework.paths import display_path

    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        return [Candidate(display_path(folder), None, f"{display_path(folder)} could not be read ({exc.strerror})")]
    paths = [os.path.join(folder, n) for n in names]
    return [Candidate(display_path(p), p) for p in paths if os.path.isfile(p)]


def parse_types(text: str) -> tuple[str, ...]:
    """'*.png, jpg;.tif' -> ('.png', '.jpg', '.tif'); empty text means every image type."""
    parts = [p.strip().lstrip("*").lower() for p in text.replace(",", " ").replace(";", " ").split()]
    out = tuple(p if p.startswith(".") else f".{p}" for p in parts if p.strip("."))
    return out or IMAGE_SUFFIXES


def fits(width: int, height: int, size: int) -> bool:
    """A model fits an image whose shorter side is at least its resolution (never upscaled)."""
    return min(width, height) >= size
