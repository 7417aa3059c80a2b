"""The Gaussian references beside each value: exact Wishart spectra against brute-force Gaussian samples
and Marchenko-Pastur closed forms, pass-fraction laws against simulated tests, caching, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaussprobe import _reference as R


# ------------------------------------------------------------------------------------ oracles
def _naive_measures(x):
    """Every spectrum measure and the BW parts straight from a data matrix (naive formulas)."""
    n, d = x.shape
    mu = x.mean(axis=0)
    xc = x - mu
    s = xc.T @ xc / n
    lam = np.clip(np.linalg.eigvalsh(s)[::-1], 0.0, None)
    p = lam[lam > 0] / lam.sum()
    tr, tr2 = np.trace(s), np.sum(s * s)
    root = np.sqrt(lam)
    w2sq = mu @ mu + tr - root.sum() ** 2 / d
    lu = lam * n / (n - 1)
    lam_hat = lu * math.sqrt(d) / np.linalg.norm(lu)
    delta = np.linalg.norm(lam_hat - 1) / math.sqrt(2 * (d - math.sqrt(d)))
    return {
        "effective_rank": math.exp(-np.sum(p * np.log(p))),
        "participation_ratio": tr**2 / tr2,
        "condition_number": lam[0] / lam[-1] if n - 1 >= d else math.inf,
        "isoscore": ((d - delta**2 * (d - math.sqrt(d))) ** 2 - d) / (d * (d - 1)),
        "john_u": d * tr2 / tr**2 - 1,
        "bw_normalized": w2sq / (mu @ mu + tr),
        "bw_mean_part": mu @ mu / (mu @ mu + tr),
        "bw_anisotropy_part": (tr - root.sum() ** 2 / d) / (mu @ mu + tr),
    }


def _brute_force(n, d, reps, seed):
    g = np.random.default_rng(seed)
    rows = [_naive_measures(3.0 * g.standard_normal((n, d))) for _ in range(reps)]  # N(0, 9 I)
    return {key: np.array([r[key] for r in rows]) for key in rows[0]}


# ---------------------------------------------------------------------------- Wishart spectra
@pytest.mark.parametrize(("dof", "d"), [(30, 10), (10, 10), (6, 15), (1, 4)])
def test_wishart_eigenvalue_moments(dof, d):
    """E tr W = dof·d and E tr W² = dof·d·(dof + d + 1) for W ~ Wishart_d(dof, I)."""
    g = np.random.default_rng(0)
    lam = np.array([R.wishart_eigenvalues(dof, d, g) for _ in range(4000)])
    assert lam.shape == (4000, d)
    assert np.all(np.diff(lam, axis=1) <= 0)  # descending
    assert np.all(lam[:, min(dof, d):] == 0)  # zero padded
    t1, t2 = lam.sum(axis=1), (lam**2).sum(axis=1)
    assert t1.mean() == pytest.approx(dof * d, abs=4 * t1.std() / math.sqrt(4000))
    assert t2.mean() == pytest.approx(dof * d * (dof + d + 1), abs=4 * t2.std() / math.sqrt(4000))


def test_wishart_extreme_eigenvalues_match_dense_samples():
    g = np.random.default_rng(1)
    dof, d, reps = 25, 12, 3000
    fast = np.array([R.wishart_eigenvalues(dof, d, g) for _ in range(reps)])
    dense = np.array([np.linalg.eigvalsh(z.T @ z)[::-1] for z in g.standard_normal((reps, dof, d))])
    for k in (0, d // 2, d - 1):
        se = math.hypot(fast[:, k].std(), dense[:, k].std()) / math.sqrt(reps)
        assert abs(fast[:, k].mean() - dense[:, k].mean()) < 4.5 * se


# ---------------------------------------------------------------- spectrum and BW references
@pytest.mark.parametrize(("n", "d"), [(40, 10), (13, 20), (80, 60)])
def test_spectrum_references_match_brute_force(n, d):
    ref = R.spectrum_references(n, d)
    reps = 1500
    oracle = _brute_force(n, d, reps, seed=n * d)
    for key, values in oracle.items():
        r = getattr(ref, key)
        if not np.all(np.isfinite(values)):
            assert r.mean == math.inf  # rank-deficient covariance: inf in every sample
            continue
        se = values.std(ddof=1) * math.sqrt(1 / reps + 1 / r.n_draws)
        assert abs(r.mean - values.mean()) < 4.5 * se, key
        inside = np.mean((values >= r.low) & (values <= r.high))
        assert inside == pytest.approx(0.95, abs=0.035), key


def test_marchenko_pastur_closed_forms():
    n, d = 4001, 1000  # m = n - 1, aspect ratio g = d / m = 1/4
    m, g = n - 1, 1000 / 4000
    ref = R.spectrum_references(n, d)
    assert ref.participation_ratio.mean == pytest.approx(m * d / (m + d + 1), rel=2e-4)
    assert ref.condition_number.mean == pytest.approx(((1 + math.sqrt(g)) / (1 - math.sqrt(g))) ** 2,
                                                      rel=0.03)
    # the flat population values are far outside the band at this aspect ratio
    assert not ref.participation_ratio.contains(d)
    assert not ref.condition_number.contains(1.0)


def test_issue_example_is_inside_its_reference():
    """n = 553, d = 384: an exact Gaussian sample sits inside every band (not near d, 1 or 0)."""
    from gaussprobe.stats.distance import isotropic_distance

    x = np.random.default_rng(3).standard_normal((553, 384))
    res = isotropic_distance(x, rng=0, n_projections=8, n_null=0)
    sp, bw = res.spectrum, res.bures_wasserstein
    for field in ("effective_rank", "participation_ratio", "condition_number", "isoscore", "john_u"):
        assert getattr(sp, f"{field}_reference").contains(getattr(sp, field)), field
    for field in ("normalized", "mean_part", "anisotropy_part"):
        assert getattr(bw, f"{field}_reference").contains(getattr(bw, field)), field
    assert 215 < sp.participation_ratio_reference.mean < 235
    assert 0.17 < bw.normalized_reference.mean < 0.2


def test_references_are_cached_and_deterministic():
    R.spectrum_references.cache_clear()
    a = R.spectrum_references(50, 7)
    assert R.spectrum_references(50, 7) is a
    R.spectrum_references.cache_clear()
    assert R.spectrum_references(50, 7) == a  # seeded from (n, d): the same after a cache flush
    assert R.spectrum_references(51, 7) != a


def test_from_draws_band_forms():
    v = np.random.default_rng(0).standard_normal(1000)
    ref = R.from_draws(v, "x")
    assert (ref.low, ref.high) == pytest.approx(tuple(np.quantile(v, [0.025, 0.975])))
    small = R.from_draws(v[:30], "x")
    assert "prediction interval" in small.method and small.n_draws == 30
    assert small.high - small.mean == pytest.approx(small.mean - small.low)
    assert small.high - small.low > 2 * 1.96 * v[:30].std(ddof=1)
    inf = R.from_draws(np.full(5, np.inf), "x")
    assert inf.mean == inf.low == inf.high == math.inf
    assert R.Reference(mean=1.0, low=0.5, high=2.0, method="", n_draws=0).to_dict()["high"] == 2.0


# ------------------------------------------------------------------------------ pass fractions
def _simulated_pass_fractions(n, alpha, cols, seed):
    from gaussprobe.stats.coordinates import coordinate_normality

    x = np.random.default_rng(seed).standard_normal((n, cols))
    res = coordinate_normality(x, alpha=alpha)
    return res.ad_pass_fraction, res.dp_pass_fraction


@pytest.mark.parametrize(("n", "alpha"), [(20, 0.05), (60, 0.01), (300, 0.05)])
def test_pass_probabilities_match_simulated_tests(n, alpha):
    """AD holds its level at small n; the DP null pass probability is the simulated one, not 1 - alpha."""
    cols = 40_000
    ad, dp = _simulated_pass_fractions(n, alpha, cols, seed=n)
    ad_ref, dp_ref = R.coordinate_pass_references(n, 500, alpha)
    se = math.sqrt(alpha * (1 - alpha) / cols)
    assert ad == pytest.approx(ad_ref.mean, abs=4 * se)
    q, reps = R.dp_pass_probability(n, alpha)
    assert reps > 0 and dp_ref.mean == q
    assert dp == pytest.approx(q, abs=4 * math.hypot(se, math.sqrt(alpha * (1 - alpha) / reps)))
    if alpha == 0.05:
        assert q < 1 - alpha - 2.5 * se  # the chi2(2) null is liberal here


def test_binomial_band_matches_scipy():
    from scipy import stats

    ref = R.pass_fraction_reference(384, 0.95, 0, "x")
    lo, hi = stats.binom.ppf([0.025, 0.975], 384, 0.95) / 384
    assert (ref.low, ref.high) == pytest.approx((lo, hi))
    # a simulated pass probability widens the band (beta-binomial), little with many draws
    wide = R.pass_fraction_reference(384, 0.95, 500, "x")
    narrow = R.pass_fraction_reference(384, 0.95, 10**6, "x")
    assert wide.high - wide.low > ref.high - ref.low
    assert (narrow.low, narrow.high) == pytest.approx((lo, hi), abs=1 / 384)


def test_pass_fraction_reference_covers_gaussian_data():
    """The DP pass count of d independent Gaussian coordinates falls in the band ~95% of the time."""
    from gaussprobe.stats.coordinates import coordinate_normality

    n, d, reps = 30, 64, 300
    g = np.random.default_rng(5)
    res = [coordinate_normality(g.standard_normal((n, d))) for _ in range(reps)]
    for field in ("ad_pass_fraction", "dp_pass_fraction"):
        ref = getattr(res[0], f"{field}_reference")
        inside = np.mean([ref.contains(getattr(r, field)) for r in res])
        assert inside >= 0.95 - 4 * math.sqrt(0.05 * 0.95 / reps), field


def test_rejected_fraction_reference():
    ref = R.rejected_fraction_reference(5000, 256, 0.05)
    assert ref.mean == pytest.approx(0.05) and ref.n_draws == 0
    small = R.rejected_fraction_reference(50, 256, 0.05)
    assert small.mean == pytest.approx(1 - R.dp_pass_probability(50, 0.05)[0])


def test_reference_cost_at_a_large_report_size():
    """The references of a (100000, 768) report cost a fraction of a second (benchmarks/bench_reference.py)."""
    import time

    R.spectrum_references.cache_clear()
    t = time.perf_counter()
    R.spectrum_references(100_000, 768)
    R.cv_ratio_reference(100_000, 768)
    R.coordinate_pass_references(100_000, 768, 0.05)
    assert time.perf_counter() - t < 3.0  # ~0.25 s on an idle core; generous for shared CI machines
