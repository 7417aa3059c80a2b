"""coordinate_normality: scipy per column as oracle, blocking, backends, bad input, invariances,
calibration under the null and the paper's sphere example."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from gaussprobe._warnings import SmallSampleWarning
from gaussprobe.stats.coordinates import (
    CoordinateNormalityResult,
    coordinate_normality,
    pass_fraction_band,
)
from gaussprobe.stats.univariate import ad_null_pvalue, ad_pvalue


def _data(rng, n=300):
    return np.column_stack([
        rng.standard_normal(n), rng.laplace(size=n), rng.uniform(size=n),
        10.0 + rng.exponential(size=n), rng.standard_t(5, size=n), 1e-3 * rng.standard_normal(n),
    ])


def _scipy_reference(x):
    ad = np.array([stats.anderson(c, dist="norm", method="interpolate").statistic for c in x.T])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dp = stats.normaltest(x, axis=0)
    return ad, dp


@pytest.mark.parametrize("n", [20, 300, 2500])
def test_matches_scipy_per_column(rng, n):
    x = _data(rng, n)
    res = coordinate_normality(x)
    ad, dp = _scipy_reference(x)
    np.testing.assert_allclose(res.ad_statistics, ad, rtol=1e-10)
    np.testing.assert_allclose(res.ad_pvalues, ad_null_pvalue(ad, n), rtol=1e-9)
    # R nortest::ad.test's p-values stay available (test_univariate checks the formula against R's)
    np.testing.assert_allclose(res.ad_pvalues_nortest, ad_pvalue(ad, n), rtol=1e-9)
    np.testing.assert_allclose(res.dp_statistics, dp.statistic, rtol=1e-10)
    np.testing.assert_allclose(res.dp_pvalues, dp.pvalue, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(res.skewness, stats.skew(x, axis=0), rtol=1e-9)
    np.testing.assert_allclose(res.excess_kurtosis, stats.kurtosis(x, axis=0), rtol=1e-9)
    np.testing.assert_allclose(res.skewness_z, stats.skewtest(x, axis=0).statistic, rtol=1e-9)
    with pytest.warns(FutureWarning):
        crit = stats.anderson(x[:, 0], dist="norm").critical_values[2]
    assert res.ad_critical_value == crit
    assert res.ad_pass_fraction == pytest.approx(np.mean(ad < crit))
    assert res.dp_pass_fraction == pytest.approx(np.mean(dp.pvalue > 0.05))
    assert res.ad_mean == pytest.approx(ad.mean(), rel=1e-10)
    assert res.dp_mean_pvalue == pytest.approx(dp.pvalue.mean(), rel=1e-9)
    assert (res.n_samples, res.n_features, res.alpha) == (n, 6, 0.05)
    assert isinstance(res, CoordinateNormalityResult)


def test_result_is_frozen_and_serialisable(rng):
    res = coordinate_normality(_data(rng))
    with pytest.raises(AttributeError):
        res.ad_mean = 0.0  # type: ignore[misc]
    d = res.to_dict()
    assert len(d["ad_statistics"]) == 6
    assert d["pass_fraction_band"] == list(res.pass_fraction_band)
    assert "CoordinateNormalityResult(" in repr(res)


@pytest.mark.parametrize("block_size", [1, 2, 5, 64])
def test_block_size_does_not_change_results(rng, block_size):
    x = _data(rng, 500)
    ref = coordinate_normality(x)
    res = coordinate_normality(x, block_size=block_size)
    for name in ("ad_statistics", "dp_statistics", "dp_pvalues", "skewness", "excess_kurtosis"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-12, atol=1e-300)


def test_backends_agree(rng, to_backend):
    x = _data(rng, 400)
    ref = coordinate_normality(x)
    res = coordinate_normality(to_backend(x), block_size=4)
    for name in ("ad_statistics", "ad_pvalues", "dp_statistics", "dp_pvalues", "skewness",
                 "excess_kurtosis"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-10, atol=1e-14)
    assert res.ad_pass_fraction == ref.ad_pass_fraction


def test_float32_storage_gives_the_float64_result_of_the_cast_values(rng, to_backend):
    x32 = _data(rng, 400).astype(np.float32)
    res = coordinate_normality(to_backend(x32))
    ref = coordinate_normality(x32.astype(np.float64))
    np.testing.assert_allclose(res.ad_statistics, ref.ad_statistics, rtol=1e-10)
    np.testing.assert_allclose(res.dp_statistics, ref.dp_statistics, rtol=1e-10)


def test_float32_compute_is_close(rng):
    x = rng.standard_normal((20_000, 8))
    ref = coordinate_normality(x)
    res = coordinate_normality(x, dtype="float32")
    np.testing.assert_allclose(res.ad_statistics, ref.ad_statistics, atol=5e-4)
    np.testing.assert_allclose(res.dp_statistics, ref.dp_statistics, rtol=1e-3, atol=1e-3)


def test_constant_columns_are_named(rng):
    x = rng.standard_normal((50, 6))
    x[:, 2] = 3.7
    x[:, 4] = 0.1
    with pytest.raises(ValueError, match=r"2 constant column\(s\) \(indices \[2, 4\]"):
        coordinate_normality(x)


@pytest.mark.parametrize(("n", "match"), [(7, "at least 8"), (1, "at least 8")])
def test_too_few_samples(rng, n, match):
    with pytest.raises(ValueError, match=match):
        coordinate_normality(rng.standard_normal((n, 3)))


def test_small_samples_warn(rng):
    with pytest.warns(SmallSampleWarning, match="n_samples=12"):
        res = coordinate_normality(rng.standard_normal((12, 3)))
    assert np.all(np.isfinite(res.dp_statistics))


@pytest.mark.parametrize(("kwargs", "exc"), [
    ({"alpha": 0.0}, ValueError), ({"alpha": 1.5}, ValueError), ({"alpha": 1e-30}, ValueError),
    ({"block_size": 0}, ValueError), ({"block_size": 2.5}, TypeError), ({"dtype": "float16"}, ValueError),
])
def test_bad_options(rng, kwargs, exc):
    with pytest.raises(exc):
        coordinate_normality(rng.standard_normal((30, 3)), **kwargs)


def test_untabulated_alpha(rng):
    x = _data(rng, 1000)
    res = coordinate_normality(x, alpha=0.001)
    assert res.ad_critical_value > 1.0
    assert res.expected_pass_fraction == pytest.approx(0.999)
    assert res.dp_pass_fraction == pytest.approx(np.mean(res.dp_pvalues > 0.001))


def test_pass_fraction_band_is_binomial():
    lo, hi = pass_fraction_band(256, 0.05)
    assert lo < 0.95 < hi < 1.0
    assert stats.binom.cdf(lo * 256, 256, 0.95) >= 0.005
    assert stats.binom.cdf(hi * 256, 256, 0.95) >= 0.995
    # a hundred percent pass over 256 independent Gaussian coordinates is outside the band
    assert hi < 1.0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3), shift=st.floats(-1e3, 1e3))
def test_affine_invariance_per_column(seed, scale, shift):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.standard_normal(64), rng.exponential(size=64), rng.uniform(size=64)])
    r0 = coordinate_normality(x)
    r1 = coordinate_normality(scale * x + shift)
    r2 = coordinate_normality(-x)
    for r in (r1, r2):
        np.testing.assert_allclose(r.ad_statistics, r0.ad_statistics, rtol=1e-6)
        np.testing.assert_allclose(r.dp_statistics, r0.dp_statistics, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(r2.skewness, -r0.skewness, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_permutation_invariance(seed):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.standard_normal(50), rng.laplace(size=50)])
    r0 = coordinate_normality(x)
    r1 = coordinate_normality(x[rng.permutation(50)])
    np.testing.assert_allclose(r1.ad_statistics, r0.ad_statistics, rtol=1e-12)
    np.testing.assert_allclose(r1.dp_statistics, r0.dp_statistics, rtol=1e-10)


@pytest.mark.slow
def test_null_calibration_matches_the_paper():
    """PAPER §7: i.i.d. Gaussian, n = 10k, d = 256: AD mean ≈ 0.37, DP mean p ≈ 0.5, ~95% pass."""
    rng = np.random.default_rng(2026)
    res = coordinate_normality(rng.standard_normal((10_000, 256), dtype=np.float32))
    assert res.ad_critical_value == 0.752
    assert 0.33 < res.ad_mean < 0.41
    assert 0.45 < res.dp_mean_pvalue < 0.56
    lo, hi = res.pass_fraction_band
    assert lo <= res.ad_pass_fraction <= hi
    assert lo <= res.dp_pass_fraction <= hi


@pytest.mark.slow
def test_pass_fraction_calibration_over_many_columns():
    rng = np.random.default_rng(7)
    res = coordinate_normality(rng.standard_normal((500, 4000)))
    lo, hi = pass_fraction_band(4000, 0.05)
    assert lo <= res.dp_pass_fraction <= hi
    assert lo <= res.ad_pass_fraction <= hi


@pytest.mark.slow
def test_uniform_on_sphere_fails_at_small_dimension():
    """PAPER §7: on the sphere at d = 32, n = 10k the coordinates are detectably platykurtic."""
    rng = np.random.default_rng(3)
    g = rng.standard_normal((10_000, 32))
    sphere = g / np.linalg.norm(g, axis=1, keepdims=True) * np.sqrt(32)
    res = coordinate_normality(sphere)
    assert res.dp_pass_fraction < 0.3
    assert res.ad_mean > 0.7
    assert np.all(res.excess_kurtosis < 0)
    assert np.mean(res.excess_kurtosis) == pytest.approx(-6 / 34, abs=0.05)


def test_pass_fraction_references_are_the_tests_null_at_this_n():
    from gaussprobe._reference import coordinate_pass_references, dp_pass_probability

    x = np.random.default_rng(11).standard_normal((60, 40))
    res = coordinate_normality(x)
    ad, dp = res.ad_pass_fraction_reference, res.dp_pass_fraction_reference
    assert (ad, dp) == coordinate_pass_references(60, 40, 0.05)
    assert ad.mean == pytest.approx(0.95)
    assert dp.mean == dp_pass_probability(60, 0.05)[0] < 0.95  # the chi2(2) null is liberal at n = 60
    assert ad.contains(res.ad_pass_fraction) and dp.contains(res.dp_pass_fraction)
    assert set(res.to_dict()["dp_pass_fraction_reference"]) == {"mean", "low", "high", "method", "n_draws"}
