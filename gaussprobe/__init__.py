"""gaussprobe: how Gaussian is a set of embeddings?

Thin-shell norm concentration, per-coordinate and random-projection normality, multivariate normality
tests and the distance to an isotropic Gaussian, for NumPy arrays and torch tensors (CPU or CUDA).
``import gaussprobe`` imports only NumPy and array-api-compat; SciPy, torch, Dask and matplotlib are
loaded when a function needs them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._lazy import open_embeddings
from ._results import TestResult
from ._warnings import (
    GaussprobeWarning,
    PrecisionWarning,
    RankDeficiencyWarning,
    ShapeWarning,
    SmallSampleWarning,
    UninformativeWarning,
)
from .compare import ComparisonResult, MetricComparison, compare
from .criteria import CheckOutcome, Criteria, CriterionResult
from .report import GaussianityReport, analyze
from .stats._moments import principal_projection
from .stats.coordinates import CoordinateNormalityResult, coordinate_normality
from .stats.directions import (
    DirectionStatistics,
    LeastGaussianDirectionResult,
    PrincipalDirectionResult,
    least_gaussian_direction,
    principal_direction_test,
)
from .stats.distance import IsotropicDistanceResult, isotropic_distance
from .stats.doornik_hansen import DoornikHansenResult, doornik_hansen
from .stats.energy import EnergyTestResult, energy_test
from .stats.henze_zirkler import HenzeZirklerResult, henze_zirkler
from .stats.mardia import MardiaResult, mardia
from .stats.projections import ProjectionNormalityResult, projection_normality
from .stats.royston import RoystonResult, royston
from .stats.spectrum import SpectrumResult, covariance_spectrum, sphericity_test
from .stats.thin_shell import ThinShellResult, thin_shell
from .stats.two_sample import EnergyTwoSampleResult, energy_two_sample

__all__ = [
    "CheckOutcome",
    "ComparisonResult",
    "CoordinateNormalityResult",
    "Criteria",
    "CriterionResult",
    "DirectionStatistics",
    "DoornikHansenResult",
    "EnergyTestResult",
    "EnergyTwoSampleResult",
    "GaussianityReport",
    "GaussprobeWarning",
    "HenzeZirklerResult",
    "IsotropicDistanceResult",
    "LeastGaussianDirectionResult",
    "MardiaResult",
    "MetricComparison",
    "PrecisionWarning",
    "PrincipalDirectionResult",
    "ProjectionNormalityResult",
    "RankDeficiencyWarning",
    "RoystonResult",
    "ShapeWarning",
    "SmallSampleWarning",
    "SpectrumResult",
    "TestResult",
    "ThinShellResult",
    "UninformativeWarning",
    "__version__",
    "analyze",
    "compare",
    "coordinate_normality",
    "covariance_spectrum",
    "doornik_hansen",
    "energy_test",
    "energy_two_sample",
    "henze_zirkler",
    "isotropic_distance",
    "least_gaussian_direction",
    "mardia",
    "open_embeddings",
    "principal_direction_test",
    "principal_projection",
    "projection_normality",
    "royston",
    "sphericity_test",
    "thin_shell",
]
