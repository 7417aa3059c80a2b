"""Univariate kernels: Anderson–Darling, D'Agostino–Pearson and the mergeable moment state.

Oracles: scipy.stats (anderson, skewtest, kurtosistest, normaltest, skew, kurtosis) per column, and
a scalar transcription of nortest::ad.test's p-value formula.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from gaussprobe._backend import namespace_of, to_numpy
from gaussprobe.stats import univariate as uv


def _mixed_columns(rng, n):
    """Gaussian, Laplace, uniform, shifted exponential and a bimodal (very platykurtic) column."""
    return np.column_stack([
        rng.standard_normal(n),
        rng.laplace(size=n),
        rng.uniform(size=n),
        7.0 + 3.0 * rng.exponential(size=n),
        np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0) + 0.05 * rng.standard_normal(n),
    ])


def _scipy_anderson(col):
    return stats.anderson(col, dist="norm", method="interpolate").statistic


def _scipy_kurtosistest(x):
    with warnings.catch_warnings():  # older scipy warns for n < 20
        warnings.simplefilter("ignore")
        return stats.kurtosistest(x, axis=0).statistic


@pytest.mark.parametrize("n", [8, 9, 20, 57, 1000, 4000])
def test_anderson_darling_matches_scipy(rng, n):
    x = _mixed_columns(rng, n)
    got = to_numpy(uv.anderson_darling(np, x))
    want = np.array([_scipy_anderson(c) for c in x.T])
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("n", [8, 9, 20, 57, 1000, 4000])
def test_dagostino_pearson_matches_scipy(rng, n):
    x = _mixed_columns(rng, n)
    got = uv.normaltest(np, x)
    np.testing.assert_allclose(got.z_skewness, stats.skewtest(x, axis=0).statistic, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(got.z_kurtosis, _scipy_kurtosistest(x), rtol=1e-10, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = stats.normaltest(x, axis=0)
    np.testing.assert_allclose(got.statistic, ref.statistic, rtol=1e-10)
    p = uv.k2_pvalue(got.statistic)
    np.testing.assert_allclose(p, ref.pvalue, rtol=1e-9, atol=1e-300)


def test_signed_cube_root_for_very_platykurtic_columns(rng):
    """A two-point-like column makes Anscombe–Glynn's denominator negative; scipy's sign rule is kept."""
    n = 2000
    x = np.where(rng.uniform(size=(n, 3)) < 0.5, -1.0, 1.0) + 1e-3 * rng.standard_normal((n, 3))
    st = uv.column_statistics(np, x, np.float64)
    assert np.all(st.kurtosis < 1.01)  # b2 near 1: 1 + x sqrt(2/(A-4)) < 0 at this n
    z2 = to_numpy(uv.kurtosistest_z(np, st.kurtosis, n))
    np.testing.assert_allclose(z2, _scipy_kurtosistest(x), rtol=1e-10)


def test_kurtosis_z_at_zero_denominator_is_minus_infinity():
    """scipy returns NaN (with a warning) where 1 + x sqrt(2/(A-4)) == 0; the limit is -inf."""
    n = 1000
    mean = 3.0 * (n - 1) / (n + 1)
    sd = math.sqrt(24.0 * n * (n - 2) * (n - 3) / ((n + 1) ** 2 * (n + 3) * (n + 5)))
    sb1 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * math.sqrt(
        6.0 * (n + 3) * (n + 5) / (n * (n - 2) * (n - 3)))
    c = math.sqrt(2.0 / (6.0 + 8.0 / sb1 * (2.0 / sb1 + math.sqrt(1.0 + 4.0 / sb1**2)) - 4.0))
    b0 = mean - sd / c
    candidates = b0 + np.arange(-200, 201) * np.spacing(b0)
    zero = candidates[1.0 + (candidates - mean) / sd * c == 0.0]
    assert zero.size >= 1
    z = uv.kurtosistest_z(np, np.array([zero[0], zero[0] + 1e-9, zero[0] - 1e-9]), n)
    assert z[0] == -math.inf
    assert z[1] < -100  # approaching the zero from the valid side
    assert np.all(np.isfinite(z[1:]))


@pytest.mark.parametrize("n", [8, 16, 101, 1000, 100_000])
def test_exactly_symmetric_sample_gets_zero_skewness_z(n):
    """Deliberate deviation: scipy's skewtest turns y == 0 into y = 1."""
    half = np.arange(1, n // 2 + 1, dtype=np.float64)
    col = np.concatenate([-half[::-1], [0.0] * (n % 2), half])
    x = col[:, None]
    ours = uv.normaltest(np, x)
    assert abs(float(ours.z_skewness[0])) < 1e-12
    assert float(ours.statistic[0]) == pytest.approx(float(ours.z_kurtosis[0]) ** 2, rel=1e-12)
    scipy_z = float(stats.skewtest(col).statistic)
    # scipy's value is exactly its formula evaluated at y = 1
    y_scale = math.sqrt((n + 1) * (n + 3) / (6.0 * (n - 2)))
    assert float(stats.skew(col)) * y_scale == 0.0
    beta2 = 3.0 * (n * n + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
    w2 = -1.0 + math.sqrt(2.0 * (beta2 - 1.0))
    expected = math.asinh(1.0 / math.sqrt(2.0 / (w2 - 1.0))) / math.sqrt(0.5 * math.log(w2))
    assert scipy_z == pytest.approx(expected, rel=1e-12)
    assert scipy_z > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scipy_k2 = float(stats.normaltest(col).statistic)
    assert scipy_k2 == pytest.approx(float(ours.statistic[0]) + scipy_z**2, rel=1e-10)


def test_anderson_darling_is_accurate_at_large_n():
    """A² is an O(1) difference of O(n) sums: compare with extended-precision summation."""
    from scipy import special

    n = 100_000
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.standard_normal(n), rng.uniform(size=n)])
    got = to_numpy(uv.anderson_darling(np, x))
    i = np.arange(1, n + 1, dtype=np.longdouble)
    for j in range(2):
        c = np.sort(x[:, j])
        w = (c - c.mean()) / c.std(ddof=1)
        lc = special.log_ndtr(w).astype(np.longdouble)
        ls = special.log_ndtr(-w).astype(np.longdouble)
        want = float(-n - np.sum((2 * i - 1) / n * (lc + ls[::-1])))
        assert abs(got[j] - want) < 2e-10


