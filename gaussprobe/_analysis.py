"""The pass plan behind :func:`gaussprobe.analyze`: every requested statistic from as few reads of the
data as their dependencies allow.

========================  ==========================================================================
pass                      what it computes (each row state runs once per block; see ``docs/scaling.md``)
========================  ==========================================================================
row pass 1                mean and covariance (of each half too, for the principal directions), the
                          row norms, and the random projections (into memory or a spill folder)
row pass 2                needs the mean and covariance of pass 1: centred norms, Mardia's kurtosis
                          (or its tensor-route skewness), the Doornik–Hansen power sums, and the held-out
                          projections of the principal-direction test
column passes             the per-coordinate tests on the data's columns; the projection tests and the
                          sliced distance on the projections' columns
tile passes, host work    Mardia's Gram route, Henze–Zirkler, energy (whitened rows in memory), the
                          projection pursuit (whitened rows on the host), Royston (sorted columns)
========================  ==========================================================================

The statistics finish as pure functions of these outputs (``finish_*`` in their modules), the same
functions their stand-alone entry points call, so ``analyze`` and the individual functions agree.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ._random import random_directions
from ._validation import Embeddings, check_embeddings


@dataclasses.dataclass
class Outcome:
    """What a run produced: results by report field, skip reasons, and timings per step (seconds)."""

    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    skipped: dict[str, Any] = dataclasses.field(default_factory=dict)  # test -> registry Skip
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    step: Callable[[str], Any] | None = None

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time a stage (added to ``timings[name]``) and report it as a progress step of that name."""
        t0 = time.perf_counter()
        try:
            with self.step(name) if self.step is not None else _nothing():
                yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t0, 6)


