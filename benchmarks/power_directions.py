"""Smallest departure along one direction that each direction test detects, and what the tests cost.

One direction of an otherwise isotropic Gaussian sample ``N(0, I_d)`` is replaced by a non-Gaussian
variable of strength ``t``:

* ``skewed``: a standardised gamma variable of skewness ``t``;
* ``bimodal``: ``±t + sqrt(1 - t²) ν`` (unit variance, excess kurtosis ``-2 t⁴``);
* ``heavy``: a standardised Student t with ``t`` degrees of freedom (smaller is heavier; excess
  kurtosis ``6 / (t - 4)`` for ``t > 4``, infinite below);
* ``clusters``: two clusters ``±sqrt(t - 1/4) + ν / 2`` of variance ``t`` (the two-cluster example of
  docs/statistics/directions.md at ``t = 2.5``): the only departure with a variance cue, for the
  principal directions' BBP threshold.

The first three have unit variance, so PCA has no variance cue. The variable sits on an axis
(``axis``) or along a random unit vector ``u`` (``hidden``: the sample times the Householder reflection
taking ``e1`` to ``u``, an exact orthogonal map, so the hidden sample is distributed as a Haar rotation
of the axis one). The principal-direction test and the pursuit are invariant under that map (their
p-values are identical up to rounding; checked on the first draw of each departure), so they are
computed once per draw and their axis and hidden rows are the same; the coordinates are computed on
both.

**Detected** at strength ``t`` means: at least ``--detect`` (80%) of ``--draws`` (10) seeded draws give
``p <= --alpha`` (0.0025, the per-test level of the ``gaussian`` preset, Bonferroni over four p-values at
1%). The draws stop as soon as the outcome is decided (8 rejections, or 3 non-rejections of 10), and
the **smallest strength detected** is found by bisection over the grid (weakest first), assuming that
detection is monotone in ``t``: ``≤ g`` when even the weakest grid point ``g`` is detected, ``-`` when
not even the strongest is. The pursuit's p-value cannot go below ``1 / (n_null + 1)``: with its
default 199 null draws it never reaches 0.0025, so here it runs with ``n_null = 1 / alpha - 1`` (399)
and ``null_budget=math.inf``. Where ``analyze`` would not run it by default (its search and default
null cost more than the flop budget, 1e11), the table says *not run by default* with that cost, and
gives the measured result when ``--on-request`` is set and the 399-draw null costs at most
``--max-null-flop``.

The table in docs/statistics/directions.md comes from one seeded run (about 2.5 h on the shared
two-core machine under load, most of it the pursuit's 399-draw nulls at (20000, 64) and (10000, 768);
it was run in parts and resumed from its JSON file, which gives the same table)::

    nice -n 10 python benchmarks/power_directions.py --on-request --json power_directions.json
    python benchmarks/power_directions.py --render power_directions.json   # tables from saved JSON
    python benchmarks/power_directions.py --quick            # (2000, 64), 5 draws, about a minute
    python benchmarks/power_directions.py --calibration      # the two nulls of the PCA test
    python benchmarks/power_directions.py --invariance 2000  # the pursuit's affine invariance in floats

``--json`` also resumes: rows already in the file are not run again, and the pursuit's null draws are
saved as they are simulated. ``--prefix K`` decides a draw's non-rejection from the first ``K`` draws
of the pursuit's null where that bound is exact (see :func:`pursuit_pvalue`), and with a null over
``--max-null-flop`` leaves the other draws undecided instead of simulating it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import gaussprobe as gp
from gaussprobe._kernels.gram import single_threaded_blas
from gaussprobe.stats import _null
from gaussprobe.stats._null import DEFAULT_NULL_DRAWS, NULL_FLOP_BUDGET
from gaussprobe.stats.directions import (
    CONTRASTS,
    DEFAULT_MAX_ITER,
    DEFAULT_RESTARTS,
    DEFAULT_TOL,
    _null_statistic,
    least_gaussian_direction,
    principal_direction_test,
    pursuit_flop,
)

CELLS = [(2000, 64), (3000, 256), (20000, 64), (10000, 768)]
#: Strengths, weakest first.
GRIDS: dict[str, list[float]] = {
    "skewed": [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0],
    "bimodal": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0],
    "heavy": [100.0, 50.0, 30.0, 20.0, 15.0, 10.0, 8.0, 6.0, 5.0, 4.0, 3.0],
    "clusters": [1.02, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0],
}
STRENGTH = {"skewed": "skewness", "bimodal": "t, excess kurtosis -2t⁴", "heavy": "degrees of freedom",
            "clusters": "variance"}
TESTS = ("coordinates", "principal", "pursuit")
#: Rows of one departure: the coordinates see the axis and the hidden sample; the other two are
#: rotation invariant and are computed once.
UNITS = (("coordinates", "axis"), ("coordinates", "hidden"), ("principal", "both"), ("pursuit", "both"))


# ------------------------------------------------------------------------------------------ samples
def departure(kind: str, t: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values of the departure of strength ``t`` (mean zero)."""
    if kind == "skewed":
        k = 4.0 / t**2
        return (rng.gamma(k, size=n) - k) / math.sqrt(k)
    if kind == "bimodal":
        return rng.choice([-t, t], size=n) + math.sqrt(max(0.0, 1 - t * t)) * rng.standard_normal(n)
    if kind == "heavy":
        return rng.standard_t(t, size=n) / math.sqrt(t / (t - 2))
    m = math.sqrt(t - 0.25)
    return rng.choice([-m, m], size=n) + 0.5 * rng.standard_normal(n)


