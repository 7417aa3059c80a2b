"""Isotropy of the covariance spectrum: effective rank, participation ratio, condition number, IsoScore,
and John's sphericity test in the Ledoit–Wolf form, which stays valid when ``n_features > n_samples``.

Every measure here is a function of the eigenvalues ``λ_1 ≥ … ≥ λ_d ≥ 0`` of the *centred* sample
covariance ``S = (1/n) Σ (x_i − x̄)(x_i − x̄)ᵀ`` (divisor n, i.e. ``ddof=0``) unless a docstring says
otherwise. Metric names in the literature are not definitions ("RankMe" is computed on singular values of
the uncentred matrix in one library and on centred PCA eigenvalue ratios in another); the exact definition
used is written out in each docstring.

When ``n_samples < n_features`` the non-zero eigenvalues are taken from the ``n × n`` Gram matrix
``X_c X_cᵀ / n`` instead of the ``d × d`` covariance: the same numbers at ``O(n² d)`` instead of
``O(n d²)`` cost and ``O(n²) ≤ O(n d)`` memory.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from .._backend import block_rows_for, row_blocks, to_numpy
from .._budget import check_budget
from .._pvalues import normal_sf
from .._reference import Reference
from .._results import Result, TestResult
from .._typing import ArrayLike, DTypeName
from .._validation import Embeddings, check_embeddings, ldexp
from .._warnings import RankDeficiencyWarning
from ._moments import covariance_state, spectrum

_NULL_SPHERICITY = "normal(0, 1), upper tail (Ledoit-Wolf 2002 asymptotics of John's U)"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SpectrumResult(Result):
    """Isotropy measures of the centred sample covariance (see :func:`covariance_spectrum`).

    Attributes
    ----------
    eigenvalues : ndarray of shape (n_features,)
        Eigenvalues of the centred covariance with divisor ``n`` (``ddof=0``), descending. Tiny negative
        rounding values are kept as computed; the measures below use them clipped at 0.
    trace : float
        ``tr S = Σ λ_i`` (the mean squared distance of a row to the sample mean).
    rank : int
        Numerical rank: the number of eigenvalues above ``rank_tolerance``.
    rank_tolerance : float
        ``n_features · eps · λ_max`` (the :func:`numpy.linalg.matrix_rank` convention).
    effective_rank : float
        ``exp(H(p))`` with ``p_i = λ_i / Σ λ`` (Roy & Vetterli 2007, on covariance eigenvalues).
    participation_ratio : float
        ``(Σ λ)² / Σ λ²``.
    condition_number : float
        ``λ_max / λ_min``; ``inf`` when ``rank < n_features``.
    isoscore : float
        IsoScore (Rudman et al. 2022) of the eigenvalues of the covariance with divisor ``n − 1``.
    john_u : float
        John's sphericity statistic ``U = (1/d) tr[(S / (tr S / d) − I)²] = d / participation_ratio − 1``.
    n_samples, n_features : int
        Shape of the input.
    effective_rank_reference, participation_ratio_reference, condition_number_reference, \
