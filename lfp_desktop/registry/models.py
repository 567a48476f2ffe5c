"""What the registry hands out: users and the key set used for matching."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lfp_desktop.audit import clean_text
from lfp_desktop.registry.keys import key_to_string, nearest, pack_bits

MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 1000


@dataclass(frozen=True)
class User:
    """A registered user. ``key`` is the packed key (ceil(key_len/8) bytes)."""

    id: int
    name: str
    contact: str
    external_ref: str
    key: bytes
    key_len: int
    created_utc: str
    revoked_utc: str | None = None
    revoked_reason: str = ""

    @property
    def revoked(self) -> bool:
        return self.revoked_utc is not None

    @property
    def key_string(self) -> str:
        """The key as ``key_len`` characters 0/1."""
        return key_to_string(self.key, self.key_len)

    def to_dict(self) -> dict[str, Any]:
        """Plain fields for export and JSON output (the key in its 0/1 text form)."""
        return {"id": self.id, "name": self.name, "contact": self.contact,
                "external_ref": self.external_ref, "key": self.key_string,
                "created_utc": self.created_utc, "revoked_utc": self.revoked_utc or "",
                "revoked_reason": self.revoked_reason}


@dataclass(frozen=True)
class KeySet:
    """Keys loaded for matching, in user-id order.

    ``user_ids`` int64 (N,), ``names`` N strings, ``packed`` uint8 (N, ceil(K/8)) C-contiguous,
    ``revoked`` bool (N,), ``digest``: the registry digest of the state they were read from.
    """

    user_ids: np.ndarray
    names: list[str]
    packed: np.ndarray
    key_len: int
    revoked: np.ndarray | None = None  # None: nobody revoked
    digest: str = ""

    def __post_init__(self) -> None:
        n = len(self.user_ids)
        if len(self.names) != n or self.packed.shape != (n, (self.key_len + 7) // 8):
            raise ValueError(f"inconsistent key set: {n} ids, {len(self.names)} names, packed keys "
                             f"{self.packed.shape} for {self.key_len}-bit keys")
        if self.revoked is None:
            object.__setattr__(self, "revoked", np.zeros(n, bool))

    def __len__(self) -> int:
        return len(self.user_ids)

    def pack(self, bits: np.ndarray) -> np.ndarray:
        """{0,1} bits (K,) -> packed uint8 (ceil(K/8),) comparable with ``packed``."""
        bits = np.asarray(bits)
        if bits.shape != (self.key_len,):
            raise ValueError(f"expected {self.key_len} bits, got shape {bits.shape}")
        return pack_bits(bits)

    def nearest(self, packed_query: np.ndarray, count: int = 2) -> list[tuple[int, str, int]]:
        """The ``count`` nearest users to a packed key: [(user_id, name, distance in bits)],
        nearest first (ties by user id)."""
        rows, dist = nearest(packed_query, self.packed, count)
        return [(int(self.user_ids[r]), self.names[r], int(d)) for r, d in zip(rows, dist)]


def rows_sha256(users: Sequence[tuple[int, str, str, str, bytes, str]]) -> str:
    """Hex SHA-256 of user rows as first written: the UTF-8 JSON array of
    ``[id, name, contact, external_ref, key_hex, created_utc]`` rows in id order, written with
    ``separators=(",", ":")`` and ``ensure_ascii=False``."""
    table = [[uid, name, contact, ref, key.hex(), created]
             for uid, name, contact, ref, key, created in users]
    text = json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_texts(values: Sequence[Any], what: str, *, required: bool, limit: int) -> tuple[list[str], list[tuple[int, str]]]:
    """:func:`clean_text` over many values -> (cleaned, [(index, problem)]); plain printable
    ASCII takes a fast path (bulk enrolment of a million names)."""
    out, problems = [], []
    for i, value in enumerate(values):
        if value.__class__ is str and value.isascii() and value.isprintable() and 0 < len(value) <= limit \
                and value[0] != " " and value[-1] != " ":
            out.append(value)
            continue
        try:
            out.append(clean_text(value, what, required=required, limit=limit))
        except ValueError as exc:
            out.append("")
            problems.append((i, str(exc)))
    return out, problems
