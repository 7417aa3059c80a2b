"""Memory and time budgets for the size knobs, checked before any work starts.

Every knob that sets how much work a call does (``n_projections``, ``n_null``, ``n_resamples``,
``block_size``) has an estimate here of the memory it needs and of the time it takes. The public
functions check them right after validating the input, so a request such as
``analyze(x, n_projections=10**9)`` fails at once with the estimate, the budget and how to change it,
instead of running for an hour while its memory grows.

The budgets:

* memory: ``GAUSSPROBE_MAX_MEMORY`` (bytes, or with a suffix ``K``/``M``/``G``/``T`` in powers of
  1024, e.g. ``64G``); default half of the machine's physical memory (8 GiB where it cannot be read);
* time: ``GAUSSPROBE_MAX_SECONDS`` (seconds, or with a suffix ``s``/``m``/``h``, e.g. ``3h``);
  default one hour.

``none`` (or ``inf``) in either variable disables that check. In code, :func:`budget` sets them for a
``with`` block (it takes precedence over the environment)::

    from gaussprobe._budget import budget
    with budget(memory="64G", seconds="6h"):
        report = gaussprobe.analyze(x, n_projections=100_000)

The estimates are deliberately simple (a few terms per knob, calibrated on NumPy on a small CPU
machine, see :data:`OPS_PER_SECOND`): they are meant to catch requests that are off by orders of
magnitude, not to predict running times to the second. Memory counts the arrays each knob makes on
the input's device or the host, whichever holds them.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from ._validation import check_positive_int

#: Environment variable with the memory budget (bytes or ``64G``; ``none`` disables the check).
MEMORY_ENV = "GAUSSPROBE_MAX_MEMORY"
#: Environment variable with the time budget (seconds or ``3h``; ``none`` disables the check).
TIME_ENV = "GAUSSPROBE_MAX_SECONDS"
#: Default time budget in seconds.
DEFAULT_MAX_SECONDS = 3600.0
#: Memory budget used when the physical memory cannot be read.
FALLBACK_MAX_MEMORY = 8 * 2**30
#: Work units per second assumed by the time estimates: one unit is about one multiply-add of a
#: matrix product, or one element step of a sort or a vectorised NumPy pass. Calibrated on NumPy with
#: two busy cores (projection tests ≈ 30 ns per projected value at d = 64, the energy statistic
#: ≈ 7 ns per pair of rows at d = 8); faster machines finish sooner than estimated.
OPS_PER_SECOND = 1e10

_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}
_TIME_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_OVERRIDE: contextvars.ContextVar[tuple[float | None, float | None]] = contextvars.ContextVar(
    "gaussprobe_budget", default=(None, None))


class BudgetExceededError(ValueError):
    """A size knob asks for more memory or time than the budget allows (see :mod:`gaussprobe._budget`)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Estimate:
    """What one knob costs: bytes of memory at its peak and seconds of work (both rough)."""

    knob: str
    value: int
    bytes: float
    seconds: float
    what: str


# ------------------------------------------------------------------------------------- estimates
def _log2(n: int) -> float:
    return math.log2(max(2, n))


def estimate_projections(n: int, d: int, k: int, *, itemsize: int = 8) -> Estimate:
    """``n_projections = k``: the ``(d, k)`` float64 directions, the ``(n, k)`` projections in the
    compute dtype (held in memory up to :data:`~gaussprobe._engine._executor.PROJECTIONS_IN_MEMORY_BYTES`,
    spilled to the temporary folder beyond) and the column blocks being sorted; work
    ``n k (2 d + 8 log2 n)`` (product, sort, tests) plus ``k d²`` for the orthonormal frames."""
    from ._engine._executor import PROJECTIONS_IN_MEMORY_BYTES

    held = min(float(itemsize) * n * k, float(PROJECTIONS_IN_MEMORY_BYTES))
    memory = 8.0 * d * k + held + 64 * 2**20
    work = float(n) * k * (2.0 * d + 8.0 * _log2(n)) + float(k) * d * d
    return Estimate("n_projections", k, memory, work / OPS_PER_SECOND,
                    "the (n_samples, n_projections) projections and the directions")


def estimate_null(n: int, d: int, k: int, n_null: int) -> Estimate:
    """``n_null`` sliced-distance replicates: each draws ``n min(d, k)`` normals and sorts ``n k``
    values; at most 8 replicates are in memory at once (within 1 GiB, as the null code bounds it)."""
    per_replicate = 4.0 * n * (k + min(d, k))
    memory = min(float(2**30), 8 * per_replicate) + 8.0 * n_null
    work = float(n_null) * n * k * (8.0 * _log2(n) + 40.0)
    return Estimate("n_null", n_null, memory, work / OPS_PER_SECOND,
                    "the Monte-Carlo replicates of the sliced distance's null")