isoscore_reference, john_u_reference : Reference or None
        What an exact isotropic Gaussian sample of the same ``(n, d)`` gives for each measure: mean and
        central 95% band, from exact Wishart spectra (:func:`gaussprobe._reference.spectrum_references`).
    """

    eigenvalues: np.ndarray
    trace: float
    rank: int
    rank_tolerance: float
    effective_rank: float
    participation_ratio: float
    condition_number: float
    isoscore: float
    john_u: float
    n_samples: int
    n_features: int
    effective_rank_reference: Reference | None = None
    participation_ratio_reference: Reference | None = None
    condition_number_reference: Reference | None = None
    isoscore_reference: Reference | None = None
    john_u_reference: Reference | None = None


@dataclasses.dataclass(frozen=True)
class CentredMoments:
    """Sample mean and centred-covariance eigenvalues on the host (internal, shared with ``distance``)."""

    mean: np.ndarray  # (d,) float64
    eigenvalues: np.ndarray  # (d,) float64, descending, divisor n
    rank: int
    tolerance: float
    n_samples: int
    n_features: int


# ------------------------------------------------------------------------------------ computation
def _column_mean(emb: Embeddings, block_size: int) -> Any:
    xp = emb.xp
    total = xp.zeros((emb.n_features,), dtype=emb.float, device=emb.device)
    for a, b in row_blocks(emb.n_samples, block_size):
        total = total + xp.sum(emb.rows(a, b), axis=0)
    return total / emb.n_samples


def _centred_gram(emb: Embeddings, mean: Any, block_size: int) -> Any:
    """``X_c X_cᵀ`` (n × n), accumulated over column blocks of the centred data."""
    xp = emb.xp
    n, d = emb.n_samples, emb.n_features
    gram = xp.zeros((n, n), dtype=emb.float, device=emb.device)
    col_block = max(1, (block_size * d) // max(n, 1))
    for a, b in row_blocks(d, col_block):
        c = emb.cols(a, b) - mean[None, a:b]
        gram = gram + c @ c.T
    return gram


def _use_gram(emb: Embeddings, method: str) -> bool:
    if method == "auto":
        return emb.n_samples < emb.n_features
    return method == "gram"


def centred_moments(emb: Embeddings, *, block_size: int | None = None,
                    method: str = "auto", state: Any = None) -> CentredMoments:
    """Mean and descending covariance eigenvalues (divisor n), from the cheaper of ``S`` or the Gram matrix.

    ``method`` is ``"auto"``, ``"covariance"`` or ``"gram"`` (the last two exist for tests). ``state``
    is the :class:`~gaussprobe.stats._moments.CovarianceState` of a row pass already made (used by the
    covariance route instead of a new pass).
    """
    xp = emb.xp
    n, d = emb.n_samples, emb.n_features
    bs = block_size or block_rows_for(d)
    if _use_gram(emb, method):
        mean = _column_mean(emb, bs)
        gram = _centred_gram(emb, mean, bs) / n
        eps = float(np.finfo(np.float64 if emb.dtype == "float64" else np.float32).eps)
        spec = spectrum(gram, xp, rtol=d * eps, vectors=False)
        lam = np.zeros(d)
        top = np.sort(to_numpy(spec.eigenvalues).astype(np.float64))[::-1]
        lam[: min(n, d)] = top[: min(n, d)]
        rank = min(spec.rank, d)
    else:
        state = covariance_state(emb, block_size=block_size) if state is None else state
        mean = state.mean
        spec = spectrum(state.covariance(ddof=0), xp, vectors=False)
        lam = np.sort(to_numpy(spec.eigenvalues).astype(np.float64))[::-1]
        rank = spec.rank
    return CentredMoments(mean=to_numpy(mean).astype(np.float64), eigenvalues=lam, rank=rank,
                          tolerance=float(spec.tolerance), n_samples=n, n_features=d)


def centred_traces(emb: Embeddings, *, block_size: int | None = None,
                   method: str = "auto") -> tuple[float, float]:
    """``(tr S, tr S²)`` of the centred covariance (divisor n) without an eigendecomposition.

    Uses ``tr S² = ‖S‖²_F`` when ``n ≥ d`` and ``tr S² = ‖X_c X_cᵀ‖²_F / n²`` when ``n < d``.
    """
    xp = emb.xp
    n, d = emb.n_samples, emb.n_features
    bs = block_size or block_rows_for(d)
    if _use_gram(emb, method):
        mean = _column_mean(emb, bs)
        gram = _centred_gram(emb, mean, bs)
        tr = xp.sum(xp.linalg.diagonal(gram)) / n
        tr2 = xp.sum(gram * gram) / n**2
    else:
        cov = covariance_state(emb, block_size=bs).covariance(ddof=0)
        tr = xp.sum(xp.linalg.diagonal(cov))
        tr2 = xp.sum(cov * cov)
    host = to_numpy(xp.stack([tr, tr2])).astype(np.float64)
    return float(host[0]), float(host[1])


# ------------------------------------------------------------------------------- host-side measures
def effective_rank(eigenvalues: Any) -> float:
    """``exp(−Σ p_i log p_i)`` with ``p_i = λ_i / Σ λ`` (``0 log 0 = 0``; negatives clipped to 0)."""
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    total = lam.sum()
    if not total > 0:
        return 0.0
    p = lam[lam > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def participation_ratio(eigenvalues: Any) -> float:
    """``(Σ λ)² / Σ λ²`` (negatives clipped to 0); between 1 and d."""
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    scale = lam.max() if lam.size and lam.max() > 0 else 1.0
    r = lam / scale  # avoids overflow of Σ λ² for huge scales
    s2 = float(np.sum(r * r))
    return float(np.sum(r) ** 2 / s2) if s2 > 0 else 0.0


def isoscore(eigenvalues_unbiased: Any) -> float:
    """IsoScore from covariance eigenvalues (divisor ``n − 1``; the score is scale-free).

    ``λ̂ = λ √d / ‖λ‖₂``, ``δ = ‖λ̂ − 1‖₂ / sqrt(2 (d − √d))``,
    ``score = ((d − δ² (d − √d))² − d) / (d (d − 1))``. Needs ``d ≥ 2``.
    """
    lam = np.clip(np.asarray(eigenvalues_unbiased, dtype=np.float64), 0.0, None)
    d = lam.size
    if d < 2:
        msg = f"IsoScore needs at least 2 features; got {d}."
        raise ValueError(msg)
    if not lam.max() > 0:
        msg = "IsoScore is undefined for a zero covariance (every row is identical)."
        raise ValueError(msg)
    lam = lam / lam.max()  # the score is scale-free; this avoids overflow in the norm
    sd = math.sqrt(d)
    lam_hat = lam * (sd / float(np.linalg.norm(lam)))
    delta = float(np.linalg.norm(lam_hat - 1.0)) / math.sqrt(2.0 * (d - sd))
    phi = (d - delta**2 * (d - sd)) ** 2
    return float((phi - d) / (d * (d - 1)))


def john_u(eigenvalues: Any) -> float:
    """John's ``U = (1/d) Σ (λ_i / λ̄ − 1)²`` with ``λ̄ = tr S / d``; 0 iff the spectrum is flat."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    mean = lam.mean()
    if not mean > 0:
        msg = "John's U is undefined for a zero covariance (every row is identical)."
        raise ValueError(msg)
    return float(np.mean((lam / mean - 1.0) ** 2))


