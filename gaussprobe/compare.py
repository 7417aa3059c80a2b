"""``compare(baseline, candidate)``: did a candidate encoder become less Gaussian than a baseline?

Every criterion metric of the registry of statistics (:data:`gaussprobe._registry.CRITERIA`: where the
value lives, which side is worse and its noise rule) is read from both reports, and the change is judged
against what sampling noise at the two sample sizes explains (the noise rule per metric is in
:data:`NOISE_RULES` and ``docs/compare.md``). The family-wise rate of false regressions is at most ``alpha`` (Bonferroni over
the metrics judged for noise). Only the verdict ``"regression"`` fails the comparison.

When both inputs are embeddings, a two-sample energy test of the embeddings themselves
(:func:`~gaussprobe.stats.two_sample.energy_two_sample`) is added for information: it asks whether the
two encoders' embeddings have the same distribution, not whether either is Gaussian, and it never enters
the verdict.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _progress
from ._backend import to_numpy
from ._registry import CRITERIA, Metric
from ._results import Result
from .report import GaussianityReport
from .stats.two_sample import DEFAULT_MAX_ROWS, EnergyTwoSampleResult

#: How each metric's noise is judged (the registry's ``noise`` of each criterion): "pvalue" (uniform
#: under the null: the level rule), "reference" (the Gaussian reference band the report carries at its
#: own (n, d)), "pass_fraction" (binomial reference of a count of per-coordinate or per-direction tests,
#: widened for their dependence), "coordinate_null" (the Gaussian null of one coordinate's statistic,
#: averaged over the coordinates), "sliced_null" (the sliced distance's own Monte-Carlo null at the same
#: directions).
NOISE_RULES: dict[str, str] = {name: str(m.noise) for name, m in CRITERIA.items()}
#: Smooth statistics whose bootstrap spread is consistent away from the null: with both embeddings at
#: hand the noise is the larger of the reference spread and the bootstrap spread.
_BOOTSTRAPPED = ("max_cv", "max_cv_centered", "max_cv_ratio", "max_isotropic_distance", "max_sliced_excess")
if not set(_BOOTSTRAPPED) <= set(CRITERIA):  # pragma: no cover - a renamed criterion fails loudly here
    _msg = f"bootstrapped metrics {sorted(set(_BOOTSTRAPPED) - set(CRITERIA))} are not in the registry"
    raise RuntimeError(_msg)
#: z of the 95% band's half-width (a band's spread is (high - low) / (2 * 1.96)).
_Z95 = 1.959963984540054
#: Gaussian values drawn per sample size for the null of one coordinate's A^2 and D'Agostino p-value.
COORDINATE_NULL_BUDGET = 2**22
#: Sample size above which that null is simulated at this size (it no longer changes with n).
COORDINATE_NULL_MAX_N = 5000
#: Floating-point work allowed for the bootstrap of one input (rows are subsampled beyond it).
BOOTSTRAP_BUDGET = 4e10
#: Rows used to measure the correlation between coordinates (and projections) of one input.
CORRELATION_ROWS = 20000

_VERDICTS = ("regression", "within tolerance", "no change", "improvement", "both fail", "not judged",
             "not computed")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MetricComparison(Result):
    """One metric of the baseline and the candidate, and whether it moved beyond sampling noise.

    Attributes
    ----------
    name, description, kind, test : str
        The criterion metric (``kind`` "max": higher is worse; "min": lower is worse) and its report field.
    baseline, candidate : float or None
        The two values (None: not computed in that report).
    difference : float or None
        ``candidate - baseline``.
    worsening : float or None
        The difference signed so that positive is worse (``-difference`` for a "min" metric).
    tolerance : float
        Worsening allowed before a move beyond noise counts as a regression.
    noise : str
        The noise rule used (``"pvalue"``, ``"reference"``, ``"pass_fraction"``, ``"coordinate_null"``,
        ``"sliced_null"``, optionally ``"+bootstrap"``), or ``"none"``.
    baseline_spread, candidate_spread : float or None
        Standard deviation of each value under that rule.
    z : float or None
        The worsening beyond each report's Gaussian reference mean, in units of the spread of the
        difference (positive: worse).
    threshold : float or None
        The one-sided critical value ``z`` must exceed (p-value metrics: the level the p-value must
        fall below).
    beyond_noise : bool or None
        Whether the metric got worse beyond noise (None where it could not be judged).
    verdict : str
        ``"regression"``, ``"within tolerance"``, ``"no change"``, ``"improvement"``, ``"both fail"``
        (a p-value below the level in both), ``"not judged"`` (no noise rule and no tolerance) or
        ``"not computed"``.
    note : str
        Why a metric is not judged, or how its noise was obtained.
    """

    name: str
    description: str
    kind: str
    test: str
    baseline: float | None
    candidate: float | None
    difference: float | None
    worsening: float | None
    tolerance: float
    noise: str
    baseline_spread: float | None
    candidate_spread: float | None
    z: float | None
    threshold: float | None
    beyond_noise: bool | None
    verdict: str
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ComparisonResult(Result):
    """What :func:`compare` found: one :class:`MetricComparison` per criterion metric.

    ``passed`` (and ``bool(result)``) is False exactly when a metric has the verdict ``"regression"``.
    ``two_sample`` is the two-sample energy test of the two sets of embeddings (None when it was not
    run: one input is a saved report, the widths differ, or ``two_sample=False``). It is informational
    and does not enter ``passed``.
    """

    metrics: tuple[MetricComparison, ...]
    alpha: float
    level: float
    n_judged: int
    baseline: GaussianityReport
    candidate: GaussianityReport
    baseline_source: str = "baseline"
    candidate_source: str = "candidate"
    notes: tuple[str, ...] = ()
    two_sample: EnergyTwoSampleResult | None = None

    @property
    def regressions(self) -> tuple[MetricComparison, ...]:
        """The metrics that regressed."""
        return tuple(m for m in self.metrics if m.verdict == "regression")

    @property
    def passed(self) -> bool:
        """True when no metric regressed."""
        return not self.regressions

    def __bool__(self) -> bool:
        return self.passed

    def __getitem__(self, name: str) -> MetricComparison:
        for m in self.metrics:
            if m.name == name:
                return m
        msg = f"No metric {name!r}; the metrics are {[m.name for m in self.metrics]}."
        raise KeyError(msg)

    def _header(self) -> str:
        b, c = self.baseline, self.candidate
        verdict = ("no regression" if self.passed else
                   f"REGRESSION in {len(self.regressions)} metric(s): "
                   + ", ".join(m.name for m in self.regressions))
        return (f"baseline {self.baseline_source} (n={b.n_samples:,}, d={b.n_features}) vs candidate "
                f"{self.candidate_source} (n={c.n_samples:,}, d={c.n_features}): {verdict}. Family-wise "
                f"level {self.alpha:g} over {self.n_judged} metrics judged for noise (Bonferroni: "
                f"{self.level:.3g} each).")

    def explain(self) -> str:
        """A fixed-width table, one metric per line, and the verdict."""
        rows = [("metric", "baseline", "candidate", "change", "z", "noise", "verdict")]
        rows += [(m.name, _fmt(m.baseline), _fmt(m.candidate), _fmt(m.difference, sign=True),
                  _fmt(m.z, 2), m.noise, m.verdict) for m in self.metrics]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        notes = [f"note: {m.name}: {m.note}" for m in self.metrics
                 if m.note and m.verdict in ("regression", "not judged", "not computed", "both fail")]
        notes += [f"note: {n}" for n in self.notes]
        two = [] if self.two_sample is None else ["", self._two_sample_line()]
        return "\n".join([self._header(), "", *lines, *two, *(["", *notes] if notes else [])])

    def _two_sample_line(self) -> str:
        t = self.two_sample
        assert t is not None
        p = "n/a" if t.pvalue is None else f"{t.pvalue:.3g}"
        rows = (f"{t.n_baseline:,} baseline and {t.n_candidate:,} candidate rows"
                + (f"; {t.note}" if t.note else ""))
        return (f"two-sample energy test (informational, not part of the verdict): energy distance "
                f"{_fmt(t.energy_distance)}, T = {_fmt(t.statistic)}, p = {p} ({t.n_permutations} "
                f"permutations, {rows}). A small p says the two encoders' embeddings differ in "
                "distribution, not that either is less Gaussian.")

    def to_markdown(self) -> str:
        """A Markdown table for a pull-request comment or a CI job summary."""
        mark = "✅ no regression" if self.passed else f"❌ {len(self.regressions)} regression(s)"
        lines = [f"### gaussprobe compare: {mark}", "", self._header(), "",
                 "| metric | baseline | candidate | change | z | noise | verdict |",
                 "|---|---:|---:|---:|---:|---|---|"]
        for m in self.metrics:
            verdict = f"**{m.verdict}**" if m.verdict == "regression" else m.verdict
            lines.append(f"| `{m.name}` | {_fmt(m.baseline)} | {_fmt(m.candidate)} | "
                         f"{_fmt(m.difference, sign=True)} | {_fmt(m.z, 2)} | {m.noise} | {verdict} |")
        notes = [f"- `{m.name}`: {m.note}" for m in self.metrics
                 if m.note and m.verdict in ("regression", "not judged", "not computed", "both fail")]
        notes += [f"- {n}" for n in self.notes]
        t = self.two_sample
        if t is not None:
            rows = f"{t.n_baseline:,} / {t.n_candidate:,}" + (f" ({t.note})" if t.note else "")
            lines += ["", "#### Two-sample energy test (informational, not part of the verdict)", "",
                      "| energy distance | T | p-value | permutations | rows (baseline / candidate) |",
                      "|---:|---:|---:|---:|---|",
                      (f"| {_fmt(t.energy_distance)} | {_fmt(t.statistic)} | "
                       f"{'n/a' if t.pvalue is None else f'{t.pvalue:.3g}'} | {t.n_permutations} | {rows} |"),
                      "", ("A small p-value says the two encoders' embeddings differ in distribution, not "
                           "that either is less Gaussian.")]
        if notes:
            lines += ["", "<details><summary>Notes</summary>", "", *notes, "", "</details>"]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        out = Result.to_dict(self)
        out["passed"] = self.passed
        out["regressions"] = [m.name for m in self.regressions]
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        """Everything as JSON (both reports included; NaN becomes ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def __str__(self) -> str:
        return self.explain()


def _fmt(v: float | None, digits: int = 4, *, sign: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:+.{digits}g}" if sign else f"{v:.{digits}g}"


# ------------------------------------------------------------------------------ inputs
@dataclasses.dataclass
class _Side:
    report: GaussianityReport
    x: np.ndarray | None  # host embeddings when given as data (for the bootstrap and correlations)
    source: str
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)


