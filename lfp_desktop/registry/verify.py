"""Registry verification: file integrity, audit chain, scheme hash, and users as audited."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from lfp_desktop.audit import AuditedDatabase, AuditEntry
from lfp_desktop.registry.keys import packed_width
from lfp_desktop.errors import RegistryError
from lfp_desktop.registry.models import rows_sha256
from lfp_desktop.registry.snapshot import read_snapshot, same, table_snapshot

_ADDING = ("enrolled", "imported")


def verify_registry(db: AuditedDatabase, key_len: int, scheme_sha256: str) -> list[str]:
    """Every problem found, the audit chain's first broken entry first; empty when intact."""
    problems = db.verify_chain()
    with db.reading() as conn:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if integrity != ["ok"]:
            problems.append("the file is damaged: " + "; ".join(integrity[:5]))
            return problems
        name, sha, data = conn.execute("SELECT name, sha256, data FROM scheme WHERE id = 1").fetchone()
        bad_keys = [r[0] for r in conn.execute("SELECT id FROM users WHERE length(key) != ? LIMIT 5",
                                               (packed_width(key_len),))]
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    entries = db.entries()
    if hashlib.sha256(bytes(data)).hexdigest() != sha or sha != scheme_sha256:
        problems.append(f"the stored scheme {name!r} does not match its recorded SHA-256; "
                        "the scheme was altered")
    problems += _check_created(entries, meta)
    if bad_keys:
        problems.append(f"users {', '.join(map(str, bad_keys))} have keys of the wrong length "
                        f"(expected {key_len} bits)")
    problems += _check_rows(db, entries)
    problems += _check_revocations(db, entries)
    problems += _check_snapshot(db, key_len)
    return problems


def _check_snapshot(db: AuditedDatabase, key_len: int) -> list[str]:
    width = packed_width(key_len)
    try:
        with db.reading() as conn:
            stored = read_snapshot(conn, width, str(db.path))
            table = table_snapshot(conn, width)
    except RegistryError as exc:
        return [str(exc)]
    if not same(stored, table):
        return ["the key snapshot used for matching differs from the user table; the file was "
                "altered outside LFP Desktop"]
    return []


def _check_created(entries: list[AuditEntry], meta: dict[str, str]) -> list[str]:
    created = next((e for e in entries if e.action == "created"), None)
    if created is None:
        return ["the audit log has no 'created' entry"]
    changed = [k for k in ("key_len", "min_distance", "scheme_sha256", "scheme_name")
               if str(created.details.get(k)) != meta.get(k)]
    if changed:
        return [f"registry settings {', '.join(changed)} differ from those recorded at creation "
                f"(audit entry {created.seq}); they were altered"]
    return []


def _check_rows(db: AuditedDatabase, entries: list[AuditEntry]) -> list[str]:
    problems, covered = [], 0
    with db.reading() as conn:
        for e in (e for e in entries if e.action in _ADDING):
            first, last, count = _ints(e.details, "first_id", "last_id", "count")
            rows = conn.execute("SELECT id, name, contact, external_ref, key, created_utc FROM users "
                                "WHERE id BETWEEN ? AND ? ORDER BY id", (first, last)).fetchall()
            records = [(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows]
            covered += len(records)
            if len(records) != count:
                problems.append(f"users {first}-{last}: audit entry {e.seq} ({e.action}) recorded {count} "
                                f"user(s) but {len(records)} are present; users were removed or added")
            elif rows_sha256(records) != e.details.get("rows_sha256"):
                problems.append(f"users {first}-{last}: their names, contacts, keys or times differ from "
                                f"what audit entry {e.seq} ({e.action}) recorded; they were altered")
        ids = np.fromiter((r[0] for r in conn.execute("SELECT id FROM users ORDER BY id")), np.int64)
    if covered != len(ids):
        mask = np.ones(len(ids), bool)
        for e in (e for e in entries if e.action in _ADDING):
            first, last, _ = _ints(e.details, "first_id", "last_id", "count")
            mask &= ~((ids >= first) & (ids <= last))
        stray = ids[mask][:10].tolist()
        if stray:
            problems.append(f"users {', '.join(map(str, stray))} were added without an audit entry")
    return problems


def _check_revocations(db: AuditedDatabase, entries: list[AuditEntry]) -> list[str]:
    expected: dict[int, tuple[str, str]] = {}
    for e in (e for e in entries if e.action == "revoked"):
        uid = _ints(e.details, "user_id")[0]
        expected[uid] = (str(e.details.get("revoked_utc")), str(e.details.get("reason")))
    with db.reading() as conn:
        actual = {int(r[0]): (r[1], r[2]) for r in conn.execute(
            "SELECT id, revoked_utc, revoked_reason FROM users WHERE revoked_utc IS NOT NULL")}
    problems = []
    for uid in sorted(set(expected) | set(actual)):
        if uid not in actual:
            problems.append(f"user {uid}: revoked in the audit log but not in the user table; "
                            "the revocation was undone")
        elif uid not in expected:
            problems.append(f"user {uid}: marked revoked without an audit entry")
        elif actual[uid] != expected[uid]:
            problems.append(f"user {uid}: revocation time or reason differs from the audit log")
    return problems


def _ints(details: dict[str, Any], *names: str) -> list[int]:
    try:
        return [int(details[n]) for n in names]
    except (KeyError, TypeError, ValueError):
        return [-1 for _ in names]
