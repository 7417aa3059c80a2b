"""Contrastive objectives: InfoNCE (the paper's Eq. 2), SimCLR's NT-Xent, the regularised Route-2
objective, a differentiable entropy estimator, and Wang & Isola's alignment and uniformity.

All functions take torch tensors of shape ``(n, d)`` and return a 0-d tensor on the same device that
autograd can differentiate. Log-sum-exps are computed with :func:`torch.logsumexp` (through
:func:`torch.nn.functional.cross_entropy`), never as ``log(exp(.)/sum(exp(.)))``, so a temperature of
0.1 or lower is safe in float32 and bfloat16 logits are upcast to float32 first.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

EntropyEstimator = Literal["knn", "kde"]


def _check_pair(u: Tensor, v: Tensor) -> None:
    if u.ndim != 2 or v.ndim != 2 or u.shape != v.shape:
        msg = (f"`u` and `v` must be 2-D tensors of the same shape (n, d), one row per positive pair; "
               f"got shapes {tuple(u.shape)} and {tuple(v.shape)}.")
        raise ValueError(msg)
    if u.shape[0] < 2:
        msg = f"A contrastive loss needs at least 2 pairs (negatives); got n={u.shape[0]}."
        raise ValueError(msg)


def _check_temperature(temperature: float) -> None:
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        msg = f"`temperature` must be a positive finite number; got {temperature!r}."
        raise ValueError(msg)


def _as_float(z: Tensor) -> Tensor:
    """Half-precision inputs are upcast to float32; float32/float64 are kept."""
    if z.dtype in (torch.float16, torch.bfloat16):
        return z.float()
    if not z.is_floating_point():
        msg = f"Expected a floating-point tensor; got dtype {z.dtype}."
        raise TypeError(msg)
    return z


def l2_normalize(z: Tensor, /, *, c0: Tensor | None = None) -> Tensor:
    r"""Project rows onto the unit sphere, sending exact zero rows to a fixed unit vector ``c0``.

    Parameters
    ----------
    z : tensor of shape (n, d)
        Representations :math:`f(x_i)`.
    c0 : tensor of shape (d,), optional
        The fixed point :math:`c_0 \in S^{d-1}` used for zero rows (default: the first basis vector
        :math:`e_1`). It is normalised before use.

    Returns
    -------
    tensor of shape (n, d)
        :math:`\hat f(x) = f(x)/\|f(x)\|`, or :math:`c_0` where :math:`f(x) = 0`.

    Notes
    -----
    This is the normalisation rule under the paper's Eq. 2. Rows with a non-zero norm are divided by
    it (no ``eps`` is added, so tiny but non-zero rows still map to the sphere); the gradient through
    a zero row is zero.
    """
    z = _as_float(z)
    if z.ndim != 2:
        msg = f"`z` must be 2-D with shape (n, d); got shape {tuple(z.shape)}."
        raise ValueError(msg)
    d = z.shape[1]
    if c0 is None:
        c0 = torch.zeros(d, dtype=z.dtype, device=z.device)
        c0[0] = 1.0
    else:
        c0 = torch.as_tensor(c0, dtype=z.dtype, device=z.device)
        if c0.shape != (d,) or not bool(torch.linalg.vector_norm(c0) > 0):
            msg = f"`c0` must be a non-zero vector of shape ({d},); got shape {tuple(c0.shape)}."
            raise ValueError(msg)
        c0 = c0 / torch.linalg.vector_norm(c0)
    norms = torch.linalg.vector_norm(z, dim=1, keepdim=True)
    zero = norms == 0
    safe = torch.where(zero, torch.ones_like(norms), norms)
    return torch.where(zero, c0.expand_as(z), z / safe)


def _prepare_pair(u: Tensor, v: Tensor, temperature: float, normalize: bool) -> tuple[Tensor, Tensor]:
    """Validate a pair of view batches and the temperature; ℓ2-normalise (or just cast) the rows."""
    _check_pair(u, v)
    _check_temperature(temperature)
    if normalize:
        return l2_normalize(u), l2_normalize(v)
    return _as_float(u), _as_float(v)


def info_nce(u: Tensor, v: Tensor, /, *, temperature: float = 0.1, normalize: bool = True) -> Tensor:
    r"""The empirical InfoNCE loss of the paper's Eq. 2 (one-directional, N candidates).

    Parameters
    ----------
    u, v : tensors of shape (n, d)
        Representations of the two views; row ``i`` of ``u`` and row ``i`` of ``v`` form a positive
        pair and every other row of ``v`` is a negative for ``u[i]``.
    temperature : float
        :math:`\tau` (the paper uses 0.1).
    normalize : bool
        ℓ2-normalise the rows first with :func:`l2_normalize` (the paper's rule). Pass ``False`` only
        for inputs that are already on the sphere.

    Returns
    -------
    0-d tensor
        The mean loss over the ``n`` anchors.

    Notes
    -----
    .. math::

        \mathcal L = -\frac1N\sum_{i=1}^N \log
        \frac{\exp(\langle u_i, v_i\rangle/\tau)}{\sum_{j=1}^N \exp(\langle u_i, v_j\rangle/\tau)}

    Each anchor ``u_i`` sees its positive ``v_i`` and the ``N-1`` other rows of ``v``; anchors from the
    ``v`` side are not used (contrast :func:`nt_xent`). When all rows are equal the loss is
    :math:`\log N`. ``InfoNCE - log N`` tends to the population objective of the paper's Eq. 4.

    References
    ----------
    .. [1] A. van den Oord, Y. Li, O. Vinyals, "Representation learning with contrastive predictive
       coding", arXiv:1807.03748, 2018.
    .. [2] R. Betser, E. Gofer, M. Y. Levi, G. Gilboa, "InfoNCE induces Gaussian distribution",
       ICLR 2026, Eq. 2.

    Examples
    --------
    >>> import torch
    >>> u = torch.ones(8, 4)
    >>> print(f"{float(info_nce(u, u, temperature=0.1)):.4f}")   # log 8
    2.0794
    """
    u, v = _prepare_pair(u, v, temperature, normalize)
    logits = (u @ v.T) / temperature
    target = torch.arange(u.shape[0], device=u.device)
    return F.cross_entropy(logits, target)


def nt_xent(u: Tensor, v: Tensor, /, *, temperature: float = 0.1, normalize: bool = True) -> Tensor:
    r"""SimCLR's symmetric NT-Xent loss: 2N anchors, each with 2N-1 candidates.

    Parameters
    ----------
    u, v : tensors of shape (n, d)
        Representations of the two views (row ``i`` of each is a positive pair).
    temperature : float
        :math:`\tau`.
    normalize : bool
        ℓ2-normalise rows first (with the fixed-``c0`` rule of :func:`l2_normalize`).

    Returns
    -------
    0-d tensor
        The mean loss over the ``2n`` anchors.

    Notes
    -----
    With :math:`w = (u_1..u_N, v_1..v_N)` and :math:`p(k)` the index of the partner of :math:`w_k`,

    .. math::

        \mathcal L = -\frac{1}{2N}\sum_{k=1}^{2N}\log
        \frac{\exp(\langle w_k, w_{p(k)}\rangle/\tau)}{\sum_{l\ne k}\exp(\langle w_k, w_l\rangle/\tau)}.

    When all rows are equal the loss is :math:`\log(2N-1)`.

    References
    ----------
    .. [1] T. Chen, S. Kornblith, M. Norouzi, G. Hinton, "A simple framework for contrastive learning
       of visual representations", ICML 2020.

    Examples
    --------
    >>> import torch
    >>> u = torch.ones(8, 4)
    >>> print(f"{float(nt_xent(u, u)):.4f}")   # log 15
    2.7081
    """
    u, v = _prepare_pair(u, v, temperature, normalize)
    n = u.shape[0]
    w = torch.cat([u, v], dim=0)
    logits = (w @ w.T) / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=w.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    idx = torch.arange(n, device=w.device)
    target = torch.cat([idx + n, idx])
    return F.cross_entropy(logits, target)


def _pairwise_sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances, clamped at 0 (Gram-matrix form, O(n m d) time)."""
    sq = (a * a).sum(1, keepdim=True) + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return sq.clamp_min(0.0)


def entropy_estimate(
    z: Tensor, /, *, estimator: EntropyEstimator = "knn", k: int = 1, bandwidth: float | None = None
) -> Tensor:
    r"""A differentiable estimate of the differential entropy :math:`H(\rho)` of the rows of ``z``.

    Parameters
    ----------
    z : tensor of shape (n, d)
        A sample from :math:`\rho` (unnormalised representations).
    estimator : {"knn", "kde"}
        ``"knn"``: the Kozachenko–Leonenko k-nearest-neighbour estimator (default). ``"kde"``:
        leave-one-out resubstitution of a Gaussian kernel density estimate.
    k : int
        The neighbour order of the k-NN estimator.
    bandwidth : float, optional
        The KDE bandwidth :math:`h`; default Scott's rule
        :math:`h = \bar\sigma\, n^{-1/(d+4)}` with :math:`\bar\sigma` the mean coordinate standard
        deviation (treated as a constant in the gradient).

    Returns
    -------
    0-d tensor
        :math:`\hat H` in nats.

    Notes
    -----
    Kozachenko–Leonenko, with :math:`\varepsilon_i` the distance from :math:`z_i` to its k-th nearest
    neighbour and :math:`V_d = \pi^{d/2}/\Gamma(d/2+1)` the volume of the unit ball:

    .. math:: \hat H = \psi(n) - \psi(k) + \log V_d + \frac{d}{n}\sum_i \log \varepsilon_i .

    KDE resubstitution:
    :math:`\hat H = -\frac1n\sum_i \log\big(\frac{1}{n-1}\sum_{j\ne i} \varphi_h(z_i - z_j)\big)`
    with :math:`\varphi_h` the isotropic Gaussian density of variance :math:`h^2`.

    Both are differentiable almost everywhere: the k-NN gradient moves each point away from its k-th
    neighbour (a repulsion whose balance with :math:`\lambda E\|z\|^2` gives the Gaussian optimum), the
    KDE gradient is smooth. Memory is O(n²) in the batch size, which is fine for training batches.

    References
    ----------
    .. [1] L. F. Kozachenko, N. N. Leonenko, "Sample estimate of the entropy of a random vector",
       Problems Inform. Transmission 23(2), 95-101, 1987.
    .. [2] H. Joe, "Estimation of entropy and other functionals of a multivariate density", Ann. Inst.
       Statist. Math. 41, 683-697, 1989.
    """
    z = _as_float(z)
    if z.ndim != 2 or z.shape[0] < 3:
        msg = f"`z` must be 2-D with at least 3 rows; got shape {tuple(z.shape)}."
        raise ValueError(msg)
    n, d = z.shape
    sq = _pairwise_sq_dists(z, z)
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    if estimator == "knn":
        if not (isinstance(k, int) and 1 <= k < n):
            msg = f"`k` must be an integer in [1, n-1] = [1, {n - 1}]; got {k!r}."
            raise ValueError(msg)
        sq = sq.masked_fill(eye, float("inf"))
        kth = torch.topk(sq, k, dim=1, largest=False).values[:, -1]
        # log eps = 0.5 log(eps^2); a floor keeps duplicated points finite.
        tiny = torch.finfo(z.dtype).tiny
        log_eps = 0.5 * torch.log(kth.clamp_min(tiny))
        log_vd = 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)
        const = _digamma(n) - _digamma(k) + log_vd
        return const + d * log_eps.mean()
    if estimator == "kde":
        if bandwidth is None:
            sigma = z.detach().std(dim=0).mean()
            h = float(sigma) * n ** (-1.0 / (d + 4))
        else:
            h = float(bandwidth)
        if not h > 0:
            msg = f"`bandwidth` must be positive; got {h!r}."
            raise ValueError(msg)
        log_kernel = -sq / (2.0 * h * h) - 0.5 * d * math.log(2.0 * math.pi * h * h)
        log_kernel = log_kernel.masked_fill(eye, float("-inf"))
        log_density = torch.logsumexp(log_kernel, dim=1) - math.log(n - 1)
        return -log_density.mean()
    msg = f"`estimator` must be 'knn' or 'kde'; got {estimator!r}."
    raise ValueError(msg)


