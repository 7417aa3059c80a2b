"""Assertions for test suites: ``assert_gaussian_like(x, ...)`` in the style of ``numpy.testing``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, cast

from ._typing import ArrayLike, DTypeName, RNGLike


def _tests_for(crit: Any) -> Any:
    """The default run when it holds every test the criteria read (its cost limits apply), else those."""
    from .report import DEFAULT_TESTS

    needed = crit.required_tests()
    return None if set(needed) <= set(DEFAULT_TESTS) else needed


def assert_gaussian_like(
    x: ArrayLike,
    /,
    criteria: Any = None,
    *,
    rng: RNGLike = 0,
    n_projections: int = 256,
    tests: Iterable[str] | str | None = None,
    dtype: DTypeName = "float64",
    **limits: float,
) -> Any:
    """Assert that embeddings meet Gaussianity criteria; raise ``AssertionError`` explaining failures.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings (NumPy, torch on any device, ...).
    criteria : Criteria, str or mapping, optional
        The limits: a :class:`~gaussprobe.criteria.Criteria`, a preset name (``"paper"``,
        ``"gaussian"``) or a mapping such as a ``[tool.gaussprobe]`` table. Default: the ``"gaussian"``
        preset (:data:`~gaussprobe.criteria.DEFAULT_PRESET`), which an exactly Gaussian sample of any
        mean and covariance fails at most 1% of the time at every (n, d).
    rng : seed, default 0
        Seed of the random projections; fixed by default so that a test is deterministic.
    n_projections, tests, dtype
        Passed to :func:`~gaussprobe.report.analyze`. By default ``tests`` is the default run when it
        covers every statistic the criteria read, and else the tests the criteria need.
    **limits : float
        Individual limits overriding ``criteria`` (``max_cv=0.1``, ``min_ad_pass_fraction=0.9``, ...).

    Returns
    -------
    GaussianityReport
        The report, when every criterion holds (for further inspection).

    Raises
    ------
    AssertionError
        When a criterion fails. The message lists every criterion with observed value and limit,
        plus any warnings raised during the analysis (e.g. a rank-deficient covariance).
    ValueError
        For unknown criterion names or invalid input (as :func:`~gaussprobe.report.analyze`).

    Notes
    -----
    Warnings raised by the analysis are caught and reported in the failure message rather than
    propagated, so the helper behaves the same in suites that turn warnings into errors.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.testing import assert_gaussian_like
    >>> x = np.random.default_rng(0).standard_normal((2000, 16))
    >>> report = assert_gaussian_like(x, max_cv_ratio=1.5)
    >>> print(report.n_samples)
    2000
    """
    __tracebackhide__ = True  # pytest shows the assertion, not this frame
    from .criteria import resolve
    from .report import analyze

    crit = resolve(criteria, **cast("dict[str, Any]", limits))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = analyze(x, rng=rng, n_projections=n_projections, dtype=dtype,
                         tests=_tests_for(crit) if tests is None else tests)
    outcome = report.check(crit)
    if outcome.passed:
        return report
    lines = [(f"Embeddings of shape ({report.n_samples}, {report.n_features}) are not Gaussian-like "
             f"({len(outcome.failures)} of {len(outcome.results)} criteria failed):"), outcome.explain()]
    lines += [f"skipped {k}: {v.message}" for k, v in report.skipped.items()]
    seen: set[str] = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in seen:
            seen.add(text)
            lines.append(f"{w.category.__name__}: {text}")
    raise AssertionError("\n".join(lines))


__all__ = ["assert_gaussian_like"]
