"""The least Gaussian direction: principal directions and projection pursuit.

A sample can be Gaussian in every direction but one (an encoder starting to form clusters, one feature
gone wrong). Averages over coordinates or over random projections dilute that one direction among
``d``; the two tests here look for it.

* :func:`principal_direction_test` tests the projections onto the top and bottom principal directions
  of the sample covariance. The directions are estimated on one half of the rows and tested on the
  other half (and the halves swapped), so each projection is a fixed linear functional of independent
  Gaussian rows under the null: the univariate p-values are exact for every Gaussian, whatever its
  covariance.
* :func:`least_gaussian_direction` searches the whitened data for the direction that maximises a
  non-Gaussianity contrast (FastICA fixed-point iterations, Hyvärinen 1999) and calibrates the best
  contrast found against the same search on standard-normal samples of the same ``(n, d)``; the search
  is affine invariant, so that null is exact for every Gaussian.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import zlib
from typing import Any, Literal

import numpy as np

from .._backend import to_numpy
from .._budget import check_budget
from .._kernels.gram import single_threaded_blas
from .._pvalues import bonferroni_min, cauchy_test
from .._random import as_generator
from .._results import Result, TestResult
from .._typing import ArrayLike, DTypeName, RNGLike
from .._validation import (
    Embeddings,
    check_choice,
    check_embeddings,
    check_nonconstant,
    check_positive_int,
    check_probability,
)
from . import _null
from ._moments import spectrum
from ._whiten import whiten
from .coordinates import warn_small_sample
from .univariate import (
    ORDER_STATISTIC_POINTS,
    ad_null_pvalue,
    k2_pvalue,
    normal_plotting_positions,
    order_statistic_ranks,
    univariate_tests,
)

Contrast = Literal["auto", "kurtosis", "skewness", "logcosh"]

#: Most principal directions tested at each end of the spectrum by default (per half of the sample).
MAX_DIRECTIONS_PER_END = 8
#: Values kept per direction for a QQ plot (evenly spaced order statistics of the held-out projection).
QQ_POINTS = 1000
#: Top directions whose held-out projections are kept for a QQ plot.
QQ_DIRECTIONS = 4
#: Smallest sample of :func:`principal_direction_test`: each half needs 20 rows for the kurtosis z.
MIN_SPLIT_SAMPLES = 40
#: The contrasts of the projection pursuit, in the order of ``contrast_statistics``.
CONTRASTS = ("kurtosis", "skewness", "logcosh")
#: Default restarts and iterations of the pursuit.
DEFAULT_RESTARTS = 6
DEFAULT_MAX_ITER = 30
DEFAULT_TOL = 1e-6
#: The pursuit is informative where the search, run on Gaussian noise of the same ``(n, d)``, finds
#: (95% quantile) less |excess kurtosis| than a uniform direction has (1.2) or less |skewness| than a
#: chi2(8) direction has (1.0): such a direction then stands out of what the search finds in noise.
INFORMATIVE_MAX_NULL_KURTOSIS = 1.2
INFORMATIVE_MAX_NULL_SKEWNESS = 1.0
#: Without a simulated null: the 95% null quantile of the skewness found is about 4.3 sqrt(d / n)
#: (measured from (500, 8) to (20000, 64)), below 1.0 from n = 20 d on.
INFORMATIVE_MIN_SAMPLES_PER_FEATURE = 20


# ------------------------------------------------------------------------------------------ results
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class DirectionStatistics(Result):
    """Univariate normality statistics of the projection onto one direction.

    Attributes
    ----------
    direction : ndarray of shape (n_features,)
        The unit projection vector in the input's coordinates (the projection is ``x @ direction``).
    end : str
        ``"top"`` or ``"bottom"`` (a principal direction) or the pursuit's contrast.
    rank : int
        Position at its end of the spectrum (1 = the largest or the smallest eigenvalue); 1 for the
        pursuit.
    fold : int
        For principal directions, the half of the rows the direction was estimated on (0 or 1); the
        statistics are those of the other half. -1 for the pursuit (all rows).
    eigenvalue : float
        Variance of the projection in the sample the direction was estimated on (the covariance
        eigenvalue, in the units of the input).
    ad_statistic, ad_pvalue : float
        Anderson–Darling ``A²`` of the tested projection and its p-value (for principal directions
        exact under any Gaussian null; for the pursuit not valid, as the direction was chosen on the
        same rows: use ``least_gaussian_direction(...).test``).
    dp_statistic, dp_pvalue : float
        D'Agostino–Pearson ``K²`` and its χ²(2) p-value (same caveat).
    skewness, excess_kurtosis : float
        Sample skewness ``g1`` and excess kurtosis ``g2`` of the tested projection.
    """

    direction: np.ndarray
    end: str
    rank: int
    fold: int
    eigenvalue: float
    ad_statistic: float
    ad_pvalue: float
    dp_statistic: float
    dp_pvalue: float
    skewness: float
    excess_kurtosis: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PrincipalDirectionResult(Result):
    """Normality tests of the projections onto the extreme principal directions (split sample).

    Attributes
    ----------
    combined_test : TestResult
        Cauchy combination of the AD p-values of every tested direction of both halves
        (``calibration="sample splitting"``): exact per direction under any Gaussian, and the
        combination is valid under their dependence (Liu & Xie 2020).
    bonferroni_pvalue : float
        ``min(1, m · min p)`` over the same ``m`` AD p-values (conservative alternative).
    worst : DirectionStatistics
        The tested direction with the smallest AD p-value, with its statistics and eigenvalue.
    ends : tuple of str
        ``"top"`` or ``"bottom"`` for each tested direction (length ``m``).
    ranks, folds : ndarray of int, shape (m,)
        Rank at its end and estimating half of each tested direction.
    direction_eigenvalues : ndarray of shape (m,)
        Eigenvalue of each tested direction in its estimating half.
    ad_statistics, ad_pvalues, dp_statistics, dp_pvalues, skewness, excess_kurtosis : ndarray (m,)
        Statistics of each tested (held-out) projection.
    rejected_fraction : float
        Fraction of tested directions with AD p-value ``< alpha``.
    k_top, k_bottom : int
        Directions tested at each end of the spectrum in the first half (the second half chooses its
        own with the same rule).
    k_rule : str
        ``"marchenko-pastur"`` (eigenvalues outside the bulk, at least 1 and at most
        :data:`MAX_DIRECTIONS_PER_END` per end) or ``"given"``.
    eigenvalues : ndarray of shape (n_features,)
        Eigenvalues of the full-sample covariance (divisor ``n - 1``), descending, in input units.
    noise_variance : float
        Robust bulk variance ``σ²``: the median nonzero eigenvalue over the Marchenko–Pastur median.
    mp_lower_edge, mp_upper_edge : float
        ``σ² (1 ∓ sqrt(d / (n - 1)))²`` at the full sample's ``(n, d)``.
    n_above_edge, n_below_edge : int
        Full-sample eigenvalues above and below the bulk (spikes a PCA can see).
    qq_values : ndarray of shape (q, p)
        For the ``q <= 4`` top directions of the first half: ``p <= 1000`` evenly spaced order
        statistics of the standardised held-out projection (for a QQ plot against ``qq_quantiles``).
    qq_quantiles : ndarray of shape (p,)
        Standard-normal quantiles at the same plotting positions, ``Φ⁻¹((i - 3/8) / (n_B + 1/4))``.
    alpha : float
        Level of ``rejected_fraction``.
    n_samples, n_features : int
        Shape of the input.
    """

    combined_test: TestResult
    bonferroni_pvalue: float
    worst: DirectionStatistics
    ends: tuple[str, ...]
    ranks: np.ndarray
    folds: np.ndarray
    direction_eigenvalues: np.ndarray
    ad_statistics: np.ndarray
    ad_pvalues: np.ndarray
    dp_statistics: np.ndarray
    dp_pvalues: np.ndarray
    skewness: np.ndarray
    excess_kurtosis: np.ndarray
    rejected_fraction: float
    k_top: int
    k_bottom: int
    k_rule: str
    eigenvalues: np.ndarray
    noise_variance: float
    mp_lower_edge: float
    mp_upper_edge: float
    n_above_edge: int
    n_below_edge: int
    qq_values: np.ndarray
    qq_quantiles: np.ndarray
    alpha: float
    n_samples: int
    n_features: int

    def to_frame(self) -> Any:
        """One row per tested direction (index ``direction``), as a :class:`pandas.DataFrame`.

        Columns: ``end`` (``"top"``/``"bottom"``), ``rank``, ``fold`` (the estimating half),
        ``eigenvalue`` (in that half), ``ad_statistic`` (A²), ``ad_pvalue``, ``dp_statistic`` (K²),
        ``dp_pvalue``, ``skewness``, ``excess_kurtosis`` and ``ad_rejected`` (``ad_pvalue < alpha``, the
        flag behind ``rejected_fraction``). Needs pandas.
        """
        from .._notebook import data_frame

        return data_frame(type(self).__name__, "direction", {
            "end": list(self.ends), "rank": self.ranks, "fold": self.folds,
            "eigenvalue": self.direction_eigenvalues,
            "ad_statistic": self.ad_statistics, "ad_pvalue": self.ad_pvalues,
            "dp_statistic": self.dp_statistics, "dp_pvalue": self.dp_pvalues,
            "skewness": self.skewness, "excess_kurtosis": self.excess_kurtosis,
            "ad_rejected": self.ad_pvalues < self.alpha})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class LeastGaussianDirectionResult(Result):
    """The least Gaussian direction found by projection pursuit, and how surprising it is.

    Attributes
    ----------
    test : TestResult
        ``statistic``: the best contrast found (for ``contrast="auto"``, the largest robustly
        standardised log-contrast over the three contrasts); ``pvalue``: its Monte-Carlo upper tail
        against the same search on ``n_null`` standard-normal samples of the same ``(n, d)``
        (``calibration="monte-carlo"``, exact for every Gaussian by affine invariance), or NaN with
        ``calibration="not calibrated"`` and the reason in ``note`` when that null does not fit
        ``null_budget``. Its smallest value is ``1 / (n_null + 1)``.
    best : DirectionStatistics
        The direction (unit, input coordinates) and the univariate statistics of ``x @ direction``.
        Its ``ad_pvalue``/``dp_pvalue`` ignore the search and are not valid p-values.
    whitened_direction : ndarray of shape (n_features,)
        The same direction as a unit vector ``w`` of the whitened data ``z = (x - mean) W``.
    contrast : str
        The contrast asked for (``"auto"`` runs all three).
    best_contrast : str
        The contrast whose search gave ``best``.
    contrast_statistics : ndarray of shape (c,)
        Best value of each contrast run (``(E y⁴ - 3)²``, ``(E y³)²``, ``(E log cosh y - γ)²``).
    contrast_pvalues : ndarray of shape (c,)
        Monte-Carlo p-value of each contrast on its own (NaN when not calibrated).
    informative : bool
        False where the search finds large departures in Gaussian noise itself (its 95% null quantile
        of ``|excess kurtosis|`` at least 1.2, a uniform's, and of ``|skewness|`` at least 1.0, a
        chi2(8)'s):
        only departures beyond ``null_kurtosis_q95`` / ``null_skewness_q95`` can be seen. Without a
        simulated null: ``n_samples >= 20 n_features``. ``note`` then says so.
    null_kurtosis_q95, null_skewness_q95 : float
        95% quantiles of ``|excess kurtosis|`` and ``|skewness|`` that the search finds in
        standard-normal samples of this ``(n, d)`` (NaN when the null was not simulated).
    n_restarts, max_iter : int
        Restarts per contrast and most fixed-point iterations per restart.
    n_iter : int
        Iterations the observed search ran (at most ``max_iter``).
    n_null : int
        Monte-Carlo draws of the null (0 when not simulated).
    n_samples, n_features : int
        Shape of the input.
    qq_values : ndarray of shape (q,) or None
        ``q = min(n_samples, 200)`` evenly spaced order statistics of the standardised projection
        ``x @ direction`` (mean 0, ``ddof=1`` standard deviation): the points of its normal QQ plot
        against ``qq_quantiles``, or its histogram.
    qq_quantiles : ndarray of shape (q,) or None
        Standard-normal quantiles at the same ranks (Blom's plotting positions).
    """

    test: TestResult
    best: DirectionStatistics
    whitened_direction: np.ndarray
    contrast: str
    best_contrast: str
    contrast_statistics: np.ndarray
    contrast_pvalues: np.ndarray
    informative: bool
    null_kurtosis_q95: float
    null_skewness_q95: float
    n_restarts: int
    max_iter: int
    n_iter: int
    n_null: int
    n_samples: int
    n_features: int
    qq_values: np.ndarray | None = None
    qq_quantiles: np.ndarray | None = None


# ------------------------------------------------------------------------------ Marchenko–Pastur
@functools.lru_cache(maxsize=256)
def marchenko_pastur_median(gamma: float) -> float:
    """Median of the Marchenko–Pastur law (σ² = 1) of ratio ``gamma = d / (n - 1)``, restricted to
    its nonzero part when ``gamma > 1`` (whose support is the same ``[(1-√γ)², (1+√γ)²]``).

    The density ``∝ sqrt((b - x)(x - a)) / x`` becomes ``∝ sin²θ / x(θ)`` under
    ``x = a + (b - a)(1 - cos θ)/2``, smooth on ``[0, π]``, so a trapezoid rule is accurate to ~1e-9.
    """
    g = float(gamma)
    a, b = (1.0 - math.sqrt(g)) ** 2, (1.0 + math.sqrt(g)) ** 2
    theta = np.linspace(0.0, math.pi, 8193)
    s2, c2 = np.sin(theta / 2.0) ** 2, np.cos(theta / 2.0) ** 2
    xs = a + (b - a) * s2
    # sin²θ / x = 4 s² c² / (a + (b - a) s²), written so that a = 0 (gamma = 1) has no 0/0
    f = 4.0 * c2 / (b - a) if a == 0.0 else 4.0 * s2 * c2 / xs
    cdf = np.concatenate([[0.0], np.cumsum((f[1:] + f[:-1]) / 2.0)])
    cdf /= cdf[-1]
    return float(np.interp(0.5, cdf, xs))


def marchenko_pastur_bulk(eigenvalues: np.ndarray, n: int, d: int) -> tuple[float, float, float]:
    """``(σ², lower edge, upper edge)`` of the bulk for covariance eigenvalues at ``(n, d)`` (divisor
    ``n - 1``): σ² from the median of the ``min(d, n - 1)`` largest eigenvalues matched to the MP
    median, edges ``σ² (1 ∓ sqrt(d / (n - 1)))²``."""
    gamma = d / (n - 1)
    r = min(d, n - 1)
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1][:r]
    sigma2 = float(np.median(lam)) / marchenko_pastur_median(gamma)
    return sigma2, sigma2 * (1.0 - math.sqrt(gamma)) ** 2, sigma2 * (1.0 + math.sqrt(gamma)) ** 2


def choose_k(eigenvalues: np.ndarray, n: int, d: int, cap: int = MAX_DIRECTIONS_PER_END) -> tuple[int, int]:
    """Directions per end: eigenvalues outside the MP bulk, at least 1 and at most ``cap`` per end,
    among the ``min(d, n - 1)`` nonzero ones (``k_top + k_bottom`` never exceeds that)."""
    r = min(d, n - 1)
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1][:r]
    _, lo, hi = marchenko_pastur_bulk(lam, n, d)
    k_top = min(cap, max(1, int(np.count_nonzero(lam > hi))))
    k_bottom = min(cap, max(1, int(np.count_nonzero(lam < lo))))
    k_top = min(k_top, r)
    k_bottom = max(0, min(k_bottom, r - k_top))
    return k_top, k_bottom


# ----------------------------------------------------------------------- principal direction test
def _fold_labels(n: int, d: int, rng: RNGLike) -> np.ndarray:
    """``True`` for the rows of half 0: a seeded uniformly random half (``floor(n / 2)`` rows)."""
    gen = (np.random.default_rng(_null.null_seed("principal_direction_test.split", n, d))
           if rng is None else as_generator(rng))
    labels = np.zeros(n, dtype=bool)
    labels[gen.permutation(n)[: n // 2]] = True
    return labels


def fold_moments_state(emb: Embeddings, labels: np.ndarray) -> Any:
    """The row state of the mean and covariance of each half (and so of all rows) in one pass."""
    from .._engine._states import FoldMoments, spread_shift

    return FoldMoments(labels=labels, shift=spread_shift(emb))


@dataclasses.dataclass
class FoldProjections:
    """Row state: for each half ``f``, the rows of the *other* half centred by ``means[f]`` and
    projected onto ``dirs[f]`` (float64), kept with their first row index and put in row order by
    :meth:`result` (a few columns per row)."""

    labels: np.ndarray
    means: list[Any]
    dirs: list[np.ndarray]
    pieces: list[tuple[int, np.ndarray, np.ndarray]] = dataclasses.field(default_factory=list)
    _u: list[Any] | None = None

    def fresh(self) -> FoldProjections:
        return FoldProjections(labels=self.labels, means=self.means, dirs=self.dirs)

    def flop(self, n: int, d: int) -> float:
        return 2.0 * n * d * sum(int(u.shape[1]) for u in self.dirs)

    def update(self, block: Any) -> FoldProjections:
        if block.n_rows == 0:
            return self
        xp = block.xp
        if self._u is None:
            dev = None if block.is_numpy else block.emb.device
            self._u = [xp.asarray(u, dtype=xp.float64, device=dev) for u in self.dirs]
        rows = block.f64
        lab = self.labels[block.start:block.stop]
        out = []
        for f, mask in ((0, ~lab), (1, lab)):  # fold f's directions are tested on the other half
            idx = np.flatnonzero(mask)
            if idx.size:
                sel = rows[idx] if block.is_numpy else xp.take(rows, xp.asarray(idx, device=block.emb.device),
                                                                 axis=0)
                out.append(np.asarray(to_numpy((sel - self.means[f]) @ self._u[f]), dtype=np.float64))
            else:
                out.append(np.empty((0, int(self.dirs[f].shape[1]))))
        self.pieces.append((block.start, out[0], out[1]))
        return self

    def merge(self, other: FoldProjections) -> FoldProjections:
        self.pieces.extend(other.pieces)
        return self

    def result(self) -> list[np.ndarray]:
        self.pieces.sort(key=lambda p: p[0])
        return [np.concatenate([p[1 + f] for p in self.pieces]) if self.pieces
                else np.empty((0, int(self.dirs[f].shape[1]))) for f in range(2)]


def whitened_state(wh: Any) -> Any:
    """The row state collecting ``z = (x - mean) @ W`` (the eigen-whitening of ``wh``), float64 on the
    host, where the search runs."""
    from .._engine._states import Transformed

    return Transformed(mean=wh.mean, transform=wh.transform)


def whitened_on_host(wh: Any) -> np.ndarray:
    """``z = (x - mean) @ W`` of every row, float64 on the host (one row pass)."""
    from .._engine import executor_for

    (state,) = executor_for(wh.emb).row_pass(wh.emb, [whitened_state(wh)])
    out: np.ndarray = state.result()
    return out


def _column_tests(y: np.ndarray) -> Any:
    """Univariate tests of the columns of a host float64 array."""
    n, m = y.shape
    return univariate_tests(np, lambda a, b: y[:, a:b], m, n, dtype=np.float64, block_size=max(1, m))


def _qq(y: np.ndarray, points: int = QQ_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced order statistics of the standardised columns of ``y`` and their normal
    quantiles (Blom's plotting positions), at most ``points`` per column."""
    from scipy import special

    n = y.shape[0]
    idx = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(np.intp))
    z = (y - y.mean(axis=0)) / y.std(axis=0, ddof=1)
    srt = np.sort(z, axis=0)[idx].T
    return np.ascontiguousarray(srt), special.ndtri((idx + 1 - 0.375) / (n + 0.25))


def principal_direction_test(
    x: ArrayLike,
    /,
    *,
    k: int | None = None,
    alpha: float = 0.05,
    rng: RNGLike = None,
    dtype: DTypeName = "float64",
) -> PrincipalDirectionResult:
    r"""Normality tests of the projections onto the top and bottom principal directions.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like). ``n_samples >= 40``.
    k : int, optional
        Principal directions tested at each end of the spectrum. Default: the eigenvalues outside the
        Marchenko–Pastur bulk of the half sample's own ``(n, d)``, at least 1 and at most
        :data:`MAX_DIRECTIONS_PER_END` (8) per end.
    alpha : float
        Level of ``rejected_fraction`` (default 0.05).
    rng : int, numpy.random.Generator or None
        Seed of the random split into halves. ``None`` uses a fixed seed derived from ``(n, d)``, so
        the same data always give the same result.
    dtype : {"float64", "float32"}
        Accepted for symmetry with the other tests; the covariance and the projections are always
        accumulated in float64.

    Returns
    -------
    PrincipalDirectionResult

    Raises
    ------
    ValueError
        If ``n_samples < 40``, ``k`` is larger than a half sample allows, or a projection is constant.

    Notes
    -----
    The rows are split at random into halves :math:`A` and :math:`B`. On :math:`A` the covariance
    :math:`S_A = V \Lambda V^\top` (divisor :math:`n_A - 1`) gives the directions :math:`v_1, \dots,
    v_{k_{top}}` of the largest and :math:`v_{r}, \dots` of the smallest nonzero eigenvalues
    (:math:`r = \min(d, n_A - 1)`); the centred rows of :math:`B` are projected onto them and each
    projection gets the univariate tests of :func:`coordinate_normality` (Anderson–Darling
    :math:`A^2` with its p-value from the null distribution of :math:`A^2` at the half's size,
    :func:`~gaussprobe.stats.univariate.ad_null_pvalue`; D'Agostino–Pearson :math:`K^2`, skewness,
    excess kurtosis). Then the roles of the halves are swapped. Under any Gaussian
    :math:`N(\mu, \Sigma)` the rows of :math:`B` are independent of :math:`v_j`, so
    :math:`x_i^\top v_j` (:math:`i \in B`) is an i.i.d. Gaussian sample and each AD p-value is
    uniform (up to the table's accuracy). The ``m`` AD p-values of both halves are combined with the
    Cauchy combination test (Liu & Xie 2020), valid under their dependence and, in its tail,
    as sharp as Bonferroni when the departure sits in one direction (the case this test is for) while
    staying less conservative when several directions show it.

    Using the same rows to choose and to test the directions is not valid: the projection onto the top
    direction of isotropic data is the one with the largest variance and its shape is selected too; a
    seeded Monte-Carlo null at the same ``(n, d)`` repairs that only for an isotropic null, and under
    a spiked covariance the top direction is the spike and carries no selection bias, so that null is
    wrong there (measured in the documentation page). Splitting costs half the sample in power and
    nothing in validity, and no simulation.

    Choice of ``k``: with :math:`\gamma = d / (n_A - 1)` and :math:`\sigma^2` the median eigenvalue
    divided by the median of the Marchenko–Pastur law of ratio :math:`\gamma`, eigenvalues above
    :math:`\sigma^2 (1 + \sqrt\gamma)^2` or below :math:`\sigma^2 (1 - \sqrt\gamma)^2` are outside
    the bulk a pure-noise covariance produces; those directions (at least one, at most 8, per end)
    are tested. A variance spike must exceed that edge (the BBP threshold
    :math:`\sigma^2 (1 + \sqrt\gamma)`) before PCA can find its direction at all.

    Cost: two blocked passes over the rows (``n d²`` flop for the covariances, ``4 n d k`` for the
    projections), two ``d × d`` eigendecompositions, and sorts of ``n`` values per tested direction.

    References
    ----------
    .. [1] V. A. Marchenko and L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 457-483, 1967.
    .. [2] J. Baik, G. Ben Arous and S. Péché, "Phase transition of the largest eigenvalue for nonnull
       complex sample covariance matrices", Ann. Probab. 33(5), 1643-1697, 2005.
    .. [3] Y. Liu and J. Xie, "Cauchy combination test: a powerful test with analytic p-value
       calculation under arbitrary dependency structures", JASA 115(529), 393-402, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.directions import principal_direction_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2000, 64))
    >>> x[:, 5] = rng.choice([-1.5, 1.5], size=2000) + 0.5 * rng.standard_normal(2000)
    >>> res = principal_direction_test(x @ np.linalg.qr(rng.standard_normal((64, 64)))[0])
    >>> print(f"{res.combined_test.pvalue:.1e}, worst: {res.worst.end} {res.worst.rank}")
    1.7e-84, worst: top 1
    """
    emb = check_embeddings(x, dtype=dtype, min_samples=MIN_SPLIT_SAMPLES)
    alpha = check_probability(alpha, "alpha")
    n, d = emb.n_samples, emb.n_features
    if k is not None:
        k = check_positive_int(k, "k")
        r_max = min(d, n // 2 - 1)
        if 2 * k > r_max and not (k == 1 and r_max >= 1):
            msg = (f"`k={k}` directions per end need 2k <= min(n_features, n_samples/2 - 1) = {r_max} "
                   f"nonzero eigenvalues in each half (n_samples={n}, n_features={d}); pass k <= "
                   f"{max(1, r_max // 2)} or k=None for the Marchenko–Pastur rule.")
            raise ValueError(msg)
    check_budget(n_samples=n, n_features=d, where="principal_direction_test",
                 n_projections=4 * (k or MAX_DIRECTIONS_PER_END))
    from .._engine import executor_for

    ex = executor_for(emb)
    labels = _fold_labels(n, d, rng)
    (folds,) = ex.row_pass(emb, [fold_moments_state(emb, labels)])
    plan = plan_principal_directions(emb, labels, folds.result(), k=k)
    (fold_proj,) = ex.row_pass(emb, [plan.state()])
    return finish_principal_directions(emb, plan, fold_proj.result(), alpha=alpha)


@dataclasses.dataclass(frozen=True)
class PrincipalPlan:
    """What the first pass decided: the directions of each half and the moments behind them."""

    labels: np.ndarray
    fold_moments: tuple[Any, Any, Any]  # CovarianceState of half 0, half 1 and all rows
    means: list[Any]
    dirs: list[np.ndarray]
    meta: list[tuple[int, int, np.ndarray]]  # (k_top, k_bottom, eigenvalues of the chosen columns)
    k: int | None

    def state(self) -> FoldProjections:
        """The second pass's row state: each half projected onto the other half's directions."""
        return FoldProjections(labels=self.labels, means=self.means, dirs=self.dirs)


def plan_principal_directions(emb: Embeddings, labels: np.ndarray, fold_moments: tuple[Any, Any, Any], *,
                              k: int | None) -> PrincipalPlan:
    """Choose the top and bottom principal directions of each half from its moments."""
    d = emb.n_features
    xp = emb.xp
    means, dirs, meta = [], [], []
    for state in fold_moments[:2]:
        spec = spectrum(state.covariance(ddof=1), xp)
        lam = np.asarray(to_numpy(spec.eigenvalues), dtype=np.float64)[::-1]
        vec = np.asarray(to_numpy(spec.eigenvectors), dtype=np.float64)[:, ::-1]
        # one sign on every backend: the largest component of each eigenvector is positive
        vec = vec * np.where(vec[np.argmax(np.abs(vec), axis=0), np.arange(vec.shape[1])] < 0, -1.0, 1.0)
        nf = state.n
        r = min(d, nf - 1)
        if k is None:
            kt, kb = choose_k(lam, nf, d)
        else:
            kt = min(k, r)
            kb = max(0, min(k, r - kt))
        cols = list(range(kt)) + [r - 1 - j for j in range(kb)]
        dirs.append(np.ascontiguousarray(vec[:, cols]))
        means.append(state.mean)
        meta.append((kt, kb, lam[cols]))
    return PrincipalPlan(labels=labels, fold_moments=fold_moments, means=means, dirs=dirs, meta=meta, k=k)


def finish_principal_directions(emb: Embeddings, plan: PrincipalPlan, proj: list[np.ndarray], *,
                                alpha: float) -> PrincipalDirectionResult:
    """The split-sample test from the plan of the first pass and the held-out projections of the
    second: test the projections, and report the spectrum of all rows against Marchenko–Pastur."""
    n, d = emb.n_samples, emb.n_features
    xp = emb.xp
    k, dirs, meta = plan.k, plan.dirs, plan.meta
    tests = [_column_tests(p) for p in proj]
    for t in tests:
        check_nonconstant(t.value_range, name="x @ principal directions",
                          what="the principal-direction tests (x is constant along a direction)")
    ends: list[str] = []
    ranks, folds, eig = [], [], []
    for f, (kt, kb, lam_f) in enumerate(meta):
        ends += ["top"] * kt + ["bottom"] * kb
        ranks += list(range(1, kt + 1)) + list(range(1, kb + 1))
        folds += [f] * (kt + kb)
        eig += list(lam_f)
    ad = np.concatenate([t.ad_statistic for t in tests])
    k2 = np.concatenate([t.k2 for t in tests])
    skew = np.concatenate([t.skewness for t in tests])
    kurt = np.concatenate([t.kurtosis for t in tests]) - 3.0
    n_tested = [p.shape[0] for p in proj]
    ad_p = np.concatenate([ad_null_pvalue(t.ad_statistic, m) for t, m in zip(tests, n_tested, strict=True)])
    dp_p = k2_pvalue(k2)
    inv = emb.scale  # eigenvalues carry the square of the input's power-of-two scale: divide twice
    eig_arr = np.asarray(eig) / inv / inv
    worst_i = int(np.argmin(ad_p))
    wf = folds[worst_i]
    w_col = worst_i - (0 if wf == 0 else meta[0][0] + meta[0][1])
    worst = DirectionStatistics(
        direction=dirs[wf][:, w_col].copy(), end=ends[worst_i], rank=int(ranks[worst_i]), fold=wf,
        eigenvalue=float(eig_arr[worst_i]), ad_statistic=float(ad[worst_i]),
        ad_pvalue=float(ad_p[worst_i]), dp_statistic=float(k2[worst_i]), dp_pvalue=float(dp_p[worst_i]),
        skewness=float(skew[worst_i]), excess_kurtosis=float(kurt[worst_i]))
    full = plan.fold_moments[2]
    lam_scaled = np.sort(np.asarray(to_numpy(spectrum(full.covariance(ddof=1), xp, vectors=False)
                                         .eigenvalues), dtype=np.float64))[::-1]
    sigma2, lo, hi = marchenko_pastur_bulk(lam_scaled, n, d)  # counted in the scaled units ...
    nz = lam_scaled[: min(d, n - 1)]
    n_above, n_below = int(np.count_nonzero(nz > hi)), int(np.count_nonzero(nz < lo))
    lam_full = lam_scaled / inv / inv  # ... reported in the input's
    sigma2, lo, hi = sigma2 / inv / inv, lo / inv / inv, hi / inv / inv
    q = min(QQ_DIRECTIONS, meta[0][0])
    qq_values, qq_quantiles = _qq(proj[0][:, :q])
    warn_small_sample(min(n_tested))
    combined = dataclasses.replace(
        cauchy_test(ad_p), calibration="sample splitting",
        note=(f"directions estimated on one random half, tested on the other ({len(ad_p)} AD p-values "
              "of both halves, Cauchy-combined)"))
    return PrincipalDirectionResult(
        combined_test=combined,
        bonferroni_pvalue=bonferroni_min(ad_p),
        worst=worst,
        ends=tuple(ends),
        ranks=np.asarray(ranks, dtype=np.int64),
        folds=np.asarray(folds, dtype=np.int64),
        direction_eigenvalues=eig_arr,
        ad_statistics=ad,
        ad_pvalues=ad_p,
        dp_statistics=k2,
        dp_pvalues=dp_p,
        skewness=skew,
        excess_kurtosis=kurt,
        rejected_fraction=float(np.mean(ad_p < alpha)),
        k_top=meta[0][0],
        k_bottom=meta[0][1],
        k_rule="marchenko-pastur" if k is None else "given",
        eigenvalues=lam_full,
        noise_variance=sigma2,
        mp_lower_edge=lo,
        mp_upper_edge=hi,
        n_above_edge=n_above,
        n_below_edge=n_below,
        qq_values=qq_values,
        qq_quantiles=qq_quantiles,
        alpha=alpha,
        n_samples=n,
        n_features=d,
    )


# ---------------------------------------------------------------------------- projection pursuit
@functools.lru_cache(maxsize=1)
def gaussian_logcosh_mean() -> float:
    """``E log cosh(ν)`` for ``ν ~ N(0, 1)`` (≈ 0.374567), by 200-point Gauss–Hermite quadrature."""
    t, w = np.polynomial.hermite.hermgauss(200)
    y = math.sqrt(2.0) * t
    return float(np.sum(w * _logcosh(y)) / math.sqrt(math.pi))


@functools.lru_cache(maxsize=1)
def gaussian_logcosh_var() -> float:
    """``Var log cosh(ν)`` for ``ν ~ N(0, 1)`` (Gauss–Hermite, as :func:`gaussian_logcosh_mean`)."""
    t, w = np.polynomial.hermite.hermgauss(200)
    g = _logcosh(math.sqrt(2.0) * t)
    return float(np.sum(w * g * g) / math.sqrt(math.pi)) - gaussian_logcosh_mean() ** 2


def _logcosh(y: Any) -> Any:
    a = np.abs(y)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)


def _contrast_values(y: np.ndarray, contrast: str) -> np.ndarray:
    """The contrast of each column of the (unit-variance, centred) projections ``y``."""
    return _step(None, y, None, contrast)[0]


def _step(z: np.ndarray | None, y: np.ndarray, w: np.ndarray | None, contrast: str
          ) -> tuple[np.ndarray, np.ndarray | None]:
    """The contrast of each column of ``y = z w`` and (when ``z`` is given) one FastICA fixed-point
    step ``w+ = E[z g(wᵀz)] - E[g'(wᵀz)] w``, sharing the elementwise work."""
    n = y.shape[0]
    if contrast == "kurtosis":  # g(u) = u³, g'(u) = 3u² (E y² = 1 for whitened z and unit w)
        y2 = y * y
        g = y2 * y
        value = (np.einsum("ij,ij->j", y2, y2) / n - 3.0) ** 2
        return value, None if z is None or w is None else z.T @ g / n - 3.0 * w
    if contrast == "skewness":  # g(u) = u², g'(u) = 2u, and E y = 0 (the tensor power iteration)
        y2 = y * y
        value = (np.einsum("ij,ij->j", y2, y) / n) ** 2
        return value, None if z is None or w is None else z.T @ y2 / n - 2.0 * np.mean(y, axis=0) * w
    a = np.abs(y)  # log cosh: g = tanh, g' = 1 - tanh²; with e = exp(-2|y|), tanh|y| = (1-e)/(1+e)
    e = np.exp(-2.0 * a)
    value = (np.mean(a + np.log1p(e), axis=0) - math.log(2.0) - gaussian_logcosh_mean()) ** 2
    if z is None or w is None:
        return value, None
    t = np.copysign((1.0 - e) / (1.0 + e), y)
    return value, z.T @ t / n - np.mean(1.0 - t * t, axis=0) * w


def _starts(z: np.ndarray, n_restarts: int, coefficients: np.ndarray) -> np.ndarray:
    """Equivariant starting directions ``(d, n_restarts)`` of the whitened data ``z``.

    From the fourth-moment matrix ``M = E[|z|² z zᵀ]`` (FOBI, Cardoso 1989) and the third-moment
    vector ``m = E[|z|² z]``: ``m``, the eigenvectors of the two largest and two smallest
    eigenvalues of ``M``, then ``V c_j`` for the seeded coefficients ``c_j`` (random directions in
    the data's own FOBI frame). If ``z`` is replaced by ``z Q`` (``Q`` orthogonal, what an affine map
    of ``x`` does), every start becomes ``Qᵀ`` times itself, so the search is exactly affine invariant.
    """
    n, d = z.shape
    r2 = np.einsum("ij,ij->i", z, z)
    m3 = z.T @ r2 / n
    m4 = (z * r2[:, None]).T @ z / n
    _, v = np.linalg.eigh((m4 + m4.T) / 2.0)
    signs = np.sign(np.mean((z @ v) ** 3, axis=0))  # eigenvector signs fixed by the data
    signs[signs == 0] = 1.0
    v = v * signs
    fixed = [m3 / max(float(np.linalg.norm(m3)), 1e-300)]
    for j in (d - 1, 0, d - 2, 1):
        if 0 <= j < d and len(fixed) < min(n_restarts, 1 + d):
            fixed.append(v[:, j])
    starts = np.stack(fixed[:n_restarts], axis=1)
    extra = n_restarts - starts.shape[1]
    if extra > 0:
        starts = np.concatenate([starts, v @ coefficients[:d, :extra]], axis=1)
    return np.asarray(starts / np.linalg.norm(starts, axis=0, keepdims=True), dtype=np.float64)


def _search(z: np.ndarray, contrasts: tuple[str, ...], n_restarts: int, max_iter: int, tol: float,
            coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Fixed-point search of each contrast from the same starts; the best value seen per contrast.

    Returns ``(values (c,), directions (d, c), iterations)``. Every restart runs until its direction
    moves by less than ``tol`` (``1 - |w+ᵀ w| < tol``) or ``max_iter`` steps; the best contrast value
    seen along the way is kept, so the result never gets worse with more iterations.
    """
    d = z.shape[1]
    s = _starts(z, n_restarts, coefficients)
    r = s.shape[1]
    ws = [s.copy() for _ in contrasts]
    best_v = [np.full(r, -np.inf) for _ in contrasts]
    best_w = [s.copy() for _ in contrasts]
    active = [np.ones(r, dtype=bool) for _ in contrasts]
    it = 0
    for it in range(1, max_iter + 2):
        if not any(a.any() for a in active):
            it -= 1
            break
        for c, name in enumerate(contrasts):
            if not active[c].any():
                continue
            cols = np.flatnonzero(active[c])
            w = ws[c][:, cols]
            y = z @ w
            vals, w_new = _step(z, y, w, name) if it <= max_iter else (_contrast_values(y, name), None)
            better = vals > best_v[c][cols]
            best_v[c][cols[better]] = vals[better]
            best_w[c][:, cols[better]] = w[:, better]
            if w_new is None:
                continue
            norms = np.linalg.norm(w_new, axis=0)
            ok = norms > 0
            w_new[:, ok] /= norms[ok]
            w_new[:, ~ok] = w[:, ~ok]
            moved = 1.0 - np.abs(np.sum(w_new * w, axis=0))
            ws[c][:, cols] = w_new
            active[c][cols[(moved < tol) | ~ok]] = False
        if it > max_iter:
            it = max_iter
            break
    # a converged restart's final direction is evaluated once more (it may improve on the best seen)
    values = np.empty(len(contrasts))
    dirs = np.empty((d, len(contrasts)))
    for c, name in enumerate(contrasts):
        vals = _contrast_values(z @ ws[c], name)
        better = vals > best_v[c]
        best_v[c][better] = vals[better]
        best_w[c][:, better] = ws[c][:, better]
        j = int(np.argmax(best_v[c]))
        values[c], dirs[:, c] = best_v[c][j], best_w[c][:, j]
    return values, dirs, it


def _coefficients(d: int, n_restarts: int, seed: Any) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((d, max(1, n_restarts)))


@functools.lru_cache(maxsize=32)
def _null_statistic(contrasts: tuple[str, ...], n_restarts: int, max_iter: int, tol: float) -> Any:
    """The search as a Monte-Carlo null statistic (one function object per configuration, so the
    null cache of :func:`gaussprobe.stats._null.simulate_null` recognises it)."""

    def statistic(x: np.ndarray) -> tuple[float, ...]:
        n, d = x.shape
        c = x - x.mean(axis=0)
        chol = np.linalg.cholesky(c.T @ c / n)
        from scipy.linalg import solve_triangular

        z = np.ascontiguousarray(solve_triangular(chol, c.T, lower=True).T)  # any whitening will do
        seed = zlib.crc32(np.ascontiguousarray(x[0]).tobytes())  # random frame coefficients per draw
        values, dirs, _ = _search(z, contrasts, n_restarts, max_iter, tol,
                                  _coefficients(d, n_restarts, seed))
        y = z @ dirs
        skew = np.abs(np.mean(y**3, axis=0))
        kurt = np.abs(np.mean(y**4, axis=0) - 3.0)
        return (*values.tolist(), float(np.max(skew)), float(np.max(kurt)))

    return statistic


def pursuit_flop(n: int, d: int, n_contrasts: int, n_restarts: int, max_iter: int) -> float:
    """Flop of one search (the observed one or one null draw), at its most iterations: whitening and
    the fourth-moment matrix (``4 n d²``), two ``d³`` eigendecompositions, and per iteration and
    restart two ``n × d`` products and the contrast (``4 n d + 12 n``); a null draw adds ``20 n d``
    for its normal sample."""
    r = min(n_restarts, d + 4)
    per_iter = float(n_contrasts) * r * (4.0 * n * d + 12.0 * n)
    return 4.0 * n * d * d + 20.0 * float(d) ** 3 + (max_iter + 2) * per_iter + 20.0 * n * d


def _standardised_max(values: np.ndarray) -> np.ndarray:
    """Per row, the largest over contrasts of ``(log v - median) / MAD`` with median and MAD taken over
    all rows (the observed one included, so the rows stay exchangeable under the null)."""
    lv = np.log(np.maximum(values, 1e-300))
    med = np.median(lv, axis=0)
    mad = np.median(np.abs(lv - med), axis=0)
    mad = np.where(mad > 0, mad, 1.0)
    return np.asarray(np.max((lv - med) / mad, axis=1), dtype=np.float64)


def least_gaussian_direction(
    x: ArrayLike,
    /,
    *,
    rng: RNGLike = None,
    contrast: Contrast = "auto",
    n_restarts: int = DEFAULT_RESTARTS,
    max_iter: int = DEFAULT_MAX_ITER,
    n_null: int = _null.DEFAULT_NULL_DRAWS,
    null_budget: float | None = None,
    dtype: DTypeName = "float64",
) -> LeastGaussianDirectionResult:
    r"""Projection pursuit for the least Gaussian direction, with a null of the same search.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like; the search runs on the host).
        Needs ``n_samples >= n_features + 2`` and a full-rank covariance.
    rng : int, numpy.random.Generator or None
        Seed of the random restarts (random directions in the data's own fourth-moment frame).
        ``None`` uses a fixed seed derived from ``(n, d)``, so the same data give the same result.
    contrast : {"auto", "kurtosis", "skewness", "logcosh"}
        Non-Gaussianity contrast of a unit-variance projection :math:`y`: :math:`(E y^4 - 3)^2`,
        :math:`(E y^3)^2`, or the robust negentropy proxy :math:`(E \log\cosh y - \gamma)^2`.
        ``"auto"`` runs all three and tests the largest standardised one.
    n_restarts : int
        Starting directions per contrast (default 6): the third-moment vector, four extreme
        fourth-moment eigenvectors, then random ones.
    max_iter : int
        Most fixed-point iterations per restart (default 30).
    n_null : int
        Monte-Carlo draws of the null (default 199; p-values resolve down to ``1 / (n_null + 1)``).
    null_budget : float, optional
        Flop budget of the null (default :data:`gaussprobe.stats._null.NULL_FLOP_BUDGET`, 1e11). One
        draw costs :func:`pursuit_flop` (about ``4 n d² + 3 · 6 · 32 · 4 n d`` at the defaults). When
        ``n_null`` draws do not fit, the p-value is NaN and says so; ``null_budget=math.inf`` forces it.
    dtype : {"float64", "float32"}
        Accepted for symmetry; whitening and the search run in float64.

    Returns
    -------
    LeastGaussianDirectionResult

    Raises
    ------
    ValueError
        If ``n_samples <= n_features + 1`` or the covariance is singular (the message says how to
        reduce the dimension first).

    Notes
    -----
    The rows are centred and whitened, :math:`z_i = W^\top (x_i - \bar x)` with :math:`W W^\top =
    S^{-1}` (divisor ``n``). For a unit :math:`w` the projection :math:`y = z^\top w` has mean 0 and
    variance 1, and the one-unit FastICA fixed point (Hyvärinen 1999)

    .. math:: w \leftarrow E[z\, g(w^\top z)] - E[g'(w^\top z)]\, w, \qquad w \leftarrow w / \lVert w\rVert

    with :math:`g(u) = u^3` (kurtosis), :math:`u^2` (skewness; the tensor power iteration) or
    :math:`\tanh u` (log cosh) converges to a local extremum of the contrast. Each contrast starts from
    ``n_restarts`` directions that are functions of the data itself (FOBI), so the search is
    equivariant: replacing :math:`x` by :math:`x A + b` rotates :math:`z` and every iterate alike and
    leaves the contrast found unchanged. Its null distribution is therefore the same for every
    Gaussian, that of the search on standard-normal samples of the same ``(n, d)``, simulated (seeded
    from the configuration and ``(n, d)``, cached) by :func:`gaussprobe.stats._null.simulate_null`;
    the p-value is :math:`(1 + \#\{b: T_b \ge T\}) / (B + 1)`. For ``"auto"``, :math:`T` is the
    largest over contrasts of :math:`(\log J_c - \mathrm{med}_c) / \mathrm{MAD}_c`, with median and
    MAD over the :math:`B + 1` values (observed included), which keeps the draws exchangeable.

    Gaussian data have non-Gaussian-looking directions: the excess kurtosis of the best direction of
    an isotropic Gaussian sample grows like :math:`d^2 / n` when :math:`d^2 > n` (the direction of the
    largest point), and its skewness like :math:`\sqrt{d / n}`. The p-value accounts for that, but
    power is lost where that spread is larger than the departures of interest; ``informative`` is
    False there (see :data:`INFORMATIVE_MAX_NULL_KURTOSIS`). A direction that differs from the
    Gaussian only in its fourth moment needs ``n`` of order :math:`d^2` to be found by any known
    polynomial-time method.

    References
    ----------
    .. [1] A. Hyvärinen, "Fast and robust fixed-point algorithms for independent component
       analysis", IEEE Trans. Neural Networks 10(3), 626-634, 1999.
    .. [2] J.-F. Cardoso, "Source separation using higher order moments", ICASSP 1989, 2109-2112.
    .. [3] J. H. Friedman and J. W. Tukey, "A projection pursuit algorithm for exploratory data
       analysis", IEEE Trans. Computers C-23(9), 881-890, 1974.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.directions import least_gaussian_direction
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1000, 8))
    >>> x[:, 0] = rng.choice([-1.5, 1.5], size=1000) + 0.5 * rng.standard_normal(1000)
    >>> res = least_gaussian_direction(x, n_null=99)
    >>> print(f"p = {res.test.pvalue:.2f}, |cos| = {abs(res.best.direction[0]):.2f}")
    p = 0.01, |cos| = 1.00
    """
    check_choice(contrast, "contrast", ("auto", *CONTRASTS))
    n_restarts = check_positive_int(n_restarts, "n_restarts")
    max_iter = check_positive_int(max_iter, "max_iter")
    draws = check_positive_int(n_null, "n_null", minimum=0)
    budget = _null.NULL_FLOP_BUDGET if null_budget is None else float(null_budget)
    if not budget > 0:
        msg = f"`null_budget` must be a positive number of flop (e.g. 1e11 or math.inf); got {null_budget!r}."
        raise ValueError(msg)
    emb = check_embeddings(x, dtype=dtype)
    n, d = emb.n_samples, emb.n_features
    check_budget(n_samples=n, n_features=d, where="least_gaussian_direction",
                 n_projections=3 * min(n_restarts, d + 4))
    return run_least_gaussian_direction(emb, rng=rng, contrast=contrast, n_restarts=n_restarts,
                                        max_iter=max_iter, draws=draws, budget=budget)


def run_least_gaussian_direction(emb: Embeddings, *, rng: RNGLike, contrast: str, n_restarts: int,
                                 max_iter: int, draws: int, budget: float, moments: Any = None,
                                 whitened: tuple[Any, np.ndarray] | None = None
                                 ) -> LeastGaussianDirectionResult:
    """:func:`least_gaussian_direction` on a validated input; ``moments`` is the covariance state of a
    row pass already made, ``whitened`` the whitening and whitened rows of one (``analyze`` gathers them
    in its second pass)."""
    n, d = emb.n_samples, emb.n_features
    if whitened is None:
        wh = whiten(emb, what="least_gaussian_direction", state=moments)
        z = whitened_on_host(wh)
    else:
        wh, z = whitened
    names = CONTRASTS if contrast == "auto" else (contrast,)
    seed = _null.null_seed("least_gaussian_direction.restarts", n, d) if rng is None else None
    coefficients = (_coefficients(d, n_restarts, seed) if rng is None
                    else as_generator(rng).standard_normal((d, n_restarts)))
    with single_threaded_blas():  # small products: one BLAS thread is fastest on a busy machine
        values, dirs, n_iter = _search(z, names, n_restarts, max_iter, DEFAULT_TOL, coefficients)

    cost = pursuit_flop(n, d, len(names), n_restarts, max_iter)
    pvalues = np.full(len(names), math.nan)
    null_kurt = null_skew = math.nan
    if draws >= 1 and _null.fits_budget(cost, draws, budget):
        test_name = f"least_gaussian_direction:{','.join(names)}:{n_restarts}:{max_iter}:{DEFAULT_TOL:g}"
        with single_threaded_blas():  # once for all draws (setting the limit costs milliseconds)
            sims = _null.simulate_null(test_name, _null_statistic(names, n_restarts, max_iter,
                                                                  DEFAULT_TOL), n, d, draws)
        null_vals = sims[:, : len(names)]
        null_skew = float(np.quantile(sims[:, -2], 0.95))
        null_kurt = float(np.quantile(sims[:, -1], 0.95))
        pvalues = np.array([_null.monte_carlo_pvalue(values[c], null_vals[:, c]) for c in range(len(names))])
        if len(names) == 1:
            statistic, pvalue, pick = float(values[0]), float(pvalues[0]), 0
        else:
            scores = _standardised_max(np.vstack([values[None, :], null_vals]))
            statistic = float(scores[0])
            pvalue = _null.monte_carlo_pvalue(statistic, scores[1:])
            lv = np.log(np.maximum(np.vstack([values[None, :], null_vals]), 1e-300))
            med = np.median(lv, axis=0)
            mad = np.median(np.abs(lv - med), axis=0)
            pick = int(np.argmax((lv[0] - med) / np.where(mad > 0, mad, 1.0)))
        informative = null_kurt < INFORMATIVE_MAX_NULL_KURTOSIS or null_skew < INFORMATIVE_MAX_NULL_SKEWNESS
        note = "" if informative else (
            f"not informative at (n, d) = ({n}, {d}): in Gaussian noise of this size the search already "
            f"finds directions with |excess kurtosis| up to {null_kurt:.2g} and |skewness| up to "
            f"{null_skew:.2g} (95% quantiles), so only larger departures can be detected")
        test = TestResult(statistic=statistic, pvalue=pvalue,
                          null_distribution=f"monte-carlo ({draws} draws of the same search)",
                          calibration="monte-carlo", note=note)
    else:
        pick = 0 if len(names) == 1 else _largest_relative(values, names, n)
        statistic = float(values[pick]) if len(names) == 1 else math.nan
        informative = n >= INFORMATIVE_MIN_SAMPLES_PER_FEATURE * d
        note = "n_null=0: no null simulated" if draws == 0 else _null.over_budget_note(
            f"the null of the projection pursuit at (n, d) = ({n}, {d})", cost, max(draws, 1), budget,
            "pass null_budget=math.inf (or a larger one), or fewer n_restarts/max_iter, to simulate it")
        if not informative:
            note += (f"; the search is likely not informative here (n = {n} < "
                     f"{INFORMATIVE_MIN_SAMPLES_PER_FEATURE} d = {INFORMATIVE_MIN_SAMPLES_PER_FEATURE * d}: "
                     "Gaussian noise alone shows directions of large skewness and kurtosis)")
        test = TestResult(statistic=statistic, pvalue=math.nan, null_distribution="none",
                          calibration="not calibrated", note=note)

    w = dirs[:, pick]
    y = z @ w
    if float(np.mean(y**3)) < 0.0:  # one sign on every backend: the direction the data skew towards
        w, y = -w, -y
    uni = univariate_tests(np, lambda a, b: y[:, None], 1, n, dtype=np.float64, block_size=1,
                           order_points=ORDER_STATISTIC_POINTS)
    check_nonconstant(uni.value_range, name="x @ direction", what="the pursuit's univariate tests")
    assert uni.order_statistics is not None
    a = np.asarray(to_numpy(wh.transform), dtype=np.float64) @ w  # y = (x - mean) @ a
    norm_a = float(np.linalg.norm(a))
    best = DirectionStatistics(
        direction=a / norm_a, end=names[pick], rank=1, fold=-1,
        # var(x @ a/|a|) = 1/|a|² (divisor n); reported with divisor n - 1 and in input units
        eigenvalue=n / (n - 1) / norm_a**2 / emb.scale / emb.scale,
        ad_statistic=float(uni.ad_statistic[0]), ad_pvalue=float(ad_null_pvalue(uni.ad_statistic, n)[0]),
        dp_statistic=float(uni.k2[0]), dp_pvalue=float(k2_pvalue(uni.k2)[0]),
        skewness=float(uni.skewness[0]), excess_kurtosis=float(uni.kurtosis[0] - 3.0))
    return LeastGaussianDirectionResult(
        test=test, best=best, whitened_direction=w, contrast=contrast, best_contrast=names[pick],
        contrast_statistics=values, contrast_pvalues=pvalues, informative=bool(informative),
        null_kurtosis_q95=null_kurt, null_skewness_q95=null_skew, n_restarts=n_restarts,
        max_iter=max_iter, n_iter=n_iter, n_null=draws if math.isfinite(pvalues[0]) else 0,
        n_samples=n, n_features=d, qq_values=uni.order_statistics[0],
        qq_quantiles=normal_plotting_positions(n, order_statistic_ranks(n, ORDER_STATISTIC_POINTS)))


def _largest_relative(values: np.ndarray, names: tuple[str, ...], n: int) -> int:
    """Without a null, the contrast largest relative to its null variance along a *fixed* direction
    (``n J / Var`` is about χ²(1) there: ``Var`` is 24 for the kurtosis, 6 for the skewness and
    ``Var log cosh ν`` for the negentropy proxy)."""
    scale = {"kurtosis": 24.0, "skewness": 6.0, "logcosh": gaussian_logcosh_var()}
    return int(np.argmax([n * v / scale[c] for v, c in zip(values, names, strict=True)]))


__all__ = [
    "CONTRASTS",
    "MAX_DIRECTIONS_PER_END",
    "DirectionStatistics",
    "LeastGaussianDirectionResult",
    "PrincipalDirectionResult",
    "choose_k",
    "gaussian_logcosh_mean",
    "gaussian_logcosh_var",
    "least_gaussian_direction",
    "marchenko_pastur_bulk",
    "marchenko_pastur_median",
    "principal_direction_test",
    "pursuit_flop",
]
