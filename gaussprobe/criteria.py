"""Pass/fail criteria for a :class:`~gaussprobe.report.GaussianityReport`.

Statistics report evidence; this module is the only place that turns evidence into a verdict.
A :class:`Criteria` object lists limits; ``report.check(criteria)`` compares each limit with the
observed value and returns a :class:`CheckOutcome` that explains every failure (observed vs limit).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._results import Result

if TYPE_CHECKING:
    from .report import GaussianityReport


@dataclasses.dataclass(frozen=True)
class _Metric:
    """How to read one criterion: where the observed value lives and which side is good."""

    description: str
    kind: str  # "max" (observed must be <= limit) or "min" (observed must be >= limit)
    test: str  # the report field the value comes from (for "was it computed?")
    getter: Callable[[GaussianityReport], float | None]
    #: where a TestResult's calibration note lives (for p-value criteria), relative to the report
    test_path: str | None = None


def _resolve(report: Any, path: str | None) -> Any:
    """The object at the dotted attribute ``path`` of ``report`` (None where any step is missing)."""
    if not path:
        return None
    obj = report
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


def _get(path: str) -> Callable[[Any], float | None]:
    def getter(report: Any) -> float | None:
        obj = _resolve(report, path)
        return None if obj is None else float(obj)

    return getter


_METRICS: dict[str, _Metric] = {
    "max_cv": _Metric("coefficient of variation of the row norms (uncentred, paper Eq. 20)", "max",
                      "thin_shell", _get("thin_shell.cv")),
    "max_cv_centered": _Metric("coefficient of variation of the centred row norms", "max",
                               "thin_shell_centered", _get("thin_shell_centered.cv")),
    "max_cv_ratio": _Metric("centred norm CV divided by the CV of an isotropic Gaussian (chi(d))", "max",
                            "thin_shell_centered", _get("thin_shell_centered.cv_ratio")),
    "max_ad_mean": _Metric("mean per-coordinate Anderson-Darling A^2", "max", "coordinates",
                           _get("coordinates.ad_mean")),
    "min_ad_pass_fraction": _Metric("fraction of coordinates with A^2 below the critical value", "min",
                                    "coordinates", _get("coordinates.ad_pass_fraction")),
    "min_dp_mean_pvalue": _Metric("mean per-coordinate D'Agostino-Pearson p-value", "min", "coordinates",
                                  _get("coordinates.dp_mean_pvalue")),
    "min_dp_pass_fraction": _Metric("fraction of coordinates with D'Agostino-Pearson p > alpha", "min",
                                    "coordinates", _get("coordinates.dp_pass_fraction")),
    "max_projection_rejected_fraction": _Metric(
        "fraction of random projections rejected by D'Agostino-Pearson at alpha", "max", "projections",
        _get("projections.rejected_fraction")),
    "min_projection_pvalue": _Metric("combined (Cauchy) p-value of the random-projection tests", "min",
                                     "projections", _get("projections.combined_test.pvalue"),
                                     "projections.combined_test"),
    "min_coordinate_pvalue": _Metric("combined (Cauchy) p-value of the per-coordinate AD tests", "min",
                                     "coordinates", _get("coordinates.combined_test.pvalue"),
                                     "coordinates.combined_test"),
    "max_isotropic_distance": _Metric(
        "normalised Bures-Wasserstein distance to the nearest isotropic Gaussian (0 = isotropic)", "max",
        "distance", _get("distance.bures_wasserstein.normalized")),
    "max_sliced_excess": _Metric("mean sliced W2 to N(0,1) divided by its Gaussian null mean", "max",
                                 "distance", _get("distance.sliced.excess_ratio")),
    "min_sphericity_pvalue": _Metric("p-value of the sphericity test (Ledoit-Wolf/John)", "min",
                                     "distance", _get("distance.sphericity.pvalue")),
    "min_principal_direction_pvalue": _Metric(
        "combined p-value of the tests along the top and bottom principal directions (sample splitting)",
        "min", "principal_directions", _get("principal_directions.combined_test.pvalue"),
        "principal_directions.combined_test"),
    "min_pursuit_pvalue": _Metric("p-value of the least Gaussian direction found by projection pursuit",
                                  "min", "pursuit", _get("pursuit.test.pvalue"), "pursuit.test"),
    "min_mardia_skewness_pvalue": _Metric("p-value of Mardia's skewness test", "min", "mardia",
                                          _get("mardia.skewness_test.pvalue"), "mardia.skewness_test"),
    "min_mardia_kurtosis_pvalue": _Metric("p-value of Mardia's kurtosis test (finite-n moments)", "min",
                                          "mardia", _get("mardia.kurtosis_test.pvalue"),
                                          "mardia.kurtosis_test"),
}

#: Criteria on the norms: uninformative when the norms are constant (L2-normalised input).
_THIN_SHELL = frozenset({"max_cv", "max_cv_centered", "max_cv_ratio"})

#: Family-wise false-failure rate of the ``"gaussian"`` preset on an exactly Gaussian sample.
GAUSSIAN_PRESET_LEVEL = 0.01
_GAUSSIAN_PVALUES = ("min_coordinate_pvalue", "min_projection_pvalue", "min_principal_direction_pvalue",
                     "min_mardia_kurtosis_pvalue")

#: The preset used when no criteria are named: by ``report.check()``, ``gaussprobe check`` and
#: :func:`gaussprobe.testing.assert_gaussian_like` alike (one default everywhere).
DEFAULT_PRESET = "gaussian"

_PRESETS: dict[str, dict[str, float]] = {
    # The paper's reading of Table 1: thin shell (CV <= 0.10), AD mean below the 5% critical value
    # 0.752, and high per-coordinate pass fractions (the bands met by its contrastive encoders).
    "paper": {"max_cv": 0.10, "max_ad_mean": 0.752, "min_ad_pass_fraction": 0.90,
              "min_dp_pass_fraction": 0.88},
    # Null-calibrated at every (n, d): each criterion is a p-value calibrated at the data's own size,
    # and Bonferroni over the four keeps the family-wise false-failure rate of an exactly Gaussian
    # sample (any mean and covariance) at most GAUSSIAN_PRESET_LEVEL.
    "gaussian": {name: GAUSSIAN_PRESET_LEVEL / len(_GAUSSIAN_PVALUES) for name in _GAUSSIAN_PVALUES},
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Criteria:
    """Limits a report must satisfy; ``None`` means "not checked".

    Each field is named ``max_<metric>`` (observed must be <= limit) or ``min_<metric>`` (observed must
    be >= limit). Use :meth:`preset` for the paper's thresholds or a null-calibrated set, and
    :meth:`from_mapping` to read limits from a TOML table.

    Examples
    --------
    >>> from gaussprobe import Criteria
    >>> c = Criteria.preset("paper", max_cv=0.2)
    >>> print(c.max_cv, c.max_ad_mean)
    0.2 0.752
    """

    max_cv: float | None = None
    max_cv_centered: float | None = None
    max_cv_ratio: float | None = None
    max_ad_mean: float | None = None
    min_ad_pass_fraction: float | None = None
    min_dp_mean_pvalue: float | None = None
    min_dp_pass_fraction: float | None = None
    max_projection_rejected_fraction: float | None = None
    min_projection_pvalue: float | None = None
    max_isotropic_distance: float | None = None
    max_sliced_excess: float | None = None
    min_sphericity_pvalue: float | None = None
    min_mardia_skewness_pvalue: float | None = None
    min_mardia_kurtosis_pvalue: float | None = None
    min_coordinate_pvalue: float | None = None
    min_principal_direction_pvalue: float | None = None
    min_pursuit_pvalue: float | None = None
    #: Criteria that came from a preset. Where the statistic of one of them is undefined, skipped or
    #: not calibrated at the data's (n, d), it is reported "not applicable" instead of failing; a
    #: limit added by hand always fails when its statistic is missing.
    optional: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.optional) - set(self.names()))
        if unknown:
            msg = f"`optional` names unknown criteria {unknown}; valid names are {list(self.names())}."
            raise ValueError(msg)
        for name, value in self.active().items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                msg = f"Criterion `{name}` must be a finite number or None; got {value!r}."
                raise TypeError(msg)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """All criterion names."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "optional")

    @classmethod
    def preset(cls, name: str, /, **overrides: float | None) -> Criteria:
        """A named preset (``"paper"`` or ``"gaussian"``), optionally with some limits overridden.

        An override replaces that one limit and keeps the rest of the preset; ``None`` drops it.
        """
        return cls.from_mapping({"preset": name, **overrides})

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], /) -> Criteria:
        """Build criteria from a mapping (e.g. ``[tool.gaussprobe]`` in pyproject.toml).

        A ``preset`` key starts from that preset; hyphens in keys are read as underscores.
        """
        if not isinstance(mapping, Mapping):
            msg = (f"Criteria must be given as a mapping of limits (e.g. {{'max_cv': 0.1}}); got "
                   f"{type(mapping).__name__}.")
            raise TypeError(msg)
        data = {str(k).replace("-", "_"): v for k, v in mapping.items()}
        base: dict[str, Any] = {}
        optional: frozenset[str] = frozenset()
        preset = data.pop("preset", None)
        if preset is not None:
            if str(preset) not in _PRESETS:
                msg = f"Unknown criteria preset {preset!r}; choose one of {sorted(_PRESETS)}."
                raise ValueError(msg)
            base = dict(_PRESETS[str(preset)])
            optional = frozenset(base)
        unknown = sorted(set(data) - set(cls.names()))
        if unknown:
            hints = [f"{u!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(u, cls.names(), 1))
                     else repr(u) for u in unknown]
            msg = f"Unknown criteria {', '.join(hints)}; valid names are {list(cls.names())}."
            raise ValueError(msg)
        base.update(data)
        base = {k: v for k, v in base.items() if v is not None}
        return cls(**base, optional=optional & frozenset(base))

    def required_tests(self) -> tuple[str, ...]:
        """The :func:`~gaussprobe.analyze` tests whose results the active criteria read."""
        needed = {"thin_shell" if _METRICS[name].test == "thin_shell_centered" else _METRICS[name].test
                  for name in self.active()}
        from .report import ALL_TESTS

        return tuple(t for t in ALL_TESTS if t in needed)

    def active(self) -> dict[str, float]:
        """The limits that are set."""
        return {name: getattr(self, name) for name in self.names() if getattr(self, name) is not None}

    def evaluate(self, report: GaussianityReport) -> CheckOutcome:
        """Compare every active limit with ``report`` (same as ``report.check(self)``).

        Each criterion ends in one status: ``"pass"``, ``"fail"``, ``"not computed"`` (its statistic
        is missing: a failure), ``"uninformative"`` (a thin-shell limit on constant norms: a failure,
        since normalised input cannot show a thin shell) or ``"not applicable"`` (a preset's criterion
        whose statistic is undefined or not calibrated at this (n, d): neither pass nor failure).
        """
        results = []
        for name, limit in self.active().items():
            metric = _METRICS[name]
            common: dict[str, Any] = {"name": name, "description": metric.description, "kind": metric.kind,
                                      "limit": float(limit)}
            observed = metric.getter(report)
            shell = report.thin_shell if name == "max_cv" else report.thin_shell_centered
            if name in _THIN_SHELL and shell is not None and getattr(shell, "constant_norms", False):
                note = getattr(shell, "note", "") or "the row norms are constant (normalised input)"
                results.append(CriterionResult(**common, observed=observed, passed=False,
                                               status="uninformative", note=note))
                continue
            if observed is None or not math.isfinite(observed):
                test_result = _resolve(report, metric.test_path)
                reason = (report.skipped.get(metric.test)
                          or (getattr(test_result, "note", "") if test_result is not None else "")
                          or "not computed in this report")
                applicable = not (name in self.optional and (metric.test in report.skipped
                                                             or test_result is not None))
                results.append(CriterionResult(
                    **common, observed=None, passed=not applicable,
                    status="not computed" if applicable else "not applicable",
                    note=f"{metric.test} was not available: {reason}"))
                continue
            ok = observed <= limit if metric.kind == "max" else observed >= limit
            results.append(CriterionResult(**common, observed=observed, passed=bool(ok),
                                           status="pass" if ok else "fail"))
        return CheckOutcome(results=tuple(results))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class CriterionResult(Result):
    """One criterion compared with its observed value."""

    name: str
    description: str
    kind: str
    limit: float
    observed: float | None
    passed: bool
    status: str = ""
    note: str = ""

    def explain(self) -> str:
        op = "<=" if self.kind == "max" else ">="
        status = {"not applicable": "N/A", "uninformative": "UNINFORMATIVE"}.get(
            self.status, "PASS" if self.passed else "FAIL")
        obs = "n/a" if self.observed is None else f"{self.observed:.4g}"
        line = f"[{status}] {self.name}: observed {obs}, required {op} {self.limit:.4g} ({self.description})"
        return f"{line}; {self.note}" if self.note else line


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class CheckOutcome(Result):
    """The verdict of :meth:`GaussianityReport.check`: every criterion with observed vs limit."""

    results: tuple[CriterionResult, ...]

    @property
    def passed(self) -> bool:
        """True when every criterion holds and at least one applicable criterion was checked."""
        return (any(r.status != "not applicable" for r in self.results)
                and all(r.passed for r in self.results))

    def __bool__(self) -> bool:
        """``passed``, so ``assert report.check()`` fails when the check does."""
        return self.passed

    @property
    def failures(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def explain(self) -> str:
        """One line per criterion, failures first, then a verdict line."""
        if not self.results:
            return "No criteria were set: nothing was checked (FAIL)."
        if not any(r.status != "not applicable" for r in self.results):
            lines = [r.explain() for r in self.results]
            return "\n".join([*lines, "Verdict: FAILED (no criterion applies at this size)"])
        ordered = sorted(self.results, key=lambda r: r.passed)
        lines = [r.explain() for r in ordered]
        n_fail = len(self.failures)
        verdict = "PASSED" if self.passed else f"FAILED ({n_fail} of {len(self.results)} criteria)"
        return "\n".join([*lines, f"Verdict: {verdict}"])

    def to_dict(self) -> dict[str, Any]:
        out = Result.to_dict(self)
        out["passed"] = self.passed
        return out


__all__ = ["DEFAULT_PRESET", "CheckOutcome", "Criteria", "CriterionResult"]
