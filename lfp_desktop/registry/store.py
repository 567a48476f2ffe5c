"""The key registry: one SQLite file per fingerprinting scheme, with its users and keys.

Every change (creation, enrolment, import, revocation, schema upgrade) runs in one
transaction together with its audit entry, so a killed process leaves all of it or none.

Registry digest (:meth:`Registry.digest`): hex SHA-256 over, in order,
``b"lfp-registry-digest-v1\\0"``, the scheme file bytes, ``key_len`` as 4 bytes big-endian,
then for every user (revoked ones included) in ascending id order: the id as 8 bytes
big-endian, 1 byte revoked flag (0/1), the packed key (ceil(key_len/8) bytes).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from lfp_desktop.audit import AuditedDatabase, AuditEntry, check_actor, now_stamps
from lfp_desktop.errors import RegistryError
from lfp_desktop.registry import io as reg_io
from lfp_desktop.registry.keys import KeyIssueError, issue_keys, packed_width
from lfp_desktop.registry.models import (MAX_NAME_CHARS, MAX_TEXT_CHARS, KeySet, User, clean_text,
                                         clean_texts, rows_sha256)
from lfp_desktop.registry.schema import REGISTRY_KIND
from lfp_desktop.registry.snapshot import Snapshot, read_snapshot, write_snapshot
from lfp_desktop.registry.verify import verify_registry

Progress = Callable[[int, int], None]
INSERT_CHUNK = 10_000
MAX_KEY_LEN = 4096
_USER_COLUMNS = "id, name, contact, external_ref, key, created_utc, revoked_utc, revoked_reason"


def default_min_distance(key_len: int) -> int:
    """Minimum Hamming distance used when none is given: an eighth of the key, at least 1."""
    return max(1, key_len // 8)


def _clean_people(names: Sequence[str], contacts: Sequence[str],
                  refs: Sequence[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Validated (name, contact, external_ref) triples and problems 'user i (name): why'."""
    clean_names, bad = clean_texts(names, "the name", required=True, limit=MAX_NAME_CHARS)
    clean_contacts, bad_c = clean_texts(contacts, "the contact", required=False, limit=MAX_TEXT_CHARS)
    clean_refs, bad_r = clean_texts(refs, "the external reference", required=False, limit=MAX_TEXT_CHARS)
    problems = [f"user {i + 1} ({names[i]!r}): {why}" for i, why in sorted(bad + bad_c + bad_r)]
    return list(zip(clean_names, clean_contacts, clean_refs)), problems


def _id_names(snap: Snapshot) -> list[tuple[int, str]]:
    return list(zip(snap.ids.tolist(), snap.names))


