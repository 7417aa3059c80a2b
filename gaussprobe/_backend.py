"""The little that the array API standard lacks: namespace and device discovery, host transfer,
precision policy, a few special functions, and lazy optional imports.

Every statistic in gaussprobe is written once against the namespace ``xp`` returned by
:func:`namespace_of`; NumPy, torch (CPU and CUDA) and other array-API libraries share that code.
Nothing heavy is imported here at module level.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

from ._typing import Array, DTypeName

_INSTALL_HINT = {
    "torch": "pip install 'gaussprobe[torch]'  (CPU-only: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
    "numba": "pip install 'gaussprobe[numba]'",
    "matplotlib": "pip install 'gaussprobe[plot]'",
    "safetensors": "pip install 'gaussprobe[io]'",
    "pyarrow": "pip install 'gaussprobe[io]'",
    "sklearn": "pip install 'gaussprobe[train]'",
    "sentence_transformers": "pip install 'gaussprobe[encoders]'",
    "tqdm": "pip install tqdm",
    "dask": "pip install 'gaussprobe[dask]'",
    "distributed": "pip install 'gaussprobe[dask]'",
    "zarr": "pip install zarr",
}


@functools.cache
def optional_import(name: str) -> ModuleType:
    """Import an optional dependency, or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        top = name.split(".")[0]
        hint = _INSTALL_HINT.get(top, f"pip install {top}")
        msg = f"This feature needs the optional dependency {top!r}, which is not installed. Install it with: {hint}"
        raise ImportError(msg) from exc


def namespace_of(x: Array) -> tuple[Any, Any]:
    """Return ``(xp, device)`` for an array that :func:`array_api_compat.array_namespace` understands."""
    xp = array_api_compat.array_namespace(x)
    return xp, array_api_compat.device(x)


def is_torch(x: Any) -> bool:
    """True for a torch tensor (without importing torch)."""
    return bool(array_api_compat.is_torch_array(x))


def backend_name(xp: Any) -> str:
    """A short name of the array library behind ``xp`` ("numpy", "torch", ...)."""
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if array_api_compat.is_torch_namespace(xp):
        return "torch"
    return str(getattr(xp, "__name__", "unknown")).split(".")[-1]


def device_name(device: Any) -> str:
    """A printable device string ("cpu", "cuda:0")."""
    s = str(device)
    return "cpu" if s in {"cpu", "CPU_DEVICE"} else s


def float_dtype(xp: Any, dtype: DTypeName) -> Any:
    """The namespace's floating dtype for a compute-dtype name."""
    if dtype == "float64":
        return xp.float64
    if dtype == "float32":
        return xp.float32
    msg = (f"`dtype` must be 'float64' or 'float32'; got {dtype!r} ({type(dtype).__name__}). Pass the "
           "compute precision by name, e.g. dtype='float64' (the default) or dtype='float32'.")
    raise ValueError(msg)


def to_numpy(a: Any) -> np.ndarray:
    """Copy an array (or 0-d array, or Python scalar) to a host NumPy array; detach torch tensors."""
    if is_torch(a):
        host: np.ndarray = a.detach().cpu().numpy()
        return host
    return np.asarray(a)


def to_float(a: Any) -> float:
    """A 0-d array on any device as a Python float (the one host transfer of a scalar)."""
    if is_torch(a):
        return float(a.detach().cpu().item())
    return float(a)


def asarray_like(a: Any, like_xp: Any, device: Any, dtype: Any) -> Array:
    """Move a host array into namespace ``like_xp`` on ``device`` with ``dtype``."""
    return like_xp.asarray(np.ascontiguousarray(a), dtype=dtype, device=device)


def row_blocks(n: int, block_size: int) -> Iterator[tuple[int, int]]:
    """Yield ``(start, stop)`` row ranges of at most ``block_size`` rows covering ``range(n)``."""
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        msg = (f"`block_size` must be a positive integer; got {block_size!r} ({type(block_size).__name__}). "
               "Pass a whole number of rows >= 1, or leave it as None for the default.")
        raise ValueError(msg)
    for start in range(0, n, block_size):
        yield start, min(start + block_size, n)


def block_rows_for(n_features: int, *, budget_bytes: int = 8 * 2**20, itemsize: int = 8) -> int:
    """Rows per block so that one float block of ``n_features`` columns fits in ``budget_bytes``.

    The 8 MiB default keeps temporaries small enough for the allocator to reuse them: touching fresh
    memory for every large block costs more than the arithmetic on it.
    """
    return max(1, int(budget_bytes // max(1, n_features * itemsize)))


# ---------------------------------------------------------------- special functions on the device
def _is_numpy(xp: Any) -> bool:
    return bool(array_api_compat.is_numpy_namespace(xp))


def ndtr(xp: Any, a: Array) -> Array:
    """Standard normal CDF, element-wise, in the array's own namespace."""
    if _is_numpy(xp):
        from scipy import special

        return special.ndtr(a)
    if array_api_compat.is_torch_namespace(xp):
        import torch

        # torch.special.ndtr loses relative accuracy in the lower tail; erfc keeps it.
        return 0.5 * torch.special.erfc(-a / np.sqrt(2.0))
    return 0.5 * xp.erfc(-a / np.sqrt(2.0))  # pragma: no cover


def log_ndtr(xp: Any, a: Array) -> Array:
    """log of the standard normal CDF, element-wise, accurate in both tails."""
    if _is_numpy(xp):
        from scipy import special

        return special.log_ndtr(a)
    if array_api_compat.is_torch_namespace(xp):
        import torch

        return torch.special.log_ndtr(a)
    msg = f"log_ndtr is not available for the array namespace {xp!r}."  # pragma: no cover
    raise TypeError(msg)  # pragma: no cover


def ndtri(xp: Any, a: Array) -> Array:
    """Inverse of the standard normal CDF, element-wise."""
    if _is_numpy(xp):
        from scipy import special

        return special.ndtri(a)
    if array_api_compat.is_torch_namespace(xp):
        import torch

        return torch.special.ndtri(a)
    msg = f"ndtri is not available for the array namespace {xp!r}."  # pragma: no cover
    raise TypeError(msg)  # pragma: no cover


__all__ = [
    "asarray_like",
    "backend_name",
    "block_rows_for",
    "device_name",
    "float_dtype",
    "is_torch",
    "log_ndtr",
    "namespace_of",
    "ndtr",
    "ndtri",
    "optional_import",
    "row_blocks",
    "to_float",
    "to_numpy",
]
