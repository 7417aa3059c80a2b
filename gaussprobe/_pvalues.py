"""p-values on the host from scalar (or short-vector) statistics, via :mod:`scipy.special`.

Upper tails are computed directly (never as ``1 - cdf``) so that tiny p-values keep their relative
accuracy. ``scipy.special`` is imported lazily.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._typing import Alternative


def _special() -> Any:
    from scipy import special

    return special


def normal_sf(z: Any) -> Any:
    """P(Z > z) for a standard normal Z."""
    return _special().ndtr(-np.asarray(z, dtype=np.float64))


def normal_pvalue(z: Any, alternative: Alternative = "two-sided") -> Any:
    """p-value of a standard-normal statistic ``z`` for the given alternative."""
    z = np.asarray(z, dtype=np.float64)
    sp = _special()
    if alternative == "two-sided":
        p = 2.0 * sp.ndtr(-np.abs(z))
        return np.minimum(p, 1.0)
    if alternative == "greater":
        return sp.ndtr(-z)
    if alternative == "less":
        return sp.ndtr(z)
    msg = f"`alternative` must be 'two-sided', 'less' or 'greater'; got {alternative!r}."
    raise ValueError(msg)


def chi2_sf(x: Any, df: Any) -> Any:
    """Upper tail of a chi-squared distribution with ``df`` degrees of freedom."""
    return _special().chdtrc(np.asarray(df, dtype=np.float64), np.asarray(x, dtype=np.float64))


def lognormal_sf_from_log(log_x: Any, mu: float, sigma: float) -> Any:
    """P(X > x) for X ~ LogNormal(mu, sigma), given ``log x`` (keeps precision when x ≈ 1)."""
    return _special().ndtr(-(np.asarray(log_x, dtype=np.float64) - mu) / sigma)


def cauchy_combination(pvalues: Any, weights: Any = None) -> float:
    """Combine p-values with the Cauchy combination test (Liu & Xie 2020).

    ``T = Σ w_i tan((1/2 - p_i) π)`` with weights summing to one; the combined p-value is the standard
    Cauchy upper tail at ``T``. It is valid (asymptotically exact in the tail) under arbitrary
    dependence between the tests, which is why it suits p-values from overlapping projections.
    ``tan((1/2 - p) π)`` is computed as ``1 / tan(p π)`` so that tiny p-values stay accurate.
    """
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if p.size == 0:
        msg = "cauchy_combination needs at least one p-value."
        raise ValueError(msg)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        msg = "p-values must lie in [0, 1]."
        raise ValueError(msg)
    w = np.full(p.size, 1.0 / p.size) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    if np.any(p == 0.0):
        return 0.0
    with np.errstate(divide="ignore"):
        t = float(np.sum(w / np.tan(np.pi * p)))
    # standard Cauchy upper tail: 1/2 - arctan(t)/pi, written to keep accuracy for large t
    if t > 0:
        return float(np.arctan(1.0 / t) / np.pi)
    return float(0.5 - np.arctan(t) / np.pi)


def cauchy_statistic(pvalues: Any) -> float:
    """The Cauchy combination statistic ``T = mean(tan((1/2 - p) π)) = mean(1 / tan(p π))``."""
    p = np.asarray(pvalues, dtype=np.float64)
    if np.any(p == 0.0):
        return math.inf
    return float(np.mean(1.0 / np.tan(np.pi * p)))


def cauchy_test(pvalues: np.ndarray) -> Any:
    """Cauchy combination of ``pvalues`` as a :class:`TestResult` (valid under dependence)."""
    from ._results import TestResult

    return TestResult(statistic=cauchy_statistic(pvalues), pvalue=cauchy_combination(pvalues),
                      null_distribution="cauchy")


def bonferroni_min(pvalues: Any) -> float:
    """Bonferroni-adjusted smallest p-value ``min(1, k · min p)`` (the Holm procedure's first step)."""
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    return float(min(1.0, p.size * float(p.min())))


__all__ = [
    "bonferroni_min",
    "cauchy_combination",
    "cauchy_statistic",
    "cauchy_test",
    "chi2_sf",
    "lognormal_sf_from_log",
    "normal_pvalue",
    "normal_sf",
]