def householder_to(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``x H`` with ``H`` the reflection that takes ``e1`` to the unit vector ``u`` (O(n d))."""
    v = -u.copy()
    v[0] += 1.0
    vv = float(v @ v)
    if vv < 1e-24:
        return x.copy()
    return x - np.outer(x @ v, v * (2.0 / vv))


def sample(n: int, d: int, kind: str, j: int, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``i`` at grid point ``j`` of ``kind``: the axis sample and its hidden version."""
    rng = np.random.default_rng([n, d, list(GRIDS).index(kind), j, i])
    x = rng.standard_normal((n, d))
    x[:, 0] = departure(kind, GRIDS[kind][j], n, rng)
    u = rng.standard_normal(d)
    return x, householder_to(x, u / np.linalg.norm(u))


# ------------------------------------------------------------------------------------------- tests
def pursuit_null_draws(alpha: float) -> int:
    """Null draws so that the pursuit's smallest p-value, ``1 / (B + 1)``, is at most ``alpha``."""
    return max(199, math.ceil(1.0 / alpha - 1e-9) - 1)


def pursuit_null_flop(n: int, d: int, draws: int) -> float:
    return draws * pursuit_flop(n, d, 3, DEFAULT_RESTARTS, DEFAULT_MAX_ITER)


#: Prefix of the pursuit's seeded null used to decide non-rejections early (0: off; ``--prefix``);
#: ``only``: the full null is not simulated (non-rejections decided, the rest undecided).
PREFIX: dict[str, Any] = {"draws": 0, "only": False}
#: The pursuit's null draws simulated here, by ``(n, d)``: the same rows ``simulate_null`` returns.
NULLS: dict[tuple[int, int], np.ndarray] = {}
PURSUIT_TEST = (f"least_gaussian_direction:{','.join(CONTRASTS)}:{DEFAULT_RESTARTS}:"
                f"{DEFAULT_MAX_ITER}:{DEFAULT_TOL:g}")


class Undecided(Exception):
    """No draw of the null's prefix bounds the p-value, and the full null is not run."""


def pursuit_null(n: int, d: int, draws: int, store: dict[str, Any], save: Callable[[], None],
                 chunk: int = 8) -> np.ndarray:
    """The first ``draws`` rows of the pursuit's seeded null at ``(n, d)``, simulated in chunks and
    kept in ``store["null_values"]`` (saved after each chunk, so a stopped run resumes). Row ``i``
    is the search on ``default_rng(null_seed(...).spawn(B)[i])``: the same for every ``B > i``, so
    these are exactly the rows ``least_gaussian_direction`` simulates."""
    from gaussprobe._kernels.gram import parallel_map, split_range, worker_count

    rows = store.setdefault("null_values", [])
    stat = _null_statistic(CONTRASTS, DEFAULT_RESTARTS, DEFAULT_MAX_ITER, DEFAULT_TOL)
    streams = _null.null_seed(PURSUIT_TEST, n, d).spawn(draws)
    threads = worker_count(float("inf"))
    while len(rows) < draws:
        t0 = time.perf_counter()
        idx = range(len(rows), min(draws, len(rows) + chunk))

        def run(part: range, idx: range = idx) -> list[list[float]]:
            return [list(stat(np.random.default_rng(streams[idx[k]]).standard_normal((n, d))))
                    for k in part]

        with single_threaded_blas():
            rows.extend(r for part in parallel_map(run, split_range(len(idx), threads), threads)
                        for r in part)
        store["null_seconds"] = round(store.get("null_seconds", 0.0) + time.perf_counter() - t0, 1)
        save()
    out = np.asarray(rows, dtype=np.float64)
    NULLS[n, d] = out
    return out[:draws]


_simulate_null = _null.simulate_null


def _saved_null(test: str, statistic: Any, n: int, d: int, n_draws: int) -> np.ndarray:
    """``simulate_null``, answered from :data:`NULLS` where the pursuit's draws are already here."""
    if test == PURSUIT_TEST and len(NULLS.get((n, d), ())) >= n_draws:
        return NULLS[n, d][:n_draws]
    return _simulate_null(test, statistic, n, d, n_draws)


_null.simulate_null = _saved_null  # least_gaussian_direction calls it through the module


def pursuit_pvalue(x: np.ndarray, i: int, *, n_null: int, null_budget: float | None) -> float:
    """The pursuit's p-value, or the bound ``2 / (n_null + 1)`` when every observed contrast is at
    most the largest value of that contrast in the null's prefix.

    The statistic of a draw is ``max_c (log J_c - med_c) / MAD_c`` with one median and MAD per
    contrast over all draws. Let ``c*`` be the contrast at which the observed draw attains its
    maximum, and ``b`` a prefix draw with ``J_bc* >= J_0c*``: then ``T_b >= (log J_bc* - med) / MAD >=
    T_0`` whatever the median and MAD, so at least one null draw is ``>= T_0`` and ``p >= 2 /
    (n_null + 1)`` exactly. The full null is then not needed to know that ``p > alpha``.
    """
    n, d = x.shape
    if PREFIX["draws"]:
        obs = least_gaussian_direction(x, rng=i, n_null=0).contrast_statistics
        prefix = NULLS[n, d][: PREFIX["draws"], : len(CONTRASTS)]
        if np.all(prefix.max(axis=0) >= obs):
            return 2.0 / (n_null + 1)
        if PREFIX["only"]:
            raise Undecided
    return float(least_gaussian_direction(x, rng=i, n_null=n_null, null_budget=null_budget).test.pvalue)


def pvalue(test: str, x: np.ndarray, i: int, *, n_null: int, null_budget: float | None) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if test == "coordinates":
            return float(gp.coordinate_normality(x).combined_test.pvalue)
        if test == "principal":
            return float(principal_direction_test(x, rng=i).combined_test.pvalue)
        return pursuit_pvalue(x, i, n_null=n_null, null_budget=null_budget)


def check_invariance(n: int, d: int, kind: str, *, tests: tuple[str, ...]) -> dict[str, float]:
    """Largest relative difference between the axis and the hidden sample of the principal
    directions' p-value and the pursuit's contrasts (the search alone)."""
    x, h = sample(n, d, kind, len(GRIDS[kind]) - 1, 0)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for test in tests:
            if test == "principal":
                a = np.array([principal_direction_test(v, rng=0).combined_test.pvalue for v in (x, h)])
            else:
                a = np.array([least_gaussian_direction(v, rng=0, n_null=0).contrast_statistics
                              for v in (x, h)])
            out[test] = float(np.max(np.abs(a[0] - a[1]) / np.maximum(np.abs(a[0]), 1e-300)))
    return out


# ----------------------------------------------------------------------------------------- search
def decide(test: str, where: str, n: int, d: int, kind: str, j: int, *, draws: int, need: int,
           alpha: float, n_null: int, null_budget: float | None, deadline: float
           ) -> dict[str, Any]:
    """Draws at grid point ``j`` until ``need`` rejections (detected) or ``draws - need + 1``
    non-rejections (not detected); ``"n/c"`` when the p-value is NaN (not calibrated)."""
    ps: list[float] = []
    rej = 0
    for i in range(draws):
        if time.perf_counter() > deadline:
            return {"outcome": "budget", "pvalues": ps}
        x, h = sample(n, d, kind, j, i)
        try:
            p = pvalue(test, h if where == "hidden" else x, i, n_null=n_null, null_budget=null_budget)
        except Undecided:
            return {"outcome": "undecided", "pvalues": ps}
        if math.isnan(p):
            return {"outcome": "n/c", "pvalues": ps}
        ps.append(round(p, 8))
        rej += p <= alpha
        if rej >= need:
            return {"outcome": "detected", "pvalues": ps}
        if len(ps) - rej > draws - need:
            return {"outcome": "not detected", "pvalues": ps}
    return {"outcome": "not detected", "pvalues": ps}


def smallest_detected(test: str, where: str, n: int, d: int, kind: str, **kw: Any) -> dict[str, Any]:
    """Bisection over the grid for the weakest detected strength (detection assumed monotone)."""
    grid = GRIDS[kind]
    steps: dict[int, dict[str, Any]] = {}

    def detected(j: int) -> str:
        steps[j] = decide(test, where, n, d, kind, j, **kw)
        return str(steps[j]["outcome"])

    top = detected(len(grid) - 1)
    if top != "detected":
        result = top if top in ("n/c", "budget", "undecided") else "-"
        return {"result": result, "steps": _steps(steps, grid)}
    lo, hi = -1, len(grid) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        out = detected(mid)
        if out in ("budget", "undecided"):
            return {"result": f"{out} (detected at {grid[hi]:g})", "steps": _steps(steps, grid)}
        if out == "detected":
            hi = mid
        else:
            lo = mid
    result = f"≤ {grid[0]:g}" if hi == 0 else f"{grid[hi]:g}"
    return {"result": result, "steps": _steps(steps, grid)}


def _steps(steps: dict[int, dict[str, Any]], grid: list[float]) -> list[dict[str, Any]]:
    return [{"t": grid[j], **s} for j, s in sorted(steps.items())]


# ---------------------------------------------------------------------------------------- driving
def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_cell(n: int, d: int, args: argparse.Namespace, results: dict[str, Any],
             save: Callable[[], None]) -> None:
    key = f"{n}x{d}"
    cell = results["cells"].setdefault(key, {"n": n, "d": d, "rows": {}})
    t_cell = time.perf_counter()
    deadline = min(results["deadline"], t_cell + args.cell_budget)
    n_null = pursuit_null_draws(args.alpha)
    # what analyze does by default: the search and its default null (199 draws) within the budget
    default_flop = pursuit_null_flop(n, d, DEFAULT_NULL_DRAWS + 1)
    by_default = default_flop <= NULL_FLOP_BUDGET
    null_flop = pursuit_null_flop(n, d, n_null + 1)
    on_request = not by_default and args.on_request and null_flop <= args.max_null_flop
    # over --max-null-flop, --prefix still decides the non-rejections; the rest stay undecided
    PREFIX["only"] = not by_default and args.on_request and not on_request and PREFIX["draws"] > 0
    cell["prefix_only"] = PREFIX["only"]
    # n_null draws may exceed the default budget where the default 199 fit: lifted for both
    null_budget = math.inf
    pur = cell.setdefault("pursuit", {})
    pur.update(n_null=n_null, null_flop=null_flop, default_flop=default_flop, by_default=by_default,
               on_request=on_request or PREFIX["only"], prefix=PREFIX["draws"])
    if by_default or on_request or PREFIX["only"]:
        want = PREFIX["draws"] if PREFIX["only"] else n_null
        pursuit_null(n, d, want, pur, save)
        _log(f"[{key}] {want} draws of the pursuit's null: {pur['null_seconds']} s in all")
    on_request = on_request or PREFIX["only"]
    draws = args.draws
    need = math.ceil(args.detect * draws - 1e-9)
    kw = {"draws": draws, "need": need, "alpha": args.alpha, "n_null": n_null,
          "null_budget": null_budget}
    for kind in args.kinds:
        inv_key = f"{kind}:invariance"
        if inv_key not in cell["rows"]:
            inv_tests = ("principal", "pursuit") if by_default or on_request else ("principal",)
            cell["rows"][inv_key] = check_invariance(n, d, kind, tests=inv_tests)
        for test, where in UNITS:
            row_key = f"{kind}:{test}:{where}"
            if row_key in cell["rows"] and not cell["rows"][row_key]["result"].startswith(
                    ("budget", "undecided")):
                continue
            if test == "pursuit" and not (by_default or on_request):
                cell["rows"][row_key] = {"result": "n/c", "steps": []}
                continue
            t0 = time.perf_counter()
            row = smallest_detected(test, where, n, d, kind, deadline=deadline, **kw)
            row["seconds"] = round(time.perf_counter() - t0, 1)
            cell["rows"][row_key] = row
            _log(f"[{key}] {kind} {test} {where}: {row['result']} ({row['seconds']} s, "
                 f"{sum(len(s['pvalues']) for s in row['steps'])} draws)")
            save()
    cell["seconds"] = round(cell.get("seconds", 0.0) + time.perf_counter() - t_cell, 1)
    if args.timings and "timings" not in cell:
        cell["timings"] = timings(n, d)
    save()


def timings(n: int, d: int) -> dict[str, float]:
    """One call each on a Gaussian sample (the pursuit's search alone: its null is timed apart)."""
    x = np.random.default_rng(0).standard_normal((n, d))
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in [("analyze, first call", lambda: gp.analyze(x, rng=0)),
                         ("analyze, nulls cached", lambda: gp.analyze(x, rng=1)),
                         ("coordinates", lambda: gp.coordinate_normality(x)),
                         ("principal", lambda: principal_direction_test(x, rng=0)),
                         ("pursuit search", lambda: least_gaussian_direction(x, rng=0, n_null=0))]:
            t0 = time.perf_counter()
            fn()
            out[name] = round(time.perf_counter() - t0, 2)
    return out


# -------------------------------------------------------------------------------------- rendering
def bbp(n: int, d: int) -> tuple[float, float]:
    """Within one half of the sample (the directions are estimated on ``n / 2`` rows): the BBP
    threshold ``1 + sqrt(γ)`` of a population spike and the MP edge ``(1 + sqrt(γ))²``."""
    g = d / (n // 2 - 1)
    return 1.0 + math.sqrt(g), (1.0 + math.sqrt(g)) ** 2


def overlap(n: int, d: int, ell: float) -> float:
    """Limit of the squared cosine between the top sample eigenvector (one half) and a population
    spike of variance ``ell`` over unit noise (Paul 2007): 0 below the BBP threshold."""
    g = d / (n // 2 - 1)
    s = ell - 1.0
    return max(0.0, (1.0 - g / s**2) / (1.0 + g / s)) if s > 0 else 0.0


def render(results: dict[str, Any], out: Callable[[str], None] = print) -> None:
    meta = results["meta"]
    cmds = "`; `".join(meta.get("commands", [meta["command"]]))
    out(f"Commands: `{cmds}`; {meta.get('total_seconds', 0):.0f} s in all. "
        f"Detected: >= {meta['detect']:.0%} of {meta['draws']} draws with p <= {meta['alpha']:g}.\n")
    out("| (n, d) | departure (strength) | where | coordinates | principal | pursuit |")
    out("|---|---|---|---|---|---|")
    footnotes = []
    for cell in results["cells"].values():
        n, d, rows = cell["n"], cell["d"], cell["rows"]
        pur = cell.get("pursuit", {})
        mark = ""
        if pur and not pur.get("by_default"):
            mark = " ‡"
            how = (f"non-rejections decided by the first {pur['prefix']} draws of its null, "
                   f"the full {pur['n_null']}-draw null (~{pur['null_flop']:.1g} flop) not run"
                   if cell.get("prefix_only") else f"with n_null={pur['n_null']}")
            footnotes.append(f"({n}, {d}): not run by default (search and default null "
                             f"~{pur.get('default_flop', math.nan):.1g} flop); measured on request, {how}")
        for kind in GRIDS:
            for where in ("axis", "hidden"):
                if f"{kind}:coordinates:{where}" not in rows:
                    continue
                vals = [rows[f"{kind}:coordinates:{where}"]["result"]]
                vals.append(rows.get(f"{kind}:principal:both", {}).get("result", "–"))
                p = rows.get(f"{kind}:pursuit:both", {}).get("result", "–")
                vals.append(p + (mark if p not in ("n/c", "–") else ""))
                out(f"| ({n}, {d}) | {kind} ({STRENGTH[kind]}) | {where} | " + " | ".join(vals) + " |")
    if footnotes:
        out("\n‡ " + "; ".join(footnotes) + ".")
    out("\n| (n, d) | n / d² | pursuit null (draws, flop, s) | BBP 1 + √γ (half) | MP edge (1 + √γ)² "
        "| clusters: principal | its cos² | invariance (max rel. diff.) |")
    out("|---|---|---|---|---|---|---|---|")
    for cell in results["cells"].values():
        n, d, rows = cell["n"], cell["d"], cell["rows"]
        thr, edge = bbp(n, d)
        pur = cell.get("pursuit", {})
        found = rows.get("clusters:principal:both", {}).get("result", "–")
        try:
            cos2 = f"{overlap(n, d, float(found.lstrip('≤ '))):.2f}"
        except ValueError:
            cos2 = "–"
        inv = max((v for k, r in rows.items() if k.endswith(":invariance") for v in r.values()),
                  default=math.nan)
        simulated = len(pur.get("null_values", ())) or pur.get("n_null")
        null = (f"{simulated} of {pur.get('n_null')}, {pur.get('null_flop', math.nan):.2g}, "
                f"{pur.get('null_seconds', '–')}")
        out(f"| ({n}, {d}) | {n / d**2:.3g} | {null} | {thr:.3f} | {edge:.3f} | {found} | {cos2} | "
            f"{inv:.1e} |")
    if any("timings" in c for c in results["cells"].values()):
        names = next(c["timings"] for c in results["cells"].values() if "timings" in c)
        out("\n| (n, d) | " + " | ".join(names) + " | power rows |")
        out("|---|" + "---|" * (len(names) + 1))
        for cell in results["cells"].values():
            if "timings" in cell:
                out(f"| ({cell['n']}, {cell['d']}) | "
                    + " | ".join(f"{v:.2f} s" for v in cell["timings"].values())
                    + f" | {cell.get('seconds', 0):.0f} s |")


# ----------------------------------------------------------------------------- null comparison
def calibration(draws: int, cells: list[tuple[int, int]]) -> None:
    """Level at 0.05 of (a) sample splitting and (b) a Monte-Carlo null of the full-sample statistic
    (min AD p-value over the top and bottom principal directions) simulated on isotropic normals."""
    from gaussprobe.stats.univariate import ad_pvalue, anderson_darling

    def full_sample_stat(x: np.ndarray) -> float:
        c = x - x.mean(axis=0)
        _, vec = np.linalg.eigh(c.T @ c)
        y = c @ vec[:, [0, -1]]
        return float(-np.log(np.min(ad_pvalue(anderson_darling(np, y), len(x)))))

    print("| (n, d) | null | split: level | split: s/call | MC null: level | MC null: s/call (199 draws) |")
    print("|---|---|---|---|---|---|")
    for n, d in cells:
        rng = np.random.default_rng(1)
        t0 = time.perf_counter()
        null = np.array([full_sample_stat(rng.standard_normal((n, d))) for _ in range(199)])
        t_null = time.perf_counter() - t0
        for kind in ("isotropic", "spiked"):
            rej_split, rej_mc, t_split = 0, 0, 0.0
            for i in range(draws):
                x = rng.standard_normal((n, d))
                if kind == "spiked":
                    x[:, :2] *= (6.0, 3.0)
                t0 = time.perf_counter()
                rej_split += principal_direction_test(x, rng=i).combined_test.pvalue < 0.05
                t_split += time.perf_counter() - t0
                p_mc = (1 + np.sum(null >= full_sample_stat(x))) / 200
                rej_mc += p_mc <= 0.05
            print(f"| ({n}, {d}) | {kind} | {rej_split / draws:.3f} | {t_split / draws:.3f} | "
                  f"{rej_mc / draws:.3f} | {t_null:.1f} |", flush=True)


def invariance(examples: int) -> None:
    """How closely the pursuit's results agree between ``x`` and ``x A + b`` in floating point.

    The construction of ``tests/test_directions.py::test_pursuit_pvalue_is_affine_invariant``: n = 120,
    d in 2..5, one skewed coordinate, ``A`` = rotation . scaling (condition number up to 1e4, random
    signs) . rotation, ``n_null=39``.
    """
    rows = []
    for seed in range(examples):
        rng = np.random.default_rng([seed, 7])
        n, d, log_cond = 120, int(rng.integers(2, 6)), float(rng.uniform(0.0, 4.0))
        x = rng.standard_normal((n, d))
        x[:, 0] += 0.5 * rng.exponential(size=n)
        scales = 10.0 ** rng.uniform(-log_cond / 2, log_cond / 2, size=d) * rng.choice([-1.0, 1.0], d)
        rot = [np.linalg.qr(rng.standard_normal((d, d)))[0] for _ in range(2)]
        a = rot[0] * scales @ rot[1]
        r0 = least_gaussian_direction(x, n_null=39, rng=3)
        r1 = least_gaussian_direction(x @ a + rng.standard_normal(d) * 5, n_null=39, rng=3)
        rows.append((abs(r1.test.pvalue - r0.test.pvalue),
                     float(np.max(np.abs(r1.contrast_pvalues - r0.contrast_pvalues))),
                     float(np.max(np.abs(r1.contrast_statistics / r0.contrast_statistics - 1)))))
    r = np.array(rows)
    print(f"{examples} affine maps: p-value differs in {int(np.sum(r[:, 0] > 0))} (largest "
          f"{r[:, 0].max():.3g}); a contrast's p-value differs in {int(np.sum(r[:, 1] > 0))} (largest "
          f"{r[:, 1].max():.3g}); contrasts agree to 1e-6 in {np.mean(r[:, 2] <= 1e-6):.1%}, to 1e-4 in "
          f"{np.mean(r[:, 2] <= 1e-4):.1%}, to 1e-2 in {np.mean(r[:, 2] <= 1e-2):.1%}; largest relative "
          f"difference {r[:, 2].max():.3g}")


def _cells(text: str) -> list[tuple[int, int]]:
    out = []
    for tok in text.split(","):
        n, d = tok.lower().split("x")
        out.append((int(float(n)), int(d)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=_cells, default=CELLS, help="n x d, e.g. 2000x64,3000x256")
    parser.add_argument("--kinds", type=lambda s: s.split(","), default=list(GRIDS),
                        help=f"departures, from {', '.join(GRIDS)}")
    parser.add_argument("--draws", type=int, default=10, help="draws per strength (at most)")
    parser.add_argument("--detect", type=float, default=0.8, help="fraction of draws that must reject")
    parser.add_argument("--alpha", type=float, default=0.0025, help="level of each test")
    parser.add_argument("--on-request", action="store_true",
                        help="run the pursuit where its null is over the default budget")
    parser.add_argument("--max-null-flop", type=float, default=3e13,
                        help="largest pursuit null run on request (flop)")
    parser.add_argument("--prefix", type=int, default=0, metavar="K",
                        help="decide the pursuit's non-rejections from the first K draws of its null "
                             "where one dominates the observed contrasts (exact; the full null is "
                             "simulated only when needed, and not at all where it costs more than "
                             "--max-null-flop: such draws are 'undecided')")
    parser.add_argument("--budget", type=float, default=5 * 3600.0, help="seconds in all")
    parser.add_argument("--cell-budget", type=float, default=2.5 * 3600, help="seconds per cell")
    parser.add_argument("--no-timings", dest="timings", action="store_false",
                        help="skip the one-call timings per cell")
    parser.add_argument("--quick", action="store_true", help="(2000, 64), 5 draws, coarse grids")
    parser.add_argument("--json", type=Path, default=None, help="save (and resume from) this file")
    parser.add_argument("--render", type=Path, default=None, help="print the tables of a saved run")
    parser.add_argument("--invariance", type=int, default=0, metavar="N",
                        help="measure the pursuit's floating-point affine invariance on N maps instead")
    parser.add_argument("--calibration", action="store_true",
                        help="compare the two nulls of the principal-direction test instead")
    args = parser.parse_args(argv)
    if args.render:
        render(json.loads(args.render.read_text()))
        return 0
    PREFIX["draws"] = args.prefix
    if args.invariance:
        invariance(args.invariance)
        return 0
    if args.calibration:
        calibration(args.draws if argv and "--draws" in argv else 200, [(200, 8), (400, 64)])
        return 0
    unknown = sorted(set(args.kinds) - set(GRIDS))
    if unknown:
        parser.error(f"unknown departures {unknown}; choose from {', '.join(GRIDS)}")
    if args.quick:
        args.cells, args.draws, args.detect = [(2000, 64)], 5, 0.8
        for k in GRIDS:
            GRIDS[k] = GRIDS[k][::-2][::-1]  # every other point, the strongest kept
    t0 = time.perf_counter()
    results: dict[str, Any] = {"cells": {}}
    if args.json and args.json.exists():
        results = json.loads(args.json.read_text())
    command = "python benchmarks/power_directions.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    results["meta"] = {"command": command,
                       "commands": [*results.get("meta", {}).get("commands", []), command],
                       "draws": args.draws, "detect": args.detect, "alpha": args.alpha,
                       "grids": GRIDS, "gaussprobe_version": gp.__version__,
                       "total_seconds": results.get("meta", {}).get("total_seconds", 0.0)}
    results["deadline"] = t0 + args.budget
    spent = results["meta"]["total_seconds"]

    def save() -> None:
        results["meta"]["total_seconds"] = round(spent + time.perf_counter() - t0, 1)
        if args.json:
            args.json.write_text(json.dumps({k: v for k, v in results.items() if k != "deadline"},
                                            indent=1, ensure_ascii=False))

    for n, d in args.cells:
        if time.perf_counter() > results["deadline"]:
            _log("time budget spent; stopping")
            break
        run_cell(n, d, args, results, save)
    save()
    render(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
