"""The points that results carry for their plots, against a naive oracle (sort, standardise, pick)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import special

import gaussprobe as gp
from gaussprobe.stats.univariate import (
    ORDER_STATISTIC_POINTS,
    normal_plotting_positions,
    order_statistic_ranks,
    univariate_tests,
)


def _oracle(columns: np.ndarray, points: int = ORDER_STATISTIC_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Standardised (ddof=1) sorted columns at evenly spaced ranks, and Blom's normal quantiles."""
    n = columns.shape[0]
    idx = np.unique(np.round(np.linspace(0, n - 1, min(n, points))).astype(int))
    z = (columns - columns.mean(axis=0)) / columns.std(axis=0, ddof=1)
    return np.sort(z, axis=0)[idx].T, special.ndtri((idx + 1 - 0.375) / (n + 0.25))


def test_ranks_and_plotting_positions():
    assert order_statistic_ranks(5).tolist() == [0, 1, 2, 3, 4]
    r = order_statistic_ranks(10_000)
    assert r.size == ORDER_STATISTIC_POINTS and r[0] == 0 and r[-1] == 9_999
    assert np.all(np.diff(r) > 0)
    q = normal_plotting_positions(10_000, r)
    np.testing.assert_allclose(q, -q[::-1], atol=1e-3)  # symmetric about 0
    assert q[0] == pytest.approx(special.ndtri(0.625 / 10_000.25))


@pytest.mark.parametrize("n", [12, 199, 200, 1_234])
def test_kernel_order_statistics_match_the_oracle(n):
    x = np.random.default_rng(n).gamma(2.0, size=(n, 7))
    res = univariate_tests(np, lambda a, b: x[:, a:b], 7, n, dtype=np.float64, block_size=3,
                           order_points=ORDER_STATISTIC_POINTS)
    values, _ = _oracle(x)
    np.testing.assert_allclose(res.order_statistics, values, rtol=1e-12, atol=1e-12)
    plain = univariate_tests(np, lambda a, b: x[:, a:b], 7, n, dtype=np.float64, block_size=3)
    assert plain.order_statistics is None
    np.testing.assert_array_equal(plain.ad_statistic, res.ad_statistic)  # the tests are unchanged


def test_results_carry_the_points_of_their_worst_coordinates_and_directions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 8))
    x[:, 5] = rng.exponential(size=500)
    co = gp.coordinate_normality(x)
    values, quantiles = _oracle(x[:, co.worst_coordinates])
    assert co.worst_coordinates[0] == 5 and co.qq_values.shape == (5, ORDER_STATISTIC_POINTS)
    np.testing.assert_allclose(co.qq_values, values, atol=1e-12)
    np.testing.assert_allclose(co.qq_quantiles, quantiles, rtol=1e-14)
    pr = gp.projection_normality(x, n_projections=6, rng=3)
    u = gp._random.random_directions(8, 6, 3)
    values, _ = _oracle((x @ u)[:, pr.worst_directions])
    np.testing.assert_array_equal(pr.worst_directions, np.argsort(pr.ad_pvalues, kind="stable")[:5])
    np.testing.assert_allclose(pr.qq_values, values, atol=1e-10)
    ref = gp._reference.rejected_fraction_reference(500, 6, 0.05)
    assert pr.rejected_fraction_reference == ref
    assert gp.projection_normality(x, n_projections=12, rng=3).rejected_fraction_reference is None  # k > d


def test_pursuit_and_thin_shell_points():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 4))
    x[:, 1] = rng.choice([-1.5, 1.5], size=400) + 0.5 * rng.standard_normal(400)
    pu = gp.least_gaussian_direction(x, n_null=19, rng=0)
    values, quantiles = _oracle((x @ pu.best.direction)[:, None])
    np.testing.assert_allclose(pu.qq_values, values[0], atol=1e-9)
    np.testing.assert_allclose(pu.qq_quantiles, quantiles)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = gp.thin_shell(x)
        tc = gp.thin_shell(x, center=True)
    norms = np.sort(np.linalg.norm(x, axis=1))
    np.testing.assert_allclose(ts.norm_order_statistics, norms[order_statistic_ranks(400)], rtol=1e-14)
    centred = np.sort(np.linalg.norm(x - x.mean(axis=0), axis=1))
    np.testing.assert_allclose(tc.norm_order_statistics, centred[order_statistic_ranks(400)], rtol=1e-12)
    assert ts.norm_order_statistics[0] == norms[0] and ts.norm_order_statistics[-1] == norms[-1]
