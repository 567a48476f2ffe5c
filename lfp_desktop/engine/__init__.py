"""The attribution engine: torch + numpy only (no Qt, SQLite or PDF code here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from lfp_desktop.engine.checkpoint import load_generator as load_generator


def __getattr__(name: str) -> Any:
    # torch is imported lazily so `import lfp_desktop.engine` stays cheap.
    if name == "load_generator":
        from lfp_desktop.engine.checkpoint import load_generator

        return load_generator
    raise AttributeError(name)