def sphericity_from_u(u: float, *, n_samples: int, n_features: int) -> TestResult:
    """The Ledoit–Wolf (2002) z-statistic and upper-tail p-value for John's ``U``.

    With ``m = n_samples − 1`` degrees of freedom (the mean is estimated), ``m U − d → N(1, 4)`` under
    ``Σ = σ² I`` as ``m, d → ∞`` with ``d / m → c ∈ (0, ∞)``; ``z = (m U − d − 1) / 2``.
    """
    m = n_samples - 1
    z = (m * u - n_features - 1.0) / 2.0
    return TestResult(statistic=float(z), pvalue=float(normal_sf(z)), null_distribution=_NULL_SPHERICITY)


def require_variance(moments: CentredMoments, name: str = "x") -> None:
    """Raise when the centred covariance is zero (every row identical)."""
    if not float(np.clip(moments.eigenvalues, 0.0, None).sum()) > 0:
        msg = (f"`{name}` has zero variance (every row is identical); covariance-spectrum measures are "
               "undefined. Check that the encoder output is not constant.")
        raise ValueError(msg)


def measures_from_eigenvalues(moments: CentredMoments) -> dict[str, float]:
    """The scalar measures from host eigenvalues (shared by the data and the Gaussian reference)."""
    lam = moments.eigenvalues
    n, d = moments.n_samples, moments.n_features
    lam_min = float(lam[-1])
    cond = float(lam[0] / lam_min) if moments.rank == d and lam_min > 0 else math.inf
    return {"effective_rank": effective_rank(lam), "participation_ratio": participation_ratio(lam),
            "condition_number": cond, "isoscore": isoscore(lam * (n / (n - 1))),
            "john_u": john_u(np.clip(lam, 0.0, None))}


def spectrum_result(moments: CentredMoments) -> SpectrumResult:
    """All measures from host eigenvalues, with their Gaussian references (internal; shared with
    ``isotropic_distance``)."""
    from .._reference import spectrum_references

    lam = moments.eigenvalues
    n, d = moments.n_samples, moments.n_features
    ref = spectrum_references(n, d)
    return SpectrumResult(
        eigenvalues=lam.copy(),
        trace=float(np.clip(lam, 0.0, None).sum()),
        rank=moments.rank,
        rank_tolerance=moments.tolerance,
        **measures_from_eigenvalues(moments),
        n_samples=n,
        n_features=d,
        effective_rank_reference=ref.effective_rank,
        participation_ratio_reference=ref.participation_ratio,
        condition_number_reference=ref.condition_number,
        isoscore_reference=ref.isoscore,
        john_u_reference=ref.john_u,
    )


