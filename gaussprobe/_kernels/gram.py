"""Blocked, symmetric reductions over the Gram matrix ``G = Y Yᵀ``.

The rows of ``Y`` (n x d) are cut into blocks ``B_0, B_1, ...`` of ``block_size`` rows. Only the tiles
``G[B_i, B_j]`` with ``i <= j`` are formed, one at a time, and each is reduced to one float by a
*reducer*. The result is a short host vector of per-tile values plus a flag per tile saying whether it
lies on the block diagonal; a diagonal tile holds both ``(j, k)`` and ``(k, j)``, an off-diagonal tile
stands for itself and its mirror image. Memory is ``O(block_size²)`` per worker; nothing ``n x n`` is
ever built.

Two executions share the tile list and the reducers:

* **NumPy input** -- a pool of ``cpu_threads()`` Python threads, each calling *single-threaded* BLAS
  (through threadpoolctl) on its own tiles and reusing its own scratch buffers. On small machines this
  beats one multithreaded GEMM because every tile's reduction runs while the other thread is in BLAS.
* **Any other array library** (torch on CPU or CUDA) -- the tiles run in order through the array's
  own namespace, stay on the device, and the per-tile values are copied to the host once, at the end.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from .. import _progress
from .._backend import row_blocks, to_numpy
from .._typing import Array
from ._numba import cube_sum_lower_twin, cube_sum_twin

#: Rows per tile for NumPy input (a 512 x 512 float64 tile is 2 MiB and stays in L2/L3 cache).
DEFAULT_TILE_HOST = 512
#: Rows per tile for accelerator arrays (a 4096 x 4096 float64 tile is 128 MiB).
DEFAULT_TILE_DEVICE = 4096
#: Below this much work (flop), one thread beats starting a pool.
PARALLEL_MIN_FLOP = 3.0e7

T = TypeVar("T")
R = TypeVar("R")
Span = tuple[int, int]


# ------------------------------------------------------------------------------------------ threads
def cpu_threads() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@functools.cache
def _blas_controller() -> Any:
    import threadpoolctl
    from scipy.linalg import blas  # noqa: F401  (load SciPy's own BLAS so that it is limited too)

    return threadpoolctl.ThreadpoolController()


def worker_count(flop: float) -> int:
    """Threads for ``flop`` operations of NumPy/BLAS work.

    One thread for small problems; otherwise the number of usable CPUs, capped by the BLAS thread
    limit currently in force, so ``OMP_NUM_THREADS=1`` or an enclosing
    ``threadpoolctl.threadpool_limits(1)`` also keep gaussprobe on one thread.
    """
    if flop < PARALLEL_MIN_FLOP:
        return 1
    n = cpu_threads()
    try:
        limits = [int(i["num_threads"]) for i in _blas_controller().select(user_api="blas").info()]
    except (AttributeError, KeyError, TypeError, ValueError, OSError):  # pragma: no cover
        limits = []
    if limits:
        n = min(n, max(limits))
    return max(1, n)


def single_threaded_blas() -> Any:
    """Context manager limiting every loaded BLAS to one thread."""
    return _blas_controller().limit(limits=1, user_api="blas")


def parallel_map(fn: Callable[[T], R], items: Iterable[T], n_threads: int) -> list[R]:
    """``[fn(i) for i in items]`` on ``n_threads`` threads with BLAS limited to one thread each."""
    todo = list(items)
    if n_threads <= 1 or len(todo) <= 1:
        # small work: still one BLAS thread (multithreaded OpenBLAS on small matrices mostly spins,
        # and on a busy machine it can be 100x slower)
        with single_threaded_blas():
            return [fn(i) for i in todo]
    with single_threaded_blas(), ThreadPoolExecutor(max_workers=min(n_threads, len(todo))) as pool:
        return list(pool.map(fn, todo))


def split_range(n: int, parts: int) -> list[range]:
    """``range(n)`` cut into at most ``parts`` contiguous, nearly equal pieces."""
    parts = max(1, min(parts, n))
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [range(int(a), int(b)) for a, b in itertools.pairwise(edges.tolist()) if b > a]


@dataclass
class Scratch:
    """Per-thread flat buffers, grown on demand and reused across tiles."""

    buffers: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def get(self, name: str, size: int, dtype: Any = np.float64) -> np.ndarray:
        key = (name, np.dtype(dtype).str)
        buf = self.buffers.get(key)
        if buf is None or buf.size < size:
            buf = np.empty(max(size, 1), dtype=dtype)
            self.buffers[key] = buf
        return buf[:size]

    def matrix(self, name: str, rows: int, cols: int, dtype: Any = np.float64) -> np.ndarray:
        return self.get(name, rows * cols, dtype).reshape(rows, cols)


# ------------------------------------------------------------------------------------------ reducers
class Reducer(Protocol):
    """Reduces one Gram tile ``g = Y[rows] @ Y[cols].T`` to a float."""

    def host(self, g: np.ndarray, scratch: Scratch, rows: Span, cols: Span, diagonal: bool) -> float:
        """NumPy tile (may be overwritten)."""

    def host_lower(self, g: np.ndarray, scratch: Scratch, rows: Span) -> float:
        """NumPy diagonal tile of which only the lower triangle (with the diagonal) is valid.

        Returns the same value as :meth:`host` on the full symmetric tile. Diagonal tiles are formed
        with BLAS ``syrk``, which computes one triangle at half the cost of a full product.
        """

    def device(self, xp: Any, g: Array, rows: Span, cols: Span, diagonal: bool) -> Array:
        """Tile of another array library; returns a 0-d array on the tile's device."""


