"""Centring and whitening shared by the affine-invariant multivariate normality tests.

Mardia's and Henze-Zirkler's statistics depend on the data only through the Mahalanobis products
``D_jk = (x_j - x̄)ᵀ S⁻¹ (x_k - x̄) = z_jᵀ z_k`` with ``z = Wᵀ (x - x̄)`` for any ``W`` with
``W Wᵀ = S⁻¹``. Here

* the mean and covariance ``S`` (divisor ``n`` for ``"biased"``, ``n - 1`` for ``"unbiased"``) are
  accumulated in float64 in one blocked pass (a mergeable :class:`~._moments.CovarianceState`; NumPy
  input is split over threads with single-threaded BLAS), whatever the compute dtype;
* ``W = V Λ^{-1/2}`` comes from the eigendecomposition ``S = V Λ Vᵀ``, so the numerical rank is
  explicit; a singular covariance or ``n_samples <= n_features + 1`` raises a ValueError that says how
  to proceed, and no ill-conditioned linear system is ever solved;
* the whitened rows are produced block by block, in float64 or cast to the compute dtype. For NumPy
  input :func:`whitened_rows` applies the Cholesky factor ``L`` of ``W Wᵀ = S⁻¹`` instead (another
  square root of ``S⁻¹``, so every statistic is unchanged) with an in-place triangular multiply, half
  the flops of ``x @ W``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._backend import to_numpy
from .._kernels.gram import single_threaded_blas
from .._typing import Array
from .._validation import Embeddings, check_choice
from .._warnings import PrecisionWarning
from ._moments import covariance_state, pass_rows, require_full_rank, spectrum, whitener

COVARIANCE_CHOICES = ("biased", "unbiased")


@dataclass(frozen=True)
class Whitening:
    """Mean, covariance convention and whitening transform of a validated embedding matrix."""

    emb: Embeddings
    mean: Array  # (d,) float64, on the input's device
    transform: Array  # (d, d) float64: z = (x - mean) @ transform has identity covariance
    covariance: str
    ddof: int
    eigenvalues: np.ndarray  # host, ascending

    @property
    def n_samples(self) -> int:
        return self.emb.n_samples

    @property
    def n_features(self) -> int:
        return self.emb.n_features

    def block(self, start: int, stop: int) -> Array:
        """Whitened rows ``start:stop`` in float64 (on the input's device)."""
        return (self.emb.rows64(start, stop) - self.mean) @ self.transform


def check_covariance(covariance: Any) -> int:
    """Validate ``covariance`` and return its ddof."""
    check_choice(covariance, "covariance", COVARIANCE_CHOICES)
    return 0 if covariance == "biased" else 1


def whiten(emb: Embeddings, *, what: str, covariance: str = "biased", name: str = "x",
           state: Any = None) -> Whitening:
    """Mean, covariance and eigen-whitening transform; raises when the covariance is not full rank.

    ``what`` names the statistic in error messages. Besides ``n_samples <= n_features`` and a
    numerically singular covariance, ``n_samples == n_features + 1`` is refused: the whitened points
    then form a regular simplex, so every affine-invariant statistic is a constant. ``state`` is the
    :class:`~gaussprobe.stats._moments.CovarianceState` of a row pass already made (else one is made).
    """
    ddof = check_covariance(covariance)
    xp = emb.xp
    n, d = emb.n_samples, emb.n_features
    if n <= d:  # before any pass: the message says how to proceed
        require_full_rank(None, n=n, d=d, what=what, name=name)
    state = covariance_state(emb) if state is None else state
    spec = spectrum(state.covariance(ddof), xp)
    require_full_rank(spec, n=n, d=d, what=what, name=name)
    if n == d + 1:
        msg = (f"{what} is degenerate when n_samples = n_features + 1 (here n_samples={n}, "
               f"n_features={d}): the whitened points form a regular simplex, so the statistic is the "
               "same for every data set and carries no evidence. Collect more samples, or reduce the "
               f"dimension first, e.g. gaussprobe.principal_projection({name}, n_components=k) with "
               f"k < {n - 1}, or use the projection tests (gaussprobe.projection_normality).")
        raise ValueError(msg)
    return Whitening(emb=emb, mean=state.mean, transform=whitener(spec, xp, symmetric=False),
                     covariance=covariance, ddof=ddof, eigenvalues=spec.host_eigenvalues)


def whitened_rows(wh: Whitening, *, scale: float = 1.0) -> tuple[Array, Array]:
    """All whitened rows ``scale * z_i`` in the compute dtype and the float64 ``|z_i|²`` (unscaled).

    One row pass (:class:`~gaussprobe._engine._states.WhitenedRows`): the rows are formed in float64
    block by block and only then cast, so the squared norms are float64-accurate even when the pairwise
    work runs in float32. NumPy blocks apply the Cholesky factor of ``W Wᵀ`` with an in-place triangular
    multiply (half the flops of ``x @ W``). The ``n × d`` result is in memory: the tile statistics read
    it whole (a lazy input is read into memory here).
    """
    from .._engine import executor_for
    from .._engine._states import WhitenedRows

    emb = wh.emb
    n, d = emb.n_samples, emb.n_features
    w = wh.transform * scale if scale != 1.0 else wh.transform
    if emb.on_host:
        out_dtype = np.float64 if emb.dtype == "float64" else np.float32
        z: Any = np.empty((n, d), dtype=out_dtype)
        r: Any = np.empty(n)
        state = WhitenedRows(mean=np.asarray(wh.mean), transform=np.asarray(w),
                             factor=_triangular_factor(np.asarray(w)), scale=scale, z_out=z, r_out=r)
    else:
        xp = emb.xp
        z = xp.empty((n, d), dtype=emb.float, device=emb.device)
        r = xp.empty((n,), dtype=xp.float64, device=emb.device)
        state = WhitenedRows(mean=wh.mean, transform=wh.transform, factor=None, scale=scale, z_out=z,
                             r_out=r)
    executor_for(emb).whitened_rows(emb, state)
    return z, r


def _blas() -> Any:
    from scipy.linalg import blas

    return blas


def _triangular_factor(w: np.ndarray) -> np.ndarray:
    """Lower-triangular ``L`` with ``L Lᵀ = W Wᵀ = S⁻¹`` (Fortran order, as BLAS ``trmm`` wants).

    The rank decision was made on the eigendecomposition; ``S⁻¹ = V Λ⁻¹ Vᵀ`` is then positive definite
    and its Cholesky factor is a square root of it that costs half as much to apply.
    """
    with single_threaded_blas():  # small dense work: one thread is fastest and robust to a busy machine
        s_inv = w @ w.T
        s_inv = (s_inv + s_inv.T) / 2
        return np.asfortranarray(np.linalg.cholesky(s_inv))


def warn_if_tf32(emb: Embeddings, what: str) -> None:
    """PrecisionWarning when float32 matrix products on CUDA may run in TF32 (10-bit mantissa)."""
    if emb.dtype != "float32" or emb.backend != "torch" or "cuda" not in str(emb.device):
        return
    import torch

    if bool(torch.backends.cuda.matmul.allow_tf32):
        msg = (f"{what}: torch.backends.cuda.matmul.allow_tf32 is enabled, so the float32 Gram products "
               "run in TF32 (about 3 significant digits per product); expect relative errors around "
               "1e-3 in the statistic. Use dtype='float64' (or disable TF32) for p-values you rely on.")
        warnings.warn(msg, PrecisionWarning, stacklevel=3)


def host_vector(a: Array) -> np.ndarray:
    """A short device vector as a float64 host array."""
    return np.asarray(to_numpy(a), dtype=np.float64)


def log_sum_exp(v: np.ndarray) -> float:
    """``log Σ exp(v)`` of a host vector, exact for any magnitude."""
    m = float(np.max(v)) if v.size else -math.inf
    if not math.isfinite(m):
        return m
    return m + math.log(math.fsum(np.exp(v - m).tolist()))


__all__ = [
    "COVARIANCE_CHOICES",
    "Whitening",
    "check_covariance",
    "host_vector",
    "log_sum_exp",
    "pass_rows",
    "warn_if_tf32",
    "whiten",
    "whitened_rows",
]