def unscale_spectrum(result: SpectrumResult, scale_exponent: int) -> SpectrumResult:
    """``result`` in the units of the input when it was computed on ``2**scale_exponent · x`` (see
    :class:`~gaussprobe._validation.Embeddings`): eigenvalues, trace and rank tolerance scale by the
    square; every other measure is scale-free."""
    if not scale_exponent:
        return result
    e = -2 * scale_exponent
    return dataclasses.replace(result, eigenvalues=ldexp(result.eigenvalues, e),
                               trace=ldexp(result.trace, e), rank_tolerance=ldexp(result.rank_tolerance, e))


def warn_if_rank_deficient(moments: CentredMoments, *, stacklevel: int = 3) -> None:
    """RankDeficiencyWarning when the rank is below ``min(d, n − 1)`` (below what n alone allows)."""
    n, d = moments.n_samples, moments.n_features
    expected = min(d, n - 1)
    if moments.rank < expected:
        msg = (f"The centred covariance has numerical rank {moments.rank} < min(n_features, n_samples - 1) "
               f"= {expected} (n_samples={n}, n_features={d}; eigenvalues below {moments.tolerance:.3g} "
               "count as zero): some directions carry no variance (e.g. a LayerNorm constraint or "
               "duplicated features). The spectrum measures and distances stay defined; the condition "
               "number is inf.")
        warnings.warn(msg, RankDeficiencyWarning, stacklevel=stacklevel)


def _check(x: ArrayLike, dtype: DTypeName) -> Embeddings:
    return check_embeddings(x, dtype=dtype, min_features=2)


# -------------------------------------------------------------------------------------- public API
def covariance_spectrum(x: ArrayLike, /, *, dtype: DTypeName = "float64",
                        block_size: int | None = None) -> SpectrumResult:
    r"""Isotropy measures of the centred covariance spectrum.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like). ``n_features ≥ 2``.
    dtype : {"float64", "float32"}
        Compute precision of the covariance (or Gram) matrix and its eigendecomposition.
    block_size : int, optional
        Rows per block when accumulating the covariance (memory bound).

    Returns
    -------
    SpectrumResult

    Warns
    -----
    RankDeficiencyWarning
        When the numerical rank is below ``min(n_features, n_samples − 1)``. ``n_samples ≤ n_features``
        alone does not warn: the rank is then at most ``n_samples − 1`` by construction.

    Notes
    -----
    All measures use the eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_d` of the centred covariance
    :math:`S = \frac1n \sum_i (x_i - \bar x)(x_i - \bar x)^\top`; negative rounding values count as 0.

    * effective rank (Roy & Vetterli 2007) :math:`\exp(-\sum_i p_i \log p_i)`, :math:`p_i = \lambda_i /
      \sum_j \lambda_j`. Roy & Vetterli define it on the singular values of a matrix; here it is applied
      to covariance eigenvalues (squared singular values of :math:`X_c / \sqrt n`). "RankMe"
      (Garrido et al. 2023) is the same formula on the singular values of the *uncentred* embedding
      matrix, so its values differ;
    * participation ratio :math:`(\sum\lambda)^2 / \sum\lambda^2`;
    * condition number :math:`\lambda_1/\lambda_d`, ``inf`` when the numerical rank is below :math:`d`;
    * numerical rank: eigenvalues above :math:`d\,\epsilon\,\lambda_1`;
    * IsoScore (Rudman et al. 2022), with :math:`\lambda` from the covariance with divisor :math:`n-1`
      (the score is scale-free, so the divisor does not change it): :math:`\hat\lambda = \lambda\sqrt d /
      \|\lambda\|_2`, :math:`\delta = \|\hat\lambda - 1\|_2 / \sqrt{2(d - \sqrt d)}`, score
      :math:`= ((d - \delta^2(d - \sqrt d))^2 - d) / (d(d-1))`. It is 1 for a flat spectrum and 0 for
      rank one; a finite isotropic Gaussian sample scores below 1 (about 0.84 at n=2000, d=384);
    * John's :math:`U = \frac1d \operatorname{tr}[(S/\bar\lambda - I)^2]`, :math:`\bar\lambda =
      \operatorname{tr}S/d` (see :func:`sphericity_test`).

    For an isotropic Gaussian the population values are :math:`d` (effective rank, participation
    ratio), 1 (condition number, IsoScore) and 0 (:math:`U`); finite samples are biased away from them
    (Marchenko–Pastur spreading, of order :math:`d/n`). The ``*_reference`` fields give what an exact
    isotropic Gaussian sample of the same ``(n, d)`` yields (mean and 95% band, from exact Wishart
    spectra drawn with the Dumitriu–Edelman bidiagonal model; :mod:`gaussprobe._reference`).

    References
    ----------
    .. [1] O. Roy and M. Vetterli, "The effective rank: a measure of effective dimensionality",
       EUSIPCO 2007.
    .. [2] W. Rudman, N. Gillman, T. Rayne and C. Eickhoff, "IsoScore: measuring the uniformity of
       embedding space utilization", Findings of ACL 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.spectrum import covariance_spectrum
    >>> x = np.random.default_rng(0).standard_normal((4000, 8))
    >>> print(f"{covariance_spectrum(x).effective_rank:.2f}")
    7.99
    """
    emb = _check(x, dtype)
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="covariance_spectrum",
                 block_size=block_size)
    moments = centred_moments(emb, block_size=block_size)
    require_variance(moments)
    warn_if_rank_deficient(moments)
    return unscale_spectrum(spectrum_result(moments), emb.scale_exponent)