@dataclass(frozen=True)
class CubeSum:
    """``Σ_jk g_jk³`` over the tile (Mardia's skewness), accumulated in float64.

    ``kernel`` is the fused numba loop from :mod:`._numba`, or ``None`` for the NumPy twin.
    """

    kernel: Callable[[np.ndarray], float] | None = None
    lower_kernel: Callable[[np.ndarray], float] | None = None

    def host(self, g: np.ndarray, scratch: Scratch, rows: Span, cols: Span, diagonal: bool) -> float:
        flat = g.reshape(-1)
        if self.kernel is not None:
            return float(self.kernel(flat))
        upcast = scratch.get("upcast", flat.size) if flat.dtype != np.float64 else None
        return cube_sum_twin(flat, scratch.get("square", flat.size), upcast)

    def host_lower(self, g: np.ndarray, scratch: Scratch, rows: Span) -> float:
        if self.lower_kernel is not None:
            return float(self.lower_kernel(g))
        upcast = scratch.get("upcast", g.size) if g.dtype != np.float64 else None
        return cube_sum_lower_twin(g, scratch.get("square", g.size), upcast)

    def device(self, xp: Any, g: Array, rows: Span, cols: Span, diagonal: bool) -> Array:
        if g.dtype != xp.float64:
            g = xp.astype(g, xp.float64)
        f = xp.reshape(g, (-1,))
        return xp.matmul(f * f, f)  # a BLAS dot product: one temporary, no second elementwise pass


