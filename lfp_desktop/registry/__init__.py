"""The key registry: one SQLite file per scheme holding the scheme, users, keys and audit chain."""

from lfp_desktop.registry.models import KeySet, User
from lfp_desktop.registry.store import Registry, default_min_distance

__all__ = ["KeySet", "Registry", "User", "default_min_distance"]