def run_analysis(emb: Embeddings, chosen: tuple[str, ...], mode: str, *, n_projections: int,
                 alpha: float, dtype: str, block_size: int | None, n_null: int | None, n_resamples: int,
                 seed: int | None, seeds: list[np.random.Generator],
                 mardia_skewness: Callable[[int, int], bool],
                 step: Callable[[str], Any] | None = None) -> Outcome:
    """Run the passes for the tests in ``chosen`` and finish every statistic.

    ``seeds`` are the independent generators of the projections, the sliced null, the energy test, the
    principal-direction split, the pursuit and the root of the registry runners' streams (in that
    order). Which tests are skipped, and why, is the registry's (:mod:`gaussprobe._registry`);
    ``mardia_skewness(n, d)`` says whether the default run computes Mardia's skewness; ``step(name)``,
    when given, is a context manager reporting progress.
    """
    from . import _registry as registry
    from ._engine import executor_for
    from ._engine._states import Projector, RowValues, SecondMoments, spread_shift
    from .stats import _moments
    from .stats.coordinates import _columns_per_block, finish_coordinates, warn_small_sample
    from .stats.directions import MIN_SPLIT_SAMPLES as _pdt_min
    from .stats.directions import _fold_labels, fold_moments_state, plan_principal_directions
    from .stats.projections import finish_projections
    from .stats.thin_shell import finish_thin_shell, norm_center
    from .stats.univariate import ORDER_STATISTIC_POINTS, default_columns_per_block

    proj_seed, dist_seed, energy_seed, pca_seed, pursuit_seed, entry_seed = seeds
    out = Outcome(step=step)
    n, d = emb.n_samples, emb.n_features
    ex = executor_for(emb, block_size=block_size)
    rank_box: dict[str, int] = {}
    sizes = registry.Sizes(n=n, d=d, mode=mode, rank_of=lambda: rank_box["rank"])  # type: ignore[arg-type]

    def skipped(name: str) -> bool:
        """Record why ``name`` does not run (its first unmet requirement); True when it does not."""
        found = registry.statistic(name).skip(sizes)
        if found is not None:
            out.skipped[name] = found
        return found is not None

    # ------------------------------------------------------------------ what the tests need
    wants_proj = "projections" in chosen or "distance" in chosen
    pdt = "principal_directions" in chosen and not skipped("principal_directions")
    if pdt:
        check_embeddings(emb, min_samples=_pdt_min)  # named explicitly: the test's own error
    needs_rank = frozenset(s.name for s in registry.STATISTICS if registry.FULL_RANK in s.requires)
    later = [t for t in chosen if t in needs_rank or t == "royston" or registry.statistic(t).run is not None
             or registry.statistic(t).second_pass is not None]
    wants_cov = n > d and ("distance" in chosen or any(t in needs_rank for t in chosen))
    wants_mean = "thin_shell" in chosen

    # ------------------------------------------------------------------ row pass 1
    directions = random_directions(d, n_projections, proj_seed) if wants_proj else np.empty((d, 0))
    states: dict[str, Any] = {}
    labels = None
    if pdt:
        labels = _fold_labels(n, d, pca_seed)
        states["folds"] = fold_moments_state(emb, labels)
    elif wants_cov or wants_mean:
        states["moments"] = SecondMoments(shift=spread_shift(emb), products=wants_cov)
    if "thin_shell" in chosen:
        states["norms"] = RowValues()
    col_sink = None
    if "coordinates" in chosen:
        from ._engine._states import ColumnWriter

        data_cols = _columns_per_block(None, emb)
        col_sink = ex.data_column_sink(emb, width=data_cols)
        if col_sink is not None:  # a lazy input: its columns are spilled by this pass (no extra read)
            states["columns"] = ColumnWriter(sink=col_sink)
    sink = None
    proj_cols = 0
    deferred_projector = None
    if wants_proj:
        proj_cols = default_columns_per_block(emb.xp, n, n_projections, emb.device)
        sink = ex.projection_sink(emb, n_projections, width=proj_cols)
        projector = Projector(directions=directions, sink=sink)
        if col_sink is not None:  # two spills never coexist: the projections go with the second pass
            deferred_projector = projector
        else:
            states["projections"] = projector
    try:
        pass1: dict[str, Any] = {}
        if states:
            with out.timed("row_pass_1"):
                names = list(states)
                pass1 = dict(zip(names, ex.row_pass(emb, [states[k] for k in names]), strict=True))
        moments = folds = None
        if "folds" in pass1:
            folds = pass1["folds"].result()
            moments = folds[2]
        elif "moments" in pass1:
            moments = pass1["moments"].result()
        full_moments = moments if moments is not None and moments.m2 is not None else None

        # ------------------------------------------------------------------ decisions after pass 1
        if later:
            if full_moments is None:  # n <= d, or only Royston asked for: one more pass
                with out.timed("covariance"):
                    full_moments = _moments.covariance_state(emb, block_size=block_size)
            rank_box["rank"] = _moments.spectrum(full_moments.covariance(), emb.xp, vectors=False).rank
        runnable = [name for name in later if not skipped(name)]
        context = {name: registry.RunContext(alpha=alpha, dtype=dtype, block_size=block_size,  # type: ignore[arg-type]
                                             mode=mode, n_resamples=n_resamples,  # type: ignore[arg-type]
                                             rng=_stream(entry_seed, registry.ALL_TESTS.index(name)))
                   for name in runnable}

        res_coordinates = None
        if col_sink is not None:  # the spilled columns first, so that their folder is freed early
            with out.timed("coordinates"):
                res_coordinates = ex.data_column_tests(emb, block_size=data_cols, sink=col_sink,
                                                       order_points=ORDER_STATISTIC_POINTS)
            ex.release(col_sink)
            col_sink = None

        # ------------------------------------------------------------------ row pass 2
        second: dict[str, Any] = {}
        if deferred_projector is not None:
            second["projections"] = deferred_projector
        rows_hint: list[int] = []
        mardia_plan = None
        if "thin_shell" in chosen:
            assert moments is not None
            second["centred_norms"] = RowValues(center=norm_center(emb, moments.mean))
        if "mardia" in runnable:
            mardia_plan = _mardia_plan(emb, mode, full_moments, block_size, mardia_skewness)
            if mardia_plan["state"] is not None:
                second["mardia"] = mardia_plan["state"]
                rows_hint.append(mardia_plan["rows"])
        for name in runnable:  # the registry's one-state statistics join the second pass
            entry = registry.statistic(name)
            if entry.second_pass is not None:
                from ._backend import block_rows_for

                assert full_moments is not None
                second[name] = entry.second_pass(emb, full_moments)
                rows_hint.append(block_rows_for(d))
        pursuit_wh = None
        if "pursuit" in runnable:  # the search reads whitened rows on the host: gathered here
            from .stats._whiten import whiten
            from .stats.directions import whitened_state

            pursuit_wh = whiten(emb, what="least_gaussian_direction", state=full_moments)
            second["pursuit"] = whitened_state(pursuit_wh)
        plan = None
        if pdt:
            assert labels is not None
            assert folds is not None
            plan = plan_principal_directions(emb, labels, folds, k=None)
            second["principal_directions"] = plan.state()
        pass2: dict[str, Any] = {}
        if second:
            names = list(second)
            bs = block_size or (min(rows_hint) if rows_hint else None)
            if deferred_projector is not None and second.keys() == {"projections"}:
                bs = block_size
            with out.timed("row_pass_2"):
                pass2 = dict(zip(names, ex.row_pass(emb, [second[k] for k in names], block_size=bs),
                                 strict=True))

        # ------------------------------------------------------------------ finish: one-pass statistics
        if "thin_shell" in chosen:
            with out.timed("thin_shell"):
                out.results["thin_shell"] = finish_thin_shell(emb, pass1["norms"].result(), center=None)
                out.results["thin_shell_centered"] = finish_thin_shell(
                    emb, pass2["centred_norms"].result(), center=second["centred_norms"].center)

        # ------------------------------------------------------------------ column passes
        if "coordinates" in chosen:
            with out.timed("coordinates"):
                warn_small_sample(n)
                res = res_coordinates if res_coordinates is not None else ex.data_column_tests(
                    emb, block_size=data_cols, sink=col_sink, order_points=ORDER_STATISTIC_POINTS)
                out.results["coordinates"] = finish_coordinates(res, n=n, d=d, alpha=alpha)
        proj_res = None
        if wants_proj:
            from .stats.distance import normal_cell_means

            with_w2 = "distance" in chosen and d >= 2
            with out.timed("projections"):
                warn_small_sample(n)
                cells = None
                if with_w2:
                    m, floor = normal_cell_means(n)
                    cells = (ex.column_array(emb, m), floor)
                proj_res = ex.sink_column_tests(sink, dtype=emb.float, block_size=proj_cols,
                                                cell_means=cells, order_points=ORDER_STATISTIC_POINTS)
                if "projections" in chosen:
                    out.results["projections"] = finish_projections(
                        proj_res, n=n, n_features=d, seed=seed, alpha=alpha)
    finally:
        for spilled in (sink, col_sink):
            if spilled is not None:
                ex.release(spilled)

    if "distance" in chosen and not skipped("distance"):
        from .stats.distance import finish_distance
        from .stats.spectrum import centred_moments

        with out.timed("distance"):
            cm = centred_moments(emb, block_size=block_size, state=full_moments if n > d else None)
            assert proj_res is not None
            out.results["distance"] = finish_distance(emb, cm, directions, proj_res.w2, rng=dist_seed,
                                                      n_null=n_null)
    if plan is not None:
        from .stats.directions import finish_principal_directions

        with out.timed("principal_directions"):
            out.results["principal_directions"] = finish_principal_directions(
                emb, plan, pass2["principal_directions"].result(), alpha=alpha)

    # ------------------------------------------------------------------ multivariate tests
    for name in runnable:
        entry = registry.statistic(name)
        with out.timed(name):
            if entry.finish is not None:
                out.results[name] = entry.finish(emb, pass2[name].result(), context[name])
            elif entry.run is not None:
                out.results[name] = entry.run(emb, context[name])
            else:
                out.results[name] = _finish_multivariate(
                    name, emb, full_moments, pass2, mardia_plan, block_size=block_size,
                    n_resamples=n_resamples, energy_seed=energy_seed, pursuit_seed=pursuit_seed,
                    pursuit_wh=pursuit_wh)
    return out


