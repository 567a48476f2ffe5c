"""Locate the files under resources/ (the bundled demo, icons) without importing Qt or torch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "LFP_RESOURCES"


def resources_dir() -> Path:
    """The folder holding the bundled demo and icons.

    Looked up in order: $LFP_RESOURCES, a PyInstaller bundle, the source checkout
    (editable install), then ``<prefix>/share/lfp-desktop/resources``.
    """
    candidates: list[Path] = []
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    if hasattr(sys, "_MEIPASS"):
        candidates.append(Path(getattr(sys, "_MEIPASS")) / "resources")
    candidates.append(Path(__file__).resolve().parent.parent / "resources")
    candidates.append(Path(sys.prefix) / "share" / "lfp-desktop" / "resources")
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "LFP Desktop's resources folder was not found; reinstall the application "
        f"or point ${ENV_VAR} at the 'resources' folder of the source tree"
    )


def resource(*parts: str) -> Path:
    """Path of one bundled resource, e.g. ``resource("demo", "generator.pt")``."""
    return resources_dir().joinpath(*parts)
