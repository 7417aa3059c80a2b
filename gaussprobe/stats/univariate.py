"""Univariate normality building blocks, vectorised over the columns of a matrix.

Private kernels shared by :func:`gaussprobe.stats.coordinates.coordinate_normality` and
:func:`gaussprobe.stats.projections.projection_normality`. Every array function takes a block of shape
``(n_samples, n_columns)`` (one sample per column, as ``scipy.stats`` with ``axis=0``), is written once
against the array namespace ``xp`` (NumPy, torch CPU/CUDA) and returns one value per column on the
block's device. There is no Python loop over columns. The host functions (p-values, critical values)
take NumPy arrays.

What is computed
----------------
* **Anderson–Darling** ``A²`` exactly as ``scipy.stats.anderson(x, dist='norm').statistic``: standardise
  with the mean and the ``ddof=1`` standard deviation, sort, and
  ``A² = -n - (1/n) Σ_i (2i-1) [log Φ(z_(i)) + log(1 - Φ(z_(n+1-i)))]``.
* **D'Agostino skewness z** (``scipy.stats.skewtest``), **Anscombe–Glynn kurtosis z**
  (``scipy.stats.kurtosistest``, with its signed cube root) and the omnibus
  ``K² = z_1² + z_2²`` with a χ²(2) p-value (``scipy.stats.normaltest``). One deliberate deviation:
  scipy replaces ``y == 0`` by 1 in ``skewtest``, so an exactly symmetric sample gets
  ``z_1 ≈ 1.0-1.04`` (1.04 at n = 20, 1.0003 at n = 10⁴) instead of 0. Here ``z_1 = 0`` for zero
  skewness.
* :class:`MomentState`, a mergeable per-column state ``(n, mean, M2, M3, M4, min, max)`` with
  Pébay's pairwise update, so skewness, kurtosis and ``K²`` can be computed in one pass over row
  blocks (or merged across workers). ``A²`` needs the sorted column and is not mergeable.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from .._backend import log_ndtr
from .._pvalues import chi2_sf
from .._typing import Array
from ._ad_null import ad_null_pvalue

#: Smallest sample size of the skewness test (D'Agostino's transformation needs n >= 8).
MIN_SAMPLES = 8
#: Below this many samples the Anscombe–Glynn kurtosis approximation is rough (scipy's old warning).
RELIABLE_KURTOSIS_SAMPLES = 20
#: Significance levels for which ``scipy.stats.anderson`` tabulates critical values, and the
#: asymptotic values it scales by ``1 / (1 + 0.75/n + 2.25/n²)`` (D'Agostino & Stephens 1986, ch. 4,
#: the case where mean and variance are both estimated).
AD_TABLE_LEVELS = (0.15, 0.10, 0.05, 0.025, 0.01)
AD_TABLE_ASYMPTOTIC = (0.561, 0.631, 0.752, 0.873, 1.035)
#: nortest::ad.test reports this p-value for every modified statistic ``A*`` >= 10, where the
#: D'Agostino–Stephens approximation stops being monotone (it is its value at ``A* = 10``).
AD_PVALUE_FLOOR = 3.7e-24
#: |z| beyond which log Φ(-|z|) is taken from ``log_ndtr`` instead of ``log(Φ(-|z|))`` (scipy switches
#: ``log_ndtr`` to its asymptotic series at the same point).
_TAIL_SWITCH = 20.0
#: Largest column block of the column kernels, in bytes of float64 (bounds the sorted copies at large n).
MAX_BLOCK_BYTES = 384 * 2**20
#: Upper bound on the worker threads used for NumPy input.
_MAX_THREADS = 8
#: Rows per step of the chunked transposition, and bytes of float64 work per compute chunk (NumPy).
_TRANSPOSE_ROWS = 2048
_CHUNK_BYTES = 2 * 2**20
#: Evenly spaced order statistics of each standardised column that the kernels can return (for QQ
#: plots and histograms on the results: bounded by this, not by ``n_samples``).
ORDER_STATISTIC_POINTS = 200


def order_statistic_ranks(n: int, points: int = ORDER_STATISTIC_POINTS) -> np.ndarray:
    """0-based ranks of ``min(n, points)`` evenly spaced order statistics of a sample of size ``n``
    (the first and the last included): ``round(linspace(0, n - 1, points))``."""
    return np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(np.intp))


def normal_plotting_positions(n: int, ranks: np.ndarray) -> np.ndarray:
    """Standard-normal quantiles at Blom's plotting positions of the 0-based ``ranks`` of a sample of
    size ``n``: ``Φ⁻¹((i - 3/8) / (n + 1/4))`` with ``i = ranks + 1`` (Blom 1958), the x-axis of a
    normal QQ plot of the order statistics at those ranks."""
    from scipy import special

    return np.asarray(special.ndtri((np.asarray(ranks, dtype=np.float64) + 1 - 0.375) / (n + 0.25)))


# ------------------------------------------------------------------ backend-specific fast paths
def _is_numpy(xp: Any) -> bool:
    return bool(array_api_compat.is_numpy_namespace(xp))


def _is_torch(xp: Any) -> bool:
    return bool(array_api_compat.is_torch_namespace(xp))


def _rowsum(xp: Any, a: Array) -> Array:
    """Row sums, accumulated in float64 (a float32 sum over 10⁵ terms would lose 3 digits)."""
    if a.dtype == xp.float64:
        return xp.sum(a, axis=-1)
    return xp.sum(a, axis=-1, dtype=xp.float64)


def _rowdot(xp: Any, a: Array, b: Array) -> Array:
    """Row-wise dot products of two ``(m, n)`` arrays, accumulated in float64."""
    if a.dtype != xp.float64:
        return _rowsum(xp, a * b)
    if _is_numpy(xp):
        return np.einsum("ij,ij->i", a, b)  # np.vecdot is far slower
    return xp.sum(a * b, axis=-1)


def _normal_lower_tail(xp: Any, z: Array) -> Array:
    """``Φ(-|z|)`` with full relative accuracy down to the underflow threshold (a new array).

    NumPy uses ``scipy.special.ndtr``; torch uses ``erfc`` because ``torch.special.ndtr`` loses all
    relative accuracy below about -8 (it is ``(1 + erf)/2``).
    """
    if _is_numpy(xp):
        from scipy import special

        # Φ(-a) = erfc(a/√2)/2: the same evaluation as scipy's ndtr for a > 1/√2, and faster
        t = np.abs(z)
        t *= 1.0 / math.sqrt(2.0)
        special.erfc(t, out=t)
        t *= 0.5
        return t
    if _is_torch(xp):
        import torch

        return 0.5 * torch.special.erfc(torch.abs(z) * (1.0 / math.sqrt(2.0)))
    msg = f"The normality kernels support NumPy and torch arrays; got the namespace {xp!r}."
    raise TypeError(msg)


class Workspace:
    """Reusable NumPy buffers for one thread's column kernels.

    Fresh multi-megabyte temporaries are returned to the operating system when freed and page-faulted
    in again on the next allocation, which costs as much as the arithmetic itself; the kernels
    therefore write into a few buffers that live as long as one :func:`univariate_tests` call.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        size = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != np.dtype(dtype):
            buf = np.empty(size, dtype=dtype)
            self._buffers[name] = buf
        return buf[:size].reshape(shape)

    def ramp(self, n: int, dtype: Any) -> np.ndarray:
        """``2j - (n + 1)`` for ``j = 1..n`` (exact in float32 up to n = 2**23)."""
        key = f"ramp{n}"
        buf = self._buffers.get(key)
        if buf is None or buf.dtype != np.dtype(dtype):
            buf = np.arange(1, n + 1, dtype=dtype)
            buf = 2.0 * buf - (n + 1)
            self._buffers[key] = buf
        return buf


