"""Warning classes raised by gaussprobe (never silenced numbers, always a warning or an error)."""

from __future__ import annotations


class GaussprobeWarning(UserWarning):
    """Base class of every warning gaussprobe emits."""


class SmallSampleWarning(GaussprobeWarning):
    """The sample is small enough that an asymptotic null distribution may be inaccurate."""


class RankDeficiencyWarning(GaussprobeWarning):
    """The sample covariance is (numerically) rank deficient."""


class PrecisionWarning(GaussprobeWarning):
    """A result is limited by floating-point precision (e.g. float32 compute)."""


class UninformativeWarning(GaussprobeWarning):
    """A statistic cannot say anything about Gaussianity for this input (e.g. constant norms of
    normalised input make the thin-shell statistics trivial)."""


class ShapeWarning(GaussprobeWarning):
    """The input's shape suggests a mistake (e.g. fewer rows than columns: maybe transposed)."""


__all__ = ["GaussprobeWarning", "PrecisionWarning", "RankDeficiencyWarning", "ShapeWarning",
           "SmallSampleWarning", "UninformativeWarning"]
