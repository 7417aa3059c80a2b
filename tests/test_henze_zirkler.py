"""Henze-Zirkler: oracles, pingouin, published values, high-dimensional precision, calibration."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from _alternatives import sphere as _sphere
from _oracles_mvn import hz_beta, hz_highprec, hz_lognormal, hz_lognormal_highprec, hz_naive
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussprobe.stats.henze_zirkler import _null_moments_log, henze_zirkler


def _iris_setosa() -> np.ndarray:
    datasets = pytest.importorskip("sklearn.datasets")
    return np.asarray(datasets.load_iris().data[:50, :4], dtype=np.float64)


def _pingouin_hz(x: np.ndarray):
    pg = pytest.importorskip("pingouin")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pingouin/pandas deprecation noise is not ours
        return pg.multivariate_normality(x)


# ------------------------------------------------------------------------------ reference values
def test_iris_setosa_matches_published_mvn_values():
    res = henze_zirkler(_iris_setosa())
    assert res.statistic == pytest.approx(0.9488453, rel=1e-7)
    assert res.pvalue == pytest.approx(0.04995356, rel=1e-6)
    assert res.beta == pytest.approx(hz_beta(50, 4), rel=1e-14)


@pytest.mark.parametrize("covariance", ["biased", "unbiased"])
def test_matches_naive_oracle(to_backend, rng, covariance):
    x = rng.standard_normal((45, 3)) @ rng.standard_normal((3, 3)) - 2.0
    x[:6] += rng.exponential(size=(6, 3))
    res = henze_zirkler(to_backend(x), covariance=covariance, block_size=7)
    hz, p = hz_naive(x, covariance)
    assert res.statistic == pytest.approx(hz, rel=1e-11)
    assert res.statistic_minus_one == pytest.approx(hz - 1.0, rel=1e-10)
    assert res.pvalue == pytest.approx(p, rel=1e-9)
    mu, si2, pmu, psi = hz_lognormal(45, 3)
    assert (res.lognormal_mean, res.lognormal_variance) == pytest.approx((mu, si2), rel=1e-12)
    assert (res.lognormal_log_mean, res.lognormal_log_sd) == pytest.approx((pmu, psi), rel=1e-12)
    assert res.covariance == covariance


@pytest.mark.parametrize(("n", "d"), [(60, 2), (200, 5), (150, 10)])
def test_matches_pingouin_at_small_d(rng, n, d):
    x = rng.standard_t(6, size=(n, d))
    ref = _pingouin_hz(x)
    res = henze_zirkler(x)
    assert res.statistic == pytest.approx(float(ref.hz), rel=1e-10)
    assert res.pvalue == pytest.approx(float(ref.pval), rel=1e-8, abs=1e-300)


def test_block_size_invariance(to_backend, rng):
    x = rng.laplace(size=(70, 4))
    ref = henze_zirkler(to_backend(x), block_size=70)
    for b in (1, 7, 64):
        res = henze_zirkler(to_backend(x), block_size=b)
        assert res.statistic_minus_one == pytest.approx(ref.statistic_minus_one, rel=1e-12)
        assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_threaded_path_matches_single_tile(rng):
    x = rng.standard_normal((3000, 16))
    x[:, 1] = x[:, 1] ** 2
    a = henze_zirkler(x, block_size=256)
    b = henze_zirkler(x, block_size=3000)
    assert a.statistic_minus_one == pytest.approx(b.statistic_minus_one, rel=1e-11)


def test_torch_matches_numpy(to_torch, rng):
    x = rng.standard_normal((90, 6))
    a = henze_zirkler(x)
    b = henze_zirkler(to_torch(x), block_size=32)
    assert b.statistic_minus_one == pytest.approx(a.statistic_minus_one, rel=1e-11)
    assert b.pvalue == pytest.approx(a.pvalue, rel=1e-11)
    assert isinstance(b.pvalue, float)


def test_float32_within_documented_tolerance(to_backend, rng):
    x = rng.standard_normal((300, 8)) + rng.exponential(size=(300, 8))
    a = henze_zirkler(to_backend(x))
    b = henze_zirkler(to_backend(x), dtype="float32")
    assert b.statistic_minus_one == pytest.approx(a.statistic_minus_one, rel=1e-5)
    assert b.pvalue == pytest.approx(a.pvalue, rel=1e-4, abs=1e-12)


# ------------------------------------------------------------------------------ high dimension
def test_d64_pvalue_matches_60_digit_evaluation(rng):
    pytest.importorskip("mpmath")
    x = _sphere(rng, 200, 64)
    ref = hz_highprec(x)
    res = henze_zirkler(x)
    assert 0.0 < res.lognormal_pvalue < 1.0
    assert res.statistic_minus_one == pytest.approx(float(ref["h"]), rel=1e-9)
    assert res.lognormal_log_sd == pytest.approx(float(ref["log_sd"]), rel=1e-12)
    assert res.lognormal_log_mean == pytest.approx(float(ref["log_mean"]), rel=1e-12)
    assert res.lognormal_pvalue == pytest.approx(float(ref["pvalue"]), rel=1e-8)


def test_d64_is_not_degenerate(rng):
    """MVN returns 0 and pingouin 0.5 for every sample here; the p-value must be a real number."""
    p = [henze_zirkler(rng.standard_normal((400, 64)), null="lognormal").pvalue for _ in range(6)]
    assert all(0.0 < v < 1.0 for v in p)
    assert len({round(v, 6) for v in p}) == len(p)  # different samples, different p-values
    assert not any(abs(v - 0.5) < 1e-3 for v in p)


@pytest.mark.parametrize("p", [1, 2, 5, 10, 64, 200, 768, 3000])
def test_null_moments_in_log_form_match_high_precision(p):
    pytest.importorskip("mpmath")
    n = max(p + 50, 100)
    b2 = math.exp(2 * (-0.5 * math.log(2) + (math.log((2 * p + 1) / 4) + math.log(n)) / (p + 4)))
    log_1m_mu, log_var = _null_moments_log(n, p, b2)
    one_minus_mu, si2, _, _ = hz_lognormal_highprec(n, p)
    import mpmath as mp

    assert log_1m_mu == pytest.approx(float(mp.log(one_minus_mu)), rel=1e-12, abs=1e-12)
    assert log_var == pytest.approx(float(mp.log(si2)), rel=1e-11, abs=1e-10)


def test_high_dimension_statistic_carries_digits_the_float_loses(rng):
    x = rng.standard_normal((400, 256))
    res = henze_zirkler(x)
    assert res.statistic == 1.0  # HZ itself rounds to one
    assert res.statistic_minus_one != 0.0
    assert 0.0 < res.lognormal_pvalue < 1.0
    assert math.isfinite(res.lognormal_log_mean)
    assert res.lognormal_log_sd > 0.0


def test_very_high_dimension_stays_finite(rng):
    """d = 1500: the kernel sums underflow double precision unless handled in log space."""
    x = rng.standard_normal((1520, 1500))
    res = henze_zirkler(x, block_size=512)
    assert 0.0 < res.lognormal_pvalue < 1.0
    assert math.isfinite(res.statistic_minus_one)


def test_outliers_and_near_duplicates_match_oracle(rng):
    x = rng.standard_normal((60, 3))
    x[0] = [400.0, -300.0, 250.0]
    x[1] = x[0] + 1e-3
    hz, p = hz_naive(x)
    res = henze_zirkler(x, block_size=16)
    assert res.statistic == pytest.approx(hz, rel=1e-10)
    assert res.pvalue == pytest.approx(p, rel=1e-8, abs=1e-300)


# ------------------------------------------------------------------------------ invariances
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_affine_invariance(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_gamma(2.0, size=(50, 3))
    a = rng.standard_normal((3, 3)) + 3.0 * np.eye(3)
    shift = rng.normal(scale=100.0, size=3)
    r0 = henze_zirkler(x)
    r1 = henze_zirkler(x @ a + shift)
    assert r1.statistic == pytest.approx(r0.statistic, rel=1e-8)
    assert r1.pvalue == pytest.approx(r0.pvalue, rel=1e-6, abs=1e-12)


def test_location_invariance_where_pingouin_breaks(rng):
    x = rng.standard_normal((200, 3))
    r0 = henze_zirkler(x)
    r1 = henze_zirkler(x + 1e8)
    assert r1.statistic == pytest.approx(r0.statistic, rel=1e-5)


# ------------------------------------------------------------------------------ errors and results
def test_n_not_above_d_raises(rng):
    with pytest.raises(ValueError, match=r"n_samples=10 <= n_features=12.*projection"):
        henze_zirkler(rng.standard_normal((10, 12)))


def test_singular_covariance_raises_instead_of_sentinel(rng):
    x = rng.standard_normal((50, 4))
    x[:, 2] = x[:, 1]
    with pytest.raises(ValueError, match=r"rank 3 < n_features=4"):
        henze_zirkler(x)


def test_simplex_case_raises(rng):
    with pytest.raises(ValueError, match="regular simplex"):
        henze_zirkler(rng.standard_normal((9, 8)))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"covariance": "pooled"}, "covariance"),
    ({"dtype": "float16"}, "dtype"),
    ({"block_size": -1}, "block_size"),
])
def test_bad_options_raise(rng, kwargs, match):
    with pytest.raises(ValueError, match=match):
        henze_zirkler(rng.standard_normal((30, 2)), **kwargs)


def test_result_is_json_ready(rng):
    res = henze_zirkler(rng.standard_normal((60, 3)))
    json.dumps(res.to_dict())
    assert res.null_distribution.startswith("lognormal(")
    assert (res.n_samples, res.n_features) == (60, 3)


# ------------------------------------------------------------------------------ calibration and power
_CALIBRATED = [(20, 2), (200, 10), (2000, 10)]


@pytest.mark.slow
@pytest.mark.parametrize(("n", "d"), _CALIBRATED)
def test_level_under_the_null(n, d):
    from scipy import stats

    reps = 600
    rng = np.random.default_rng(31 * n + d)
    p = np.array([henze_zirkler(rng.standard_normal((n, d))).pvalue for _ in range(reps)])
    lo, hi = (v / reps for v in stats.binom.interval(0.99, reps, 0.05))
    assert lo <= np.mean(p < 0.05) <= hi


@pytest.mark.slow
@pytest.mark.parametrize(("name", "sampler"), [
    ("laplace", lambda r, n, d: r.laplace(size=(n, d))),
    ("t5", lambda r, n, d: r.standard_t(5, size=(n, d))),
    ("sphere", _sphere),
    ("mixture", lambda r, n, d: r.standard_normal((n, d)) + 4.0 * (r.random((n, 1)) < 0.3)),
])
def test_power_against_alternatives(name, sampler):
    rng = np.random.default_rng(5)
    p = np.array([henze_zirkler(sampler(rng, 300, 3)).pvalue for _ in range(40)])
    assert np.mean(p < 0.05) >= 0.9, name


@pytest.mark.slow
def test_simulated_null_restores_power_the_lognormal_loses():
    """At d = 64 the lognormal tail hardly rejects uniform-on-sphere data; the calibrated null does."""
    rng = np.random.default_rng(2)
    res = [henze_zirkler(_sphere(rng, 400, 64)) for _ in range(40)]
    assert np.mean([r.lognormal_pvalue < 0.05 for r in res]) < 0.5
    assert all(r.calibration == "monte-carlo" for r in res)
    assert np.mean([r.pvalue < 0.05 for r in res]) >= 0.9
