"""Mardia's multivariate skewness and kurtosis, exact for finite n, blocked, and on any device."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Literal

import numpy as np

from .._backend import row_blocks, to_float
from .._kernels import gram
from .._kernels._numba import cube_sum_kernel, cube_sum_lower_kernel, numba_available
from .._kernels.gram import parallel_map, split_range, worker_count
from .._pvalues import chi2_sf, normal_pvalue
from .._results import Result, TestResult
from .._typing import Array, ArrayLike, DTypeName
from .._validation import check_choice, check_embeddings, check_positive_int
from ._whiten import Whitening, host_vector, warn_if_tf32, whiten, whitened_rows

Method = Literal["auto", "gram", "tensor"]
Engine = Literal["auto", "array", "numba"]
Covariance = Literal["biased", "unbiased"]

_WHAT = "Mardia's test"
#: The tensor route keeps a (d(d+1)/2, d) float64 accumulator; above this size it is not used.
_TENSOR_MAX_BYTES = 256 * 2**20
#: Gram tiles with at least this many entries in total make the numba kernel worth compiling.
_NUMBA_MIN_ENTRIES = 2**24


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MardiaResult(Result):
    """Mardia's multivariate skewness and kurtosis with their tests.

    Attributes
    ----------
    skewness : float
        :math:`b_{1,p}`.
    kurtosis : float
        :math:`b_{2,p}`.
    skewness_test : TestResult
        ``A = n b_{1,p} / 6`` against :math:`\\chi^2` with ``df = p(p+1)(p+2)/6`` (upper tail).
    skewness_test_small_sample : TestResult
        The small-sample corrected ``A k``, same ``df``; always reported (no switch at n = 20).
    kurtosis_test : TestResult
        ``z`` standardised with the exact finite-n mean and variance of :math:`b_{2,p}` (two-sided).
    kurtosis_test_asymptotic : TestResult
        The classical ``z = (b_{2,p} - p(p+2)) / sqrt(8p(p+2)/n)`` (two-sided), as in R's MVN.
    covariance : str
        ``"biased"`` (divisor n) or ``"unbiased"`` (divisor n - 1).
    method : str
        ``"gram"`` (blocked pairwise sums) or ``"tensor"`` (third-moment tensor) for the skewness.
    n_samples, n_features : int
        Shape of the input.
    """

    skewness: float
    kurtosis: float
    skewness_test: TestResult
    skewness_test_small_sample: TestResult
    kurtosis_test: TestResult
    kurtosis_test_asymptotic: TestResult
    covariance: str
    method: str
    n_samples: int
    n_features: int


def mardia(
    x: ArrayLike,
    /,
    *,
    covariance: Covariance = "biased",
    block_size: int | None = None,
    method: Method = "auto",
    engine: Engine = "auto",
    dtype: DTypeName = "float64",
) -> MardiaResult:
    r"""Mardia's tests of multivariate skewness and kurtosis.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row. NumPy arrays and torch tensors (CPU or CUDA) are accepted; the work
        stays on the input's device. Needs ``n_samples >= n_features + 2`` and a full-rank covariance.
    covariance : {"biased", "unbiased"}
        Divisor ``n`` (Mardia 1970, R MVN's default) or ``n - 1`` (R ``cov``, psych) of the covariance.
    block_size : int, optional
        Rows per tile of the pairwise route (default 512 on the CPU, 1024 from 256 features on, 4096
        on CUDA), or rows per streaming block of the tensor route. Results do not depend on it beyond rounding.
    method : {"auto", "gram", "tensor"}
        How the skewness is computed: ``"gram"`` sums :math:`(z_i^\top z_j)^3` over tiles of the Gram
        matrix (``O(n^2 d)`` time, ``O(n d)`` memory); ``"tensor"`` forms the whitened third-moment
        tensor in one streaming pass (``O(n d^3)`` time, ``O(d^3)`` memory). ``"auto"`` picks the
        cheaper one, which is the tensor when ``d^2`` is well below ``n``.
    engine : {"auto", "array", "numba"}
        Kernel for the Gram route on NumPy input: the fused numba loop, or the array (NumPy) twin.
        ``"auto"`` uses numba when it is installed and the problem is large enough to repay compiling.
    dtype : {"float64", "float32"}
        Precision of the pairwise products. The mean, covariance, whitening and the kurtosis are always
        float64. ``"float32"`` roughly halves the time of the Gram route (more on consumer GPUs) at a
        relative error of about ``1e-6`` in the skewness (tested); TF32 on CUDA raises a
        :class:`~gaussprobe.PrecisionWarning`.

    Returns
    -------
    MardiaResult

    Raises
    ------
    ValueError
        If ``n_samples <= n_features + 1`` or the covariance is singular; the message says how to
        proceed (:func:`gaussprobe.principal_projection`, or the projection tests).

    Notes
    -----
    With :math:`S` the covariance and :math:`D_{ij} = (x_i - \bar x)^\top S^{-1} (x_j - \bar x)`,

    .. math::

        b_{1,p} = \frac{1}{n^2} \sum_{i,j} D_{ij}^3, \qquad b_{2,p} = \frac{1}{n} \sum_i D_{ii}^2 .

    Skewness: :math:`A = n b_{1,p}/6 \sim \chi^2_{p(p+1)(p+2)/6}`; the small-sample form multiplies
    ``A`` by :math:`k = (p+1)(n+1)(n+3) / (n((n+1)(p+1) - 6))`. Kurtosis: under normality
    :math:`E\,b_{2,p} = p(p+2)(n-1)/(n+1)` and
    :math:`\mathrm{Var}\,b_{2,p} = 8p(p+2)(n-3)(n-p-1)(n-p+1) / ((n+1)^2 (n+3)(n+5))` exactly
    (Mardia 1974), and ``kurtosis_test`` standardises with these. The classical asymptotic z centres at
    :math:`p(p+2)`; its negative bias of about :math:`\sqrt{p(p+2)/(2n)}` makes it over-reject at
    embedding dimensions, so it is kept only as ``kurtosis_test_asymptotic`` for parity with R.
    With ``covariance="unbiased"`` the statistics scale by :math:`((n-1)/n)^3` and
    :math:`((n-1)/n)^2`; the exact moments are scaled alike, so ``kurtosis_test`` does not depend on
    the convention (the asymptotic z and the skewness tests do, as in R).

    The tensor route uses :math:`b_{1,p} = \lVert n^{-1} \sum_i z_i \otimes z_i \otimes z_i
    \rVert_F^2` for whitened rows :math:`z_i`, storing only the pairs ``j <= k`` of the first two
    indices. Whitening uses the eigendecomposition of :math:`S`, so no ill-conditioned system is
    solved. Calibration and power tables are in the documentation page of this test.

    References
    ----------
    .. [1] K. V. Mardia, "Measures of multivariate skewness and kurtosis with applications",
       Biometrika 57(3), 519-530, 1970.
    .. [2] K. V. Mardia, "Applications of some measures of multivariate skewness and kurtosis in
       testing normality and robustness studies", Sankhya B 36(2), 115-128, 1974.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.mardia import mardia
    >>> x = np.random.default_rng(0).standard_normal((1000, 8))
    >>> res = mardia(x)
    >>> print(f"b2 = {res.kurtosis:.2f}, z = {res.kurtosis_test.statistic:.2f}")
    b2 = 78.59, z = -1.58
    """
    check_choice(method, "method", ("auto", "gram", "tensor"))
    check_choice(engine, "engine", ("auto", "array", "numba"))
    if block_size is not None:
        block_size = check_positive_int(block_size, "block_size")
    emb = check_embeddings(x, dtype=dtype)
    wh = whiten(emb, what=_WHAT, covariance=covariance)
    n, d = emb.n_samples, emb.n_features
    route = _choose_method(n, d, method)
    kernel = _resolve_engine(engine, emb.backend, n)
    if route == "tensor":
        b1, b2 = _tensor_route(wh, block_size)
    else:
        warn_if_tf32(emb, _WHAT)
        b1, b2 = _gram_route(wh, block_size, kernel)
    return _result(b1, b2, n=n, d=d, covariance=covariance, method=route)


# ------------------------------------------------------------------------------------------ routes
def _choose_method(n: int, d: int, method: str) -> str:
    pairs = d * (d + 1) // 2
    fits = pairs * d * 8 <= _TENSOR_MAX_BYTES
    if method == "tensor":
        if not fits:
            msg = (f"method='tensor' needs a {pairs} x {d} float64 accumulator "
                   f"({pairs * d * 8 / 2**30:.1f} GiB) at n_features={d}; use method='gram' or 'auto'.")
            raise ValueError(msg)
        return "tensor"
    if method == "gram" or not fits:
        return "gram"
    # flop-equivalents: half Gram GEMM plus the per-entry reduction, against the pair products,
    # their GEMM with the rows, and forming the products (memory bound)
    gram_cost = float(n) * n * (d + 8)
    tensor_cost = float(n) * pairs * (2 * d + 30)
    return "tensor" if tensor_cost < gram_cost else "gram"


def _resolve_engine(engine: str, backend: str, n: int) -> str:
    if engine == "numba":
        if backend != "numpy":
            msg = (f"engine='numba' runs on NumPy arrays only; got a {backend} input. Use engine='auto' "
                   "or 'array' (the array-namespace code runs on the input's device).")
            raise ValueError(msg)
        cube_sum_kernel()  # ImportError with an install hint when numba is missing
        return "numba"
    if engine == "auto" and backend == "numpy" and n * n >= _NUMBA_MIN_ENTRIES and numba_available():
        return "numba"
    return "array"


def _gram_route(wh: Whitening, block_size: int | None, engine: str) -> tuple[float, float]:
    emb = wh.emb
    xp = emb.xp
    n = emb.n_samples
    z, r = whitened_rows(wh)
    if block_size is None:
        if emb.backend == "numpy":
            # the cube-sum is cheap, so at large d the GEMM dominates and 1024-row tiles run it
            # measurably faster (about 5-10 % here) than 512-row ones
            block_size = 2 * gram.DEFAULT_TILE_HOST if emb.n_features >= 256 else gram.DEFAULT_TILE_HOST
        else:
            block_size = gram.DEFAULT_TILE_DEVICE if "cuda" in str(emb.device) else 1024
    reducer = gram.CubeSum(kernel=cube_sum_kernel(), lower_kernel=cube_sum_lower_kernel()) \
        if engine == "numba" else gram.CubeSum()
    tiles = gram.tile_values(z, reducer, block_size=block_size, xp=xp)
    b1 = tiles.symmetric_sum() / (float(n) * n)
    b2 = to_float(xp.sum(r * r)) / n
    return b1, b2


@functools.lru_cache(maxsize=16)
def _pair_columns(d: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Column ranges of the pair products ``z_j z_k`` (k >= j) for each j, and their weights."""
    spans, start = [], 0
    weights = np.empty(d * (d + 1) // 2)
    for j in range(d):
        spans.append((start, start + d - j))
        weights[start] = 1.0
        weights[start + 1:start + d - j] = 2.0
        start += d - j
    return spans, weights


@dataclasses.dataclass
class MardiaMoments:
    """Mergeable sums over *whitened* rows ``z_i``: the state of the tensor route.

    ``third[(j, k), l] = Σ_i z_ij z_ik z_il`` for ``j <= k`` (symmetric packing of the first two
    indices; ``d²(d+1)/2`` numbers) and ``fourth = Σ_i |z_i|⁴``. Partial states from different chunks
    or workers combine with :meth:`merge` (plain addition), so with the mergeable covariance state of
    the first pass this gives a two-round map-reduce: ``b1 = Σ w_jk third² / n²`` and
    ``b2 = fourth / n``. Arrays live on the input's device; ``third`` is float64.
    """

    n: int
    third: Array
    fourth: Array

    @classmethod
    def empty(cls, xp: Any, d: int, *, device: Any = None) -> MardiaMoments:
        return cls(n=0, third=xp.zeros((d * (d + 1) // 2, d), dtype=xp.float64, device=device),
                   fourth=xp.zeros((), dtype=xp.float64, device=device))

    def update(self, z: Array, xp: Any, *, compute: Any = None, work: Any = None) -> MardiaMoments:
        """Fold in a block of whitened float64 rows; ``compute`` is the GEMM dtype (default float64).

        ``work`` is an optional NumPy buffer of at least ``len(z) * d(d+1)/2`` entries for the pair
        products.
        """
        m, d = int(z.shape[0]), int(z.shape[1])
        r = xp.sum(z * z, axis=1)
        self.fourth = self.fourth + xp.sum(r * r)
        zc = z if compute is None or z.dtype == compute else xp.astype(z, compute)
        spans, weights = _pair_columns(d)
        pairs = len(weights)
        if isinstance(zc, np.ndarray):
            q = (np.empty((m, pairs), dtype=zc.dtype) if work is None
                 else work[: m * pairs].reshape(m, pairs))
            for j, (lo, hi) in enumerate(spans):
                np.multiply(zc[:, j:j + 1], zc[:, j:], out=q[:, lo:hi])
        else:
            q = xp.concat([zc[:, j:j + 1] * zc[:, j:] for j in range(d)], axis=1)
        prod = q.T @ zc
        self.third = self.third + (prod if prod.dtype == xp.float64 else xp.astype(prod, xp.float64))
        self.n += m
        return self

    def merge(self, other: MardiaMoments) -> MardiaMoments:
        """Add another partial state (in place; returns ``self``)."""
        self.n += other.n
        self.third = self.third + other.third
        self.fourth = self.fourth + other.fourth
        return self

    def statistics(self) -> tuple[float, float]:
        """``(b1, b2)`` on the host."""
        _, weights = _pair_columns(int(self.third.shape[1]))
        t = host_vector(self.third) / self.n
        return float(np.sum(weights[:, None] * t * t)), to_float(self.fourth) / self.n


def _tensor_route(wh: Whitening, block_size: int | None) -> tuple[float, float]:
    emb = wh.emb
    xp = emb.xp
    n, d = emb.n_samples, emb.n_features
    pairs = d * (d + 1) // 2
    bs = block_size or max(64, min(8192, 2**19 // pairs))
    blocks = list(row_blocks(n, bs))
    compute = None if emb.dtype == "float64" else emb.float
    if not isinstance(emb.data, np.ndarray):
        state = MardiaMoments.empty(xp, d, device=emb.device)
        for a, b in blocks:
            state.update(wh.block(a, b), xp, compute=compute)
        return state.statistics()
    x, mean, w = emb.data, np.asarray(wh.mean), np.asarray(wh.transform)

    def part(chunk: range) -> MardiaMoments:
        st = MardiaMoments.empty(np, d)
        c, z = np.empty((bs, d)), np.empty((bs, d))
        work = np.empty(bs * pairs, dtype=np.float64 if compute is None else np.float32)
        for k in chunk:
            a, b = blocks[k]
            np.subtract(x[a:b], mean, out=c[: b - a])
            st.update(np.matmul(c[: b - a], w, out=z[: b - a]), np, compute=compute, work=work)
        return st

    threads = worker_count(2.0 * n * pairs * d)
    parts = parallel_map(part, split_range(len(blocks), threads), threads)
    for p in parts[1:]:
        parts[0].merge(p)
    return parts[0].statistics()


# ------------------------------------------------------------------------------------------ tests
def _result(b1: float, b2: float, *, n: int, d: int, covariance: str, method: str) -> MardiaResult:
    p = float(d)
    df = d * (d + 1) * (d + 2) // 6
    a = n * b1 / 6.0
    k = (p + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (p + 1) - 6))
    chi2 = f"chi2(df={df})"
    scale = ((n - 1) / n) ** 2 if covariance == "unbiased" else 1.0
    mean = scale * p * (p + 2) * (n - 1) / (n + 1)
    var = scale**2 * 8 * p * (p + 2) * (n - 3) * (n - p - 1) * (n - p + 1) / (
        (n + 1) ** 2 * (n + 3) * (n + 5))
    z = (b2 - mean) / math.sqrt(var)
    z_asym = (b2 - p * (p + 2)) / math.sqrt(8 * p * (p + 2) / n)
    return MardiaResult(
        skewness=b1,
        kurtosis=b2,
        skewness_test=TestResult(statistic=a, pvalue=float(chi2_sf(a, df)), null_distribution=chi2,
                                 df=float(df)),
        skewness_test_small_sample=TestResult(statistic=a * k, pvalue=float(chi2_sf(a * k, df)),
                                              null_distribution=chi2, df=float(df)),
        kurtosis_test=TestResult(statistic=z, pvalue=float(normal_pvalue(z)),
                                 null_distribution="normal(0, 1)"),
        kurtosis_test_asymptotic=TestResult(statistic=z_asym, pvalue=float(normal_pvalue(z_asym)),
                                            null_distribution="normal(0, 1)"),
        covariance=covariance,
        method=method,
        n_samples=n,
        n_features=d,
    )




__all__ = ["MardiaMoments", "MardiaResult", "mardia"]