def estimate_resamples(n: int, d: int, n_resamples: int) -> Estimate:
    """``n_resamples`` energy-test bootstrap samples: each is an ``(n, d)`` Gaussian sample whose
    statistic costs ``n² (d + 60)`` (all pairs of rows) plus its whitening."""
    memory = 16.0 * n * d + 8.0 * n_resamples
    work = (n_resamples + 1.0) * (float(n) * n * (d + 60.0) + 4.0 * n * d * d)
    return Estimate("n_resamples", n_resamples, memory, work / OPS_PER_SECOND,
                    "the parametric-bootstrap samples of the energy test")


def estimate_block(n: int, d: int, block_size: int, *, tiles: bool = False,
                   columns: bool = False) -> Estimate:
    """``block_size`` per block: a few float64 blocks per worker thread, ``block × d`` for row passes,
    ``block × block`` for the pairwise tiles (``tiles=True``) or ``n × block`` for column passes
    (``columns=True``, the coordinate and projection tests); a block never exceeds the input. The work
    does not depend on it."""
    workers = max(1, min(os.cpu_count() or 1, 8))
    if columns:
        b = float(min(block_size, d))
        memory, what = 4.0 * 8 * n * b, "the column blocks of n_samples × block_size values per thread"
    elif tiles:
        b = float(min(block_size, n))
        memory, what = 3.0 * 8 * b * b, "the pairwise tiles of block_size² values per thread"
    else:
        b = float(min(block_size, n))
        memory, what = 2.0 * 8 * b * d, "the row blocks of block_size × n_features values per thread"
    return Estimate("block_size", block_size, memory * workers, 0.0, what)


# --------------------------------------------------------------------------------------- budgets
def _parse(text: str, units: dict[str, Any], name: str, example: str) -> float:
    s = text.strip().lower().replace(" ", "")
    if s in {"none", "inf", "infinity", "unlimited", "off"}:
        return math.inf
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)([a-z]*?)(?:ib|b)?", s)
    if m is None or m.group(2) not in units:
        msg = (f"{name}={text!r} is not a budget; expected a positive number with an optional unit, "
               f"e.g. {name}={example}, or 'none' to disable the check.")
        raise ValueError(msg)
    value = float(m.group(1)) * float(units[m.group(2)])
    if not value > 0:
        msg = f"{name}={text!r} must be positive (e.g. {name}={example}), or 'none' to disable the check."
        raise ValueError(msg)
    return value


def _physical_memory() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None
    return float(pages) * float(size) if pages > 0 and size > 0 else None


def memory_budget() -> float:
    """Bytes allowed (``inf`` when disabled): :func:`budget`, else ``GAUSSPROBE_MAX_MEMORY``, else half
    the physical memory (8 GiB where it cannot be read)."""
    override = _OVERRIDE.get()[0]
    if override is not None:
        return override
    env = os.environ.get(MEMORY_ENV)
    if env:
        return _parse(env, _UNITS, MEMORY_ENV, "64G")
    physical = _physical_memory()
    return FALLBACK_MAX_MEMORY if physical is None else max(2.0 * 2**30, physical / 2)


def time_budget() -> float:
    """Seconds allowed (``inf`` when disabled): :func:`budget`, else ``GAUSSPROBE_MAX_SECONDS``, else
    one hour."""
    override = _OVERRIDE.get()[1]
    if override is not None:
        return override
    env = os.environ.get(TIME_ENV)
    if env:
        return _parse(env, _TIME_UNITS, TIME_ENV, "3h")
    return DEFAULT_MAX_SECONDS


@contextlib.contextmanager
def budget(*, memory: float | str | None = None, seconds: float | str | None = None) -> Iterator[None]:
    """Set the memory and/or time budget inside a ``with`` block (``"none"`` or ``math.inf``
    disables a check; ``None`` keeps the environment's or the default)."""

    def value(v: float | str | None, units: dict[str, Any], name: str, example: str) -> float | None:
        if v is None:
            return None
        if isinstance(v, str):
            return _parse(v, units, name, example)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            msg = f"`{name}` must be a positive number, a string such as {example!r}, or None; got {v!r}."
            raise ValueError(msg)
        return float(v)

    token = _OVERRIDE.set((value(memory, _UNITS, "memory", "64G"),
                           value(seconds, _TIME_UNITS, "seconds", "3h")))
    try:
        yield
    finally:
        _OVERRIDE.reset(token)


