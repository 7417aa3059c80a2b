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

from .._backend import block_rows_for, row_blocks, to_numpy
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


#: Cache key of the row norms kept by the shared pass.
_ROW_NORMS = "row_norms"

#: Bytes of float64 rows per block in the covariance pass.
_PASS_BUDGET = 16 * 2**20


def pass_rows(d: int) -> int:
    """Default rows per block of float64 passes over ``d`` columns (covariance, whitening)."""
    return max(1, min(8192, block_rows_for(d, budget_bytes=_PASS_BUDGET)))


def covariance_state(emb: Embeddings, *, block_size: int | None = None) -> CovarianceState:
    """Mean and centred second moments in one blocked pass, accumulated in float64.

    NumPy input is split over threads, each with single-threaded BLAS and a reused block buffer
    (faster than one multithreaded product here, and robust on a busy machine); other namespaces run
    one blocked loop on the input's device. The result is cached on ``emb``, so the tests that
    ``analyze`` runs on one validated input share a single pass. Float64 whatever the compute dtype:
    the covariance feeds whitening and eigenvalues, where float32 sums lose too much.
    """
    key = ("covariance", block_size)
    cached = emb.cache.get(key)
    if cached is None:
        bs = block_size or pass_rows(emb.n_features)
        cached = (_host_covariance_state(emb, bs) if emb.is_numpy
                  else _device_covariance_state(emb, bs))
        emb.cache[key] = cached
    # a fresh state object (merge() rebinds its fields, so the cached arrays are never modified)
    return CovarianceState(n=cached.n, mean=cached.mean, m2=cached.m2)


def cached_mean(emb: Embeddings) -> Array | None:
    """The column mean of a covariance pass already made on ``emb`` (float64, on its device), or
    None: lets later statistics of one ``analyze`` call centre without another pass."""
    for key, state in emb.cache.items():
        if isinstance(key, tuple) and key[:1] == ("covariance",):
            return state.mean
    return None


def cached_row_norms(emb: Embeddings) -> np.ndarray | None:
    """The float64 row norms kept by :func:`projection_and_covariance`, or None."""
    norms: np.ndarray | None = emb.cache.get(_ROW_NORMS)
    return norms


def _device_covariance_state(emb: Embeddings, bs: int) -> CovarianceState:
    xp = emb.xp
    state = CovarianceState.empty(xp, emb.n_features, dtype=xp.float64, device=emb.device)
    for a, b in row_blocks(emb.n_samples, bs):
        state.update(emb.rows64(a, b), xp)
    return state


def _host_covariance_state(emb: Embeddings, bs: int, directions: np.ndarray | None = None,
                           out: np.ndarray | None = None,
                           sq_norms: np.ndarray | None = None) -> CovarianceState:
    """The NumPy pass: row blocks on threads of single-threaded BLAS, each block upcast once into a
    reused buffer, projected (``out = x @ directions``), its row norms taken (``sq_norms``) and its
    second moments about a fixed shift accumulated with SYRK.

    The shift is the mean of up to 4096 rows spread evenly over the input, so
    ``Σ (x - s)(x - s)ᵀ - n (μ - s)(μ - s)ᵀ`` loses nothing to cancellation: ``μ - s`` is of the order of
    the standard error of that mean, whatever the order of the rows. No per-block merges or fresh
    d × d temporaries are needed.
    """
    from .._kernels.gram import parallel_map, split_range, worker_count

    n, d = emb.n_samples, emb.n_features
    bs = max(1, min(bs, n))  # the reused buffers never exceed the input
    blocks = list(row_blocks(n, bs))
    spread = np.unique(np.linspace(0, n - 1, min(n, 4096)).round().astype(np.intp))
    sample = np.asarray(emb.storage[spread], dtype=np.float64)  # a small copy (fancy index)
    if emb.scale_exponent:
        sample *= emb.scale
    shift = sample.mean(axis=0)
    k = 0 if directions is None else int(directions.shape[1])
    u = None if directions is None else emb.asarray(directions)  # compute dtype, as project_rows
    threads = worker_count(2.0 * n * d * (d + k))

    def part(chunk: range) -> tuple[np.ndarray, np.ndarray]:
        acc = np.zeros((d, d))  # Σ cᵀc
        gram = np.empty((d, d))
        total = np.zeros(d)
        buf = np.empty((bs, d))
        for i in chunk:
            a, b = blocks[i]
            c = buf[: b - a]
            emb.rows_into(a, b, c)  # one upcast (and scale) per block, shared by everything below
            if u is not None and out is not None:
                np.matmul(c if emb.dtype == "float64" else emb.rows(a, b), u, out=out[a:b])
            if sq_norms is not None:
                np.einsum("ij,ij->i", c, c, out=sq_norms[a:b])
            c -= shift
            total += c.sum(axis=0)
            np.matmul(c.T, c, out=gram)  # NumPy takes cᵀc as a SYRK and releases the GIL
            acc += gram
        return total, acc

    parts = parallel_map(part, split_range(len(blocks), threads), threads)
    acc = parts[0][1]
    for p in parts[1:]:
        acc += p[1]
    total = np.sum([p[0] for p in parts], axis=0)
    delta = total / n
    m2 = acc
    m2 -= n * np.outer(delta, delta)
    return CovarianceState(n=n, mean=shift + delta, m2=m2)


