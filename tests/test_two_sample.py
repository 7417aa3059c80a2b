"""Two-sample energy test: naive cdist oracle, blocked permutations against a naive loop over the same
labels, p-value range and power, subsampling, symmetry, scale, errors, and calibration of the level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import gaussprobe as gp
from gaussprobe._random import as_generator
from gaussprobe.stats.two_sample import (
    energy_two_sample,
    permutation_energies,
    permutation_labels,
    subsample,
)


def naive_energy(x, y):
    """E (V-statistic form) straight from the definition, with SciPy's distances."""
    n, m = len(x), len(y)
    return 2.0 * cdist(x, y).sum() / (n * m) - cdist(x, x).sum() / n**2 - cdist(y, y).sum() / m**2


def naive_statistics(z, labels):
    """T = nm/(n+m) E of every split (column) of ``labels``, one split at a time."""
    out = []
    for b in range(labels.shape[1]):
        a = labels[:, b] == 1
        n, m = int(a.sum()), int((~a).sum())
        out.append(n * m / (n + m) * naive_energy(z[a], z[~a]))
    return np.array(out)


@pytest.fixture(scope="module")
def small():
    g = np.random.default_rng(4)
    return g.standard_normal((41, 6)), 0.2 + g.standard_normal((29, 6))


# ---------------------------------------------------------------- the statistic
def test_statistic_matches_the_naive_formula(small):
    x, y = small
    res = energy_two_sample(x, y, n_permutations=0)
    e = naive_energy(x, y)
    assert res.energy_distance == pytest.approx(e, rel=1e-10, abs=1e-12)
    assert res.statistic == pytest.approx(41 * 29 / 70 * e, rel=1e-10)
    assert res.pvalue is None and res.n_permutations == 0
    assert (res.n_baseline, res.n_candidate, res.n_features) == (41, 29, 6)
    assert res.note == ""


@pytest.mark.parametrize("block_size", [1, 7, 32, 70, 512])
def test_blocked_permutations_equal_a_naive_loop_over_the_same_labels(small, block_size):
    x, y = small
    z = np.concatenate([x, y])
    labels = permutation_labels(41, 29, 25, np.random.default_rng(9))
    assert (labels.sum(axis=0) == 41).all() and np.array_equal(labels[:, 0], np.r_[np.ones(41), np.zeros(29)])
    assert len({labels[:, b].tobytes() for b in range(26)}) == 26  # distinct splits
    blocked = 41 * 29 / 70 * permutation_energies(z, labels, block_size=block_size)
    np.testing.assert_allclose(blocked, naive_statistics(z, labels), rtol=1e-10, atol=1e-12)


def test_pvalue_replays_the_seeded_permutations(small):
    x, y = small
    res = energy_two_sample(x, y, n_permutations=99, rng=123, block_size=16)
    gen = as_generator(123)
    ix, iy = subsample(41, 5000, gen), subsample(29, 5000, gen)
    labels = permutation_labels(len(ix), len(iy), 99, gen)
    t = naive_statistics(np.concatenate([x[ix], y[iy]]), labels)
    assert res.statistic == pytest.approx(t[0], rel=1e-10)
    assert res.pvalue == pytest.approx((1 + np.sum(t[1:] >= t[0] * (1 - 1e-12))) / 100)
    # the same seed gives the same result; the thread count does not change it
    again = energy_two_sample(x, y, n_permutations=99, rng=123, block_size=5)
    assert again.pvalue == res.pvalue and again.statistic == pytest.approx(res.statistic, rel=1e-12)


def test_symmetric_in_the_two_samples(small):
    x, y = small
    a, b = energy_two_sample(x, y, n_permutations=0), energy_two_sample(y, x, n_permutations=0)
    assert a.energy_distance == pytest.approx(b.energy_distance, rel=1e-12)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)


def test_invariant_to_translation_and_equivariant_to_scale(small):
    x, y = small
    base = energy_two_sample(x, y, n_permutations=0).energy_distance
    assert energy_two_sample(x + 1e3, y + 1e3, n_permutations=0).energy_distance == pytest.approx(base, rel=1e-8)
    for c in (1e-200, 1e200, 3.0):
        e = energy_two_sample(c * x, c * y, n_permutations=0).energy_distance
        assert e / c == pytest.approx(base, rel=1e-10)


def test_identical_samples_give_zero_and_pvalue_one():
    x = np.random.default_rng(0).standard_normal((30, 4))
    res = energy_two_sample(x, x.copy(), n_permutations=49, rng=0)
    # a row repeated across the samples is at a distance of rounding noise (the Gram form), not 0
    assert abs(res.energy_distance) < 1e-8
    assert res.pvalue == 1.0  # every split is at least as far apart as two copies


def test_float32_products_agree(small):
    x, y = small
    a = energy_two_sample(x, y, n_permutations=0)
    b = energy_two_sample(x, y, n_permutations=0, dtype="float32")
    assert b.statistic == pytest.approx(a.statistic, rel=1e-5)