# -------------------------------------------------------------------------------------- checking
def _bytes(v: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if v >= size:
            return f"{v / size:.3g} {unit}"
    return f"{v:.0f} B"


def _duration(s: float) -> str:
    if s >= 86400:
        return f"{s / 86400:.3g} days"
    if s >= 3600:
        return f"{s / 3600:.3g} h"
    if s >= 60:
        return f"{s / 60:.3g} min"
    return f"{s:.3g} s"


def _largest_fitting(estimate: Callable[[int], Estimate], value: int, mem: float, sec: float,
                     minimum: int) -> int | None:
    """The largest knob value up to ``value`` that fits both budgets (estimates grow with it)."""
    def fits(v: int) -> bool:
        e = estimate(v)
        return e.bytes <= mem and e.seconds <= sec

    if not fits(minimum):
        return None
    lo, hi = minimum, value
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def _raise(est: Estimate, estimate: Callable[[int], Estimate], minimum: int, where: str,
           mem: float, sec: float) -> None:
    over = []
    if est.bytes > mem:
        over.append(f"the memory budget of {_bytes(mem)} ({MEMORY_ENV})")
    if est.seconds > sec:
        over.append(f"the time budget of {_duration(sec)} ({TIME_ENV})")
    best = _largest_fitting(estimate, est.value, mem, sec, minimum)
    if best is None:
        fewer = f"no value of `{est.knob}` fits this input under the budget"
    else:
        fewer = f"use `{est.knob}` <= {best}, which fits"
    msg = (f"{where}: `{est.knob}={est.value}` needs about {_bytes(est.bytes)} of memory and "
           f"{_duration(est.seconds)} of work for {est.what}, over {' and '.join(over)}. To proceed, "
           f"{fewer}; or raise the budget, e.g. {MEMORY_ENV}=64G or {TIME_ENV}=6h in the environment "
           "('none' disables a check), or in code `with gaussprobe._budget.budget(memory='64G', "
           "seconds='6h'):`. The estimates are rough (see gaussprobe._budget).")
    raise BudgetExceededError(msg)


def check_budget(*, n_samples: int, n_features: int, where: str, n_projections: int | None = None,
                 n_null: int | None = None, n_resamples: int | None = None,
                 block_size: int | None = None, tiles: bool = False, columns: bool = False,
                 itemsize: int = 8) -> None:
    """Validate the knobs that are given (not None) and check each against the budgets.

    ``where`` names the function in the message; ``tiles`` says ``block_size`` sets pairwise tiles
    (Henze–Zirkler, energy, Mardia) and ``columns`` that it counts columns (coordinate and projection
    tests) rather than rows; ``itemsize`` is the compute dtype's.
    ``n_null`` is checked together with ``n_projections`` (its cost depends on it; 256 if not given).

    Raises
    ------
    BudgetExceededError
        (a ValueError) When a knob's memory or time estimate is above the budget; the message gives the
        estimate, the budget, the largest value that fits and how to raise the budget.
    """
    n, d = int(n_samples), int(n_features)
    checks: list[tuple[Estimate, Callable[[int], Estimate], int]] = []
    if n_projections is not None:
        k = check_positive_int(n_projections, "n_projections")

        def proj(v: int) -> Estimate:
            return estimate_projections(n, d, v, itemsize=itemsize)

        checks.append((proj(k), proj, 1))
    if n_null is not None:
        r = check_positive_int(n_null, "n_null", minimum=0)
        k_null = 256 if n_projections is None else int(n_projections)

        def null(v: int) -> Estimate:
            return estimate_null(n, d, k_null, v)

        checks.append((null(r), null, 0))
    if n_resamples is not None:
        r = check_positive_int(n_resamples, "n_resamples", minimum=0)

        def resamples(v: int) -> Estimate:
            return estimate_resamples(n, d, v)

        checks.append((resamples(r), resamples, 0))
    if block_size is not None:
        b = check_positive_int(block_size, "block_size")

        def block(v: int) -> Estimate:
            return estimate_block(n, d, v, tiles=tiles, columns=columns)

        checks.append((block(b), block, 1))
    if not checks:
        return
    mem, sec = memory_budget(), time_budget()
    for est, fn, minimum in checks:
        if est.bytes > mem or est.seconds > sec:
            _raise(est, fn, minimum, where, mem, sec)


__all__ = [
    "DEFAULT_MAX_SECONDS",
    "MEMORY_ENV",
    "OPS_PER_SECOND",
    "TIME_ENV",
    "BudgetExceededError",
    "Estimate",
    "budget",
    "check_budget",
    "estimate_block",
    "estimate_null",
    "estimate_projections",
    "estimate_resamples",
    "memory_budget",
    "time_budget",
]
