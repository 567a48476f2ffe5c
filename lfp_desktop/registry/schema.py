"""The registry file's schema, version by version (``PRAGMA user_version``)."""

from __future__ import annotations

from lfp_desktop.audit import REGISTRY_APPLICATION_ID, StoreKind
from lfp_desktop.errors import RegistryError

# Version 1. Users keep their id for life; a revoked user keeps the key (its images still
# exist) so new keys also keep their distance from it.
_V1 = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE scheme (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        data BLOB NOT NULL)""",
    """CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        name_fold TEXT NOT NULL UNIQUE,  -- casefolded: 'Alice' and 'ALICE' are one name
        contact TEXT NOT NULL DEFAULT '',
        external_ref TEXT NOT NULL DEFAULT '',
        key BLOB NOT NULL UNIQUE,
        created_utc TEXT NOT NULL,
        revoked_utc TEXT,
        revoked_reason TEXT NOT NULL DEFAULT '')""",
    # all users in one row, for fast loading (see registry/snapshot.py)
    """CREATE TABLE key_snapshot (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        count INTEGER NOT NULL,
        ids BLOB NOT NULL,
        keys BLOB NOT NULL,
        revoked BLOB NOT NULL,
        names TEXT NOT NULL)""",
    "INSERT INTO key_snapshot VALUES (1, 0, x'', x'', x'', '')",
)

REGISTRY_KIND = StoreKind(label="key registry", application_id=REGISTRY_APPLICATION_ID,
                          migrations=(_V1,), error=RegistryError)
