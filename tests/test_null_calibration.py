"""The Monte-Carlo nulls at the data's own (n, d): mechanism, oracles, invariance and calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _oracles_mvn import mardia_naive
from scipy import stats

from gaussprobe import mardia
from gaussprobe.stats import _null
from gaussprobe.stats.mardia import _null_statistics as mardia_null_statistics
from gaussprobe.stats.mardia import skewness_plan


def _band(rate: float, draws: int, z: float = 2.576) -> tuple[float, float]:
    half = z * math.sqrt(rate * (1 - rate) / draws)
    return rate - half, rate + half


def test_monte_carlo_pvalue_formula():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    assert _null.monte_carlo_pvalue(2.5, null) == pytest.approx(3 / 5)
    assert _null.monte_carlo_pvalue(10.0, null) == pytest.approx(1 / 5)
    assert _null.monte_carlo_pvalue(-1.0, null) == pytest.approx(1.0)


def test_null_is_seeded_by_test_and_size_only():
    a = _null.simulate_null("oracle-test", _first_moment, 20, 3, 7)
    _null.clear_cache()
    b = _null.simulate_null("oracle-test", _first_moment, 20, 3, 7)
    np.testing.assert_array_equal(a, b)
    c = _null.simulate_null("oracle-test", _first_moment, 21, 3, 7)
    assert not np.array_equal(a, c)


def _first_moment(z):
    return (float(z.mean()),)


def test_mardia_monte_carlo_pvalue_matches_naive_oracle():
    n, d, draws = 30, 5, 49  # n < 2 d^2: the chi2 does not hold, the null is simulated
    assert skewness_plan(n, d, n_null=draws)[:2] == ("monte-carlo", draws)
    x = np.random.default_rng(3).standard_normal((n, d)) @ np.diag([1, 2, 3, 4, 5.0]) + 7.0
    res = mardia(x, n_null=draws)
    streams = _null.null_seed("mardia", n, d).spawn(draws)
    sims = np.array([mardia_naive(np.random.default_rng(s).standard_normal((n, d)))["b1"] for s in streams])
    # Satterthwaite: c chi2(nu) with the exact mean (Mardia 1974) and the simulated variance
    mean = d * (d + 2) * ((n + 1) * (d + 1) - 6) / ((n + 1) * (n + 3))
    c = sims.var(ddof=1) / (2 * mean)
    expected = stats.chi2.sf(mardia_naive(x)["b1"] / c, mean / c)
    assert res.skewness_test.calibration == "monte-carlo"
    assert res.skewness_test.pvalue == pytest.approx(expected, rel=1e-8)
    assert res.skewness_test_asymptotic.calibration == "asymptotic"


def test_simulated_null_mean_matches_the_exact_mean():
    n, d = 60, 12
    sims = _null.simulate_null("mardia", mardia_null_statistics, n, d, 999)[:, 0]
    exact = d * (d + 2) * ((n + 1) * (d + 1) - 6) / ((n + 1) * (n + 3))
    assert abs(sims.mean() - exact) < 4 * sims.std() / math.sqrt(sims.size)


def test_mardia_monte_carlo_pvalue_is_affine_invariant():
    rng = np.random.default_rng(5)
    x = rng.exponential(size=(40, 6))
    b = rng.standard_normal((6, 6)) + 3 * np.eye(6)
    p0 = mardia(x, n_null=299).skewness_test.pvalue
    p1 = mardia(x @ b - 4.0, n_null=299).skewness_test.pvalue
    assert p1 == pytest.approx(p0, rel=1e-8)


def test_mardia_chi2_used_where_it_holds():
    assert skewness_plan(200, 10) == ("asymptotic", 0, "")
    res = mardia(np.random.default_rng(0).standard_normal((200, 10)))
    assert res.skewness_test.pvalue == res.skewness_test_asymptotic.pvalue
    assert res.skewness_test.calibration == "asymptotic"


def test_mardia_over_budget_shows_no_pvalue():
    x = np.random.default_rng(0).standard_normal((60, 20))
    res = mardia(x, null_budget=1.0)
    assert math.isnan(res.skewness_test.pvalue)
    assert res.skewness_test.calibration == "not calibrated"
    assert "budget" in res.skewness_test.note and "null='monte-carlo'" in res.skewness_test.note
    assert not math.isnan(res.skewness_test_asymptotic.pvalue)  # the parity variant is still there
    forced = mardia(x, null="asymptotic")
    assert forced.skewness_test.calibration == "not calibrated" and "not calibrated" in forced.skewness_test.note


def test_mardia_kurtosis_only():
    x = np.random.default_rng(0).standard_normal((300, 40))
    full, kurt = mardia(x), mardia(x, skewness=False)
    assert kurt.kurtosis == pytest.approx(full.kurtosis, rel=1e-12)
    assert kurt.kurtosis_test.pvalue == pytest.approx(full.kurtosis_test.pvalue, rel=1e-10)
    assert math.isnan(kurt.skewness) and math.isnan(kurt.skewness_test.pvalue)
    assert kurt.skewness_test.calibration == "not computed"


@pytest.mark.slow
@pytest.mark.parametrize(("n", "d"), [(40, 8), (120, 30)])
def test_mardia_skewness_calibrated_where_chi2_fails(n, d):
    """Type-I error of the simulated null within the 99 % binomial band (500 Gaussian draws)."""
    draws = 500
    pv = np.array([mardia(np.random.default_rng(900_000 + i).standard_normal((n, d))).skewness_test.pvalue
                   for i in range(draws)])
    lo, hi = _band(0.05, draws)
    assert lo <= np.mean(pv <= 0.05) <= hi
    # the chi2 at the same cells is far too conservative: the reason for the simulated null
    chi2 = [mardia(np.random.default_rng(900_000 + i).standard_normal((n, d))).skewness_test_asymptotic.pvalue
            for i in range(100)]
    assert np.mean(np.array(chi2) <= 0.05) < 0.02
    assert stats.kstest(pv, "uniform").pvalue > 1e-3


# ------------------------------------------------------------------------------ Henze-Zirkler
def test_hz_monte_carlo_null_matches_naive_oracle():
    from _oracles_mvn import hz_naive

    from gaussprobe import henze_zirkler

    n, d, draws = 40, 12, 39  # d > 10: the lognormal is not used
    x = np.random.default_rng(8).standard_normal((n, d)) * np.linspace(1, 3, d)
    res = henze_zirkler(x, n_null=draws, null="monte-carlo")
    streams = _null.null_seed("henze_zirkler", n, d).spawn(draws)
    sims = [hz_naive(np.random.default_rng(s).standard_normal((n, d)))[0] for s in streams]
    expected = (1 + sum(s >= hz_naive(x)[0] for s in sims)) / (draws + 1)
    assert res.calibration == "monte-carlo"
    assert res.pvalue == pytest.approx(expected)


def test_hz_says_when_it_cannot_have_power():
    from gaussprobe import henze_zirkler

    res = henze_zirkler(np.random.default_rng(0).laplace(size=(300, 200)))
    assert not res.informative and math.isnan(res.pvalue)
    assert res.calibration == "not informative" and "no power by construction" in res.note
    assert 0.0 <= res.lognormal_pvalue <= 1.0  # the parity value is kept, named as such


# ------------------------------------------------------------------ every report p-value, n ~ d
@pytest.mark.slow
@pytest.mark.parametrize(("n", "d"), [(74, 64), (256, 128)])
def test_report_pvalues_are_calibrated_at_embedding_sizes(n, d):
    """Type-I error at 0.05 of each p-value the report shows, within the 99 % binomial band (500 draws)."""
    import warnings

    import gaussprobe as gp

    draws = 500
    lo, hi = (v / draws for v in stats.binom.interval(0.99, draws, 0.05))
    pick = {
        "coordinates combined": lambda r: r.coordinates.combined_test.pvalue,
        "projections combined": lambda r: r.projections.combined_test.pvalue,
        "Mardia skewness": lambda r: r.mardia.skewness_test.pvalue,
        "Mardia kurtosis": lambda r: r.mardia.kurtosis_test.pvalue,
        "Doornik-Hansen": lambda r: r.doornik_hansen.pvalue,
    }
    pv = {k: [] for k in pick}
    for i in range(draws):
        x = np.random.default_rng([n, d, 7, i]).standard_normal((n, d))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = gp.analyze(x, rng=i, n_projections=64,
                             tests=["coordinates", "projections", "mardia", "doornik_hansen"])
        for k, f in pick.items():
            pv[k].append(f(rep))
    assert rep.mardia.skewness_test.calibration == "monte-carlo"
    for k, p in pv.items():
        rate = float(np.mean(np.asarray(p) <= 0.05))
        assert lo <= rate <= hi, (k, rate, (lo, hi))
