"""Random-projection normality: univariate tests of ``x u`` for seeded random unit directions ``u``.

If ``x`` is Gaussian, every projection ``x u`` is Gaussian; conversely (Cramér–Wold) a non-Gaussian
distribution has non-Gaussian projections. The spherical central limit theorem behind the paper's
claim is a statement about such projections, so they complement the per-coordinate tests, which only
look along the axes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._budget import check_budget
from .._pvalues import bonferroni_min, cauchy_statistic, cauchy_test
from .._random import random_directions, seed_of
from .._reference import Reference, rejected_fraction_reference
from .._results import Result, TestResult
from .._typing import ArrayLike, DTypeName, RNGLike
from .._validation import check_embeddings, check_nonconstant, check_positive_int, check_probability
from .coordinates import N_WORST, warn_small_sample
from .univariate import (
    ORDER_STATISTIC_POINTS,
    UnivariateTests,
    ad_null_pvalue,
    k2_pvalue,
    normal_plotting_positions,
    order_statistic_ranks,
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ProjectionNormalityResult(Result):
    """Normality tests of random one-dimensional projections, and their combination.

    Attributes
    ----------
    combined_test : TestResult
        The calibrated overall test: Cauchy combination of the Anderson–Darling p-values over
        directions. ``statistic`` is the Cauchy statistic ``T``, ``pvalue`` its standard-Cauchy upper
        tail, ``null_distribution`` ``"cauchy"``. Valid under the (strong) dependence between
        projections.
    bonferroni_pvalue : float
        ``min(1, n_projections · min p)`` over the AD p-values (a conservative alternative).
    rejected_fraction : float
        Fraction of directions with DP p-value ``< alpha`` (about ``alpha`` under the null).
    ad_mean : float
        Mean Anderson–Darling ``A²`` over directions (about 0.37 under the null).
    ad_statistics, ad_pvalues, dp_statistics, dp_pvalues : ndarray of shape (n_projections,)
        Per-direction statistics and p-values (as in :func:`coordinate_normality`; the AD p-values
        come from the null distribution of ``A²`` at this ``n``, uniform in both tails).
    n_projections : int
        Number of random directions.
    seed : int or None
        The integer ``rng`` when one was given (the directions are then reproducible); they are not
        stored.
    alpha : float
        Level of ``rejected_fraction``.
    n_samples, n_features : int
        Shape of the input.
    rejected_fraction_reference : Reference or None
        What an exact isotropic Gaussian sample of the same ``(n, d)`` gives for ``rejected_fraction``:
        the DP test's null rejection probability at this ``n`` and the central 95% band of the
        rejected count (:func:`gaussprobe._reference.rejected_fraction_reference`). None when
        ``n_projections > n_features``: the directions are then dependent and the band is wider.
    worst_directions : ndarray of int, shape (min(5, n_projections),) or None
        Indices (into the per-direction arrays) of the directions with the smallest AD p-values,
        worst first.
    qq_values : ndarray of shape (len(worst_directions), q) or None
        For each of ``worst_directions``: ``q = min(n_samples, 200)`` evenly spaced order statistics of
        the standardised projection (taken from the sorted column the tests use), for a QQ plot
        against ``qq_quantiles`` or a histogram.
    qq_quantiles : ndarray of shape (q,) or None
        Standard-normal quantiles at the same ranks (Blom's plotting positions).
    """

    combined_test: TestResult
    bonferroni_pvalue: float
    rejected_fraction: float
    ad_mean: float
    ad_statistics: np.ndarray
    ad_pvalues: np.ndarray
    dp_statistics: np.ndarray
    dp_pvalues: np.ndarray
    n_projections: int
    seed: int | None
    alpha: float
    n_samples: int
    n_features: int
    rejected_fraction_reference: Reference | None = None
    worst_directions: np.ndarray | None = None
    qq_values: np.ndarray | None = None
    qq_quantiles: np.ndarray | None = None

    def to_frame(self) -> Any:
        """One row per random direction (index ``direction``), as a :class:`pandas.DataFrame`.

        Columns: ``ad_statistic`` (A²), ``ad_pvalue``, ``dp_statistic`` (K²), ``dp_pvalue`` and
        ``dp_rejected`` (``dp_pvalue < alpha``, the flag behind ``rejected_fraction``). Needs pandas.
        """
        from .._notebook import data_frame

        return data_frame(type(self).__name__, "direction", {
            "ad_statistic": self.ad_statistics, "ad_pvalue": self.ad_pvalues,
            "dp_statistic": self.dp_statistics, "dp_pvalue": self.dp_pvalues,
            "dp_rejected": self.dp_pvalues < self.alpha})


def finish_projections(res: UnivariateTests, *, n: int, n_features: int, seed: int | None,
                       alpha: float) -> ProjectionNormalityResult:
    """:class:`ProjectionNormalityResult` from the column statistics of the projections ``x @ U`` (with
    their order statistics at :data:`~gaussprobe.stats.univariate.ORDER_STATISTIC_POINTS` points)."""
    check_nonconstant(res.value_range, name="x @ directions",
                      what="the projection normality tests (x is constant along these directions)")
    dp_p = k2_pvalue(res.k2)
    ad_p = ad_null_pvalue(res.ad_statistic, n)
    k = int(res.ad_statistic.shape[0])
    worst = np.argsort(ad_p, kind="stable")[: min(N_WORST, k)]
    assert res.order_statistics is not None
    return ProjectionNormalityResult(
        rejected_fraction_reference=(rejected_fraction_reference(n, k, alpha) if k <= int(n_features)
                                     else None),
        worst_directions=worst,
        qq_values=np.ascontiguousarray(res.order_statistics[worst]),
        qq_quantiles=normal_plotting_positions(n, order_statistic_ranks(n, ORDER_STATISTIC_POINTS)),
        combined_test=cauchy_test(ad_p),
        bonferroni_pvalue=bonferroni_min(ad_p),
        rejected_fraction=float(np.mean(dp_p < alpha)),
        ad_mean=float(np.mean(res.ad_statistic)),
        ad_statistics=res.ad_statistic,
        ad_pvalues=ad_p,
        dp_statistics=res.k2,
        dp_pvalues=dp_p,
        n_projections=int(res.ad_statistic.shape[0]),
        seed=seed,
        alpha=alpha,
        n_samples=n,
        n_features=int(n_features),
    )


def projection_normality(
    x: ArrayLike,
    /,
    *,
    n_projections: int = 256,
    rng: RNGLike = None,
    alpha: float = 0.05,
    dtype: DTypeName = "float64",
    block_size: int | None = None,
) -> ProjectionNormalityResult:
    r"""Normality tests of random one-dimensional projections, combined into one p-value.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like). ``n_samples >= 8``.
    n_projections : int
        Number of random unit directions (default 256).
    rng : int, numpy.random.Generator or None
        Seed or generator for the directions (drawn on the host, so every backend sees the same ones).
    alpha : float
        Level of ``rejected_fraction`` (default 0.05).
    dtype : {"float64", "float32"}
        Compute precision.
    block_size : int, optional
        Projections tested together (as ``block_size`` of :func:`coordinate_normality`). Results do
        not depend on it.

    Returns
    -------
    ProjectionNormalityResult
        Per-direction statistics and p-values, the rejected fraction and the combined test.

    Raises
    ------
    ValueError
        If ``n_samples < 8`` or ``x`` is constant along some direction.

    Warns
    -----
    SmallSampleWarning
        If ``n_samples < 20``.

    Notes
    -----
    Directions :math:`u_1, \dots, u_k` are each uniform on the unit sphere and orthonormal when
    :math:`k \le d` (a Haar-random frame from ``numpy.random.default_rng(rng)``; independent frames of
    :math:`d` columns when :math:`k > d`), so the projections of an isotropic Gaussian sample are
    independent. The projections
    :math:`x u_j` are computed in row blocks (an ``(n_samples, n_projections)`` array is kept); each
    is tested exactly as a coordinate in :func:`coordinate_normality` (the tests standardise
    internally, so the projections need no centring or scaling): Anderson–Darling :math:`A^2`, with
    its p-value :math:`p_j` from the null distribution of :math:`A^2` at this :math:`n`
    (:func:`~gaussprobe.stats.univariate.ad_null_pvalue`), and D'Agostino–Pearson :math:`K^2` with
    its χ²(2) p-value.

    For other inputs the per-direction p-values are dependent, so they are combined with the Cauchy
    combination test, which stays valid under arbitrary dependence:

    .. math:: T = \frac1k \sum_{j=1}^k \tan\left((\tfrac12 - p_j)\pi\right), \qquad
              p = \tfrac12 - \frac{\arctan T}{\pi},

    the standard-Cauchy upper tail of :math:`T` (Liu & Xie 2020). The Bonferroni bound
    :math:`\min(1, k \min_j p_j)` is given as a conservative alternative.

    With independent, exactly uniform p-values :math:`T` is exactly standard Cauchy (a mean of
    i.i.d. standard Cauchy variables is standard Cauchy), so for an isotropic Gaussian with
    :math:`k \le d` the level is exact up to the accuracy of the :math:`p_j`; with :math:`k > d` the
    frames are independent and the projections of different frames nearly so.

    Which p-values are combined matters, because the combination is driven by both tails of the
    per-direction p-values: a :math:`p_j` near 0 gives a large positive term and one near 1 a large
    negative term, and a deficit in either tail shifts :math:`T` by up to :math:`\log(k) / \pi`. The
    χ²(2) tail of :math:`K^2` is too light at moderate n (``P(p_DP < 1e-3)`` is about 0.0035 at n =
    200): combined over 256 directions at (2000, 256) it rejected 17% at level 0.05, so no DP
    combination is offered. D'Agostino & Stephens' approximation of the AD p-value (R
    ``nortest::ad.test``) is accurate near 0 but gives 6e-5 instead of 1e-3 above 0.999; combined,
    it rejected 7.8% at (74, 64) and 8.6% at (640, 64) and had a median of 0.3. The AD p-values used
    here come from the null distribution of :math:`A^2` at each :math:`n` and are uniform in both
    tails (the measured levels are in the documentation's calibration page). Every projection of a
    Gaussian is Gaussian, so a non-isotropic Gaussian is accepted too.

    References
    ----------
    .. [1] H. Cramér and H. Wold, "Some theorems on distribution functions", J. London Math. Soc.
       11(4), 290-294, 1936.
    .. [2] Y. Liu and J. Xie, "Cauchy combination test: a powerful test with analytic p-value
       calculation under arbitrary dependency structures", JASA 115(529), 393-402, 2020.
    .. [3] R. B. D'Agostino and E. S. Pearson, "Tests for departure from normality", Biometrika
       60(3), 613-622, 1973.
    .. [4] M. A. Stephens, "Asymptotic results for goodness-of-fit statistics with unknown
       parameters", Ann. Statist. 4(2), 357-369, 1976.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.projections import projection_normality
    >>> rng = np.random.default_rng(0)
    >>> gaussian = projection_normality(rng.standard_normal((2000, 16)), n_projections=64, rng=0)
    >>> laplace = projection_normality(rng.laplace(size=(2000, 16)), n_projections=64, rng=0)
    >>> print(f"{gaussian.combined_test.pvalue:.2f} {laplace.combined_test.pvalue:.1e}")
    0.90 1.1e-05
    """
    emb = check_embeddings(x, dtype=dtype)
    k = check_positive_int(n_projections, "n_projections")
    alpha = check_probability(alpha, "alpha")
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="projection_normality",
                 n_projections=k, block_size=block_size, columns=True, itemsize=emb.float_itemsize)
    from .._engine import executor_for

    directions = random_directions(emb.n_features, k, rng)
    warn_small_sample(emb.n_samples)
    res = executor_for(emb).projection_tests(emb, directions, block_size=block_size,
                                             order_points=ORDER_STATISTIC_POINTS)
    return finish_projections(res, n=emb.n_samples, n_features=emb.n_features, seed=seed_of(rng),
                              alpha=alpha)


__all__ = [
    "ProjectionNormalityResult",
    "cauchy_statistic",
    "finish_projections",
    "projection_normality",
]
