"""Null calibration and power of the coordinate and projection normality tests.

Produces the numbers quoted in ``docs/statistics/coordinates.md`` and ``docs/statistics/projections.md``:

1. coordinates, i.i.d. N(0, I_d): mean A², AD pass fraction, mean DP p-value, DP pass fraction, and
   the same on the sphere of radius sqrt(d) (PAPER.md §7);
2. projections, anisotropic Gaussians: rejection rates at 0.05 and 0.01 of ``combined_test`` (Cauchy
   combination of AD p-values), ``dp_combined_test`` (of DP p-values) and the Bonferroni p-value;
3. power against uniform-on-sphere, Laplace and Student-t data.

Run: ``python benchmarks/calibrate_normality.py`` (a few minutes on one core) or ``--quick``;
``--only projections power`` makes those tables only.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from gaussprobe._pvalues import cauchy_combination  # the DP combination the report no longer offers
from gaussprobe.stats.coordinates import coordinate_normality
from gaussprobe.stats.projections import projection_normality


def sphere(rng, n, d):
    g = rng.standard_normal((n, d))
    return g / np.linalg.norm(g, axis=1, keepdims=True) * np.sqrt(d)


def coordinates_table(reps):
    print("\n## coordinates: mean over replicates (AD avg / AD pass / DP avg / DP pass)")
    print("| n | d | reps | gauss | sphere |")
    print("|---|---|---|---|---|")
    for n, d in [(1000, 256), (5000, 32), (10_000, 32), (10_000, 64), (10_000, 128), (10_000, 256)]:
        rng = np.random.default_rng(n + d)
        cells = []
        for kind in ("gauss", "sphere"):
            rows = []
            for _ in range(reps):
                x = rng.standard_normal((n, d)) if kind == "gauss" else sphere(rng, n, d)
                r = coordinate_normality(x)
                rows.append([r.ad_mean, r.ad_pass_fraction, r.dp_mean_pvalue, r.dp_pass_fraction])
            m = np.mean(rows, axis=0)
            cells.append(f"{m[0]:.3f} / {100 * m[1]:.1f}% / {m[2]:.3f} / {100 * m[3]:.1f}%")
        print(f"| {n} | {d} | {reps} | {cells[0]} | {cells[1]} |")


def projections_table(draws):
    print("\n## projections under the null: rejection rate at 0.05 / 0.01 (combined: also 0.0025)")
    print("| n | d | k | draws | combined (AD) | DP combined (not reported) | Bonferroni (AD) |")
    print("|---|---|---|---|---|---|---|")
    cells_nk = [(20, 4, 16), (50, 4, 16), (200, 8, 32), (1000, 32, 64), (10_000, 64, 64),
                # embedding sizes with the default 256 directions
                (74, 64, 256), (640, 64, 256), (1280, 128, 256), (394, 384, 256)]
    for n, d, k in cells_nk:
        rng = np.random.default_rng(7 * n + d + k)
        scale = np.linspace(1.0, 3.0, d)
        m = draws if n * max(d, k) <= 2 * 10**5 else max(200, draws // 4)
        p = np.array([[r.combined_test.pvalue, cauchy_combination(r.dp_pvalues), r.bonferroni_pvalue]
                      for r in (projection_normality(rng.standard_normal((n, d)) * scale,
                                                     n_projections=k, rng=rng) for _ in range(m))])
        cells = [f"{np.mean(p[:, j] < 0.05):.3f} / {np.mean(p[:, j] < 0.01):.3f}" for j in range(3)]
        cells[0] += f" / {np.mean(p[:, 0] < 0.0025):.4f}"
        print(f"| {n} | {d} | {k} | {m} | " + " | ".join(cells) + " |", flush=True)


def power_table(draws):
    print("\n## projections: power at 0.05 (k = 256), combined (AD) / DP combined")
    print("| data | n | d | combined (AD) | DP combined (not reported) |")
    print("|---|---|---|---|---|")
    cases = [("sphere", 2000, 4), ("sphere", 2000, 16), ("sphere", 10_000, 64), ("sphere", 10_000, 128),
             ("laplace", 2000, 32), ("laplace", 2000, 128), ("student-t(5)", 2000, 32),
             ("student-t(5)", 2000, 128), ("student-t(10)", 2000, 32)]
    for kind, n, d in cases:
        rng = np.random.default_rng(n + d)
        rej = []
        for _ in range(draws):
            if kind == "sphere":
                x = sphere(rng, n, d)
            elif kind == "laplace":
                x = rng.laplace(size=(n, d))
            else:
                x = rng.standard_t(int(kind[10:-1]), size=(n, d))
            r = projection_normality(x, n_projections=256, rng=rng)
            rej.append([r.combined_test.pvalue < 0.05, cauchy_combination(r.dp_pvalues) < 0.05])
        m = np.mean(rej, axis=0)
        print(f"| {kind} | {n} | {d} | {m[0]:.2f} | {m[1]:.2f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="+", choices=("coordinates", "projections", "power"),
                    default=("coordinates", "projections", "power"), help="tables to make")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1):
        if "coordinates" in args.only:
            coordinates_table(2 if args.quick else 10)
        if "projections" in args.only:
            projections_table(200 if args.quick else 2000)
        if "power" in args.only:
            power_table(5 if args.quick else 40)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