def _read_input(value: Any, what: str) -> tuple[GaussianityReport | None, Any, str]:
    if isinstance(value, GaussianityReport):
        return value, None, "report"
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if path.lower().endswith(".json"):
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as exc:
                msg = f"cannot read the {what} report {path}: {exc.strerror or exc}"
                raise ValueError(msg) from None
            try:
                return GaussianityReport.from_json(text), None, os.path.basename(path)
            except (ValueError, TypeError) as exc:
                msg = f"{what} {os.path.basename(path)} is not a usable gaussprobe report: {exc}"
                raise ValueError(msg) from None
        from .io import read_embeddings

        return None, read_embeddings(path).data, os.path.basename(path)
    return None, value, "array"


def _options_of(report: GaussianityReport) -> dict[str, Any]:
    from .report import ALL_TESTS, DEFAULT_TESTS

    asked = set(report.tests) | set(report.skipped)
    tests: Any = (None if asked == set(DEFAULT_TESTS) else "all" if asked == set(ALL_TESTS)
                  else [t for t in ALL_TESTS if t in asked])
    return {"rng": report.seed, "n_projections": report.n_projections, "alpha": report.alpha,
            "dtype": report.compute_dtype, "tests": tests}


# ------------------------------------------------------------------------------ noise models
def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def _band_spread(ref: Any) -> tuple[float, float] | None:
    """(mean, standard deviation) of a Reference, from its central 95% band."""
    if ref is None or not all(_finite(getattr(ref, k)) for k in ("mean", "low", "high")):
        return None
    return float(ref.mean), float(ref.high - ref.low) / (2 * _Z95)


