"""Seeded generators of positive pairs for the paper's three synthetic settings (App. E.1, §5).

Each generator draws a fixed train and test set of *base* samples once, on the training device, and
makes two fresh views of any batch of base samples on request. All randomness comes from
``torch.Generator`` objects seeded from ``rng`` (anything :func:`numpy.random.default_rng` accepts),
so the same ``rng`` gives the same data on every run on a given device; global torch RNG state is never
touched.

Choices the paper leaves open, made here and exposed as parameters:

* Laplace: Laplace(0, 1) inputs of dimension 1024; views ``A x + sqrt(1 - A^2) eps`` (the square root
  restored from the Gaussian channel of §3.1), then the "light, independent jitter" applied in the
  order additive noise (std 0.2), feature dropout (p = 0.1, zeroing without rescaling), and a
  per-sample multiplicative scale ``exp(N(0, 0.1^2))``. Sizes: 20k train / 5k test (App. E.1).
* Gaussian mixture: 25 equally weighted components in 1024 dimensions with means drawn once from
  ``N(0, mean_scale^2 I)`` and a shared covariance ``sigma^2 I`` (defaults 1 and 1); a view is a fresh
  draw from the anchor's component (the base sample itself is never shown to the encoder during
  training, only at evaluation).
* Sparse binary: 1024 binary features with exactly ``n_active = 4`` ones per vector at uniformly
  random positions (the paper gives no sparsity level; a fixed count keeps the norm of a linear
  embedding from varying with the number of ones, and four ones make the random-initialisation
  embedding clearly non-Gaussian: a sum of four uniform initial weights per coordinate). With
  ``n_active=None`` entries are instead i.i.d. Bernoulli(``density``). A view flips each zero entry to
  one with probability 0.001 (0.1%), i.e. about one extra feature per view.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._typing import RNGLike


def torch_seed(rng: RNGLike, *keys: int) -> int:
    """A 63-bit torch seed derived from ``rng`` (and optional integer ``keys``, e.g. an epoch).

    Uses :class:`numpy.random.SeedSequence` so that ``(rng, keys)`` pairs give independent streams.
    """
    if isinstance(rng, np.random.Generator):
        base = int(rng.integers(2**63))
    elif isinstance(rng, np.random.SeedSequence):
        base = int(rng.generate_state(2, np.uint32).view(np.uint64)[0] >> np.uint64(1))
    elif rng is None:
        base = int(np.random.default_rng().integers(2**63))
    else:
        base = int(rng)  # type: ignore[arg-type]  # an int seed (the other RNG kinds are handled above)
    ss = np.random.SeedSequence([base % 2**63, *[int(k) for k in keys]])
    return int(ss.generate_state(2, np.uint32).view(np.uint64)[0] >> np.uint64(1))


def make_generator(device: Any, seed: int) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g


class SyntheticPairs:
    """Base class: a fixed train/test set of base samples and a view maker.

    Attributes
    ----------
    name : str
        Short name of the setting.
    n_features : int
        Input dimension.
    train, test : tensors of shape (n, n_features)
        Base samples on ``device`` (float32).
    train_labels, test_labels : tensors of shape (n,) or None
        Latent labels where the setting has them (the mixture component).
    """

    name = "synthetic"

    def __init__(self, *, n_train: int, n_test: int, n_features: int, rng: RNGLike, device: Any):
        for label, value in (("n_train", n_train), ("n_test", n_test), ("n_features", n_features)):
            if not (isinstance(value, (int, np.integer)) and value >= 2):
                msg = f"`{label}` must be an integer >= 2; got {value!r}."
                raise ValueError(msg)
        self.n_features = int(n_features)
        self.device = torch.device(device)
        self.seed = torch_seed(rng)
        g = make_generator(self.device, torch_seed(self.seed, 1))
        self._setup(g)
        self.train, self.train_labels = self._base(int(n_train), g)
        self.test, self.test_labels = self._base(int(n_test), g)

    # subclasses implement these
    def _setup(self, g: torch.Generator) -> None:
        """Draw fixed parameters (means, probabilities) once."""

    def _base(self, n: int, g: torch.Generator) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def views(self, x: Tensor, labels: Tensor | None = None, *,
              generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Two independent views of the base samples ``x`` (and their ``labels`` where used)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The setting's parameters, for provenance in result files."""
        return {"name": self.name, "n_features": self.n_features, "n_train": len(self.train),
                "n_test": len(self.test), "seed": self.seed}

    def _randn(self, shape: tuple[int, ...], g: torch.Generator) -> Tensor:
        return torch.randn(shape, generator=g, device=self.device, dtype=torch.float32)

    def _rand(self, shape: tuple[int, ...], g: torch.Generator) -> Tensor:
        return torch.rand(shape, generator=g, device=self.device, dtype=torch.float32)


