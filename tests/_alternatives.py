"""Non-Gaussian samplers shared by the power tests: ``sampler(rng, n, d) -> (n, d) array``."""

from __future__ import annotations

import numpy as np


def laplace(rng, n, d):
    return rng.laplace(size=(n, d))


def t5(rng, n, d):
    return rng.standard_t(5, size=(n, d))


def sphere(rng, n, d):
    """Uniform on the unit sphere: light-tailed (platykurtic) coordinates."""
    z = rng.standard_normal((n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def mixture(rng, n, d):
    """Symmetric two-component mixture: N(±2 e_1, I) with equal weights (bimodal first axis)."""
    z = rng.standard_normal((n, d))
    z[:, 0] += np.where(rng.uniform(size=n) < 0.5, -2.0, 2.0)
    return z


def skewed_mixture(rng, n, d):
    """0.8 N(0, I) + 0.2 N(4 e_1, I): skewed along the first axis."""
    shift = np.zeros(d)
    shift[0] = 4.0
    return rng.standard_normal((n, d)) + (rng.random(n) < 0.2)[:, None] * shift
