"""``analyze(x)``: every statistic in one call, and the :class:`GaussianityReport` that holds them.

The report holds the same result objects the individual functions return, plus provenance (sizes,
backend, device, compute dtype, seed, version). It passes no judgement: only :meth:`check` does,
against a :class:`~gaussprobe.criteria.Criteria`.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, cast

from . import __version__, _progress
from ._backend import device_name
from ._random import seed_of
from ._results import Result
from ._typing import ArrayLike, DTypeName, RNGLike
from ._validation import (
    check_choice,
    check_embeddings,
    check_positive_int,
    check_probability,
)
from ._warnings import RankDeficiencyWarning, ShapeWarning
from .criteria import DEFAULT_PRESET, CheckOutcome, Criteria

#: Version of the JSON layout produced by :meth:`GaussianityReport.to_dict` (see docs/report_schema.md).
SCHEMA_VERSION = "1.0"

ALL_TESTS: tuple[str, ...] = ("thin_shell", "coordinates", "projections", "distance",
                              "principal_directions", "pursuit", "mardia", "henze_zirkler", "royston",
                              "doornik_hansen", "energy")
#: Run by default. Mardia runs by default only when affordable (see ``analyze``).
DEFAULT_TESTS: tuple[str, ...] = ("thin_shell", "coordinates", "projections", "distance",
                                  "principal_directions", "pursuit", "mardia", "doornik_hansen")
from ._analysis import NEEDS_FULL_RANK as _NEEDS_FULL_RANK

#: Above this dimension Royston's test is not run unless named (measured miscalibrated; see docs).
_ROYSTON_MAX_FEATURES = 50
#: Floating-point operations above which the default run skips Mardia's O(n^2 d) skewness.
MARDIA_DEFAULT_FLOP_BUDGET = 2.5e11


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class GaussianityReport(Result):
    """Everything :func:`analyze` measured, with provenance.

    Each statistic field holds the result object of the function of the same name (``thin_shell``,
    ``coordinate_normality``, ``projection_normality``, ``isotropic_distance``, ``mardia``, ...) or
    ``None`` when it was not run; ``skipped`` says why for each test that was asked for but not run.
    """

    schema_version: str
    gaussprobe_version: str
    n_samples: int
    n_features: int
    backend: str
    device: str
    compute_dtype: str
    seed: int | None
    alpha: float
    n_projections: int
    tests: tuple[str, ...]
    thin_shell: Any = None
    thin_shell_centered: Any = None
    coordinates: Any = None
    projections: Any = None
    distance: Any = None
    principal_directions: Any = None
    pursuit: Any = None
    mardia: Any = None
    henze_zirkler: Any = None
    royston: Any = None
    doornik_hansen: Any = None
    energy: Any = None
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

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
        if criteria is None:
            crit = Criteria.from_mapping(limits) if only else Criteria.preset(DEFAULT_PRESET, **limits)
        elif only:
            msg = "`only=True` builds criteria from the limits alone; pass no `criteria` with it."
            raise TypeError(msg)
        elif isinstance(criteria, str):
            crit = Criteria.preset(criteria, **limits)
        elif isinstance(criteria, Criteria):
            crit = dataclasses.replace(criteria, **cast("dict[str, Any]", limits)) if limits else criteria
        elif isinstance(criteria, Mapping):
            crit = Criteria.from_mapping({**criteria, **limits})
        else:
            msg = (f"`criteria` must be a Criteria, a preset name or a mapping of limits; got "
                   f"{type(criteria).__name__}.")
            raise TypeError(msg)
        return crit.evaluate(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (NaN and infinities become ``null``); layout versioned by ``schema_version``."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /) -> GaussianityReport:
        """Rebuild a report from :meth:`to_dict` (the real result classes, so :meth:`check` works).

        ``data`` may also be the output of ``gaussprobe analyze --format json`` (its ``source`` and
        ``notes`` are dropped) or ``gaussprobe check --format json`` (its ``report``). Values written as
        ``null`` come back as NaN where the field is a float. A report of another ``schema_version``
        raises a ``ValueError`` naming both versions (there is no migration).
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