def _digamma(m: int) -> float:
    """psi(m) for a positive integer: -gamma + sum_{j<m} 1/j."""
    return -0.5772156649015329 + sum(1.0 / j for j in range(1, m))


def regularized_info_nce(
    z1: Tensor,
    z2: Tensor,
    /,
    *,
    temperature: float = 0.1,
    beta: float = 0.01,
    lam: float = 0.5,
    estimator: EntropyEstimator = "knn",
    k: int = 1,
) -> Tensor:
    r"""The Route-2 objective: InfoNCE plus :math:`\beta(-H(\rho) + \lambda E\|z\|^2)`.

    Parameters
    ----------
    z1, z2 : tensors of shape (n, d)
        *Unnormalised* representations of the two views. InfoNCE uses their normalised rows; the
        regulariser uses the raw rows of both views pooled (2n samples of :math:`\rho = f_* p_X`).
    temperature : float
        :math:`\tau`.
    beta : float
        :math:`\beta > 0`, the weight of the regulariser.
    lam : float
        :math:`\lambda > 0`; the optimum of the regulariser alone is :math:`N(0, (2\lambda)^{-1} I_d)`.
    estimator, k
        The entropy estimator (see :func:`entropy_estimate`).

    Returns
    -------
    0-d tensor

    Notes
    -----
    The paper's Eq. 11, with the population terms replaced by their batch estimates:

    .. math::

        J = \mathcal L_{\mathrm{InfoNCE}}(\hat z_1, \hat z_2)
            + \beta\Big(-\hat H(\rho) + \lambda\,\frac{1}{2n}\sum_i \|z_i\|^2\Big).

    Since :math:`-H(\rho) + \lambda E\|z\|^2 = \mathrm{KL}(\rho\,\|\,N(0,(2\lambda)^{-1}I)) +
    \mathrm{const}`, the regulariser pulls :math:`\rho` towards the isotropic Gaussian (Corollary 2).
    """
    _check_pair(z1, z2)
    if not (beta >= 0 and lam > 0):
        msg = f"`beta` must be >= 0 and `lam` > 0; got beta={beta!r}, lam={lam!r}."
        raise ValueError(msg)
    loss = info_nce(z1, z2, temperature=temperature)
    if beta == 0:
        return loss
    z = torch.cat([_as_float(z1), _as_float(z2)], dim=0)
    h = entropy_estimate(z, estimator=estimator, k=k)
    energy = (z * z).sum(1).mean()
    return loss + beta * (-h + lam * energy)


