"""Shared fixtures: backends, seeded generators."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), ".numba_cache"))

BACKENDS = [
    "numpy",
    pytest.param("torch-cpu", marks=pytest.mark.torch),
    pytest.param("torch-cuda", marks=[pytest.mark.torch, pytest.mark.gpu]),
]


def _converter(name: str):
    if name == "numpy":
        return lambda a: a
    torch = pytest.importorskip("torch")
    if name == "torch-cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    device = "cuda" if name == "torch-cuda" else "cpu"
    return lambda a: torch.as_tensor(np.asarray(a), device=device)


@pytest.fixture(params=BACKENDS)
def to_backend(request):
    """Convert a NumPy test array to the parametrized backend."""
    return _converter(request.param)


@pytest.fixture(params=[pytest.param("torch-cpu", marks=pytest.mark.torch),
                        pytest.param("torch-cuda", marks=[pytest.mark.torch, pytest.mark.gpu])])
def to_torch(request):
    """Convert a NumPy test array to a torch tensor (CPU, or CUDA where available)."""
    return _converter(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)
