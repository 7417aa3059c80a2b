"""Least-Gaussian directions: naive oracles, Marchenko–Pastur rule, brute-force search, invariance,
calibration under isotropic and spiked Gaussian nulls, power against a hidden bimodal direction."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussprobe.stats import _null
from gaussprobe.stats.directions import (
    CONTRASTS,
    _fold_labels,
    choose_k,
    gaussian_logcosh_mean,
    least_gaussian_direction,
    marchenko_pastur_bulk,
    marchenko_pastur_median,
    principal_direction_test,
)


def _rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _bimodal(n: int, d: int, rng: np.random.Generator, axis: int = 5) -> np.ndarray:
    x = rng.standard_normal((n, d))
    x[:, axis] = rng.choice([-1.5, 1.5], size=n) + 0.5 * rng.standard_normal(n)
    return x


def _shared_null_band(n: int, alpha: float, n_null: int, level: float = 0.99) -> tuple[float, float]:
    """99% range of the rejected fraction of ``n`` draws tested against ONE seeded Monte-Carlo null of
    ``n_null`` draws (the cached null is shared): with ``m = alpha (B + 1) - 1`` the conditional level
    is Beta(m + 1, B - m), so the count is beta-binomial, not binomial."""
    from scipy import stats

    m = round(alpha * (n_null + 1)) - 1
    lo, hi = stats.betabinom.ppf([(1 - level) / 2, (1 + level) / 2], n, m + 1, n_null - m)
    return lo / n, hi / n


def _binomial_band(n: int, p: float, level: float = 0.99) -> tuple[float, float]:
    from scipy import stats

    lo, hi = stats.binom.ppf([(1 - level) / 2, (1 + level) / 2], n, p)
    return lo / n, hi / n


# ------------------------------------------------------------------------- Marchenko–Pastur pieces
@pytest.mark.parametrize("gamma", [0.01, 0.2, 0.5, 1.0, 2.5])
def test_mp_median_matches_quadrature(gamma):
    from scipy import integrate, optimize

    a, b = (1 - math.sqrt(gamma)) ** 2, (1 + math.sqrt(gamma)) ** 2

    def density(x):
        return math.sqrt(max((b - x) * (x - a), 0.0)) / x

    lo = max(a, 1e-12)
    total = integrate.quad(density, lo, b, limit=200)[0]
    med = optimize.brentq(lambda m: integrate.quad(density, lo, m, limit=200)[0] / total - 0.5, lo, b)
    assert marchenko_pastur_median(gamma) == pytest.approx(med, rel=1e-6)


def test_mp_bulk_of_pure_noise_and_spikes(rng):
    n, d = 4000, 200
    x = rng.standard_normal((n, d)) * 3.0
    lam = np.linalg.eigvalsh(np.cov(x, rowvar=False))
    sigma2, lo, hi = marchenko_pastur_bulk(lam, n, d)
    assert sigma2 == pytest.approx(9.0, rel=0.02)
    assert lam.max() < hi * 1.02
    assert lam.min() > lo * 0.97
    # three spikes well above the BBP threshold sigma^2 (1 + sqrt(gamma)) are outside the bulk
    x[:, :3] *= 3.0
    lam = np.linalg.eigvalsh(np.cov(x, rowvar=False))
    assert choose_k(lam, n, d) == (3, 1)
    assert choose_k(lam, n, d, cap=2) == (2, 1)


def test_logcosh_gaussian_mean():
    from scipy import integrate

    value = integrate.quad(lambda t: math.log(math.cosh(t)) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
                           -40, 40)[0]
    assert gaussian_logcosh_mean() == pytest.approx(value, rel=1e-10)


# ---------------------------------------------------------------------------- principal directions
def _principal_oracle(x: np.ndarray, labels: np.ndarray, k_top: int, k_bottom: int):
    """Explicit eigh per half, projections of the other half, scipy's tests per direction."""
    from scipy import stats

    out = []
    for est in (labels, ~labels):
        a, b = x[est], x[~est]
        lam, vec = np.linalg.eigh(np.cov(a, rowvar=False))
        lam, vec = lam[::-1], vec[:, ::-1]
        r = min(x.shape[1], len(a) - 1)
        cols = list(range(k_top)) + [r - 1 - j for j in range(k_bottom)]
        for c in cols:
            y = (b - a.mean(axis=0)) @ vec[:, c]
            out.append((lam[c], stats.anderson(y, dist="norm", method="interpolate").statistic, stats.normaltest(y).statistic,
                        abs(stats.skew(y)), stats.kurtosis(y)))
    return np.array(out)


