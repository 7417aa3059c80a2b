"""``analyze(x)``: every statistic in one call, and the :class:`GaussianityReport` that holds them.

The report holds the same result objects the individual functions return, plus provenance (sizes,
backend, device, compute dtype, seed, version). It passes no judgement: only :meth:`check` does,
against a :class:`~gaussprobe.criteria.Criteria`.
"""

from __future__ import annotations

import dataclasses
import json
import typing
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import __version__, _progress
from . import _registry as registry
from ._backend import device_name
from ._random import seed_of
from ._registry import ALL_TESTS, DEFAULT_TESTS, Skip
from ._results import Result
from ._typing import ArrayLike, DTypeName, RNGLike
from ._validation import (
    check_choice,
    check_embeddings,
    check_positive_int,
    check_probability,
)
from ._warnings import ShapeWarning
from .criteria import CheckOutcome, Criteria

if TYPE_CHECKING:
    # <registry:imports> generated from gaussprobe._registry by `python -m gaussprobe._schema --write`
    from .stats.coordinates import CoordinateNormalityResult
    from .stats.directions import LeastGaussianDirectionResult, PrincipalDirectionResult
    from .stats.distance import IsotropicDistanceResult
    from .stats.doornik_hansen import DoornikHansenResult
    from .stats.energy import EnergyTestResult
    from .stats.henze_zirkler import HenzeZirklerResult
    from .stats.mardia import MardiaResult
    from .stats.projections import ProjectionNormalityResult
    from .stats.royston import RoystonResult
    from .stats.thin_shell import ThinShellResult
    # </registry:imports>

#: Version of the JSON layout produced by :meth:`GaussianityReport.to_dict` (see docs/report_schema.md).
#: 2.0: ``skipped`` maps each test to a ``Skip`` object ``{test, code, message}`` (1.x: to a message);
#: reports of 1.x are migrated on reading (:meth:`GaussianityReport.from_dict`).
SCHEMA_VERSION = "2.0"

