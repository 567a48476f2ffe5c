"""The registry file: creation, opening (and refusing), enrolment, revocation, keys, digest."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lfp_desktop.errors import RegistryError
from lfp_desktop.registry import KeySet, Registry, default_min_distance
from lfp_desktop.registry.keys import unpack_keys

SCHEME = b"PK\x03\x04 pretend scheme bytes " + bytes(range(256)) * 4


def new_registry(path: Path, key_len: int = 32, min_distance: int | None = None) -> Registry:
    return Registry.create(path, scheme_bytes=SCHEME, scheme_name="test scheme", key_len=key_len,
                           actor="alice", min_distance=min_distance)


def file_state(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_create_stores_scheme_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "r.lfpreg"
    with new_registry(path) as reg:
        assert reg.key_len == 32 and reg.min_distance == default_min_distance(32) == 4
        assert reg.scheme_sha256 == hashlib.sha256(SCHEME).hexdigest()
        assert reg.scheme_bytes() == SCHEME
        assert reg.count() == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    with Registry.open(path, readonly=True) as reg:
        entries = reg.audit_log()
        assert [e.action for e in entries] == ["created"]
        assert entries[0].actor == "alice" and entries[0].details["key_len"] == "32"


def test_create_refuses_an_existing_file_and_bad_settings(tmp_path: Path) -> None:
    path = tmp_path / "r.lfpreg"
    path.write_bytes(b"precious")
    with pytest.raises(RegistryError, match="already exists"):
        new_registry(path)
    assert path.read_bytes() == b"precious"
    for kwargs, msg in [({"key_len": 0}, "key length"), ({"min_distance": 99}, "minimum distance"),
                        ({"actor": " "}, "actor name must not be empty")]:
        args = {"scheme_bytes": SCHEME, "scheme_name": "s", "key_len": 32, "actor": "a", **kwargs}
        with pytest.raises(RegistryError, match=msg):
            Registry.create(tmp_path / "other.lfpreg", **args)
    assert not (tmp_path / "other.lfpreg").exists()


def make_other_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_text("id,name,key\n1,a,0101\n"), "not an SQLite database"),
    (make_other_sqlite, "SQLite database of another program"),
])
def test_open_refuses_files_that_are_not_registries(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "thing.lfpreg"
    make(path)
    before = file_state(path)
    with pytest.raises(RegistryError, match=message):
        Registry.open(path)
    assert file_state(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing.lfpreg"]


def test_open_refuses_a_case_database_by_name(tmp_path: Path) -> None:
    from lfp_desktop.casework import CaseStore

    case = CaseStore(tmp_path / "cases").new_case("c", "ana")
    case.close()
    with pytest.raises(RegistryError, match="is an LFP case database, not a key registry"):
        Registry.open(case.path)


def test_open_refuses_a_truncated_registry_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.lfpreg"
    with new_registry(path, key_len=64) as reg:
        reg.enroll_many([f"u{i}" for i in range(3000)], actor="alice", rng=np.random.default_rng(0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = file_state(path)
    with pytest.raises(RegistryError, match="damaged"):
        Registry.open(path)
    assert file_state(path) == before


def test_open_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "r.lfpreg"
    new_registry(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    before = file_state(path)
    with pytest.raises(RegistryError, match="newer LFP Desktop"):
        Registry.open(path)
    assert file_state(path) == before


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        Registry.open(tmp_path / "nope.lfpreg")
    assert not (tmp_path / "nope.lfpreg").exists()


def test_enrol_gives_distinct_keys_far_apart_and_logs_it(tmp_path: Path) -> None:
    with new_registry(tmp_path / "r.lfpreg", key_len=24, min_distance=5) as reg:
        alice = reg.enroll("Alice", contact="alice@example.org", external_ref="HR-1", actor="ops",
                           rng=np.random.default_rng(1))
        many = reg.enroll_many([f"user {i}" for i in range(400)], actor="ops", rng=np.random.default_rng(2))
        assert alice.id == 1 and [u.id for u in many] == list(range(2, 402))
        assert reg.user(1) == alice and alice.contact == "alice@example.org" and not alice.revoked
        assert len(alice.key_string) == 24 and set(alice.key_string) <= {"0", "1"}
        keys = reg.load_keys()
        bits = unpack_keys(keys.packed, 24).astype(np.int16)
        d = (bits[:, None] != bits[None]).sum(axis=2) + np.eye(len(bits), dtype=int) * 99
        assert d.min() >= 5
        log = reg.audit_log()
        assert [e.action for e in log] == ["created", "enrolled", "enrolled"]
        assert log[1].object == "user/1" and log[1].details["name"] == "Alice"
        assert log[2].object == "users/2-401" and log[2].details["count"] == 400
        assert reg.verify() == []


def test_enrol_refuses_duplicate_names_ignoring_case_and_adds_nothing(tmp_path: Path) -> None:
    with new_registry(tmp_path / "r.lfpreg") as reg:
        reg.enroll("Alice", actor="ops")
        before = (reg.count(), reg.head())
        with pytest.raises(RegistryError, match="'ALICE' is already used by registered user 1"):
            reg.enroll_many(["Bob", "ALICE"], actor="ops")
        with pytest.raises(RegistryError, match="user 2: the name 'bob' is already used by user 1"):
            reg.enroll_many(["Bob", "bob"], actor="ops")
        with pytest.raises(RegistryError, match="control characters"):
            reg.enroll("Eve\nMallory", actor="ops")
        with pytest.raises(RegistryError, match="empty"):
            reg.enroll("   ", actor="ops")
        assert (reg.count(), reg.head()) == before


def test_enrol_refuses_what_the_key_space_cannot_hold(tmp_path: Path) -> None:
    with new_registry(tmp_path / "r.lfpreg", key_len=8, min_distance=3) as reg:
        reg.enroll_many([f"u{i}" for i in range(10)], actor="ops")
        with pytest.raises(RegistryError, match="nothing was enrolled: 40 keys of 8 bits cannot all be "
                                                "at least 3 bits apart"):
            reg.enroll_many([f"v{i}" for i in range(30)], actor="ops")
        assert reg.count() == 10 and reg.verify() == []


def test_revoke_keeps_the_key_and_excludes_it_from_matching(tmp_path: Path) -> None:
    with new_registry(tmp_path / "r.lfpreg") as reg:
        users = reg.enroll_many(["a", "b", "c"], actor="ops")
        revoked = reg.revoke(2, "lead", "contract ended")
        assert revoked.revoked and revoked.revoked_reason == "contract ended"
        assert revoked.key == users[1].key
        active = reg.load_keys()
        assert active.user_ids.tolist() == [1, 3] and active.names == ["a", "c"]
        everyone = reg.load_keys(include_revoked=True)
        assert everyone.revoked.tolist() == [False, True, False]
        assert everyone.digest == active.digest  # the digest describes the whole registry
        with pytest.raises(RegistryError, match="already revoked"):
            reg.revoke(2, "lead", "again")
        with pytest.raises(RegistryError, match="give a reason"):
            reg.revoke(1, "lead", "")
        with pytest.raises(RegistryError, match="there is no user 99"):
            reg.revoke(99, "lead", "x")
        entry = reg.audit_log("user/2")[-1]
        assert (entry.action, entry.actor, entry.details["reason"]) == ("revoked", "lead", "contract ended")
        assert reg.verify() == []


def test_load_keys_is_the_documented_layout(tmp_path: Path) -> None:
    with new_registry(tmp_path / "r.lfpreg", key_len=37) as reg:
        users = reg.enroll_many([f"u{i}" for i in range(50)], actor="ops")
        keys = reg.load_keys()
    assert isinstance(keys, KeySet) and len(keys) == 50 and keys.key_len == 37
    assert keys.user_ids.dtype == np.int64 and keys.user_ids.tolist() == list(range(1, 51))
    assert keys.packed.dtype == np.uint8 and keys.packed.shape == (50, 5) and keys.packed.flags.c_contiguous
    assert [bytes(row) for row in keys.packed] == [u.key for u in users]
    bits = unpack_keys(keys.packed[7], 37)
    assert keys.nearest(keys.pack(bits), 1) == [(8, "u7", 0)]
    bits[:2] ^= 1
    assert keys.nearest(keys.pack(bits), 1)[0] == (8, "u7", 2)


def test_digest_follows_its_definition(tmp_path: Path) -> None:
    with new_registry(tmp_path / "r.lfpreg", key_len=20) as reg:
        users = reg.enroll_many(["a", "b", "c"], actor="ops")
        reg.revoke(2, "ops", "gone")
        digest = reg.digest()
    expected = hashlib.sha256(b"lfp-registry-digest-v1\0" + SCHEME + (20).to_bytes(4, "big"))
    for user in users:
        expected.update(user.id.to_bytes(8, "big") + bytes([user.id == 2]) + user.key)
    assert digest == expected.hexdigest()


def test_digest_changes_with_each_change(tmp_path: Path) -> None:
    with new_registry(tmp_path / "r.lfpreg") as reg:
        seen = {reg.digest()}
        reg.enroll("a", actor="ops")
        seen.add(reg.digest())
        reg.enroll("b", actor="ops")
        seen.add(reg.digest())
        reg.revoke(1, "ops", "x")
        seen.add(reg.digest())
        assert len(seen) == 4
        assert reg.digest() == reg.digest()


def test_readonly_registry_refuses_changes(tmp_path: Path) -> None:
    path = tmp_path / "r.lfpreg"
    new_registry(path).close()
    with Registry.open(path, readonly=True) as reg:
        with pytest.raises(RegistryError, match="read-only"):
            reg.enroll("a", actor="ops")
        assert reg.count() == 0


def test_changes_survive_reopening_and_a_second_writer_sees_them(tmp_path: Path) -> None:
    path = tmp_path / "r.lfpreg"
    first = new_registry(path)
    first.enroll("a", actor="ops")
    with Registry.open(path) as second:
        second.enroll("b", actor="ops2")
    assert [u.name for u in first.users()] == ["a", "b"]
    assert first.enroll("c", actor="ops").id == 3  # the first writer continues after the second
    first.close()
    with Registry.open(path) as reg:
        assert reg.count() == 3 and reg.verify() == []