@pytest.mark.parametrize(("n", "d", "k"), [(300, 12, 2), (301, 5, None), (120, 80, 1)])
def test_principal_directions_match_oracle(rng, n, d, k):
    x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + 4.0
    res = principal_direction_test(x, k=k, rng=7)
    labels = _fold_labels(n, d, 7)
    ref = _principal_oracle(x, labels, res.k_top, res.k_bottom)
    assert len(res.ad_statistics) == len(ref)
    np.testing.assert_allclose(res.direction_eigenvalues, ref[:, 0], rtol=1e-9)
    np.testing.assert_allclose(res.ad_statistics, ref[:, 1], rtol=1e-8)
    np.testing.assert_allclose(res.dp_statistics, ref[:, 2], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.abs(res.skewness), ref[:, 3], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.excess_kurtosis, ref[:, 4], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.eigenvalues, np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1],
                               rtol=1e-9, atol=1e-12)
    i = int(np.argmin(res.ad_pvalues))
    assert res.worst.ad_pvalue == res.ad_pvalues[i]
    assert res.worst.eigenvalue == pytest.approx(ref[i, 0], rel=1e-9)
    assert np.linalg.norm(res.worst.direction) == pytest.approx(1.0)
    assert res.combined_test.calibration == "sample splitting"
    assert res.qq_values.shape[1] == res.qq_quantiles.shape[0] <= 1000
    json.dumps(res.to_dict())


def test_principal_qq_is_small_and_sorted(rng):
    x = rng.standard_normal((5000, 20))
    x[:, :6] *= 4.0
    res = principal_direction_test(x, rng=0)
    assert res.qq_values.shape == (4, 1000)
    assert np.all(np.diff(res.qq_values, axis=1) >= 0)
    assert res.n_above_edge == 6


def test_principal_errors(rng):
    with pytest.raises(ValueError, match="at least 40"):
        principal_direction_test(rng.standard_normal((30, 3)))
    with pytest.raises(ValueError, match="k <="):
        principal_direction_test(rng.standard_normal((100, 6)), k=4)


def test_bimodal_hidden_direction_found_by_principal_directions():
    rng = np.random.default_rng(11)
    n, d = 2000, 64
    rot = _rotation(d, rng)
    res = principal_direction_test(_bimodal(n, d, rng) @ rot, rng=0)
    assert res.combined_test.pvalue < 0.01
    assert res.worst.end == "top"
    assert abs(res.worst.direction @ rot[5]) > 0.9
    assert res.worst.eigenvalue == pytest.approx(2.5, rel=0.15)
    assert res.worst.excess_kurtosis < -1.0


# ----------------------------------------------------------------------------- projection pursuit
def _whiten_oracle(x: np.ndarray) -> np.ndarray:
    c = x - x.mean(axis=0)
    lam, vec = np.linalg.eigh(c.T @ c / len(x))
    return c @ vec / np.sqrt(lam)


def _contrast(y: np.ndarray, name: str) -> np.ndarray:
    if name == "kurtosis":
        return (np.mean(y**4, axis=0) - 3) ** 2
    if name == "skewness":
        return np.mean(y**3, axis=0) ** 2
    return (np.mean(np.log(np.cosh(y)), axis=0) - gaussian_logcosh_mean()) ** 2


@pytest.mark.parametrize("name", CONTRASTS)
def test_pursuit_matches_or_beats_brute_force(rng, name):
    n, d = 600, 3
    x = rng.standard_normal((n, d))
    x[:, 1] = rng.exponential(size=n) if name != "kurtosis" else rng.laplace(size=n)
    x = x @ rng.standard_normal((d, d))
    res = least_gaussian_direction(x, contrast=name, n_null=0, rng=1)
    z = _whiten_oracle(x)
    u = rng.standard_normal((d, 20000))
    u /= np.linalg.norm(u, axis=0)
    brute = float(np.max(_contrast(z @ u, name)))
    assert res.contrast_statistics[0] >= brute * (1 - 1e-3)
    # the reported direction's projection has the contrast reported (projection vector a, y = x a)
    y = (x - x.mean(axis=0)) @ res.best.direction
    y /= y.std()
    assert float(_contrast(y[:, None], name)[0]) == pytest.approx(res.contrast_statistics[0], rel=1e-8)


