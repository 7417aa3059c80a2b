"""What an exact isotropic Gaussian sample of the same ``(n, d)`` gives: the reference beside each value.

At ``n ~ d`` the sample spectrum of a Gaussian follows Marchenko–Pastur, not the population's, so a flat
population target ("close to d", "close to 1", "0 = isotropic") is not what Gaussian data produce. Each
function here returns, per ``(n, d)``, the null distribution of a measure for ``n`` i.i.d. ``N(0, I_d)``
rows, summarised as a :class:`Reference` (mean and central 95% band). The computations are seeded from
``(n, d)`` (reports are reproducible) and cached per ``(n, d)`` with :func:`functools.lru_cache`.

* Spectrum measures and the Bures–Wasserstein distance: exact Wishart spectra from the Dumitriu–Edelman
  bidiagonal model (``O(d²)`` per draw instead of ``O(n d²)``), fed to the *same* functions that compute
  each measure from the data's eigenvalues, with the sample mean drawn from its exact law.
* Thin-shell CV: ``n`` i.i.d. chi(d) norms per replicate for small ``n``; for large ``n`` the exact
  normal limit of (mean norm, mean squared norm) with the exact chi(d) moments.
* Pass fractions of the per-coordinate tests: binomial counts with the tests' own null pass probability
  at this ``n`` (simulated where the asymptotic level is off).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

from ._results import Result

#: Probability content of the reported band (its ends are the 2.5% and 97.5% points).
LEVEL = 0.95
#: Below this many draws the band is a normal prediction interval instead of empirical quantiles.
QUANTILE_MIN_DRAWS = 200
#: Size of the work per spectrum reference: ``n_draws ≈ SPECTRUM_BUDGET / q²`` with ``q = min(n - 1, d)``.
SPECTRUM_BUDGET = 2**24
#: Bounds of the number of Wishart spectra drawn per ``(n, d)``.
SPECTRUM_DRAWS = (24, 400)
#: Up to this many chi(d) draws (``n · replicates``) the thin-shell null is simulated exactly.
THIN_SHELL_EXACT_BUDGET = 2**20
#: Replicates of the thin-shell null (exact simulation: at least 200; normal limit: this many).
THIN_SHELL_DRAWS = 4000
#: Sample size from which the D'Agostino–Pearson test is taken at its asymptotic level (measured
#: calibration in ``docs/statistics/coordinates.md``); below it the null pass probability is simulated.
DP_ASYMPTOTIC_SAMPLES = 1000
#: Normal values drawn to simulate the D'Agostino–Pearson null pass probability at one ``n``.
DP_BUDGET = 2**23
#: At most this many simulated samples (Monte-Carlo error of the pass probability about 0.0006).
DP_MAX_DRAWS = 2**17

_TAG_SPECTRUM, _TAG_THIN_SHELL, _TAG_DP = 1, 2, 3


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Reference(Result):
    """Null distribution of one measure for an exact isotropic Gaussian sample of the same ``(n, d)``.

    Attributes
    ----------
    mean : float
        Mean of the measure under the null.
    low, high : float
        The central 95% band: the measure of an exactly Gaussian sample falls below ``low`` and above
        ``high`` with probability about 2.5% each.
    method : str
        How the null was obtained (e.g. Monte Carlo on exact Wishart spectra, a binomial law).
    n_draws : int
        Monte-Carlo draws behind ``mean`` and the band (0 for a closed form).
    """

    mean: float
    low: float
    high: float
    method: str
    n_draws: int

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in ``[low, high]``."""
        return bool(self.low <= value <= self.high)


