"""Centring, covariance, whitening: blocked, mergeable, and rank-aware.

:class:`CovarianceState` is the one-pass state for the mean and covariance: ``update(block)`` folds in
rows, ``merge(other)`` combines two partial states (Chan, Golub & LeVeque's pairwise update), and
``finalize()`` returns mean and covariance. The state is O(d²), independent of n, so chunks can be
processed on different workers (e.g. Dask partitions) and merged.

Whitening uses an eigendecomposition of the covariance so that the rank is explicit: eigenvalues below
``rtol · λ_max`` (default ``d · eps``, the convention of ``numpy.linalg.matrix_rank``) count as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._backend import block_rows_for, to_numpy
from .._typing import Array
from .._validation import Embeddings


@dataclass
class CovarianceState:
    """Mergeable running mean and centred second-moment matrix (float64 on the input's device)."""

    n: int
    mean: Array
    m2: Array  # Σ (x_i - mean)(x_i - mean)^T

    @classmethod
    def empty(cls, xp: Any, d: int, *, dtype: Any, device: Any) -> CovarianceState:
        return cls(n=0, mean=xp.zeros((d,), dtype=dtype, device=device),
                   m2=xp.zeros((d, d), dtype=dtype, device=device))

    def update(self, block: Array, xp: Any) -> CovarianceState:
        """Fold the rows of ``block`` into the state (returns ``self``)."""
        nb = int(block.shape[0])
        if nb == 0:
            return self
        mb = xp.mean(block, axis=0)
        c = block - mb
        other = CovarianceState(n=nb, mean=mb, m2=c.T @ c)
        return self.merge(other, xp)

    def merge(self, other: CovarianceState, xp: Any) -> CovarianceState:
        """Combine with another partial state (in place; returns ``self``)."""
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean, self.m2 = other.n, other.mean, other.m2
            return self
        n = self.n + other.n
        delta = other.mean - self.mean
        self.m2 = self.m2 + other.m2 + (self.n * other.n / n) * (delta[:, None] * delta[None, :])
        self.mean = self.mean + delta * (other.n / n)
        self.n = n
        return self

    def covariance(self, ddof: int = 0) -> Array:
        """The covariance with divisor ``n - ddof``."""
        return self.m2 / (self.n - ddof)


#: Bytes of float64 rows per block in the covariance pass.
_PASS_BUDGET = 16 * 2**20


def pass_rows(d: int) -> int:
    """Default rows per block of float64 passes over ``d`` columns (covariance, whitening)."""
    return max(1, min(8192, block_rows_for(d, budget_bytes=_PASS_BUDGET)))


def covariance_state(emb: Embeddings, *, block_size: int | None = None) -> CovarianceState:
    """Mean and centred second moments in one blocked pass, accumulated in float64.

    One row pass of the engine (:mod:`gaussprobe._engine`) with a
    :class:`~gaussprobe._engine._states.SecondMoments` state about a spread-sample shift: NumPy input on
    threads of single-threaded BLAS with reused block buffers, torch on its device, a lazy input chunk by
    chunk. Float64 whatever the compute dtype: the covariance feeds whitening and eigenvalues, where
    float32 sums lose too much. Nothing is cached: callers that share it (``analyze``) pass the result on.
    """
    from .._engine import executor_for
    from .._engine._states import SecondMoments, spread_shift

    (state,) = executor_for(emb, block_size=block_size).row_pass(
        emb, [SecondMoments(shift=spread_shift(emb))])
    out: CovarianceState = state.result()
    return out


@dataclass(frozen=True)
class Spectrum:
    """Eigendecomposition of a covariance matrix (ascending eigenvalues, on the input's device)."""

    eigenvalues: Array
    eigenvectors: Array | None
    rank: int
    tolerance: float

    @property
    def host_eigenvalues(self) -> np.ndarray:
        return to_numpy(self.eigenvalues)


def spectrum(cov: Array, xp: Any, *, rtol: float | None = None, vectors: bool = True) -> Spectrum:
    """Symmetric eigendecomposition with an explicit numerical rank (``vectors=False``: eigenvalues
    only, about three times faster; ``eigenvectors`` is then None)."""
    d = int(cov.shape[0])
    cov = (cov + cov.T) / 2

    def decompose() -> tuple[Array, Array | None]:
        if vectors:
            w, v = xp.linalg.eigh(cov)
            return w, v
        return xp.linalg.eigvalsh(cov), None

    if isinstance(cov, np.ndarray):
        from .._kernels.gram import single_threaded_blas

        # LAPACK's eigh at a few hundred columns is fastest on one thread, and multithreaded BLAS
        # can be tens of times slower when the machine is busy.
        with single_threaded_blas():
            w, v = decompose()
    else:
        w, v = decompose()
    host = to_numpy(w)
    eps = float(np.finfo(np.float64 if host.dtype == np.float64 else np.float32).eps)
    tol_rel = d * eps if rtol is None else float(rtol)
    lam_max = float(max(host.max(), 0.0))
    tol = tol_rel * lam_max
    rank = int(np.sum(host > tol)) if lam_max > 0 else 0
    return Spectrum(eigenvalues=w, eigenvectors=v, rank=rank, tolerance=tol)


def require_full_rank(spec: Spectrum | None, *, n: int, d: int, what: str, name: str = "x") -> None:
    """Raise a ValueError when a full-rank covariance is needed but not available (``spec`` may be None
    to check the sample size alone)."""
    if n <= d:
        msg = (f"{what} needs more samples than features to estimate a full-rank covariance; `{name}` has "
               f"n_samples={n} <= n_features={d}. Collect more samples, or reduce the dimension first, "
               f"e.g. gaussprobe.principal_projection({name}, n_components=k) with k < {n}, or use the "
               "projection tests (gaussprobe.projection_normality), which need no covariance inverse.")
        raise ValueError(msg)
    if spec is not None and spec.rank < d:
        msg = (f"{what} needs a full-rank covariance, but the covariance of `{name}` has numerical rank "
               f"{spec.rank} < n_features={d} (n_samples={n}; eigenvalues below {spec.tolerance:.3g} count "
               "as zero). Some directions carry no variance (e.g. a LayerNorm constraint or duplicated "
               f"features). Project onto the non-null subspace first: gaussprobe.principal_projection("
               f"{name}, n_components={spec.rank}).")
        raise ValueError(msg)


def whitener(spec: Spectrum, xp: Any, *, symmetric: bool = True) -> Array:
    """``W`` with ``W^T S W = I``: ``V Λ^{-1/2} V^T`` (symmetric, ZCA) or ``V Λ^{-1/2}`` (PCA).

    The PCA form depends on the sign of each eigenvector, which LAPACK implementations choose
    differently; here the largest component of each is made positive, so the whitened coordinates are
    the same on every backend (the ZCA form does not depend on the signs).
    """
    if spec.eigenvectors is None:
        msg = "whitener() needs a spectrum computed with vectors=True."
        raise ValueError(msg)
    v = spec.eigenvectors
    if not symmetric:
        host = to_numpy(v)
        flip = host[np.argmax(np.abs(host), axis=0), np.arange(host.shape[1])] < 0
        if np.any(flip):
            v = v * xp.asarray(np.where(flip, -1.0, 1.0), dtype=v.dtype,
                               device=None if isinstance(v, np.ndarray) else v.device)
    inv_sqrt = 1.0 / xp.sqrt(spec.eigenvalues)
    w = v * inv_sqrt[None, :]
    return w @ spec.eigenvectors.T if symmetric else w


def project_rows(emb: Embeddings, directions: np.ndarray, *, block_size: int | None = None) -> Array:
    """``x @ U`` for host directions ``U`` (d, k), computed in row blocks in the compute dtype.

    Returns an ``(n, k)`` array on the input's device; the upcast copy of ``x`` is never materialised.
    """
    from .._engine import executor_for
    from .._engine._states import ArraySink, Projector

    k = int(directions.shape[1])
    out = emb.xp.empty((emb.n_samples, k), dtype=emb.float, device=None if emb.is_lazy else emb.device)
    executor_for(emb, block_size=block_size).local_pass(  # the sink is in this process's memory
        emb, [Projector(directions=np.asarray(directions, dtype=np.float64), sink=ArraySink(out))])
    return out


def principal_projection(x: Any, /, *, n_components: int | None = None, dtype: str = "float64") -> Any:
    """Project centred embeddings onto their top principal directions.

    Use it before a multivariate test when the covariance is singular or ``n_samples <= n_features``:
    the scores ``(x - mean) V_k`` on the ``k`` leading eigenvectors of the covariance have a full-rank
    covariance when ``k`` does not exceed the numerical rank (the default).

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like).
    n_components : int, optional
        Number of components ``k``; defaults to the numerical rank, capped at ``n_samples - 1``.
    dtype : {"float64", "float32"}
        Compute precision.

    Returns
    -------
    array of shape (n_samples, k)
        The scores, in the input's namespace and on its device.
    """
    from .._validation import check_embeddings, check_positive_int

    emb = check_embeddings(x, dtype=dtype, min_samples=2)  # type: ignore[arg-type]
    xp = emb.xp
    state = covariance_state(emb)
    spec = spectrum(state.covariance(), xp)
    k = min(spec.rank, emb.n_samples - 1) if n_components is None else check_positive_int(
        n_components, "n_components")
    if k > emb.n_features:
        msg = f"`n_components` must be at most n_features={emb.n_features}; got {k}."
        raise ValueError(msg)
    assert spec.eigenvectors is not None  # computed with vectors=True
    v = spec.eigenvectors[:, emb.n_features - k:]
    v = xp.flip(v, axis=1)
    if emb.is_lazy:  # a lazy input gives lazy scores (one task per row chunk when they are computed)
        rows = emb.storage.astype(emb.float)
        if emb.scale_exponent:
            rows = rows * emb.scale
        return emb.unscale((rows - state.mean) @ np.asarray(v))
    return emb.unscale((emb.full() - state.mean) @ v)  # scores in the units of the input


__all__ = [
    "CovarianceState",
    "Spectrum",
    "covariance_state",
    "pass_rows",
    "principal_projection",
    "project_rows",
    "require_full_rank",
    "spectrum",
    "whitener",
]
