"""``lfp inspect``: intake without analysis, for triage — one line (or JSON object) per file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from lfp_desktop.casework.intake import DEFAULT_MAX_PIXELS, read_evidence
from lfp_desktop.casework.paths import is_clean_name, walk_files
from lfp_desktop.errors import EvidenceError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inspect", help="decode and hash image files without analysing them",
        description="Read every file (folders recursively), hash and decode it as evidence would be; "
                    "print what was found or why the file is unusable. Files are never modified.")
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="image files or folders")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: path + sha256, format, width, height, conversions… "
                        "or path + error")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help=f"refuse images with more pixels (default {DEFAULT_MAX_PIXELS})")
    p.set_defaults(handler=_inspect)


def inspect_one(path: str | None, shown: str, error: str, max_pixels: int) -> dict[str, Any]:
    """The triage record of one file: either its facts or a human-readable ``error``."""
    record: dict[str, Any] = {"path": shown}
    if path is not None and not is_clean_name(path):
        record["path_note"] = "the file name is not valid UTF-8; undecodable bytes are shown as \\xNN"
    if error or path is None:
        record["error"] = error or f"{shown} could not be read"
        return record
    try:
        image = read_evidence(path, max_pixels=max_pixels)
    except EvidenceError as exc:
        record["error"] = str(exc)
        return record
    except MemoryError:
        record["error"] = f"{shown}: not enough memory to decode this image"
        return record
    record.update({"sha256": image.sha256, "size_bytes": image.size_bytes, "format": image.format,
                   "width": image.width, "height": image.height, "mode": image.mode,
                   "conversions": list(image.conversions), "frames_note": image.frames_note,
                   "warnings": list(image.warnings), "exif_summary": image.exif_summary})
    return record


def _inspect(args: argparse.Namespace) -> int:
    try:
        for found in walk_files(args.paths):
            record = inspect_one(found.path, found.shown, found.error, args.max_pixels)
            sys.stdout.write((json.dumps(record) if args.json else _line(record)) + "\n")
            sys.stdout.flush()
    except BrokenPipeError:
        # the reader (e.g. `head`) has all it wants; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def _line(record: dict[str, Any]) -> str:
    if "error" in record:
        return f"{record['path']}: ERROR: {record['error']}"
    parts = [f"{record['format']} {record['width']}×{record['height']} {record['mode']}",
             f"{record['size_bytes']} bytes", f"sha256 {record['sha256']}"]
    parts += record["conversions"] + ([record["frames_note"]] if record["frames_note"] else [])
    parts += [f"note: {w}" for w in record["warnings"]]
    return f"{record['path']}: " + "; ".join(parts)