def alignment(u: Tensor, v: Tensor, /, *, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Wang & Isola's alignment :math:`E\|u - v\|_2^\alpha` over positive pairs (lower is better).

    Notes
    -----
    For unit vectors and :math:`\alpha = 2`, :math:`\|u-v\|^2 = 2 - 2\,u\cdot v`.

    References
    ----------
    .. [1] T. Wang, P. Isola, "Understanding contrastive representation learning through alignment
       and uniformity on the hypersphere", ICML 2020.
    """
    _check_pair(u, v)
    if normalize:
        u, v = l2_normalize(u), l2_normalize(v)
    diff = _as_float(u) - _as_float(v)
    out: Tensor = torch.linalg.vector_norm(diff, dim=1).pow(alpha).mean()
    return out


def uniformity(u: Tensor, /, *, t: float = 2.0, normalize: bool = True,
               block_size: int = 4096) -> Tensor:
    r"""Wang & Isola's uniformity :math:`\log E_{i<j} \exp(-t\|u_i-u_j\|^2)` (lower is better).

    Parameters
    ----------
    u : tensor of shape (n, d)
    t : float
        The Gaussian-potential scale (default 2).
    normalize : bool
        ℓ2-normalise rows first.
    block_size : int
        Rows per block; memory is O(block_size · n), never O(n²) beyond one block.

    Notes
    -----
    Computed as a blocked log-sum-exp over the :math:`n(n-1)/2` pairs :math:`i<j`. The minimum over
    distributions on :math:`S^{d-1}` is attained by the uniform law.
    """
    u = _as_float(u)
    if u.ndim != 2 or u.shape[0] < 2:
        msg = f"`u` must be 2-D with at least 2 rows; got shape {tuple(u.shape)}."
        raise ValueError(msg)
    if normalize:
        u = l2_normalize(u)
    n = u.shape[0]
    parts = []
    # rows 0..n-2 each have at least one partner j > i, so no block is all -inf.
    for start in range(0, n - 1, block_size):
        stop = min(start + block_size, n - 1)
        sq = _pairwise_sq_dists(u[start:stop], u)
        rows = torch.arange(start, stop, device=u.device)[:, None]
        cols = torch.arange(n, device=u.device)[None, :]
        vals = (-t * sq).masked_fill(cols <= rows, float("-inf"))
        parts.append(torch.logsumexp(vals.reshape(-1), dim=0))
    n_pairs = n * (n - 1) / 2
    return torch.logsumexp(torch.stack(parts), dim=0) - math.log(n_pairs)


__all__ = [
    "alignment",
    "entropy_estimate",
    "info_nce",
    "l2_normalize",
    "nt_xent",
    "regularized_info_nce",
    "uniformity",
]
