"""The Henze-Zirkler test of multivariate normality, accurate at embedding dimensions."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np

from .._budget import check_budget
from .._kernels import gram
from .._pvalues import normal_sf
from .._results import Result
from .._typing import ArrayLike, DTypeName
from .._validation import Embeddings, check_choice, check_embeddings, check_positive_int
from . import _null
from ._null import (
    DEFAULT_NULL_DRAWS,
    monte_carlo_pvalue,
    over_budget_note,
    simulate_null,
)
from ._whiten import Whitening, host_vector, warn_if_tf32, whiten, whitened_rows

_WHAT = "The Henze-Zirkler test"
#: The lognormal null holds (type-I error within the binomial band) up to this dimension (measured).
LOGNORMAL_MAX_FEATURES = 10
#: Most Monte-Carlo draws of the null by default.
MAX_NULL_DRAWS = 999
#: Past beta^2 d = 100 the pairwise kernel terms vanish and HZ sees only the norms.
_MAX_BETA2_P = 100.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class HenzeZirklerResult(Result):
    """Henze-Zirkler statistic, its lognormal null approximation and p-value.

    Attributes
    ----------
    statistic : float
        ``HZ`` (rounded to float64; at large d it is 1 to many digits).
    pvalue : float
        Upper tail of the lognormal approximation at ``HZ``.
    statistic_minus_one : float
        ``HZ - 1`` computed directly, without forming ``1 + (tiny)``. Carries the information that
        ``statistic`` loses at large d.
    beta : float
        Smoothing parameter :math:`\\beta`.
    lognormal_mean, lognormal_variance : float
        Null mean :math:`\\mu` and variance :math:`\\sigma^2` of ``HZ``.
    lognormal_log_mean, lognormal_log_sd : float
        Parameters of the approximating lognormal (mean and sd of ``log HZ``).
    null_distribution : str
        The null the p-value was taken from, as a string.
    calibration : str
        ``"lognormal"``, ``"monte-carlo"``, ``"not calibrated"`` or ``"not informative"`` (the last two
        with ``pvalue`` NaN and the reason in ``note``).
    informative : bool
        False where HZ has no power by construction (large ``d``); ``pvalue`` is then NaN and ``note``
        says why.
    note : str
        Why the p-value is missing, or how its null was obtained.
    lognormal_pvalue : float
        The lognormal tail at every size, as R's MVN and pingouin compute it (kept for parity; not
        calibrated beyond ``d = 10``).
    covariance : str
        ``"biased"`` (divisor n, the paper's) or ``"unbiased"``.
    n_samples, n_features : int
        Shape of the input.
    """

    statistic: float
    pvalue: float
    statistic_minus_one: float
    beta: float
    lognormal_mean: float
    lognormal_variance: float
    lognormal_log_mean: float
    lognormal_log_sd: float
    null_distribution: str
    covariance: str
    n_samples: int
    n_features: int
    calibration: str = "lognormal"
    informative: bool = True
    note: str = ""
    lognormal_pvalue: float = math.nan


def henze_zirkler(
    x: ArrayLike,
    /,
    *,
    covariance: Literal["biased", "unbiased"] = "biased",
    block_size: int | None = None,
    dtype: DTypeName = "float64",
    null: Literal["auto", "lognormal", "monte-carlo"] = "auto",
    n_null: int | None = None,
    null_budget: float | None = None,
) -> HenzeZirklerResult:
    r"""Henze-Zirkler test of multivariate normality.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row. NumPy arrays and torch tensors (CPU or CUDA) are accepted; the
        pairwise work stays on the input's device. Needs ``n_samples >= n_features + 2`` and a
        full-rank covariance.
    covariance : {"biased", "unbiased"}
        Divisor ``n`` (Henze & Zirkler 1990, R MVN and pingouin) or ``n - 1`` of the covariance.
    block_size : int, optional
        Rows per tile of the pairwise sums (default 512 on the CPU, 4096 on CUDA). Results do not
        depend on it beyond rounding.
    dtype : {"float64", "float32"}
        Precision of the pairwise products; whitening and all reductions are float64.
    null : {"auto", "lognormal", "monte-carlo"}
        Null of the p-value. ``"auto"``: the lognormal of Henze & Zirkler where it is calibrated
        (``d <= 10``, measured), else a seeded Monte-Carlo null at the data's own ``(n, d)`` (exact: HZ
        is affine invariant) with as many draws as fit ``null_budget`` (199 to ``n_null``), else no
        p-value. ``"lognormal"`` or ``"monte-carlo"`` force one (the budget is then not applied).
    n_null : int, optional
        Most Monte-Carlo draws (default 999).
    null_budget : float, optional
        Flop budget of the Monte-Carlo null under ``null="auto"`` (default
        :data:`gaussprobe.stats._null.NULL_FLOP_BUDGET`); one draw costs about ``2 n^2 d`` flop.

    Returns
    -------
    HenzeZirklerResult

    Raises
    ------
    ValueError
        If ``n_samples <= n_features + 1`` or the covariance is singular (never the paper's
        ``HZ = 4n`` sentinel); the message says how to proceed.

    Notes
    -----
    With :math:`D_{jk} = (x_j - x_k)^\top S^{-1} (x_j - x_k)`, :math:`D_j = (x_j - \bar x)^\top S^{-1}
    (x_j - \bar x)` and :math:`\beta = 2^{-1/2} ((2p+1)/4)^{1/(p+4)} n^{1/(p+4)}`,

    .. math::

        HZ = \frac{1}{n} \sum_{j,k} e^{-\beta^2 D_{jk}/2}
             - 2 (1+\beta^2)^{-p/2} \sum_j e^{-\beta^2 D_j / (2(1+\beta^2))}
             + n (1+2\beta^2)^{-p/2} .

    The ``j = k`` terms contribute exactly 1, so ``HZ - 1`` is the sum of three terms that are all
    ``O(n (1+2\beta^2)^{-p/2})``, about ``1e-9`` at ``p = 64``. Evaluated as written, ``HZ`` keeps
    only its last few digits there and R's MVN (p-value 0) and pingouin (p-value 0.5) break down. Here
    each term is summed as a log-sum-exp over tiles and ``HZ - 1`` is formed from the three logs; the
    lognormal moments (Henze & Zirkler 1990) are evaluated in log form with ``log1p``, and the tail
    :math:`P(\log HZ > \log hz)` is taken from :math:`\log hz = \mathrm{log1p}(HZ - 1)`. The p-value
    is therefore accurate at any dimension (checked against 60-digit arithmetic in the tests).

    *Power at high dimension.* Accuracy does not restore power: as ``p`` grows every kernel term
    vanishes and HZ stops telling distributions apart (already at ``p`` of a few dozen it barely
    rejects uniform-on-sphere data). For embeddings use random one-dimensional projections
    (``gaussprobe.projection_normality``), Mardia's kurtosis with finite-n moments
    (:func:`~gaussprobe.stats.mardia.mardia`), or the energy test, and keep HZ for ``p`` up to about 10.

    References
    ----------
    .. [1] N. Henze and B. Zirkler, "A class of invariant consistent tests for multivariate
       normality", Communications in Statistics - Theory and Methods 19(10), 3595-3617, 1990.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.henze_zirkler import henze_zirkler
    >>> x = np.random.default_rng(0).standard_normal((500, 5))
    >>> res = henze_zirkler(x)
    >>> print(f"HZ = {res.statistic:.4f}, p = {res.pvalue:.3f}")
    HZ = 0.8945, p = 0.732
    """
    if block_size is not None:
        block_size = check_positive_int(block_size, "block_size")
    check_choice(null, "null", ("auto", "lognormal", "monte-carlo"))
    max_draws = MAX_NULL_DRAWS if n_null is None else check_positive_int(n_null, "n_null")
    budget = _null.NULL_FLOP_BUDGET if null_budget is None else float(null_budget)
    emb = check_embeddings(x, dtype=dtype)
    check_budget(n_samples=emb.n_samples, n_features=emb.n_features, where="henze_zirkler",
                 block_size=block_size, tiles=True)
    return run_henze_zirkler(emb, covariance=covariance, block_size=block_size, null=null,
                             max_draws=max_draws, budget=budget)


def run_henze_zirkler(emb: Embeddings, *, covariance: str, block_size: int | None, null: str,
                      max_draws: int, budget: float, moments: Any = None) -> HenzeZirklerResult:
    """:func:`henze_zirkler` on a validated input; ``moments`` is the covariance state of a row pass
    already made (``analyze`` shares one)."""
    wh = whiten(emb, what=_WHAT, covariance=covariance, state=moments)
    warn_if_tf32(emb, _WHAT)
    res = _lognormal_result(emb, wh, block_size, covariance)
    n, p = emb.n_samples, emb.n_features
    informative, why = informative_at(n, p)
    calibration, draws, note = _plan(n, p, null, max_draws, budget)
    if not informative:
        calibration = "not informative"
    if calibration == "monte-carlo":
        sims = simulate_null("henze_zirkler", _null_statistic, n, p, draws)[:, 0]
        pvalue = monte_carlo_pvalue(res.statistic_minus_one, sims)
        null_text = f"monte-carlo(draws={draws}, n={n}, d={p})"
    elif calibration == "lognormal" or null == "lognormal":  # forced by name: shown, flagged
        pvalue, null_text = res.pvalue, res.null_distribution
    else:
        pvalue, null_text = math.nan, "none"
    if not informative:
        pvalue, note = math.nan, why
    return dataclasses.replace(res, pvalue=pvalue, null_distribution=null_text, calibration=calibration,
                               informative=informative, note=note, lognormal_pvalue=res.pvalue)


def informative_at(n: int, p: int) -> tuple[bool, str]:
    """Whether HZ can see more than the Mahalanobis norms at ``(n, p)``, and why not.

    Every pairwise kernel term is about :math:`e^{-\\beta^2 p}` (whitened distinct points lie at
    squared distance ``~2p``). Past :math:`\\beta^2 p = 100` those terms are below :math:`e^{-100}`
    of the diagonal ones, the statistic is a function of the norms :math:`D_j` alone, and it has no
    power against any departure that leaves them Gaussian-like (at ``(1000, 200)`` Laplace data give
    p = 0.50; see the power table in the docs).
    """
    b2 = math.exp(2.0 * (-0.5 * math.log(2.0) + (math.log((2 * p + 1) / 4.0) + math.log(n)) / (p + 4)))
    if b2 * p <= _MAX_BETA2_P:
        return True, ""
    return False, (f"no power by construction at d={p}: the kernel between distinct points is "
                   f"~exp(-{b2 * p:.0f}), so HZ only sees the Mahalanobis norms; use Mardia's kurtosis, "
                   "the projection tests or the energy test")


def _plan(n: int, p: int, null: str, max_draws: int, budget: float) -> tuple[str, int, str]:
    if null == "lognormal" or (null == "auto" and p <= LOGNORMAL_MAX_FEATURES):
        note = "" if p <= LOGNORMAL_MAX_FEATURES else (
            f"the lognormal null is not calibrated at d={p} > {LOGNORMAL_MAX_FEATURES}")
        return ("lognormal" if not note else "not calibrated"), 0, note
    cost = 2.0 * n * n * p + 3.0 * n * p * p + 10.0 * float(p) ** 3
    draws = max_draws if null == "monte-carlo" else int(min(max_draws, budget // cost))
    if draws >= DEFAULT_NULL_DRAWS or (null == "monte-carlo" and draws >= 1):
        return "monte-carlo", draws, (f"lognormal null not calibrated at d > {LOGNORMAL_MAX_FEATURES}; "
                                      f"seeded Monte-Carlo null of {draws} draws at (n, d) = ({n}, {p})")
    return "not calibrated", 0, over_budget_note(
        f"the lognormal null of HZ does not hold at d={p} > {LOGNORMAL_MAX_FEATURES}", cost,
        DEFAULT_NULL_DRAWS, budget, "pass null='monte-carlo' (or a larger null_budget) to simulate it")


def _null_statistic(z: np.ndarray) -> tuple[float]:
    """``HZ - 1`` of one standard-normal draw (the statistic the Monte-Carlo null compares)."""
    emb = check_embeddings(z)
    return (_lognormal_result(emb, whiten(emb, what=_WHAT), None, "biased").statistic_minus_one,)


def _lognormal_result(emb: Embeddings, wh: Whitening, block_size: int | None,
                      covariance: str) -> HenzeZirklerResult:
    """The statistic and its lognormal null (Henze & Zirkler 1990)."""
    xp = emb.xp
    n, p = emb.n_samples, emb.n_features
    log_beta = -0.5 * math.log(2.0) + (math.log((2 * p + 1) / 4.0) + math.log(n)) / (p + 4)
    b2 = math.exp(2.0 * log_beta)

    # Scaled rows give the tile g = β² z_jᵀ z_k; with u_j = -β²/2 (r_j - r̄) each off-diagonal term
    # exp(u_j + u_k + g_jk) = exp(-β² D_jk / 2) · exp(β² r̄): O(1) for typical pairs.
    z, r = whitened_rows(wh, scale=math.sqrt(b2))
    r_bar = xp.mean(r)
    u = (-0.5 * b2) * (r - r_bar)
    c2 = -b2 / (2.0 * (1.0 + b2))
    cross = c2 * r
    c_max = xp.max(cross)
    scalars = host_vector(xp.stack([r_bar, c_max, xp.sum(xp.exp(cross - c_max))]))
    r_bar_h, c_max_h, c_sum_h = (float(v) for v in scalars)
    exp_u = np.exp(u) if isinstance(u, np.ndarray) else None
    if block_size is None:
        block_size = gram.DEFAULT_TILE_HOST if emb.on_host else (
            gram.DEFAULT_TILE_DEVICE if "cuda" in str(emb.device) else 1024)
    tiles = gram.tile_values(z, gram.LogExpSum(u=u, exp_u=exp_u), block_size=block_size, xp=xp)
    log_off = tiles.symmetric_logsumexp() - b2 * r_bar_h  # log Σ_{j≠k} exp(-β² D_jk / 2)

    l1 = log_off - math.log(n)
    l2 = math.log(2.0) - 0.5 * p * math.log1p(b2) + c_max_h + math.log(c_sum_h)
    l3 = math.log(n) - 0.5 * p * math.log1p(2.0 * b2)
    top = max(l1, l2, l3)
    h_scaled = math.exp(l1 - top) - math.exp(l2 - top) + math.exp(l3 - top)

    log_1m_mu, log_var = _null_moments_log(n, p, b2)
    z_score, log_mu, log_sd = _standardise(top, h_scaled, log_1m_mu, log_var)
    pvalue = float(normal_sf(z_score))
    h = h_scaled * math.exp(top) if top < 709.0 else math.copysign(math.inf, h_scaled)
    log_mean = log_mu - 0.5 * math.exp(2.0 * log_sd)
    sd = math.exp(log_sd)
    return HenzeZirklerResult(
        statistic=1.0 + h,
        pvalue=pvalue,
        statistic_minus_one=h,
        beta=math.exp(log_beta),
        lognormal_mean=-math.expm1(log_1m_mu),
        lognormal_variance=math.exp(log_var),
        lognormal_log_mean=log_mean,
        lognormal_log_sd=sd,
        null_distribution=f"lognormal(log_mean={log_mean:.6g}, log_sd={sd:.6g})",
        covariance=covariance,
        n_samples=n,
        n_features=p,
    )


def _null_moments_log(n: int, p: int, b2: float) -> tuple[float, float]:
    """``log(1 - μ)`` and ``log σ²`` of HZ under normality (Henze & Zirkler 1990), overflow-free."""
    a = 1.0 + 2.0 * b2
    w = (1.0 + b2) * (1.0 + 3.0 * b2)
    b4, b8 = b2 * b2, b2**4
    log_1m_mu = -0.5 * p * math.log1p(2.0 * b2) + math.log(
        1.0 + p * b2 / a + p * (p + 2) * b4 / (2.0 * a * a))
    l_first = math.log(2.0) - 0.5 * p * math.log1p(4.0 * b2)
    l_second = math.log(2.0) - p * math.log1p(2.0 * b2) + math.log(
        1.0 + 2.0 * p * b4 / a**2 + 3.0 * p * (p + 2) * b8 / (4.0 * a**4))
    l_third = math.log(4.0) - 0.5 * p * (math.log1p(b2) + math.log1p(3.0 * b2)) + math.log(
        1.0 + 3.0 * p * b4 / (2.0 * w) + p * (p + 2) * b8 / (2.0 * w * w))
    bracket = 1.0 + math.exp(l_second - l_first) - math.exp(l_third - l_first)
    if not bracket > 0.0:  # pragma: no cover - would mean a negative variance
        msg = f"Henze-Zirkler null variance is not positive at n={n}, p={p} (beta²={b2:.6g})."
        raise ArithmeticError(msg)
    return log_1m_mu, l_first + math.log(bracket)


def _standardise(top: float, h_scaled: float, log_1m_mu: float, log_var: float) -> tuple[float, float, float]:
    """``z = (log HZ - m) / s`` for ``HZ - 1 = exp(top) h_scaled``, in log form throughout.

    Returns ``z``, ``log μ`` and ``log s``. Uses ``log HZ - log μ = log1p((HZ - μ)/μ)`` with
    ``HZ - μ = exp(top) h_scaled + (1 - μ)``, so nothing of the form ``1 + tiny`` is ever rounded.
    """
    log_mu = math.log1p(-math.exp(log_1m_mu))
    lr = log_var - 2.0 * log_mu  # log(σ²/μ²)
    log_s2 = lr if lr < -30.0 else math.log(math.log1p(math.exp(lr)))
    log_s = 0.5 * log_s2
    k = max(top, log_1m_mu)
    g = math.exp(top - k) * h_scaled + math.exp(log_1m_mu - k)
    half_s = 0.5 * math.exp(log_s)
    if g == 0.0:
        return half_s, log_mu, log_s
    log_q = k + math.log(abs(g)) - log_mu
    if log_q < -20.0:  # log1p(q) = q to double precision
        z1 = math.copysign(_exp(log_q - log_s), g)
    else:
        q = math.copysign(math.exp(log_q), g) if log_q < 709.0 else math.inf
        if q <= -1.0:
            return -math.inf, log_mu, log_s
        t = math.log1p(q)
        z1 = math.copysign(_exp(math.log(abs(t)) - log_s), t) if t != 0.0 else 0.0
    return z1 + half_s, log_mu, log_s


def _exp(v: float) -> float:
    """``exp`` that returns inf instead of raising OverflowError."""
    return math.exp(v) if v < 709.0 else math.inf


__all__ = ["HenzeZirklerResult", "henze_zirkler", "informative_at"]
