"""Open-set decisions: nearest registered key by Hamming distance, the chance of such a
match under the null hypothesis, and the verdict.

Keys are packed with ``np.packbits(bits, axis=-1)`` (big-endian bit order): (N, ceil(K/8)) uint8.

Two statistics: the Hamming distance (the default, the paper's), and a confidence-weighted
distance in which each differing bit counts by an integer weight taken from the attribution's
per-bit confidence. The weights depend on the image only, never on the keys, so under the null
hypothesis (every registered key's bits are fair coins independent of the image) the weighted
distance is a sum of independent ``w_i · Bernoulli(½)`` and its distribution is computed exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from lfp_desktop.engine.settings import STATISTICS

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


CONFIDENCE_LEVELS = 16  # weighted statistic: bit weights 1 … 16


def bit_weights(confidence: np.ndarray, levels: int = CONFIDENCE_LEVELS) -> np.ndarray:
    """Integer weight of each bit, 1 … ``levels``, rising linearly with its confidence
    |p − ½| relative to the most confident bit (all 1 when no bit is confident)."""
    c = np.abs(np.asarray(confidence, dtype=np.float64))
    if c.ndim != 1 or not np.isfinite(c).all():
        raise ValueError("bit confidences must be a finite 1-D array")
    top = float(c.max()) if c.size else 0.0
    if top <= 0.0:
        return np.ones(c.size, dtype=np.int64)
    return 1 + np.rint((levels - 1) * c / top).astype(np.int64)


def weighted_distances(query_bits: np.ndarray, weights: np.ndarray, packed_keys: np.ndarray) -> np.ndarray:
    """Σ of the weights of the bits where each of N packed keys differs from the query → int32 (N,).

    One 256-entry table per key byte turns each byte of ``key XOR query`` into its weight sum;
    runs in chunks like :func:`hamming_distances`.
    """
    w = np.asarray(weights, dtype=np.int64)
    nbytes = packed_keys.shape[1]
    padded = np.zeros(nbytes * 8, dtype=np.int64)
    padded[:w.size] = w
    bit_of_value = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.int64)  # (256, 8)
    tables = (bit_of_value @ padded.reshape(nbytes, 8).T).T.astype(np.int32)  # (B, 256)
    q = pack_bits(query_bits)
    out = np.zeros(packed_keys.shape[0], dtype=np.int32)
    for start in range(0, packed_keys.shape[0], _CHUNK_ROWS):
        x = np.bitwise_xor(packed_keys[start:start + _CHUNK_ROWS], q)
        chunk = out[start:start + x.shape[0]]
        for b in range(nbytes):
            chunk += tables[b].take(x[:, b])
    return out


def weighted_chance_within(weights: np.ndarray) -> np.ndarray:
    """F(D) for D = 0 … Σw: probability that a uniformly random key is within weighted
    distance D of a fixed one (exact, by convolving the bits' two-point distributions)."""
    w = np.asarray(weights, dtype=np.int64)
    pmf = np.zeros(int(w.sum()) + 1, dtype=np.float64)
    pmf[0] = 1.0
    reach = 0
    for wi in w:
        nxt = pmf[:reach + wi + 1] * 0.5
        nxt[wi:] += pmf[:reach + 1] * 0.5
        pmf[:reach + wi + 1] = nxt
        reach += int(wi)
    return np.minimum(np.cumsum(pmf), 1.0)


@dataclass(frozen=True)
class Match:
    """Nearest and runner-up registered keys (indices into the key set; −1 if absent).

    ``distance``/``runner_up_distance`` are Hamming distances. With the weighted statistic the
    keys are ranked by ``score``/``runner_up_score`` (weighted distances) and ``mean_weight``
    converts a score difference into bits; with the Hamming statistic the scores are None."""

    index: int
    distance: int
    runner_up_index: int
    runner_up_distance: int
    n_keys: int
    score: int | None = None
    runner_up_score: int | None = None
    mean_weight: float = 1.0

    @property
    def margin(self) -> int:
        return self.runner_up_distance - self.distance if self.runner_up_index >= 0 else 0

    @property
    def score_margin_bits(self) -> float:
        """Runner-up minus nearest in the ranking statistic, in bits (0 without a runner-up)."""
        if self.runner_up_index < 0:
            return 0.0
        if self.score is None or self.runner_up_score is None:
            return float(self.margin)
        return (self.runner_up_score - self.score) / self.mean_weight


def _two_smallest(d: np.ndarray) -> tuple[int, int]:
    """Indices of the smallest and second-smallest values; ties go to the lower index (argmin
    returns the first occurrence), so a verdict never depends on how a partition fell."""
    i1 = int(np.argmin(d))
    rest = d.copy()
    rest[i1] = np.iinfo(d.dtype).max if np.issubdtype(d.dtype, np.integer) else np.inf
    return i1, int(np.argmin(rest))


def nearest(query_bits: np.ndarray, packed_keys: np.ndarray, key_len: int) -> Match:
    """Nearest and second-nearest key; an empty registry gives index −1 and distance K+1."""
    n = int(packed_keys.shape[0])
    if n == 0:
        return Match(-1, key_len + 1, -1, key_len + 1, 0)
    d = hamming_distances(query_bits, packed_keys)
    if n == 1:
        return Match(0, int(d[0]), -1, key_len + 1, 1)
    i1, i2 = _two_smallest(d)
    return Match(i1, int(d[i1]), i2, int(d[i2]), n)


def nearest_weighted(query_bits: np.ndarray, weights: np.ndarray, packed_keys: np.ndarray, key_len: int) -> Match:
    """Nearest and second-nearest key by weighted distance (their Hamming distances too)."""
    n = int(packed_keys.shape[0])
    mean_w = float(np.mean(weights)) if len(weights) else 1.0
    if n == 0:
        return Match(-1, key_len + 1, -1, key_len + 1, 0, mean_weight=mean_w)
    s = weighted_distances(query_bits, weights, packed_keys)
    idx = [0, -1] if n == 1 else list(_two_smallest(s))
    ham = [int(hamming_distances(query_bits, packed_keys[i:i + 1])[0]) if i >= 0 else key_len + 1 for i in idx]
    return Match(idx[0], ham[0], idx[1], ham[1], n, score=int(s[idx[0]]),
                 runner_up_score=int(s[idx[1]]) if idx[1] >= 0 else None, mean_weight=mean_w)


def chance_within(distance: int, key_len: int) -> float:
    """F(d): probability that a uniformly random K-bit key is within distance d of a fixed key."""
    if distance < 0:
        return 0.0
    total = sum(math.comb(key_len, i) for i in range(min(distance, key_len) + 1))
    return total / 2 ** key_len


def false_match_probability(distance: int, key_len: int, n_keys: int) -> float:
    """p(d) = 1 − (1 − F(d))^N: chance that an image carrying none of the N keys decodes
    within distance d of at least one of them (each bit agreeing with p = ½)."""
    return _registry_wide(chance_within(distance, key_len), n_keys)


def _registry_wide(f: float, n_keys: int) -> float:
    """1 − (1 − f)^N, accurate for tiny f."""
    if n_keys <= 0 or f >= 1.0:
        return 1.0
    return float(-math.expm1(n_keys * math.log1p(-f)))




@dataclass(frozen=True)
class DecisionPolicy:
    """ATTRIBUTED needs p(d₁) ≤ target_fpr and a margin d₂ − d₁ ≥ min_margin; a p(d₁)
    above no_match_p is consistent with chance (NO MATCH); anything between is INCONCLUSIVE.
    ``statistic``: "hamming" (differing bits) or "weighted" (differing bits weighted by their
    confidence; the margin is then counted in average-weight bits)."""

    target_fpr: float = 1e-6
    min_margin: int = 4
    no_match_p: float = 0.01
    statistic: str = "hamming"

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, not {self.statistic!r}")


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    match: Match
    p_value: float
    reasons: tuple[str, ...]


def decide(query_bits: np.ndarray, packed_keys: np.ndarray, key_len: int,
           policy: DecisionPolicy = DecisionPolicy(), confidence: np.ndarray | None = None) -> Decision:
    """Verdict for decoded bits (K,) against a registry's packed keys; the weighted statistic
    also needs the bits' confidences (K,)."""
    if policy.statistic == "weighted":
        if confidence is None or len(confidence) != key_len:
            raise ValueError("the weighted statistic needs one confidence per key bit")
        weights = bit_weights(confidence)
        m = nearest_weighted(query_bits, weights, packed_keys, key_len)
        cdf = weighted_chance_within(weights)
        p = _registry_wide(float(cdf[m.score]), m.n_keys) if m.score is not None else 1.0
        how = f" (confidence-weighted distance {m.score} of {int(weights.sum())})"
        margin = m.score_margin_bits
    else:
        m = nearest(query_bits, packed_keys, key_len)
        p = false_match_probability(m.distance, key_len, m.n_keys)
        how, margin = "", float(m.margin)
    reasons: list[str] = []
    if m.n_keys == 0:
        return Decision(Verdict.NO_MATCH, m, 1.0, ("the registry holds no keys",))
    if p <= policy.target_fpr and (m.runner_up_index < 0 or margin >= policy.min_margin):
        return Decision(Verdict.ATTRIBUTED, m, p, ())
    if p > policy.no_match_p:
        reasons.append(f"the nearest key differs in {m.distance} of {key_len} bits{how}, which chance "
                       f"alone explains (p = {p:.2g})")
        return Decision(Verdict.NO_MATCH, m, p, tuple(reasons))
    if p > policy.target_fpr:
        reasons.append(f"p = {p:.2g} is above the target false-attribution probability {policy.target_fpr:g}")
    if m.runner_up_index >= 0 and margin < policy.min_margin:
        reasons.append(f"the runner-up key is only {margin:.3g} bit(s) further away (at least "
                       f"{policy.min_margin} needed)")
    return Decision(Verdict.INCONCLUSIVE, m, p, tuple(reasons))


def max_attributable_distance(key_len: int, n_keys: int, target_fpr: float) -> int:
    """Largest Hamming distance d with p(d) ≤ target_fpr (−1 if none)."""
    d = -1
    while d + 1 <= key_len and false_match_probability(d + 1, key_len, n_keys) <= target_fpr:
        d += 1
    return d