def test_anderson_darling_extreme_outlier_uses_log_tail(rng, to_backend):
    """|z| beyond 20 (and beyond float64 underflow of Φ) still matches scipy's log_ndtr."""
    n = 3000
    x = rng.standard_normal((n, 3))
    x[0, 0] = 1e4  # z ≈ 54.7: Φ(-z) underflows to 0
    x[5, 1] = -30.0  # z ≈ -30
    xb = to_backend(x)
    xp, _ = namespace_of(xb)
    got = to_numpy(uv.anderson_darling(xp, xb))
    want = np.array([_scipy_anderson(c) for c in x.T])
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_column_kernels_agree_across_backends(rng, to_backend):
    x = _mixed_columns(rng, 500)
    xb = to_backend(x)
    xp, _ = namespace_of(xb)
    st = uv.column_statistics(xp, xb, xp.float64)
    ref = uv.column_statistics(np, x, np.float64)
    for got, want in zip(st, ref, strict=True):
        if want is None:  # the optional W2 field, not asked for
            assert got is None
            continue
        np.testing.assert_allclose(to_numpy(got), want, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_torch_normal_tail_keeps_relative_accuracy():
    torch = pytest.importorskip("torch")
    from scipy import special

    from gaussprobe.stats.univariate import _normal_lower_tail

    a = np.array([0.0, 0.5, 3.0, 8.0, 12.0, 20.0, 30.0, 37.0])
    xp, _ = namespace_of(torch.zeros(1))
    got = _normal_lower_tail(xp, torch.as_tensor(a)).numpy()
    np.testing.assert_allclose(got, special.ndtr(-a), rtol=1e-12)


@pytest.mark.parametrize("d", [1, 3])
def test_sorting_never_mutates_the_input(rng, d):
    x = rng.standard_normal((50, d))
    before = x.copy()
    uv.column_statistics(np, x, np.float64)
    np.testing.assert_array_equal(x, before)
    x32 = x.astype(np.float32)
    uv.column_statistics(np, x32, np.float64)
    np.testing.assert_array_equal(x32, before.astype(np.float32))


# ------------------------------------------------------------------ AD p-values and critical values
def _nortest_pvalue(a2, n):
    """Scalar transcription of nortest::ad.test's p-value (R source, D'Agostino & Stephens 1986)."""
    aa = (1 + 0.75 / n + 2.25 / n**2) * a2
    if aa < 0.2:
        return 1 - math.exp(-13.436 + 101.14 * aa - 223.73 * aa**2)
    if aa < 0.34:
        return 1 - math.exp(-8.318 + 42.796 * aa - 59.938 * aa**2)
    if aa < 0.6:
        return math.exp(0.9177 - 4.279 * aa - 1.38 * aa**2)
    if aa < 10:
        return math.exp(1.2937 - 5.709 * aa + 0.0186 * aa**2)
    return 3.7e-24


@pytest.mark.parametrize("n", [8, 30, 1000])
def test_ad_pvalue_matches_nortest_formula(n):
    a2 = np.concatenate([np.linspace(0.01, 1.5, 301), [0.19, 0.2, 0.339, 0.34, 0.599, 0.6, 9.9, 10.0, 50.0]])
    got = uv.ad_pvalue(a2, n)
    want = np.array([_nortest_pvalue(a, n) for a in a2])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.all((got > 0) & (got <= 1))


def test_ad_pvalue_at_the_paper_threshold():
    # A* = 0.752 is the classical 5% point; the approximation gives 0.0503 there
    assert uv.ad_pvalue(0.752, 10**9) == pytest.approx(0.0503, abs=5e-4)


@pytest.mark.parametrize("n", [8, 10, 20, 100, 1000, 5000, 10_000])
def test_ad_critical_values_match_scipy(rng, n):
    col = rng.standard_normal(n)
    with pytest.warns(FutureWarning):
        ref = stats.anderson(col, dist="norm")
    for level, crit in zip(ref.significance_level, ref.critical_values, strict=True):
        assert uv.ad_critical_value(n, level / 100) == crit


def test_ad_critical_value_is_the_papers_0752_for_large_n():
    assert uv.ad_critical_value(10_000, 0.05) == 0.752
    assert uv.ad_critical_value(5_000, 0.05) == 0.752


@pytest.mark.parametrize("alpha", [1e-20, 1e-6, 0.001, 0.02, 0.05 + 1e-9, 0.1169, 0.2, 0.5, 0.9])
def test_untabulated_critical_value_inverts_the_pvalue(alpha):
    n = 500
    c = uv.ad_critical_value(n, alpha)
    assert uv.ad_pvalue(c * (1 + 1e-9), n) <= alpha
    assert uv.ad_pvalue(c * (1 - 1e-6), n) > alpha


def test_inverted_pvalue_is_close_to_the_table():
    for level, c in zip(uv.AD_TABLE_LEVELS, uv.AD_TABLE_ASYMPTOTIC, strict=True):
        assert abs(uv._ad_modified_critical(level) - c) < 0.004


def test_critical_value_is_monotone_and_validated():
    alphas = np.geomspace(1e-15, 0.99, 200)
    crits = [uv.ad_critical_value(200, float(a)) for a in alphas]
    assert np.all(np.diff(crits) <= 1e-12)
    with pytest.raises(ValueError, match="alpha"):
        uv.ad_critical_value(200, 1e-30)


# ------------------------------------------------------------------ mergeable moments
@pytest.mark.parametrize("block", [1, 3, 17, 1000])
def test_moment_state_one_pass_matches_scipy(rng, block):
    x = _mixed_columns(rng, 203) * [1.0, 2.0, 1e-3, 5.0, 1.0] + [0.0, 1e3, -2.0, 0.0, 7.0]
    state = uv.MomentState.empty(np, x.shape[1], dtype=np.float64)
    for a in range(0, len(x), block):
        state.update(x[a:a + block], np)
    np.testing.assert_allclose(state.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(state.variance(ddof=1), x.var(0, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(state.skewness(np), stats.skew(x, axis=0), rtol=1e-9)
    np.testing.assert_allclose(state.kurtosis(np), stats.kurtosis(x, axis=0, fisher=False), rtol=1e-10)
    np.testing.assert_array_equal(state.minimum, x.min(0))
    np.testing.assert_array_equal(state.maximum, x.max(0))
    dp = state.dagostino_pearson(np)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = stats.normaltest(x, axis=0).statistic
    np.testing.assert_allclose(dp.statistic, ref, rtol=1e-8)


def test_moment_state_merge_is_associative(rng):
    x = _mixed_columns(rng, 300)
    parts = [uv.MomentState.from_block(x[a:b], np) for a, b in [(0, 7), (7, 150), (150, 300)]]
    left = parts[0].merge(parts[1], np).merge(parts[2], np)
    whole = uv.MomentState.from_block(x, np)
    for name in ("mean", "m2", "m3", "m4"):
        np.testing.assert_allclose(getattr(left, name), getattr(whole, name), rtol=1e-9, atol=1e-9)
    assert left.n == 300
    empty = uv.MomentState.empty(np, 5, dtype=np.float64)
    assert empty.merge(whole, np).n == 300
    assert whole.update(x[:0], np).n == 300


def test_moment_state_skewness_kurtosis_agree_with_sorted_kernel(rng, to_backend):
    x = _mixed_columns(rng, 400)
    xb = to_backend(x)
    xp, _ = namespace_of(xb)
    state = uv.MomentState.from_block(xb, xp)
    st = uv.column_statistics(np, x, np.float64)
    np.testing.assert_allclose(to_numpy(state.skewness(xp)), st.skewness, rtol=1e-9)
    np.testing.assert_allclose(to_numpy(state.kurtosis(xp)), st.kurtosis, rtol=1e-10)


def test_moment_state_needs_eight_samples(rng):
    state = uv.MomentState.from_block(rng.standard_normal((5, 2)), np)
    with pytest.raises(ValueError, match="at least 8"):
        state.dagostino_pearson(np)
