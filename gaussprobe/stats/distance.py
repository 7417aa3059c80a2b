"""How far is a sample from the nearest isotropic Gaussian ``N(0, σ² I)``?

Three complementary answers, each with its noise floor:

* the closed-form Bures–Wasserstein distance between the Gaussian with the sample's mean and covariance
  and the closest ``N(0, σ² I)``, split into a mean ("narrow cone") part and an anisotropy part;
* the covariance-spectrum measures and John's sphericity test (:mod:`gaussprobe.stats.spectrum`);
* a sliced 2-Wasserstein distance between standardised random projections and ``N(0, 1)``, which sees
  non-Gaussian *shape* (tails, skew, multimodality) that the first two cannot, with a Monte-Carlo null
  reference computed for the same ``n`` and the same directions.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from .._backend import to_numpy
from .._budget import check_budget
from .._random import as_generator, has_orthogonal_columns, random_directions
from .._reference import Reference
from .._results import Result, TestResult
from .._typing import ArrayLike, DTypeName, RNGLike
from .._validation import Embeddings, check_embeddings, check_positive_int, ldexp
from .spectrum import (
    CentredMoments,
    SpectrumResult,
    john_u,
    require_variance,
    spectrum_result,
    sphericity_from_u,
    unscale_spectrum,
    warn_if_rank_deficient,
)

#: Budget of null draws (``n · n_projections · n_null``) used when ``n_null=None``.
NULL_DRAW_BUDGET = 2**25
#: Bounds of the automatic number of null replicates.
N_NULL_RANGE = (2, 99)
_NULL_MEMORY_BUDGET = 2**30
_NULL_MAX_WORKERS = 8


def auto_n_null(n_samples: int, n_projections: int) -> int:
    """Null replicates chosen when ``n_null=None``: ``2**25 // (n · k)`` clipped to ``[2, 99]``.

    This keeps the null near 2**25 (3.4e7) float32 normal draws, about 1-2 s, unless that would leave
    fewer than 2 replicates (at ``n · k > 1.7e7``, e.g. ``n = 10⁵``, ``k = 256``, where one replicate
    takes about 1 s); 99 replicates give a p-value resolution of 0.01.
    """
    lo, hi = N_NULL_RANGE
    return int(min(hi, max(lo, NULL_DRAW_BUDGET // max(1, n_samples * n_projections))))


def _resolve_n_null(n_null: int | None, n: int, k: int) -> int:
    if n_null is None:
        return auto_n_null(n, k)
    return check_positive_int(n_null, "n_null", minimum=0)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class BuresWassersteinResult(Result):
    """2-Wasserstein distance from ``N(μ, Σ)`` to the closest ``N(0, σ² I)`` (closed form).

    Attributes
    ----------
    w2 : float
        The minimal distance :math:`\\sqrt{\\|\\mu\\|^2 + \\operatorname{tr}\\Sigma -
        (\\operatorname{tr}\\Sigma^{1/2})^2/d}`, in the units of the data.
    w2_squared : float
        Its square.
    sigma : float
        The minimising scale :math:`\\sigma^* = \\operatorname{tr}(\\Sigma^{1/2})/d`.
    second_moment : float
        :math:`E\\|x\\|^2 = \\|\\mu\\|^2 + \\operatorname{tr}\\Sigma` (the squared distance to
        :math:`\\sigma = 0`), the normaliser.
    normalized : float
        ``w2_squared / second_moment``, in [0, 1]: 0 for an isotropic centred Gaussian, 1 for a point
        mass away from the origin.
    mean_part : float
        :math:`\\|\\mu\\|^2 / E\\|x\\|^2`: the share due to the mean offset (the "narrow cone").
    anisotropy_part : float
        :math:`(\\operatorname{tr}\\Sigma - (\\operatorname{tr}\\Sigma^{1/2})^2/d) / E\\|x\\|^2
        = \\sum_i(\\sqrt{\\lambda_i} - \\sigma^*)^2 / E\\|x\\|^2`: the share due to an uneven spectrum.
        ``normalized = mean_part + anisotropy_part``.
    normalized_reference, mean_part_reference, anisotropy_part_reference : Reference or None
        What an exact isotropic Gaussian sample of the same ``(n, d)`` gives (mean and central 95%
        band; not 0: the sample mean and the Marchenko–Pastur spread of the eigenvalues), set by
        :func:`isotropic_distance`; None from :func:`bures_wasserstein_isotropic`, which has no ``n``.
    """

    w2: float
    w2_squared: float
    sigma: float
    second_moment: float
    normalized: float
    mean_part: float
    anisotropy_part: float
    normalized_reference: Reference | None = None
    mean_part_reference: Reference | None = None
    anisotropy_part_reference: Reference | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SlicedWassersteinResult(Result):
    """Sliced 2-Wasserstein distance between standardised projections and ``N(0, 1)``.

    Attributes
    ----------
    statistic : float
        Mean over directions of the squared distance :math:`W_2^2(\\hat F_{z_j}, N(0,1))`.
    distance : float
        ``sqrt(statistic)`` (the sliced :math:`W_2`).
    per_direction : ndarray of shape (n_projections,)
        The squared distance of each direction.
    quantization_floor : float
        :math:`C_n`, the smallest squared distance any ``n``-point sample can have from ``N(0, 1)``;
        every entry of ``per_direction`` is at least this.
    null_mean, null_std, null_quantile_95 : float or None
        Mean, standard deviation (``ddof=1``) and 95% quantile of ``statistic`` over ``n_null``
        Gaussian samples with the same ``n`` and the same directions (None when ``n_null`` is 0; the
        standard deviation needs ``n_null ≥ 2``).
    null_statistics : ndarray or None
        The ``n_null`` null replicates of ``statistic``.
    excess_ratio : float or None
        ``statistic / null_mean``: about 1 for Gaussian data.
    pvalue : float or None
        p-value of the statistic under the isotropic Gaussian null (None when ``n_null`` is 0).
        ``pvalue_method`` says how it was obtained:

        * ``"pooled directions"``: a permutation test of the mean of the ``k`` observed
          per-direction values against the pool of them and the ``k · n_null`` per-direction values
          of the null replicates (Besag & Clifford's sequential Monte-Carlo p-value over random
          subsets of the pool, :func:`pooled_permutation_pvalue`; smallest value 1/5000).
          Exact when the directions are orthogonal (the default for ``k ≤ d``): the pooled values
          are then i.i.d. under the null. With independent direction frames (``k > d``) the values
          of different frames are weakly dependent (covariance of order the sixth power of the
          directions' cosines); it is used where that inflates the variance of the mean by at most
          2% (:func:`direction_dependence`; e.g. d = 64, k = 256).
        * ``"replicates"``: the rank of the statistic among the ``n_null`` replicates,
          ``(1 + #{null ≥ statistic}) / (1 + n_null)``, exact for any directions but never below
          ``1 / (1 + n_null)``.

        Under an anisotropic Gaussian every projection is still Gaussian, so the per-direction
        values keep their null mean, but projections on different directions are correlated, which
        inflates the variance of their mean: the p-value is calibrated only under isotropy (the
        measured rejection rates are in the documentation).
    n_projections, n_null, n_samples : int
        Number of directions, null replicates and rows.
    pvalue_method : str or None
        ``"pooled directions"``, ``"replicates"`` or None (no null).
    """

    statistic: float
    distance: float
    per_direction: np.ndarray
    quantization_floor: float
    null_mean: float | None
    null_std: float | None
    null_quantile_95: float | None
    null_statistics: np.ndarray | None
    excess_ratio: float | None
    pvalue: float | None
    n_projections: int
    n_null: int
    n_samples: int
    pvalue_method: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class IsotropicDistanceResult(Result):
    """Distance of a sample from the nearest isotropic Gaussian (see :func:`isotropic_distance`).

    Attributes
    ----------
    bures_wasserstein : BuresWassersteinResult
        Closed-form distance of the moment-matched Gaussian to the closest ``N(0, σ² I)``.
    spectrum : SpectrumResult
        Effective rank, participation ratio, condition number, numerical rank, IsoScore, John's U.
    sphericity : TestResult
        John's sphericity test in the Ledoit–Wolf form (valid for ``n_features > n_samples``).
    sliced : SlicedWassersteinResult
        Sliced :math:`W_2` of standardised projections to ``N(0, 1)`` with its Monte-Carlo null.
    rank : int
        Numerical rank of the centred covariance (also in ``spectrum``).
    n_samples, n_features : int
        Shape of the input.
    """

    bures_wasserstein: BuresWassersteinResult
    spectrum: SpectrumResult
    sphericity: TestResult
    sliced: SlicedWassersteinResult
    rank: int
    n_samples: int
    n_features: int


# -------------------------------------------------------------------------- Bures–Wasserstein
def _bw_from_eigenvalues(mean_sq_norm: float, eigenvalues: np.ndarray) -> BuresWassersteinResult:
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    d = lam.size
    root = np.sqrt(lam)
    sigma = float(root.sum() / d)
    anisotropy = float(np.sum((root - sigma) ** 2))  # = tr Σ − (tr Σ^{1/2})² / d, without cancellation
    second = float(mean_sq_norm + lam.sum())
    w2sq = float(mean_sq_norm + anisotropy)
    if not second > 0:
        msg = ("the distance to N(0, σ²I) is not normalisable for a point mass at the origin "
               "(zero mean and zero covariance).")
        raise ValueError(msg)
    return BuresWassersteinResult(
        w2=math.sqrt(w2sq), w2_squared=w2sq, sigma=sigma, second_moment=second,
        normalized=w2sq / second, mean_part=float(mean_sq_norm) / second,
        anisotropy_part=anisotropy / second,
    )


def _with_reference(bw: BuresWassersteinResult, n: int, d: int) -> BuresWassersteinResult:
    """``bw`` with the references of an exact isotropic Gaussian sample of size ``(n, d)``."""
    from .._reference import spectrum_references

    ref = spectrum_references(n, d)
    return dataclasses.replace(bw, normalized_reference=ref.bw_normalized,
                               mean_part_reference=ref.bw_mean_part,
                               anisotropy_part_reference=ref.bw_anisotropy_part)


def _unscale_bw(bw: BuresWassersteinResult, scale_exponent: int) -> BuresWassersteinResult:
    """``bw`` in the units of the input when it was computed on ``2**scale_exponent · x``: distances
    and scales divide by the factor, squared ones by its square; the normalised parts are scale-free."""
    if not scale_exponent:
        return bw
    e = -scale_exponent
    return dataclasses.replace(bw, w2=ldexp(bw.w2, e), sigma=ldexp(bw.sigma, e),
                               w2_squared=ldexp(bw.w2_squared, 2 * e),
                               second_moment=ldexp(bw.second_moment, 2 * e))


def bures_wasserstein_isotropic(mean: ArrayLike, covariance: ArrayLike, /) -> BuresWassersteinResult:
    r"""2-Wasserstein distance from :math:`N(\mu, \Sigma)` to the closest :math:`N(0, \sigma^2 I)`.

    Parameters
    ----------
    mean : array of shape (d,)
        :math:`\mu` (host or device array).
    covariance : array of shape (d, d)
        :math:`\Sigma`, symmetric positive semi-definite.

    Returns
    -------
    BuresWassersteinResult

    Notes
    -----
    For Gaussians, :math:`W_2^2(N(\mu_1,\Sigma_1), N(\mu_2,\Sigma_2)) = \|\mu_1-\mu_2\|^2 +
    \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2 - 2\operatorname{tr}(\Sigma_2^{1/2}\Sigma_1
    \Sigma_2^{1/2})^{1/2}` (the Bures–Wasserstein formula). With :math:`\Sigma_2 = \sigma^2 I` and
    :math:`\mu_2 = 0`,

    .. math:: W_2^2(\sigma) = \|\mu\|^2 + \operatorname{tr}\Sigma + d\sigma^2 - 2\sigma
              \operatorname{tr}\Sigma^{1/2},

    a parabola in :math:`\sigma` minimised at :math:`\sigma^* = \operatorname{tr}(\Sigma^{1/2})/d`, with
    minimum :math:`\|\mu\|^2 + \operatorname{tr}\Sigma - (\operatorname{tr}\Sigma^{1/2})^2/d =
    \|\mu\|^2 + \sum_i (\sqrt{\lambda_i} - \sigma^*)^2` (the second form avoids cancellation).
    Dividing by :math:`W_2^2(0) = \|\mu\|^2 + \operatorname{tr}\Sigma = E\|x\|^2` maps it to
    :math:`[0, 1]`. Eigenvalues below zero (rounding) are clipped at 0.

    References
    ----------
    .. [1] D. C. Dowson and B. V. Landau, "The Fréchet distance between multivariate normal
       distributions", Journal of Multivariate Analysis 12(3), 450-455, 1982.
    .. [2] R. Bhatia, T. Jain and Y. Lim, "On the Bures–Wasserstein distance between positive definite
       matrices", Expositiones Mathematicae 37(2), 165-191, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.distance import bures_wasserstein_isotropic
    >>> res = bures_wasserstein_isotropic(np.zeros(2), np.diag([1.0, 4.0]))
    >>> print(f"sigma={res.sigma:.2f} W2^2={res.w2_squared:.2f}")
    sigma=1.50 W2^2=0.50
    """
    mu = np.asarray(to_numpy(mean), dtype=np.float64)
    cov = np.asarray(to_numpy(covariance), dtype=np.float64)
    if mu.ndim != 1 or cov.shape != (mu.size, mu.size):
        msg = (f"`mean` must have shape (d,) and `covariance` shape (d, d); got {mu.shape} and "
               f"{cov.shape}.")
        raise ValueError(msg)
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(cov))):
        msg = "`mean` and `covariance` must be finite."
        raise ValueError(msg)
    scale = float(np.abs(cov).max()) if cov.size else 0.0
    if not np.allclose(cov, cov.T, rtol=0.0, atol=1e-10 * max(scale, 1e-300)):
        msg = "`covariance` must be symmetric; symmetrise it, e.g. (c + c.T) / 2."
        raise ValueError(msg)
    lam = np.linalg.eigvalsh((cov + cov.T) / 2)
    if lam.size and lam[0] < -1e-8 * max(scale, 1e-300) * mu.size:
        msg = (f"`covariance` must be positive semi-definite; its smallest eigenvalue is {lam[0]:.3g} "
               f"(largest {lam[-1]:.3g}).")
        raise ValueError(msg)
    return _bw_from_eigenvalues(float(mu @ mu), lam)


# --------------------------------------------------------------------------- sliced W2 to N(0, 1)
def normal_cell_means(n: int) -> tuple[np.ndarray, float]:
    """``m_i = n ∫_{(i−1)/n}^{i/n} Φ⁻¹(t) dt`` for ``i = 1..n`` and the floor ``C_n = 1 − mean(m²)``.

    ``m_i = n (φ(Φ⁻¹((i−1)/n)) − φ(Φ⁻¹(i/n)))``, made exactly antisymmetric (``m_i = −m_{n+1−i}``).
    """
    from scipy import special

    x = special.ndtri(np.arange(1, n, dtype=np.float64) / n)
    phi = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    phi = np.concatenate([[0.0], phi, [0.0]])
    m = n * (phi[:-1] - phi[1:])
    m = 0.5 * (m - m[::-1])
    floor = float(max(1.0 - float(np.dot(m, m)) / n, 0.0))
    return m, floor


def _w2_rows(t: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``mean_i (z_(i) - m_i)²`` for each row of ``t`` standardised with its ddof-0 deviation (float64
    results; float32 or float64 work). ``t`` is overwritten: NumPy twin of :func:`_w2_of_columns`."""
    n = t.shape[1]
    t -= t.mean(axis=1, keepdims=True)
    t /= np.sqrt(np.einsum("ij,ij->i", t, t, dtype=np.float64) / n).astype(t.dtype)[:, None]
    t.sort(axis=1)
    t -= m[None, :]
    return np.asarray(np.einsum("ij,ij->i", t, t, dtype=np.float64) / n)


def _null_factor(directions: np.ndarray) -> np.ndarray | None:
    """``F`` (r × k) with ``Fᵀ F = Uᵀ U`` and ``r = min(d, k)``: rows of ``G F`` are ``N(0, Uᵀ U)``.

    None when the directions are orthogonal: the standardised projections are then i.i.d. ``N(0, 1)``.
    """
    d, k = directions.shape
    if has_orthogonal_columns(directions):
        return None
    if k > d:
        return directions
    from .._kernels.gram import single_threaded_blas

    with single_threaded_blas():
        w, v = np.linalg.eigh(directions.T @ directions)
    factor: np.ndarray = np.sqrt(np.clip(w, 0.0, None))[:, None] * v.T
    return factor


#: Directions per chunk of a null replicate: small enough that the work arrays stay in cache and are
#: reused, instead of page-faulting a fresh n × k array for every replicate.
_NULL_CHUNK_VALUES = 2**20


def _standard_normal_into(gen: np.random.Generator, out: np.ndarray, radius: np.ndarray,
                          angle: np.ndarray) -> None:
    """Fill the float32 array ``out`` (even size) with N(0, 1) draws by the Box–Muller transform.

    ``radius`` (float64) and ``angle`` (float32) are scratch arrays of at least ``out.size // 2``.
    The radius ``sqrt(-2 log u)`` uses a float64 uniform in (0, 1], so the tails reach 8.5 standard
    deviations; the vectorised form is about twice as fast as NumPy's scalar ziggurat.
    """
    h = out.size // 2
    r, th, flat = radius[:h], angle[:h], out.reshape(-1)
    gen.random(out=r)
    np.subtract(1.0, r, out=r)
    np.log(r, out=r)
    r *= -2.0
    np.sqrt(r, out=r)
    gen.random(out=th, dtype=np.float32)
    th *= np.float32(2.0 * np.pi)
    np.cos(th, out=flat[:h])
    np.sin(th, out=flat[h:])
    rr = r.astype(np.float32)
    flat[:h] *= rr
    flat[h:] *= rr


def _null_replicate(gen: np.random.Generator, k: int, factor_t: np.ndarray | None, m32: np.ndarray
                    ) -> np.ndarray:
    """One null sample's per-direction values ``mean_i (z_(i) - m_i)²`` (float32 work, float64
    results; without the quantisation floor)."""
    n = m32.size
    if factor_t is not None:
        g = gen.standard_normal((factor_t.shape[1], n), dtype=np.float32)
        z = factor_t @ g  # (k, n): one projected null sample per row
        del g
        return _w2_rows(z, m32)
    # orthogonal directions: i.i.d. N(0, 1) rows, drawn a few at a time into reused buffers
    rows = max(1, min(k, _NULL_CHUNK_VALUES // n))
    size = rows * n + (rows * n) % 2
    buf = np.empty(size, dtype=np.float32)
    radius, angle = np.empty(size // 2), np.empty(size // 2, dtype=np.float32)
    out = np.empty(k)
    for a in range(0, k, rows):
        b = min(k, a + rows)
        z = buf[: (b - a) * n].reshape(b - a, n)
        _standard_normal_into(gen, buf, radius, angle)
        out[a:b] = _w2_rows(z, m32)
    return out


def _null_workers(n_null: int, bytes_per_replicate: int) -> int:
    cpus = os.cpu_count() or 1
    by_memory = max(1, _NULL_MEMORY_BUDGET // max(1, bytes_per_replicate))
    return int(max(1, min(cpus, n_null, by_memory, _NULL_MAX_WORKERS)))


def null_sliced_statistics(n: int, directions: np.ndarray, n_null: int, rng: RNGLike = None, *,
                           cell_means: tuple[np.ndarray, float] | None = None,
                           per_direction: bool = False) -> np.ndarray:
    """``n_null`` replicates of the sliced statistic for exact isotropic Gaussian samples of ``n`` rows.

    With ``per_direction=True`` the result has shape ``(n_null, k)``: each replicate's per-direction
    squared distances (their row means are the replicates of the statistic).

    The statistic is invariant to the location and scale of the data, so ``N(0, I_d)`` represents the
    whole isotropic null. Projections of ``N(0, I_d)`` rows onto the columns of ``U`` are rows of
    ``N(0, Uᵀ U)``, which after standardisation are i.i.d. standard normals when the directions are
    orthogonal (orthonormal is the default of
    :func:`~gaussprobe._random.random_directions` for ``k ≤ d``), otherwise ``G F`` with ``G`` an
    ``n × min(d, k)`` standard-normal matrix. They are drawn on the host, so every backend gets the
    same reference for the same ``rng``. Replicate ``b`` draws from an SFC64 generator seeded by the
    ``b``-th child of the seed sequence of ``np.random.default_rng(rng)`` (Box–Muller normals for
    orthogonal directions, NumPy's ziggurat otherwise), so the values do not depend on how many
    threads compute them (up to 8, within 1 GiB of working memory). The replicates are computed in
    float32 with float64 sums (their rounding, ~1e-5 relative, is far below the Monte-Carlo error);
    with orthogonal directions each works on a few directions at a time (about 10 MiB), otherwise it
    needs about ``4 n (k + min(d, k))`` bytes.
    """
    gen = as_generator(rng)
    k = int(directions.shape[1])
    m, floor = normal_cell_means(n) if cell_means is None else cell_means
    m32 = m.astype(np.float32)
    factor = _null_factor(directions)
    factor_t = None if factor is None else np.ascontiguousarray(factor.T.astype(np.float32))  # (k, r)
    seq = gen.bit_generator.seed_seq
    if not isinstance(seq, np.random.SeedSequence):  # pragma: no cover - a legacy bit generator
        seq = np.random.SeedSequence(int(gen.integers(2**63)))
    children = [np.random.Generator(np.random.SFC64(s)) for s in seq.spawn(n_null)]
    per_replicate = 10 * _NULL_CHUNK_VALUES if factor_t is None else 4 * n * (k + factor_t.shape[1])
    workers = _null_workers(n_null, per_replicate)

    def one(c: np.random.Generator) -> np.ndarray:
        return _null_replicate(c, k, factor_t, m32)

    if workers == 1:
        values = [one(c) for c in children]
    else:
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            values = list(pool.map(one, children))
    table: np.ndarray = np.asarray(values, dtype=np.float64).reshape(n_null, k)
    if per_direction:
        return table + floor
    return np.asarray(table.sum(axis=1) / k + floor)


def _check_directions(directions: np.ndarray, n: int, k: int) -> np.ndarray:
    u = np.asarray(directions, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != k:
        msg = (f"`directions` must have shape (n_features, {k}) to match `projections` "
               f"{(n, k)}; got {u.shape}.")
        raise ValueError(msg)
    return u


#: Most random subsets of the pooled per-direction values behind the sliced p-value (its smallest
#: value is ``1 / (1 + SLICED_PERMUTATIONS)``), and the number of subsets at least as extreme as the
#: data after which the sampling stops (Besag & Clifford's sequential p-value).
SLICED_PERMUTATIONS = 4999
SLICED_EXCEEDANCES = 40
#: The pooled p-value is used where the dependence between the per-direction values (from
#: non-orthogonal directions) inflates the variance of their mean by at most this fraction.
POOLING_MAX_INFLATION = 0.02


def direction_dependence(directions: np.ndarray, *, max_columns: int = 2048) -> float:
    r"""Predicted relative variance inflation of the mean of the per-direction values under the
    isotropic null, :math:`\frac1k\sum_{i \ne j} \rho_{ij}^6` with :math:`\rho_{ij}` the cosine of
    directions ``i`` and ``j``.

    Standardisation removes the first two Hermite components of the dependence between two
    projections, so the per-direction values of directions at cosine :math:`\rho` have a covariance
    of order :math:`\rho^6` times their variance (measured factor 0.4-1.2 at d = 8-32). 0 for
    orthogonal directions; about :math:`15 (k - d) / (d (d+2) (d+4))` for independent Haar frames
    (0.011 at d = 64, k = 256). With more than ``max_columns`` directions the first ``max_columns``
    give the estimate.
    """
    u = np.asarray(directions, dtype=np.float64)
    if has_orthogonal_columns(u):
        return 0.0
    k_all = u.shape[1]
    u = u[:, :max_columns]
    k = u.shape[1]
    if k < 2:
        return 0.0
    norms = np.linalg.norm(u, axis=0)
    un = u / np.where(norms > 0, norms, 1.0)
    c = un.T @ un
    np.fill_diagonal(c, 0.0)
    c *= c
    return float(np.sum(c * c * c) / k * (k_all - 1) / (k - 1))


def _child_generator(gen: np.random.Generator) -> np.random.Generator:
    """A generator from the next child of ``gen``'s seed sequence (SFC64, as the null replicates)."""
    seq = gen.bit_generator.seed_seq
    if not isinstance(seq, np.random.SeedSequence):  # pragma: no cover - a legacy bit generator
        seq = np.random.SeedSequence(int(gen.integers(2**63)))
    return np.random.Generator(np.random.SFC64(seq.spawn(1)[0]))


def pooled_permutation_pvalue(observed: np.ndarray, null_values: np.ndarray, gen: np.random.Generator,
                              n_permutations: int = SLICED_PERMUTATIONS,
                              exceedances: int | None = SLICED_EXCEEDANCES) -> float:
    r"""Permutation p-value of ``mean(observed)`` against the pool ``observed ∪ null_values``.

    Under the null the ``M = k + N`` pooled values are exchangeable (i.i.d.), so the observed ``k``
    values are a uniformly random ``k``-subset of the pool. Random subsets :math:`S_1, S_2, \dots`
    (uniform, independent) are drawn until ``exceedances`` of them have a mean at least
    :math:`\bar W`, the observed mean, or ``n_permutations`` have been drawn. The sequential
    Monte-Carlo p-value of Besag & Clifford (1991),

    .. math:: p = h / L \ \text{(stopped at the $L$-th subset with $h$ = ``exceedances``)}, \qquad
              p = (1 + g) / (1 + B) \ \text{(otherwise; $g$ exceedances among $B$ = ``n_permutations``)},

    is exact: :math:`P(p \le \alpha) \le \alpha` for every :math:`\alpha`, with equality at the
    values it takes. It costs about ``exceedances / p`` subsets, so a p-value near 0.5 needs about
    80 and the smallest one, :math:`1/(1 + B)`, needs ``n_permutations``. ``exceedances=None`` draws
    all ``n_permutations`` (Dwass 1957).

    References
    ----------
    .. [1] J. Besag and P. Clifford, "Sequential Monte Carlo p-values", Biometrika 78(2), 301-304,
       1991.
    .. [2] M. Dwass, "Modified randomization tests for nonparametric hypotheses", Annals of
       Mathematical Statistics 28(1), 181-187, 1957.
    """
    k = observed.size
    pool = np.concatenate([observed, np.ravel(null_values)])
    m = pool.size
    target = float(np.sum(observed))
    hits = 0
    for b in range(1, n_permutations + 1):
        hits += float(np.sum(pool[gen.choice(m, k, replace=False, shuffle=False)])) >= target
        if exceedances is not None and hits >= exceedances:
            return hits / b
    return float((1 + hits) / (1 + n_permutations))


def sliced_from_per_direction(per_direction: np.ndarray, directions: np.ndarray, /, *,
                              n_samples: int, rng: RNGLike = None, n_null: int | None = None,
                              cell_means: tuple[np.ndarray, float] | None = None
                              ) -> SlicedWassersteinResult:
    r"""The sliced result from per-direction squared distances already computed (e.g. in the sorted
    pass of the projection tests), with its Monte-Carlo null for ``directions``.

    The p-value pools the null's per-direction values (see :class:`SlicedWassersteinResult`): under
    the isotropic Gaussian null the ``k`` observed values and the ``k · n_null`` null values are i.i.d.
    when the directions are orthogonal, so a permutation test of the observed mean against the pool
    (:func:`pooled_permutation_pvalue`: Besag & Clifford's sequential p-value over at most
    ``SLICED_PERMUTATIONS`` random subsets) is exact, with smallest value
    ``1/(1 + SLICED_PERMUTATIONS)`` instead of ``1/(1 + n_null)``. For non-orthogonal
    directions it is used where :func:`direction_dependence` predicts at most
    ``POOLING_MAX_INFLATION`` of variance inflation; otherwise the p-value ranks the statistic among
    the ``n_null`` replicates, :math:`(1 + \#\{T^*_b \ge T\})/(1 + n_\text{null})`, exact for any
    directions.
    """
    n = int(n_samples)
    per_direction = np.asarray(per_direction, dtype=np.float64)
    k = per_direction.size
    u = _check_directions(directions, n, k)
    n_null = _resolve_n_null(n_null, n, k)
    cells = normal_cell_means(n) if cell_means is None else cell_means
    if not np.all(np.isfinite(per_direction)):
        bad = np.nonzero(~np.isfinite(per_direction))[0][:10].tolist()
        msg = (f"the data have zero variance along projection(s) {bad}; the sliced distance needs "
               "non-constant projections (are all rows identical?).")
        raise ValueError(msg)
    stat = float(per_direction.mean())
    null = null_mean = null_std = q95 = ratio = pvalue = method = None
    if n_null:
        gen = as_generator(rng)
        table = null_sliced_statistics(n, u, n_null, gen, cell_means=cells, per_direction=True)
        null = table.sum(axis=1) / k
        null_mean = float(null.mean())
        null_std = float(null.std(ddof=1)) if n_null >= 2 else None
        q95 = float(np.quantile(null, 0.95))
        ratio = stat / null_mean
        if direction_dependence(u) <= POOLING_MAX_INFLATION:
            pvalue = pooled_permutation_pvalue(per_direction, table, _child_generator(gen))
            method = "pooled directions"
        else:
            pvalue = float((1 + np.sum(null >= stat)) / (1 + n_null))
            method = "replicates"
    return SlicedWassersteinResult(
        statistic=stat, distance=math.sqrt(stat), per_direction=per_direction,
        quantization_floor=cells[1], null_mean=null_mean, null_std=null_std, null_quantile_95=q95,
        null_statistics=null, excess_ratio=ratio, pvalue=pvalue, n_projections=k, n_null=n_null,
        n_samples=n, pvalue_method=method,
    )


# -------------------------------------------------------------------------------------- public API
def isotropic_distance(x: ArrayLike, /, *, rng: RNGLike = None, n_projections: int = 256,
                       n_null: int | None = None, dtype: DTypeName = "float64",
                       block_size: int | None = None) -> IsotropicDistanceResult:
    r"""Distance of embeddings from the nearest isotropic Gaussian :math:`N(0, \sigma^2 I)`.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like). ``n_features ≥ 2``;
        ``n_samples ≤ n_features`` is allowed.
    rng : int, Generator or None
        Seeds the random directions and then the null replicates (anything
        :func:`numpy.random.default_rng` accepts). The same ``rng`` gives the same directions and the
        same null on every backend.
    n_projections : int
        Number of random unit directions for the sliced distance.
    n_null : int or None
        Monte-Carlo replicates of the sliced statistic under the isotropic Gaussian null; 0 skips the
        null reference. Each replicate costs ``n · min(n_features, n_projections)`` float32 normal
        draws, a product and a sort of ``n · n_projections`` values, and about
        ``4 n (n_projections + min(n_features, n_projections))`` bytes. None (default) picks
        ``2**25 // (n_samples · n_projections)`` clipped to [2, 99] (:func:`auto_n_null`): 99 for small
        samples, 13 at ``n = 10⁴``, ``k = 256``, 2 at ``n = 10⁵``, ``k = 256``.
    dtype : {"float64", "float32"}
        Compute precision on the device (the null reference is always computed on the host).
    block_size : int, optional
        Rows per block for the covariance and the projections (memory bound).

    Returns
    -------
    IsotropicDistanceResult

    Warns
    -----
    RankDeficiencyWarning
        When the numerical rank of the covariance is below ``min(n_features, n_samples − 1)``; every
        field stays defined (the condition number is inf).

    Notes
    -----
    **Bures–Wasserstein part.** With the sample mean :math:`\mu` and covariance :math:`\Sigma` (divisor
    :math:`n`) of eigenvalues :math:`\lambda_i`, the 2-Wasserstein distance of :math:`N(\mu, \Sigma)` to
    the closest :math:`N(0, \sigma^2 I)` is attained at :math:`\sigma^* = \frac1d\sum_i\sqrt{\lambda_i}`
    and equals :math:`\|\mu\|^2 + \sum_i(\sqrt{\lambda_i} - \sigma^*)^2`; divided by
    :math:`E\|x\|^2 = \|\mu\|^2 + \sum_i\lambda_i` it lies in [0, 1] and splits into a mean part and an
    anisotropy part (:func:`bures_wasserstein_isotropic`). It compares only first and second moments.
    For an isotropic Gaussian sample it is not 0 but about :math:`1/n + d/(4n)` (sampling spread of the
    eigenvalues); ``normalized_reference`` and the parts' references give its exact null at this
    ``(n, d)`` (mean and 95% band, :mod:`gaussprobe._reference`).

    **Spectrum and sphericity**: see :func:`~gaussprobe.stats.spectrum.covariance_spectrum` and
    :func:`~gaussprobe.stats.spectrum.sphericity_test`.

    **Sliced part.** Each projection :math:`p_j = X u_j` onto a random unit direction is standardised,
    :math:`z_j = (p_j - \bar p_j)/s_j` (divisor :math:`n`), which removes location and scale so the
    part measures the *shape* of the marginals only. Its squared 2-Wasserstein distance to
    :math:`N(0,1)` is computed exactly, as the integral of the squared difference of the quantile
    functions: with :math:`z_{(i)}` sorted and :math:`m_i = n\int_{(i-1)/n}^{i/n}\Phi^{-1}(t)\,dt`,

    .. math:: W_2^2 = \sum_{i=1}^n \int_{(i-1)/n}^{i/n}(z_{(i)} - \Phi^{-1}(t))^2 dt
              = \frac1n\sum_i (z_{(i)} - m_i)^2 + C_n, \qquad C_n = 1 - \frac1n\sum_i m_i^2,

    where :math:`m_i = n(\varphi(\Phi^{-1}(\frac{i-1}n)) - \varphi(\Phi^{-1}(\frac in)))` and
    :math:`C_n > 0` is the distance of the best :math:`n`-point approximation of :math:`N(0,1)` (the
    ``quantization_floor``). The sum of squares form is free of cancellation, also in float32. The
    statistic is the mean over directions; ``per_direction`` keeps each value.

    Its null reference is Monte Carlo: ``n_null`` exact Gaussian samples with the same ``n`` and the
    same directions. Because the statistic ignores location and scale, :math:`N(0, I_d)` stands for every
    :math:`N(\mu, \sigma^2 I)`; the projected rows of such a sample are i.i.d. :math:`N(0, U^\top U)`:
    with the default orthonormal directions (:math:`k \le d`) each replicate draws :math:`k` independent
    standard-normal samples of size :math:`n`, otherwise an :math:`n \times \min(d, k)` normal matrix
    multiplied by a factor of :math:`U^\top U` instead of :math:`n \times d` draws. Reported: the null mean, standard
    deviation and 95% quantile, ``excess_ratio = statistic / null_mean`` and a p-value. The
    per-direction null values have a coefficient of variation near 0.4 and are independent across
    orthonormal directions (:math:`k \le d`), so the mean over :math:`k` directions varies by about
    :math:`0.4/\sqrt k` relative (2.5% at :math:`k = 256`): ``excess_ratio`` above about
    :math:`1 + 1.6/\sqrt k` is far outside the null. Because the :math:`k` observed per-direction
    values and the :math:`k \cdot n_\text{null}` null ones are then i.i.d. under the null, the p-value
    is a permutation test of the observed mean against their pool (Besag & Clifford's sequential
    Monte-Carlo p-value over random subsets, smallest value 1/5000), exact whatever ``n_null``; where the directions are dependent
    enough to matter it is the rank among the replicates, :math:`(1 + \#\{T^*_b \ge T\})/(1 +
    n_\text{null})` (``sliced.pvalue_method`` says which; :class:`SlicedWassersteinResult`). The
    automatic ``n_null`` bounds the null by about :math:`2^{25}` draws (measured timings in the
    documentation).

    References
    ----------
    .. [1] D. C. Dowson and B. V. Landau, "The Fréchet distance between multivariate normal
       distributions", Journal of Multivariate Analysis 12(3), 450-455, 1982.
    .. [2] E. del Barrio, J. A. Cuesta-Albertos, C. Matrán and J. M. Rodríguez-Rodríguez, "Tests of
       goodness of fit based on the L2-Wasserstein distance", Annals of Statistics 27(4), 1230-1239,
       1999.
    .. [3] N. Bonneel, J. Rabin, G. Peyré and H. Pfister, "Sliced and Radon Wasserstein barycenters of
       measures", Journal of Mathematical Imaging and Vision 51, 22-45, 2015.
    .. [4] J. Besag and P. Clifford, "Sequential Monte Carlo p-values", Biometrika 78(2), 301-304,
       1991.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.distance import isotropic_distance
    >>> x = np.random.default_rng(0).standard_normal((2000, 32))
    >>> res = isotropic_distance(x, rng=0, n_projections=64)
    >>> print(f"{res.bures_wasserstein.normalized:.4f} {res.sliced.excess_ratio:.2f}")
    0.0049 0.97
    """
    emb = check_embeddings(x, dtype=dtype, min_features=2)
    k = check_positive_int(n_projections, "n_projections")
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="isotropic_distance",
                 n_projections=k, n_null=n_null, block_size=block_size, itemsize=emb.float_itemsize)
    from .._engine import executor_for
    from .spectrum import centred_moments

    gen = as_generator(rng)
    directions = random_directions(emb.n_features, k, gen)
    ex = executor_for(emb, block_size=block_size)
    moments = centred_moments(emb, block_size=block_size)
    res = ex.projection_tests(emb, directions, block_size=None, cell_means=normal_cell_means(emb.n_samples))
    return finish_distance(emb, moments, directions, res.w2, rng=gen, n_null=n_null)


def finish_distance(emb: Embeddings, moments: CentredMoments, directions: np.ndarray,
                    per_direction: np.ndarray, *, rng: RNGLike, n_null: int | None
                    ) -> IsotropicDistanceResult:
    """:class:`IsotropicDistanceResult` from the centred moments of a row pass and the per-direction
    squared distances of the projections' column pass; ``rng`` seeds the null replicates."""
    n_null = _resolve_n_null(n_null, emb.n_samples, int(directions.shape[1]))
    gen = as_generator(rng)
    require_variance(moments)
    warn_if_rank_deficient(moments)
    spec = unscale_spectrum(spectrum_result(moments), emb.scale_exponent)
    sphericity = sphericity_from_u(john_u(np.clip(moments.eigenvalues, 0.0, None)),
                                   n_samples=emb.n_samples, n_features=emb.n_features)
    bw = _with_reference(_bw_from_eigenvalues(float(moments.mean @ moments.mean), moments.eigenvalues),
                         emb.n_samples, emb.n_features)
    bw = _unscale_bw(bw, emb.scale_exponent)
    sliced = sliced_from_per_direction(per_direction, directions, n_samples=emb.n_samples,
                                       rng=gen, n_null=n_null)
    return IsotropicDistanceResult(bures_wasserstein=bw, spectrum=spec, sphericity=sphericity,
                                   sliced=sliced, rank=moments.rank, n_samples=emb.n_samples,
                                   n_features=emb.n_features)


__all__ = [
    "NULL_DRAW_BUDGET",
    "N_NULL_RANGE",
    "SLICED_EXCEEDANCES",
    "SLICED_PERMUTATIONS",
    "BuresWassersteinResult",
    "IsotropicDistanceResult",
    "SlicedWassersteinResult",
    "auto_n_null",
    "bures_wasserstein_isotropic",
    "direction_dependence",
    "finish_distance",
    "isotropic_distance",
    "null_sliced_statistics",
    "pooled_permutation_pvalue",
    "sliced_from_per_direction",
]
