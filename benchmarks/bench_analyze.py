"""analyze() on a large float32 matrix: time vs one ``x.T @ x`` and peak extra memory vs the input size.

Targets (issue: core): analyze (the core statistics: thin shell, coordinates, projections, distance)
<= 10x the time of ``x.T @ x`` on the same machine, and peak extra memory <= 3x the input's size. Both
sides are timed the same way, best of ``--repeat`` runs, side by side in one process; the first
(cold) analyze call is printed too. Also printed: the default run (which adds Doornik-Hansen), and
both with ``dtype="float32"``.

``--floor`` also times the work no float64 implementation can skip, on its own: the float64 SYRK and
the projection GEMM over the upcast input, and one ``erfc`` plus two logarithms (what A² needs) for
every value of the coordinates and the projections, each on all cores.

Run: ``python benchmarks/bench_analyze.py`` (100,000 x 768) or ``--quick`` (20,000 x 256).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc

import numpy as np
from _timing import best_of

import gaussprobe as gp

CORE_TESTS = ("thin_shell", "coordinates", "projections", "distance")


def floor_seconds(x: np.ndarray, k: int, repeat: int) -> dict:
    """Best-of times of the unavoidable float64 work: products, and A²'s special functions."""
    from concurrent.futures import ThreadPoolExecutor

    from scipy import special
    from threadpoolctl import threadpool_limits

    n, d = x.shape
    u = np.linalg.qr(np.random.default_rng(1).standard_normal((d, k)))[0]
    x64 = x.astype(np.float64)

    def products():
        x64.T @ x64  # SYRK
        x64 @ u  # GEMM

    values = n * (d + k)
    chunk = 2**18  # 2 MiB of float64: in cache, as in the column kernels
    workers = max(1, min(8, os.cpu_count() or 1))

    def special_part(count):
        z = np.random.default_rng(2).random(chunk) * 4.0
        t, a, b = np.empty(chunk), np.empty(chunk), np.empty(chunk)
        for _ in range(count // chunk):
            special.erfc(z, out=t)
            np.log(t, out=a)
            np.subtract(2.0, t, out=b)
            np.log(b, out=b)

    def special_functions():
        with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
            list(pool.map(special_part, [values // workers] * workers))

    return {"float64_products": best_of(products, repeat),
            "erfc_and_two_logs": best_of(special_functions, repeat), "values": values}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--d", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--floor", action="store_true", help="also time the unavoidable float64 work")
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
    if args.floor:
        fl = floor_seconds(x, 256, args.repeat)
        out["floor"] = fl
        both = fl["float64_products"] + fl["erfc_and_two_logs"]
        print(f"floor: float64 SYRK + GEMM {fl['float64_products']:.3f} s "
              f"({fl['float64_products'] / t_gemm:.1f}x); erfc + 2 logs on {fl['values']:.2g} values "
              f"{fl['erfc_and_two_logs']:.3f} s ({fl['erfc_and_two_logs'] / t_gemm:.1f}x); "
              f"together {both / t_gemm:.1f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