class GaussianChannelPairs(SyntheticPairs):
    r"""Views through the Gaussian channel :math:`x_{1,2} = A x + \sqrt{1-A^2}\,\varepsilon_{1,2}`.

    Base samples are drawn by :meth:`_draw` (standard normal here; Laplace in
    :class:`LaplacePairs`). With ``jitter=True`` each view then receives the paper's light jitter:
    additive noise of std ``noise_std``, feature dropout with probability ``dropout`` (entries set to
    zero, no rescaling) and a per-sample multiplicative scale :math:`\exp(N(0, s^2))` with
    ``s = log_scale_std``.

    For standard-normal base samples and no jitter, each coordinate of the two views has correlation
    exactly :math:`A^2`, and the maximal correlation :math:`\eta_2 = A^2` of Prop. 1.
    """

    name = "gaussian_channel"

    def __init__(self, *, n_train: int = 20000, n_test: int = 5000, n_features: int = 1024,
                 mixing: float = 0.6, jitter: bool = False, noise_std: float = 0.2,
                 dropout: float = 0.1, log_scale_std: float = 0.1, rng: RNGLike = 0,
                 device: Any = "cpu"):
        if not 0.0 <= mixing <= 1.0:
            msg = f"`mixing` (A) must lie in [0, 1]; got {mixing!r}."
            raise ValueError(msg)
        if not 0.0 <= dropout < 1.0 or noise_std < 0 or log_scale_std < 0:
            msg = ("`dropout` must lie in [0, 1) and `noise_std`, `log_scale_std` must be >= 0; got "
                   f"dropout={dropout!r}, noise_std={noise_std!r}, log_scale_std={log_scale_std!r}.")
            raise ValueError(msg)
        self.mixing = float(mixing)
        self.jitter = bool(jitter)
        self.noise_std = float(noise_std)
        self.dropout = float(dropout)
        self.log_scale_std = float(log_scale_std)
        super().__init__(n_train=n_train, n_test=n_test, n_features=n_features, rng=rng,
                         device=device)

    def _draw(self, shape: tuple[int, ...], g: torch.Generator) -> Tensor:
        return self._randn(shape, g)

    def _base(self, n: int, g: torch.Generator) -> tuple[Tensor, Tensor | None]:
        return self._draw((n, self.n_features), g), None

    def _one_view(self, x: Tensor, g: torch.Generator) -> Tensor:
        a = self.mixing
        v = a * x + math.sqrt(1.0 - a * a) * torch.randn(x.shape, generator=g, device=x.device,
                                                         dtype=x.dtype)
        if self.jitter:
            if self.noise_std > 0:
                v = v + self.noise_std * torch.randn(v.shape, generator=g, device=v.device,
                                                     dtype=v.dtype)
            if self.dropout > 0:
                keep = torch.rand(v.shape, generator=g, device=v.device) >= self.dropout
                v = v * keep
            if self.log_scale_std > 0:
                s = torch.randn((v.shape[0], 1), generator=g, device=v.device, dtype=v.dtype)
                v = v * torch.exp(self.log_scale_std * s)
        return v

    def views(self, x: Tensor, labels: Tensor | None = None, *,
              generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self._one_view(x, generator), self._one_view(x, generator)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "mixing": self.mixing, "jitter": self.jitter,
                "noise_std": self.noise_std, "dropout": self.dropout,
                "log_scale_std": self.log_scale_std}


class LaplacePairs(GaussianChannelPairs):
    """The paper's Laplace setting: i.i.d. Laplace(0, ``scale``) inputs, Gaussian-channel views with
    ``A = 0.6`` and the light jitter (App. E.1, Eq. 53).

    Examples
    --------
    >>> data = LaplacePairs(n_train=64, n_test=16, n_features=32, rng=0)
    >>> g = make_generator("cpu", 1)
    >>> x1, x2 = data.views(data.train[:8], generator=g)
    >>> print(tuple(x1.shape))
    (8, 32)
    """

    name = "laplace"

    def __init__(self, *, n_train: int = 20000, n_test: int = 5000, n_features: int = 1024,
                 mixing: float = 0.6, jitter: bool = True, noise_std: float = 0.2,
                 dropout: float = 0.1, log_scale_std: float = 0.1, scale: float = 1.0,
                 rng: RNGLike = 0, device: Any = "cpu"):
        self.scale = float(scale)
        super().__init__(n_train=n_train, n_test=n_test, n_features=n_features, mixing=mixing,
                         jitter=jitter, noise_std=noise_std, dropout=dropout,
                         log_scale_std=log_scale_std, rng=rng, device=device)

    def _draw(self, shape: tuple[int, ...], g: torch.Generator) -> Tensor:
        # Laplace(0, b) = b * (E1 - E2) with E1, E2 ~ Exp(1) independent.
        e = torch.empty((2, *shape), device=self.device, dtype=torch.float32).exponential_(
            generator=g)
        return self.scale * (e[0] - e[1])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "scale": self.scale}


