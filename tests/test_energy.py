"""Energy test: R energy reference values, closed forms, mpmath, naive pdist oracle, bootstrap replay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _alternatives import laplace as _laplace
from _alternatives import mixture as _mixture
from _alternatives import sphere as _sphere
from _alternatives import t5 as _t5
from _oracles_omnibus import energy_naive, energy_whiten, noncentral_chi_mean
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from gaussprobe.stats.energy import (
    chi_mean,
    energy_test,
    expected_distance_to_gaussian,
    pairwise_distance_sum,
)


def _iris_setosa():
    datasets = pytest.importorskip("sklearn.datasets")
    return datasets.load_iris().data[:50]


def _mean(d, t):
    return expected_distance_to_gaussian(np.asarray(t, dtype=np.float64), d, np)


# ---------------------------------------------------------------- reference values
def test_iris_setosa_matches_r_energy():
    # energy::mvnorm.e(iris[1:50, 1:4]) = 1.2034 (unbiased covariance); 1.1925 with the 1/n one
    x = _iris_setosa()
    res = energy_test(x, n_resamples=0)
    assert res.statistic == pytest.approx(1.2034, abs=5e-5)
    assert res.statistic == pytest.approx(energy_naive(x), rel=1e-10)
    assert energy_naive(x, ddof=0) == pytest.approx(1.1925, abs=5e-5)  # the oracle's other convention
    assert res.pvalue is None
    assert res.null_mean is None
    assert res.null_quantile_95 is None
    assert res.n_resamples == 0


# ---------------------------------------------------------------- E‖a - Z‖
def test_expected_distance_closed_forms_d1_d3():
    a = np.array([0.0, 1e-4, 0.3, 1.0, 2.5, 7.0, 40.0])
    phi, cdf = stats.norm.pdf(a), stats.norm.cdf(a)
    # d = 1: E|a - Z| = a (2Φ(a) - 1) + 2φ(a)
    np.testing.assert_allclose(_mean(1, a * a), a * (2 * cdf - 1) + 2 * phi, rtol=1e-14)
    # d = 3: (a + 1/a)(2Φ(a) - 1) + 2φ(a), with limit 2 sqrt(2/pi) at a = 0
    b = a[1:]
    expected3 = (b + 1 / b) * special.erf(b / math.sqrt(2)) + 2 * stats.norm.pdf(b)
    np.testing.assert_allclose(_mean(3, b * b), expected3, rtol=1e-13)
    assert _mean(3, [0.0])[0] == pytest.approx(2 * math.sqrt(2 / math.pi), rel=1e-14)


@pytest.mark.parametrize("d", [1, 2, 5, 16, 64])
def test_expected_distance_matches_scipy_hyp1f1_at_small_d(d):
    # scipy's 1F1 is accurate here (not beyond d ~ 100, which is why gaussprobe avoids it)
    t = np.random.default_rng(d).uniform(0, 4 * d, 50)
    const = math.sqrt(2) * math.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2))
    np.testing.assert_allclose(_mean(d, t), const * special.hyp1f1(-0.5, d / 2, -t / 2), rtol=1e-13)


@pytest.mark.parametrize("d", [50, 384, 768, 4096])
def test_expected_distance_matches_mpmath_at_high_d(d):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    ts = np.array([0.0, 1e-6, 0.3, 0.8, 1.0, 1.3, 3.0, 30.0]) * d
    md = mpmath.mpf(d)
    const = mpmath.sqrt(2) * mpmath.exp(mpmath.loggamma((md + 1) / 2) - mpmath.loggamma(md / 2))
    ref = np.array([float(const * mpmath.hyp1f1(-0.5, md / 2, -mpmath.mpf(t) / 2)) for t in ts])
    np.testing.assert_allclose(_mean(d, ts), ref, rtol=2e-14)
    assert chi_mean(d) == pytest.approx(float(const), rel=2e-14)


def test_expected_distance_matches_poisson_mixture_oracle():
    d = 384
    t = np.random.default_rng(0).chisquare(d, 40)
    np.testing.assert_allclose(_mean(d, t), noncentral_chi_mean(d, t), rtol=1e-12)


def test_expected_distance_on_torch():
    torch = pytest.importorskip("torch")
    t = np.linspace(0, 1000, 37)
    got = expected_distance_to_gaussian(torch.as_tensor(t), 384, _torch_xp())
    np.testing.assert_allclose(got.numpy(), _mean(384, t), rtol=1e-15)
    assert torch.is_tensor(got)


def _torch_xp():
    import array_api_compat.torch as xp

    return xp


# ---------------------------------------------------------------- statistic vs the naive oracle
@pytest.mark.parametrize(("n", "d"), [(8, 1), (9, 2), (40, 3), (120, 10), (300, 25)])
def test_matches_naive_oracle(n, d):
    rng = np.random.default_rng(n * d)
    x = rng.standard_t(4, (n, d)) @ (np.eye(d) + 0.5 * rng.standard_normal((d, d))) + 7.0
    ref = energy_naive(x)
    for block_size in (1, 7, 64, None):
        assert energy_test(x, n_resamples=0, block_size=block_size).statistic == pytest.approx(
            ref, rel=1e-9)


def test_block_sizes_agree_to_rounding(rng):
    x = rng.standard_normal((130, 6))
    values = [energy_test(x, n_resamples=0, block_size=b).statistic for b in (1, 7, 64, 130, 1000)]
    np.testing.assert_allclose(values, values[0], rtol=1e-12)


def test_high_dimension_matches_naive_oracle(rng):
    x = rng.laplace(size=(500, 384))
    assert energy_test(x, n_resamples=0).statistic == pytest.approx(energy_naive(x), rel=1e-8)


def test_one_dimension_matches_sorted_formula(rng):
    # d = 1: E = 2 Σ [y (2Φ(y) - 1) + 2φ(y)] - 2n/√π - (2/n) Σ_i (2i - 1 - n) y_(i)
    x = rng.exponential(size=(200, 1))
    y = np.sort(energy_whiten(x)[:, 0])
    n = len(y)
    i = np.arange(1, n + 1)
    e = (2 * np.sum(y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y))
         - 2 * n / math.sqrt(math.pi) - 2 * np.sum((2 * i - 1 - n) * y) / n)
    assert energy_test(x, n_resamples=0).statistic == pytest.approx(e, rel=1e-11)


def test_pairwise_sum_matches_pdist(rng):
    from scipy.spatial.distance import pdist

    y = rng.standard_normal((77, 5))
    expected = 2 * pdist(y).sum()
    for bs in (1, 10, 77, 100):
        assert pairwise_distance_sum(y, np, block_size=bs) == pytest.approx(expected, rel=1e-12)


def test_duplicate_rows_cost_at_most_rounding_noise(rng):
    # the Gram trick turns an exact zero distance into sqrt(rounding of |y|²): documented, bounded
    from scipy.spatial.distance import pdist

    y = np.repeat(rng.standard_normal((5, 16)), 4, axis=0)  # 20 rows, 30 duplicate pairs
    expected = 2 * pdist(y).sum()
    noise_per_pair = math.sqrt(8 * np.finfo(float).eps * np.max(np.sum(y * y, axis=1)))
    for bs in (1, 3, 20):
        got = pairwise_distance_sum(y, np, block_size=bs)
        assert abs(got - expected) <= 2 * 30 * noise_per_pair
    # within a diagonal tile the self-distances are exactly zero
    one = np.repeat(rng.standard_normal((1, 16)), 1, axis=0)
    assert pairwise_distance_sum(one, np, block_size=4) == 0.0


# ---------------------------------------------------------------- invariance and backends
@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1))
def test_affine_invariance(seed):
    rng = np.random.default_rng(seed)
    n, d = 60, 4
    x = rng.standard_t(5, (n, d))
    a = rng.standard_normal((d, d)) + 3 * np.eye(d)
    b = rng.uniform(-100, 100, d)
    r0 = energy_test(x, n_resamples=0).statistic
    assert energy_test(x @ a + b, n_resamples=0).statistic == pytest.approx(r0, rel=1e-7)


def test_backends_agree_including_bootstrap(to_backend, rng):
    x = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 3)) + 1.0
    ref = energy_test(x, n_resamples=9, rng=5)
    res = energy_test(to_backend(x), n_resamples=9, rng=5, block_size=16)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert res.pvalue == ref.pvalue
    assert res.null_mean == pytest.approx(ref.null_mean, rel=1e-10)


def test_float32_is_close(rng):
    x = rng.standard_normal((400, 8)) @ rng.standard_normal((8, 8))
    ref = energy_test(x, n_resamples=0).statistic
    assert energy_test(x, n_resamples=0, dtype="float32").statistic == pytest.approx(ref, rel=1e-4)


# ---------------------------------------------------------------- bootstrap
def test_bootstrap_replays_from_the_seed(rng):
    x = rng.laplace(size=(30, 2))
    n_resamples = 15
    res = energy_test(x, n_resamples=n_resamples, rng=123)
    gen = np.random.default_rng(123)
    null = np.array([energy_test(gen.standard_normal((30, 2)), n_resamples=0).statistic
                     for _ in range(n_resamples)])
    assert res.pvalue == (1 + np.sum(null >= res.statistic)) / (1 + n_resamples)
    assert res.null_mean == pytest.approx(null.mean(), rel=1e-12)
    assert res.null_quantile_95 == pytest.approx(np.quantile(null, 0.95), rel=1e-12)
    assert res.n_resamples == n_resamples
    again = energy_test(x, n_resamples=n_resamples, rng=np.random.default_rng(123))
    assert again.pvalue == res.pvalue


def test_pvalue_is_never_zero(rng):
    x = rng.exponential(size=(60, 2)) ** 3
    res = energy_test(x, n_resamples=19, rng=0)
    assert res.pvalue == pytest.approx(1 / 20)


@pytest.mark.parametrize(("value", "exc"), [(-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_n_resamples_is_validated(value, exc, rng):
    with pytest.raises(exc, match="n_resamples"):
        energy_test(rng.standard_normal((20, 2)), n_resamples=value)


def test_block_size_is_validated(rng):
    with pytest.raises(ValueError, match="block_size"):
        energy_test(rng.standard_normal((20, 2)), n_resamples=0, block_size=0)


# ---------------------------------------------------------------- refusals
def test_needs_more_samples_than_features(rng):
    with pytest.raises(ValueError, match=r"n_samples=10 <= n_features=12.*principal_projection"):
        energy_test(rng.standard_normal((10, 12)), n_resamples=0)


def test_simplex_case_is_refused(rng):
    with pytest.raises(ValueError, match="regular simplex"):
        energy_test(rng.standard_normal((9, 8)), n_resamples=0)


def test_singular_covariance_is_refused(rng):
    x = rng.standard_normal((50, 3))
    x[:, 2] = x[:, 0] + x[:, 1]
    with pytest.raises(ValueError, match="numerical rank 2 < n_features=3"):
        energy_test(x, n_resamples=0)


# ---------------------------------------------------------------- calibration and power (slow)
@pytest.mark.slow
def test_bootstrap_level_is_exact():
    # with 19 resamples, p <= 0.05 exactly when the data beat all 19 null draws: probability 1/20
    draws = 500
    rng = np.random.default_rng(2024)
    hits = sum(energy_test(rng.standard_normal((20, 2)), n_resamples=19, rng=rng).pvalue <= 0.05
               for _ in range(draws))
    low, high = stats.binom.ppf([0.005, 0.995], draws, 0.05)
    assert low <= hits <= high


@pytest.mark.slow
@pytest.mark.parametrize(("sampler", "n", "minimum"), [
    (_laplace, 100, 0.6), (_t5, 100, 0.3), (_sphere, 100, 0.8), (_mixture, 100, 0.5),
])
def test_power(sampler, n, minimum):
    rng = np.random.default_rng(9)
    draws = 40
    hits = sum(energy_test(sampler(rng, n, 3), n_resamples=39, rng=rng).pvalue <= 0.05
               for _ in range(draws))
    assert hits / draws >= minimum
