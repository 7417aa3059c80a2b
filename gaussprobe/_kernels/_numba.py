"""Optional numba kernels, compiled on first use (never at import), each with a NumPy twin.

Only kernels that beat their NumPy twin in ``benchmarks/bench_mardia.py`` live here. The twin stays the
reference implementation and the test oracle (``tests/test_gram_kernels.py``).

* :func:`cube_sum_kernel` -- ``Σ g³`` over a Gram tile in one fused pass (no temporaries). The twin
  needs a squared copy of the tile and a dot product; the fused loop is about 5x faster per element
  on AVX-512 hardware, which is 5-8 % of the whole Mardia run at ``d = 768``.

Kernels that lost and are therefore not shipped: a fused ``Σ exp(u_j + u_k + g_jk)`` for
Henze-Zirkler. Without Intel SVML, numba's scalar ``exp`` is several times slower than NumPy's SIMD
``exp`` followed by a BLAS matrix-vector product.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from .._backend import optional_import


def numba_available() -> bool:
    """True when numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def _cube_sum_loop(flat: Any) -> float:  # pragma: no cover - compiled by numba, or a slow oracle
    """Plain loop ``Σ g³`` in float64; compiled by :func:`cube_sum_kernel`."""
    acc = 0.0
    for i in range(flat.shape[0]):
        v = np.float64(flat[i])
        acc += v * v * v
    return acc


def _cube_sum_lower_loop(g: Any) -> float:  # pragma: no cover - compiled by numba, or a slow oracle
    """``Σ_jk g_jk³`` of a symmetric tile from its lower triangle (the upper one is never read)."""
    off = 0.0
    diag = 0.0
    for j in range(g.shape[0]):
        for k in range(j):
            v = np.float64(g[j, k])
            off += v * v * v
        w = np.float64(g[j, j])
        diag += w * w * w
    return 2.0 * off + diag


def cube_sum_twin(flat: np.ndarray, work: np.ndarray | None = None,
                  upcast: np.ndarray | None = None) -> float:
    """NumPy twin of the fused kernel: ``Σ g³`` over a contiguous 1-D array, in float64.

    ``work`` (and ``upcast`` for float32 input) are optional float64 scratch buffers of at least
    ``flat.size`` elements; passing them avoids allocating per tile. ``np.power(g, 3)`` is avoided on
    purpose: it is about 50x slower than ``g * g`` followed by a dot product.
    """
    m = flat.shape[0]
    if flat.dtype != np.float64:
        up = np.empty(m) if upcast is None else upcast[:m]
        np.copyto(up, flat)
        flat = up
    sq = np.empty(m) if work is None else work[:m]
    np.multiply(flat, flat, out=sq)
    return float(np.dot(sq, flat))


def cube_sum_lower_twin(g: np.ndarray, work: np.ndarray | None = None,
                        upcast: np.ndarray | None = None) -> float:
    """NumPy twin of :func:`cube_sum_lower_kernel`. Overwrites the strict upper triangle of ``g``."""
    m = g.shape[0]
    g[_upper_indices(m)] = 0
    diag = np.diagonal(g).astype(np.float64)
    return 2.0 * cube_sum_twin(g.reshape(-1), work, upcast) - float(np.dot(diag * diag, diag))


@functools.lru_cache(maxsize=8)
def _upper_indices(m: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(m, 1)


@functools.cache
def _compiled(loop: Callable[[np.ndarray], float]) -> Callable[[np.ndarray], float]:
    """``loop`` compiled by numba (or loaded from numba's cache) on its first use."""
    numba = optional_import("numba")
    compiled: Callable[[np.ndarray], float] = numba.njit(
        cache=True, nogil=True, fastmath={"reassoc", "contract"})(loop)
    return compiled


def cube_sum_lower_kernel() -> Callable[[np.ndarray], float]:
    """The compiled lower-triangle ``Σ g³`` kernel for symmetric (diagonal) tiles."""
    return _compiled(_cube_sum_lower_loop)


def cube_sum_kernel() -> Callable[[np.ndarray], float]:
    """The compiled ``Σ g³`` kernel (compiled, or loaded from numba's cache, on the first call)."""
    return _compiled(_cube_sum_loop)


__all__ = [
    "cube_sum_kernel",
    "cube_sum_lower_kernel",
    "cube_sum_lower_twin",
    "cube_sum_twin",
    "numba_available",
]