@dataclass(frozen=True)
class LogExpSum:
    """``log Σ exp(u_j + u_k + g_jk)`` over the tile, leaving out ``j = k`` on diagonal tiles.

    ``g`` is a tile of a *scaled* Gram matrix and ``u`` a per-row offset (Henze-Zirkler:
    ``g = β² z_jᵀz_k`` and ``u_j = -β²/2 (|z_j|² - c)``). NumPy tiles use the factorised form
    ``e_rᵀ exp(g) e_c`` with ``e = exp(u)`` (one exponential pass and a matrix-vector product). If that
    overflows or underflows, the tile is redone with its maximum factored out, which is exact for any
    magnitude. Device tiles always use the max-shifted form.
    """

    u: Any
    exp_u: np.ndarray | None = None

    def host(self, g: np.ndarray, scratch: Scratch, rows: Span, cols: Span, diagonal: bool) -> float:
        nr, nc = g.shape
        if diagonal and nr == 1:
            return -math.inf  # a 1 x 1 diagonal tile holds only the excluded term
        if self.exp_u is None:
            return self._shifted(g, scratch, rows, cols, "diagonal" if diagonal else None)
        e = scratch.matrix("exp", nr, nc)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            np.exp(g, out=e, dtype=np.float64)
            if diagonal:
                np.fill_diagonal(e, 0.0)
            s = float(self.exp_u[rows[0]:rows[1]] @ (e @ self.exp_u[cols[0]:cols[1]]))
        if s > 0.0 and math.isfinite(s):
            return math.log(s)
        return self._shifted(g, scratch, rows, cols, "diagonal" if diagonal else None)

    def host_lower(self, g: np.ndarray, scratch: Scratch, rows: Span) -> float:
        m = g.shape[0]
        if m == 1:
            return -math.inf
        if self.exp_u is not None:
            e = scratch.matrix("exp", m, m)
            ev = self.exp_u[rows[0]:rows[1]]
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                np.exp(g, out=e, dtype=np.float64)
                e[_upper_with_diagonal(m)] = 0.0
                s = float(ev @ (e @ ev))
            if s > 0.0 and math.isfinite(s):
                return math.log(2.0 * s)  # the strict lower triangle stands for both halves
        return math.log(2.0) + self._shifted(g, scratch, rows, rows, "upper")

    def _shifted(self, g: np.ndarray, scratch: Scratch, rows: Span, cols: Span,
                 exclude: str | None) -> float:
        nr, nc = g.shape
        a = scratch.matrix("arg", nr, nc)
        np.add(g, self.u[rows[0]:rows[1], None], out=a, dtype=np.float64)
        a += self.u[None, cols[0]:cols[1]]
        if exclude == "diagonal":
            np.fill_diagonal(a, -np.inf)
        elif exclude == "upper":
            a[_upper_with_diagonal(nr)] = -np.inf
        m = float(a.max())
        if not math.isfinite(m):
            return m
        a -= m
        np.exp(a, out=a)
        return m + math.log(float(a.sum()))

    def device(self, xp: Any, g: Array, rows: Span, cols: Span, diagonal: bool) -> Array:
        if g.dtype != xp.float64:
            g = xp.astype(g, xp.float64)
        arg = g + self.u[rows[0]:rows[1], None] + self.u[None, cols[0]:cols[1]]
        if diagonal:
            nr, nc = int(g.shape[0]), int(g.shape[1])
            dev = arg.device
            eye = xp.arange(nr, device=dev)[:, None] == xp.arange(nc, device=dev)[None, :]
            arg = xp.where(eye, xp.asarray(-math.inf, dtype=xp.float64, device=dev), arg)
        m = xp.max(arg)
        return xp.log(xp.sum(xp.exp(arg - m))) + m


