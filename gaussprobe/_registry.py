"""The registry of statistics: one entry per test of :func:`~gaussprobe.analyze`, the single source of
every surface.

Each :class:`Statistic` names its test, the report field(s) it fills and their result classes, the
public function behind it, whether :func:`~gaussprobe.analyze` runs it by default, its requirements
(:class:`Requirement`, each failing with a skip code) and its typed :class:`Metric` values: the
attribute each reads, its format, the Gaussian reference beside it and, for the metrics a limit can
be set on, which side is worse.

Generated from it:

* the statistic fields of :class:`~gaussprobe.report.GaussianityReport` and the limits of
  :class:`~gaussprobe.criteria.Criteria` (code blocks that ``python -m gaussprobe._schema --write``
  rewrites, checked against the registry at import),
* the summary rows of ``report.summary()``, Markdown, HTML and notebooks
  (:func:`gaussprobe.render.rows`), all formatted by :func:`format_value`,
* the criteria names and what each reads, and the metrics :func:`~gaussprobe.compare` compares,
* the JSON schema ``gaussprobe/report_schema.json`` (:mod:`gaussprobe._schema`),
* the skips of ``analyze``: a :class:`Skip` ``(test, code, message)``, whose warning class follows
  from its code (:data:`SKIP_CODES`).

Attribute paths are checked against the result dataclasses when this module is imported, so a typo
fails loudly here instead of turning into "not computed" in a report.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

from ._reference import Reference
from ._results import Result, TestResult
from ._warnings import GaussprobeWarning, RankDeficiencyWarning, SmallSampleWarning
from .stats.coordinates import CoordinateNormalityResult
from .stats.directions import LeastGaussianDirectionResult, PrincipalDirectionResult
from .stats.distance import IsotropicDistanceResult
from .stats.doornik_hansen import DoornikHansenResult, finish_doornik_hansen, power_sums_state
from .stats.energy import EnergyTestResult
from .stats.henze_zirkler import HenzeZirklerResult
from .stats.mardia import MardiaResult
from .stats.projections import ProjectionNormalityResult
from .stats.royston import RoystonResult
from .stats.thin_shell import ThinShellResult

#: How a value is printed: ``number`` (4 significant digits), ``percent`` (a fraction as a percentage
#: with one decimal), ``pvalue`` (3 significant digits, scientific below 0.001) or ``count`` (an integer).
Format = Literal["number", "percent", "pvalue", "count"]
#: Which side of a metric is worse: a limit on it is ``max_<name>`` ("higher") or ``min_<name>`` ("lower").
Worse = Literal["higher", "lower"]
#: How :func:`~gaussprobe.compare` judges a metric's sampling noise (see ``docs/compare.md``).
Noise = Literal["pvalue", "reference", "pass_fraction", "coordinate_null", "sliced_null"]
#: How a test was asked for: the default set, ``tests="all"``, or by name.
Mode = Literal["default", "all", "explicit"]

FORMATS: tuple[str, ...] = typing.get_args(Format)
NOISE_RULES: tuple[str, ...] = typing.get_args(Noise)


# ------------------------------------------------------------------------------------- formatting
def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def format_value(value: Any, fmt: Format = "number") -> str:
    """``value`` as every surface prints it (summary, Markdown, HTML, notebooks, check tables).

    ``None`` is ``n/a``; NaN and infinities are ``nan``/``inf``/``-inf``; otherwise by ``fmt``:
    ``number`` 4 significant digits (3, in scientific notation, below 1e-3 or from 1e5; an integer
    with thousands separators), ``percent``
    ``100 v`` with one decimal and ``%``, ``pvalue`` 3 significant digits (``0.0123``) or two decimals
    in scientific notation below 1e-3 (``4.56e-07``), ``count`` an integer with thousands separators.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral) and fmt in ("number", "count"):
        return f"{int(value):,}"
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if fmt == "percent":
        return f"{100 * v:.1f}%"
    if fmt == "pvalue":
        return f"{v:.3g}" if v == 0 or v >= 1e-3 else f"{v:.2e}"
    if fmt == "count":
        return f"{round(v):,}"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.3g}"
    return f"{v:.4g}"


def format_band(ref: Reference, fmt: Format = "number") -> str:
    """A Gaussian reference as ``mean [95%: low, high]`` in the format of the value it sits beside."""
    return f"{format_value(ref.mean, fmt)} [95%: {format_value(ref.low, fmt)}, {format_value(ref.high, fmt)}]"


# ----------------------------------------------------------------------------------------- paths
def _walk(obj: Any, path: str) -> Any:
    """The object at the dotted attribute ``path`` of ``obj``; None where a step is None."""
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


