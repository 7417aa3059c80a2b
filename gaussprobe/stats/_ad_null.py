r"""The null distribution of the Anderson–Darling normality statistic at each sample size.

``A²`` of a normal sample standardised with its own mean and standard deviation ("case 3") has a null
distribution that depends on ``n`` only. It is stored in ``gaussprobe/data/ad_null.npz``, made by
``benchmarks/ad_null_table.py``:

* the asymptotic law :math:`A^2 \to Q = \sum_j \lambda_j \chi^2_1` (Anderson & Darling 1952; the
  eigenvalues of the estimated-parameter kernel as in Stephens 1976), inverted numerically, as the
  log quantiles :math:`\log q(z)` and their derivatives at probit knots ``z`` (``P(Q <= q(z)) = Φ(z)``)
  from ``z = -6`` to ``9.5``;
* a finite-``n`` correction fitted to seeded Monte-Carlo quantiles at ``n = 8 … 2000``,

  .. math:: \log q_n(z) = \log q(z) - \log c_n + \sum_{k=1}^{4} \beta_k(z)\, n^{-k}, \qquad
            c_n = 1 + 0.75/n + 2.25/n^2,

  where :math:`c_n` is D'Agostino & Stephens' (1986) small-sample factor, so the fitted part tends to
  0 as ``n`` grows.

The p-value of an observed ``A²`` is :math:`1 - \Phi(z)` where :math:`\log q_n(z) = \log A^2`, found by
cubic Hermite interpolation of ``z`` against :math:`\log q_n` between knots. Beyond the knots the
asymptotic tail shapes are used (:math:`\log P(Q \le x) \propto -1/x` below, :math:`\propto -x` above:
``z`` proportional to :math:`x^{\mp 1/2}`), which matters only for p-values beyond ``1 - 10⁻⁹`` and
``10⁻²¹``.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from .._pvalues import _special

TABLE_FILE = "ad_null.npz"
#: The smallest sample size of the table (that of the univariate tests).
MIN_TABLE_SAMPLES = 8


class _Table(NamedTuple):
    z: np.ndarray  # probit knots
    logq: np.ndarray  # asymptotic log quantiles at the knots
    dlogq: np.ndarray  # their derivatives in z
    beta: np.ndarray  # (powers, knots): the finite-n correction
    n_grid: np.ndarray  # the sample sizes of the Monte-Carlo fit


@functools.cache
def _table() -> _Table:
    ref = resources.files("gaussprobe").joinpath("data", TABLE_FILE)
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as f:
        return _Table(*(np.asarray(f[k], dtype=np.float64) for k in ("z", "logq", "dlogq", "beta", "n_grid")))


@functools.lru_cache(maxsize=64)
def _knots(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Knots of ``z`` against ``log q_n(z)`` for this ``n``: ``(L, z, dz/dL)``."""
    t = _table()
    powers = float(n) ** -np.arange(1, t.beta.shape[0] + 1, dtype=np.float64)
    y = powers @ t.beta
    dy = np.gradient(y, t.z)
    cn = 1.0 + 0.75 / n + 2.25 / n**2
    big_l = t.logq - np.log(cn) + y
    slope = t.dlogq + dy
    if not (np.all(np.diff(big_l) > 0) and np.all(slope > 0)):  # pragma: no cover - checked in tests
        msg = f"the Anderson–Darling null table is not monotone at n = {n}; regenerate it."
        raise RuntimeError(msg)
    return big_l, t.z.copy(), 1.0 / slope


def ad_null_probit(a2: Any, n: int) -> np.ndarray:
    """``z`` with ``Φ(z) = P(A² <= a2)`` under normality at sample size ``n`` (see the module notes)."""
    if int(n) < MIN_TABLE_SAMPLES:
        msg = (f"the Anderson–Darling null table starts at n = {MIN_TABLE_SAMPLES} samples; got n = {n}. "
               "Test at least 8 values.")
        raise ValueError(msg)
    big_l, z, dz = _knots(int(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        logx = np.log(np.asarray(a2, dtype=np.float64))
    out = np.empty_like(logx)
    lo, hi = logx < big_l[0], logx > big_l[-1]
    mid = ~(lo | hi | np.isnan(logx))
    # cubic Hermite interpolation of z(L) on the knot containing each value
    v = logx[mid]
    i = np.clip(np.searchsorted(big_l, v, side="right") - 1, 0, big_l.size - 2)
    h = big_l[i + 1] - big_l[i]
    t = (v - big_l[i]) / h
    t2, t3 = t * t, t * t * t
    out[mid] = ((2 * t3 - 3 * t2 + 1) * z[i] + (t3 - 2 * t2 + t) * h * dz[i]
                + (-2 * t3 + 3 * t2) * z[i + 1] + (t3 - t2) * h * dz[i + 1])
    # tails: log P(A² <= x) ~ -C/x below the knots, log P(A² > x) ~ -x/(2 λ1) above them
    out[lo] = z[0] * np.exp((big_l[0] - logx[lo]) / 2)
    out[hi] = z[-1] * np.exp((logx[hi] - big_l[-1]) / 2)
    out[np.isnan(logx)] = np.nan
    return out


def ad_null_pvalue(a2: Any, n: int) -> np.ndarray:
    r"""p-values ``P(A² >= a2)`` of Anderson–Darling statistics under normality at sample size ``n``.

    From the tabulated null of ``A²`` with the mean and variance estimated (the module notes give the
    construction): the asymptotic law is exact, the finite-``n`` part is fitted to seeded Monte-Carlo
    draws. Both tails are accurate, so the p-values are uniform on (0, 1) under the null, including
    near 1, which a combination such as the Cauchy one needs (``nortest``'s approximation puts 5–8
    times too few p-values above 0.999). ``n >= 8``.
    """
    z = ad_null_probit(a2, n)
    return np.asarray(_special().ndtr(-z), dtype=np.float64)


__all__ = ["MIN_TABLE_SAMPLES", "TABLE_FILE", "ad_null_probit", "ad_null_pvalue"]
