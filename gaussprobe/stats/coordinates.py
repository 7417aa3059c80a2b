"""Per-coordinate normality: Anderson–Darling and D'Agostino–Pearson on every column.

These are the paper's Gaussianity metrics (Betser et al., ICLR 2026, §5): the mean AD statistic and
the fraction of coordinates with ``A² < 0.752``, and the mean DP p-value and the fraction of
coordinates with ``p > 0.05``. Columns are processed in blocks so that memory stays bounded.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from .._budget import check_budget
from .._pvalues import cauchy_test
from .._reference import Reference, coordinate_pass_references
from .._results import Result, TestResult
from .._typing import ArrayLike, DTypeName
from .._validation import (
    Embeddings,
    check_embeddings,
    check_nonconstant,
    check_positive_int,
    check_probability,
)
from .._warnings import SmallSampleWarning
from .univariate import (
    ORDER_STATISTIC_POINTS,
    RELIABLE_KURTOSIS_SAMPLES,
    UnivariateTests,
    ad_critical_value,
    ad_null_pvalue,
    ad_pvalue,
    default_columns_per_block,
    k2_pvalue,
    normal_plotting_positions,
    order_statistic_ranks,
)

#: Least Gaussian coordinates (smallest AD p-values) named on the result, with their QQ points.
N_WORST = 5


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class CoordinateNormalityResult(Result):
    """Anderson–Darling and D'Agostino–Pearson tests of every coordinate.

    Attributes
    ----------
    ad_statistics : ndarray of shape (n_features,)
        Anderson–Darling ``A²`` per coordinate (as ``scipy.stats.anderson(..., 'norm').statistic``).
    ad_pvalues : ndarray of shape (n_features,)
        AD p-values from the null distribution of ``A²`` at this ``n`` (:func:`ad_null_pvalue`:
        exact asymptotic law with a Monte-Carlo finite-``n`` correction), uniform on (0, 1) under
        normality in both tails. ``ad_pvalues_nortest`` gives R ``nortest::ad.test``'s values.
    ad_mean : float
        Mean of ``ad_statistics`` (the paper's "AD Avg."; about 0.37 for Gaussian coordinates).
    ad_critical_value : float
        Critical value of ``A²`` at ``alpha`` for this ``n_samples`` (0.752 at alpha 0.05, large n).
    ad_pass_fraction : float
        Fraction of coordinates with ``A² < ad_critical_value`` (the paper's "AD Norm. Feat.").
    dp_statistics : ndarray of shape (n_features,)
        D'Agostino–Pearson ``K²`` per coordinate (as ``scipy.stats.normaltest``).
    dp_pvalues : ndarray of shape (n_features,)
        χ²(2) p-values of ``K²``.
    dp_mean_pvalue : float
        Mean DP p-value (the paper's "DP Avg."; about 0.5 under the null).
    dp_pass_fraction : float
        Fraction of coordinates with DP p-value ``> alpha`` (the paper's "DP Norm. Feat.").
    skewness, excess_kurtosis : ndarray of shape (n_features,)
        Biased sample skewness ``g1`` and excess kurtosis ``g2 = b2 - 3`` per coordinate.
    skewness_z, kurtosis_z : ndarray of shape (n_features,)
        The two components of ``K²`` (D'Agostino skewness z, Anscombe–Glynn kurtosis z).
    combined_test : TestResult
        One calibrated p-value for "every coordinate is normal": the Cauchy combination of the AD
        p-values (``ad_pvalues``) over coordinates (Liu & Xie 2020), as the projections have. Coordinates of an
        embedding are correlated; the Cauchy combination stays valid (its tail is asymptotically exact)
        under arbitrary dependence, where Fisher's method assumes independence and a mean or a pass
        fraction has no known null at all. AD rather than DP p-values, because the DP tail is liberal at
        moderate ``n`` (see :func:`~gaussprobe.projection_normality`).
    worst_coordinates : ndarray of shape (min(N_WORST, n_features),)
        Indices of the coordinates with the smallest AD p-values, worst first.
    expected_pass_fraction : float
        ``1 - alpha``: the pass fraction expected when every coordinate is Gaussian.
    pass_fraction_band : tuple of float
        Central 99% range of the pass fraction of ``n_features`` *independent* Gaussian coordinates
        (binomial). A pass fraction inside it is what a perfectly Gaussian embedding produces.
    alpha : float
        The level used for both pass fractions.
    n_samples, n_features : int
        Shape of the input.
    ad_pass_fraction_reference, dp_pass_fraction_reference : Reference or None
        What an exact isotropic Gaussian sample of the same ``(n, d)`` gives for each pass fraction:
        the tests' own null pass probability at this ``n`` (``mean``) and the central 95% band of the
        binomial pass count (:func:`gaussprobe._reference.coordinate_pass_references`).
    qq_values : ndarray of shape (len(worst_coordinates), q) or None
        For each of ``worst_coordinates`` (same order): ``q = min(n_samples, 200)`` evenly spaced order
        statistics of the standardised coordinate (mean 0, ``ddof=1`` standard deviation), taken from
        the sorted column the tests use. With ``qq_quantiles`` they are the points of a normal QQ plot;
        being evenly spaced in rank, they also draw its histogram. None in reports written before they
        were stored.
    qq_quantiles : ndarray of shape (q,) or None
        Standard-normal quantiles at the same ranks (Blom's plotting positions
        ``Φ⁻¹((i - 3/8) / (n + 1/4))``).
    """

    ad_statistics: np.ndarray
    ad_pvalues: np.ndarray
    ad_mean: float
    ad_critical_value: float
    ad_pass_fraction: float
    dp_statistics: np.ndarray
    dp_pvalues: np.ndarray
    dp_mean_pvalue: float
    dp_pass_fraction: float
    skewness: np.ndarray
    excess_kurtosis: np.ndarray
    skewness_z: np.ndarray
    kurtosis_z: np.ndarray
    combined_test: TestResult
    worst_coordinates: np.ndarray
    expected_pass_fraction: float
    pass_fraction_band: tuple[float, float]
    alpha: float
    n_samples: int
    n_features: int
    ad_pass_fraction_reference: Reference | None = None
    dp_pass_fraction_reference: Reference | None = None
    qq_values: np.ndarray | None = None
    qq_quantiles: np.ndarray | None = None

    @property
    def ad_pvalues_nortest(self) -> np.ndarray:
        """The AD p-values of R ``nortest::ad.test`` (D'Agostino & Stephens' approximation,
        :func:`~gaussprobe.stats.univariate.ad_pvalue`), kept for parity with R: they agree with
        ``ad_pvalues`` to a few percent between 10⁻⁴ and 0.5 but are not uniform near 1."""
        return ad_pvalue(self.ad_statistics, self.n_samples)

    def to_frame(self) -> Any:
        """One row per coordinate (index ``coordinate``), as a :class:`pandas.DataFrame`.

        Columns: ``ad_statistic`` (A²), ``ad_pvalue``, ``dp_statistic`` (K²), ``dp_pvalue``,
        ``skewness``, ``excess_kurtosis``, ``skewness_z``, ``kurtosis_z``, and the pass flags behind the
        pass fractions: ``ad_pass`` (``A² < ad_critical_value``) and ``dp_pass`` (``dp_pvalue > alpha``).
        Needs pandas.
        """
        from .._notebook import data_frame

        return data_frame(type(self).__name__, "coordinate", {
            "ad_statistic": self.ad_statistics, "ad_pvalue": self.ad_pvalues,
            "dp_statistic": self.dp_statistics, "dp_pvalue": self.dp_pvalues,
            "skewness": self.skewness, "excess_kurtosis": self.excess_kurtosis,
            "skewness_z": self.skewness_z, "kurtosis_z": self.kurtosis_z,
            "ad_pass": self.ad_statistics < self.ad_critical_value, "dp_pass": self.dp_pvalues > self.alpha})


def pass_fraction_band(n_tests: int, alpha: float, *, level: float = 0.99) -> tuple[float, float]:
    """Central ``level`` range of the pass fraction of ``n_tests`` independent level-``alpha`` tests
    under the null: binomial(``n_tests``, ``1 - alpha``) quantiles divided by ``n_tests``."""
    from scipy import stats

    lo, hi = stats.binom.ppf([(1 - level) / 2, (1 + level) / 2], n_tests, 1.0 - alpha)
    return float(lo) / n_tests, float(hi) / n_tests


def warn_small_sample(n: int) -> None:
    """The Anscombe–Glynn kurtosis approximation (and so ``K²``) is rough below 20 samples."""
    if n < RELIABLE_KURTOSIS_SAMPLES:
        msg = (f"n_samples={n} < {RELIABLE_KURTOSIS_SAMPLES}: the kurtosis z-score and the "
               "D'Agostino–Pearson p-values rely on an approximation that is rough for so few samples.")
        warnings.warn(msg, SmallSampleWarning, stacklevel=3)


def _columns_per_block(block_size: int | None, emb: Embeddings) -> int:
    if block_size is None:
        return default_columns_per_block(emb.xp, emb.n_samples, emb.n_features, emb.device)
    return check_positive_int(block_size, "block_size")


def coordinate_normality(
    x: ArrayLike,
    /,
    *,
    alpha: float = 0.05,
    dtype: DTypeName = "float64",
    block_size: int | None = None,
) -> CoordinateNormalityResult:
    r"""Anderson–Darling and D'Agostino–Pearson normality tests of every coordinate.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like). ``n_samples >= 8``.
    alpha : float
        Level for the pass fractions (default 0.05, the paper's threshold).
    dtype : {"float64", "float32"}
        Compute precision. float32 input is upcast one block of columns at a time. With
        ``"float32"``, ``A²`` loses accuracy for large ``n`` (it is a difference of sums of size n).
    block_size : int, optional
        Columns gathered and sorted together (one block per thread for NumPy input). Default: about
        8 MiB of float32 per block, at least 16 columns, on a CPU; 256 MiB of float64 on an
        accelerator. Results do not depend on it.

    Returns
    -------
    CoordinateNormalityResult
        Per-coordinate statistics and p-values, their summaries, and the null expectation of the pass
        fractions.

    Raises
    ------
    ValueError
        If ``n_samples < 8`` or some column is constant (the message lists them).

    Warns
    -----
    SmallSampleWarning
        If ``n_samples < 20`` (the kurtosis approximation behind ``K²`` is rough there).

    Notes
    -----
    Each column is standardised with its mean and ``ddof=1`` standard deviation, :math:`z_i`, and
    sorted. The Anderson–Darling statistic is

    .. math:: A^2 = -n - \frac1n \sum_{i=1}^n (2i-1)\left[\log\Phi(z_{(i)})
              + \log\left(1-\Phi(z_{(n+1-i)})\right)\right],

    identical to ``scipy.stats.anderson(x, dist='norm').statistic``. The critical value is the one
    scipy 1.17 reports, :math:`\mathrm{round}(c_\alpha / (1 + 0.75/n + 2.25/n^2), 3)` with
    :math:`c_{0.05} = 0.752`. The p-values come from the null distribution of :math:`A^2` at this
    :math:`n` (:func:`~gaussprobe.stats.univariate.ad_null_pvalue`): the exact asymptotic law
    :math:`\sum_j \lambda_j \chi^2_1` (Stephens 1976) with a finite-:math:`n` correction fitted to
    seeded Monte-Carlo draws. They are uniform under the null in both tails, which the Cauchy
    combination needs: D'Agostino & Stephens' (1986) approximation on
    :math:`A^2(1 + 0.75/n + 2.25/n^2)` (R ``nortest::ad.test``, ``ad_pvalues_nortest``) puts a
    twentieth of the expected mass above 0.999, which shifted the combination's median to about 0.3
    and made it reject up to 8.6% at level 0.05.

    The D'Agostino–Pearson statistic is :math:`K^2 = z_1^2 + z_2^2`, with :math:`z_1` D'Agostino's
    transformation of the skewness :math:`g_1 = m_3/m_2^{3/2}` and :math:`z_2` Anscombe & Glynn's
    transformation of the kurtosis :math:`b_2 = m_4/m_2^2`; its p-value is the χ²(2) tail
    :math:`e^{-K^2/2}` (``scipy.stats.normaltest``). One deliberate difference: scipy's ``skewtest``
    turns zero skewness into :math:`z_1 \approx 1.04`; here it gives :math:`z_1 = 0`.

    Under the null (every coordinate Gaussian) the mean of :math:`A^2` is about 0.37, the mean DP
    p-value about 0.5 and each pass fraction about :math:`1 - \alpha`: with 256 coordinates,
    "100% pass" would be surprising (:math:`0.95^{256} \approx 2\cdot 10^{-6}`).
    ``pass_fraction_band`` gives the 99% range for independent coordinates. Both tests are
    invariant to affine maps of each coordinate.

    References
    ----------
    .. [1] T. W. Anderson and D. A. Darling, "Asymptotic theory of certain goodness of fit criteria
       based on stochastic processes", Ann. Math. Statist. 23(2), 193-212, 1952.
    .. [2] R. B. D'Agostino and M. A. Stephens (eds.), *Goodness-of-Fit Techniques*, Marcel Dekker,
       1986, ch. 4 (critical values and p-value approximation of A²).
    .. [6] M. A. Stephens, "Asymptotic results for goodness-of-fit statistics with unknown
       parameters", Ann. Statist. 4(2), 357-369, 1976.
    .. [7] Y. Liu and J. Xie, "Cauchy combination test", JASA 115(529), 393-402, 2020.
    .. [3] R. B. D'Agostino and E. S. Pearson, "Tests for departure from normality", Biometrika
       60(3), 613-622, 1973.
    .. [4] F. J. Anscombe and W. J. Glynn, "Distribution of the kurtosis statistic b2 for normal
       samples", Biometrika 70(1), 227-234, 1983.
    .. [5] R. Betser, E. Gofer, M. Y. Levi and G. Gilboa, "InfoNCE induces Gaussian distribution",
       ICLR 2026, §5.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.coordinates import coordinate_normality
    >>> x = np.random.default_rng(0).standard_normal((2000, 64))
    >>> res = coordinate_normality(x)
    >>> print(f"AD mean {res.ad_mean:.2f}, DP pass {res.dp_pass_fraction:.2f}")
    AD mean 0.40, DP pass 0.94
    """
    emb = check_embeddings(x, dtype=dtype)
    alpha = check_probability(alpha, "alpha")
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="coordinate_normality",
                 block_size=block_size, columns=True)
    from .._engine import executor_for

    warn_small_sample(emb.n_samples)
    res = executor_for(emb).data_column_tests(emb, block_size=_columns_per_block(block_size, emb),
                                              order_points=ORDER_STATISTIC_POINTS)
    return finish_coordinates(res, n=emb.n_samples, d=emb.n_features, alpha=alpha)


def finish_coordinates(res: UnivariateTests, *, n: int, d: int, alpha: float) -> CoordinateNormalityResult:
    """:class:`CoordinateNormalityResult` from the column statistics of every coordinate (with their
    order statistics at :data:`~gaussprobe.stats.univariate.ORDER_STATISTIC_POINTS` points)."""
    check_nonconstant(res.value_range, what="the coordinate normality tests")
    crit = ad_critical_value(n, alpha)
    ad_p = ad_null_pvalue(res.ad_statistic, n)
    dp_p = k2_pvalue(res.k2)
    ad_ref, dp_ref = coordinate_pass_references(n, d, alpha)
    worst = np.argsort(ad_p, kind="stable")[: min(N_WORST, d)]
    assert res.order_statistics is not None
    return CoordinateNormalityResult(
        combined_test=cauchy_test(ad_p),
        worst_coordinates=worst,
        qq_values=np.ascontiguousarray(res.order_statistics[worst]),
        qq_quantiles=normal_plotting_positions(n, order_statistic_ranks(n, ORDER_STATISTIC_POINTS)),
        ad_statistics=res.ad_statistic,
        ad_pvalues=ad_p,
        ad_mean=float(np.mean(res.ad_statistic)),
        ad_critical_value=crit,
        ad_pass_fraction=float(np.mean(res.ad_statistic < crit)),
        dp_statistics=res.k2,
        dp_pvalues=dp_p,
        dp_mean_pvalue=float(np.mean(dp_p)),
        dp_pass_fraction=float(np.mean(dp_p > alpha)),
        skewness=res.skewness,
        excess_kurtosis=res.kurtosis - 3.0,
        skewness_z=res.z_skewness,
        kurtosis_z=res.z_kurtosis,
        expected_pass_fraction=1.0 - alpha,
        pass_fraction_band=pass_fraction_band(d, alpha),
        alpha=alpha,
        n_samples=n,
        n_features=d,
        ad_pass_fraction_reference=ad_ref,
        dp_pass_fraction_reference=dp_ref,
    )


__all__ = ["CoordinateNormalityResult", "coordinate_normality", "pass_fraction_band"]
