"""Random directions, drawn on the host so every backend sees the same projections."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._typing import RNGLike


def random_directions(n_features: int, n_projections: int, rng: RNGLike = None) -> np.ndarray:
    """``(n_features, n_projections)`` float64 matrix of independent uniform unit vectors (columns).

    Drawn as normalised standard-normal vectors from ``np.random.default_rng(rng)``.
    """
    gen = np.random.default_rng(rng)
    u = gen.standard_normal((n_features, n_projections))
    u /= np.linalg.norm(u, axis=0, keepdims=True)
    return u


def seed_of(rng: Any) -> int | None:
    """The integer seed when ``rng`` is an int (for provenance), else None."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    return None


__all__ = ["random_directions", "seed_of"]
