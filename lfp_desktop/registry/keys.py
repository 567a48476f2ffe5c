"""Binary keys: packing, text form, Hamming distances and issuing random keys far apart.

A key of ``K`` bits is stored packed as ``np.packbits(bits, axis=-1)`` (big-endian bit
order), i.e. ``ceil(K / 8)`` bytes whose unused low bits of the last byte are zero. The text
form is ``K`` characters ``0``/``1``, first bit first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from lfp_desktop.registry.nearpairs import close_pairs

__all__ = ["packed_width", "pack_bits", "unpack_keys", "key_to_string", "parse_key_string",
           "random_keys", "hamming_to_all", "nearest", "issue_keys", "close_pairs",
           "KeyIssueError", "capacity_bound"]


class KeyIssueError(ValueError):
    """Keys at the requested minimum distance cannot be found; the message says why."""


def packed_width(key_len: int) -> int:
    """Bytes per packed key: ceil(key_len / 8)."""
    return (key_len + 7) // 8


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """{0,1} array (..., K) -> uint8 (..., ceil(K/8)), big-endian bit order."""
    return np.packbits(np.asarray(bits).astype(np.uint8), axis=-1)


def unpack_keys(packed: np.ndarray, key_len: int) -> np.ndarray:
    """uint8 (..., ceil(K/8)) -> uint8 {0,1} (..., K)."""
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=-1, count=key_len)


def key_to_string(packed: bytes | np.ndarray, key_len: int) -> str:
    """Packed key (bytes or uint8 (B,)) -> 'K characters 0/1'."""
    raw = bytes(packed) if isinstance(packed, (bytes, bytearray)) else np.asarray(packed, np.uint8).tobytes()
    value = int.from_bytes(raw, "big") >> (len(raw) * 8 - key_len)
    return format(value, f"0{key_len}b")


_BITS = str.maketrans("", "", "01")


def parse_key_string(text: str, key_len: int) -> bytes:
    """'0101…' of exactly ``key_len`` characters -> packed bytes; ValueError says what is wrong."""
    if text is None:
        raise ValueError("the key is missing")
    if not isinstance(text, str):
        raise ValueError(f"the key must be text of 0s and 1s, not {type(text).__name__}")
    key = text.strip()
    if not key:
        raise ValueError("the key is empty")
    bad = key.translate(_BITS)
    if bad:
        shown = ", ".join(repr(c) for c in sorted(set(bad))[:5])
        raise ValueError(f"the key may only contain 0 and 1, but contains {shown}")
    if len(key) != key_len:
        raise ValueError(f"the key has {len(key)} bits; this registry's keys have {key_len}")
    width = packed_width(key_len)
    return (int(key, 2) << (width * 8 - key_len)).to_bytes(width, "big")


def random_keys(n: int, key_len: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """n uniform random keys, uint8 (n, ceil(K/8)) with the unused bits zero.

    Without ``rng`` the bytes come from the operating system's secure generator (keys are
    secrets); pass a seeded ``numpy.random.Generator`` only for reproducible tests.
    """
    width = packed_width(key_len)
    if rng is None:
        keys = np.frombuffer(os.urandom(n * width), dtype=np.uint8).reshape(n, width).copy()
    else:
        keys = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    spare = width * 8 - key_len
    if spare and n:
        keys[:, -1] &= np.uint8((0xFF << spare) & 0xFF)
    return keys


def hamming_to_all(query: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Distances in bits from one packed key uint8 (B,) to every row of uint8 (N, B).

    Returns an unsigned integer array (N,) (uint8 for keys up to 64 bits, else int64)."""
    keys = np.asarray(keys, dtype=np.uint8)
    query = np.ascontiguousarray(query, dtype=np.uint8).reshape(1, -1)
    if keys.shape[1] == 8 and keys.flags.c_contiguous:
        # one 64-bit word per key: a single XOR + popcount pass
        return np.bitwise_count(keys.view(np.uint64)[:, 0] ^ query.view(np.uint64)[0, 0])
    if keys.shape[1] % 8 == 0 and keys.flags.c_contiguous:
        return np.bitwise_count(keys.view(np.uint64) ^ query.view(np.uint64)).sum(axis=1, dtype=np.int64)
    return np.bitwise_count(keys ^ query).sum(axis=1, dtype=np.int64)