@functools.lru_cache(maxsize=8)
def _upper_with_diagonal(m: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(m, 0)


# ------------------------------------------------------------------------------------------ engine
@dataclass(frozen=True)
class TileValues:
    """One reduced value per tile ``i <= j`` and whether the tile is on the block diagonal."""

    values: np.ndarray
    diagonal: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        """1 for diagonal tiles, 2 for off-diagonal tiles (they stand for their mirror image too)."""
        return np.where(self.diagonal, 1.0, 2.0)

    def symmetric_sum(self) -> float:
        """``Σ_{all j, k}`` of the reduced quantity (exactly rounded sum over tiles)."""
        return math.fsum((self.values * self.weights).tolist())

    def symmetric_logsumexp(self) -> float:
        """``log Σ_{j != k} exp(...)`` from per-tile log-sums."""
        v = self.values + np.log(self.weights)
        m = float(np.max(v)) if v.size else -math.inf
        if not math.isfinite(m):
            return m
        return m + math.log(math.fsum(np.exp(v - m).tolist()))


def tile_spans(n: int, block_size: int) -> list[tuple[Span, Span]]:
    """The tiles ``(rows, cols)`` with row block <= column block, row-major."""
    blocks = list(row_blocks(n, block_size))
    return [(blocks[i], blocks[j]) for i in range(len(blocks)) for j in range(i, len(blocks))]


def tile_values(y: Array, reducer: Reducer, *, block_size: int, xp: Any = None,
                n_threads: int | None = None) -> TileValues:
    """Reduce every tile ``i <= j`` of ``y @ y.T``.

    Parameters
    ----------
    y : array of shape (n, d)
        C-contiguous NumPy array (threaded host path) or an array of another namespace ``xp``.
    reducer : Reducer
        Turns a tile into a float.
    block_size : int
        Rows per tile.
    n_threads : int, optional
        NumPy threads; by default :func:`worker_count` of the GEMM work.
    """
    n, d = int(y.shape[0]), int(y.shape[1])
    tiles = tile_spans(n, block_size)
    diagonal = np.array([r == c for r, c in tiles], dtype=bool)
    if isinstance(y, np.ndarray) and len(tiles) > 1 and _distributed_client() is not None:
        from .._engine._dask import dask_tile_values

        values = dask_tile_values(y, reducer, tiles)  # one task per tile on the cluster
    elif isinstance(y, np.ndarray):
        values = _host_values(y, reducer, tiles, n_threads, d)
    else:
        values = _device_values(xp, y, reducer, tiles)
    return TileValues(values=values, diagonal=diagonal)


def _distributed_client() -> Any:
    """The active ``distributed`` client, if the user made one (never imports ``distributed``)."""
    import sys

    if "distributed" not in sys.modules:
        return None
    from .._engine._dask import _active_client

    return _active_client()


def tile_value(yr: np.ndarray, yc: np.ndarray | None, reducer: Reducer, scratch: Scratch, rows: Span,
               cols: Span) -> float:
    """One tile ``yr @ yc.T`` reduced (``yc`` None: the diagonal tile ``yr @ yr.T``, formed with SYRK)."""
    g = scratch.matrix("gram", yr.shape[0], yr.shape[0] if yc is None else yc.shape[0], yr.dtype)
    if yc is None:
        syrk = _scipy_blas().dsyrk if yr.dtype == np.float64 else _scipy_blas().ssyrk
        # Fortran view: gᵀ's upper triangle, i.e. g's lower one, receives Y_I Y_Iᵀ
        syrk(1.0, yr.T, trans=1, c=g.T, overwrite_c=1, lower=0)
        return float(reducer.host_lower(g, scratch, rows))
    np.matmul(yr, yc.T, out=g)
    return float(reducer.host(g, scratch, rows, cols, False))


def _host_values(y: np.ndarray, reducer: Reducer, tiles: Sequence[tuple[Span, Span]],
                 n_threads: int | None, d: int) -> np.ndarray:
    if not y.flags.c_contiguous:
        y = np.ascontiguousarray(y)
    out = np.empty(len(tiles))
    flop = float(sum((r[1] - r[0]) * (c[1] - c[0]) for r, c in tiles)) * 2.0 * d
    threads = worker_count(flop) if n_threads is None else max(1, int(n_threads))
    local = threading.local()

    def run(chunk: range) -> None:
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = Scratch()
        for k in chunk:
            (r0, r1), (c0, c1) = tiles[k]
            out[k] = tile_value(y[r0:r1], None if r0 == c0 else y[c0:c1], reducer, scratch, (r0, r1),
                                (c0, c1))
            bar.advance()

    with _progress.step("pairwise tiles", total=len(tiles), unit="tile", nested=False) as bar:
        parallel_map(run, split_range(len(tiles), 8 * threads if threads > 1 else 1), threads)
    return out


def _scipy_blas() -> Any:
    from scipy.linalg import blas

    return blas


def _device_values(xp: Any, y: Array, reducer: Reducer, tiles: Sequence[tuple[Span, Span]]) -> np.ndarray:
    vals = []
    for (r0, r1), (c0, c1) in tiles:
        if r0 == c0 and r1 - r0 == 1 and isinstance(reducer, LogExpSum):
            vals.append(xp.asarray(-math.inf, dtype=xp.float64, device=y.device))
            continue
        g = y[r0:r1, :] @ y[c0:c1, :].T
        vals.append(reducer.device(xp, g, (r0, r1), (c0, c1), r0 == c0))
    return np.asarray(to_numpy(xp.stack(vals)), dtype=np.float64)


__all__ = [
    "DEFAULT_TILE_DEVICE",
    "DEFAULT_TILE_HOST",
    "CubeSum",
    "LogExpSum",
    "Reducer",
    "Scratch",
    "TileValues",
    "cpu_threads",
    "parallel_map",
    "single_threaded_blas",
    "split_range",
    "tile_spans",
    "tile_values",
    "worker_count",
]