def test_pursuit_univariate_statistics_match_scipy(rng):
    from scipy import stats

    x = rng.standard_normal((400, 4))
    x[:, 2] = rng.exponential(size=400)
    res = least_gaussian_direction(x, n_null=0, rng=0)
    y = x @ res.best.direction
    assert res.best.ad_statistic == pytest.approx(stats.anderson(y, dist="norm", method="interpolate").statistic, rel=1e-8)
    assert res.best.dp_statistic == pytest.approx(stats.normaltest(y).statistic, rel=1e-6)
    assert res.best.skewness == pytest.approx(stats.skew(y), rel=1e-8)
    assert res.best.excess_kurtosis == pytest.approx(stats.kurtosis(y), rel=1e-8)
    assert res.best.eigenvalue == pytest.approx(np.var(y, ddof=1), rel=1e-8)
    assert abs(res.best.direction[2]) > 0.95


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 5), log_cond=st.floats(0.0, 4.0))
def test_pursuit_pvalue_is_affine_invariant(seed, d, log_cond):
    # x -> x A + b with A = rotation . scaling (condition number up to 1e4, signs flipped) . rotation
    rng = np.random.default_rng(seed)
    n = 120
    x = rng.standard_normal((n, d))
    x[:, 0] += 0.5 * rng.exponential(size=n)
    scales = 10.0 ** rng.uniform(-log_cond / 2, log_cond / 2, size=d) * rng.choice([-1.0, 1.0], size=d)
    a = _rotation(d, rng) * scales @ _rotation(d, rng)
    r0 = least_gaussian_direction(x, n_null=39, rng=3)
    r1 = least_gaussian_direction(x @ a + rng.standard_normal(d) * 5, n_null=39, rng=3)
    # Exact in exact arithmetic. In floating point the whitening of x A is exact to about
    # eps * cond(S), and restarts still moving after max_iter steps can amplify that: measured over
    # 2000 such maps (`python benchmarks/power_directions.py --invariance 2000`) the p-value was the
    # same in all but one (two ranks of 1/40 apart), the contrasts agreed to 1e-6 in 95% and to 6.1%
    # at worst. A broken invariance would move them across [0, 1].
    rank = 1 / 40
    assert abs(r1.test.pvalue - r0.test.pvalue) <= 3 * rank + 1e-12
    np.testing.assert_allclose(r1.contrast_pvalues, r0.contrast_pvalues, rtol=0, atol=3 * rank + 1e-12)
    np.testing.assert_allclose(r1.contrast_statistics, r0.contrast_statistics, rtol=0.15)
    assert r1.informative == r0.informative
    if np.allclose(r1.contrast_statistics, r0.contrast_statistics, rtol=1e-6, atol=0):
        # the same direction, mapped back: the same projection of the data (up to sign)
        assert r1.best_contrast == r0.best_contrast
        y0 = (x - x.mean(0)) @ r0.best.direction
        y1 = (x @ a - (x @ a).mean(0)) @ r1.best.direction
        assert abs(np.corrcoef(y0, y1)[0, 1]) == pytest.approx(1.0, abs=1e-6)


def test_pursuit_null_budget_and_errors(rng):
    x = rng.standard_normal((100, 4))
    res = least_gaussian_direction(x, null_budget=1.0)
    assert math.isnan(res.test.pvalue)
    assert res.test.calibration == "not calibrated"
    assert "budget" in res.test.note
    assert res.n_null == 0
    with pytest.raises(ValueError, match="n_features"):
        least_gaussian_direction(rng.standard_normal((9, 8)))
    with pytest.raises(ValueError, match="contrast"):
        least_gaussian_direction(x, contrast="entropy")
    with pytest.raises(ValueError, match="null_budget"):
        least_gaussian_direction(x, null_budget=-1)
    singular = np.column_stack([x, x[:, 0]])
    with pytest.raises(ValueError, match="rank"):
        least_gaussian_direction(singular)


