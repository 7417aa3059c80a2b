"""analyze() on a large float32 matrix: time vs one ``x.T @ x`` and peak extra memory vs the input size.

Targets (issue: core): analyze <= 10x the time of ``x.T @ x`` on the same machine, and peak extra memory
<= 3x the input's size. Both ratios are printed, measured side by side in one run.

Run: ``python benchmarks/bench_analyze.py`` (100,000 x 768) or ``--quick`` (20,000 x 256).
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np
from _timing import best_of

import gaussprobe as gp


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--d", type=int, default=None)
    ap.add_argument("--json", default=None, help="write the numbers to this file")
    args = ap.parse_args(argv)
    n = args.n or (20_000 if args.quick else 100_000)
    d = args.d or (256 if args.quick else 768)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x *= np.linspace(0.5, 2.0, d, dtype=np.float32)  # a little anisotropy, like real embeddings

    t_gemm = best_of(lambda: x.T @ x, 3)
    gp.analyze(x[:2000], rng=0)  # warm-up: imports, lazy compilation
    t0 = time.perf_counter()
    report = gp.analyze(x, rng=0)
    t_analyze = time.perf_counter() - t0

    tracemalloc.start()
    gp.analyze(x, rng=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    out = {
        "n": n, "d": d, "input_bytes": x.nbytes,
        "xtx_seconds": t_gemm, "analyze_seconds": t_analyze,
        "time_ratio": t_analyze / t_gemm, "time_target": 10.0,
        "peak_extra_bytes": peak, "memory_ratio": peak / x.nbytes, "memory_target": 3.0,
        "tests": list(report.tests), "skipped": report.skipped, "timings": report.timings,
    }
    print(f"n={n} d={d} float32 input {x.nbytes / 2**20:.0f} MiB")
    print(f"x.T @ x           : {t_gemm:8.3f} s")
    print(f"analyze           : {t_analyze:8.3f} s   ratio {out['time_ratio']:.2f}x (target <= 10x)")
    print(f"peak extra memory : {peak / 2**20:8.0f} MiB ratio {out['memory_ratio']:.2f}x input (target <= 3x)")
    print("per test (s)      :", ", ".join(f"{k} {v:.2f}" for k, v in report.timings.items()))
    if report.skipped:
        print("skipped           :", report.skipped)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