def resolve_type(cls: type, path: str) -> Any:
    """The annotated type at the dotted attribute ``path`` of the dataclass ``cls`` (``X | None``
    unwrapped on the way); a ``ValueError`` naming the first step that does not exist."""
    tp: Any = cls
    walked = cls.__name__
    for part in path.split("."):
        inner = _strip_optional(tp)
        if not (isinstance(inner, type) and dataclasses.is_dataclass(inner)):
            msg = f"`{walked}` is not a result class, so it has no attribute `{part}` (path `{path}`)."
            raise ValueError(msg)
        hints = _hints(inner)
        if part not in hints:
            close = sorted(hints)
            msg = (f"`{inner.__name__}` has no field `{part}` (path `{path}` of {cls.__name__}); its fields "
                   f"are {close}.")
            raise ValueError(msg)
        tp = hints[part]
        walked = f"{walked}.{part}"
    return tp


# --------------------------------------------------------------------------------------- metrics
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One value a report shows: where it lives, how it is printed and what a Gaussian gives.

    A metric with ``worse`` set is a criterion (named ``max_...`` when higher is worse, ``min_...``
    when lower is worse) and is compared by :func:`~gaussprobe.compare` with its ``noise`` rule; one
    without is shown only.

    Attributes
    ----------
    name : str
        The criterion name (``max_cv``) or, for a value that is only shown, a plain name.
    label : str
        The row label in every surface (at most 40 characters).
    attribute : str
        Dotted attribute of the result (``"combined_test.pvalue"``).
    field, test, section : str
        The report field holding the result, the test that fills it and the row section; set by the
        :class:`Statistic` that owns the metric (``field`` and ``section`` may be given to override).
    fmt : {"number", "percent", "pvalue", "count"}
        How the value (and its reference band) is printed, see :func:`format_value`.
    worse : {"higher", "lower"} or None
        Which side is worse; None for a value that is only shown.
    description : str
        One sentence: what the metric measures (criteria tables, command-line help).
    reference : str or None
        Dotted attribute of the result holding its :class:`~gaussprobe._reference.Reference`: what an
        exact Gaussian of the same ``(n, d)`` gives (mean and central 95% band).
    reference_text : str or callable
        What to print as the reference when there is no band (a callable gets the result).
    reference_suffix : str
        Printed after a band (e.g. the paper's threshold).
    noise : str or None
        The sampling-noise rule of :func:`~gaussprobe.compare` (required for a criterion).
    test_result : str or None
        For a p-value: dotted attribute of the test result that holds its ``calibration`` and ``note``
        (``""`` when that is the result itself).
    uninformative_when : str or None
        A boolean attribute of the result that makes this metric uninformative (constant norms).
    informative : str or None
        A boolean attribute of the result that is False where the test cannot have power at this size;
        the rows then show its test's note beside the (still valid) value.
    """

    name: str
    label: str
    attribute: str
    field: str = ""
    test: str = ""
    section: str = ""
    fmt: Format = "number"
    worse: Worse | None = None
    description: str = ""
    reference: str | None = None
    reference_text: str | Callable[[Any], str] = ""
    reference_suffix: str = ""
    noise: Noise | None = None
    test_result: str | None = None
    uninformative_when: str | None = None
    informative: str | None = None

    @property
    def kind(self) -> Literal["max", "min"] | None:
        """``"max"`` (the observed value must stay at most a limit) or ``"min"``; None when not a criterion."""
        return None if self.worse is None else ("max" if self.worse == "higher" else "min")

    @property
    def path(self) -> str:
        """``field.attribute``: where the value lives in a report."""
        return f"{self.field}.{self.attribute}"

    def result_of(self, report: Any) -> Any:
        """The result object this metric reads (None when its test did not run)."""
        return getattr(report, self.field, None)

    def value(self, report: Any) -> float | None:
        """The value in ``report`` as a float (None when not computed; NaN stays NaN)."""
        v = _walk(self.result_of(report), self.attribute)
        return None if v is None else float(v)

    def reference_of(self, report: Any) -> Reference | None:
        """The Gaussian reference band of the value (None when there is none)."""
        if self.reference is None or self.uninformative(report):
            return None
        ref = _walk(self.result_of(report), self.reference)
        return ref if isinstance(ref, Reference) else None

    def test_result_of(self, report: Any) -> Any:
        """The test result behind a p-value metric (None when not a p-value or not computed)."""
        if self.test_result is None:
            return None
        result = self.result_of(report)
        return result if not self.test_result else _walk(result, self.test_result)

    def uninformative(self, report: Any) -> bool:
        """Whether the value is uninformative in this report (e.g. a norm CV of normalised input)."""
        if self.uninformative_when is None:
            return False
        return bool(_walk(self.result_of(report), self.uninformative_when))

    def is_informative(self, report: Any) -> bool:
        """False where the result says its test cannot have power at this size."""
        if self.informative is None:
            return True
        return bool(_walk(self.result_of(report), self.informative))

    def format(self, value: Any) -> str:
        """``value`` in this metric's format."""
        return format_value(value, self.fmt)


# ------------------------------------------------------------------------------------- skip codes
@dataclasses.dataclass(frozen=True, slots=True)
class SkipCode:
    """Why a test was not run, and the warning ``analyze`` raises for it (None: recorded only)."""

    code: str
    meaning: str
    warning: type[GaussprobeWarning] | None


#: Every skip code, with the warning class it raises. The class follows from the code alone.
SKIP_CODES: dict[str, SkipCode] = {c.code: c for c in (
    SkipCode("too_few_samples", "n_samples <= n_features + 1: no full-rank covariance and no defined null",
             RankDeficiencyWarning),
    SkipCode("rank_deficient", "the covariance is numerically rank deficient", RankDeficiencyWarning),
    SkipCode("too_few_features", "the statistic needs at least 2 features", None),
    SkipCode("split_too_small", "too few rows to split the sample in two halves of at least 20",
             SmallSampleWarning),
    SkipCode("outside_sample_range", "the test is defined for a range of sample sizes only", None),
    SkipCode("not_calibrated", "no calibrated null at this size: not run unless named", None),
    SkipCode("over_budget", "the statistic and its null exceed the default cost budget: run on request",
             None),
    SkipCode("not_informative", "the test has no power at this size by construction", None),
    SkipCode("unknown", "the reason was written by a version of gaussprobe that recorded no code", None),
)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Skip(Result):
    """A test that was asked for but not run: which, why as a code (:data:`SKIP_CODES`), and a message
    that says how to run it anyway. ``str(skip)`` is the message."""

    test: str
    code: str
    message: str

    def __str__(self) -> str:
        return self.message

    @property
    def warning(self) -> type[GaussprobeWarning] | None:
        """The warning class ``analyze`` raises for this skip (None: recorded in the report only)."""
        return SKIP_CODES[self.code].warning


@dataclasses.dataclass(kw_only=True)
class Sizes:
    """What a requirement is checked against: the shape, how the test was asked for, and the
    covariance rank (computed on first use only, as it costs a pass over the data)."""

    n: int
    d: int
    mode: Mode
    rank_of: Callable[[], int]
    _rank: int | None = dataclasses.field(default=None, repr=False)

    @property
    def rank(self) -> int:
        """The numerical rank of the sample covariance."""
        if self._rank is None:
            self._rank = int(self.rank_of())
        return self._rank


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    """A condition a statistic needs; ``check`` returns ``(code, message)`` when it is not met.

    ``when`` says when it is checked: ``"always"``, ``"unless_named"`` (a test named in ``tests`` runs
    and raises its own error where it is undefined) or ``"default_only"`` (a cost limit of the
    default run).
    """

    name: str
    check: Callable[[Sizes], tuple[str, str] | None]
    when: Literal["always", "unless_named", "default_only"] = "unless_named"

    def applies(self, mode: Mode) -> bool:
        return self.when == "always" or (self.when == "unless_named" and mode != "explicit") or (
            self.when == "default_only" and mode == "default")


#: The principal-direction test splits the rows in two halves of at least 20.
MIN_SPLIT_SAMPLES = 40
#: Above this dimension Royston's test is not run unless named (measured miscalibrated; see docs).
ROYSTON_MAX_FEATURES = 50


def _full_rank(s: Sizes) -> tuple[str, str] | None:
    if s.n <= s.d + 1:
        return "too_few_samples", (
            f"needs n_samples >= n_features + 2 for a full-rank covariance and a defined null (n_samples={s.n}, "
            f"n_features={s.d}); use gaussprobe.principal_projection(x, n_components=k) with k <= n_samples - 2")
    if s.rank < s.d:
        return "rank_deficient", (
            f"covariance has numerical rank {s.rank} < n_features={s.d}; project onto the non-null subspace "
            f"with gaussprobe.principal_projection(x, n_components={s.rank}) and run it on that")
    return None


def _two_features(s: Sizes) -> tuple[str, str] | None:
    if s.d < 2:
        return "too_few_features", "needs at least 2 features (the spectrum measures are undefined for one)"
    return None


def _split_sample(s: Sizes) -> tuple[str, str] | None:
    if s.n < MIN_SPLIT_SAMPLES:
        return "split_too_small", (f"needs n_samples >= {MIN_SPLIT_SAMPLES} (two halves of at least 20 rows); "
                                   f"got n_samples={s.n}")
    return None


def _royston_dimension(s: Sizes) -> tuple[str, str] | None:
    if s.d > ROYSTON_MAX_FEATURES:
        return "not_calibrated", (
            f"not run at d={s.d} > {ROYSTON_MAX_FEATURES}: Royston's test is not affine invariant, so no exact "
            "Monte-Carlo null exists, and its chi2 (equivalent df) over-rejects at embedding sizes (measured "
            "8-27% at the 5% level for d = 64-128); name it in tests to run it anyway")
    return None


def _royston_range(s: Sizes) -> tuple[str, str] | None:
    if not 4 <= s.n <= 5000:
        return "outside_sample_range", f"Royston's test is defined for 4 <= n_samples <= 5000 (got n_samples={s.n})"
    return None


def _pursuit_budget(s: Sizes) -> tuple[str, str] | None:
    from .stats import _null
    from .stats.directions import DEFAULT_MAX_ITER, DEFAULT_RESTARTS, pursuit_flop

    cost = pursuit_flop(s.n, s.d, 3, DEFAULT_RESTARTS, DEFAULT_MAX_ITER) * (_null.DEFAULT_NULL_DRAWS + 1)
    if cost > _null.NULL_FLOP_BUDGET:
        return "over_budget", (
            f"skipped by default: the search and its Monte-Carlo null would cost ~{cost:.2g} flop at n={s.n}, "
            f"d={s.d} (budget {_null.NULL_FLOP_BUDGET:.2g}); pass tests=[..., 'pursuit'] to run it")
    return None


def _hz_informative(s: Sizes) -> tuple[str, str] | None:
    from .stats.henze_zirkler import informative_at

    informative, why = informative_at(s.n, s.d)
    return None if informative else ("not_informative", f"not run: {why}")


FULL_RANK = Requirement("full_rank", _full_rank)
TWO_FEATURES = Requirement("two_features", _two_features, "always")
SPLIT_SAMPLE = Requirement("split_sample", _split_sample)
ROYSTON_DIMENSION = Requirement("royston_dimension", _royston_dimension)
ROYSTON_RANGE = Requirement("royston_sample_range", _royston_range)
PURSUIT_BUDGET = Requirement("pursuit_budget", _pursuit_budget, "default_only")
HZ_INFORMATIVE = Requirement("henze_zirkler_informative", _hz_informative)


# ------------------------------------------------------------------------------------- statistics
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    """What :func:`~gaussprobe.analyze` hands the runner of a statistic: its options and its own
    random stream (independent of every other test's)."""

    alpha: float
    dtype: Literal["float64", "float32"]
    block_size: int | None
    mode: Mode
    rng: Any
    n_resamples: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Statistic:
    """One test of :func:`~gaussprobe.analyze` (see the module docstring).

    Attributes
    ----------
    name : str
        The test's name in ``analyze(tests=...)`` and in ``report.tests`` / ``report.skipped``.
    title : str
        The section of its rows.
    fields : tuple of (str, type)
        The report fields it fills and the result class of each.
    function : str
        The public function that computes it (documentation; ``analyze`` calls the same code).
    default : bool
        Whether the default run includes it (its requirements may still skip it).
    requires : tuple of Requirement
        Checked in order before it runs; the first that fails skips it with its code.
    metrics : tuple of Metric
        Its values, in row order.
    caption : callable or None
        A few words about the result for the text summary's section heading.
    details : callable or None
        Lines under its rows in the text and Markdown summaries (e.g. the worst coordinates).
    run : callable or None
        ``run(embeddings, context) -> result`` for a statistic ``analyze`` runs through its entry alone
        (a new statistic needs nothing else there); None for those its data passes compute.
    second_pass, finish : callable or None
        For a statistic that is one row state of ``analyze``'s second pass (it needs the mean and
        covariance of the first): ``second_pass(embeddings, moments) -> state`` (a mergeable state of
        :mod:`gaussprobe._engine`) and ``finish(embeddings, state.result(), context) -> result``. The
        pass engine fuses the state with the others', so the statistic costs no read of its own.
    """

    name: str
    title: str
    fields: tuple[tuple[str, type[Any]], ...]
    function: str
    default: bool
    requires: tuple[Requirement, ...] = ()
    metrics: tuple[Metric, ...] = ()
    caption: Callable[[Any], str] | None = None
    details: Callable[[Any], tuple[str, ...]] | None = None
    run: Callable[[Any, RunContext], Any] | None = None
    second_pass: Callable[[Any, Any], Any] | None = None
    finish: Callable[[Any, Any, RunContext], Any] | None = None

    def skip(self, sizes: Sizes) -> Skip | None:
        """The :class:`Skip` of the first unmet requirement at ``sizes`` (None: it runs)."""
        for req in self.requires:
            if req.applies(sizes.mode) and (why := req.check(sizes)) is not None:
                code, message = why
                return Skip(test=self.name, code=code, message=message)
        return None


def _entry(*, name: str, title: str, fields: tuple[tuple[str, type[Any]], ...], metrics: tuple[Metric, ...] = (),
           **kw: Any) -> Statistic:
    """A :class:`Statistic` whose metrics are bound to it (their ``test``, default ``field`` and ``section``)."""
    bound = tuple(dataclasses.replace(m, test=name, field=m.field or fields[0][0], section=m.section or title)
                  for m in metrics)
    return Statistic(name=name, title=title, fields=fields, metrics=bound, **kw)


def _pvalue(name: str, label: str, attribute: str, description: str, *, test_result: str | None,
            worse: Worse | None = "lower", **kw: Any) -> Metric:
    """A p-value metric: uniform on [0, 1] under the null, lower is worse."""
    return Metric(name=name, label=label, attribute=attribute, fmt="pvalue", worse=worse,
                  description=description, reference_text="uniform on [0, 1]",
                  noise="pvalue" if worse else None, test_result=test_result, **kw)


def _worst_coordinates(co: CoordinateNormalityResult) -> tuple[str, ...]:
    worst = ", ".join(f"{int(j)} (A^2 {format_value(co.ad_statistics[int(j)])}, p "
                      f"{format_value(co.ad_pvalues[int(j)], 'pvalue')})" for j in co.worst_coordinates[:3])
    return (f"worst coordinates: {worst}",)


def _worst_directions(pr: ProjectionNormalityResult) -> tuple[str, ...]:
    if pr.worst_directions is None:
        return ()
    worst = ", ".join(f"#{int(i)} (A^2 {format_value(pr.ad_statistics[int(i)])}, p "
                      f"{format_value(pr.ad_pvalues[int(i)], 'pvalue')})" for i in pr.worst_directions[:3])
    return (f"worst directions: {worst}",)


def _worst_principal(pd_: PrincipalDirectionResult) -> tuple[str, ...]:
    w = pd_.worst
    line = (f"worst: {w.end} #{w.rank} (eigenvalue {format_value(w.eigenvalue)}): A^2 "
            f"{format_value(w.ad_statistic)}, p {format_value(w.ad_pvalue, 'pvalue')}, skewness "
            f"{format_value(w.skewness)}, excess kurtosis {format_value(w.excess_kurtosis)}")
    return (line,)


def _pursuit_found(pu: LeastGaussianDirectionResult) -> tuple[str, ...]:
    b = pu.best
    line = (f"found ({pu.best_contrast}): A^2 {format_value(b.ad_statistic)}, skewness "
            f"{format_value(b.skewness)}, excess kurtosis {format_value(b.excess_kurtosis)}")
    return (line,)


def _chi_text(r: ThinShellResult) -> str:
    return f"{format_value(r.cv_gaussian)} for chi(d)"


def _pass_band_text(co: CoordinateNormalityResult) -> str:
    lo, hi = co.pass_fraction_band
    return (f"{format_value(co.expected_pass_fraction, 'percent')} (99%: {format_value(lo, 'percent')}-"
            f"{format_value(hi, 'percent')})")


def _rejected_text(pr: ProjectionNormalityResult) -> str:
    dep = "; more directions than features: dependent, wider band" if pr.n_projections > pr.n_features else ""
    return f"about {format_value(pr.alpha, 'percent')}{dep}"


def _sliced_null_text(di: IsotropicDistanceResult) -> str:
    sl = di.sliced
    if sl.null_mean is None:
        return "no null simulated"
    return f"null mean {format_value(sl.null_mean)}, 95% {format_value(sl.null_quantile_95)}"


def _finish_doornik_hansen(emb: Any, sums: Any, ctx: RunContext) -> DoornikHansenResult:
    return finish_doornik_hansen(sums, n=emb.n_samples, d=emb.n_features)


_MULTIVARIATE = "Multivariate normality tests"

#: The registry, in ``ALL_TESTS`` order (the order of the report's fields and of the summary).
STATISTICS: tuple[Statistic, ...] = (
    _entry(
        name="thin_shell", title="Thin shell (row norms)", function="gaussprobe.thin_shell", default=True,
        fields=(("thin_shell", ThinShellResult), ("thin_shell_centered", ThinShellResult)),
        metrics=(
            Metric(name="mean_norm", label="mean norm", attribute="mean", reference_text="scale only"),
            Metric(name="max_cv", label="norm CV (uncentred, paper Eq. 20)", attribute="cv", worse="higher",
                   description="coefficient of variation of the row norms (uncentred, paper Eq. 20)",
                   reference="cv_reference", reference_text=_chi_text,
                   reference_suffix="; paper: <= 0.1", noise="reference",
                   uninformative_when="constant_norms"),
            Metric(name="max_cv_centered", label="norm CV (centred)", attribute="cv", field="thin_shell_centered",
                   worse="higher", description="coefficient of variation of the centred row norms",
                   reference="cv_reference", reference_text=_chi_text, noise="reference",
                   uninformative_when="constant_norms"),
            Metric(name="max_cv_ratio", label="CV ratio (centred / chi(d))", attribute="cv_ratio",
                   field="thin_shell_centered", worse="higher",
                   description="centred norm CV divided by the CV of an isotropic Gaussian (chi(d))",
                   reference="cv_ratio_reference", reference_text="about 1", noise="reference",
                   uninformative_when="constant_norms"),
        )),
    _entry(
        name="coordinates", title="Coordinates", function="gaussprobe.coordinate_normality", default=True,
        fields=(("coordinates", CoordinateNormalityResult),),
        caption=lambda co: f"{co.n_features} coordinates, alpha {co.alpha:g}", details=_worst_coordinates,
        metrics=(
            Metric(name="max_ad_mean", label="mean Anderson-Darling A^2", attribute="ad_mean", worse="higher",
                   description="mean per-coordinate Anderson-Darling A^2",
                   reference_text=lambda co: f"about 0.37; critical value {format_value(co.ad_critical_value)} "
                                             f"at alpha {co.alpha:g}",
                   noise="coordinate_null"),
            Metric(name="min_ad_pass_fraction", label="A^2 pass fraction", attribute="ad_pass_fraction",
                   fmt="percent", worse="lower",
                   description="fraction of coordinates with A^2 below the critical value",
                   reference="ad_pass_fraction_reference", reference_text=_pass_band_text, noise="pass_fraction"),
            Metric(name="min_dp_mean_pvalue", label="mean D'Agostino-Pearson p-value", attribute="dp_mean_pvalue",
                   worse="lower", description="mean per-coordinate D'Agostino-Pearson p-value",
                   reference_text="about 0.5", noise="coordinate_null"),
            Metric(name="min_dp_pass_fraction", label="D'Agostino-Pearson pass fraction",
                   attribute="dp_pass_fraction", fmt="percent", worse="lower",
                   description="fraction of coordinates with D'Agostino-Pearson p > alpha",
                   reference="dp_pass_fraction_reference", reference_text=_pass_band_text, noise="pass_fraction"),
            _pvalue("min_coordinate_pvalue", "combined p-value (Cauchy over AD p)", "combined_test.pvalue",
                    "combined (Cauchy) p-value of the per-coordinate AD tests", test_result="combined_test"),
        )),
    _entry(
        name="projections", title="Random projections", function="gaussprobe.projection_normality",
        default=True, fields=(("projections", ProjectionNormalityResult),),
        caption=lambda pr: f"{pr.n_projections} directions", details=_worst_directions,
        metrics=(
            Metric(name="projection_ad_mean", label="mean A^2", attribute="ad_mean", reference_text="about 0.37"),
            Metric(name="max_projection_rejected_fraction", label="rejected fraction (DP, p < alpha)",
                   attribute="rejected_fraction", fmt="percent", worse="higher",
                   description="fraction of random projections rejected by D'Agostino-Pearson at alpha",
                   reference="rejected_fraction_reference", reference_text=_rejected_text,
                   noise="pass_fraction"),
            _pvalue("min_projection_pvalue", "combined p-value (Cauchy over AD p)", "combined_test.pvalue",
                    "combined (Cauchy) p-value of the random-projection tests", test_result="combined_test"),
            _pvalue("projection_bonferroni_pvalue", "Bonferroni p-value (AD, min p x k)", "bonferroni_pvalue",
                    "Bonferroni bound over the per-direction AD p-values", test_result=None, worse=None),
        )),
    _entry(
        name="distance", title="Distance to the nearest isotropic Gaussian", function="gaussprobe.isotropic_distance",
        default=True, requires=(TWO_FEATURES,), fields=(("distance", IsotropicDistanceResult),),
        metrics=(
            Metric(name="max_isotropic_distance", label="normalised Bures-Wasserstein [0, 1]",
                   attribute="bures_wasserstein.normalized", worse="higher",
                   description="normalised Bures-Wasserstein distance to the nearest isotropic Gaussian "
                               "(0 = isotropic)",
                   reference="bures_wasserstein.normalized_reference", reference_text="0 = isotropic",
                   noise="reference"),
            Metric(name="bw_mean_part", label="  mean part (narrow cone)", attribute="bures_wasserstein.mean_part",
                   reference="bures_wasserstein.mean_part_reference", reference_text="about 1/n"),
            Metric(name="bw_anisotropy_part", label="  anisotropy part", attribute="bures_wasserstein.anisotropy_part",
                   reference="bures_wasserstein.anisotropy_part_reference", reference_text="about d/(4n)"),
            Metric(name="sliced_w2", label="sliced W2^2 to N(0, 1), mean over dirs", attribute="sliced.statistic",
                   reference_text=_sliced_null_text),
            Metric(name="max_sliced_excess", label="sliced W2 excess over its Gaussian null",
                   attribute="sliced.excess_ratio", worse="higher",
                   description="mean sliced W2 to N(0,1) divided by its Gaussian null mean",
                   reference_text="about 1", noise="sliced_null"),
            _pvalue("min_sphericity_pvalue", "sphericity test p-value (Ledoit-Wolf)", "sphericity.pvalue",
                    "p-value of the sphericity test (Ledoit-Wolf/John)", test_result="sphericity"),
            Metric(name="covariance_rank", label="covariance rank", attribute="rank", fmt="count",
                   section="Covariance spectrum",
                   reference_text=lambda di: f"{format_value(min(di.n_features, di.n_samples - 1), 'count')} (full)"),
            Metric(name="effective_rank", label="effective rank", attribute="spectrum.effective_rank",
                   section="Covariance spectrum", reference="spectrum.effective_rank_reference"),
            Metric(name="participation_ratio", label="participation ratio", attribute="spectrum.participation_ratio",
                   section="Covariance spectrum", reference="spectrum.participation_ratio_reference"),
            Metric(name="condition_number", label="condition number", attribute="spectrum.condition_number",
                   section="Covariance spectrum", reference="spectrum.condition_number_reference"),
            Metric(name="isoscore", label="IsoScore", attribute="spectrum.isoscore", section="Covariance spectrum",
                   reference="spectrum.isoscore_reference"),
        )),
    _entry(
        name="principal_directions", title="Principal directions", function="gaussprobe.principal_direction_test",
        default=True, requires=(SPLIT_SAMPLE,), fields=(("principal_directions", PrincipalDirectionResult),),
        caption=lambda p: f"top {p.k_top}, bottom {p.k_bottom}; sample splitting", details=_worst_principal,
        metrics=(
            _pvalue("min_principal_direction_pvalue", "combined p-value (sample splitting)", "combined_test.pvalue",
                    "combined p-value of the tests along the top and bottom principal directions (sample "
                    "splitting)", test_result="combined_test"),
            Metric(name="n_above_bulk", label="eigenvalues above the MP bulk", attribute="n_above_edge",
                   fmt="count", reference_text="0 (isotropic)"),
            Metric(name="n_below_bulk", label="eigenvalues below the MP bulk", attribute="n_below_edge",
                   fmt="count", reference_text="0 (isotropic)"),
        )),
    _entry(
        name="pursuit", title="Least Gaussian direction (projection pursuit)",
        function="gaussprobe.least_gaussian_direction", default=True, requires=(FULL_RANK, PURSUIT_BUDGET),
        fields=(("pursuit", LeastGaussianDirectionResult),), details=_pursuit_found,
        metrics=(
            _pvalue("min_pursuit_pvalue", "p-value (null of the same search)", "test.pvalue",
                    "p-value of the least Gaussian direction found by projection pursuit", test_result="test",
                    informative="informative"),
            Metric(name="pursuit_statistic", label="search statistic", attribute="test.statistic",
                   reference_text=lambda pu: f"contrast: {pu.best_contrast}"),
        )),
    _entry(
        name="mardia", title=_MULTIVARIATE, function="gaussprobe.mardia", default=True, requires=(FULL_RANK,),
        fields=(("mardia", MardiaResult),),
        metrics=(
            _pvalue("min_mardia_skewness_pvalue", "Mardia skewness p-value", "skewness_test.pvalue",
                    "p-value of Mardia's skewness test", test_result="skewness_test"),
            _pvalue("min_mardia_kurtosis_pvalue", "Mardia kurtosis p-value", "kurtosis_test.pvalue",
                    "p-value of Mardia's kurtosis test (finite-n moments)", test_result="kurtosis_test"),
        )),
    _entry(
        name="henze_zirkler", title=_MULTIVARIATE, function="gaussprobe.henze_zirkler", default=False,
        requires=(FULL_RANK, HZ_INFORMATIVE), fields=(("henze_zirkler", HenzeZirklerResult),),
        metrics=(_pvalue("min_henze_zirkler_pvalue", "Henze-Zirkler p-value", "pvalue",
                         "p-value of the Henze-Zirkler test", test_result=""),)),
    _entry(
        name="royston", title=_MULTIVARIATE, function="gaussprobe.royston", default=False,
        requires=(ROYSTON_DIMENSION, ROYSTON_RANGE), fields=(("royston", RoystonResult),),
        metrics=(_pvalue("min_royston_pvalue", "Royston p-value", "pvalue", "p-value of Royston's H test",
                         test_result=""),)),
    _entry(
        name="doornik_hansen", title=_MULTIVARIATE, function="gaussprobe.doornik_hansen", default=True,
        requires=(FULL_RANK,), fields=(("doornik_hansen", DoornikHansenResult),),
        second_pass=power_sums_state, finish=_finish_doornik_hansen,
        metrics=(_pvalue("min_doornik_hansen_pvalue", "Doornik-Hansen p-value", "pvalue",
                         "p-value of the Doornik-Hansen omnibus test", test_result=""),)),
    _entry(
        name="energy", title=_MULTIVARIATE, function="gaussprobe.energy_test", default=False,
        requires=(FULL_RANK,), fields=(("energy", EnergyTestResult),),
        metrics=(_pvalue("min_energy_pvalue", "energy test p-value (Szekely-Rizzo)", "pvalue",
                         "p-value of the energy test of multivariate normality", test_result=""),)),
)

#: Test names, in registry order; and those of the default run.
ALL_TESTS: tuple[str, ...] = tuple(s.name for s in STATISTICS)
DEFAULT_TESTS: tuple[str, ...] = tuple(s.name for s in STATISTICS if s.default)
#: Every metric by name, and the criteria (metrics with a worse side) by criterion name.
METRICS: dict[str, Metric] = {m.name: m for s in STATISTICS for m in s.metrics}
CRITERIA: dict[str, Metric] = {name: m for name, m in METRICS.items() if m.worse is not None}
#: The statistic fields of the report, in order, with their result classes.
REPORT_FIELDS: tuple[tuple[str, type[Any]], ...] = tuple(f for s in STATISTICS for f in s.fields)


def statistic(name: str) -> Statistic:
    """The registry entry of test ``name``."""
    for s in STATISTICS:
        if s.name == name:
            return s
    msg = f"No statistic {name!r} in the registry; the tests are {list(ALL_TESTS)}."
    raise KeyError(msg)


def statistic_of_field(field: str) -> Statistic:
    """The registry entry that fills report field ``field``."""
    for s in STATISTICS:
        if any(f == field for f, _ in s.fields):
            return s
    msg = f"No statistic fills the report field {field!r}; the fields are {[f for f, _ in REPORT_FIELDS]}."
    raise KeyError(msg)


def type_namespace() -> dict[str, Any]:
    """Names of the result classes and the skip type, for resolving the report's annotations."""
    names: dict[str, Any] = {cls.__name__: cls for _, cls in REPORT_FIELDS}
    names["Skip"] = Skip
    return names


def _check(statistics: tuple[Statistic, ...]) -> None:
    """Fail loudly on an inconsistent registry (run at import)."""
    problems: list[str] = []
    seen_tests: set[str] = set()
    seen_fields: set[str] = set()
    seen_metrics: set[str] = set()
    for s in statistics:
        if s.name in seen_tests:
            problems.append(f"test {s.name!r} is registered twice")
        seen_tests.add(s.name)
        fields = dict(s.fields)
        for field, cls in s.fields:
            if field in seen_fields:
                problems.append(f"report field {field!r} is filled by two tests")
            seen_fields.add(field)
            if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
                problems.append(f"{s.name}: the result class of {field!r} is not a dataclass")
        for m in s.metrics:
            where = f"{s.name}: metric {m.name!r}"
            if m.name in seen_metrics:
                problems.append(f"{where} is registered twice")
            seen_metrics.add(m.name)
            if m.field not in fields:
                problems.append(f"{where} reads field {m.field!r}, which {s.name} does not fill")
                continue
            cls = fields[m.field]
            prefix = {"higher": "max_", "lower": "min_", None: ""}[m.worse]
            if m.worse is not None and not m.name.startswith(prefix):
                problems.append(f"{where}: a criterion with worse={m.worse!r} must be named {prefix}...")
            if m.worse is None and m.name.startswith(("max_", "min_")):
                problems.append(f"{where}: only a criterion (worse set) may be named max_/min_")
            if m.worse is not None and (m.noise is None or not m.description):
                problems.append(f"{where}: a criterion needs a noise rule and a description")
            if m.fmt not in FORMATS or (m.noise is not None and m.noise not in NOISE_RULES):
                problems.append(f"{where}: unknown format {m.fmt!r} or noise rule {m.noise!r}")
            if len(m.label) > 40:
                problems.append(f"{where}: label longer than 40 characters")
            paths = [m.attribute, *(p for p in (m.reference, m.test_result, m.uninformative_when, m.informative)
                                    if p)]
            for path in paths:
                try:
                    tp = resolve_type(cls, path)
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
                    continue
                if path == m.reference and _strip_optional(tp) is not Reference:
                    problems.append(f"{where}: reference `{path}` is not a Reference")
            if m.fmt == "pvalue" and m.test_result:
                try:
                    tp = _strip_optional(resolve_type(cls, m.test_result))
                except ValueError:
                    continue
                if tp is not TestResult:
                    problems.append(f"{where}: test_result `{m.test_result}` is not a TestResult")
    if problems:
        msg = "The registry of statistics is inconsistent:\n  " + "\n  ".join(problems)
        raise RuntimeError(msg)


_check(STATISTICS)


__all__ = [
    "ALL_TESTS",
    "CRITERIA",
    "DEFAULT_TESTS",
    "METRICS",
    "REPORT_FIELDS",
    "SKIP_CODES",
    "STATISTICS",
    "Metric",
    "Requirement",
    "RunContext",
    "Sizes",
    "Skip",
    "SkipCode",
    "Statistic",
    "format_band",
    "format_value",
    "statistic",
]
