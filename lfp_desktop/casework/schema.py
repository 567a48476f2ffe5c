"""A case database's schema, version by version (``PRAGMA user_version``)."""

from __future__ import annotations

from lfp_desktop.audit import CASE_APPLICATION_ID, StoreKind
from lfp_desktop.errors import CaseError

_V1 = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        size_bytes INTEGER NOT NULL,
        original_path TEXT NOT NULL,
        original_mtime TEXT NOT NULL,
        format TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        mode TEXT NOT NULL,
        conversions TEXT NOT NULL,   -- JSON list
        exif TEXT NOT NULL,          -- JSON object
        frames_note TEXT NOT NULL,
        warnings TEXT NOT NULL,      -- JSON list
        working_copy TEXT NOT NULL,  -- relative to the case folder
        intake_utc TEXT NOT NULL,
        intake_local TEXT NOT NULL,
        actor TEXT NOT NULL)""",
    """CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        created_utc TEXT NOT NULL,
        actor TEXT NOT NULL,
        verdict TEXT,
        user_id INTEGER,
        user_name TEXT,
        engine_version TEXT,
        checkpoint_sha256 TEXT,
        scheme_sha256 TEXT,
        registry_digest TEXT,
        result_json TEXT NOT NULL,
        result_sha256 TEXT NOT NULL,
        attachments TEXT NOT NULL)  -- JSON {name: {"file": relative path, "sha256", "size"}}""",
    "CREATE INDEX results_item ON results(item_id)",
    "CREATE INDEX results_verdict ON results(verdict)",
    "CREATE INDEX results_user ON results(user_id)",
)

CASE_KIND = StoreKind(label="case database", application_id=CASE_APPLICATION_ID,
                      migrations=(_V1,), error=CaseError)
