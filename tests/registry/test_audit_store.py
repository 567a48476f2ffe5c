"""The audited SQLite store under the registry and the cases: schema migrations in order, and
entry hashes exactly as documented."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from lfp_desktop.audit import GENESIS_HASH, AuditedDatabase, StoreKind
from lfp_desktop.errors import LFPError

APP_ID = 0x54455354  # "TEST": a kind of store that exists only in this test

V1 = ("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",)
V2 = ("ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'",)


def v3(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE notes SET author = upper(author)")


KIND_1 = StoreKind("note store", APP_ID, (V1,), LFPError)
KIND_3 = StoreKind("note store", APP_ID, (V1, V2, v3), LFPError)


def test_older_files_are_migrated_in_order_and_the_upgrade_is_audited(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    db = AuditedDatabase.create(path, KIND_1, actor="ana", details={"why": "test"},
                                populate=lambda c: c.execute("INSERT INTO notes (text) VALUES ('hello')"))
    db.close()
    with pytest.raises(LFPError, match="needs a schema upgrade; open it writable once"):
        AuditedDatabase.open(path, KIND_3, readonly=True)
    db = AuditedDatabase.open(path, KIND_3)
    assert db.schema_version() == 3
    assert db.conn.execute("SELECT text, author FROM notes").fetchall() == [("hello", "UNKNOWN")]
    assert [(e.action, e.details) for e in db.entries()] == [
        ("created", {"why": "test"}),
        ("schema_migrated", {"from_version": 1, "to_version": 2}),
        ("schema_migrated", {"from_version": 2, "to_version": 3}),
    ]
    assert db.verify_chain() == []
    db.close()
    with pytest.raises(LFPError, match="newer LFP Desktop"):
        AuditedDatabase.open(path, KIND_1)


def test_entry_hashes_follow_the_documented_definition(tmp_path: Path) -> None:
    db = AuditedDatabase.create(tmp_path / "n.db", KIND_1, actor="ana", details={"b": 1, "a": "é"},
                                populate=lambda c: None)
    with db.transaction():
        db.append("ben", "noted", "note/1", {"text": "x"})
    prev = GENESIS_HASH
    for entry in db.entries():
        details = json.dumps(entry.details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        record = [entry.seq, entry.utc, entry.local_time, entry.actor, entry.action, entry.object,
                  details, prev]
        text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        assert entry.prev_hash == prev
        assert entry.entry_hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert entry.utc.endswith("Z") and entry.local_time[-6] in "+-"
        prev = entry.entry_hash
    assert db.head() == (2, prev)
    db.close()


def test_a_failed_change_leaves_no_entry(tmp_path: Path) -> None:
    db = AuditedDatabase.create(tmp_path / "n.db", KIND_1, actor="ana", details={}, populate=lambda c: None)
    with pytest.raises(ZeroDivisionError):
        with db.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('half')")
            db.append("ana", "noted", "note/1", {})
            1 / 0
    assert db.conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    assert [e.action for e in db.entries()] == ["created"]
    with pytest.raises(RuntimeError, match="inside a transaction"):
        db.append("ana", "noted", "note/1", {})
    db.close()


def test_entries_filter_by_object_prefix_without_wildcards(tmp_path: Path) -> None:
    db = AuditedDatabase.create(tmp_path / "n.db", KIND_1, actor="ana", details={}, populate=lambda c: None)
    with db.transaction():
        for obj in ("item/1", "item/1/result/4", "item/10", "item_1", "item/1x"):
            db.append("ana", "touched", obj, {})
    assert [e.object for e in db.entries(object_prefix="item/1")] == ["item/1", "item/1/result/4"]
    db.close()
