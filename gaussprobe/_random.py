"""Random directions, drawn on the host so every backend sees the same projections."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._typing import RNGLike


def random_directions(n_features: int, n_projections: int, rng: RNGLike = None) -> np.ndarray:
    """``(n_features, n_projections)`` float64 matrix of uniformly random unit vectors (columns).

    The columns are orthonormal when ``n_projections <= n_features``: the ``Q`` factor of a
    standard-normal matrix from ``np.random.default_rng(rng)``, with the signs fixed by ``diag(R) > 0``,
    which makes the frame Haar-distributed, so each column is uniform on the sphere. With more
    directions than features the columns come in independent orthonormal frames of ``n_features``
    columns each (the last one truncated).

    Orthonormal directions make the projections of an isotropic Gaussian sample independent, so the
    per-direction tests are independent under that null: the rejected fraction is exactly binomial and
    the null of the sliced distance needs no correlated draws. Any orthonormal projection of an
    isotropic Gaussian is again isotropic Gaussian, which is the property the paper's theory uses.
    """
    gen = np.random.default_rng(rng)
    d, k = int(n_features), int(n_projections)
    frames = []
    for start in range(0, k, d):
        m = min(d, k - start)
        q, r = np.linalg.qr(gen.standard_normal((d, m)))
        signs = np.sign(np.diag(r))
        signs[signs == 0] = 1.0
        frames.append(q * signs[None, :])
    u = frames[0] if len(frames) == 1 else np.concatenate(frames, axis=1)
    u /= np.linalg.norm(u, axis=0, keepdims=True)  # unit to the last bit
    return np.ascontiguousarray(u)


def has_orthogonal_columns(u: np.ndarray, *, tol: float = 1e-10) -> bool:
    """Whether the columns of ``u`` are mutually orthogonal: the off-diagonal entries of the
    correlation form of ``uᵀ u`` are at most ``tol``. Zero columns count as not orthogonal."""
    d, k = u.shape
    if k > d:
        return False
    gram = u.T @ u
    diag = np.sqrt(np.diag(gram).copy())
    if np.any(diag == 0):
        return False
    corr = gram / diag[:, None] / diag[None, :]
    np.fill_diagonal(corr, 0.0)
    return bool(np.max(np.abs(corr)) <= tol) if corr.size else True


def seed_of(rng: Any) -> int | None:
    """The integer seed when ``rng`` is an int (for provenance), else None."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    return None


__all__ = ["has_orthogonal_columns", "random_directions", "seed_of"]