class GaussianMixturePairs(SyntheticPairs):
    """The paper's Gaussian-mixture setting: 25 equally weighted components with random fixed means
    and a shared isotropic covariance; both views are fresh draws from the anchor's component.

    Parameters
    ----------
    n_components : int
        Number of components (25 in the paper).
    mean_scale : float
        Component means are drawn once from ``N(0, mean_scale^2 I)``.
    sigma : float
        Shared within-component standard deviation.
    """

    name = "gmm"

    def __init__(self, *, n_train: int = 10000, n_test: int = 5000, n_features: int = 1024,
                 n_components: int = 25, mean_scale: float = 1.0, sigma: float = 1.0,
                 rng: RNGLike = 0, device: Any = "cpu"):
        if not (isinstance(n_components, int) and n_components >= 1) or sigma <= 0 or mean_scale < 0:
            msg = ("`n_components` must be a positive integer, `sigma` > 0 and `mean_scale` >= 0; got "
                   f"{n_components!r}, {sigma!r}, {mean_scale!r}.")
            raise ValueError(msg)
        self.n_components = n_components
        self.mean_scale = float(mean_scale)
        self.sigma = float(sigma)
        super().__init__(n_train=n_train, n_test=n_test, n_features=n_features, rng=rng,
                         device=device)

    def _setup(self, g: torch.Generator) -> None:
        self.means = self.mean_scale * self._randn((self.n_components, self.n_features), g)

    def _sample(self, labels: Tensor, g: torch.Generator) -> Tensor:
        noise = torch.randn((labels.shape[0], self.n_features), generator=g, device=labels.device)
        return self.means[labels] + self.sigma * noise

    def _base(self, n: int, g: torch.Generator) -> tuple[Tensor, Tensor | None]:
        labels = torch.randint(0, self.n_components, (n,), generator=g, device=self.device)
        return self._sample(labels, g), labels

    def views(self, x: Tensor, labels: Tensor | None = None, *,
              generator: torch.Generator) -> tuple[Tensor, Tensor]:
        if labels is None:
            msg = "GaussianMixturePairs.views needs the component `labels` of the batch."
            raise ValueError(msg)
        return self._sample(labels, generator), self._sample(labels, generator)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "n_components": self.n_components,
                "mean_scale": self.mean_scale, "sigma": self.sigma}


class SparseBinaryPairs(SyntheticPairs):
    """The paper's discrete setting: sparse binary vectors; a view flips each zero to one with
    probability ``flip`` (0.1%).

    Parameters
    ----------
    n_active : int or None
        Exact number of ones per vector, at uniformly random positions (default 4). ``None`` draws
        every entry independently as Bernoulli(``density``) instead.
    density : float
        Probability of a one when ``n_active`` is None.
    flip : float
        Probability that a zero entry becomes one in a view.
    """

    name = "binary"

    def __init__(self, *, n_train: int = 10000, n_test: int = 5000, n_features: int = 1024,
                 n_active: int | None = 4, density: float = 0.01, flip: float = 0.001,
                 rng: RNGLike = 0, device: Any = "cpu"):
        if n_active is not None and not (isinstance(n_active, int) and 1 <= n_active < n_features):
            msg = f"`n_active` must be None or an integer in [1, n_features); got {n_active!r}."
            raise ValueError(msg)
        if not (0 < density < 1 and 0 <= flip < 1):
            msg = f"Expected 0 < density < 1 and 0 <= flip < 1; got density={density!r}, flip={flip!r}."
            raise ValueError(msg)
        self.n_active = n_active
        self.density = float(density)
        self.flip = float(flip)
        super().__init__(n_train=n_train, n_test=n_test, n_features=n_features, rng=rng,
                         device=device)

    def _base(self, n: int, g: torch.Generator) -> tuple[Tensor, Tensor | None]:
        u = self._rand((n, self.n_features), g)
        if self.n_active is None:
            return (u < self.density).to(torch.float32), None
        idx = u.topk(self.n_active, dim=1).indices
        x = torch.zeros((n, self.n_features), device=self.device, dtype=torch.float32)
        return x.scatter_(1, idx, 1.0), None

    def _one_view(self, x: Tensor, g: torch.Generator) -> Tensor:
        if self.flip == 0:
            return x.clone()
        on = torch.rand(x.shape, generator=g, device=x.device) < self.flip
        return torch.where(on, torch.ones_like(x), x)

    def views(self, x: Tensor, labels: Tensor | None = None, *,
              generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self._one_view(x, generator), self._one_view(x, generator)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "n_active": self.n_active, "density": self.density,
                "flip": self.flip}


SYNTHETIC = {
    "laplace": LaplacePairs,
    "gaussian_channel": GaussianChannelPairs,
    "gmm": GaussianMixturePairs,
    "binary": SparseBinaryPairs,
}


def make_synthetic(name: str, **kwargs: Any) -> SyntheticPairs:
    """Build a synthetic setting by name: ``"laplace"``, ``"gmm"``, ``"binary"`` or
    ``"gaussian_channel"``; keyword arguments go to its constructor."""
    try:
        cls = SYNTHETIC[name]
    except KeyError:
        msg = f"Unknown synthetic setting {name!r}; choose one of {sorted(SYNTHETIC)}."
        raise ValueError(msg) from None
    out: SyntheticPairs = cls(**kwargs)
    return out


__all__ = [
    "SYNTHETIC",
    "GaussianChannelPairs",
    "GaussianMixturePairs",
    "LaplacePairs",
    "SparseBinaryPairs",
    "SyntheticPairs",
    "make_generator",
    "make_synthetic",
    "torch_seed",
]
