"""The key snapshot: all ids, names, keys and revocation flags of a registry in one row.

Reading a million users row by row costs seconds of Python objects; the snapshot loads in a
fraction of that. It is rewritten in the same transaction as every change to the users, and
``verify`` checks it against the user table.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from lfp_desktop.errors import RegistryError


@dataclass(frozen=True)
class Snapshot:
    """ids int64 (N,), names (N), keys uint8 (N, B), revoked bool (N,); in id order."""

    ids: np.ndarray
    names: list[str]
    keys: np.ndarray
    revoked: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def extended(self, ids: np.ndarray, names: list[str], keys: np.ndarray) -> Snapshot:
        """A copy with new (not revoked) users appended."""
        return Snapshot(np.concatenate([self.ids, ids]), self.names + names,
                        np.concatenate([self.keys, keys]),
                        np.concatenate([self.revoked, np.zeros(len(ids), bool)]))


def read_snapshot(conn: sqlite3.Connection, width: int, where: str) -> Snapshot:
    """The stored snapshot; RegistryError when it does not fit the user table."""
    row = conn.execute("SELECT count, ids, keys, revoked, names FROM key_snapshot WHERE id = 1").fetchone()
    count, last = conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM users").fetchone()
    if row is None:
        raise RegistryError(f"{where} has no key snapshot; run 'lfp registry verify'")
    n, ids, keys, revoked, names = row
    ids_arr = np.frombuffer(ids, "<i8").astype(np.int64)
    ok = (n == count == len(ids_arr) and len(keys) == n * width and len(revoked) == n
          and (n == 0 or int(ids_arr[-1]) == last))
    name_list = names.split("\n") if n else []
    if not ok or len(name_list) != n:
        raise RegistryError(f"the key snapshot of {where} does not match its user table ({n} vs "
                            f"{count} users); the file was altered outside LFP Desktop — run "
                            "'lfp registry verify' and restore it from a backup")
    return Snapshot(ids_arr, name_list, np.frombuffer(keys, np.uint8).reshape(n, width).copy(),
                    np.frombuffer(revoked, np.uint8) != 0)


def table_snapshot(conn: sqlite3.Connection, width: int) -> Snapshot:
    """The snapshot rebuilt from the user table, row by row (slow; for verify)."""
    rows = conn.execute("SELECT id, name, key, revoked_utc IS NOT NULL FROM users ORDER BY id").fetchall()
    blob = b"".join(bytes(r[2]) for r in rows)
    keys = (np.frombuffer(blob, np.uint8).reshape(len(rows), width) if len(blob) == width * len(rows)
            else np.zeros((len(rows), width), np.uint8))
    return Snapshot(np.fromiter((r[0] for r in rows), np.int64, len(rows)), [r[1] for r in rows],
                    keys.copy(), np.fromiter((r[3] for r in rows), bool, len(rows)))


def write_snapshot(conn: sqlite3.Connection, snap: Snapshot) -> None:
    """Replace the stored snapshot (call inside the transaction that changed the users)."""
    conn.execute("INSERT OR REPLACE INTO key_snapshot VALUES (1, ?, ?, ?, ?, ?)",
                 (len(snap), snap.ids.astype("<i8").tobytes(), np.ascontiguousarray(snap.keys).tobytes(),
                  snap.revoked.astype(np.uint8).tobytes(), "\n".join(snap.names)))


def same(a: Snapshot, b: Snapshot) -> bool:
    return (np.array_equal(a.ids, b.ids) and a.names == b.names and np.array_equal(a.keys, b.keys)
            and np.array_equal(a.revoked, b.revoked))