def _transposed_copy(xp: Any, block: Array, workspace: Workspace | None = None) -> Array:
    """A C-contiguous ``(m, n)`` copy of an ``(n, m)`` block (rows are then contiguous columns)."""
    if _is_numpy(xp):
        # Copying a column slab of a row-major matrix straight into rows reads one cache line per
        # element and per column; going through small contiguous row chunks is 2-3x faster.
        n, m = block.shape
        out = (np.empty((m, n), dtype=block.dtype) if workspace is None  # a copy: sorted in place
               else workspace.get("sorted", (m, n), block.dtype))
        for a in range(0, n, _TRANSPOSE_ROWS):
            out[:, a:a + _TRANSPOSE_ROWS] = np.ascontiguousarray(block[a:a + _TRANSPOSE_ROWS]).T
        return out
    if _is_torch(xp):
        return block.T.contiguous()  # torch sorts out of place
    return xp.asarray(xp.permute_dims(block, (1, 0)), copy=True)  # pragma: no cover


def _sort_rows_inplace(xp: Any, a: Array) -> Array:
    if _is_numpy(xp):
        a.sort(axis=-1)
        return a
    if _is_torch(xp):
        return a.sort(dim=-1).values
    return xp.sort(a, axis=-1)  # pragma: no cover


def sorted_columns(xp: Any, block: Array, workspace: Workspace | None = None) -> Array:
    """The columns of an ``(n, m)`` block as the sorted rows of a new ``(m, n)`` array (in the
    workspace's buffer when one is given).

    Sorting happens in the block's own dtype (float32 stays float32, which halves the work); casting
    afterwards gives the same result as sorting the cast values, because the cast is monotone.
    """
    return _sort_rows_inplace(xp, _transposed_copy(xp, block, workspace))


