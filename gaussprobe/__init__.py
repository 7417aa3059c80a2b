"""gaussprobe: how Gaussian is a set of embeddings?

Thin-shell norm concentration, per-coordinate and random-projection normality, multivariate normality
tests and the distance to an isotropic Gaussian, for NumPy arrays and torch tensors (CPU or CUDA).
``import gaussprobe`` imports only NumPy and array-api-compat; SciPy, torch and matplotlib are loaded
when a function needs them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._results import TestResult
from ._warnings import (
    GaussprobeWarning,
    PrecisionWarning,
    RankDeficiencyWarning,
    SmallSampleWarning,
)
from .stats._moments import principal_projection

__all__ = [
    "GaussprobeWarning",
    "PrecisionWarning",
    "RankDeficiencyWarning",
    "SmallSampleWarning",
    "TestResult",
    "__version__",
    "principal_projection",
]
