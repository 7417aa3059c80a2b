"""Per-coordinate Anderson–Darling + D'Agostino–Pearson on float32 embeddings, and random projections.

Compares ``coordinate_normality`` (vectorised over columns, column blocks spread over threads for
NumPy input) with the obvious loop ``scipy.stats.anderson`` + ``scipy.stats.normaltest`` per column,
on the same float32 matrix. Target: a speed-up of at least 5x at 100,000 x 768. Also times
``coordinate_normality`` restricted to one thread, and ``projection_normality`` with 256 directions.

Run: ``python benchmarks/bench_coordinates.py`` (100,000 x 768) or ``--quick`` (20,000 x 128).
The scipy loop over every column takes about 15 ms per column at n = 100,000 (12 s for 768); use
``--scipy-columns`` to time it on fewer columns and extrapolate.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _timing import best_of


def scipy_loop(x):
    from scipy import stats

    ad = np.empty(x.shape[1])
    k2 = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        col = x[:, j]
        ad[j] = stats.anderson(col, dist="norm", method="interpolate").statistic
        k2[j] = stats.normaltest(col).statistic
    return ad, k2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20,000 x 128 instead of 100,000 x 768")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--d", type=int, default=None)
    ap.add_argument("--scipy-columns", type=int, default=None,
                    help="time the scipy loop on this many columns and extrapolate (default: all)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", default=None, help="write the numbers to this file")
    args = ap.parse_args(argv)

    from gaussprobe.stats import univariate
    from gaussprobe.stats.coordinates import coordinate_normality
    from gaussprobe.stats.projections import projection_normality

    n = args.n or (20_000 if args.quick else 100_000)
    d = args.d or (128 if args.quick else 768)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x *= np.linspace(0.5, 2.0, d, dtype=np.float32)

    coordinate_normality(x[:1000, :8])  # warm-up: imports
    t_ours = best_of(lambda: coordinate_normality(x), args.repeat)
    saved = univariate._MAX_THREADS
    univariate._MAX_THREADS = 1
    try:
        t_ours_1 = best_of(lambda: coordinate_normality(x), args.repeat)
    finally:
        univariate._MAX_THREADS = saved

    m = min(d, args.scipy_columns or d)
    scipy_loop(x[:1000, :2])  # warm-up
    t_scipy_m = best_of(lambda: scipy_loop(x[:, :m]), 1)
    t_scipy = t_scipy_m * d / m

    res = coordinate_normality(x[:, :m])
    ad, k2 = scipy_loop(x[:, :m].astype(np.float64))  # scipy on float64 is the accuracy reference
    err_ad = float(np.max(np.abs(res.ad_statistics / ad - 1)))
    err_k2 = float(np.max(np.abs(res.dp_statistics / k2 - 1)))

    projection_normality(x[:1000], n_projections=8, rng=0)
    t_proj = best_of(lambda: projection_normality(x, n_projections=256, rng=0), args.repeat)

    out = {
        "n": n, "d": d, "threads": univariate.host_threads(np, 10**6),
        "coordinate_normality_seconds": t_ours,
        "coordinate_normality_one_thread_seconds": t_ours_1,
        "scipy_loop_seconds": t_scipy, "scipy_columns_timed": m,
        "speedup": t_scipy / t_ours, "speedup_one_thread": t_scipy / t_ours_1, "target": 5.0,
        "max_rel_diff_ad_vs_scipy_float64": err_ad, "max_rel_diff_k2_vs_scipy_float64": err_k2,
        "projection_normality_256_seconds": t_proj,
    }
    print(f"{n} x {d} float32, {out['threads']} thread(s) available")
    print(f"  coordinate_normality          {t_ours:8.2f} s")
    print(f"  coordinate_normality, 1 thread{t_ours_1:8.2f} s")
    extrap = "" if m == d else f" (timed on {m} columns, extrapolated)"
    print(f"  scipy anderson+normaltest loop{t_scipy:8.2f} s{extrap}")
    print(f"  speed-up                      {out['speedup']:8.1f} x  (one thread: "
          f"{out['speedup_one_thread']:.1f} x; target >= 5)")
    print(f"  max rel. diff vs scipy (f64)  A² {err_ad:.1e}, K² {err_k2:.1e}")
    print(f"  projection_normality, k=256   {t_proj:8.2f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
