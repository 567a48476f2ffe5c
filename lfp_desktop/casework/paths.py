"""File names as users see them, and walking folders safely (symbolic-link loops included)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


def display_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """A printable, UTF-8-safe form of a path: bytes that are not UTF-8 appear as \\xNN."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


def is_clean_name(path: str | os.PathLike[str]) -> bool:
    """True when the path is valid UTF-8 (so ``display_path`` shows it unchanged)."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class Found:
    """A file to look at, or a problem met while looking (``error`` set, ``path`` maybe None)."""

    shown: str
    path: str | None
    error: str = ""


def walk_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Found]:
    """Files named directly, and every file under named folders (sorted, recursive).

    Symbolic links to files are followed; a link to a folder is followed once, and a link
    that leads back to a folder already walked, or to itself, is reported instead of looped.
    """
    seen: set[tuple[int, int]] = set()
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            yield from _walk_dir(path, seen)
        else:
            yield _file_entry(path)


def _walk_dir(folder: str, seen: set[tuple[int, int]]) -> Iterator[Found]:
    try:
        st = os.stat(folder)
    except OSError as exc:
        yield Found(display_path(folder), None, _problem(folder, exc))
        return
    ident = (st.st_dev, st.st_ino)
    if ident in seen:
        yield Found(display_path(folder), None,
                    f"{display_path(folder)} is a symbolic link loop: it leads back to a folder "
                    "already scanned; skipped")
        return
    seen.add(ident)
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Found(display_path(folder), None, _problem(folder, exc))
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir()  # follows links; False for a loop or broken link
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk_dir(entry.path, seen)
        else:
            yield _file_entry(entry.path)


def _file_entry(path: str) -> Found:
    shown = display_path(path)
    try:
        os.stat(path)
    except OSError as exc:
        return Found(shown, None, _problem(path, exc))
    return Found(shown, path)


def _problem(path: str, exc: OSError) -> str:
    shown = display_path(path)
    if exc.errno == errno.ELOOP:
        return f"{shown} is a symbolic link loop (it points back to itself); skipped"
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"{shown} is a broken symbolic link (its target does not exist)"
        return f"{shown} does not exist"
    if exc.errno == errno.EACCES:
        return f"{shown} cannot be read: permission denied"
    return f"{shown} could not be read ({exc.strerror or exc})"
