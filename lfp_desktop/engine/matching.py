"""Open-set decisions: nearest registered key by Hamming distance, the chance of such a
match under the null hypothesis, and the verdict.

Keys are packed with ``np.packbits(bits, axis=-1)`` (big-endian bit order): (N, ceil(K/8)) uint8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

_CHUNK_ROWS = 1 << 18


class Verdict(str, Enum):
    ATTRIBUTED = "ATTRIBUTED"
    INCONCLUSIVE = "INCONCLUSIVE"
    NO_MATCH = "NO MATCH"


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """uint8/bool bits (..., K) → packed uint8 (..., ceil(K/8))."""
    return np.packbits(np.asarray(bits, dtype=np.uint8), axis=-1)


def _as_words(packed: np.ndarray) -> np.ndarray:
    """(N, B) uint8 → (N, ceil(B/8)) uint64, zero-padded (padding never adds distance)."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    n, b = packed.shape
    pad = (-b) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((n, pad), np.uint8)], axis=1)
    return packed.view(np.uint64)


def hamming_distances(query_bits: np.ndarray, packed_keys: np.ndarray) -> np.ndarray:
    """Hamming distance from one key (K,) to each of N packed keys → int32 (N,).

    Runs in chunks so extra memory stays below the size of the packed keys.
    """
    q = _as_words(pack_bits(query_bits)[None, :])[0]
    n = packed_keys.shape[0]
    out = np.empty(n, dtype=np.int32)
    for start in range(0, n, _CHUNK_ROWS):
        words = _as_words(packed_keys[start:start + _CHUNK_ROWS])
        x = np.bitwise_xor(words, q)
        counts = np.bitwise_count(x)
        out[start:start + words.shape[0]] = counts.sum(axis=1, dtype=np.int32) if counts.shape[1] > 1 else counts[:, 0]
    return out


@dataclass(frozen=True)
class Match:
    """Nearest and runner-up registered keys (indices into the key set; −1 if absent)."""

    index: int
    distance: int
    runner_up_index: int
    runner_up_distance: int
    n_keys: int

    @property
    def margin(self) -> int:
        return self.runner_up_distance - self.distance if self.runner_up_index >= 0 else 0


def nearest(query_bits: np.ndarray, packed_keys: np.ndarray, key_len: int) -> Match:
    """Nearest and second-nearest key; an empty registry gives index −1 and distance K+1."""
    n = int(packed_keys.shape[0])
    if n == 0:
        return Match(-1, key_len + 1, -1, key_len + 1, 0)
    d = hamming_distances(query_bits, packed_keys)
    if n == 1:
        return Match(0, int(d[0]), -1, key_len + 1, 1)
    two = np.argpartition(d, 1)[:2]
    i1, i2 = (two[0], two[1]) if (d[two[0]], two[0]) <= (d[two[1]], two[1]) else (two[1], two[0])
    return Match(int(i1), int(d[i1]), int(i2), int(d[i2]), n)


def chance_within(distance: int, key_len: int) -> float:
    """F(d): probability that a uniformly random K-bit key is within distance d of a fixed key."""
    if distance < 0:
        return 0.0
    total = sum(math.comb(key_len, i) for i in range(min(distance, key_len) + 1))
    return total / 2 ** key_len


def false_match_probability(distance: int, key_len: int, n_keys: int) -> float:
    """p(d) = 1 − (1 − F(d))^N: chance that an image carrying none of the N keys decodes
    within distance d of at least one of them (each bit agreeing with p = ½)."""
    if n_keys <= 0:
        return 1.0
    f = chance_within(distance, key_len)
    if f >= 1.0:
        return 1.0
    return float(-math.expm1(n_keys * math.log1p(-f)))


@dataclass(frozen=True)
class DecisionPolicy:
    """ATTRIBUTED needs p(d₁) ≤ target_fpr and a margin d₂ − d₁ ≥ min_margin; a p(d₁)
    above no_match_p is consistent with chance (NO MATCH); anything between is INCONCLUSIVE."""

    target_fpr: float = 1e-6
    min_margin: int = 4
    no_match_p: float = 0.01


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    match: Match
    p_value: float
    reasons: tuple[str, ...]


def decide(query_bits: np.ndarray, packed_keys: np.ndarray, key_len: int,
           policy: DecisionPolicy = DecisionPolicy()) -> Decision:
    """Verdict for decoded bits (K,) against a registry's packed keys."""
    m = nearest(query_bits, packed_keys, key_len)
    p = false_match_probability(m.distance, key_len, m.n_keys)
    reasons: list[str] = []
    if m.n_keys == 0:
        return Decision(Verdict.NO_MATCH, m, 1.0, ("the registry holds no keys",))
    if p <= policy.target_fpr and (m.runner_up_index < 0 or m.margin >= policy.min_margin):
        return Decision(Verdict.ATTRIBUTED, m, p, ())
    if p > policy.no_match_p:
        reasons.append(f"the nearest key differs in {m.distance} of {key_len} bits, which chance "
                       f"alone explains (p = {p:.2g})")
        return Decision(Verdict.NO_MATCH, m, p, tuple(reasons))
    if p > policy.target_fpr:
        reasons.append(f"p = {p:.2g} is above the target false-attribution probability {policy.target_fpr:g}")
    if m.runner_up_index >= 0 and m.margin < policy.min_margin:
        reasons.append(f"the runner-up key is only {m.margin} bit(s) further away (at least "
                       f"{policy.min_margin} needed)")
    return Decision(Verdict.INCONCLUSIVE, m, p, tuple(reasons))


def max_attributable_distance(key_len: int, n_keys: int, target_fpr: float) -> int:
    """Largest Hamming distance d with p(d) ≤ target_fpr (−1 if none)."""
    d = -1
    while d + 1 <= key_len and false_match_probability(d + 1, key_len, n_keys) <= target_fpr:
        d += 1
    return d
