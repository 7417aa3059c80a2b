"""The tabulated null distribution of the Anderson–Darling statistic (``ad_null_pvalue``).

Oracles: the published asymptotic percentage points (D'Agostino & Stephens 1986, Table 4.7, case 3),
the asymptotic mean computed here by quadrature from the covariance kernel, scipy's critical values,
and fresh Monte-Carlo draws (seeds the table's generator does not use) at several n.
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from gaussprobe.stats._ad_null import _knots, _table, ad_null_probit
from gaussprobe.stats.univariate import ad_null_pvalue, ad_pvalue, column_statistics


def _a2_draws(n, draws, seed):
    rng = np.random.default_rng(seed)
    block = max(1, 2**21 // n)
    return np.concatenate([column_statistics(np, rng.standard_normal((n, min(block, draws - a))),
                                             np.float64).ad_statistic
                           for a in range(0, draws, block)])


def _band(trials, p, level=0.999):
    lo, hi = stats.binom.interval(level, trials, p)
    return lo / trials, hi / trials


@pytest.mark.parametrize(("x", "level"), [(0.631, 0.10), (0.752, 0.05), (0.873, 0.025), (1.035, 0.01)])
def test_asymptotic_percentage_points_match_the_published_table(x, level):
    # D'Agostino & Stephens (1986), Table 4.7 (scipy's ``_Avals_norm``): asymptotic points of A² for
    # a normal sample with estimated mean and variance, to three decimals; the table's points are
    # 0.63058, 0.75157, 0.87304 and 1.03482. (Its 15% point, 0.561, is 0.5597 here: p = 0.1489.)
    from scipy import optimize

    point = optimize.brentq(lambda a: float(ad_null_pvalue(a, 10**12)) - level, 0.3, 2.0, xtol=1e-7)
    assert round(point, 3) == x


def test_asymptotic_mean_matches_the_kernel_trace():
    # E Q = trace of the kernel = 1 - ∫ φ(ξ)² (1 + ξ²/2) / (t(1-t)) dt, ξ = Φ⁻¹(t); in x = ξ:
    def integrand(x):
        phi = math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        return phi**3 * (1 + x * x / 2) / (stats.norm.cdf(x) * stats.norm.sf(x))

    mean = 1.0 - integrate.quad(integrand, -12, 12, epsabs=1e-13, limit=200)[0]
    t = _table()
    # E Q = ∫ q(Φ(z)) φ(z) dz over the probit knots (Simpson; the tails beyond carry < 1e-8)
    table_mean = integrate.simpson(np.exp(t.logq) * stats.norm.pdf(t.z), x=t.z)
    assert table_mean == pytest.approx(mean, rel=2e-5)
    assert mean == pytest.approx(0.38443, abs=1e-5)


@pytest.mark.parametrize("n", [20, 100, 1000])
def test_five_percent_point_agrees_with_scipy(n):
    # scipy's critical value is D'Agostino & Stephens' 0.752 / (1 + 0.75/n + 2.25/n²), within about
    # one percent of the true point at these n
    with pytest.warns(FutureWarning):
        crit = stats.anderson(np.random.default_rng(0).standard_normal(n), dist="norm").critical_values[2]
    assert ad_null_pvalue(crit, n) == pytest.approx(0.05, rel=0.04)


@pytest.mark.parametrize(("n", "draws"), [(10, 400_000), (30, 400_000), (74, 200_000), (300, 100_000)])
def test_pvalues_are_uniform_in_both_tails(n, draws):
    a2 = _a2_draws(n, draws, seed=[7, n])
    p = ad_null_pvalue(a2, n)
    assert stats.kstest(p, "uniform").pvalue > 1e-3
    for eps in (0.01, 0.001):
        lo, hi = _band(draws, eps)
        assert lo <= np.mean(p <= eps) <= hi, ("lower", eps)
        assert lo <= np.mean(p >= 1 - eps) <= hi, ("upper", eps)


def test_nortest_approximation_is_not_uniform_near_one():
    # why the tests do not combine nortest's p-values: far too few of them above 0.999
    n, draws = 74, 200_000
    p = ad_pvalue(_a2_draws(n, draws, seed=[8, n]), n)
    assert np.mean(p >= 0.999) < 0.3 * 0.001


@pytest.mark.parametrize("n", [8, 9, 13, 74, 1999, 2001, 10**5, 10**9])
def test_table_is_monotone_and_continuous(n):
    big_l, _, dz = _knots(n)
    assert np.all(np.diff(big_l) > 0)
    assert np.all(dz > 0)
    x = np.exp(np.linspace(big_l[0] - 1.0, big_l[-1] + 0.5, 20001))
    zz = ad_null_probit(x, n)
    assert np.all(np.diff(zz) > 0)
    assert np.max(np.diff(zz)) < 0.05  # no jump at the knots or at the ends of the table


def test_interpolates_smoothly_in_n():
    x = np.array([0.15, 0.34, 0.75, 1.5])
    ps = np.array([ad_null_pvalue(x, n) for n in range(8, 3000)])
    # the law changes fast at small n (p of 0.34 moves by 0.009 from n = 8 to 9) but without kinks,
    # and slowly from n = 30 on
    assert np.all(np.abs(np.diff(ps, 2, axis=0)) < 2e-3)
    assert np.all(np.abs(np.diff(ps[22:], axis=0)) < 1e-3)
    # large n tends to the asymptotic law
    np.testing.assert_allclose(ad_null_pvalue(x, 10**6), ad_null_pvalue(x, 10**12), rtol=1e-4)


def test_rejects_sizes_below_the_table():
    with pytest.raises(ValueError, match="starts at n = 8"):
        ad_null_pvalue(0.5, 7)


def test_edge_values():
    p = ad_null_pvalue(np.array([np.nan, 1e-6, 50.0, 500.0]), 100)
    assert np.isnan(p[0])
    assert p[1] == 1.0
    assert 0.0 <= p[3] < p[2] < 1e-30
    assert ad_null_pvalue(np.float32(0.5), 50).shape == ()
    assert float(ad_null_pvalue(np.float32(0.5), 50)) == pytest.approx(float(ad_null_pvalue(0.5, 50)),
                                                                       rel=1e-6)