def test_pursuit_null_is_cached_and_seeded(rng):
    _null.clear_cache()
    x = rng.standard_normal((80, 3))
    r0 = least_gaussian_direction(x, n_null=19, contrast="skewness")
    r1 = least_gaussian_direction(x, n_null=19, contrast="skewness")
    assert r0.test.pvalue == r1.test.pvalue
    assert r0.test.calibration == "monte-carlo"
    assert 0.05 <= r0.test.pvalue <= 1.0
    assert _null._simulate.cache_info().hits >= 1
    json.dumps(r0.to_dict())


def test_pursuit_reports_where_it_is_not_informative(rng):
    res = least_gaussian_direction(rng.standard_normal((200, 40)), n_null=19)
    assert not res.informative
    assert "not informative" in res.test.note
    assert res.null_kurtosis_q95 > 1.2
    assert least_gaussian_direction(rng.standard_normal((500, 3)), n_null=19).informative


def test_import_stays_light():
    code = ("import sys, gaussprobe.stats.directions; "
            "print(sorted({'torch', 'numba', 'scipy.stats'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_bimodal_hidden_direction_found_by_pursuit():
    # at (2000, 64) a direction that differs only in its even moments is below the n ~ d^2 floor of
    # the pursuit (see the docs); at d = 16 it is found
    rng = np.random.default_rng(12)
    n, d = 2000, 16
    rot = _rotation(d, rng)
    res = least_gaussian_direction(_bimodal(n, d, rng) @ rot, rng=0)
    assert res.test.pvalue < 0.01
    assert res.informative
    assert abs(res.best.direction @ rot[5]) > 0.9


# ------------------------------------------------------------------------------ null calibration
def _spiked(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    scales = np.ones(d)
    scales[:2] = (6.0, 3.0)  # two spikes above the MP edge
    return (rng.standard_normal((n, d)) * scales) @ _rotation(d, rng) + 1.0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["isotropic", "spiked"])
@pytest.mark.parametrize(("n", "d"), [(200, 8), (400, 64)])
def test_principal_direction_level(kind, n, d):
    rng = np.random.default_rng(hash((kind, n, d)) % 2**32)
    draws = 600
    p = np.empty(draws)
    for i in range(draws):
        x = rng.standard_normal((n, d)) if kind == "isotropic" else _spiked(n, d, rng)
        p[i] = principal_direction_test(x, rng=i).combined_test.pvalue
    for alpha in (0.05, 0.01):
        lo, hi = _binomial_band(draws, alpha)
        assert lo <= np.mean(p < alpha) <= hi, (alpha, np.mean(p < alpha))


@pytest.mark.slow
@pytest.mark.parametrize(("n", "d", "kind"), [(200, 4, "isotropic"), (300, 6, "spiked")])
def test_pursuit_level(n, d, kind):
    rng = np.random.default_rng(n * d)
    from scipy import stats

    draws = 500
    p = np.empty(draws)
    observed = np.empty((draws, len(CONTRASTS)))
    for i in range(draws):
        x = rng.standard_normal((n, d)) if kind == "isotropic" else _spiked(n, d, rng)
        res = least_gaussian_direction(x, rng=i)
        p[i], observed[i] = res.test.pvalue, res.contrast_statistics
    for alpha in (0.05, 0.1):
        lo, hi = _shared_null_band(draws, alpha, _null.DEFAULT_NULL_DRAWS)
        assert lo <= np.mean(p <= alpha) <= hi, (alpha, np.mean(p <= alpha))
    # sharper: the contrasts found on these Gaussians are distributed as the null's draws
    name = f"least_gaussian_direction:{','.join(CONTRASTS)}:6:30:1e-06"
    null = _null._simulate.__wrapped__  # fresh draws, not the cached 199
    from gaussprobe.stats.directions import _null_statistic

    sims = null(name + ":fresh", _null_statistic(CONTRASTS, 6, 30, 1e-6), n, d, 500)
    for c in range(len(CONTRASTS)):
        assert stats.ks_2samp(observed[:, c], sims[:, c]).pvalue > 1e-3, CONTRASTS[c]