def _stream(root: Any, index: int) -> Any:
    """Child ``index`` of the seed sequence behind ``root``: one independent stream per test."""
    seq = root.bit_generator.seed_seq
    return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, index)))


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _mardia_plan(emb: Embeddings, mode: str, moments: Any, block_size: int | None,
                 mardia_skewness: Callable[[int, int], bool]) -> dict[str, Any]:
    """Which route Mardia's statistics take and, for the one-pass routes, their pass-2 state."""
    from .stats import mardia as _m
    from .stats._whiten import whiten

    n, d = emb.n_samples, emb.n_features
    skew = mode != "default" or mardia_skewness(n, d)
    wh = whiten(emb, what=_m._WHAT, covariance="biased", state=moments)
    route = _m._choose_method(n, d, "auto") if skew else "none"
    plan: dict[str, Any] = {"route": route, "wh": wh, "state": None, "rows": 0}
    if route == "none":
        plan["state"] = _m.kurtosis_state(wh)
        from .stats._moments import pass_rows

        plan["rows"] = pass_rows(d)
    elif route == "tensor":
        plan["state"], plan["rows"] = _m.tensor_state(wh, block_size)
    return plan


def _finish_multivariate(name: str, emb: Embeddings, moments: Any, pass2: dict[str, Any],
                         mardia_plan: dict[str, Any] | None, *, block_size: int | None,
                         n_resamples: int, energy_seed: Any, pursuit_seed: Any,
                         pursuit_wh: Any = None) -> Any:
    n = emb.n_samples
    if name == "mardia":
        from .stats import mardia as _m

        assert mardia_plan is not None
        route = mardia_plan["route"]
        if route == "none":
            b1, b2 = math.nan, pass2["mardia"].result() / n
        elif route == "tensor":
            b1, b2 = pass2["mardia"].result()
        else:
            from .stats._whiten import warn_if_tf32

            warn_if_tf32(emb, _m._WHAT)
            kernel = _m._resolve_engine("auto", "numpy" if emb.on_host else emb.backend, n)
            b1, b2 = _m._gram_route(mardia_plan["wh"], block_size, kernel)
        return _m._result(b1, b2, n=n, d=emb.n_features, covariance="biased", method=route, null="auto",
                          draws=_m.MAX_NULL_DRAWS, budget=None)
    if name == "henze_zirkler":
        from .stats import _null
        from .stats.henze_zirkler import MAX_NULL_DRAWS, run_henze_zirkler

        return run_henze_zirkler(emb, covariance="biased", block_size=block_size, null="auto",
                                 max_draws=MAX_NULL_DRAWS, budget=_null.NULL_FLOP_BUDGET, moments=moments)
    if name == "energy":
        from .stats.energy import run_energy_test

        return run_energy_test(emb, n_resamples=n_resamples, rng=energy_seed, block_size=block_size,
                               moments=moments)
    if name == "royston":
        from .stats.royston import run_royston

        # the calibrated column rule (MVN's kurtosis-based switch over-rejects; see royston's Notes)
        return run_royston(emb, column_test="shapiro-wilk", moments=moments)
    from .stats import _null
    from .stats.directions import DEFAULT_MAX_ITER, DEFAULT_RESTARTS, run_least_gaussian_direction

    return run_least_gaussian_direction(emb, rng=pursuit_seed, contrast="auto", n_restarts=DEFAULT_RESTARTS,
                                        max_iter=DEFAULT_MAX_ITER, draws=_null.DEFAULT_NULL_DRAWS,
                                        budget=_null.NULL_FLOP_BUDGET, moments=moments,
                                        whitened=(pursuit_wh, pass2["pursuit"].result()))


__all__ = ["Outcome", "run_analysis"]
