"""Thin-shell norm concentration: the coefficient of variation of the row norms (the paper's Eq. 20),
with the exact chi(d) reference of an isotropic Gaussian, norm quantiles, and a mergeable state.

Row norms are computed block by block on the input's device; one short vector (moments and quantiles)
moves to the host at the end.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from .._backend import block_rows_for, namespace_of, row_blocks, to_numpy
from .._budget import check_budget
from .._reference import Reference, cv_ratio_reference
from .._results import Result
from .._typing import Array, ArrayLike, DTypeName
from .._validation import Embeddings, check_embeddings, ldexp
from .._warnings import UninformativeWarning
from .univariate import order_statistic_ranks

#: Quantile levels reported by :func:`thin_shell`.
QUANTILE_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

#: Norms count as constant (normalised input) when ``std <= CONSTANT_NORMS_RTOL * mean``. An isotropic
#: Gaussian has a CV of about ``1/sqrt(2d)``, above this for every ``d < 5·10⁵``; float32 or bfloat16
#: rounding of unit vectors leaves a CV far below it.
CONSTANT_NORMS_RTOL = 1e-3

_SERIES_MIN_HALF_DF = 10.0  # use the asymptotic series for k = d/2 >= 10


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ThinShellResult(Result):
    """Norm concentration of the rows of an embedding matrix (see :func:`thin_shell`).

    Attributes
    ----------
    mean : float
        Mean row norm.
    std : float
        Standard deviation of the row norms (divisor n, ``ddof=0``).
    cv : float
        ``std / mean``, the coefficient of variation (the paper's Eq. 20).
    cv_gaussian : float
        CV of a chi(d) variable: the population value of ``cv`` for isotropic Gaussian rows
        ``N(0, σ² I_d)`` (uncentred) or ``N(μ, σ² I_d)`` (centred).
    cv_ratio : float
        ``cv / cv_gaussian``: 1 for an isotropic Gaussian, below 1 for a thinner shell.
    quantile_levels : ndarray
        The probability levels of ``quantiles``.
    quantiles : ndarray or None
        Norm quantiles at ``quantile_levels`` (linear interpolation, :func:`numpy.quantile`'s default);
        None when a streaming state was built with ``keep_norms=False``.
    relative_spread : float or None
        ``(q_0.95 − q_0.05) / q_0.5``, a robust counterpart of ``cv`` (about ``3.29 · cv`` for a
        Gaussian-shaped norm distribution); None without quantiles.
    centered : bool
        Whether norms were taken after subtracting a centre (the sample mean in :func:`thin_shell`).
    n_samples, n_features : int
        Shape of the input.
    cv_reference, cv_ratio_reference : Reference or None
        What an exact isotropic Gaussian sample of the same ``(n, d)`` gives for ``cv`` and
        ``cv_ratio`` (mean and central 95% band; :func:`gaussprobe._reference.cv_ratio_reference`). For
        centred norms it holds for every ``N(μ, σ² I)``; for uncentred norms only for ``μ = 0``.
        None for a single row.
    constant_norms : bool
        True when every norm is the same up to ``std <= CONSTANT_NORMS_RTOL · mean`` (relative tolerance
        1e-3): normalised input, on which the thin-shell statistics are uninformative.
    note : str
        Why the statistics are uninformative (empty otherwise).
    norm_order_statistics : ndarray of shape (q,) or None
        ``q = min(n_samples, 200)`` evenly spaced order statistics of the norms (ascending, input units;
        the smallest and the largest included), taken from the sort behind ``quantiles``: they draw the
        histogram of the norms against the chi(d) density. None without quantiles.
    """

    mean: float
    std: float
    cv: float
    cv_gaussian: float
    cv_ratio: float
    quantile_levels: np.ndarray
    quantiles: np.ndarray | None
    relative_spread: float | None
    centered: bool
    n_samples: int
    n_features: int
    cv_reference: Reference | None = None
    cv_ratio_reference: Reference | None = None
    constant_norms: bool = False
    note: str = ""
    norm_order_statistics: np.ndarray | None = None


# ------------------------------------------------------------------------------- chi(d) reference
def _log_gamma_ratio_minus_half_log(k: float) -> float:
    """``L(k) = lgamma(k + 1/2) − lgamma(k) − (1/2) log k``, accurate for all ``k > 0``.

    Direct ``lgamma`` differences lose absolute accuracy ~ eps · k log k, which is fatal when ``L ≈
    −1/(8k)`` is tiny; for ``k ≥ 10`` the asymptotic series (from the Bernoulli-polynomial expansion of
    ``log Γ(k + a) − log Γ(k)`` at ``a = 1/2``) is used instead:
    ``L = −1/(8k) + 1/(192 k³) − 1/(640 k⁵) + 17/(14336 k⁷) − 31/(18432 k⁹) + 691/(180224 k¹¹)
    + O(k⁻¹³)`` (relative error below 1e-13 for ``k ≥ 10``).
    """
    if k >= _SERIES_MIN_HALF_DF:
        inv = 1.0 / k
        inv2 = inv * inv
        tail = -31.0 / 18432.0 + inv2 * (691.0 / 180224.0)
        return inv * (-1.0 / 8.0 + inv2 * (1.0 / 192.0 + inv2 * (-1.0 / 640.0 + inv2 * (
            17.0 / 14336.0 + inv2 * tail))))
    return math.lgamma(k + 0.5) - math.lgamma(k) - 0.5 * math.log(k)


def chi_mean(d: float) -> float:
    """``E‖Z‖`` for ``Z ~ N(0, I_d)``: ``√2 Γ((d+1)/2) / Γ(d/2)``."""
    k = 0.5 * float(d)
    return math.sqrt(float(d)) * math.exp(_log_gamma_ratio_minus_half_log(k))


def chi_cv(d: float) -> float:
    """Coefficient of variation of a chi(d) variable, computed without cancellation for large d.

    With ``E = √2 Γ((d+1)/2)/Γ(d/2) = √d · exp(L)`` and ``sd² = d − E²``,
    ``CV² = sd²/E² = exp(−2L) − 1 = expm1(−2L)``, where ``L`` is evaluated by
    :func:`_log_gamma_ratio_minus_half_log`. ``CV ≈ 1/√(2d)`` for large d.
    """
    if not d > 0:
        msg = f"the chi distribution needs d > 0 degrees of freedom; got {d}."
        raise ValueError(msg)
    return math.sqrt(math.expm1(-2.0 * _log_gamma_ratio_minus_half_log(0.5 * float(d))))


# ----------------------------------------------------------------------------- mergeable state
@dataclasses.dataclass
class ThinShellState:
    """Mergeable one-pass state of the row norms: ``update(block)``, ``merge(other)``, ``finalize()``.

    Holds ``n``, the running mean and ``M2 = Σ (r_i − mean)²`` of the norms (Chan, Golub & LeVeque's
    pairwise update, as 0-d arrays on the input's device) and, when ``keep_norms`` is true, the norms
    themselves for the quantiles: O(n) memory, ``n_features`` times smaller than the data. With
    ``keep_norms=False`` the state is O(1) and ``finalize()`` reports no quantiles.

    ``center`` (a vector of length ``n_features``) is subtracted from every row before its norm is
    taken. Exact centred norms need the sample mean first, so streaming centred norms take two passes:
    accumulate the column mean, then build a state with ``center=mean``. States that are merged must
    share ``n_features``, ``center`` and the array library.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.thin_shell import ThinShellState
    >>> x = np.random.default_rng(0).standard_normal((1000, 64))
    >>> a = ThinShellState(n_features=64).update(x[:400])
    >>> b = ThinShellState(n_features=64).update(x[400:])
    >>> print(f"{a.merge(b).finalize().cv:.4f}")
    0.0856
    """

    n_features: int
    center: Any = None
    dtype: DTypeName = "float64"
    keep_norms: bool = True
    n: int = 0
    mean: Any = None
    m2: Any = None
    norms: list[Any] = dataclasses.field(default_factory=list)
    _xp: Any = dataclasses.field(default=None, repr=False)
    #: The stored norms are ``2**scale_exponent`` times the true ones (an exact power of two chosen by
    #: validation for inputs of extreme magnitude; set by the first block, 0 for most inputs).
    scale_exponent: int | None = None

    def update(self, block: ArrayLike) -> ThinShellState:
        """Fold the rows of ``block`` (shape ``(b, n_features)``, any backend) into the state."""
        emb = check_embeddings(block, name="block", dtype=self.dtype, min_samples=1)
        if emb.n_features != self.n_features:
            msg = (f"`block` has {emb.n_features} features but the state was built for "
                   f"n_features={self.n_features}.")
            raise ValueError(msg)
        center = None if self.center is None else emb.asarray(to_numpy(self.center)) * emb.scale
        if self.scale_exponent is None:
            self.scale_exponent = emb.scale_exponent
        to_state = math.ldexp(1.0, self.scale_exponent - emb.scale_exponent)  # block units -> state units
        bs = block_rows_for(self.n_features)
        for a, b in row_blocks(emb.n_samples, bs):
            norms = _row_norms(emb, a, b, center)
            self.add_norms(norms if to_state == 1.0 else norms * to_state, emb.xp)
        return self

    def add_norms(self, norms: Array, xp: Any) -> ThinShellState:
        """Fold a 1-D array of already computed norms into the state (returns ``self``)."""
        nb = int(norms.shape[0])
        if nb == 0:
            return self
        mb = xp.mean(norms)
        m2b = xp.sum((norms - mb) ** 2)
        other = ThinShellState(n_features=self.n_features, center=self.center, dtype=self.dtype,
                               keep_norms=self.keep_norms, n=nb, mean=mb, m2=m2b,
                               norms=[norms] if self.keep_norms else [], _xp=xp,
                               scale_exponent=self.scale_exponent)
        return self.merge(other)

    def merge(self, other: ThinShellState) -> ThinShellState:
        """Combine with another partial state (in place; returns ``self``)."""
        if other.n_features != self.n_features:
            msg = f"cannot merge states for {self.n_features} and {other.n_features} features."
            raise ValueError(msg)
        if other.n == 0:
            return self
        other = _in_units_of(other, self.scale_exponent if self.n else other.scale_exponent)
        if self.n == 0:
            self.n, self.mean, self.m2, self._xp = other.n, other.mean, other.m2, other._xp
            self.scale_exponent = other.scale_exponent
            self.norms = list(other.norms) if self.keep_norms else []
            self.keep_norms = self.keep_norms and other.keep_norms
            return self
        n = self.n + other.n
        delta = other.mean - self.mean
        self.m2 = self.m2 + other.m2 + delta * delta * (self.n * other.n / n)
        self.mean = self.mean + delta * (other.n / n)
        self.n = n
        self.keep_norms = self.keep_norms and other.keep_norms
        self.norms = [*self.norms, *other.norms] if self.keep_norms else []
        return self

    def finalize(self) -> ThinShellResult:
        """The :class:`ThinShellResult` of all rows folded in so far."""
        if self.n == 0:
            msg = "the state is empty: call update() with at least one block of rows first."
            raise ValueError(msg)
        xp = self._xp
        levels = np.asarray(QUANTILE_LEVELS, dtype=np.float64)
        parts = [xp.reshape(self.mean, (1,)), xp.reshape(self.m2, (1,))]
        ranks = order_statistic_ranks(self.n)
        if self.keep_norms:
            parts.append(_quantiles(xp.concat(self.norms) if len(self.norms) > 1 else self.norms[0],
                                    levels, xp, ranks))
        host = to_numpy(xp.concat(parts)).astype(np.float64)  # the one host transfer
        mean, m2 = float(host[0]), float(host[1])
        quantiles = host[2:2 + levels.size] if self.keep_norms else None
        order = host[2 + levels.size:] if self.keep_norms else None
        res = _result(mean=mean, std=math.sqrt(max(m2, 0.0) / self.n), quantiles=quantiles,
                      levels=levels, centered=self.center is not None, n=self.n, d=self.n_features,
                      order_statistics=order)
        e = self.scale_exponent or 0
        if e == 0:
            return res
        return dataclasses.replace(res, mean=ldexp(res.mean, -e), std=ldexp(res.std, -e),
                                   quantiles=ldexp(quantiles, -e), norm_order_statistics=ldexp(order, -e))


def _in_units_of(state: ThinShellState, e: int | None) -> ThinShellState:
    """``state`` with its norms, mean and M2 expressed at scale ``2**e`` (exact: a power of two)."""
    own = state.scale_exponent or 0
    if e is None or own == (e or 0):
        return state
    f = math.ldexp(1.0, e - own)
    return dataclasses.replace(state, mean=state.mean * f, m2=state.m2 * f * f,
                               norms=[v * f for v in state.norms], scale_exponent=e)


# ------------------------------------------------------------------------------------- kernels
def _row_norms(emb: Embeddings, a: int, b: int, center: Array | None) -> Array:
    block = emb.rows(a, b)
    if center is not None:
        block = block - center[None, :]
    if isinstance(block, np.ndarray):  # the same per-row sums as the shared pass of ``analyze``
        return np.sqrt(np.einsum("ij,ij->i", block, block))
    return emb.xp.linalg.vector_norm(block, axis=1)


def _quantiles(values: Array, levels: np.ndarray, xp: Any, ranks: np.ndarray | None = None) -> Array:
    """Linear-interpolation quantiles (NumPy's default) computed on the device after one sort,
    followed by the order statistics at the 0-based ``ranks`` when those are given."""
    n = int(values.shape[0])
    s = xp.sort(values)
    h = (n - 1) * levels
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = h - lo
    _, device = namespace_of(values)
    lo_v = xp.take(s, xp.asarray(lo, device=device))
    hi_v = xp.take(s, xp.asarray(hi, device=device))
    out = lo_v + xp.asarray(frac, dtype=values.dtype, device=device) * (hi_v - lo_v)
    if ranks is None:
        return out
    return xp.concat([out, xp.take(s, xp.asarray(ranks, device=device))])


def _result(*, mean: float, std: float, quantiles: np.ndarray | None, levels: np.ndarray,
            centered: bool, n: int, d: int, order_statistics: np.ndarray | None = None) -> ThinShellResult:
    if not mean > 0:
        msg = ("every row norm is zero, so the coefficient of variation is undefined"
               + (" (all rows equal their mean)." if centered else " (all rows are zero)."))
        raise ValueError(msg)
    cv = std / mean
    cv_gauss = chi_cv(d)
    spread = None
    if quantiles is not None:
        q = dict(zip(levels.tolist(), quantiles.tolist(), strict=True))
        spread = (q[0.95] - q[0.05]) / q[0.5] if q[0.5] > 0 else math.inf
    constant = std <= CONSTANT_NORMS_RTOL * mean
    note = ""
    if constant:
        note = (f"constant norms (CV {cv:.2g} <= {CONSTANT_NORMS_RTOL:g}): normalised input (e.g. "
                "L2-normalised embeddings) lies on a sphere by construction, so the thin-shell statistics "
                "are uninformative about Gaussianity; analyse the vectors from before the normalisation")
        warnings.warn(f"Thin shell: {note}.", UninformativeWarning, stacklevel=4)
    ratio_ref = cv_ratio_reference(n, d) if n >= 2 else None
    cv_ref = None if ratio_ref is None else dataclasses.replace(
        ratio_ref, mean=ratio_ref.mean * cv_gauss, low=ratio_ref.low * cv_gauss,
        high=ratio_ref.high * cv_gauss)
    return ThinShellResult(mean=mean, std=std, cv=cv, cv_gaussian=cv_gauss, cv_ratio=cv / cv_gauss,
                           quantile_levels=levels.copy(), quantiles=quantiles,
                           relative_spread=spread, centered=centered, n_samples=n, n_features=d,
                           cv_reference=cv_ref, cv_ratio_reference=ratio_ref, constant_norms=constant,
                           note=note, norm_order_statistics=order_statistics)


# -------------------------------------------------------------------------------------- public API
def thin_shell(x: ArrayLike, /, *, center: bool = False, dtype: DTypeName = "float64",
               block_size: int | None = None) -> ThinShellResult:
    r"""Norm concentration (thin shell) of embeddings: mean, spread and CV of the row norms.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row (NumPy, torch CPU/CUDA, or array-like).
    center : bool
        If true, use :math:`\|x_i - \bar x\|` (the sample mean is computed in a first pass);
        otherwise :math:`\|x_i\|`, as in the paper.
    dtype : {"float64", "float32"}
        Compute precision.
    block_size : int, optional
        Rows per block (memory bound); the default keeps one upcast block near 8 MiB.

    Returns
    -------
    ThinShellResult

    Warns
    -----
    UninformativeWarning
        When the norms are constant (``std <= 1e-3 · mean``, e.g. L2-normalised input): the thin-shell
        statistics are then uninformative (``constant_norms`` and ``note`` on the result).

    Notes
    -----
    With :math:`r_i` the row norms, :math:`\mathrm{CV} = \mathrm{std}(r)/\mathrm{mean}(r)` (divisor
    :math:`n`), the coefficient of variation of Betser et al. (2026, Eq. 20). A small CV means the
    embeddings concentrate on a thin spherical shell.

    The reference ``cv_gaussian`` is the exact CV of :math:`\|Z\|` for :math:`Z \sim N(0, I_d)`, i.e. of
    a chi(d) variable: :math:`E = \sqrt2\,\Gamma(\frac{d+1}2)/\Gamma(\frac d2)`,
    :math:`\mathrm{sd} = \sqrt{d - E^2}`, :math:`\mathrm{CV} = \mathrm{sd}/E \approx 1/\sqrt{2d}`,
    evaluated through :math:`\mathrm{CV}^2 = \operatorname{expm1}(-2L)` with
    :math:`L = \log\Gamma(\frac{d+1}2) - \log\Gamma(\frac d2) - \frac12\log\frac d2` (an asymptotic series
    for large d), which avoids the cancellation in :math:`d - E^2`. It is scale-free, so it is the
    population CV of any :math:`N(0, \sigma^2 I)`. It applies to uncentred norms only when the mean is
    zero: the uncentred CV of :math:`N(\mu, \sigma^2 I)` is that of a non-central chi, which is smaller
    (the norms concentrate around :math:`\|\mu\|`). Use ``center=True`` to compare a shifted isotropic
    Gaussian with chi(d) (each :math:`x_i - \bar x` is exactly :math:`N(0, \frac{n-1}n\sigma^2 I)`).
    It does not apply to a non-isotropic :math:`\Sigma`, whose norm CV is larger (for a Gaussian it
    grows with :math:`\operatorname{tr}\Sigma^2/(\operatorname{tr}\Sigma)^2`).

    Under an isotropic Gaussian the sample CV fluctuates around ``cv_gaussian`` with a relative
    standard error of about :math:`1/\sqrt{2n}`, so ``cv_ratio`` lies within :math:`1 \pm 3/\sqrt{2n}`
    for most samples (``cv_ratio_reference`` gives the exact mean and 95% band at this ``(n, d)``);
    uniform-on-sphere data have CV 0.

    References
    ----------
    .. [1] R. Betser, E. Gofer, M. Y. Levi and G. Gilboa, "InfoNCE induces Gaussian distribution",
       ICLR 2026, Eq. 20.
    .. [2] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample variance:
       analysis and recommendations", The American Statistician 37(3), 242-247, 1983.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.thin_shell import thin_shell
    >>> x = np.random.default_rng(0).standard_normal((10000, 256))
    >>> res = thin_shell(x)
    >>> print(f"{res.cv:.4f} vs chi(256): {res.cv_gaussian:.4f}")
    0.0436 vs chi(256): 0.0442
    """
    emb = check_embeddings(x, dtype=dtype, min_samples=2)
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="thin_shell",
                 block_size=block_size)
    from .._engine import executor_for
    from .._engine._states import RowValues, SecondMoments, spread_shift

    ex = executor_for(emb, block_size=block_size)
    center_vec = None
    if center:  # exact centred norms need the mean first: one pass for it, one for the norms
        (sums,) = ex.row_pass(emb, [SecondMoments(shift=spread_shift(emb), products=False)])
        center_vec = norm_center(emb, sums.result().mean)
    (norms,) = ex.row_pass(emb, [RowValues(center=center_vec)])
    return finish_thin_shell(emb, norms.result(), center=center_vec, block_size=block_size)


def norm_center(emb: Embeddings, mean: Array) -> Array:
    """The float64 mean of a moments pass as the centre of :class:`~gaussprobe._engine._states.RowValues`
    (the compute dtype, on the input's device)."""
    return emb.xp.astype(mean, emb.float) if emb.float != mean.dtype else mean


def finish_thin_shell(emb: Embeddings, norms: Array, *, center: Array | None,
                      block_size: int | None = None) -> ThinShellResult:
    """:class:`ThinShellResult` from the row norms of a row pass (in row order, scaled units) taken
    about ``center`` (scaled units; None for uncentred norms).

    The norms are folded into a :class:`ThinShellState` in blocks of ``block_size`` rows (default: the
    8 MiB blocks of :func:`~gaussprobe._backend.block_rows_for`), so the moments are the same however the
    pass that made the norms was cut into blocks.
    """
    xp = namespace_of(norms)[0]
    bs = block_size or block_rows_for(emb.n_features)
    state = ThinShellState(n_features=emb.n_features, dtype=emb.dtype, scale_exponent=emb.scale_exponent,
                           center=None if center is None else emb.unscale(to_numpy(center)))
    for a, b in row_blocks(emb.n_samples, bs):
        state.add_norms(norms[a:b], xp)
    return state.finalize()


__all__ = ["CONSTANT_NORMS_RTOL", "QUANTILE_LEVELS", "ThinShellResult", "ThinShellState", "chi_cv",
           "chi_mean", "thin_shell"]
