"""Pass/fail criteria for a :class:`~gaussprobe.report.GaussianityReport`.

Statistics report evidence; this module is the only place that turns evidence into a verdict.
A :class:`Criteria` object lists limits; ``report.check(criteria)`` compares each limit with the
observed value and returns a :class:`CheckOutcome` that explains every failure (observed vs limit).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._registry import ALL_TESTS, CRITERIA, Metric, format_value
from ._results import Result

if TYPE_CHECKING:
    from .report import GaussianityReport


#: Criterion name -> the registry metric it limits (where its value lives, its format, which side is
#: worse, its description). The names and attributes are those of :mod:`gaussprobe._registry`.
_METRICS: Mapping[str, Metric] = CRITERIA

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

    # <registry:criteria> generated from gaussprobe._registry by `python -m gaussprobe._schema --write`
    max_cv: float | None = None
    max_cv_centered: float | None = None
    max_cv_ratio: float | None = None
    max_ad_mean: float | None = None
    min_ad_pass_fraction: float | None = None
    min_dp_mean_pvalue: float | None = None
    min_dp_pass_fraction: float | None = None
    min_coordinate_pvalue: float | None = None
    max_projection_rejected_fraction: float | None = None
    min_projection_pvalue: float | None = None
    max_isotropic_distance: float | None = None
    max_sliced_excess: float | None = None
    min_sphericity_pvalue: float | None = None
    min_principal_direction_pvalue: float | None = None
    min_pursuit_pvalue: float | None = None
    min_mardia_skewness_pvalue: float | None = None
    min_mardia_kurtosis_pvalue: float | None = None
    min_henze_zirkler_pvalue: float | None = None
    min_royston_pvalue: float | None = None
    min_doornik_hansen_pvalue: float | None = None
    min_energy_pvalue: float | None = None
    # </registry:criteria>
    #: Criteria that came from a preset. Where the statistic of one of them is undefined, skipped or
    #: not calibrated at the data's (n, d), it is reported "not applicable" instead of failing; a
    #: limit added by hand always fails when its statistic is missing.
    optional: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        if _STALE is not None:
            raise RuntimeError(_STALE)
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
        _check_names(data)
        base.update(data)
        base = {k: v for k, v in base.items() if v is not None}
        return cls(**base, optional=optional & frozenset(base))

    def replace(self, **limits: float | None) -> Criteria:
        """These criteria with some limits replaced (``None`` drops one), as an override of a preset
        does: a preset's limit stays a preset's limit (see ``optional``)."""
        if not limits:
            return self
        given: dict[str, Any] = {str(k).replace("-", "_"): v for k, v in limits.items()}
        _check_names(given)
        new = dataclasses.replace(self, **given)
        return dataclasses.replace(new, optional=self.optional & frozenset(new.active()))

    def required_tests(self) -> tuple[str, ...]:
        """The :func:`~gaussprobe.analyze` tests whose results the active criteria read."""
        needed = {_METRICS[name].test for name in self.active()}
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
            observed = metric.value(report)
            if metric.uninformative(report):
                note = getattr(metric.result_of(report), "note", "") or "the row norms are constant (normalised input)"
                results.append(CriterionResult(**common, observed=observed, passed=False,
                                               status="uninformative", note=note))
                continue
            if observed is None or not math.isfinite(observed):
                test_result = metric.test_result_of(report)
                skip = report.skipped.get(metric.test)
                reason = ((skip.message if skip is not None else "")
                          or (getattr(test_result, "note", "") if test_result is not None else "")
                          or "not computed in this report")
                applicable = not (name in self.optional and (skip is not None or test_result is not None))
                results.append(CriterionResult(
                    **common, observed=None, passed=not applicable,
                    status="not computed" if applicable else "not applicable",
                    note=f"{metric.field} was not available: {reason}"))
                continue
            ok = observed <= limit if metric.kind == "max" else observed >= limit
            results.append(CriterionResult(**common, observed=observed, passed=bool(ok),
                                           status="pass" if ok else "fail"))
        return CheckOutcome(results=tuple(results))


def _check_names(limits: Mapping[str, Any]) -> None:
    unknown = sorted(set(limits) - set(Criteria.names()))
    if unknown:
        hints = [f"{u!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(u, Criteria.names(), 1))
                 else repr(u) for u in unknown]
        msg = f"Unknown criteria {', '.join(hints)}; valid names are {list(Criteria.names())}."
        raise ValueError(msg)


def resolve(criteria: Criteria | str | Mapping[str, Any] | None = None, /, *, only: bool = False,
            **limits: float | None) -> Criteria:
    """The criteria meant by ``criteria`` and ``limits``: the one resolver of ``report.check``,
    ``gaussprobe check`` and :func:`~gaussprobe.testing.assert_gaussian_like`.

    Parameters
    ----------
    criteria : Criteria, str, mapping or None
        A :class:`Criteria`; a preset name (``"gaussian"``, ``"paper"``); a mapping of limits such as
        a ``[tool.gaussprobe]`` table (it may name a ``preset``); or None for :data:`DEFAULT_PRESET`.
    only : bool
        With ``criteria=None``: exactly the ``limits`` given, without the default preset.
    **limits
        Limits that override the same limits of ``criteria`` (the rest is kept); ``None`` drops one.

    Raises
    ------
    ValueError
        For an unknown preset or criterion name (with the closest valid name).
    TypeError
        For ``criteria`` of another type, ``only=True`` with ``criteria``, or a limit that is not a
        finite number.
    """
    if criteria is None:
        return Criteria.from_mapping(limits) if only else Criteria.preset(DEFAULT_PRESET, **limits)
    if only:
        msg = "`only=True` builds criteria from the limits alone; pass no `criteria` with it."
        raise TypeError(msg)
    if isinstance(criteria, str):
        return Criteria.preset(criteria, **limits)
    if isinstance(criteria, Criteria):
        return criteria.replace(**limits)
    if isinstance(criteria, Mapping):
        return Criteria.from_mapping({**criteria, **limits})
    msg = (f"`criteria` must be a Criteria, a preset name or a mapping of limits; got "
           f"{type(criteria).__name__}.")
    raise TypeError(msg)


def _registry_mismatch() -> str | None:
    """Why :class:`Criteria` does not match the registry (None when it does): its limits must be the
    registry's criteria, in order, and the presets may name only those."""
    fields, registered = list(Criteria.names()), list(CRITERIA)
    if fields != registered:
        return (f"Criteria's limits {fields} differ from the registry's criteria {registered}; regenerate "
                "them with `python -m gaussprobe._schema --write`.")
    for preset, limits in _PRESETS.items():
        unknown = sorted(set(limits) - set(registered))
        if unknown:
            return f"Preset {preset!r} names criteria {unknown} that the registry of statistics does not have."
    return None


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

    def format(self, value: float | None) -> str:
        """``value`` (the observed value or the limit) in the format of the metric's rows."""
        metric = _METRICS.get(self.name)
        return metric.format(value) if metric is not None else format_value(value)

    def explain(self) -> str:
        op = "<=" if self.kind == "max" else ">="
        status = {"not applicable": "N/A", "uninformative": "UNINFORMATIVE"}.get(
            self.status, "PASS" if self.passed else "FAIL")
        line = (f"[{status}] {self.name}: observed {self.format(self.observed)}, required {op} "
                f"{self.format(self.limit)} ({self.description})")
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


#: Set when the generated limits are out of date: every Criteria then refuses to be built (loudly),
#: while the package still imports, so that the generator can rewrite them.
_STALE = _registry_mismatch()

__all__ = ["DEFAULT_PRESET", "CheckOutcome", "Criteria", "CriterionResult", "resolve"]