#: Floating-point operations above which the default run skips Mardia's O(n^2 d) skewness.
MARDIA_DEFAULT_FLOP_BUDGET = 2.5e11


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class GaussianityReport(Result):
    """Everything :func:`analyze` measured, with provenance.

    Each statistic field holds the result object of the function of the same name (``thin_shell``,
    ``coordinate_normality``, ``projection_normality``, ``isotropic_distance``, ``mardia``, ...) or
    ``None`` when it was not run; ``skipped`` holds a :class:`~gaussprobe._registry.Skip`
    ``(test, code, message)`` for each test that was asked for but not run. The statistic fields are
    those of the registry of statistics (:mod:`gaussprobe._registry`), one per result it lists.
    """

    schema_version: str
    gaussprobe_version: str
    n_samples: int
    n_features: int
    backend: str
    device: str
    compute_dtype: DTypeName
    seed: int | None
    alpha: float
    n_projections: int
    tests: tuple[str, ...]
    # <registry:fields> generated from gaussprobe._registry by `python -m gaussprobe._schema --write`
    thin_shell: ThinShellResult | None = None
    thin_shell_centered: ThinShellResult | None = None
    coordinates: CoordinateNormalityResult | None = None
    projections: ProjectionNormalityResult | None = None
    distance: IsotropicDistanceResult | None = None
    principal_directions: PrincipalDirectionResult | None = None
    pursuit: LeastGaussianDirectionResult | None = None
    mardia: MardiaResult | None = None
    henze_zirkler: HenzeZirklerResult | None = None
    royston: RoystonResult | None = None
    doornik_hansen: DoornikHansenResult | None = None
    energy: EnergyTestResult | None = None
    # </registry:fields>
    skipped: dict[str, Skip] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if _STALE_FIELDS is not None:
            raise RuntimeError(_STALE_FIELDS)

    def check(self, criteria: Criteria | str | Mapping[str, Any] | None = None, /, *,
              only: bool = False, **limits: float | None) -> CheckOutcome:
        """Judge the report against ``criteria``; the outcome is truthy only when it passed.

        Parameters
        ----------
        criteria : Criteria, str, mapping or None
            A :class:`Criteria`, a preset name (``"gaussian"``, ``"paper"``), or a mapping of limits
            such as a ``[tool.gaussprobe]`` table (it may name a ``preset``). ``None``: the default
            preset :data:`~gaussprobe.criteria.DEFAULT_PRESET` (``"gaussian"``), the same default as
            ``gaussprobe check`` and :func:`~gaussprobe.testing.assert_gaussian_like`.
        only : bool
            With ``criteria=None``: check only the ``limits`` given, without the default preset.
        **limits
            Limits that override the same limits of the preset (the rest of it is kept); ``None``
            drops one.

        Examples
        --------
        >>> import numpy as np, gaussprobe as gp
        >>> report = gp.analyze(np.random.default_rng(0).standard_normal((2000, 16)), rng=0)
        >>> outcome = report.check()          # the "gaussian" preset
        >>> print(outcome.passed, bool(outcome))
        True True
        >>> print(report.check(only=True, max_cv=0.01).passed)
        False
        """
        # the one resolver, shared with the CLI and assert_gaussian_like
        from .criteria import resolve

        return resolve(criteria, only=only, **limits).evaluate(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (NaN and infinities become ``null``); layout versioned by ``schema_version``."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /) -> GaussianityReport:
        """Rebuild a report from :meth:`to_dict` (the real result classes, so :meth:`check` works).

        ``data`` may also be the output of ``gaussprobe analyze --format json`` (its ``source`` and
        ``notes`` are dropped) or ``gaussprobe check --format json`` (its ``report``). Values written as
        ``null`` come back as NaN where the field is a float. A report of schema 1.x is migrated
        (each skip reason becomes a :class:`~gaussprobe._registry.Skip` with the code its message
        stands for; fields added since are left at their defaults); another ``schema_version`` raises a
        ``ValueError`` naming both versions.
        """
        from ._from_json import report_from_dict

        out: GaussianityReport = report_from_dict(cls, data, SCHEMA_VERSION)
        return out

    @classmethod
    def from_json(cls, text: str | bytes, /) -> GaussianityReport:
        """Rebuild a report from :meth:`to_json`: ``from_json(r.to_json()).to_json() == r.to_json()``.

        Examples
        --------
        >>> import numpy as np, gaussprobe as gp
        >>> r = gp.analyze(np.random.default_rng(0).standard_normal((500, 8)), rng=0)
        >>> loaded = gp.GaussianityReport.from_json(r.to_json())
        >>> print(loaded.to_json() == r.to_json(), loaded.check().passed)
        True True
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = (f"Not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); expected the "
                   "text of GaussianityReport.to_json() or `gaussprobe analyze --format json`.")
            raise ValueError(msg) from None
        return cls.from_dict(data)

    def summary(self) -> str:
        """A fixed-width table a person can read."""
        from ._summary import format_summary

        return format_summary(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        """One line: the shape, the tests run, the values the default check reads and its verdict."""
        from ._notebook import report_repr

        return report_repr(self)

    def _repr_html_(self) -> str:
        """The notebook view: the default check, the summary rows and (with matplotlib) the plots."""
        from ._notebook import report_html

        return report_html(self)


def _resolve_tests(tests: Iterable[str] | str | None) -> tuple[tuple[str, ...], registry.Mode]:
    if tests is None or tests == "default":
        return DEFAULT_TESTS, "default"
    if tests == "all":
        return ALL_TESTS, "all"
    if isinstance(tests, str):
        tests = [t.strip() for t in tests.split(",") if t.strip()]
    chosen = tuple(dict.fromkeys(tests))
    unknown = [t for t in chosen if t not in ALL_TESTS]
    if unknown or not chosen:
        msg = (f"`tests` must name tests from {list(ALL_TESTS)} (or be 'default' / 'all'); "
               f"got {list(chosen)}.")
        raise ValueError(msg)
    return chosen, "explicit"


def analyze(
    x: ArrayLike,
    /,
    *,
    rng: RNGLike = None,
    n_projections: int = 256,
    tests: Iterable[str] | str | None = None,
    alpha: float = 0.05,
    dtype: DTypeName = "float64",
    block_size: int | None = None,
    n_null: int | None = None,
    n_resamples: int = 99,
    progress: bool | None = None,
) -> GaussianityReport:
    """Measure how Gaussian the embeddings ``x`` are, with every applicable statistic.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings, one per row: a NumPy array or memmap, a torch tensor (CPU or CUDA, any float dtype,
        ``requires_grad`` or not), a DataFrame, a list of rows, or anything exposing ``__array__`` or
        DLPack. Statistics are computed on the input's device.
    rng : int, Generator or None
        Seed for the random projections and the Monte-Carlo null references. An int makes the report
        reproducible (and is recorded); every backend sees the same directions.
    n_projections : int
        Number of random unit directions for the projection tests and the sliced distance.
    tests : iterable of str, "default" or "all"
        Which tests to run. The default runs ``thin_shell`` (uncentred and centred), ``coordinates``,
        ``projections``, ``distance``, ``doornik_hansen`` and ``mardia`` -- the last only when its
        O(n^2 d) skewness fits a budget of ~2.5e11 flop (or the small-d tensor route applies).
        Tests that need a full-rank covariance (Mardia, Henze-Zirkler, Doornik-Hansen, energy) are
        skipped with a :class:`~gaussprobe.RankDeficiencyWarning` when ``n_samples <= n_features`` or
        the covariance is singular; the principal directions below 40 rows with a
        :class:`~gaussprobe.SmallSampleWarning`; Royston's test outside 4 <= n <= 5000 without one.
        ``report.skipped`` records a ``Skip(test, code, message)`` for each, and the warning class
        follows from the code (the requirements are those of the registry of statistics). ``"all"`` runs every test that is
        defined for the data. Tests named explicitly always run, and raise their own ``ValueError``
        where they are undefined.
    alpha : float
        Level used for pass fractions and rejected fractions.
    dtype : {"float64", "float32"}
        Compute precision (recorded as ``compute_dtype``).
    block_size : int, optional
        Rows per block for blocked passes (default: from an 8 MiB budget per block).
    n_null : int, optional
        Monte-Carlo replicates of the sliced distance under the Gaussian null (default: automatic,
        from a cost budget; see :func:`~gaussprobe.isotropic_distance`).
    n_resamples : int
        Parametric-bootstrap resamples for the energy test (only when it runs).
    progress : bool or None
        Report each pass and statistic as a named step (see :mod:`gaussprobe._progress`): a transient
        bar per step on a terminal, a line per step elsewhere. ``None`` (default): only inside an
        enclosing ``_progress.reporting()`` block, as the command line opens; ``False``: never.

    Returns
    -------
    GaussianityReport

    Examples
    --------
    >>> import numpy as np, gaussprobe as gp
    >>> x = np.random.default_rng(0).standard_normal((1000, 32))
    >>> report = gp.analyze(x, rng=0)
    >>> print(f"{report.coordinates.ad_mean:.2f}")
    0.39
    """
    from ._budget import check_budget
    from ._random import spawn_generators

    chosen, mode = _resolve_tests(tests)
    check_positive_int(n_projections, "n_projections")
    check_probability(alpha, "alpha")
    check_choice(dtype, "dtype", ("float64", "float32"))
    check_positive_int(n_resamples, "n_resamples", minimum=0)
    if progress is not None and not isinstance(progress, bool):
        msg = f"`progress` must be True, False or None; got {progress!r}."
        raise TypeError(msg)
    if n_null is not None:
        check_positive_int(n_null, "n_null", minimum=0)
    if block_size is not None:
        check_positive_int(block_size, "block_size")
    emb = check_embeddings(x, dtype=dtype)
    n, d = emb.n_samples, emb.n_features
    check_budget(n_samples=n, n_features=d, where="analyze",
                 n_projections=n_projections if {"projections", "distance"} & set(chosen) else None,
                 n_null=n_null if "distance" in chosen else None,
                 n_resamples=n_resamples if "energy" in chosen else None, block_size=block_size,
                 tiles=bool({"mardia", "henze_zirkler", "energy"} & set(chosen)),
                 itemsize=4 if dtype == "float32" else 8)
    seed = seed_of(rng)

    # Independent streams so adding a test never changes another test's directions: projections,
    # sliced null, energy, principal split, pursuit, and the root of one stream per registry runner.
    seeds = spawn_generators(rng, 6)

    if n < d and n < 100:
        warnings.warn(f"x has {n} rows and {d} columns: fewer samples than features. If each row should "
                      "be one embedding this is expected; if the array may be transposed (one embedding "
                      "per column), pass x.T.", ShapeWarning, stacklevel=2)
    from ._analysis import run_analysis

    out = run_analysis(emb, chosen, mode, n_projections=n_projections, alpha=alpha, dtype=dtype,
                       block_size=block_size, n_null=n_null, n_resamples=n_resamples, seed=seed,
                       seeds=seeds, mardia_skewness=_mardia_skewness_by_default,
                       step=lambda name: _progress.step(name, progress=progress))
    _warn_skips(out.skipped)
    return GaussianityReport(
        schema_version=SCHEMA_VERSION, gaussprobe_version=__version__, n_samples=n, n_features=d,
        backend=emb.backend, device=device_name(emb.device), compute_dtype=dtype, seed=seed, alpha=alpha,
        n_projections=n_projections, tests=tuple(t for t in chosen if t not in out.skipped),
        skipped=out.skipped, timings=out.timings, **out.results)


def _stream(root: Any, index: int) -> Any:
    """Child ``index`` of the seed sequence behind ``root``: one independent stream per test."""
    import numpy as np

    seq = root.bit_generator.seed_seq
    return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, index)))


def _warn_skips(skipped: Mapping[str, Skip]) -> None:
    """One warning per warning class, naming the tests skipped for its codes and the first reason."""
    by_class: dict[type[Warning], list[Skip]] = {}
    for s in skipped.values():
        if s.warning is not None:
            by_class.setdefault(s.warning, []).append(s)
    for cls, skips in by_class.items():
        warnings.warn(f"Skipped {[s.test for s in skips]}: {skips[0].message}", cls, stacklevel=3)


def _mardia_skewness_by_default(n: int, d: int) -> bool:
    """Whether the default run computes Mardia's skewness: calibrated at (n, d) and affordable.

    The kurtosis (``O(n d^2)``, exact finite-n moments, calibrated at every size) always runs; the
    skewness costs ``O(n^2 d)`` (or ``O(n d^3)``) and its null needs ``n >= 2 d^2`` or a Monte-Carlo
    simulation, so it runs by default only when both fit their budgets.
    """
    from .stats.mardia import skewness_plan

    if min(float(n) * n * d, float(n) * d**3 / 2) > MARDIA_DEFAULT_FLOP_BUDGET:
        return False
    return skewness_plan(n, d)[0] != "not calibrated"


def _fields_mismatch() -> str | None:
    """Why the report's statistic fields differ from the registry's (None when they match)."""
    names = [f.name for f in dataclasses.fields(GaussianityReport)]
    own = names[names.index("tests") + 1: names.index("skipped")]
    expected = [f for f, _ in registry.REPORT_FIELDS]
    hints = typing.get_type_hints(GaussianityReport, localns=registry.type_namespace())
    if own != expected or any(hints[f] != (cls | None) for f, cls in registry.REPORT_FIELDS):
        return (f"GaussianityReport's statistic fields {own} differ from the registry's {expected} (or their "
                "types do); regenerate them with `python -m gaussprobe._schema --write`.")
    return None


#: Set when the generated fields are out of date: every report then refuses to be built (loudly),
#: while the package still imports, so that the generator can rewrite them.
_STALE_FIELDS = _fields_mismatch()

__all__ = ["ALL_TESTS", "DEFAULT_TESTS", "SCHEMA_VERSION", "GaussianityReport", "analyze"]