def from_draws(values: Any, method: str) -> Reference:
    """A :class:`Reference` from null draws: empirical 2.5%/97.5% quantiles when there are at least
    :data:`QUANTILE_MIN_DRAWS`, otherwise the normal prediction interval ``mean ± t_{R-1} s sqrt(1 + 1/R)``
    (which also covers the Monte-Carlo error of the mean and standard deviation)."""
    v = np.asarray(values, dtype=np.float64)
    r = int(v.size)
    if not np.all(np.isfinite(v)):
        # e.g. the condition number of a rank-deficient (n <= d) covariance: inf in every draw
        inf = math.inf if np.all(v == math.inf) else math.nan
        return Reference(mean=inf, low=inf, high=inf, method=method, n_draws=r)
    mean = float(v.mean())
    if r >= QUANTILE_MIN_DRAWS:
        lo, hi = np.quantile(v, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        return Reference(mean=mean, low=float(lo), high=float(hi),
                         method=f"{method}; band: empirical quantiles", n_draws=r)
    from scipy import special

    half = float(special.stdtrit(r - 1, (1 + LEVEL) / 2)) * float(v.std(ddof=1)) * math.sqrt(1 + 1 / r)
    return Reference(mean=mean, low=mean - half, high=mean + half,
                     method=f"{method}; band: normal prediction interval", n_draws=r)


def _generator(n: int, d: int, tag: int) -> np.random.Generator:
    return np.random.default_rng([int(n), int(d), tag, 0x6A55])


# ------------------------------------------------------------------------------ Wishart spectra
def wishart_eigenvalues(dof: int, d: int, gen: np.random.Generator) -> np.ndarray:
    """Eigenvalues of ``W ~ Wishart_d(dof, I)`` (descending, length ``d``, zeros where ``dof < d``).

    Dumitriu & Edelman (2002), β = 1: the non-zero eigenvalues of ``W`` are the squared singular values
    of a ``q × q`` lower-bidiagonal ``B`` (``q = min(dof, d)``, ``p = max(dof, d)``) with independent
    ``B_ii = χ_{p-i}`` (``i = 0..q-1``) and ``B_{i+1,i} = χ_{q-1-i}``; they are computed as the
    eigenvalues of the tridiagonal ``B Bᵀ`` (LAPACK ``sterf``, ``O(q²)``). The absolute rounding error is
    about ``eps · λ_max``, as for the data's own dense eigendecomposition.
    """
    from scipy.linalg import eigvalsh_tridiagonal

    p, q = max(dof, d), min(dof, d)
    lam = np.zeros(d)
    if q == 0:
        return lam
    a2 = gen.chisquare(p - np.arange(q, dtype=np.float64))
    if q == 1:
        lam[0] = a2[0]
        return lam
    b2 = gen.chisquare(np.arange(q - 1, 0, -1, dtype=np.float64))
    diag = a2.copy()
    diag[1:] += b2
    off = np.sqrt(a2[:-1] * b2)
    w = eigvalsh_tridiagonal(diag, off, lapack_driver="sterf")
    lam[:q] = np.clip(w, 0.0, None)[::-1]
    return lam


def spectrum_draws(n: int, d: int) -> int:
    """Wishart spectra drawn per ``(n, d)``: ``2**24 // q²`` clipped to [24, 400], ``q = min(n − 1, d)``
    (400 up to ``q = 204``, 113 at ``q = 384``, 28 at ``q = 768``)."""
    q = max(1, min(n - 1, d))
    lo, hi = SPECTRUM_DRAWS
    return int(min(hi, max(lo, SPECTRUM_BUDGET // (q * q))))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpectrumReferences:
    """References of every spectrum measure and of the Bures–Wasserstein parts at one ``(n, d)``."""

    effective_rank: Reference
    participation_ratio: Reference
    condition_number: Reference
    isoscore: Reference
    john_u: Reference
    bw_normalized: Reference
    bw_mean_part: Reference
    bw_anisotropy_part: Reference


@functools.lru_cache(maxsize=64)
def spectrum_references(n: int, d: int) -> SpectrumReferences:
    """Null distributions of the spectrum measures and the normalised Bures–Wasserstein distance.

    For ``n`` i.i.d. ``N(0, I_d)`` rows the centred scatter matrix is ``Wishart_d(n − 1, I)`` and the
    sample mean is ``N(0, I/n)``, independent of it. Each draw takes the covariance eigenvalues
    ``λ = eig(W)/n`` (divisor ``n``, as :func:`~gaussprobe.stats.spectrum.centred_moments`) from
    :func:`wishart_eigenvalues` and ``‖x̄‖² = χ²_d / n``, and applies the functions that compute the
    measures from the data (:func:`~gaussprobe.stats.spectrum.spectrum_result` and the
    Bures–Wasserstein formula). Every measure is scale-free, so this is the null of any
    ``N(μ, σ² I)`` for the spectrum and of any ``N(0, σ² I)`` for the distance.
    """
    from .stats.distance import _bw_from_eigenvalues
    from .stats.spectrum import CentredMoments, measures_from_eigenvalues

    gen = _generator(n, d, _TAG_SPECTRUM)
    r = spectrum_draws(n, d)
    m = n - 1
    rank = min(m, d)
    cols: dict[str, list[float]] = {k: [] for k in ("effective_rank", "participation_ratio",
                                                    "condition_number", "isoscore", "john_u",
                                                    "bw_normalized", "bw_mean_part",
                                                    "bw_anisotropy_part")}
    for _ in range(r):
        lam = wishart_eigenvalues(m, d, gen) / n
        mean_sq = float(gen.chisquare(d)) / n
        moments = CentredMoments(mean=np.zeros(0), eigenvalues=lam, rank=rank, tolerance=0.0,
                                 n_samples=n, n_features=d)
        meas = measures_from_eigenvalues(moments)
        bw = _bw_from_eigenvalues(mean_sq, lam)
        for key in ("effective_rank", "participation_ratio", "condition_number", "isoscore", "john_u"):
            cols[key].append(meas[key])
        cols["bw_normalized"].append(bw.normalized)
        cols["bw_mean_part"].append(bw.mean_part)
        cols["bw_anisotropy_part"].append(bw.anisotropy_part)
    method = (f"monte-carlo: {r} exact Gaussian samples of n={n}, d={d} "
              "(Wishart spectra, Dumitriu-Edelman bidiagonal model)")
    return SpectrumReferences(**{k: from_draws(v, method) for k, v in cols.items()})


# ------------------------------------------------------------------------------ thin shell
@functools.lru_cache(maxsize=64)
def cv_ratio_reference(n: int, d: int) -> Reference:
    """Null distribution of the thin shell's ``cv_ratio = CV / CV_chi(d)`` for ``n`` Gaussian rows.

    The centred norms ``‖x_i − x̄‖`` of an ``N(μ, σ² I_d)`` sample are each ``σ (1 − 1/n)^{1/2} χ_d``
    (the uncentred norms of ``N(0, σ² I_d)`` are exactly i.i.d. ``σ χ_d``); their correlations are
    ``O(1/n²)`` and the CV is scale-free, so the null is that of the CV of ``n`` i.i.d. ``χ_d`` values.
    It is simulated exactly (``n`` chi(d) draws per replicate) while ``n · replicates ≤ 2**20`` with at
    least 200 replicates. For larger ``n`` the CV (ddof 0) is ``sqrt(b/a² − 1)`` with ``a`` and ``b``
    the means of ``r`` and ``r²``; their exact normal limit (``E r = E χ_d``, ``E r² = d``,
    ``Var r = (E r)² CV_d²``, ``Cov(r, r²) = E r``, ``Var r² = 2d``, all divided by ``n``) is sampled
    instead, which keeps the ``O(1/n)`` bias of the CV.
    """
    from .stats.thin_shell import chi_cv, chi_mean

    gen = _generator(n, d, _TAG_THIN_SHELL)
    c = chi_cv(d)
    reps = THIN_SHELL_EXACT_BUDGET // max(n, 1)
    if reps >= QUANTILE_MIN_DRAWS:
        reps = min(reps, THIN_SHELL_DRAWS)
        values = np.empty(reps)
        block = max(1, 2**16 // n)
        for a in range(0, reps, block):
            b = min(reps, a + block)
            r = np.sqrt(gen.chisquare(float(d), size=(b - a, n)))
            values[a:b] = r.std(axis=1) / r.mean(axis=1)
        method = f"monte-carlo: {reps} samples of n={n} chi({d}) norms"
        return from_draws(values / c, method)
    mu = chi_mean(d)
    cov = np.array([[mu * mu * c * c, mu], [mu, 2.0 * d]]) / n
    # relative deviations of a = mean r and b = mean r² (scaled to avoid cancellation for large d)
    scale = np.array([mu, float(d)])
    z = gen.multivariate_normal(np.zeros(2), cov / np.outer(scale, scale), size=THIN_SHELL_DRAWS,
                                method="cholesky")
    da, db = z[:, 0], z[:, 1]
    # CV² = b / a² − 1 = (1 + c²)(1 + δb)/(1 + δa)² − 1, evaluated as a sum of small terms
    ratio = (1.0 + db) / (1.0 + da) ** 2
    cv2 = c * c * ratio + (ratio - 1.0)
    values = np.sqrt(np.clip(cv2, 0.0, None)) / c
    method = (f"monte-carlo: {THIN_SHELL_DRAWS} draws of the normal limit of (mean, mean square) of "
              f"n={n} chi({d}) norms")
    return from_draws(values, method)


# ------------------------------------------------------------------------------ pass fractions
@functools.lru_cache(maxsize=64)
def dp_pass_probability(n: int, alpha: float) -> tuple[float, int]:
    """``(q, R)``: probability that the D'Agostino–Pearson p-value of ``n`` Gaussian values exceeds
    ``alpha``, and the number of simulated samples behind it (0: the asymptotic ``q = 1 − alpha``).

    The χ²(2) null of ``K²`` is liberal below about 1000 samples (``q ≈ 0.942`` at ``n = 10``, 0.947
    at ``n = 200`` for ``alpha = 0.05``), so there ``q`` is simulated: ``min(2**23 // n, 2**17)``
    samples of size ``n`` through the same skewness, kurtosis and p-value functions as the data.
    """
    if n >= DP_ASYMPTOTIC_SAMPLES:
        return 1.0 - alpha, 0
    from .stats.univariate import dagostino_pearson, k2_pvalue

    gen = _generator(n, round(alpha * 1e9), _TAG_DP)
    reps = min(max(DP_BUDGET // n, 1), DP_MAX_DRAWS)
    passed = 0
    block = max(1, 2**20 // n)
    for a in range(0, reps, block):
        b = min(reps, a + block)
        z = gen.standard_normal((b - a, n))
        z -= z.mean(axis=1, keepdims=True)
        z2 = z * z
        m2 = z2.mean(axis=1)
        m3 = np.einsum("ij,ij->i", z2, z) / n
        m4 = np.einsum("ij,ij->i", z2, z2) / n
        k2 = dagostino_pearson(np, m3 / m2**1.5, m4 / (m2 * m2), n).statistic
        passed += int(np.sum(k2_pvalue(k2) > alpha))
    return passed / reps, reps


def _binomial_band(k: int, q: float, reps: int) -> tuple[float, float]:
    """Central 95% range of the pass count of ``k`` tests: binomial(k, q), or, when ``q`` was estimated
    from ``reps`` simulated tests, the beta-binomial predictive law (Jeffreys prior), which adds the
    Monte-Carlo error of ``q``."""
    from scipy import special

    lo_p, hi_p = (1 - LEVEL) / 2, (1 + LEVEL) / 2
    counts = np.arange(k + 1, dtype=np.float64)
    if reps:
        a, b = q * reps + 0.5, (1 - q) * reps + 0.5
        logp = (special.gammaln(k + 1) - special.gammaln(counts + 1) - special.gammaln(k - counts + 1)
                + special.betaln(counts + a, k - counts + b) - special.betaln(a, b))
    else:
        with np.errstate(divide="ignore"):
            logp = (special.gammaln(k + 1) - special.gammaln(counts + 1) - special.gammaln(k - counts + 1)
                    + counts * np.log(q) + (k - counts) * np.log1p(-q))
    cdf = np.cumsum(np.exp(logp - logp.max()))
    cdf /= cdf[-1]
    lo = int(np.searchsorted(cdf, lo_p))
    hi = int(np.searchsorted(cdf, hi_p))
    return lo / k, min(hi, k) / k


def pass_fraction_reference(k: int, q: float, reps: int, what: str) -> Reference:
    """Reference of the fraction of ``k`` independent tests that pass, each with probability ``q``."""
    lo, hi = _binomial_band(k, q, reps)
    law = (f"binomial({k}, {q:.4g})" if not reps else
           f"beta-binomial: {k} tests, pass probability {q:.4g} from {reps} simulated samples")
    return Reference(mean=q, low=lo, high=hi, method=f"{law} ({what})", n_draws=reps)


@functools.lru_cache(maxsize=64)
def coordinate_pass_references(n: int, d: int, alpha: float) -> tuple[Reference, Reference]:
    """``(AD, DP)`` references of the per-coordinate pass fractions of an isotropic Gaussian sample.

    Its coordinates are independent Gaussian columns, so each pass count is binomial. The
    Anderson–Darling critical value holds its level at every ``n ≥ 8`` (measured: within 0.0006 of
    ``1 − alpha`` at ``alpha = 0.05``), so ``q_AD = 1 − alpha``; ``q_DP`` is
    :func:`dp_pass_probability`.
    """
    ad = pass_fraction_reference(d, 1.0 - alpha, 0, "Anderson-Darling level, calibrated for n >= 8")
    q, reps = dp_pass_probability(n, alpha)
    dp_what = ("D'Agostino-Pearson asymptotic level" if not reps else
               "D'Agostino-Pearson null pass probability at this n")
    return ad, pass_fraction_reference(d, q, reps, dp_what)


@functools.lru_cache(maxsize=64)
def rejected_fraction_reference(n: int, k: int, alpha: float) -> Reference:
    """Reference of the fraction of ``k`` projections whose D'Agostino–Pearson p-value is below ``alpha``.

    Orthonormal directions (``k ≤ d``) project an isotropic Gaussian onto ``k`` independent Gaussian
    samples, so the count is binomial with the DP null rejection probability at this ``n``. With more
    directions than features the projections are dependent and the true band is wider.
    """
    q, reps = dp_pass_probability(n, alpha)
    lo, hi = _binomial_band(k, 1.0 - q, reps)
    law = (f"binomial({k}, {1 - q:.4g})" if not reps else
           f"beta-binomial: {k} directions, rejection probability {1 - q:.4g} from {reps} simulated samples")
    return Reference(mean=1.0 - q, low=lo, high=hi, method=f"{law} (independent directions)", n_draws=reps)


__all__ = [
    "LEVEL",
    "Reference",
    "SpectrumReferences",
    "coordinate_pass_references",
    "cv_ratio_reference",
    "dp_pass_probability",
    "from_draws",
    "rejected_fraction_reference",
    "spectrum_references",
    "wishart_eigenvalues",
]