def projection_and_covariance(emb: Embeddings, directions: np.ndarray, *,
                              block_size: int | None = None) -> Array:
    """``x @ U`` (as :func:`project_rows`) and the covariance state (cached on ``emb``, as
    :func:`covariance_state`) from one blocked pass: each block is upcast once for both products.

    ``analyze`` uses it when both the projections and the covariance are needed. With float64
    compute the row norms are kept too (:func:`cached_row_norms`, for the uncentred thin shell).
    Other namespaces, or a covariance already cached, take the two separate passes.
    """
    key = ("covariance", block_size)
    if key in emb.cache or not emb.is_numpy:
        covariance_state(emb, block_size=block_size)
        return project_rows(emb, directions, block_size=block_size)
    out = np.empty((emb.n_samples, int(directions.shape[1])), dtype=emb.float)
    bs = block_size or pass_rows(emb.n_features)
    # float64 row norms come almost free from the upcast blocks (the uncentred thin shell uses them)
    sq = np.empty(emb.n_samples) if emb.dtype == "float64" else None
    emb.cache[key] = _host_covariance_state(emb, bs, directions, out, sq)
    if sq is not None:
        emb.cache[_ROW_NORMS] = np.sqrt(sq, out=sq)
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


def require_full_rank(spec: Spectrum, *, n: int, d: int, what: str, name: str = "x") -> None:
    """Raise a ValueError when a full-rank covariance is needed but not available."""
    if n <= d:
        msg = (f"{what} needs more samples than features to estimate a full-rank covariance; `{name}` has "
               f"n_samples={n} <= n_features={d}. Collect more samples, or reduce the dimension first, "
               f"e.g. gaussprobe.principal_projection({name}, n_components=k) with k < {n}, or use the "
               "projection tests (gaussprobe.projection_normality), which need no covariance inverse.")
        raise ValueError(msg)
    if spec.rank < d:
        msg = (f"{what} needs a full-rank covariance, but the covariance of `{name}` has numerical rank "
               f"{spec.rank} < n_features={d} (n_samples={n}; eigenvalues below {spec.tolerance:.3g} count "
               "as zero). Some directions carry no variance (e.g. a LayerNorm constraint or duplicated "
               f"features). Project onto the non-null subspace first: gaussprobe.principal_projection("
               f"{name}, n_components={spec.rank}).")
        raise ValueError(msg)


def whitener(spec: Spectrum, xp: Any, *, symmetric: bool = True) -> Array:
    """``W`` with ``W^T S W = I``: ``V Λ^{-1/2} V^T`` (symmetric, ZCA) or ``V Λ^{-1/2}`` (PCA)."""
    if spec.eigenvectors is None:
        msg = "whitener() needs a spectrum computed with vectors=True."
        raise ValueError(msg)
    inv_sqrt = 1.0 / xp.sqrt(spec.eigenvalues)
    w = spec.eigenvectors * inv_sqrt[None, :]
    return w @ spec.eigenvectors.T if symmetric else w


def project_rows(emb: Embeddings, directions: np.ndarray, *, block_size: int | None = None) -> Array:
    """``x @ U`` for host directions ``U`` (d, k), computed in row blocks in the compute dtype.

    Returns an ``(n, k)`` array on the input's device; the upcast copy of ``x`` is never materialised.
    """
    xp = emb.xp
    u = emb.asarray(directions)
    k = int(directions.shape[1])
    bs = block_size or block_rows_for(emb.n_features)
    if bs >= emb.n_samples:
        return emb.full() @ u
    out = xp.empty((emb.n_samples, k), dtype=emb.float, device=emb.device)
    if isinstance(out, np.ndarray):
        from .._kernels.gram import parallel_map, split_range, worker_count

        blocks = list(row_blocks(emb.n_samples, bs))

        def part(chunk: range) -> None:  # threads of single-threaded BLAS, each on its own rows
            for i in chunk:
                a, b = blocks[i]
                np.matmul(emb.rows(a, b), u, out=out[a:b, :])

        threads = worker_count(2.0 * emb.n_samples * emb.n_features * k)
        parallel_map(part, split_range(len(blocks), threads), threads)
        return out
    for a, b in row_blocks(emb.n_samples, bs):
        out[a:b, :] = emb.rows(a, b) @ u
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
    return emb.unscale((emb.full() - state.mean) @ v)  # scores in the units of the input


__all__ = [
    "CovarianceState",
    "Spectrum",
    "covariance_state",
    "pass_rows",
    "principal_projection",
    "project_rows",
    "projection_and_covariance",
    "require_full_rank",
    "spectrum",
    "whitener",
]