def _resolve_tests(tests: Iterable[str] | str | None) -> tuple[tuple[str, ...], str]:
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
        the covariance is singular (and Royston's test outside 4 <= n <= 5000); ``report.skipped``
        records why. ``"all"`` runs every test that is defined for the data. Tests named explicitly
        always run, and raise their own ``ValueError`` where they are undefined.
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

    # Independent streams so adding a test never changes another test's directions.
    seeds = spawn_generators(rng, 5)  # projections, sliced null, energy, principal split, pursuit

    if n < d and n < 100:
        warnings.warn(f"x has {n} rows and {d} columns: fewer samples than features. If each row should "
                      "be one embedding this is expected; if the array may be transposed (one embedding "
                      "per column), pass x.T.", ShapeWarning, stacklevel=2)
    from ._analysis import run_analysis

    out = run_analysis(emb, chosen, mode, n_projections=n_projections, alpha=alpha, block_size=block_size,
                       n_null=n_null, n_resamples=n_resamples, seed=seed, seeds=seeds,
                       skip_reason=_skip_reason, mardia_skewness=_mardia_skewness_by_default,
                       step=lambda name: _progress.step(name, progress=progress))
    skipped = out.skipped
    rank_skips = [k for k, v in skipped.items() if "rank" in v or "n_samples" in v]
    if rank_skips:
        warnings.warn(f"Skipped {rank_skips}: {skipped[rank_skips[0]]}", RankDeficiencyWarning,
                      stacklevel=2)
    return GaussianityReport(
        schema_version=SCHEMA_VERSION, gaussprobe_version=__version__, n_samples=n, n_features=d,
        backend=emb.backend, device=device_name(emb.device), compute_dtype=dtype, seed=seed, alpha=alpha,
        n_projections=n_projections, tests=tuple(t for t in chosen if t not in skipped), skipped=skipped,
        timings=out.timings, **out.results)


def _skip_reason(name: str, *, n: int, d: int, rank: int, mode: str) -> str | None:
    if mode == "explicit":
        return None  # a test asked for by name runs, and raises its own error where it is undefined
    needs_rank = name in _NEEDS_FULL_RANK
    if needs_rank and n <= d + 1:
        return (f"needs n_samples >= n_features + 2 for a full-rank covariance and a defined null "
                f"(n_samples={n}, n_features={d}); use gaussprobe.principal_projection(x, n_components=k) "
                "with k <= n_samples - 2")
    if needs_rank and rank < d:
        return (f"covariance has numerical rank {rank} < n_features={d}; project onto the non-null subspace "
                f"with gaussprobe.principal_projection(x, n_components={rank}) and run it on that")
    if name == "royston" and mode != "explicit" and d > _ROYSTON_MAX_FEATURES:
        return (f"not run at d={d} > {_ROYSTON_MAX_FEATURES}: Royston's test is not affine invariant, so no "
                "exact Monte-Carlo null exists, and its chi2 (equivalent df) over-rejects at embedding "
                "sizes (measured 8-27% at the 5% level for d = 64-128); name it in tests to run it anyway")
    if name == "royston" and not 4 <= n <= 5000:
        return f"Royston's test is defined for 4 <= n_samples <= 5000 (got n_samples={n})"
    if name == "pursuit" and mode == "default":
        from .stats import _null
        from .stats.directions import DEFAULT_MAX_ITER, DEFAULT_RESTARTS, pursuit_flop

        cost = pursuit_flop(n, d, 3, DEFAULT_RESTARTS, DEFAULT_MAX_ITER) * (_null.DEFAULT_NULL_DRAWS + 1)
        if cost > _null.NULL_FLOP_BUDGET:
            return (f"skipped by default: the search and its Monte-Carlo null would cost ~{cost:.2g} flop at "
                    f"n={n}, d={d} (budget {_null.NULL_FLOP_BUDGET:.2g}); pass tests=[..., 'pursuit'] to run it")
    if name == "henze_zirkler" and mode != "explicit":
        from .stats.henze_zirkler import informative_at

        informative, why = informative_at(n, d)
        if not informative:
            return f"not run: {why}"
    return None


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


__all__ = ["ALL_TESTS", "DEFAULT_TESTS", "SCHEMA_VERSION", "GaussianityReport", "analyze"]
