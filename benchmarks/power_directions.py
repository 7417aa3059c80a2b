"""Smallest departure along one direction that each test detects, and what the tests cost.

Run as ``python benchmarks/power_directions.py [--quick] [--budget SECONDS] [--draws R]``
(``--calibration`` instead compares the two nulls of the principal-direction test).

One direction of an otherwise isotropic Gaussian sample is replaced by a unit-variance non-Gaussian
variable of strength ``t`` (so PCA has no variance cue):

* ``skewed``: a standardised gamma variable of skewness ``t``;
* ``bimodal``: ``±t + sqrt(1 - t²) ν`` (excess kurtosis ``-2 t⁴``);
* ``heavy``: a standardised Student t with ``t`` degrees of freedom (smaller is heavier);

either on an axis (``axis``) or rotated by a Haar-random orthogonal matrix (``hidden``). For each of
the three tests -- coordinates combined (``coordinate_normality(x).combined_test``), principal
directions (``principal_direction_test``) and projection pursuit (``least_gaussian_direction``) -- the
table gives the weakest strength rejected at level 0.05 in at least half of ``R`` draws, and in at
least two (so that one false rejection at small ``R`` does not count), ("-" if none
on the grid, "n/c" where the pursuit's null does not fit its flop budget at that size). Timings are
one call each, next to one default ``gaussprobe.analyze`` call.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import gaussprobe as gp
from gaussprobe.stats.directions import least_gaussian_direction, principal_direction_test

CELLS = [(2000, 64), (3000, 256), (20000, 64), (10000, 768)]
GRIDS = {
    "skewed": [0.1, 0.2, 0.3, 0.5, 1.0, 2.0],  # skewness (weakest first)
    "bimodal": [0.3, 0.5, 0.7, 0.8, 0.9, 0.95],  # excess kurtosis -2 t^4
    "heavy": [40.0, 20.0, 10.0, 6.0, 5.0],  # Student t degrees of freedom
}


def departure(kind: str, t: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values of the unit-variance, mean-zero departure of strength ``t``."""
    if kind == "skewed":
        k = 4.0 / t**2
        return (rng.gamma(k, size=n) - k) / math.sqrt(k)
    if kind == "bimodal":
        return rng.choice([-t, t], size=n) + math.sqrt(1 - t * t) * rng.standard_normal(n)
    return rng.standard_t(t, size=n) / math.sqrt(t / (t - 2))


def sample(kind: str, t: float, n: int, d: int, hidden: bool, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal((n, d))
    x[:, 0] = departure(kind, t, n, rng)
    if hidden:
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        x = x @ (q * np.sign(np.diag(r)))
    return x


def pvalues(x: np.ndarray, seed: int) -> dict[str, float]:
    return {
        "coordinates": gp.coordinate_normality(x).combined_test.pvalue,
        "principal": principal_direction_test(x, rng=seed).combined_test.pvalue,
        "pursuit": least_gaussian_direction(x, rng=seed).test.pvalue,
    }


def smallest_detected(n: int, d: int, kind: str, hidden: bool, draws: int, grid: list[float],
                      deadline: float) -> dict[str, str]:
    found: dict[str, str] = {}
    rng = np.random.default_rng(hash((n, d, kind, hidden)) % 2**32)
    for t in grid:
        if time.perf_counter() > deadline:
            break
        ps = [pvalues(sample(kind, t, n, d, hidden, rng), i) for i in range(draws)]
        for test in ("coordinates", "principal", "pursuit"):
            vals = np.array([p[test] for p in ps])
            if test not in found and np.all(np.isnan(vals)):
                found[test] = "n/c"
            elif test not in found and np.sum(vals < 0.05) >= max(2, math.ceil(draws / 2)):
                found[test] = f"{t:g}"
        if len(found) == 3:
            break
    return {k: found.get(k, "-") for k in ("coordinates", "principal", "pursuit")}


def timings(n: int, d: int) -> dict[str, float]:
    x = np.random.default_rng(0).standard_normal((n, d))
    out = {}
    for name, fn in [("analyze", lambda: gp.analyze(x, rng=0)),
                     ("coordinates", lambda: gp.coordinate_normality(x)),
                     ("principal", lambda: principal_direction_test(x, rng=0)),
                     ("pursuit search", lambda: least_gaussian_direction(x, rng=0, n_null=0)),
                     ("pursuit + null", lambda: least_gaussian_direction(x, rng=0))]:
        t0 = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - t0
    return out


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two cells, 3 draws, coarse grids")
    parser.add_argument("--draws", type=int, default=None, help="draws per strength (default 10)")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds for the power table")
    parser.add_argument("--calibration", action="store_true", help="compare the two nulls instead")
    args = parser.parse_args(argv)
    draws = args.draws or (3 if args.quick else 10)
    if args.calibration:
        calibration(draws if args.draws else 200, [(200, 8), (400, 64)])
        return 0
    cells = CELLS[:2] if args.quick else CELLS
    grids = {k: v[1::2] if args.quick else v for k, v in GRIDS.items()}
    deadline = time.perf_counter() + args.budget
    print(f"draws per strength: {draws}; budget {args.budget:g} s; grids {grids}")
    print("| (n, d) | departure | where | coordinates | principal | pursuit |")
    print("|---|---|---|---|---|---|")
    for n, d in cells:
        for kind, grid in grids.items():
            for hidden in (False, True):
                if time.perf_counter() > deadline:
                    print("time budget spent; stopping")
                    return 0
                row = smallest_detected(n, d, kind, hidden, draws, grid, deadline)
                where = "hidden" if hidden else "axis"
                print(f"| ({n}, {d}) | {kind} | {where} | {row['coordinates']} | {row['principal']} | "
                      f"{row['pursuit']} |", flush=True)
    print("\n| (n, d) | " + " | ".join(timings(200, 8)) + " |")
    print("|---|---|---|---|---|---|")
    for n, d in cells:
        if time.perf_counter() > deadline:
            break
        t = timings(n, d)
        print(f"| ({n}, {d}) | " + " | ".join(f"{v:.2f} s" for v in t.values()) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
