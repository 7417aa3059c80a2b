"""Type aliases shared across gaussprobe."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import numpy as np

#: Anything :func:`numpy.random.default_rng` accepts (SPEC 7), and a legacy ``RandomState``.
RNGLike: TypeAlias = ("int | np.random.Generator | np.random.SeedSequence | np.random.BitGenerator"
                      " | np.random.RandomState | None")
#: An array of any supported library (NumPy, torch, anything with ``__array__`` or DLPack).
ArrayLike: TypeAlias = Any
#: An array of the input's own namespace (kept on the input's device).
Array: TypeAlias = Any
Alternative: TypeAlias = Literal["two-sided", "less", "greater"]
DTypeName: TypeAlias = Literal["float64", "float32"]

__all__ = ["Alternative", "Array", "ArrayLike", "DTypeName", "RNGLike", "np"]
