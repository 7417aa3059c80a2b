"""analyze() on a large float32 matrix: time vs one ``x.T @ x`` and peak extra memory vs the input size.

Targets (issue: core): analyze (the core statistics: thin shell, coordinates, projections, distance)
<= 10x the time of ``x.T @ x`` on the same machine, and peak extra memory <= 3x the input's size. Both
sides are timed the same way, best of ``--repeat`` runs, side by side in one process; the first
(cold) analyze call is printed too. Also printed: the default run (which adds Doornik-Hansen), and
both with ``dtype="float32"``.

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

CORE_TESTS = ("thin_shell", "coordinates", "projections", "distance")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--d", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the numbers to this file")
    args = ap.parse_args(argv)
    n = args.n or (20_000 if args.quick else 100_000)
    d = args.d or (256 if args.quick else 768)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x *= np.linspace(0.5, 2.0, d, dtype=np.float32)  # a little anisotropy, like real embeddings

    gp.analyze(x[:2000], rng=0)  # imports and lazy set-up outside the timings
    t0 = time.perf_counter()
    report = gp.analyze(x, rng=0, tests=CORE_TESTS)
    t_cold = time.perf_counter() - t0
    t_gemm = best_of(lambda: x.T @ x, args.repeat)
    runs = {
        "core": {"tests": CORE_TESTS},
        "core_float32": {"tests": CORE_TESTS, "dtype": "float32"},
        "default": {"tests": "default"},
        "default_float32": {"tests": "default", "dtype": "float32"},
    }
    times, timings = {}, {}
    for name, kw in runs.items():
        def once(name=name, kw=kw):
            timings[name] = gp.analyze(x, rng=0, **kw).timings

        times[name] = best_of(once, args.repeat)

    tracemalloc.start()
    gp.analyze(x, rng=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    out = {
        "n": n, "d": d, "input_bytes": x.nbytes, "repeat": args.repeat,
        "xtx_seconds": t_gemm, "analyze_seconds": times, "analyze_cold_seconds": t_cold,
        "time_ratio": {k: v / t_gemm for k, v in times.items()}, "time_target": 10.0,
        "peak_extra_bytes": peak, "memory_ratio": peak / x.nbytes, "memory_target": 3.0,
        "timings": timings, "core_tests": list(CORE_TESTS), "skipped": report.skipped,
    }
    print(f"n={n} d={d} float32 input {x.nbytes / 2**20:.0f} MiB; best of {args.repeat}")
    print(f"x.T @ x                  : {t_gemm:7.3f} s")
    for name, t in times.items():
        target = "   (target <= 10x)" if name == "core" else ""
        print(f"analyze {name:17s}: {t:7.3f} s   ratio {t / t_gemm:5.2f}x{target}")
    print(f"analyze core, cold call  : {t_cold:7.3f} s   ratio {t_cold / t_gemm:5.2f}x")
    print(f"peak extra memory        : {peak / 2**20:7.0f} MiB ratio {out['memory_ratio']:.2f}x input "
          "(default run; target <= 3x)")
    for name in ("core", "default"):
        print(f"last {name} run (s)       :", ", ".join(f"{k} {v:.2f}" for k, v in timings[name].items()))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