def nearest(query: np.ndarray, keys: np.ndarray, count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``keys`` nearest to ``query`` by Hamming distance.

    Returns (row indices int64 (c,), distances int64 (c,)) sorted by distance then row,
    with ``c = min(count, N)``.
    """
    dist = hamming_to_all(query, keys)
    c = min(count, len(dist))
    if c == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Raise a distance threshold level by level until it admits c keys: a few linear passes,
    # cheaper than a partition of the whole array for the usual c = 2.
    level = dist.min()
    chosen = np.flatnonzero(dist <= level)
    while len(chosen) < c:
        level = dist[dist > level].min()
        chosen = np.flatnonzero(dist <= level)
    order = np.lexsort((chosen, dist[chosen]))[:c]  # ties broken by row: deterministic
    rows = chosen[order].astype(np.int64)
    return rows, dist[rows].astype(np.int64)


def capacity_bound(key_len: int, min_distance: int) -> int:
    """Most keys of ``key_len`` bits that can be pairwise ≥ ``min_distance`` apart
    (sphere-packing bound; random issuing fills noticeably less)."""
    t = max(min_distance - 1, 0) // 2
    ball = sum(math.comb(key_len, i) for i in range(t + 1))
    return (2 ** key_len) // ball


@dataclass
class _Pool:
    """Accepted keys, grown by doubling so that issuing stays linear in the number of keys."""

    keys: np.ndarray
    size: int

    def add(self, rows: np.ndarray) -> None:
        need = self.size + len(rows)
        if need > len(self.keys):
            grown = np.zeros((max(need, 2 * len(self.keys)), self.keys.shape[1]), np.uint8)
            grown[: self.size] = self.keys[: self.size]
            self.keys = grown
        self.keys[self.size: need] = rows
        self.size = need

    def view(self) -> np.ndarray:
        return self.keys[: self.size]


def issue_keys(n: int, existing: np.ndarray, key_len: int, min_distance: int,
               rng: np.random.Generator | None = None, *, batch: int = 65_536,
               max_rounds: int = 60) -> np.ndarray:
    """``n`` new random keys, each ≥ ``min_distance`` bits from every existing key and from
    each other; uint8 (n, ceil(K/8)). Keys are always distinct (``min_distance`` ≥ 1).

    Raises :class:`KeyIssueError` when the key space cannot hold them, or random draws keep
    landing too close (after ``max_rounds`` rounds without enough progress).
    """
    min_distance = max(int(min_distance), 1)
    existing = np.ascontiguousarray(existing, dtype=np.uint8).reshape(-1, packed_width(key_len))
    total = len(existing) + n
    bound = capacity_bound(key_len, min_distance)
    if total > bound:
        raise KeyIssueError(
            f"{total} keys of {key_len} bits cannot all be at least {min_distance} bits apart: "
            f"at most {bound} such keys exist; lower the minimum distance or use a scheme with "
            f"longer keys")
    pool = _Pool(np.zeros((max(total, 1), existing.shape[1]), np.uint8), 0)
    pool.add(existing)
    issued, rounds = 0, 0
    while issued < n:
        # Batches grow with the pool so the block tables are rebuilt O(log n) times, but stay
        # under half of it: pairs inside a batch are examined in both orders.
        want = min(max(batch, pool.size // 2), n - issued)
        candidates = random_keys(want, key_len, rng)
        bad = close_pairs(candidates, pool.view(), key_len, min_distance).new_index
        ok = np.ones(want, bool)
        ok[bad] = False
        pool.add(candidates[ok])
        issued += int(ok.sum())
        rounds = rounds + 1 if ok.sum() < 0.5 * want else 0
        if rounds >= max_rounds:
            raise KeyIssueError(
                f"only {issued} of {n} keys could be found at least {min_distance} bits from every "
                f"other key among {len(existing) + issued} keys of {key_len} bits; the key space is "
                f"too crowded: lower the minimum distance or use a scheme with longer keys")
    return pool.view()[len(existing):].copy()
