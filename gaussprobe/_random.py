"""Random directions, drawn on the host so every backend sees the same projections."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._typing import RNGLike
from ._validation import InvalidOptionError


def as_generator(rng: RNGLike, *, name: str = "rng") -> np.random.Generator:
    """The one way gaussprobe turns an ``rng`` argument into a :class:`numpy.random.Generator`.

    Accepts everything SPEC 7 lists and NumPy's legacy generator:

    * ``None``: fresh OS entropy;
    * a non-negative ``int`` (Python or NumPy) or a :class:`~numpy.random.SeedSequence`: a new
      ``Generator`` seeded from it, exactly as :func:`numpy.random.default_rng` does (same streams);
    * a ``Generator``: used as is (its state advances);
    * a ``BitGenerator``: wrapped in a ``Generator``;
    * a legacy :class:`~numpy.random.RandomState`: four 32-bit words drawn from it seed a new
      ``SeedSequence``, so a seeded ``RandomState`` gives reproducible results and the result can
      :meth:`~numpy.random.Generator.spawn` independent streams (``default_rng(RandomState)`` cannot).

    Anything else (bools, floats, strings, arrays) raises an
    :class:`~gaussprobe._validation.InvalidOptionError` (a TypeError and a ValueError) that names the
    option.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            msg = (f"`{name}` must be a non-negative integer seed, a SeedSequence, a Generator, a "
                   f"RandomState or None; got {int(rng)}. Pass e.g. {name}=0.")
            raise InvalidOptionError(msg)
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.BitGenerator):
        return np.random.Generator(rng)
    if isinstance(rng, np.random.RandomState):
        words = rng.randint(0, 2**32, size=4, dtype=np.uint64)
        return np.random.default_rng(np.random.SeedSequence([int(w) for w in words]))
    msg = (f"`{name}` must be None, a non-negative int seed, a numpy.random.SeedSequence, Generator, "
           f"BitGenerator or RandomState; got {_describe(rng)}. Pass e.g. {name}=0 for reproducible "
           f"results, or {name}=np.random.default_rng(seed).")
    raise InvalidOptionError(msg)


def spawn_generators(rng: RNGLike, n: int, *, name: str = "rng") -> list[np.random.Generator]:
    """``n`` independent child generators of ``rng`` (any :func:`as_generator` input).

    ``Generator.spawn`` where the generator has a seed sequence (the same children as
    ``np.random.default_rng(rng).spawn(n)``); otherwise (a Generator built on a legacy bit generator)
    the children come from a seed sequence seeded by four words drawn from it.
    """
    gen = as_generator(rng, name=name)
    if isinstance(gen.bit_generator.seed_seq, np.random.SeedSequence):
        return list(gen.spawn(n))
    seq = np.random.SeedSequence([int(w) for w in gen.integers(0, 2**32, size=4, dtype=np.uint64)])
    return [np.random.default_rng(child) for child in seq.spawn(n)]


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{text[:57] + '...' if len(text) > 60 else text} ({type(value).__name__})"


def random_directions(n_features: int, n_projections: int, rng: RNGLike = None) -> np.ndarray:
    """``(n_features, n_projections)`` float64 matrix of uniformly random unit vectors (columns).

    The columns are orthonormal when ``n_projections <= n_features``: the ``Q`` factor of a
    standard-normal matrix from ``as_generator(rng)`` (``np.random.default_rng(rng)`` for seeds), with
    the signs fixed by ``diag(R) > 0``,
    which makes the frame Haar-distributed, so each column is uniform on the sphere. With more
    directions than features the columns come in independent orthonormal frames of ``n_features``
    columns each (the last one truncated).

    Orthonormal directions make the projections of an isotropic Gaussian sample independent, so the
    per-direction tests are independent under that null: the rejected fraction is exactly binomial and
    the null of the sliced distance needs no correlated draws. Any orthonormal projection of an
    isotropic Gaussian is again isotropic Gaussian, which is the property the paper's theory uses.
    """
    gen = as_generator(rng)
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


__all__ = ["as_generator", "has_orthogonal_columns", "random_directions", "seed_of", "spawn_generators"]
