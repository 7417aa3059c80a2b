"""Seeded Monte-Carlo nulls at the data's own ``(n, d)`` for affine-invariant statistics.

A statistic :math:`T` that does not change under :math:`x_i \\mapsto a + B x_i` (``B`` invertible) has
the same distribution for every Gaussian :math:`N(\\mu, \\Sigma)` -- the distribution of :math:`T` on
standard-normal samples of the same shape. Mardia's statistics, Henze-Zirkler and the energy statistic
of :func:`~gaussprobe.energy_test` are of that kind (they see the data only through
:math:`S^{-1/2}(x_i - \\bar x)`). Simulating :math:`T` on ``B`` standard-normal ``(n, d)`` samples is
therefore an exact null up to Monte-Carlo error, whatever the data's mean and covariance, and

.. math::

    p = \\frac{1 + \\#\\{b : T_b \\ge T\\}}{B + 1}

is a valid p-value for every ``B``: :math:`P(p \\le \\alpha) \\le \\alpha` for each ``alpha`` that is a
multiple of :math:`1/(B + 1)` (Davison & Hinkley 1997, Sec. 4.2), so its smallest value is
:math:`1/(B+1)`.

The draws are seeded from the test's name and ``(n, d)`` only, so a report is reproducible and the null
of one size is simulated once per process (cached) however many inputs of that size are tested.
The cost of a null is ``B`` times the cost of the statistic; every caller checks it against a flop
budget before simulating and says so when it does not fit.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable

import numpy as np

#: Monte-Carlo draws of a null when none is asked for: p-values resolve down to 1/200.
DEFAULT_NULL_DRAWS = 199
#: Floating-point operations a Monte-Carlo null may cost when none is asked for explicitly: about
#: 10 s on two cores at the 7-10 GFLOP/s these small products reach (measured: one Mardia draw at
#: (600, 384), 5e8 flop, takes 74 ms). The statistic's docstring states the cost of one draw.
NULL_FLOP_BUDGET = 1e11

Statistic = Callable[[np.ndarray], "tuple[float, ...]"]


def null_seed(test: str, n: int, d: int) -> np.random.SeedSequence:
    """The seed of the null of ``test`` at ``(n, d)``: fixed by those three alone."""
    return np.random.SeedSequence([zlib.crc32(test.encode()), int(n), int(d)])


def simulate_null(test: str, statistic: Statistic, n: int, d: int, n_draws: int) -> np.ndarray:
    """``(n_draws, k)`` values of ``statistic`` on standard-normal ``(n, d)`` samples (cached).

    ``statistic`` returns a tuple of ``k`` floats (several statistics of one draw share its cost).
    The result is cached per ``(test, n, d, n_draws)``: ``statistic`` must be the same function for
    the same ``test`` name.
    """
    return _simulate(test, statistic, int(n), int(d), int(n_draws))


@functools.lru_cache(maxsize=64)
def _simulate(test: str, statistic: Statistic, n: int, d: int, n_draws: int) -> np.ndarray:
    from .. import _progress
    from .._kernels.gram import parallel_map, split_range, worker_count

    streams = null_seed(test, n, d).spawn(n_draws)

    def run(chunk: range) -> list[tuple[float, ...]]:
        out = []
        for i in chunk:
            out.append(tuple(float(v) for v in statistic(np.random.default_rng(streams[i]).standard_normal((n, d)))))
            bar.advance()
        return out

    # draws in parallel, each on one BLAS thread: these products are small, and multithreaded BLAS
    # on small matrices mostly spins (on a busy machine, 10-20x slower than one thread)
    threads = worker_count(float("inf"))
    with _progress.step(f"{test} null", total=n_draws, unit="draw", nested=False) as bar:
        rows = [row for part in parallel_map(run, split_range(n_draws, threads), threads) for row in part]
    out = np.asarray(rows, dtype=np.float64)
    out.setflags(write=False)
    return out


def monte_carlo_pvalue(observed: float, null: np.ndarray) -> float:
    """Upper-tail Monte-Carlo p-value ``(1 + #{null >= observed}) / (len(null) + 1)``."""
    values = np.asarray(null, dtype=np.float64)
    return float((1 + np.count_nonzero(values >= observed)) / (values.size + 1))


def fits_budget(flop_per_draw: float, n_draws: int, budget: float) -> bool:
    """Whether ``n_draws`` draws of ``flop_per_draw`` each fit ``budget`` flop."""
    return flop_per_draw * n_draws <= budget


def over_budget_note(what: str, flop_per_draw: float, n_draws: int, budget: float, how: str) -> str:
    """The sentence a result carries when its Monte-Carlo null would exceed the budget."""
    return (f"{what}: a Monte-Carlo null of {n_draws} draws would cost ~{flop_per_draw * n_draws:.2g} "
            f"flop, over the budget of {budget:.2g}; {how}")


def clear_cache() -> None:
    """Forget every cached null (for tests and long-running processes)."""
    _simulate.cache_clear()


__all__ = [
    "DEFAULT_NULL_DRAWS",
    "NULL_FLOP_BUDGET",
    "clear_cache",
    "fits_budget",
    "monte_carlo_pvalue",
    "null_seed",
    "over_budget_note",
    "simulate_null",
]
