"""Keys: packing, text form, distances, the close-pair search and issuing keys far apart."""

from __future__ import annotations

import numpy as np
import pytest

from lfp_desktop.registry import nearpairs
from lfp_desktop.registry.keys import (KeyIssueError, capacity_bound, hamming_to_all, issue_keys,
                                       key_to_string, nearest, pack_bits, parse_key_string,
                                       random_keys, unpack_keys)


def all_pairs(new: np.ndarray, existing: np.ndarray, key_len: int, min_distance: int) -> set[tuple[int, int, int]]:
    """Reference: every (new i, other j, d) with d < min_distance, j existing or an earlier new row,
    from the unpacked bits (independent of the packed arithmetic under test)."""
    signs = unpack_keys(np.concatenate([existing, new]), key_len).astype(np.float64) * 2 - 1
    dist = np.rint((key_len - signs[len(existing):] @ signs.T) / 2).astype(int)  # ±1 dot products
    rows = np.arange(len(new))[:, None] + len(existing)
    i, j = np.nonzero((dist < min_distance) & (np.arange(len(signs))[None, :] < rows))
    return set(zip(i.tolist(), j.tolist(), dist[i, j].tolist()))


def as_set(pairs: nearpairs.ClosePairs) -> set[tuple[int, int, int]]:
    return set(zip(pairs.new_index.tolist(), pairs.other_index.tolist(), pairs.distance.tolist()))


def test_pack_matches_numpy_packbits_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, (5, 13), dtype=np.uint8)
    packed = pack_bits(bits)
    assert packed.shape == (5, 2)
    assert np.array_equal(packed, np.packbits(bits, axis=-1))
    assert np.array_equal(unpack_keys(packed, 13), bits)
    text = key_to_string(packed[0], 13)
    assert text == "".join(map(str, bits[0]))
    assert parse_key_string(text, 13) == packed[0].tobytes()


@pytest.mark.parametrize("text, why", [
    ("0101", "has 4 bits; this registry's keys have 8"),
    ("01012a01", "may only contain 0 and 1, but contains '2', 'a'"),
    ("", "is empty"),
    (None, "is missing"),
])
def test_parse_key_string_says_what_is_wrong(text: str | None, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("(", r"\(")):
        parse_key_string(text, 8)  # type: ignore[arg-type]


def test_random_keys_keep_unused_bits_zero() -> None:
    keys = random_keys(2000, 13, np.random.default_rng(0))
    assert keys.shape == (2000, 2)
    assert not np.any(keys[:, 1] & 0b111)  # 13 bits: the last 3 bits of byte 2 are padding
    assert len(np.unique(keys[:, 0])) > 200  # and the rest is random
    secure = random_keys(50, 64)  # OS randomness when no generator is given
    assert len({k.tobytes() for k in secure}) == 50


def test_hamming_and_nearest() -> None:
    rng = np.random.default_rng(2)
    keys = random_keys(300, 64, rng)
    query = keys[17].copy()
    query[0] ^= 0b1010_0000
    dist = hamming_to_all(query, keys)
    ref = np.abs(unpack_keys(keys, 64).astype(int) - unpack_keys(query, 64).astype(int)).sum(axis=1)
    assert np.array_equal(dist, ref)
    rows, d = nearest(query, keys, 3)
    assert rows[0] == 17 and d[0] == 2
    assert list(d) == sorted(d) and len(rows) == 3
    for count in (1, 2, 5, 300, 301):
        rows, d = nearest(query, keys, count)
        ref_rows = np.lexsort((np.arange(len(ref)), ref))[:count]
        assert rows.tolist() == ref_rows.tolist() and d.tolist() == ref[ref_rows].tolist()
    # ties are broken by row so that the answer never depends on the sort
    twins = np.stack([keys[5], keys[5], keys[9]])
    assert nearest(keys[5], twins, 2)[0].tolist() == [0, 1]


@pytest.mark.parametrize("key_len, min_distance, n_old, n_new", [
    (64, 8, 3000, 2000),   # the usual case: block index
    (64, 20, 800, 400),
    (37, 6, 1500, 1500),   # keys not a whole number of bytes
    (130, 12, 1000, 1000),  # more than one 64-bit word
    (12, 3, 300, 200),     # crowded short keys
])
def test_close_pairs_finds_exactly_the_close_pairs(key_len: int, min_distance: int, n_old: int,
                                                    n_new: int) -> None:
    rng = np.random.default_rng(key_len + min_distance)
    old, new = random_keys(n_old, key_len, rng), random_keys(n_new, key_len, rng)
    # plant near neighbours: a copy, one with 1 flipped bit, one copied from an earlier new row
    new[3] = old[10]
    new[4] = old[11]
    new[4, 0] ^= 0x80
    new[7] = new[6]
    found = nearpairs.close_pairs(new, old, key_len, min_distance)
    expected = all_pairs(new, old, key_len, min_distance)
    assert {(3, 10, 0), (4, 11, 1), (7, n_old + 6, 0)} <= expected
    assert as_set(found) == expected
    assert list(found.new_index) == sorted(found.new_index)


def test_block_index_and_brute_force_agree_on_a_large_case() -> None:
    rng = np.random.default_rng(5)
    old, new = random_keys(20_000, 64, rng), random_keys(3000, 64, rng)
    for i in range(20):
        new[i] = old[i]
        new[i, i % 8] ^= 1 << (i % 8)  # 1 bit away
    assert nearpairs.plan_blocks(64, 7, len(new), len(old) + len(new)) is not None
    fast = as_set(nearpairs.close_pairs(new, old, 64, 8))
    slow = as_set(nearpairs._brute_force(new, np.concatenate([old, new]), len(old), 8))
    assert fast == slow and len(fast) >= 20


def test_issued_keys_keep_the_minimum_distance() -> None:
    rng = np.random.default_rng(3)
    existing = random_keys(500, 24, rng)
    new = issue_keys(1500, existing, 24, 5, rng)
    assert new.shape == (1500, 3)
    bits = unpack_keys(np.concatenate([existing, new]), 24).astype(np.int16)
    d = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
    d_new = d[500:]
    np.fill_diagonal(d_new[:, 500:], 99)
    assert d_new.min() >= 5


def test_issue_refuses_more_keys_than_can_exist() -> None:
    assert capacity_bound(8, 3) == 256 // 9
    with pytest.raises(KeyIssueError, match="at most 28 such keys exist"):
        issue_keys(29, np.zeros((0, 1), np.uint8), 8, 3, np.random.default_rng(0))


def test_issue_gives_up_on_a_crowded_space_and_says_why() -> None:
    # 10-bit keys at distance 4: the sphere bound allows 93, random draws fill far fewer
    with pytest.raises(KeyIssueError, match="too crowded"):
        issue_keys(90, np.zeros((0, 2), np.uint8), 10, 4, np.random.default_rng(0), max_rounds=20)