# ---------------------------------------------------------------- p-values
def test_pvalue_range_and_gaussians_of_different_sizes():
    g = np.random.default_rng(1)
    res = energy_two_sample(g.standard_normal((150, 8)), g.standard_normal((260, 8)), n_permutations=99, rng=2)
    assert 1 / 100 <= res.pvalue <= 1
    assert res.pvalue > 0.01
    assert res.pvalue * 100 == pytest.approx(round(res.pvalue * 100))  # a multiple of 1/(B+1)


@pytest.mark.parametrize("alternative", ["shift", "laplace"])
def test_different_distributions_give_a_small_pvalue(alternative):
    # the same mean and covariance: the Laplace law differs only in shape, which takes more rows to see
    # (at n = 2000 the power is about 1 at d = 4, lower at d = 8: 6 of 8 seeds at p = 0.005, measured)
    n, d = (300, 8) if alternative == "shift" else (2000, 4)
    g = np.random.default_rng(3)
    x = g.standard_normal((n, d))
    y = 0.4 + g.standard_normal((n, d)) if alternative == "shift" else g.laplace(scale=2**-0.5, size=(n, d))
    res = energy_two_sample(x, y, n_permutations=199, rng=0)
    assert res.pvalue == pytest.approx(1 / 200)


# ---------------------------------------------------------------- subsampling
def test_subsampling_is_seeded_and_reported():
    g = np.random.default_rng(5)
    x, y = g.standard_normal((120, 3)), g.standard_normal((40, 3))
    res = energy_two_sample(x, y, max_rows=50, n_permutations=19, rng=7)
    assert (res.n_baseline, res.n_baseline_available) == (50, 120)
    assert (res.n_candidate, res.n_candidate_available) == (40, 40)
    assert "max_rows=50" in res.note and "baseline 50 of 120 rows" in res.note and "candidate" not in res.note
    gen = as_generator(7)
    ix = subsample(120, 50, gen)
    assert len(np.unique(ix)) == 50
    assert res.energy_distance == pytest.approx(naive_energy(x[ix], y), rel=1e-10)
    assert energy_two_sample(x, y, max_rows=50, n_permutations=19, rng=7) == res
    full = energy_two_sample(x, y, max_rows=None, n_permutations=0)
    assert full.n_baseline == 120 and full.note == ""


# ---------------------------------------------------------------- errors
def test_width_mismatch_says_what_and_how():
    with pytest.raises(ValueError, match=r"`x` has 4 features and `y` has 5.*project both"):
        energy_two_sample(np.zeros((10, 4)), np.ones((10, 5)))


@pytest.mark.parametrize(("x", "y", "message"), [
    (np.ones((1, 3)), np.ones((5, 3)), r"`x` has 1 rows; at least 2"),
    (np.ones((5, 3)), np.ones((1, 3)), r"`y` has 1 rows; at least 2"),
    (np.full((5, 3), np.nan), np.ones((5, 3)), r"NaN"),
    (np.ones((5, 3)), np.r_[np.ones((4, 3)), [[np.inf, 0, 0]]], r"NaN or Inf"),
    (np.ones(5), np.ones((5, 1)), r"must be 2-D"),
])
def test_bad_inputs(x, y, message):
    with pytest.raises(ValueError, match=message):
        energy_two_sample(x, y)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_permutations": -1}, "n_permutations"),
    ({"max_rows": 1}, "max_rows"),
    ({"block_size": 0}, "block_size"),
    ({"n_permutations": 9.5}, "n_permutations"),
])
def test_bad_options(kwargs, message):
    x = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises((ValueError, TypeError), match=message):
        energy_two_sample(x, x, **kwargs)


def test_exported_and_result_serialises(small):
    res = gp.energy_two_sample(*small, n_permutations=9, rng=0)
    assert isinstance(res, gp.EnergyTwoSampleResult)
    data = res.to_dict()
    assert set(data) == {"statistic", "energy_distance", "pvalue", "n_permutations", "n_baseline",
                         "n_candidate", "n_baseline_available", "n_candidate_available", "n_features", "note"}
    assert repr(res).startswith("EnergyTwoSampleResult(d=6, statistic=")


# ---------------------------------------------------------------- calibration
@pytest.mark.slow
def test_level_is_calibrated_on_gaussian_pairs():
    from scipy import stats

    draws, rejected = 1000, 0  # 44 rejections measured (band 33 to 69)
    for i in range(draws):
        g = np.random.default_rng([i, 2004])
        res = energy_two_sample(g.standard_normal((40, 8)), g.standard_normal((40, 8)), n_permutations=99,
                                rng=i, block_size=80)
        rejected += res.pvalue <= 0.05
    low, high = stats.binom.interval(0.99, draws, 0.05)
    assert low <= rejected <= high, rejected
