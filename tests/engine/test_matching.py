import itertools
import math

import numpy as np
import pytest

from lfp_desktop.engine import matching
from lfp_desktop.engine.matching import (DecisionPolicy, Verdict, bit_weights, chance_within, decide,
                                         false_match_probability, hamming_distances, max_attributable_distance,
                                         nearest, pack_bits, weighted_chance_within, weighted_distances)


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


@pytest.mark.parametrize("k", [8, 13, 48, 70])
def test_weighted_distances_match_brute_force(k, monkeypatch):
    monkeypatch.setattr(matching, "_CHUNK_ROWS", 64)  # several chunks, one partial
    rng = np.random.default_rng(k)
    keys = rng.integers(0, 2, (300, k), dtype=np.uint8)
    q = rng.integers(0, 2, k, dtype=np.uint8)
    w = rng.integers(1, 17, k)
    assert np.array_equal(weighted_distances(q, w, pack_bits(keys)), ((keys != q) * w).sum(1))
    m = matching.nearest_weighted(q, w, pack_bits(keys), k)
    s = ((keys != q) * w).sum(1)
    order = np.lexsort((np.arange(300), s))
    assert (m.index, m.score, m.runner_up_index, m.runner_up_score) == (order[0], s[order[0]], order[1], s[order[1]])
    assert (m.distance, m.runner_up_distance) == ((keys[order[0]] != q).sum(), (keys[order[1]] != q).sum())


def test_weighted_null_distribution_by_enumeration():
    k = 10
    words = np.array(list(itertools.product([0, 1], repeat=k)))
    w = np.array([1, 3, 3, 7, 16, 2, 1, 9, 4, 5])
    score = (words * w).sum(1)  # weighted distance to the all-zero key
    cdf = weighted_chance_within(w)
    assert cdf.shape == (w.sum() + 1,) and cdf[-1] == 1.0
    for d in range(w.sum() + 1):
        assert cdf[d] == pytest.approx((score <= d).mean(), abs=1e-15)
    ones = weighted_chance_within(np.ones(48, dtype=int))  # equal weights: the Hamming statistic
    assert all(ones[d] == pytest.approx(chance_within(d, 48), rel=1e-12) for d in range(49))


def test_bit_weights():
    c = np.array([0.0, 0.1, 0.25, 0.5, 0.49])
    w = bit_weights(c)
    assert w.tolist() == [1, 4, 9, 16, 16] and w.dtype == np.int64
    assert bit_weights(np.zeros(6)).tolist() == [1] * 6
    with pytest.raises(ValueError, match="finite"):
        bit_weights(np.array([0.1, np.nan]))


def test_weighted_p_values_hold_their_level_under_the_null():
    """Keys independent of the image: P(p ≤ α) must not exceed α (the statistic is discrete)."""
    rng = np.random.default_rng(7)
    k, trials = 24, 4000
    policy = DecisionPolicy(statistic="weighted")
    p = np.array([decide(rng.integers(0, 2, k, dtype=np.uint8), pack_bits(rng.integers(0, 2, (3, k), dtype=np.uint8)),
                         k, policy, confidence=rng.uniform(0, 0.5, k) ** 2).p_value for _ in range(trials)])
    for alpha in (0.01, 0.05, 0.2, 0.5):
        rate = (p <= alpha).mean()
        assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / trials)
        assert rate >= alpha / 3  # and it is not uselessly conservative


def test_weighted_statistic_forgives_unsure_bits_only():
    rng = np.random.default_rng(3)
    k = 48
    keys = rng.integers(0, 2, (1000, k), dtype=np.uint8)
    decoded = keys[0].copy()
    decoded[:6] ^= 1  # six wrong bits: too many for the Hamming statistic at N = 1000, FPR 1e-6
    unsure = np.full(k, 0.45)
    unsure[:6] = 0.02  # ... but the attribution was unsure of exactly those
    hamming = decide(decoded, pack_bits(keys), k, DecisionPolicy())
    weighted = decide(decoded, pack_bits(keys), k, DecisionPolicy(statistic="weighted"), confidence=unsure)
    assert hamming.verdict is Verdict.INCONCLUSIVE
    assert weighted.verdict is Verdict.ATTRIBUTED and weighted.match.index == 0 and weighted.p_value < 1e-6
    assert weighted.match.distance == 6 and weighted.match.score == 6 * 2  # weight 1 + round(15 · 0.02 / 0.45)
    sure = np.full(k, 0.45)  # the same errors made with full confidence are not forgiven
    assert decide(decoded, pack_bits(keys), k, DecisionPolicy(statistic="weighted"),
                  confidence=sure).verdict is not Verdict.ATTRIBUTED
    with pytest.raises(ValueError, match="one confidence per key bit"):
        decide(decoded, pack_bits(keys), k, DecisionPolicy(statistic="weighted"))
    with pytest.raises(ValueError, match="statistic must be one of"):
        DecisionPolicy(statistic="soft")