def sphericity_test(x: ArrayLike, /, *, dtype: DTypeName = "float64",
                    block_size: int | None = None) -> TestResult:
    r"""John's test of sphericity :math:`H_0: \Sigma = \sigma^2 I`, valid when ``n_features > n_samples``.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row. ``n_features ≥ 2``.
    dtype : {"float64", "float32"}
        Compute precision.
    block_size : int, optional
        Rows per block (memory bound).

    Returns
    -------
    TestResult
        ``statistic`` is the standardised :math:`z`; ``pvalue`` is its upper-tail normal probability.

    Notes
    -----
    With :math:`S` the centred sample covariance (any divisor: :math:`U` is scale-free),

    .. math:: U = \frac1d \operatorname{tr}\Big[\Big(\frac{S}{\operatorname{tr}(S)/d} - I\Big)^2\Big]
              = \frac{d\,\operatorname{tr}(S^2)}{(\operatorname{tr} S)^2} - 1 .

    Ledoit & Wolf (2002, Theorem 2 and Proposition 2) show that under :math:`H_0` and Gaussian data,
    :math:`m U - d \to N(1, 4)` as :math:`m, d \to \infty` with :math:`d/m \to c \in (0, \infty)`, where
    :math:`m` is the number of degrees of freedom of :math:`S`: :math:`m = n - 1` here because the mean
    is estimated (their sample has :math:`m + 1` observations). The statistic reported is
    :math:`z = (m U - d - 1)/2` and the p-value is :math:`P(N(0,1) > z)`: one-sided, because any
    departure from sphericity increases :math:`U` (:math:`U \ge 0`, with equality iff :math:`S \propto
    I`). Under fixed :math:`d` and :math:`n \to \infty` the same limit holds (John 1972:
    :math:`m d U / 2 \to \chi^2_{d(d+1)/2 - 1}`, whose standardisation tends to the same normal).

    :math:`\operatorname{tr}(S^2)` is computed as :math:`\|S\|_F^2` when :math:`n \ge d` and as
    :math:`\|X_c X_c^\top\|_F^2 / n^2` when :math:`n < d`, whichever matrix is smaller. The test
    assumes Gaussian rows: heavy-tailed isotropic data inflate :math:`U` and reject (the statistic
    measures the spread of the spectrum, which fourth moments also feed). The measured type-I error
    is in ``docs/statistics/distance.md``.

    References
    ----------
    .. [1] O. Ledoit and M. Wolf, "Some hypothesis tests for the covariance matrix when the dimension
       is large compared to the sample size", Annals of Statistics 30(4), 1081-1102, 2002.
    .. [2] S. John, "The distribution of a statistic used for testing sphericity of normal
       distributions", Biometrika 59(1), 169-173, 1972.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.spectrum import sphericity_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((50, 100)) * np.linspace(1.0, 3.0, 100)
    >>> print(f"{sphericity_test(x).pvalue:.1e}")
    2.0e-15
    """
    emb = _check(x, dtype)
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="sphericity_test",
                 block_size=block_size)
    tr, tr2 = centred_traces(emb, block_size=block_size)
    if not tr > 0:
        msg = "`x` has zero variance (every row is identical); sphericity is undefined."
        raise ValueError(msg)
    d = emb.n_features
    u = max(d * tr2 / tr**2 - 1.0, 0.0)
    return sphericity_from_u(u, n_samples=emb.n_samples, n_features=d)


__all__ = [
    "SpectrumResult",
    "covariance_spectrum",
    "effective_rank",
    "isoscore",
    "john_u",
    "participation_ratio",
    "sphericity_test",
]
