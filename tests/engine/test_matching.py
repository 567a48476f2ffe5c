import itertools
import math

import numpy as np
import pytest

from lfp_desktop.engine.matching import (DecisionPolicy, Verdict, chance_within, decide, false_match_probability,
                                         hamming_distances, max_attributable_distance, nearest, pack_bits)


@pytest.mark.parametrize("k", [8, 13, 64, 70])
def test_distances_match_brute_force(k):
    rng = np.random.default_rng(k)
    keys = rng.integers(0, 2, (500, k), dtype=np.uint8)
    q = rng.integers(0, 2, k, dtype=np.uint8)
    expected = (keys != q).sum(1)
    assert np.array_equal(hamming_distances(q, pack_bits(keys)), expected)
    m = nearest(q, pack_bits(keys), k)
    order = np.lexsort((np.arange(500), expected))
    assert (m.index, m.distance) == (order[0], expected[order[0]])
    assert m.runner_up_distance == expected[order[1]]


def test_chance_within_by_enumeration():
    k = 10
    words = np.array(list(itertools.product([0, 1], repeat=k)))
    dist = words.sum(1)  # distance to the all-zero key
    for d in range(k + 1):
        assert chance_within(d, k) == pytest.approx((dist <= d).mean())


def test_false_match_probability_formula_and_spec_example():
    f = chance_within(3, 20)
    assert false_match_probability(3, 20, 50) == pytest.approx(1 - (1 - f) ** 50)
    assert false_match_probability(30, 64, 10) == pytest.approx(1 - (1 - chance_within(30, 64)) ** 10)
    assert 0 < false_match_probability(0, 64, 10_000) < 1e-15
    assert max_attributable_distance(64, 10_000, 1e-6) == 7  # the method note's example


def test_verdicts():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2, (1000, 64), dtype=np.uint8)
    packed = pack_bits(keys)
    exact = decide(keys[5], packed, 64)
    assert exact.verdict == Verdict.ATTRIBUTED and exact.match.index == 5 and exact.match.distance == 0
    noisy = keys[5].copy()
    noisy[:12] ^= 1
    assert decide(noisy, packed, 64).verdict == Verdict.INCONCLUSIVE
    random_key = rng.integers(0, 2, 64, dtype=np.uint8)
    nm = decide(random_key, packed, 64)
    assert nm.verdict == Verdict.NO_MATCH and nm.p_value > 0.01 and nm.reasons
    # two registered keys equally near: never attributed
    twin = np.stack([keys[5], keys[5]])
    twin[1, 0] ^= 1
    close = decide(keys[5], pack_bits(twin), 64, DecisionPolicy(min_margin=4))
    assert close.verdict == Verdict.INCONCLUSIVE and "runner-up" in close.reasons[0]
    empty = decide(keys[0], np.zeros((0, 8), np.uint8), 64)
    assert empty.verdict == Verdict.NO_MATCH


def test_p_value_tiny_numbers_are_stable():
    p = false_match_probability(0, 64, 1)
    assert p == pytest.approx(2.0 ** -64) and not math.isnan(p)