class Registry:
    """An open registry file. Make one with :meth:`create` or :meth:`open`; close it (or use
    ``with``) when done."""

    def __init__(self, db: AuditedDatabase):
        self._db = db
        with db.reading() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        try:
            self.key_len = int(meta["key_len"])
            self.min_distance = int(meta["min_distance"])
            self.scheme_name = meta["scheme_name"]
            self.scheme_sha256 = meta["scheme_sha256"]
            self.created_utc = meta["created_utc"]
        except (KeyError, ValueError) as exc:
            raise RegistryError(f"{db.path} is a damaged key registry (settings missing: {exc}); "
                                "restore it from a backup") from exc

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], *, scheme_bytes: bytes, scheme_name: str,
               key_len: int, actor: str, min_distance: int | None = None) -> Registry:
        """New registry file for one scheme (stored as its exact bytes + SHA-256).

        ``key_len``: bits per key (1..4096); ``min_distance``: bits every new key keeps from
        every other (default :func:`default_min_distance`). Refuses an existing file.
        """
        actor = check_actor(actor, RegistryError)
        if not isinstance(key_len, int) or not 1 <= key_len <= MAX_KEY_LEN:
            raise RegistryError(f"key length must be a whole number of bits from 1 to {MAX_KEY_LEN}, "
                                f"got {key_len!r}")
        min_distance = default_min_distance(key_len) if min_distance is None else min_distance
        if not isinstance(min_distance, int) or not 0 <= min_distance <= key_len:
            raise RegistryError(f"minimum distance must be from 0 to the key length {key_len}, "
                                f"got {min_distance!r}")
        if not isinstance(scheme_bytes, bytes) or not scheme_bytes:
            raise RegistryError("the scheme file is empty; give the scheme file made by 'lfp scheme create'")
        try:
            name = clean_text(scheme_name, "the scheme name", required=True, limit=MAX_NAME_CHARS)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
        sha = hashlib.sha256(scheme_bytes).hexdigest()
        utc, _ = now_stamps()
        meta = {"format": "lfp-registry", "key_len": str(key_len), "min_distance": str(min_distance),
                "scheme_name": name, "scheme_sha256": sha, "created_utc": utc}

        def populate(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
            conn.execute("INSERT INTO scheme VALUES (1, ?, ?, ?)", (name, sha, scheme_bytes))

        details = {k: v for k, v in meta.items() if k != "format"}
        db = AuditedDatabase.create(path, REGISTRY_KIND, actor=actor, details=details, populate=populate)
        return cls._wrap(db)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> Registry:
        """Open an existing registry; refuses other files, damaged or newer ones (changing nothing)."""
        return cls._wrap(AuditedDatabase.open(path, REGISTRY_KIND, readonly=readonly))

    @classmethod
    def _wrap(cls, db: AuditedDatabase) -> Registry:
        try:
            db.conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: bulk inserts into key index
            return cls(db)
        except BaseException:
            db.close()
            raise

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def readonly(self) -> bool:
        return self._db.readonly

    def scheme_bytes(self) -> bytes:
        """The scheme file exactly as it was registered."""
        with self._db.reading() as conn:
            return bytes(conn.execute("SELECT data FROM scheme WHERE id = 1").fetchone()[0])

    # -- changes -------------------------------------------------------------------------
    def enroll(self, name: str, *, contact: str = "", external_ref: str = "", actor: str,
               rng: np.random.Generator | None = None) -> User:
        """Register one user with a fresh random key (see :meth:`enroll_many`)."""
        return self.enroll_many([name], contacts=[contact], external_refs=[external_ref],
                                actor=actor, rng=rng)[0]

    def enroll_many(self, names: Sequence[str], *, contacts: Sequence[str] | None = None,
                    external_refs: Sequence[str] | None = None, actor: str,
                    rng: np.random.Generator | None = None, progress: Progress | None = None) -> list[User]:
        """Register users, each with a random key at least ``min_distance`` bits from every
        key in the registry (revoked ones included). All or none are added.

        ``rng``: only for reproducible tests (keys otherwise come from the OS's secure
        generator). ``progress(done, total)`` is called while rows are written.
        """
        actor = check_actor(actor, RegistryError)
        n = len(names)
        contacts = contacts if contacts is not None else [""] * n
        refs = external_refs if external_refs is not None else [""] * n
        if not (len(contacts) == len(refs) == n):
            raise ValueError("names, contacts and external_refs must have the same length")
        people, problems = _clean_people(names, contacts, refs)
        if problems or not people:
            raise RegistryError("nothing was enrolled: " + ("; ".join(problems[:10]) or "no names given"))
        with self._db.transaction() as conn:
            snap = self._snapshot(conn)
            wanted = [p[0] for p in people]
            problems = reg_io.name_conflicts(wanted, self._users_named(conn, snap, wanted),
                                             lambda i: f"user {i + 1}")
            if problems:
                raise RegistryError("nothing was enrolled: " + "; ".join(problems[:10]))
            try:
                new_keys = issue_keys(n, snap.keys, self.key_len, self.min_distance, rng)
            except KeyIssueError as exc:
                raise RegistryError(f"nothing was enrolled: {exc}") from None
            blobs = [k.tobytes() for k in new_keys]
            users = self._insert(conn, snap, [(*p, k) for p, k in zip(people, blobs)], actor,
                                 "enrolled", {}, progress)
        return users

    def import_file(self, path: str | os.PathLike[str], actor: str, *,
                    progress: Progress | None = None) -> list[User]:
        """Add the users of a CSV or JSON file (see :mod:`lfp_desktop.registry.io`). Every row
        is checked first (key length, 0/1 only, duplicate names or keys, minimum distance);
        any problem is reported by line and nothing is imported."""
        actor = check_actor(actor, RegistryError)
        rows, problems, file_sha = reg_io.read_import_file(path, self.key_len)
        with self._db.transaction() as conn:
            snap = self._snapshot(conn)
            problems += reg_io.find_conflicts(rows, _id_names(snap), snap.keys, self.key_len,
                                              self.min_distance)
            reg_io.raise_problems(path, problems)
            source = {"source_file": Path(path).name, "source_sha256": file_sha}
            people = [(r.name, r.contact, r.external_ref, r.key) for r in rows]
            users = self._insert(conn, snap, people, actor, "imported", source, progress)
            revoked = [i for i, r in enumerate(rows) if r.revoked_utc]
            if revoked:
                snap = self._snapshot(conn)
                for i in revoked:
                    row = rows[i]
                    self._mark_revoked(conn, snap, users[i], actor, row.revoked_reason, row.revoked_utc or "")
                    users[i] = replace(users[i], revoked_utc=row.revoked_utc, revoked_reason=row.revoked_reason)
                write_snapshot(conn, snap)
        return users

    def revoke(self, user_id: int, actor: str, reason: str) -> User:
        """Mark a user revoked (the key stays: images made with it still exist)."""
        actor = check_actor(actor, RegistryError)
        try:
            reason = clean_text(reason, "the reason", required=True, limit=MAX_TEXT_CHARS)
        except ValueError as exc:
            raise RegistryError(f"give a reason for the revocation ({exc})") from None
        with self._db.transaction() as conn:
            user = self._user(conn, user_id)
            if user.revoked:
                raise RegistryError(f"user {user_id} ({user.name}) was already revoked at "
                                    f"{user.revoked_utc}: {user.revoked_reason}")
            snap = self._snapshot(conn)
            self._mark_revoked(conn, snap, user, actor, reason, now_stamps()[0])
            write_snapshot(conn, snap)
        return self.user(user_id)

    def _users_named(self, conn: sqlite3.Connection, snap: Snapshot, names: list[str]) -> list[tuple[int, str]]:
        """Registered (id, name) that may clash with ``names``: looked up by index for a few
        names, all of them for many."""
        if len(names) > 1000:
            return _id_names(snap)
        folds = sorted({n.casefold() for n in names})
        found: list[tuple[int, str]] = []
        for lo in range(0, len(folds), 500):
            chunk = folds[lo: lo + 500]
            found += conn.execute(f"SELECT id, name FROM users WHERE name_fold IN ({','.join('?' * len(chunk))})",
                                  chunk).fetchall()
        return found

    def _snapshot(self, conn: sqlite3.Connection) -> Snapshot:
        return read_snapshot(conn, packed_width(self.key_len), str(self.path))

    def _insert(self, conn: sqlite3.Connection, snap: Snapshot,
                people: Sequence[tuple[str, str, str, bytes]], actor: str, action: str,
                extra: dict[str, Any], progress: Progress | None) -> list[User]:
        """Insert (name, contact, external_ref, packed key) rows with new ids, the snapshot
        and one audit entry."""
        first = int(snap.ids[-1]) + 1 if len(snap) else 1
        created, _ = now_stamps()
        records = [(first + i, n, c, e, k, created) for i, (n, c, e, k) in enumerate(people)]
        sql = ("INSERT INTO users (id, name, name_fold, contact, external_ref, key, created_utc) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
        for lo in range(0, len(records), INSERT_CHUNK):
            chunk = records[lo: lo + INSERT_CHUNK]
            conn.executemany(sql, ((u, n, n.casefold(), c, e, k, t) for u, n, c, e, k, t in chunk))
            if progress is not None:
                progress(lo + len(chunk), len(records))
        last = first + len(records) - 1
        obj = f"user/{first}" if len(records) == 1 else f"users/{first}-{last}"
        details = {"count": len(records), "first_id": first, "last_id": last,
                   "rows_sha256": rows_sha256(records), "min_distance": self.min_distance, **extra}
        if len(records) == 1:
            details["name"] = records[0][1]
        self._db.append(actor, action, obj, details)
        width = packed_width(self.key_len)
        write_snapshot(conn, snap.extended(
            np.arange(first, last + 1, dtype=np.int64), [r[1] for r in records],
            np.frombuffer(b"".join(r[4] for r in records), np.uint8).reshape(-1, width)))
        return [User(u, n, c, e, k, self.key_len, t) for u, n, c, e, k, t in records]

    def _mark_revoked(self, conn: sqlite3.Connection, snap: Snapshot, user: User, actor: str,
                      reason: str, when: str) -> None:
        """Revoke in the table and in ``snap`` (the caller writes the snapshot)."""
        snap.revoked[np.searchsorted(snap.ids, user.id)] = True
        conn.execute("UPDATE users SET revoked_utc = ?, revoked_reason = ? WHERE id = ?",
                     (when, reason, user.id))
        self._db.append(actor, "revoked", f"user/{user.id}",
                        {"user_id": user.id, "name": user.name, "reason": reason, "revoked_utc": when})

    # -- reading -------------------------------------------------------------------------
    def users(self, *, include_revoked: bool = True) -> list[User]:
        """All users in id order."""
        where = "" if include_revoked else " WHERE revoked_utc IS NULL"
        with self._db.reading() as conn:
            rows = conn.execute(f"SELECT {_USER_COLUMNS} FROM users{where} ORDER BY id").fetchall()
        return [self._to_user(r) for r in rows]

    def user(self, user_id: int) -> User:
        """One user; RegistryError when there is no such id."""
        with self._db.reading() as conn:
            return self._user(conn, user_id)

    def count(self, *, include_revoked: bool = True) -> int:
        where = "" if include_revoked else " WHERE revoked_utc IS NULL"
        with self._db.reading() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM users{where}").fetchone()[0])

    def _user(self, conn: sqlite3.Connection, user_id: int) -> User:
        row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (int(user_id),)).fetchone()
        if row is None:
            raise RegistryError(f"there is no user {user_id} in {self.path}; "
                                "'lfp registry list' shows the users")
        return self._to_user(row)

    def _to_user(self, row: tuple[Any, ...]) -> User:
        uid, name, contact, ref, key, created, revoked, reason = row
        return User(int(uid), name, contact, ref, bytes(key), self.key_len, created, revoked, reason)

    def load_keys(self, include_revoked: bool = False) -> KeySet:
        """Keys for matching, in id order, with the digest of the same snapshot."""
        with self._db.reading() as conn:
            conn.execute("BEGIN")  # one consistent view for keys and scheme
            try:
                snap = self._snapshot(conn)
                scheme = conn.execute("SELECT data FROM scheme WHERE id = 1").fetchone()[0]
            finally:
                conn.execute("COMMIT")
        digest = self._digest(scheme, snap.ids, snap.revoked, snap.keys)
        if include_revoked:
            return KeySet(snap.ids, snap.names, snap.keys, self.key_len, snap.revoked, digest)
        keep = ~snap.revoked
        names = [n for n, k in zip(snap.names, keep.tolist()) if k] if snap.revoked.any() else snap.names
        return KeySet(snap.ids[keep], names, np.ascontiguousarray(snap.keys[keep]), self.key_len,
                      snap.revoked[keep], digest)

    def digest(self) -> str:
        """Registry digest for reports (definition in the module docstring)."""
        return self.load_keys(include_revoked=True).digest

    def _digest(self, scheme: bytes, ids: np.ndarray, revoked: np.ndarray, packed: np.ndarray) -> str:
        width = packed.shape[1]
        table = np.zeros(len(ids), dtype=[("id", ">i8"), ("revoked", "u1"), ("key", "u1", (width,))])
        table["id"], table["revoked"], table["key"] = ids, revoked, packed
        h = hashlib.sha256(b"lfp-registry-digest-v1\0")
        h.update(scheme)
        h.update(self.key_len.to_bytes(4, "big"))
        h.update(table.tobytes())
        return h.hexdigest()

    def audit_log(self, object_prefix: str | None = None) -> list[AuditEntry]:
        """The audit chain in order (``object_prefix`` e.g. 'user/17' keeps that user's entries)."""
        return self._db.entries(object_prefix=object_prefix)

    def head(self) -> tuple[int, str]:
        """(number, hash) of the last audit entry."""
        return self._db.head()

    def verify(self) -> list[str]:
        """Problems found (first broken audit entry first); empty when the registry is intact.

        Checks the file's integrity, the audit chain, the scheme hash, and that every user row
        and revocation is exactly what its audit entry recorded."""
        return verify_registry(self._db, self.key_len, self.scheme_sha256)

    # -- lifetime ------------------------------------------------------------------------
    def export_file(self, path: str | os.PathLike[str], *, include_revoked: bool = True) -> int:
        """Write users to ``path`` (.json: JSON, otherwise CSV); returns the number written.
        The file holds secret keys and is made readable by its owner only."""
        header = {"scheme_name": self.scheme_name, "scheme_sha256": self.scheme_sha256,
                  "key_len": self.key_len, "registry_digest": self.digest(),
                  "exported_utc": now_stamps()[0]}
        return reg_io.write_export(path, self.users(include_revoked=include_revoked), header)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r}, key_len={self.key_len})"

