"""Verification finds edits made behind the registry's back and names the first broken entry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lfp_desktop.errors import RegistryError
from lfp_desktop.registry import Registry


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "r.lfpreg"
    with Registry.create(path, scheme_bytes=b"scheme", scheme_name="s", key_len=32, actor="ops") as reg:
        reg.enroll_many(["a", "b", "c"], actor="ops", rng=np.random.default_rng(0))  # entry 2
        reg.enroll("d", actor="ops2")                                              # entry 3
        reg.revoke(2, "ops", "left")                                               # entry 4
        assert reg.verify() == []
    return path


def tamper(path: Path, *statements: str) -> None:
    """Edit the file with plain SQLite, as someone bypassing the application would."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def problems(path: Path) -> list[str]:
    with Registry.open(path, readonly=True) as reg:
        return reg.verify()


def test_audit_entries_cannot_be_edited_through_sqlite_by_accident(registry_file: Path) -> None:
    conn = sqlite3.connect(registry_file)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 3")
    conn.close()


def test_an_altered_entry_is_named_first(registry_file: Path) -> None:
    tamper(registry_file, "UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    found = problems(registry_file)
    assert found[0].startswith("audit entry 3 (enrolled on user/4 by mallory")
    assert "do not match its hash" in found[0]


def test_a_removed_entry_is_named(registry_file: Path) -> None:
    tamper(registry_file, "DELETE FROM audit WHERE seq = 2")
    found = problems(registry_file)
    assert found[0].startswith("audit entry 3 ") and "missing before it" in found[0]
    assert any("users 1, 2, 3 were added without an audit entry" in p for p in found)


def test_an_edited_key_is_found(registry_file: Path) -> None:
    tamper(registry_file, "UPDATE users SET key = x'00000000' WHERE id = 3")
    found = problems(registry_file)
    assert any("users 1-3: their names, contacts, keys or times differ from what audit entry 2" in p
               for p in found)
    assert any("key snapshot" in p for p in found)


def test_an_undone_revocation_is_found(registry_file: Path) -> None:
    tamper(registry_file, "UPDATE users SET revoked_utc = NULL WHERE id = 2")
    assert any("user 2: revoked in the audit log but not in the user table" in p
               for p in problems(registry_file))


def test_an_altered_scheme_is_found(registry_file: Path) -> None:
    tamper(registry_file, "UPDATE scheme SET data = x'00'")
    assert any("does not match its recorded SHA-256" in p for p in problems(registry_file))


def test_changed_settings_are_found(registry_file: Path) -> None:
    tamper(registry_file, "UPDATE meta SET value = '1' WHERE key = 'min_distance'")
    assert any("min_distance differ from those recorded at creation" in p for p in problems(registry_file))


def test_a_stale_snapshot_stops_matching_with_a_clear_message(registry_file: Path) -> None:
    tamper(registry_file, "INSERT INTO users (id, name, name_fold, key, created_utc) "
                          "VALUES (9, 'ghost', 'ghost', x'01020304', 'now')")
    with Registry.open(registry_file, readonly=True) as reg:
        with pytest.raises(RegistryError, match="does not match its user table"):
            reg.load_keys()
        found = reg.verify()
    assert any("users 9 were added without an audit entry" in p for p in found)
