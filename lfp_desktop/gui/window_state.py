"""What the window remembers between runs: geometry, dock layout, loaded models, the last
case and folder. Kept in ``desktop.ini`` next to settings.json (``config_dir()``)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow

from lfp_desktop.config import Settings, config_dir
from lfp_desktop.gui.jobs import ModelSpec

MAX_RECENT = 10
STATE_VERSION = 1


def gui_settings() -> QSettings:
    config_dir().mkdir(parents=True, exist_ok=True)
    return QSettings(str(config_dir() / "desktop.ini"), QSettings.Format.IniFormat)


def save_window(window: QMainWindow) -> None:
    qs = gui_settings()
    qs.setValue("window/geometry", window.saveGeometry())
    qs.setValue("window/state", window.saveState(STATE_VERSION))
    qs.sync()


def restore_window(window: QMainWindow) -> bool:
    """Restore geometry and dock layout; False when nothing was saved."""
    qs = gui_settings()
    geometry, state = qs.value("window/geometry"), qs.value("window/state")
    if geometry is None:
        return False
    window.restoreGeometry(geometry)
    if state is not None:
        window.restoreState(state, STATE_VERSION)
    return True


def saved_models() -> list[ModelSpec]:
    """The (registry, checkpoint) pairs the user loaded last time."""
    raw = gui_settings().value("models/pairs", "[]")
    try:
        pairs = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    return [ModelSpec(Path(r), Path(c)) for r, c in pairs if isinstance(r, str) and isinstance(c, str)]


def save_models(specs: list[ModelSpec]) -> None:
    qs = gui_settings()
    qs.setValue("models/pairs", json.dumps([[str(s.registry_path), str(s.checkpoint_path)] for s in specs]))
    qs.sync()


def value(name: str, default: str = "") -> str:
    v = gui_settings().value(name, default)
    return v if isinstance(v, str) else default


def set_value(name: str, text: str) -> None:
    qs = gui_settings()
    qs.setValue(name, text)
    qs.sync()


def add_recent(settings: Settings, paths: list[str]) -> None:
    """Put ``paths`` first in ``settings.recent_files`` (at most MAX_RECENT, no repeats)."""
    merged = list(dict.fromkeys(list(paths) + list(settings.recent_files)))
    settings.recent_files = merged[:MAX_RECENT]