@functools.lru_cache(maxsize=32)
def coordinate_null(n: int) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation of one Gaussian coordinate's Anderson-Darling ``A^2`` and
    D'Agostino-Pearson p-value at ``n`` samples (simulated, seeded by ``n``; at most
    :data:`COORDINATE_NULL_MAX_N` samples, beyond which both nulls are settled)."""
    from .stats.coordinates import coordinate_normality

    m = min(int(n), COORDINATE_NULL_MAX_N)
    reps = int(min(4000, max(200, COORDINATE_NULL_BUDGET // m)))
    gen = np.random.default_rng([m, 0xC0FA])
    ad, dp = [], []
    block = max(1, 2**20 // m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a in range(0, reps, block):
            res = coordinate_normality(gen.standard_normal((m, min(block, reps - a))))
            ad.append(res.ad_statistics)
            dp.append(res.dp_pvalues)
    a2, p = np.concatenate(ad), np.concatenate(dp)
    return {"ad": (float(a2.mean()), float(a2.std(ddof=1))), "dp": (float(p.mean()), float(p.std(ddof=1)))}


def _design_effect(side: _Side, what: str) -> tuple[float, str]:
    """Variance factor of a mean of ``k`` dependent per-coordinate (or per-direction) test values.

    The tests of two Gaussian columns with correlation ``rho`` correlate as about ``rho**6`` (measured;
    the statistics are built from the third and fourth Hermite terms), so the variance of their mean is
    ``1 + (1/k) sum_{i != j} rho_ij**6`` times that of independent tests. With the embeddings at hand it
    is measured from their correlation matrix (of coordinates, or of the projections on the report's
    directions); from a saved report only the bound ``rho**6 <= rho**2`` is available, through the
    participation ratio of the covariance spectrum (``1 + (k - 1) / PR``-type bound), or, without a
    spectrum, the worst case ``k`` (all tests identical).
    """
    key = f"deff:{what}"
    if key in side.cache:
        cached: tuple[float, str] = side.cache[key]
        return cached
    rep = side.report
    k = rep.n_features if what == "coordinates" else rep.n_projections
    out: tuple[float, str]
    if side.x is not None and k > 1:
        x = side.x[: CORRELATION_ROWS].astype(np.float64)
        if what == "projections":
            from ._random import random_directions, spawn_generators

            x = x @ random_directions(rep.n_features, rep.n_projections, spawn_generators(rep.seed, 3)[0])
        sd = x.std(axis=0)
        z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        r = (z.T @ z) / x.shape[0]
        np.fill_diagonal(r, 0.0)
        extra = float(np.sum(r**6)) / k
        out = (1.0 + extra, f"dependence of the {k} {what} measured from the embeddings")
    else:
        spectrum = getattr(rep.distance, "spectrum", None)
        pr_value = getattr(spectrum, "participation_ratio", None)
        if pr_value is not None and _finite(pr_value) and float(pr_value) > 0:
            pr = float(pr_value)
            # mean rho^2 between coordinates (or random directions) is about 1 / PR (d / PR - 1 over d - 1)
            mean_r2 = (rep.n_features / pr - 1) / max(rep.n_features - 1, 1) if what == "coordinates" \
                else 1.0 / pr
            out = (1.0 + (k - 1) * max(mean_r2, 0.0),
                   (f"dependence of the {k} {what} bounded from the saved report's spectrum "
                    "(participation ratio); analyse the embeddings for the sharper rule"))
        else:
            out = (float(k), (f"dependence of the {k} {what} unknown (no spectrum in the report): "
                              "treated as one test"))
    side.cache[key] = out
    return out


def _noise_of(name: str, side: _Side) -> tuple[float, float, str] | None:
    """(Gaussian reference mean, spread of the value, note) of a non-p-value metric, or None."""
    rule = NOISE_RULES.get(name)
    rep = side.report
    if rule == "reference":
        ms = _band_spread(CRITERIA[name].reference_of(rep))
        return None if ms is None else (*ms, "Gaussian reference band at this (n, d)")
    if rule == "pass_fraction":
        if name == "max_projection_rejected_fraction":
            proj = rep.projections
            if proj is None:
                return None
            from ._reference import rejected_fraction_reference

            q, k, what = rejected_fraction_reference(rep.n_samples, proj.n_projections, proj.alpha).mean, \
                proj.n_projections, "projections"
        else:
            ref = CRITERIA[name].reference_of(rep)
            if ref is None or not _finite(ref.mean):
                return None
            q, k, what = float(ref.mean), rep.n_features, "coordinates"
        deff, how = _design_effect(side, what)
        return q, math.sqrt(q * (1 - q) / k * deff), f"binomial({k}, {q:.3g}) x design effect {deff:.3g} ({how})"
    if rule == "coordinate_null":
        if rep.coordinates is None:
            return None
        mean, sd = coordinate_null(rep.n_samples)["ad" if name == "max_ad_mean" else "dp"]
        deff, how = _design_effect(side, "coordinates")
        return mean, sd * math.sqrt(deff / rep.n_features), f"Gaussian null of one coordinate x design effect {deff:.3g} ({how})"
    if rule == "sliced_null":
        sliced = getattr(rep.distance, "sliced", None)
        if sliced is None or not (_finite(sliced.null_std) and _finite(sliced.null_mean)) or sliced.null_mean <= 0:
            return None
        return 1.0, float(sliced.null_std) / float(sliced.null_mean), f"Monte-Carlo null of {sliced.n_null} draws"
    return None


def _bootstrap_spreads(side: _Side, *, n_bootstrap: int, seed: Any, budget: float) -> tuple[dict[str, float], str]:
    """Bootstrap standard deviations of the smooth metrics (:data:`_BOOTSTRAPPED`) of one input.

    ``n_bootstrap`` resamples of ``m`` rows; ``m < n`` when the full resamples would cost more than
    ``budget`` flops, and then the spread is scaled by ``sqrt(m / n)`` (the m-out-of-n bootstrap of a
    statistic with ``1/sqrt(n)`` fluctuations).
    """
    if "boot" in side.cache:
        done: tuple[dict[str, float], str] = side.cache["boot"]
        return done
    from .report import analyze

    x = side.x
    if x is None:
        return {}, "no bootstrap: the input is a saved report"
    n, d = x.shape
    k = side.report.n_projections
    per_row = 4.0 * d * (d + k) * n_bootstrap
    m = int(min(n, budget // per_row))
    out: tuple[dict[str, float], str]
    if n_bootstrap < 2 or m < max(2 * d + 2, 100):
        out = ({}, (f"bootstrap skipped: {n_bootstrap} resamples of {n:,} x {d} exceed the budget of "
                    f"{budget:.3g} flop (raise bootstrap_budget)"))
        side.cache["boot"] = out
        return out
    gen = np.random.default_rng(seed)
    values: dict[str, list[float]] = {k: [] for k in _BOOTSTRAPPED}
    with warnings.catch_warnings(), _progress.step("bootstrap", total=n_bootstrap, unit="resample",
                                                   nested=False) as bar:
        warnings.simplefilter("ignore")
        for _ in range(n_bootstrap):
            idx = gen.integers(0, n, m)
            # the report's own directions; the sliced excess is taken against the report's null mean
            rep = analyze(x[idx], rng=side.report.seed, tests=["thin_shell", "distance"], n_projections=k,
                          n_null=0)
            bar.advance()
            for name in _BOOTSTRAPPED:
                v = CRITERIA[name].value(rep)
                if name == "max_sliced_excess":
                    null_mean = getattr(getattr(side.report.distance, "sliced", None), "null_mean", None)
                    sliced = getattr(rep.distance, "sliced", None)
                    v = sliced.statistic / null_mean if sliced is not None and null_mean else None
                if v is not None and math.isfinite(v):
                    values[name].append(v)
    scale = math.sqrt(m / n)
    spreads = {name: float(np.std(v, ddof=1)) * scale for name, v in values.items() if len(v) >= 2}
    how = f"bootstrap: {n_bootstrap} resamples of {m:,} of {n:,} rows" + (" (m-out-of-n)" if m < n else "")
    out = (spreads, how)
    side.cache["boot"] = out
    return out


# ------------------------------------------------------------------------------ compare
def _tolerances(tolerance: Mapping[str, float] | None) -> dict[str, float]:
    if tolerance is None:
        return {}
    if not isinstance(tolerance, Mapping):
        msg = f"`tolerance` must map metric names to allowed worsening, e.g. {{'max_cv': 0.01}}; got {type(tolerance).__name__}."
        raise TypeError(msg)
    out = {}
    for key, value in tolerance.items():
        name = str(key).replace("-", "_")
        if name not in CRITERIA:
            close = difflib.get_close_matches(name, list(CRITERIA), 1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = f"Unknown metric {key!r} in `tolerance`{hint}; the metrics are {list(CRITERIA)}."
            raise ValueError(msg)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            msg = f"Tolerance of {name} must be a finite number >= 0 (allowed worsening); got {value!r}."
            raise ValueError(msg)
        out[name] = float(value)
    return out


def compare(
    baseline: Any,
    candidate: Any,
    /,
    *,
    tolerance: Mapping[str, float] | None = None,
    alpha: float = 0.01,
    rng: int | None = 0,
    options: Mapping[str, Any] | None = None,
    n_bootstrap: int = 50,
    bootstrap_budget: float = BOOTSTRAP_BUDGET,
    two_sample: bool = True,
    two_sample_rows: int | None = DEFAULT_MAX_ROWS,
) -> ComparisonResult:
    """Compare a candidate encoder's embeddings with a baseline's, metric by metric.

    Parameters
    ----------
    baseline, candidate : GaussianityReport, array, or path
        Each a report (e.g. ``GaussianityReport.from_json``), embeddings (array, tensor), a path to a
        saved JSON report (``.json``) or to an embeddings file (read with
        :func:`~gaussprobe.io.read_embeddings`). Embeddings are analysed with :func:`~gaussprobe.analyze`
        using the same seed and options for both; when the other side is a report, with that
        report's seed, ``n_projections``, ``alpha``, dtype and tests.
    tolerance : mapping, optional
        Allowed worsening per metric (names of :class:`~gaussprobe.Criteria`, e.g. ``{"max_cv": 0.01}``):
        a metric regresses only when it got worse by more than its tolerance *and* beyond noise. A
        metric without a noise rule is judged by its tolerance alone when one is given.
    alpha : float
        Family-wise level: the probability that a comparison of two samples of the same Gaussian
        reports any regression is at most ``alpha`` (Bonferroni over the metrics judged for noise).
    rng : int or None
        Seed of the analyses (random projections, Monte-Carlo nulls) and of the bootstrap.
    options : mapping, optional
        Further :func:`~gaussprobe.analyze` options (``n_projections``, ``tests``, ``alpha`` (its level
        for pass fractions), ``dtype``, ``n_null``, ...), the same for both inputs.
    n_bootstrap : int
        Resamples of the bootstrap of the smooth metrics (thin shell, isotropic distance) when both
        inputs are embeddings; 0 turns it off.
    bootstrap_budget : float
        Floating-point work allowed per input for the bootstrap (rows are subsampled beyond it).
    two_sample : bool
        When both inputs are embeddings (arrays, tensors or embeddings files, not saved reports), also
        run the two-sample energy test of the embeddings themselves
        (:func:`~gaussprobe.stats.two_sample.energy_two_sample`, 199 permutations, seeded with ``rng``)
        and return it as ``two_sample``. It is informational: it does not enter the verdict (two
        encoders almost always differ in distribution; the gate is about Gaussianity). Skipped, with a
        note, when one input is a saved report or the widths differ. False turns it off.
    two_sample_rows : int or None
        Rows per input used by the two-sample test (a seeded random subsample beyond it; its cost
        grows as the square: about 2.5 s at the default 5000 rows per side and d = 768 on two cores);
        None uses every row.

    Returns
    -------
    ComparisonResult

    Examples
    --------
    >>> import numpy as np, gaussprobe as gp
    >>> rng = np.random.default_rng(0)
    >>> result = gp.compare(rng.standard_normal((2000, 16)), rng.laplace(size=(2000, 16)))
    >>> print(result.passed, "min_coordinate_pvalue" in [m.name for m in result.regressions])
    False True
    """
    from ._validation import check_positive_int, check_probability
    from .report import analyze

    check_probability(alpha, "alpha")
    check_positive_int(n_bootstrap, "n_bootstrap", minimum=0)
    if not isinstance(two_sample, (bool, np.bool_)):
        msg = f"`two_sample` must be True or False; got {two_sample!r}."
        raise TypeError(msg)
    if two_sample_rows is not None:
        check_positive_int(two_sample_rows, "two_sample_rows", minimum=2)
    tol = _tolerances(tolerance)
    opts = dict(options or {})
    if "rng" in opts:
        msg = "Pass the seed as `rng=` of compare, not inside `options`."
        raise TypeError(msg)
    inputs = [_read_input(baseline, "baseline"), _read_input(candidate, "candidate")]
    given = [r for r, _, _ in inputs if r is not None]
    notes: list[str] = []
    if given and not opts:
        opts = _options_of(given[0])
        seed = opts.pop("rng")
        if seed is not None:
            rng = seed
    sides: list[_Side] = []
    for which, (report, x, source) in zip(("baseline", "candidate"), inputs, strict=True):
        if report is None:
            with _progress.step(f"analyze the {which}"):
                report = analyze(x, rng=rng, **opts)
            x = to_numpy(x)
        sides.append(_Side(report=report, x=x, source=source))
    base, cand = sides
    notes += [f"the reports differ in {key} ({getattr(base.report, key)} vs {getattr(cand.report, key)}); "
              "each value is judged against its own reference"
              for key in ("n_projections", "alpha", "compute_dtype")
              if getattr(base.report, key) != getattr(cand.report, key)]
    both_data = base.x is not None and cand.x is not None and n_bootstrap > 0
    two = _two_sample(base, cand, notes, rows=two_sample_rows, seed=rng) if two_sample else None

    # First pass: values, and which metrics have a noise rule on both sides.
    rows = []
    for name, metric in CRITERIA.items():
        vb, vc = metric.value(base.report), metric.value(cand.report)
        vb = vb if vb is not None and math.isfinite(vb) else None
        vc = vc if vc is not None and math.isfinite(vc) else None
        rule = NOISE_RULES.get(name, "none")
        noise: tuple[Any, Any] | None = None
        if vb is not None and vc is not None and rule != "pvalue":
            nb, nc = _noise_of(name, base), _noise_of(name, cand)
            if nb is not None and nc is not None:
                noise = (nb, nc)
        rows.append((name, metric, vb, vc, rule, noise))
    n_judged = sum(1 for _, _, vb, vc, rule, noise in rows
                   if vb is not None and vc is not None and (rule == "pvalue" or noise is not None))
    level = alpha / max(n_judged, 1)
    from ._pvalues import _special

    threshold = float(_special().ndtri(1.0 - level))
    boot = {}
    if both_data:
        boot = {"baseline": _bootstrap_spreads(base, n_bootstrap=n_bootstrap, seed=rng, budget=bootstrap_budget),
                "candidate": _bootstrap_spreads(cand, n_bootstrap=n_bootstrap,
                                                seed=None if rng is None else rng + 1, budget=bootstrap_budget)}

    out = []
    for name, metric, vb, vc, rule, noise in rows:
        common: dict[str, Any] = {"name": name, "description": metric.description, "kind": metric.kind, "test": metric.field,
                  "baseline": vb, "candidate": vc, "tolerance": tol.get(name, 0.0)}
        if vb is None or vc is None:
            missing = [(w, s) for w, s, v in (("baseline", base, vb), ("candidate", cand, vc)) if v is None]
            why = "; ".join(f"{w}: {_missing_note(s.report, metric)}" for w, s in missing)
            out.append(MetricComparison(**common, difference=None, worsening=None, noise=rule, baseline_spread=None,
                                        candidate_spread=None, z=None, threshold=None, beyond_noise=None,
                                        verdict="not computed", note=why))
            continue
        diff = vc - vb
        worse = diff if metric.kind == "max" else -diff
        tolerated = worse <= tol.get(name, 0.0)
        if rule == "pvalue":
            fail_b, fail_c = vb < level, vc < level
            beyond = fail_c and not fail_b
            if fail_b and fail_c:
                verdict, note = "both fail", (f"both p-values are below the level {level:.3g}: the baseline fails "
                                              "this test too; judge the change with the effect metrics")
            elif beyond:
                verdict, note = ("within tolerance" if tolerated else "regression"), \
                    f"the candidate's p-value is below the level {level:.3g} and the baseline's is not"
            elif fail_b:
                verdict, note = "improvement", f"the baseline's p-value is below the level {level:.3g}; the candidate's is not"
            else:
                verdict, note = "no change", ""
            out.append(MetricComparison(**common, difference=diff, worsening=worse, noise="pvalue",
                                        baseline_spread=None, candidate_spread=None, z=None, threshold=level,
                                        beyond_noise=beyond, verdict=verdict, note=note))
            continue
        if noise is None:
            has_tol = name in tol
            verdict = ("within tolerance" if tolerated else "regression") if has_tol else "not judged"
            note = ("no Gaussian reference for this metric in one of the reports; judged by its tolerance "
                    "alone" if has_tol else "no Gaussian reference for this metric in one of the reports and "
                    "no tolerance given: it cannot be judged for noise")
            out.append(MetricComparison(**common, difference=diff, worsening=worse, noise="none",
                                        baseline_spread=None, candidate_spread=None, z=None, threshold=None,
                                        beyond_noise=None, verdict=verdict, note=note))
            continue
        (mb, sb, how_b), (mc, sc, how_c) = noise
        used = rule
        note = how_c if how_b == how_c else f"baseline: {how_b}; candidate: {how_c}"
        if boot and name in _BOOTSTRAPPED:
            bb, bc = boot["baseline"][0].get(name), boot["candidate"][0].get(name)
            if bb is not None and bc is not None:
                sb, sc = max(sb, bb), max(sc, bc)
                used = f"{rule}+bootstrap"
                note += f"; spread at least the {boot['candidate'][1]}"
            else:
                note += f"; {boot['candidate'][1]}"
        excess = (vc - mc) - (vb - mb)
        spread = math.hypot(sb, sc)
        z = (excess if metric.kind == "max" else -excess) / spread if spread > 0 else (
            math.inf if excess else 0.0)
        beyond = z > threshold
        if beyond:
            verdict = "within tolerance" if tolerated else "regression"
        else:
            verdict = "improvement" if z < -threshold else "no change"
        out.append(MetricComparison(**common, difference=diff, worsening=worse, noise=used, baseline_spread=sb,
                                    candidate_spread=sc, z=z, threshold=threshold, beyond_noise=beyond,
                                    verdict=verdict, note=note))
    return ComparisonResult(metrics=tuple(out), alpha=alpha, level=level, n_judged=n_judged,
                            baseline=base.report, candidate=cand.report, baseline_source=base.source,
                            candidate_source=cand.source, notes=tuple(notes), two_sample=two)


def _two_sample(base: _Side, cand: _Side, notes: list[str], *, rows: int | None,
                seed: Any) -> EnergyTwoSampleResult | None:
    """The two-sample energy test of the two inputs' embeddings, or None with a note saying why not."""
    reports = [w for w, side in (("baseline", base), ("candidate", cand)) if side.x is None]
    if reports:
        what = " and ".join(reports) + (" is a saved report" if len(reports) == 1 else " are saved reports")
        notes.append(f"two-sample energy test not run: the {what}; it needs the embeddings of both")
        return None
    xb, xc = base.x, cand.x
    if xb is None or xc is None:  # pragma: no cover - excluded above (for the type checker)
        return None
    if xb.shape[1] != xc.shape[1]:
        notes.append(f"two-sample energy test not run: the widths differ ({xb.shape[1]} vs "
                     f"{xc.shape[1]}), so the embeddings lie in different spaces")
        return None
    from .stats.two_sample import energy_two_sample

    with _progress.step("two-sample energy test"):
        return energy_two_sample(xb, xc, max_rows=rows, rng=seed)


def _missing_note(report: GaussianityReport, metric: Metric) -> str:
    skip = report.skipped.get(metric.test)
    if skip is not None:
        return skip.message
    res = metric.test_result_of(report)
    note = getattr(res, "note", "") if res is not None else ""
    return note or ("not run" if metric.result_of(report) is None else "undefined at this size")


__all__ = ["NOISE_RULES", "ComparisonResult", "MetricComparison", "compare", "coordinate_null"]
