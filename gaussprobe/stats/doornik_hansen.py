"""The Doornik–Hansen omnibus test of multivariate normality (Doornik & Hansen 2008).

The data are centred by their column means, scaled to unit variance and decorrelated with the
symmetric (ZCA) inverse square root of the correlation matrix; every transformed coordinate then
gets D'Agostino's skewness z and a Wilson–Hilferty kurtosis z, and the squares are summed.

R's MVN (5.0 to 6.1) centres the data wrongly (it recycles the vector of column means down the
columns), so its ``doornik_hansen()`` output on uncentred data is not this statistic. gaussprobe
centres each column by its own mean; MVN agrees with it only on column-centred input.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._backend import block_rows_for, to_numpy
from .._budget import check_budget
from .._pvalues import chi2_sf
from .._results import Result
from .._typing import ArrayLike, DTypeName
from .._validation import Embeddings, check_embeddings, check_nonconstant
from ._moments import CovarianceState, covariance_state, require_full_rank, spectrum, whitener

#: D'Agostino's skewness transform needs n >= 8 (as in scipy.stats.skewtest).
MIN_SAMPLES = 8


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class DoornikHansenResult(Result):
    """The Doornik–Hansen omnibus test.

    Attributes
    ----------
    statistic : float
        ``E = Σ z1² + Σ z2²``, approximately chi-squared with ``df`` degrees of freedom.
    pvalue : float
        Upper-tail chi-squared p-value of ``statistic``.
    df : int
        ``2 * n_features``.
    z1 : ndarray of shape (n_features,)
        Per transformed coordinate, D'Agostino's skewness z (signed).
    z2 : ndarray of shape (n_features,)
        Per transformed coordinate, the Wilson–Hilferty kurtosis z (positive for heavy tails).
    skewness : ndarray of shape (n_features,)
        Per transformed coordinate, ``√b1 = m3 / m2^1.5``.
    kurtosis : ndarray of shape (n_features,)
        Per transformed coordinate, ``b2 = m4 / m2²`` (not excess: 3 for a normal sample).
    n_samples, n_features : int
        Shape of the input.
    """

    statistic: float
    pvalue: float
    df: int
    z1: np.ndarray
    z2: np.ndarray
    skewness: np.ndarray
    kurtosis: np.ndarray
    n_samples: int
    n_features: int


def doornik_hansen(
    x: ArrayLike, /, *, block_size: int | None = None, dtype: DTypeName = "float64"
) -> DoornikHansenResult:
    r"""Doornik–Hansen omnibus test of multivariate normality.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Samples, one per row, with ``n_samples > n_features`` and ``n_samples >= 8``. NumPy arrays and
        torch tensors (CPU or CUDA) are accepted; the work runs on the input's device.
    block_size : int, optional
        Rows per block in the passes over the data (bounds the extra memory); chosen from an 8 MiB
        budget by default.
    dtype : {"float64", "float32"}
        Compute precision of the device part. The z transforms always run in float64 on the host.

    Returns
    -------
    DoornikHansenResult
        ``statistic``, ``pvalue``, ``df = 2 p`` and the per-coordinate ``z1``, ``z2``,
        ``skewness`` and ``kurtosis``.

    Raises
    ------
    ValueError
        For ``n_samples <= n_features``, fewer than 8 samples, a constant column, or a singular
        covariance (the message says how to reduce the dimension first).

    Notes
    -----
    With :math:`V = \operatorname{diag}(S)^{-1/2}` and the correlation matrix
    :math:`C = V S V = H \Lambda H^\top`, the rows are transformed to
    :math:`y_i = H \Lambda^{-1/2} H^\top V (x_i - \bar x)`. For every coordinate of :math:`y`,
    with the :math:`1/n` central moments, :math:`\sqrt{b_1} = m_3 / m_2^{3/2}` and
    :math:`b_2 = m_4 / m_2^2`. :math:`z_1` is D'Agostino's transform of :math:`\sqrt{b_1}` and
    :math:`z_2` the Wilson–Hilferty cube root of Shenton and Bowman's gamma approximation,

    .. math::

        \chi = 2k(b_2 - 1 - b_1), \quad \alpha = a + c\,b_1, \quad
        z_2 = \left[\left(\frac{\chi}{2\alpha}\right)^{1/3} - 1 + \frac{1}{9\alpha}\right]\sqrt{9\alpha},

    with :math:`a, c, k` rational functions of :math:`n` [1]_. Then
    :math:`E = \sum_j z_{1j}^2 + z_{2j}^2 \sim \chi^2_{2p}`.

    The symmetric inverse root matters: per-coordinate moments are not rotation invariant, so a
    Cholesky or PCA whitening would give another statistic. E is invariant to shifting, rescaling
    (either sign) and permuting the columns, but not to general affine maps. The covariance divisor
    (``n`` or ``n - 1``) cancels.

    References
    ----------
    .. [1] J. A. Doornik, H. Hansen, "An omnibus test for univariate and multivariate normality",
       Oxford Bulletin of Economics and Statistics 70(s1), 927-939, 2008.
    .. [2] R. B. D'Agostino, "Transformation to normality of the null distribution of g1",
       Biometrika 57(3), 679-681, 1970.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.doornik_hansen import doornik_hansen
    >>> x = np.random.default_rng(0).standard_normal((500, 4))
    >>> res = doornik_hansen(x)
    >>> print(f"E = {res.statistic:.2f} on {res.df} df, p = {res.pvalue:.2f}")
    E = 6.92 on 8 df, p = 0.55
    """
    emb = check_embeddings(x, dtype=dtype, min_samples=MIN_SAMPLES)
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="doornik_hansen",
                 block_size=block_size)
    from .._engine import executor_for

    ex = executor_for(emb, block_size=block_size)
    require_more_samples_than_features(emb.n_samples, emb.n_features, _WHAT)
    (state,) = ex.row_pass(emb, [power_sums_state(emb, covariance_state(emb, block_size=block_size))],
                           block_size=block_size or block_rows_for(emb.n_features))
    return finish_doornik_hansen(state.result(), n=emb.n_samples, d=emb.n_features)


_WHAT = "The Doornik-Hansen test"


def power_sums_state(emb: Embeddings, moments: CovarianceState) -> Any:
    """The row state of the power sums of ``y = (x - mean) @ transform`` (the correlation-whitened rows),
    from the moments of a first pass; raises where the test is undefined (constant columns, singular
    correlation)."""
    from .._engine._states import PowerSums

    n, d = emb.n_samples, emb.n_features
    xp = emb.xp
    require_more_samples_than_features(n, d, _WHAT)
    cov = moments.covariance(ddof=1)
    variances = xp.linalg.diagonal(cov)
    check_nonconstant(to_numpy(variances), what=_WHAT)
    inv_sd = 1.0 / xp.sqrt(variances)
    corr = cov * inv_sd[:, None] * inv_sd[None, :]
    spec = spectrum(corr, xp)
    require_full_rank(spec, n=n, d=d, what=_WHAT)
    transform = inv_sd[:, None] * whitener(spec, xp, symmetric=True)  # y_row = (x - mean) @ transform
    if emb.is_numpy or emb.is_lazy:
        return PowerSums(mean=np.asarray(to_numpy(moments.mean), dtype=emb.float),
                         transform=np.asarray(to_numpy(transform), dtype=emb.float))
    return PowerSums(mean=moments.mean, transform=transform)


def finish_doornik_hansen(sums: np.ndarray, *, n: int, d: int) -> DoornikHansenResult:
    """:class:`DoornikHansenResult` from the column power sums ``Σ y², Σ y³, Σ y⁴`` of a row pass."""
    m2, m3, m4 = sums / n
    sqrt_b1 = m3 / m2**1.5
    b2 = m4 / (m2 * m2)
    z1 = dagostino_skewness_z(sqrt_b1, n)
    z2 = wilson_hilferty_kurtosis_z(sqrt_b1 * sqrt_b1, b2, n)
    stat = float(np.sum(z1 * z1) + np.sum(z2 * z2))
    return DoornikHansenResult(
        statistic=stat, pvalue=float(chi2_sf(stat, 2 * d)), df=2 * d, z1=z1, z2=z2,
        skewness=sqrt_b1, kurtosis=b2, n_samples=n, n_features=d,
    )


def dagostino_skewness_z(sqrt_b1: Any, n: int) -> np.ndarray:
    """D'Agostino's (1970) normal score of the signed sample skewness ``√b1`` (host, float64).

    Unlike ``scipy.stats.skewtest``, an exactly symmetric sample (``√b1 = 0``) gets ``z = 0``.
    """
    g = np.asarray(sqrt_b1, dtype=np.float64)
    beta2 = 3.0 * (n * n + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2) * (n + 5) * (n + 7) * (n + 9))
    omega2 = -1.0 + np.sqrt(2.0 * (beta2 - 1.0))
    delta = 1.0 / np.sqrt(0.5 * np.log(omega2))
    y = g * np.sqrt((omega2 - 1.0) * (n + 1) * (n + 3) / (12.0 * (n - 2)))
    return np.asarray(delta * np.arcsinh(y), dtype=np.float64)


def wilson_hilferty_kurtosis_z(b1: Any, b2: Any, n: int) -> np.ndarray:
    """Doornik & Hansen's kurtosis score: Shenton–Bowman gamma, then a Wilson–Hilferty cube root."""
    b1 = np.asarray(b1, dtype=np.float64)
    b2 = np.asarray(b2, dtype=np.float64)
    nf = float(n)
    delta = (nf - 3) * (nf + 1) * (nf * nf + 15 * nf - 4)
    a = (nf - 2) * (nf + 5) * (nf + 7) * (nf * nf + 27 * nf - 70) / (6 * delta)
    c = (nf - 7) * (nf + 5) * (nf + 7) * (nf * nf + 2 * nf - 5) / (6 * delta)
    k = (nf + 5) * (nf + 7) * (nf**3 + 37 * nf * nf + 11 * nf - 313) / (12 * delta)
    alpha = a + c * b1
    chi = 2 * k * (b2 - 1 - b1)  # >= 0 by Pearson's inequality; the signed cube root absorbs rounding
    return np.asarray((np.cbrt(chi / (2 * alpha)) - 1 + 1 / (9 * alpha)) * np.sqrt(9 * alpha),
                      dtype=np.float64)


def require_more_samples_than_features(n: int, d: int, what: str) -> None:
    """Raise the standard n <= d error before any covariance is formed."""
    if n <= d:
        require_full_rank(None, n=n, d=d, what=what)


__all__ = [
    "MIN_SAMPLES",
    "DoornikHansenResult",
    "dagostino_skewness_z",
    "doornik_hansen",
    "wilson_hilferty_kurtosis_z",
]