# ------------------------------------------------------------------ Anderson–Darling
def anderson_darling_standardized(xp: Any, z: Array) -> Array:
    """``A²`` of each row of ``z``: standardised samples sorted ascending along the last axis.

    With ``L_j = log Φ(-|z_j|)`` and ``M_j = log Φ(|z_j|) = log1p(-Φ(-|z_j|))``, the terms of the
    classical formula are ``log Φ(z_j) + log Φ(-z_j) = L_j + M_j`` and
    ``log Φ(z_j) - log Φ(-z_j) = sign(z_j)(M_j - L_j)``. Because the weights ``2j-1`` and
    ``2n+1-2j`` add up to ``2n``,

        A² = -n - Σ_j (L_j + M_j) - (1/n) Σ_j (2j - 1 - n) sign(z_j) (M_j - L_j),

    which needs one ``Φ`` evaluation per value (instead of two ``log Φ``) and no reversal.
    """
    n = int(z.shape[-1])
    t = _normal_lower_tail(xp, z)
    # M = log(1 - t) with t <= 1/2: 1 - t is exact for t >= 1/4 and off by at most 2**-53 below, so M
    # has an absolute error below 1.2e-16 (log1p is exact to the last bit but 5x slower in NumPy;
    # these errors add up to ~1e-13 in A² at n = 10^5)
    m_log = 1.0 - t
    m_log = xp.log(m_log)
    ends = xp.maximum(-z[:, 0], z[:, -1])
    if bool(xp.any(ends > _TAIL_SWITCH)):
        a = xp.abs(z)
        far = a > _TAIL_SWITCH
        l_log = xp.log(xp.where(far, 1.0, t))
        l_log[far] = log_ndtr(xp, -a[far])
    else:
        l_log = xp.log(t)
    total = _rowsum(xp, l_log) + _rowsum(xp, m_log)
    m_log -= l_log
    diff = xp.copysign(m_log, z)
    ramp = xp.arange(1, n + 1, dtype=z.dtype, device=array_api_compat.device(z))
    ramp = 2.0 * ramp - (n + 1)  # exact in float32 up to n = 2**23
    diff *= ramp
    # Both sums are O(n) and cancel to an O(1) result: use the library's pairwise/cascade summation
    # (a BLAS dot or einsum accumulates sequentially and loses about 10x more digits at n = 10^5).
    return -n - total - _rowsum(xp, diff) / n


class ColumnStatistics(NamedTuple):
    """Per-column statistics of one block, as arrays on the block's device."""

    ad_statistic: Array  # A²
    skewness: Array  # g1 = m3 / m2^1.5 (biased)
    kurtosis: Array  # b2 = m4 / m2^2 (Pearson, not excess)
    value_range: Array  # max - min; 0 marks a constant column
    w2: Array | None = None  # squared 2-Wasserstein distance to N(0, 1), when cell means are given
    #: (m, q) standardised (ddof=1) values at the ranks ``order_ranks``, when those are given
    order_statistics: Array | None = None


