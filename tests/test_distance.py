"""Distance to the nearest isotropic Gaussian: Bures–Wasserstein closed form, covariance-spectrum
measures, John's sphericity test (Ledoit–Wolf form) and the sliced W2 with its Monte-Carlo null."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussprobe._random import random_directions
from gaussprobe._validation import check_embeddings
from gaussprobe._warnings import RankDeficiencyWarning
from gaussprobe.stats.distance import (
    SLICED_PERMUTATIONS,
    auto_n_null,
    bures_wasserstein_isotropic,
    direction_dependence,
    isotropic_distance,
    normal_cell_means,
    null_sliced_statistics,
    pooled_permutation_pvalue,
    sliced_from_per_direction,
)
from gaussprobe.stats.spectrum import (
    centred_moments,
    centred_traces,
    covariance_spectrum,
    effective_rank,
    isoscore,
    john_u,
    participation_ratio,
    sphericity_test,
)


# ------------------------------------------------------------------------------------ oracles
def w2_gaussians_naive(m1, s1, m2, s2):
    """General Bures–Wasserstein formula with matrix square roots (scipy.linalg.sqrtm)."""
    from scipy import linalg

    r2 = linalg.sqrtm(s2)
    cross = linalg.sqrtm(r2 @ s1 @ r2)
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(cross).real)


def spectrum_naive(x):
    _n, d = x.shape
    s = np.cov(x.T, bias=True)
    lam = np.sort(np.linalg.eigvalsh(s))[::-1]
    lam_c = np.clip(lam, 0, None)
    p = lam_c[lam_c > 0] / lam_c.sum()
    rank = np.linalg.matrix_rank(s, tol=d * np.finfo(float).eps * lam.max())
    s_u = np.cov(x.T)  # IsoScore: ddof 1, as in FORMULAS.md
    mu = np.linalg.eigvalsh(s_u)
    mu_hat = mu * math.sqrt(d) / np.linalg.norm(mu)
    delta = np.linalg.norm(mu_hat - 1) / math.sqrt(2 * (d - math.sqrt(d)))
    iso = ((d - delta**2 * (d - math.sqrt(d))) ** 2 - d) / (d * (d - 1))
    return {
        "eigenvalues": lam,
        "effective_rank": math.exp(-sum(pi * math.log(pi) for pi in p)),
        "participation_ratio": lam_c.sum() ** 2 / np.sum(lam_c**2),
        "condition_number": np.linalg.cond(s) if rank == d else math.inf,
        "rank": rank,
        "isoscore": iso,
    }


def sphericity_naive(x):
    from scipy import stats

    n, d = x.shape
    s = np.cov(x.T)  # any divisor: U is scale-free
    a = s / (np.trace(s) / d) - np.eye(d)
    u = np.trace(a @ a) / d
    z = ((n - 1) * u - d - 1) / 2
    return u, z, stats.norm.sf(z)


def w2_to_normal_naive(v):
    """Exact W2^2 between the empirical law of standardised v and N(0,1), cell by cell with quad."""
    from scipy import integrate, special

    z = np.sort((v - v.mean()) / v.std())
    n = len(z)
    total = 0.0
    for i in range(n):
        val, _ = integrate.quad(lambda t, zi=z[i]: (zi - special.ndtri(t)) ** 2, i / n, (i + 1) / n,
                                limit=200, epsabs=1e-14, epsrel=1e-12)
        total += val
    return total


def binomial_band(trials, p=0.05, level=0.99):
    from scipy import stats

    lo, hi = stats.binom.interval(level, trials, p)
    return lo / trials, hi / trials


# ---------------------------------------------------------------------------- Bures–Wasserstein
def _random_spd(rng, d, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T / d + (0.0 if rank else 0.1 * np.eye(d))


def test_bw_formula_matches_sqrtm_oracle_and_sigma_minimises(rng):
    from scipy import optimize

    d = 6
    mu = rng.standard_normal(d)
    cov = _random_spd(rng, d)
    res = bures_wasserstein_isotropic(mu, cov)

    def naive(sigma):
        return w2_gaussians_naive(mu, cov, np.zeros(d), sigma**2 * np.eye(d))

    opt = optimize.minimize_scalar(naive, bounds=(1e-6, 10.0), method="bounded",
                                   options={"xatol": 1e-10})
    assert res.sigma == pytest.approx(opt.x, rel=1e-6)
    assert res.w2_squared == pytest.approx(naive(res.sigma), rel=1e-10)
    assert res.w2_squared <= naive(res.sigma * 1.01)
    assert res.w2_squared <= naive(res.sigma * 0.99)
    assert res.w2 == pytest.approx(math.sqrt(res.w2_squared), rel=1e-15)
    second = mu @ mu + np.trace(cov)
    assert res.second_moment == pytest.approx(second, rel=1e-13)
    assert res.normalized == pytest.approx(res.w2_squared / second, rel=1e-13)
    assert res.mean_part == pytest.approx(mu @ mu / second, rel=1e-13)
    assert res.mean_part + res.anisotropy_part == pytest.approx(res.normalized, rel=1e-13)


def test_bw_closed_form_cases():
    res = bures_wasserstein_isotropic(np.zeros(2), np.diag([1.0, 4.0]))
    # sigma* = (1 + 2)/2; W2^2 = 5 - 9/2
    assert (res.sigma, res.w2_squared, res.normalized) == pytest.approx((1.5, 0.5, 0.1), rel=1e-14)
    iso = bures_wasserstein_isotropic(np.zeros(5), 3.0 * np.eye(5))
    assert iso.w2_squared == pytest.approx(0.0, abs=1e-14)
    assert iso.sigma == pytest.approx(math.sqrt(3.0), rel=1e-14)
    point = bures_wasserstein_isotropic(np.ones(3), np.zeros((3, 3)))
    assert point.normalized == pytest.approx(1.0)
    assert point.mean_part == pytest.approx(1.0)


def test_bw_rank_deficient_covariance(rng):
    cov = _random_spd(rng, 5, rank=2)
    res = bures_wasserstein_isotropic(np.zeros(5), cov)
    lam = np.clip(np.linalg.eigvalsh(cov), 0, None)
    expected = lam.sum() - np.sqrt(lam).sum() ** 2 / 5
    assert res.w2_squared == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    ("mean", "cov", "match"),
    [
        (np.zeros(2), np.eye(3), "shape"),
        (np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
        (np.zeros(2), np.array([[1.0, 0.0], [0.0, -1.0]]), "positive semi-definite"),
        (np.zeros(2), np.array([[np.nan, 0.0], [0.0, 1.0]]), "finite"),
        (np.zeros(2), np.zeros((2, 2)), "point mass at the origin"),
    ],
)
def test_bw_validation(mean, cov, match):
    with pytest.raises(ValueError, match=match):
        bures_wasserstein_isotropic(mean, cov)


def test_isotropic_distance_bw_uses_sample_moments(to_backend, rng):
    x = rng.standard_normal((80, 5)) * [1, 2, 3, 1, 1] + 0.7
    res = isotropic_distance(to_backend(x), rng=0, n_projections=4, n_null=0, block_size=9)
    ref = bures_wasserstein_isotropic(x.mean(axis=0), np.cov(x.T, bias=True))
    for f in ("w2", "sigma", "normalized", "mean_part", "anisotropy_part", "second_moment"):
        assert getattr(res.bures_wasserstein, f) == pytest.approx(getattr(ref, f), rel=1e-10)


# ------------------------------------------------------------------------------ spectrum measures
@pytest.mark.parametrize("shape", [(60, 7), (12, 30)])
def test_spectrum_matches_naive(to_backend, rng, shape):
    x = rng.standard_normal(shape) * np.linspace(0.5, 2.0, shape[1]) + 1.0
    res = covariance_spectrum(to_backend(x), block_size=5)
    ref = spectrum_naive(x)
    np.testing.assert_allclose(res.eigenvalues, ref["eigenvalues"], rtol=1e-9, atol=1e-12)
    assert res.rank == ref["rank"]
    for f in ("effective_rank", "participation_ratio", "isoscore"):
        assert getattr(res, f) == pytest.approx(ref[f], rel=1e-9), f
    if math.isinf(ref["condition_number"]):
        assert math.isinf(res.condition_number)
    else:
        assert res.condition_number == pytest.approx(ref["condition_number"], rel=1e-8)
    assert res.john_u == pytest.approx(sphericity_naive(x)[0], rel=1e-9)
    assert res.john_u == pytest.approx(shape[1] / res.participation_ratio - 1, rel=1e-9)
    assert res.trace == pytest.approx(np.trace(np.cov(x.T, bias=True)), rel=1e-12)


def test_spectrum_measures_on_known_spectra():
    assert effective_rank(np.ones(7)) == pytest.approx(7.0)
    assert effective_rank([3.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert participation_ratio(np.full(5, 2.0)) == pytest.approx(5.0)
    assert participation_ratio([1.0, 0.0]) == pytest.approx(1.0)
    assert isoscore(np.full(9, 4.0)) == pytest.approx(1.0)
    assert isoscore([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.0, abs=1e-12)
    assert john_u(np.full(4, 2.5)) == pytest.approx(0.0, abs=1e-15)
    assert john_u([2.0, 0.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 2"):
        isoscore([1.0])


@pytest.mark.parametrize("shape", [(15, 40), (40, 15)])
def test_gram_and_covariance_routes_agree(rng, shape):
    emb = check_embeddings(rng.standard_normal(shape) + 3.0)
    a = centred_moments(emb, method="gram", block_size=4)
    b = centred_moments(emb, method="covariance", block_size=4)
    k = min(shape[1], shape[0] - 1)
    np.testing.assert_allclose(a.eigenvalues[:k], b.eigenvalues[:k], rtol=1e-10)
    np.testing.assert_allclose(a.eigenvalues[k:], 0.0, atol=1e-12)
    np.testing.assert_allclose(b.eigenvalues[k:], 0.0, atol=1e-12)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-13)
    assert a.rank == b.rank == k
    ta, tb = centred_traces(emb, method="gram"), centred_traces(emb, method="covariance")
    lam = b.eigenvalues
    assert ta == pytest.approx(tb, rel=1e-11)
    assert ta == pytest.approx((lam.sum(), np.sum(lam**2)), rel=1e-10)


def test_rank_deficiency_warns_but_stays_defined(rng):
    x = rng.standard_normal((100, 5)) @ rng.standard_normal((5, 8))  # rank 5 < min(8, 99)
    with pytest.warns(RankDeficiencyWarning, match="rank 5"):
        spec = covariance_spectrum(x)
    assert spec.rank == 5
    assert math.isinf(spec.condition_number)
    with pytest.warns(RankDeficiencyWarning):
        res = isotropic_distance(x, rng=1, n_projections=8, n_null=3)
    assert res.rank == 5
    assert 0 < res.bures_wasserstein.normalized < 1
    assert math.isfinite(res.sphericity.statistic)
    assert math.isfinite(res.sliced.statistic)


def test_more_features_than_samples_is_fine_without_warning(rng):
    x = rng.standard_normal((20, 50))
    res = isotropic_distance(x, rng=2, n_projections=16, n_null=3)  # warnings are errors here
    assert res.rank == 19
    assert math.isinf(res.spectrum.condition_number)
    assert 0 < res.sphericity.pvalue < 1


@pytest.mark.parametrize("func", [covariance_spectrum, sphericity_test])
def test_constant_and_one_feature_inputs_raise(func):
    with pytest.raises(ValueError, match="zero variance"):
        func(np.ones((10, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        func(np.arange(10.0).reshape(10, 1))


# ------------------------------------------------------------------------------------- sphericity
@pytest.mark.parametrize("shape", [(40, 6), (25, 60)])
def test_sphericity_matches_naive(to_backend, rng, shape):
    x = rng.standard_normal(shape) * np.linspace(1.0, 1.5, shape[1])
    res = sphericity_test(to_backend(x), block_size=6)
    _, z, p = sphericity_naive(x)
    assert res.statistic == pytest.approx(z, rel=1e-9)
    assert res.pvalue == pytest.approx(p, rel=1e-9)
    assert "normal(0, 1)" in res.null_distribution
    # the same statistic from the eigenvalues inside isotropic_distance
    full = isotropic_distance(to_backend(x), rng=0, n_projections=2, n_null=0)
    assert full.sphericity.statistic == pytest.approx(z, rel=1e-9)


def test_sphericity_has_power_against_anisotropy(rng):
    x = rng.standard_normal((50, 100)) * np.linspace(1.0, 3.0, 100)
    assert sphericity_test(x).pvalue < 1e-6
    x = rng.standard_normal((400, 20)) * np.r_[1.5, np.ones(19)]  # one spiked direction
    assert sphericity_test(x).pvalue < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize(("n", "d"), [(50, 100), (200, 20), (20, 200), (500, 50)])
def test_sphericity_level_under_isotropic_gaussian(n, d):
    rng = np.random.default_rng(1000 + n + d)
    trials = 1000
    p = np.array([sphericity_test(rng.standard_normal((n, d)) * 3.0 + 1.0).pvalue
                  for _ in range(trials)])
    lo, hi = binomial_band(trials)
    assert lo <= np.mean(p < 0.05) <= hi


# ---------------------------------------------------------------------------------- sliced W2
def test_cell_means_match_quadrature():
    from scipy import integrate, special

    n = 7
    m, floor = normal_cell_means(n)
    ref = [n * integrate.quad(special.ndtri, i / n, (i + 1) / n, epsabs=1e-14)[0] for i in range(n)]
    np.testing.assert_allclose(m, ref, rtol=1e-10, atol=1e-14)
    assert m.sum() == pytest.approx(0.0, abs=1e-13)
    gap = sum(integrate.quad(lambda t, mi=mi: (special.ndtri(t) - mi) ** 2, i / n, (i + 1) / n,
                             epsabs=1e-14)[0] for i, mi in enumerate(m))
    assert floor == pytest.approx(gap, rel=1e-8)


def test_per_direction_w2_matches_quadrature_oracle(to_backend, rng):
    x = rng.standard_normal((30, 4)) ** 3  # skewed, heavy-tailed projections
    u = random_directions(4, 3, np.random.default_rng(5))
    res = isotropic_distance(to_backend(x), rng=np.random.default_rng(5), n_projections=3, n_null=0,
                             block_size=2).sliced
    ref = [w2_to_normal_naive((x @ u)[:, j]) for j in range(3)]
    np.testing.assert_allclose(res.per_direction, ref, rtol=1e-8)
    assert res.statistic == pytest.approx(np.mean(ref), rel=1e-8)
    assert np.all(res.per_direction >= res.quantization_floor)
    assert res.null_mean is None
    assert res.pvalue is None
    assert res.null_statistics is None


def test_sliced_finisher_matches_isotropic_distance(rng):
    x = rng.laplace(size=(200, 12))
    full = isotropic_distance(x, rng=11, n_projections=10, n_null=5)
    gen = np.random.default_rng(11)
    u = random_directions(12, 10, gen)
    per = np.array([w2_to_normal_naive((x @ u)[:, j]) for j in range(10)])
    part = sliced_from_per_direction(per, u, n_samples=200, rng=gen, n_null=5)
    np.testing.assert_allclose(full.sliced.per_direction, per, rtol=1e-8)
    np.testing.assert_array_equal(part.null_statistics, full.sliced.null_statistics)
    with pytest.raises(ValueError, match="directions"):
        sliced_from_per_direction(per, u[:, :3], n_samples=200)


def test_null_reference_summaries(rng):
    x = rng.standard_normal((300, 10))
    res = isotropic_distance(x, rng=3, n_projections=20, n_null=30).sliced
    null = res.null_statistics
    assert null.shape == (30,)
    assert res.null_mean == pytest.approx(null.mean(), rel=1e-14)
    assert res.null_std == pytest.approx(null.std(ddof=1), rel=1e-14)
    assert res.null_quantile_95 == pytest.approx(np.quantile(null, 0.95), rel=1e-14)
    assert res.excess_ratio == pytest.approx(res.statistic / res.null_mean, rel=1e-14)
    # two frames of 10 directions in d = 10 are too dependent to pool: the rank among the replicates
    assert res.pvalue_method == "replicates"
    assert res.pvalue == pytest.approx((1 + np.sum(null >= res.statistic)) / 31)
    # orthonormal directions: the pooled p-value, reproducible from the seed
    res = isotropic_distance(x, rng=3, n_projections=10, n_null=30).sliced
    assert res.pvalue_method == "pooled directions"
    assert 1 / (1 + SLICED_PERMUTATIONS) <= res.pvalue <= 1.0
    assert isotropic_distance(x, rng=3, n_projections=10, n_null=30).sliced.pvalue == res.pvalue
    # a Gaussian sample sits inside its own null
    assert null.min() < res.statistic < null.max()


def test_null_does_not_depend_on_the_number_of_threads(monkeypatch):
    import gaussprobe.stats.distance as dist

    u = random_directions(5, 4, np.random.default_rng(0))
    threaded = null_sliced_statistics(80, u, 6, 123)
    monkeypatch.setattr(dist, "_NULL_MAX_WORKERS", 1)
    np.testing.assert_array_equal(null_sliced_statistics(80, u, 6, 123), threaded)


def test_null_is_independent_of_the_scale_and_location_of_projections(rng):
    u = random_directions(6, 4, np.random.default_rng(0))
    a = null_sliced_statistics(150, u, 4, 9)
    b = null_sliced_statistics(150, u * 7.0, 4, 9)
    np.testing.assert_allclose(a, b, rtol=1e-5)  # float32 replicates: same draws, rescaled factor
    # more directions than features: the factor is U itself
    wide = random_directions(3, 8, np.random.default_rng(1))
    assert null_sliced_statistics(150, wide, 3, 2).shape == (3,)


@pytest.mark.slow
@pytest.mark.parametrize(("n", "d", "k", "n_null", "method"), [
    (120, 8, 8, 2, "pooled directions"),  # orthonormal: exact
    (100, 64, 256, 2, "pooled directions"),  # four Haar frames: dependence ~1% (direction_dependence)
    (120, 4, 12, 19, "replicates"),  # strongly dependent frames: rank among the replicates
])
def test_sliced_pvalue_is_calibrated_under_the_isotropic_null(n, d, k, n_null, method):
    # orthonormal directions: the k observed and k·n_null null per-direction values are i.i.d., so
    # the permutation p-value is exact at every level (n_null = 2 as at n = 10^5)
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng([77, n, d, k])
    trials = 600
    with threadpool_limits(limits=1):  # hundreds of small products
        res = [isotropic_distance(rng.standard_normal((n, d)) * 2.0 - 1.0, rng=rng, n_projections=k,
                                  n_null=n_null).sliced for _ in range(trials)]
    assert {r.pvalue_method for r in res} == {method}
    p = np.array([r.pvalue for r in res])
    lo, hi = binomial_band(trials)
    assert lo <= np.mean(p <= 0.05) <= hi
    assert np.mean(p <= 0.01) <= binomial_band(trials, 0.01)[1]


def test_pooled_permutation_pvalue_matches_the_exhaustive_permutation_test():
    import itertools

    rng = np.random.default_rng(3)
    obs, null = rng.exponential(size=3) + 0.3, rng.exponential(size=(2, 3))
    pool = np.concatenate([obs, null.ravel()])
    sums = np.array([pool[list(c)].sum() for c in itertools.combinations(range(9), 3)])
    exact = np.mean(sums >= obs.sum() - 1e-12)  # 84 subsets, the observed one included
    b = 20_000
    p = pooled_permutation_pvalue(obs, null, np.random.default_rng(4), n_permutations=b,
                                  exceedances=None)
    assert abs(p - exact) < 4 * math.sqrt(exact * (1 - exact) / b) + 1 / b


def test_direction_dependence():
    assert direction_dependence(random_directions(32, 32, 0)) == 0.0
    for d, k in ((64, 256), (128, 256), (32, 256)):
        got = direction_dependence(random_directions(d, k, 1))
        # independent Haar frames: E Σ_{j≠i} ρ⁶ = 15 (k - d) / (d (d+2) (d+4))
        assert got == pytest.approx(15 * (k - d) / (d * (d + 2) * (d + 4)), rel=0.15)
    assert direction_dependence(random_directions(64, 256, 2)) <= 0.02 < direction_dependence(
        random_directions(32, 256, 2))


@pytest.mark.parametrize("kind", ["laplace", "sphere"])
def test_non_gaussian_data_exceed_the_null(kind):
    rng = np.random.default_rng(21)
    if kind == "laplace":
        x = rng.laplace(size=(2000, 32))
    else:  # uniform on the sphere in d=8: platykurtic marginals (excess kurtosis -6/(d+2))
        g = rng.standard_normal((2000, 8))
        x = g / np.linalg.norm(g, axis=1, keepdims=True)
    res = isotropic_distance(x, rng=4, n_projections=32, n_null=19).sliced
    assert res.statistic > res.null_quantile_95
    if kind == "laplace":  # d = k = 32: the pooled p-value reaches its smallest value
        assert res.pvalue_method == "pooled directions"
        assert res.pvalue == pytest.approx(1 / (1 + SLICED_PERMUTATIONS))
    else:  # 32 directions in d = 8 are too dependent to pool: the rank among 19 replicates
        assert res.pvalue_method == "replicates"
        assert res.pvalue == pytest.approx(1 / 20)
    assert res.excess_ratio > 1.2


def test_auto_n_null():
    assert auto_n_null(100_000, 256) == 2
    assert auto_n_null(10_000, 256) == 13
    assert auto_n_null(500, 64) == 99
    res = isotropic_distance(np.random.default_rng(0).standard_normal((64, 3)), rng=0,
                             n_projections=2)
    assert res.sliced.n_null == 99


def test_argument_validation(rng):
    x = rng.standard_normal((30, 3))
    with pytest.raises(ValueError, match="n_null"):
        isotropic_distance(x, n_null=-1)
    with pytest.raises(TypeError, match="n_projections"):
        isotropic_distance(x, n_projections=2.5)
    with pytest.raises(ValueError, match="zero variance"):
        isotropic_distance(np.ones((20, 3)))


# ------------------------------------------------------------------------ backends and blocks
def test_torch_matches_numpy(to_torch, rng):
    x = rng.standard_normal((150, 12)) * np.linspace(0.5, 2, 12) + 0.3
    a = isotropic_distance(x, rng=42, n_projections=16, n_null=4)
    b = isotropic_distance(to_torch(x), rng=42, n_projections=16, n_null=4)
    np.testing.assert_allclose(b.sliced.per_direction, a.sliced.per_direction, rtol=1e-10)
    np.testing.assert_array_equal(b.sliced.null_statistics, a.sliced.null_statistics)
    np.testing.assert_allclose(b.spectrum.eigenvalues, a.spectrum.eigenvalues, rtol=1e-10)
    for f in ("w2", "sigma", "normalized", "mean_part"):
        assert getattr(b.bures_wasserstein, f) == pytest.approx(getattr(a.bures_wasserstein, f),
                                                                rel=1e-10)
    assert b.sphericity.statistic == pytest.approx(a.sphericity.statistic, rel=1e-10)
    assert b.spectrum.isoscore == pytest.approx(a.spectrum.isoscore, rel=1e-10)
    assert isinstance(b.sliced.statistic, float)
    assert isinstance(b.spectrum.eigenvalues, np.ndarray)


def test_float32_is_close_to_float64(rng):
    x = rng.standard_normal((500, 16)).astype(np.float32)
    a = isotropic_distance(x, rng=1, n_projections=8, n_null=0)
    b = isotropic_distance(x, rng=1, n_projections=8, n_null=0, dtype="float32")
    assert b.sliced.statistic == pytest.approx(a.sliced.statistic, rel=1e-3)
    assert b.bures_wasserstein.normalized == pytest.approx(a.bures_wasserstein.normalized, rel=1e-3)


@pytest.mark.parametrize("block_size", [1, 7, 1000])
def test_block_size_invariance(rng, block_size):
    x = rng.standard_normal((45, 9))
    a = isotropic_distance(x, rng=5, n_projections=6, n_null=2, block_size=block_size)
    b = isotropic_distance(x, rng=5, n_projections=6, n_null=2)
    np.testing.assert_allclose(a.sliced.per_direction, b.sliced.per_direction, rtol=1e-12)
    assert a.bures_wasserstein.w2 == pytest.approx(b.bures_wasserstein.w2, rel=1e-12)
    assert a.sphericity.statistic == pytest.approx(b.sphericity.statistic, rel=1e-10)


def test_result_is_json_ready(rng):
    d = isotropic_distance(rng.standard_normal((30, 4)), rng=0, n_projections=3, n_null=2).to_dict()
    assert set(d) >= {"bures_wasserstein", "spectrum", "sphericity", "sliced", "rank"}
    assert isinstance(d["sliced"]["per_direction"], list)


# ------------------------------------------------------------------------------------ properties
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-2, 1e2))
def test_invariances(seed, scale):
    rng = np.random.default_rng(seed)
    n, d = 40, 5
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d) + rng.standard_normal(d)
    base = isotropic_distance(x, rng=0, n_projections=4, n_null=0)

    perm = isotropic_distance(x[rng.permutation(n)], rng=0, n_projections=4, n_null=0)
    assert perm.sliced.statistic == pytest.approx(base.sliced.statistic, rel=1e-9)
    assert perm.bures_wasserstein.w2 == pytest.approx(base.bures_wasserstein.w2, rel=1e-9)
    assert perm.sphericity.statistic == pytest.approx(base.sphericity.statistic, rel=1e-8, abs=1e-9)

    scaled = isotropic_distance(x * scale, rng=0, n_projections=4, n_null=0)
    for f in ("normalized", "mean_part", "anisotropy_part"):
        assert getattr(scaled.bures_wasserstein, f) == pytest.approx(
            getattr(base.bures_wasserstein, f), rel=1e-8)
    assert scaled.bures_wasserstein.sigma == pytest.approx(scale * base.bures_wasserstein.sigma,
                                                           rel=1e-9)
    assert scaled.sphericity.statistic == pytest.approx(base.sphericity.statistic, rel=1e-8,
                                                        abs=1e-9)
    assert scaled.sliced.statistic == pytest.approx(base.sliced.statistic, rel=1e-8)

    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    rotated = isotropic_distance(x @ q, rng=0, n_projections=4, n_null=0)
    for f in ("w2", "sigma", "normalized", "mean_part"):
        assert getattr(rotated.bures_wasserstein, f) == pytest.approx(
            getattr(base.bures_wasserstein, f), rel=1e-8)
    assert rotated.spectrum.effective_rank == pytest.approx(base.spectrum.effective_rank, rel=1e-9)


def test_distance_carries_the_gaussian_references():
    from gaussprobe._reference import spectrum_references

    x = np.random.default_rng(12).standard_normal((90, 30)) * 4.0 + 1.0
    res = isotropic_distance(x, rng=0, n_projections=8, n_null=0)
    ref = spectrum_references(90, 30)
    bw, sp = res.bures_wasserstein, res.spectrum
    assert bw.normalized_reference == ref.bw_normalized
    assert sp.condition_number_reference == ref.condition_number
    assert sp.participation_ratio_reference.contains(sp.participation_ratio)
    assert sp.effective_rank_reference.high < 30  # a finite sample never reaches the population's d
    # the closed form for a given (mean, covariance) has no sample size, hence no reference
    assert bures_wasserstein_isotropic(np.zeros(2), np.eye(2)).normalized_reference is None
