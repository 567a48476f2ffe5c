"""Find keys closer than a minimum Hamming distance, fast enough for a million keys.

Comparing every new key with every key is O(N²) (5·10¹¹ pairs for 10⁶ keys). Instead the
bits are split into ``m`` disjoint blocks with radii ``r_i`` where ``Σ (r_i + 1) = τ + 1``
(``τ = min_distance - 1``). If two keys differ in at most ``τ`` bits, some block differs in
at most ``r_i`` bits (otherwise they would differ in ``≥ τ + 1``), so probing each block's
table at every value within ``r_i`` of the new key's block finds every close pair; the few
candidates are then checked on all bits. The plan with the least estimated work is chosen,
and plain all-pairs comparison when that is cheaper (few keys).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

MAX_BLOCK_BITS = 22  # block tables hold 2**22 counts (32 MiB); keeps lookups O(1)
PAIR_BUDGET = 250_000  # candidate pairs per step: small enough to stay in cache
MAX_PROBES = 4096  # probes per block beyond this make a plan useless


@dataclass(frozen=True)
class ClosePairs:
    """Pairs closer than the minimum distance, sorted by ``new_index``.

    ``other_index`` indexes the concatenation ``[existing; new]``: values below
    ``len(existing)`` are existing keys, the rest are earlier rows of ``new``.
    """

    new_index: np.ndarray  # int64 (P,)
    other_index: np.ndarray  # int64 (P,)
    distance: np.ndarray  # int64 (P,)


@dataclass(frozen=True)
class _Block:
    start: int  # first bit
    bits: int
    radius: int


def close_pairs(new: np.ndarray, existing: np.ndarray, key_len: int, min_distance: int) -> ClosePairs:
    """Every pair (new row i, other key j) at Hamming distance < ``min_distance``, where j is
    an existing key or a new row before i. ``new``/``existing``: packed uint8 (M, B), (N, B)."""
    new = np.ascontiguousarray(new, dtype=np.uint8)
    existing = np.ascontiguousarray(existing, dtype=np.uint8).reshape(-1, new.shape[1])
    if min_distance <= 0 or len(new) == 0:
        return _empty()
    keys = np.concatenate([existing, new]) if len(existing) else new
    plan = plan_blocks(key_len, min_distance - 1, len(new), len(keys))
    if plan is None:
        return _brute_force(new, keys, len(existing), min_distance)
    found = [_probe_block(new, keys, len(existing), block, min_distance) for block in plan]
    return _unique(found)


def plan_blocks(key_len: int, tau: int, m_new: int, n_all: int) -> list[_Block] | None:
    """The cheapest block plan for this workload, or None when all-pairs is cheaper."""
    # Unit: one candidate pair (gather + compare). A probe costs about three (random table
    # reads), a table entry to build about three (sort), a brute-force pair about 1/20
    # (contiguous XOR); measured on numpy 2 with 64-bit keys.
    best, best_cost = None, 0.05 * m_new * n_all * math.ceil(key_len / 64)
    for m in range(1, min(key_len, tau + 1) + 1):
        bits = min(MAX_BLOCK_BITS, key_len // m)
        base, extra = divmod(tau + 1, m)
        radii = [base - 1 + (1 if i < extra else 0) for i in range(m)]
        if bits < 1 or max(radii) >= bits:
            continue
        probes = [_ball(bits, r) for r in radii]
        if max(probes) > MAX_PROBES:
            continue
        cost = sum(3.0 * n_all + m_new * p * (3.0 + n_all / 2 ** bits)
                   for p, r in zip(probes, radii) if r >= 0)
        if cost < best_cost:
            best_cost = cost
            best = [_Block(i * bits, bits, r) for i, r in enumerate(radii) if r >= 0]
    return best


def _ball(bits: int, radius: int) -> int:
    return sum(math.comb(bits, i) for i in range(radius + 1)) if radius >= 0 else 0


def _masks(bits: int, radius: int) -> np.ndarray:
    """All values of ``bits`` bits with at most ``radius`` ones, uint32 (P,)."""
    out = [0]
    for r in range(1, radius + 1):
        out.extend(sum(1 << i for i in combo) for combo in itertools.combinations(range(bits), r))
    return np.asarray(out, dtype=np.uint32)


def block_values(packed: np.ndarray, start: int, bits: int) -> np.ndarray:
    """Integer value of bits [start, start+bits) of each packed key (first bit most
    significant), uint32 (N,). ``bits`` ≤ 25 so the span fits in 4 bytes."""
    first, last = start // 8, (start + bits - 1) // 8
    acc = np.zeros(len(packed), dtype=np.uint64)
    for col in range(first, last + 1):
        acc = (acc << np.uint64(8)) | packed[:, col].astype(np.uint64)
    shift = (last + 1) * 8 - (start + bits)
    return ((acc >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.uint32)


def _probe_block(new: np.ndarray, keys: np.ndarray, n_existing: int, block: _Block,
                 min_distance: int) -> ClosePairs:
    values = block_values(keys, block.start, block.bits)
    bounds = np.zeros((1 << block.bits) + 1, dtype=np.int64)
    np.cumsum(np.bincount(values, minlength=1 << block.bits), out=bounds[1:])
    # stable argsort of 16-bit values is a radix sort (linear time)
    order = np.argsort(values.astype(np.uint16) if block.bits <= 16 else values, kind="stable")
    # keys in table order: the candidates of one probe are then one contiguous run
    table = _Table(bounds, order, np.take(as_words(keys), order, axis=0), n_existing)
    new_words = as_words(new)
    masks = _masks(block.bits, block.radius)
    new_values = values[n_existing:]
    rows_per_chunk = max(1, PAIR_BUDGET // max(1, len(masks) * (1 + (len(keys) >> block.bits))))
    found = []
    for lo in range(0, len(new), rows_per_chunk):
        rows = np.arange(lo, min(lo + rows_per_chunk, len(new)), dtype=np.int64)
        probes = new_values[rows, None] ^ masks[None, :]
        found.append(_candidates(new_words, table, rows, probes, min_distance))
    return _unique(found)


@dataclass(frozen=True)
class _Table:
    bounds: np.ndarray  # keys with block value v sit at order[bounds[v]:bounds[v+1]]
    order: np.ndarray  # key indices sorted by block value
    words: np.ndarray  # uint64 (N, W) keys in that order
    n_existing: int


def _candidates(new_words: np.ndarray, table: _Table, rows: np.ndarray, probes: np.ndarray,
                min_distance: int) -> ClosePairs:
    flat = probes.ravel()
    lo = np.take(table.bounds, flat)
    cnt = np.take(table.bounds, flat + 1) - lo
    if len(rows) > 1 and int(cnt.sum()) > 2 * PAIR_BUDGET:
        # keys crowd some block values (e.g. an import of similar keys): halve the work
        half = len(rows) // 2
        return _unique([_candidates(new_words, table, rows[:half], probes[:half], min_distance),
                        _candidates(new_words, table, rows[half:], probes[half:], min_distance)])
    hit = np.flatnonzero(cnt)
    cnt, lo = cnt[hit], lo[hit]
    owner = rows[hit // probes.shape[1]]
    total = int(cnt.sum())
    if total == 0:
        return _empty()
    # Ragged expansion: positions lo..lo+cnt-1 of every hit, as a running sum of steps
    # (two passes over the candidates instead of arange + repeat + subtract).
    ends = np.cumsum(cnt)
    step = np.ones(total, dtype=np.int64)
    step[0] = lo[0]
    step[ends[:-1]] = lo[1:] - (lo[:-1] + cnt[:-1]) + 1
    pos = np.cumsum(step, out=step)
    mine = np.repeat(_rows(new_words, owner), cnt, axis=0)
    dist = _row_distance(mine, _rows(table.words, pos))
    close = np.flatnonzero(dist < min_distance)
    if len(close) == 0:
        return _empty()
    new_idx = owner[np.searchsorted(ends, close, side="right")]
    other, dist = table.order[pos[close]], dist[close].astype(np.int64)
    keep = other < table.n_existing + new_idx  # existing keys, or new rows before this one
    return ClosePairs(new_idx[keep], other[keep], dist[keep])


def as_words(packed: np.ndarray) -> np.ndarray:
    """uint8 (N, B) -> uint64 (N, ceil(B/8)), zero-padded; distances are unchanged."""
    n, width = packed.shape
    pad = -width % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((n, pad), np.uint8)], axis=1)
    return np.ascontiguousarray(packed).view(np.uint64)


def _brute_force(new: np.ndarray, keys: np.ndarray, n_existing: int, min_distance: int) -> ClosePairs:
    found = []
    rows_per_chunk = max(1, PAIR_BUDGET // max(1, len(keys)))
    for lo in range(0, len(new), rows_per_chunk):
        hi = min(lo + rows_per_chunk, len(new))
        xor = as_words(new[lo:hi])[:, None, :] ^ as_words(keys)[None, :, :]
        dist = np.bitwise_count(xor).sum(axis=2, dtype=np.int64)
        limit = n_existing + np.arange(lo, hi)[:, None]
        mask = (dist < min_distance) & (np.arange(len(keys))[None, :] < limit)
        i, j = np.nonzero(mask)
        found.append(ClosePairs((i + lo).astype(np.int64), j.astype(np.int64), dist[i, j]))
    return _unique(found)


def _rows(words: np.ndarray, index: np.ndarray) -> np.ndarray:
    """words[index] for uint64 (N, W); 1-D when W == 1 (keys up to 64 bits), the fast case."""
    if words.shape[1] == 1:
        return np.take(words.reshape(-1), index)
    return np.take(words, index, axis=0)


def _row_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance between matching rows of two uint64 arrays (P,) or (P, W) -> (P,).
    Overwrites ``a``."""
    np.bitwise_xor(a, b, out=a)
    if a.ndim == 1:
        return np.bitwise_count(a)
    return np.bitwise_count(a).sum(axis=1, dtype=np.int64)


def _unique(parts: list[ClosePairs]) -> ClosePairs:
    parts = [p for p in parts if len(p.new_index)]
    if not parts:
        return _empty()
    new_idx = np.concatenate([p.new_index for p in parts])
    other = np.concatenate([p.other_index for p in parts])
    dist = np.concatenate([p.distance for p in parts])
    # a pair can be found through several blocks/probes: keep one, ordered by (new, other)
    _, first = np.unique(np.stack([new_idx, other], axis=1), axis=0, return_index=True)
    return ClosePairs(new_idx[first], other[first], dist[first])


def _empty() -> ClosePairs:
    z = np.zeros(0, dtype=np.int64)
    return ClosePairs(z, z, z)