def column_statistics(xp: Any, block: Array, dtype: Any,
                      cell_means: tuple[Array, float] | None = None,
                      workspace: Workspace | None = None,
                      order_ranks: np.ndarray | None = None) -> ColumnStatistics:
    """A², skewness and kurtosis of every column of an ``(n, m)`` block, computed in ``dtype``.

    One sort per column; the moments are taken from the standardised sorted values.
    Constant columns give ``value_range == 0`` and finite placeholder statistics; callers must reject
    them (``check_nonconstant``) before reporting anything. For NumPy input the sorted columns are
    processed a few at a time (about 2 MiB of float64 each) in the ``workspace``'s buffers, which keeps
    the work arrays in cache; other namespaces process the block at once.

    With ``cell_means = (m, C_n)`` from :func:`gaussprobe.stats.distance.normal_cell_means` (``m`` in
    ``dtype`` on the block's device), the same sorted pass also gives each column's squared
    2-Wasserstein distance to ``N(0, 1)`` after standardising with the ``ddof=0`` deviation,
    ``mean((z_(i) - m_i)²) + C_n`` (the sliced distance's per-direction value).

    With ``order_ranks`` (0-based ranks, e.g. :func:`order_statistic_ranks`) the same sorted pass also
    returns each column's standardised values at those ranks (``order_statistics``, shape ``(m, q)``):
    the points of a normal QQ plot, at no extra sort.
    """
    if _is_numpy(xp):
        ws = workspace or Workspace()
        srt = sorted_columns(xp, block, ws)
        m, n = (int(k) for k in srt.shape)
        step = max(1, _CHUNK_BYTES // (8 * n))
        parts = [_sorted_statistics_numpy(srt[a:a + step], dtype, cell_means, ws, order_ranks)
                 for a in range(0, m, step)]
        if len(parts) == 1:
            return parts[0]
        return ColumnStatistics(*(None if field[0] is None else np.concatenate(field)
                                  for field in zip(*parts, strict=True)))
    return _sorted_statistics(xp, sorted_columns(xp, block), dtype, cell_means, order_ranks)


def _sorted_statistics(xp: Any, srt: Array, dtype: Any,
                       cell_means: tuple[Array, float] | None = None,
                       order_ranks: np.ndarray | None = None) -> ColumnStatistics:
    """:func:`column_statistics` of rows that are already sorted (modified in place when the dtype
    does not change)."""
    n = int(srt.shape[-1])
    s = xp.astype(srt, dtype, copy=False)
    value_range = xp.astype(s[:, -1], xp.float64) - xp.astype(s[:, 0], xp.float64)
    s -= xp.astype(_rowsum(xp, s) / n, dtype)[:, None]
    sd = xp.sqrt(_rowdot(xp, s, s) / (n - 1))
    sd = xp.where(value_range > 0, sd, xp.ones_like(sd))
    s /= xp.astype(sd, dtype)[:, None]
    order = None
    if order_ranks is not None:
        order = xp.take(s, xp.asarray(order_ranks, device=array_api_compat.device(s)), axis=1)
    a2 = anderson_darling_standardized(xp, s)
    # Σ z² = n - 1 up to rounding (z is standardised with ddof=1), so m2 = (n - 1)/n exactly
    m2 = (n - 1) / n
    sq = s * s
    g1 = _rowdot(xp, sq, s) / (n * m2**1.5)
    b2 = _rowdot(xp, sq, sq) / (n * m2**2)
    w2 = None
    if cell_means is not None:
        # z0 = z·sqrt(n/(n-1)) is standardised with the ddof=0 deviation; sorted, like z
        r = s * math.sqrt(n / (n - 1)) - cell_means[0][None, :]
        w2 = _rowdot(xp, r, r) / n + cell_means[1]
    return ColumnStatistics(a2, g1, b2, value_range, w2, order)


def _sorted_statistics_numpy(srt: np.ndarray, dtype: Any, cell_means: tuple[Array, float] | None,
                             ws: Workspace, order_ranks: np.ndarray | None = None) -> ColumnStatistics:
    """NumPy twin of :func:`_sorted_statistics` that writes into the workspace's buffers (same
    operations in the same order, so the same results).

    Kept for its measured win: the generic body allocates a fresh temporary per operation, and on
    NumPy page-faulting that memory dominates. The statistics of sorted columns of (n, columns) =
    (100000, 32), (10000, 256), (2000, 768) took 179, 131, 60 ms here against 812, 3649, 880 ms with
    the generic body on the whole block (2004, 1007, 54 ms on the same column chunks), one thread."""
    m, n = (int(k) for k in srt.shape)
    s = ws.get("s", (m, n), dtype)
    np.copyto(s, srt)
    value_range = s[:, -1].astype(np.float64) - s[:, 0].astype(np.float64)
    s -= (_rowsum(np, s) / n).astype(dtype)[:, None]
    sd = np.sqrt(_rowdot(np, s, s) / (n - 1))
    sd = np.where(value_range > 0, sd, np.ones_like(sd))
    s /= sd.astype(dtype)[:, None]
    order = None if order_ranks is None else s[:, order_ranks]  # a copy: ``s`` is a reused buffer
    a2 = _anderson_darling_numpy(s, ws)
    m2 = (n - 1) / n
    sq = ws.get("t", (m, n), dtype)
    np.multiply(s, s, out=sq)
    g1 = _rowdot(np, sq, s) / (n * m2**1.5)
    b2 = _rowdot(np, sq, sq) / (n * m2**2)
    w2 = None
    if cell_means is not None:
        r = sq
        np.multiply(s, math.sqrt(n / (n - 1)), out=r)
        r -= cell_means[0][None, :]
        w2 = _rowdot(np, r, r) / n + cell_means[1]
    return ColumnStatistics(a2, g1, b2, value_range, w2, order)


def _anderson_darling_numpy(z: np.ndarray, ws: Workspace) -> np.ndarray:
    """NumPy twin of :func:`anderson_darling_standardized` that writes into the workspace."""
    from scipy import special

    m, n = (int(k) for k in z.shape)
    t = ws.get("t", (m, n), z.dtype)
    np.abs(z, out=t)
    t *= 1.0 / math.sqrt(2.0)
    special.erfc(t, out=t)
    t *= 0.5
    m_log = ws.get("m_log", (m, n), z.dtype)
    np.subtract(1.0, t, out=m_log)
    np.log(m_log, out=m_log)
    l_log = ws.get("l_log", (m, n), z.dtype)
    ends = np.maximum(-z[:, 0], z[:, -1])
    if bool(np.any(ends > _TAIL_SWITCH)):
        with np.errstate(divide="ignore"):  # t underflows to 0 far out; those entries are replaced
            np.log(t, out=l_log)
        far = np.abs(z) > _TAIL_SWITCH
        l_log[far] = log_ndtr(np, -np.abs(z[far]))
    else:
        np.log(t, out=l_log)
    total = _rowsum(np, l_log) + _rowsum(np, m_log)
    m_log -= l_log
    np.copysign(m_log, z, out=m_log)
    m_log *= ws.ramp(n, z.dtype)
    return np.asarray(-n - total - _rowsum(np, m_log) / n)


def anderson_darling(xp: Any, x: Array, dtype: Any | None = None) -> Array:
    """``A²`` of every column of ``x`` (shape ``(n, m)``), as ``scipy.stats.anderson(..., 'norm')``."""
    return column_statistics(xp, x, dtype or xp.float64).ad_statistic


def ad_modified_statistic(a2: Any, n: int) -> np.ndarray:
    """D'Agostino & Stephens' small-sample modification ``A* = A² (1 + 0.75/n + 2.25/n²)``."""
    return np.asarray(a2, dtype=np.float64) * (1.0 + 0.75 / n + 2.25 / n**2)


def ad_pvalue(a2: Any, n: int) -> np.ndarray:
    """Approximate p-values of ``A²`` (host), as R ``nortest::ad.test``.

    D'Agostino & Stephens (1986, ch. 4) piecewise formula on ``A* = A² (1 + 0.75/n + 2.25/n²)``::

        A* < 0.2          p = 1 - exp(-13.436 + 101.14 A* - 223.73 A*²)
        0.2 <= A* < 0.34  p = 1 - exp(-8.318 + 42.796 A* - 59.938 A*²)
        0.34 <= A* < 0.6  p = exp(0.9177 - 4.279 A* - 1.38 A*²)
        0.6 <= A* < 10    p = exp(1.2937 - 5.709 A* + 0.0186 A*²)
        A* >= 10          p = 3.7e-24 (nortest's floor: the formula turns upwards beyond 10)

    The approximation is accurate to a few percent of p for p between about 10⁻⁴ and 0.5; it is
    not scipy's ``method='interpolate'``, which clips p to [0.01, 0.15]. Its upper pieces are too
    steep: under normality only 0.005 of the p-values exceed 0.99 and 6e-5 exceed 0.999 (10⁶ draws
    at n = 74 and 640), so it is not uniform near 1. The tests of this package use
    :func:`ad_null_pvalue`, which is; this function is kept for parity with R.
    """
    return _ad_pvalue_modified(ad_modified_statistic(a2, n))


def _ad_pvalue_modified(a_star: Any) -> np.ndarray:
    a = np.asarray(a_star, dtype=np.float64)
    with np.errstate(over="ignore"):
        p = np.select(
            [a < 0.2, a < 0.34, a < 0.6, a < 10.0],
            [
                -np.expm1(-13.436 + 101.14 * a - 223.73 * a**2),
                -np.expm1(-8.318 + 42.796 * a - 59.938 * a**2),
                np.exp(0.9177 - 4.279 * a - 1.38 * a**2),
                np.exp(1.2937 - 5.709 * a + 0.0186 * a**2),
            ],
            AD_PVALUE_FLOOR,
        )
    return np.asarray(np.clip(p, 0.0, 1.0), dtype=np.float64)


def _ad_modified_critical(alpha: float) -> float:
    """The smallest ``A*`` whose D'Agostino–Stephens p-value is <= ``alpha`` (closed form per piece)."""
    la = math.log(alpha)
    candidates = []
    # pieces 1-2: p = 1 - exp(c0 + c1 A + c2 A²)  ->  c2 A² + c1 A + c0 - log(1 - alpha) = 0
    for lo, hi, c0, c1, c2 in ((0.0, 0.2, -13.436, 101.14, -223.73), (0.2, 0.34, -8.318, 42.796, -59.938)):
        rhs = math.log1p(-alpha)
        disc = c1 * c1 - 4 * c2 * (c0 - rhs)
        if disc >= 0:
            root = (-c1 + math.sqrt(disc)) / (2 * c2)  # the increasing branch of the exponent
            if lo <= root < hi:
                candidates.append(root)
    # piece 3: log p = 0.9177 - 4.279 A - 1.38 A²
    disc = 4.279**2 + 4 * 1.38 * (0.9177 - la)
    if disc >= 0:
        root = (-4.279 + math.sqrt(disc)) / (2 * 1.38)
        if 0.34 <= root < 0.6:
            candidates.append(root)
    # piece 4: log p = 1.2937 - 5.709 A + 0.0186 A²  (decreasing on [0.6, 10])
    disc = 5.709**2 - 4 * 0.0186 * (1.2937 - la)
    if disc >= 0:
        root = (5.709 - math.sqrt(disc)) / (2 * 0.0186)
        if 0.6 <= root < 10.0:
            candidates.append(root)
    # the pieces do not join exactly: alpha may fall into a jump, where a piece boundary is the answer
    candidates.extend(b for b in (0.0, 0.2, 0.34, 0.6, 10.0) if float(_ad_pvalue_modified(b)) <= alpha)
    return min(candidates)


def ad_critical_value(n: int, alpha: float) -> float:
    """Critical value of ``A²`` at level ``alpha`` for samples of size ``n`` (reject when ``A²`` >= it).

    For the levels scipy tabulates (0.15, 0.10, 0.05, 0.025, 0.01) this is exactly what
    ``scipy.stats.anderson(x, 'norm')`` reports in ``critical_values`` (scipy 1.17, no ``method=``):
    ``round(c_alpha / (1 + 0.75/n + 2.25/n²), 3)`` with ``c_0.05 = 0.752``, so 0.752 for large n.
    Other levels invert the D'Agostino–Stephens p-value approximation of :func:`ad_pvalue` (the same
    small-sample factor, not rounded); for the tabulated levels the two agree to within 0.004.
    """
    for level, c in zip(AD_TABLE_LEVELS, AD_TABLE_ASYMPTOTIC, strict=True):
        if math.isclose(alpha, level, rel_tol=1e-12):
            return float(np.round(c / (1.0 + 0.75 / n + 2.25 / n**2), 3))
    if not AD_PVALUE_FLOOR < alpha < 1.0:
        msg = (f"`alpha` must lie in ({AD_PVALUE_FLOOR:g}, 1) for the Anderson–Darling critical value "
               f"(the p-value approximation has no smaller values); got {alpha!r}.")
        raise ValueError(msg)
    return _ad_modified_critical(alpha) / (1.0 + 0.75 / n + 2.25 / n**2)


# ------------------------------------------------------------------ D'Agostino–Pearson
def skewtest_z(xp: Any, g1: Array, n: int) -> Array:
    """D'Agostino's z for the sample skewness ``g1 = m3/m2^1.5`` (``scipy.stats.skewtest``).

    ``y = g1 sqrt((n+1)(n+3) / (6(n-2)))``, ``β2 = 3(n²+27n-70)(n+1)(n+3) / ((n-2)(n+5)(n+7)(n+9))``,
    ``W² = sqrt(2(β2-1)) - 1``, ``δ = 1/sqrt(log W)``, ``α = sqrt(2/(W²-1))`` and
    ``z = δ asinh(y/α)``. Unlike scipy, ``y = 0`` gives ``z = 0`` (scipy substitutes ``y = 1``).
    """
    y_scale = math.sqrt((n + 1) * (n + 3) / (6.0 * (n - 2)))
    beta2 = 3.0 * (n * n + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
    w2 = -1.0 + math.sqrt(2.0 * (beta2 - 1.0))
    delta = 1.0 / math.sqrt(0.5 * math.log(w2))
    alpha = math.sqrt(2.0 / (w2 - 1.0))
    return delta * xp.asinh(g1 * (y_scale / alpha))


def kurtosistest_z(xp: Any, b2: Array, n: int) -> Array:
    """Anscombe & Glynn's z for the sample kurtosis ``b2 = m4/m2²`` (``scipy.stats.kurtosistest``).

    ``x = (b2 - E)/sqrt(Var)`` with ``E = 3(n-1)/(n+1)`` and
    ``Var = 24n(n-2)(n-3)/((n+1)²(n+3)(n+5))``;
    ``√β1 = 6(n²-5n+2)/((n+7)(n+9)) sqrt(6(n+3)(n+5)/(n(n-2)(n-3)))``,
    ``A = 6 + (8/√β1)(2/√β1 + sqrt(1 + 4/β1))`` and
    ``z = ((1 - 2/(9A)) - cbrt((1 - 2/A) / (1 + x sqrt(2/(A-4))))) / sqrt(2/(9A))``, where ``cbrt`` is
    scipy's signed cube root (very platykurtic samples make the denominator negative). Where the
    denominator is exactly 0, scipy returns NaN; here ``z = -inf``, its limit from the valid side.
    """
    mean = 3.0 * (n - 1) / (n + 1)
    var = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    sqrt_beta1 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * math.sqrt(
        6.0 * (n + 3) * (n + 5) / (n * (n - 2) * (n - 3)))
    a = 6.0 + 8.0 / sqrt_beta1 * (2.0 / sqrt_beta1 + math.sqrt(1.0 + 4.0 / sqrt_beta1**2))
    x = (b2 - mean) / math.sqrt(var)
    denom = 1.0 + x * math.sqrt(2.0 / (a - 4.0))
    absd = xp.abs(denom)
    zero = absd == 0
    absd = xp.where(zero, xp.ones_like(absd), absd)
    term2 = xp.sign(denom) * ((1.0 - 2.0 / a) / absd) ** (1.0 / 3.0)
    term2 = xp.where(zero, xp.full_like(term2, math.inf), term2)
    return ((1.0 - 2.0 / (9.0 * a)) - term2) / math.sqrt(2.0 / (9.0 * a))


class DAgostinoPearson(NamedTuple):
    """Skewness z, kurtosis z and ``K² = z_skew² + z_kurt²`` per column (device arrays)."""

    z_skewness: Array
    z_kurtosis: Array
    statistic: Array


def dagostino_pearson(xp: Any, g1: Array, b2: Array, n: int) -> DAgostinoPearson:
    """D'Agostino–Pearson omnibus ``K²`` from skewness ``g1`` and kurtosis ``b2`` (``normaltest``)."""
    z1 = skewtest_z(xp, g1, n)
    z2 = kurtosistest_z(xp, b2, n)
    return DAgostinoPearson(z1, z2, z1 * z1 + z2 * z2)


def k2_pvalue(k2: Any) -> np.ndarray:
    """Upper χ²(2) tail of ``K²`` (host): ``exp(-K²/2)``."""
    return np.asarray(chi2_sf(k2, 2), dtype=np.float64)


def normaltest(xp: Any, x: Array, dtype: Any | None = None) -> DAgostinoPearson:
    """``K²`` of every column of ``x`` (shape ``(n, m)``), as ``scipy.stats.normaltest(x, axis=0)``."""
    st = column_statistics(xp, x, dtype or xp.float64)
    return dagostino_pearson(xp, st.skewness, st.kurtosis, int(x.shape[0]))


# ------------------------------------------------------------------ the blocked driver
class UnivariateTests(NamedTuple):
    """Per-column results on the host (float64 NumPy vectors)."""

    ad_statistic: np.ndarray
    skewness: np.ndarray
    kurtosis: np.ndarray
    z_skewness: np.ndarray
    z_kurtosis: np.ndarray
    k2: np.ndarray
    value_range: np.ndarray
    w2: np.ndarray | None = None
    #: (n_columns, q) standardised values at ``order_statistic_ranks(n_samples, order_points)``
    order_statistics: np.ndarray | None = None


def default_columns_per_block(xp: Any, n_samples: int, n_columns: int, device: Any) -> int:
    """Columns gathered and sorted together.

    On a CPU: about 8 MiB of float32 per block but at least 16 columns (gathering fewer columns of a
    row-major matrix wastes most of each cache line), and at most a quarter of the columns per
    thread; the block count is then rounded up to a multiple of the thread count, so the threads
    get equal shares. Whatever the rule, a block holds at most :data:`MAX_BLOCK_BYTES` of float64
    (a few columns at 10⁷ rows), which bounds the memory of the sorted copies. On an accelerator:
    256 MiB of float64 (few, large kernels).
    """
    n = max(1, n_samples)
    if str(device) not in {"cpu", "CPU_DEVICE"}:
        return max(1, 256 * 2**20 // (8 * n))
    threads = host_threads(xp, n_columns)
    by_memory = 8 * 2**20 // (4 * n)
    by_threads = -(-n_columns // (4 * threads))
    cols = max(16, min(by_memory, by_threads))
    blocks = -(-n_columns // cols)
    blocks = -(-blocks // threads) * threads
    return max(1, min(-(-n_columns // blocks), MAX_BLOCK_BYTES // (8 * n)))


def host_threads(xp: Any, n_blocks: int) -> int:
    """Worker threads for NumPy input: one per CPU this process may use (at most 8), never more than
    blocks. The sort and the special functions release the GIL. Other namespaces run in order."""
    if not _is_numpy(xp) or n_blocks < 2:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, n_blocks, _MAX_THREADS))


def univariate_tests(xp: Any, column_block: Any, n_columns: int, n_samples: int, *, dtype: Any,
                     block_size: int, cell_means: tuple[Array, float] | None = None,
                     order_points: int | None = None) -> UnivariateTests:
    """Run the column kernels over ``column_block(start, stop)`` blocks, then move the results to the
    host once. ``column_block`` returns an ``(n_samples, stop - start)`` array in any float dtype.
    ``cell_means`` adds each column's squared 2-Wasserstein distance to ``N(0, 1)`` (``w2``; see
    :func:`column_statistics`). ``order_points`` adds ``order_statistics``: each column's standardised
    values at :func:`order_statistic_ranks` ``(n_samples, order_points)`` (O(n_columns · order_points)
    memory).

    NumPy blocks are spread over :func:`host_threads` threads; every block is computed on its own, so
    the results do not depend on the number of threads or on ``block_size``.
    """
    from .._backend import row_blocks, to_numpy

    local = threading.local()  # one workspace per thread, released with this call
    ranks = None if order_points is None else order_statistic_ranks(n_samples, order_points)

    def one(span: tuple[int, int]) -> tuple[Array, Array | None]:
        ws = getattr(local, "workspace", None)
        if ws is None:
            ws = local.workspace = Workspace()
        st = column_statistics(xp, column_block(*span), dtype, cell_means, ws, ranks)
        dp = dagostino_pearson(xp, st.skewness, st.kurtosis, n_samples)
        rows = [st.ad_statistic, st.skewness, st.kurtosis, dp.z_skewness, dp.z_kurtosis,
                dp.statistic, st.value_range]
        return xp.stack(rows if st.w2 is None else [*rows, st.w2]), st.order_statistics

    spans = list(row_blocks(n_columns, block_size))
    workers = host_threads(xp, len(spans))
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(one, spans))
    else:
        parts = [one(span) for span in spans]
    rows = [p[0] for p in parts]
    host = to_numpy(rows[0] if len(rows) == 1 else xp.concat(rows, axis=1)).astype(np.float64)
    order = None
    if ranks is not None:
        blocks = [p[1] for p in parts]
        order = to_numpy(blocks[0] if len(blocks) == 1 else xp.concat(blocks, axis=0)).astype(np.float64)
    columns = dict(zip(UnivariateTests._fields, host, strict=False))
    return UnivariateTests(**columns, order_statistics=order)


# ------------------------------------------------------------------ mergeable moments
@dataclass
class MomentState:
    """Mergeable per-column moments: ``n``, mean, ``M_k = Σ (x - mean)^k`` for k = 2, 3, 4, min, max.

    ``update(block, xp)`` folds in the rows of an ``(n_rows, m)`` block; ``merge(other, xp)`` combines
    two partial states with Pébay's (2008) pairwise formulas (Chan, Golub & LeVeque's for ``M2``).
    Both work in place and return ``self``. The state is O(m), so skewness, kurtosis and ``K²`` can be
    computed in one pass over row blocks, or per worker and merged. The Anderson–Darling statistic
    needs the sorted column and has no such state.
    """

    n: int
    mean: Array
    m2: Array
    m3: Array
    m4: Array
    minimum: Array
    maximum: Array

    @classmethod
    def empty(cls, xp: Any, m: int, *, dtype: Any, device: Any = None) -> MomentState:
        z = xp.zeros((m,), dtype=dtype, device=device)
        return cls(n=0, mean=z, m2=z, m3=z, m4=z,
                   minimum=xp.full((m,), math.inf, dtype=dtype, device=device),
                   maximum=xp.full((m,), -math.inf, dtype=dtype, device=device))

    @classmethod
    def from_block(cls, block: Array, xp: Any) -> MomentState:
        """The state of one block of rows (two passes over the block: mean, then central sums)."""
        nb = int(block.shape[0])
        mean = xp.sum(block, axis=0) / nb
        d = block - mean
        d2 = d * d
        return cls(n=nb, mean=mean, m2=xp.sum(d2, axis=0), m3=xp.sum(d2 * d, axis=0),
                   m4=xp.sum(d2 * d2, axis=0), minimum=xp.min(block, axis=0),
                   maximum=xp.max(block, axis=0))

    def update(self, block: Array, xp: Any) -> MomentState:
        """Fold the rows of ``block`` (shape ``(n_rows, m)``) into the state."""
        if int(block.shape[0]) == 0:
            return self
        return self.merge(MomentState.from_block(block, xp), xp)

    def merge(self, other: MomentState, xp: Any) -> MomentState:
        """Combine with another partial state over the same columns."""
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean, self.m2, self.m3, self.m4 = other.n, other.mean, other.m2, other.m3, other.m4
            self.minimum, self.maximum = other.minimum, other.maximum
            return self
        na, nb = self.n, other.n
        n = na + nb
        delta = other.mean - self.mean
        dn = delta / n
        dn2 = dn * dn
        m4 = (self.m4 + other.m4 + delta * dn * dn2 * (na * nb * (na * na - na * nb + nb * nb))
              + 6.0 * dn2 * (na * na * other.m2 + nb * nb * self.m2)
              + 4.0 * dn * (na * other.m3 - nb * self.m3))
        m3 = (self.m3 + other.m3 + delta * dn2 * (na * nb * (na - nb))
              + 3.0 * dn * (na * other.m2 - nb * self.m2))
        m2 = self.m2 + other.m2 + delta * dn * (na * nb)
        self.mean = self.mean + dn * nb
        self.m2, self.m3, self.m4, self.n = m2, m3, m4, n
        self.minimum = xp.minimum(self.minimum, other.minimum)
        self.maximum = xp.maximum(self.maximum, other.maximum)
        return self

    def variance(self, ddof: int = 0) -> Array:
        return self.m2 / (self.n - ddof)

    def skewness(self, xp: Any) -> Array:
        """Biased sample skewness ``g1 = sqrt(n) M3 / M2^1.5`` (constant columns give 0)."""
        m2 = xp.where(self.m2 > 0, self.m2, xp.ones_like(self.m2))
        return math.sqrt(self.n) * self.m3 / m2**1.5

    def kurtosis(self, xp: Any) -> Array:
        """Pearson kurtosis ``b2 = n M4 / M2²`` (3 for a normal; constant columns give 0)."""
        m2 = xp.where(self.m2 > 0, self.m2, xp.ones_like(self.m2))
        return self.n * self.m4 / m2**2

    def dagostino_pearson(self, xp: Any) -> DAgostinoPearson:
        """``K²`` per column from the accumulated moments (needs ``n >= 8``)."""
        if self.n < MIN_SAMPLES:
            msg = f"The D'Agostino–Pearson test needs at least {MIN_SAMPLES} samples; the state has {self.n}."
            raise ValueError(msg)
        return dagostino_pearson(xp, self.skewness(xp), self.kurtosis(xp), self.n)


__all__ = [
    "AD_PVALUE_FLOOR",
    "AD_TABLE_ASYMPTOTIC",
    "AD_TABLE_LEVELS",
    "MIN_SAMPLES",
    "ORDER_STATISTIC_POINTS",
    "RELIABLE_KURTOSIS_SAMPLES",
    "ColumnStatistics",
    "DAgostinoPearson",
    "MomentState",
    "UnivariateTests",
    "ad_critical_value",
    "ad_modified_statistic",
    "ad_null_pvalue",
    "ad_pvalue",
    "anderson_darling",
    "anderson_darling_standardized",
    "column_statistics",
    "dagostino_pearson",
    "default_columns_per_block",
    "host_threads",
    "k2_pvalue",
    "kurtosistest_z",
    "normal_plotting_positions",
    "normaltest",
    "order_statistic_ranks",
    "skewtest_z",
    "sorted_columns",
    "univariate_tests",
]
