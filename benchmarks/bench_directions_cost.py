"""Added time of the direction tests per ``analyze`` call, beside the rest of the default run.

Times the default run of ``gp.analyze`` on a seeded float32 Gaussian matrix (best of ``--repeat``,
after one warm-up call so the per-size Monte-Carlo nulls and references are cached), and prints each
part's share from ``report.timings``: the principal-direction test (default) and the projection
pursuit (default only where its null fits the budget; timed on its own with ``tests=["pursuit"]``,
whose null is then reported "not calibrated" when over budget).

    python benchmarks/bench_directions_cost.py [--n 100000] [--d 768] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import gaussprobe as gp


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--with-pursuit", action="store_true", help="also time the pursuit on request (minutes)")
    args = ap.parse_args(argv)
    x = np.random.default_rng(0).standard_normal((args.n, args.d), dtype=np.float32)
    warnings.simplefilter("ignore")
    gp.analyze(x, rng=0)  # warm-up: per-size nulls and references
    best, timings = np.inf, {}
    for r in range(args.repeat):
        t0 = time.perf_counter()
        rep = gp.analyze(x, rng=r)
        dt = time.perf_counter() - t0
        if dt < best:
            best, timings = dt, dict(rep.timings)
    print(f"default analyze at {args.n} x {args.d}: {best:.2f} s; pursuit by default: "
          f"{'yes' if rep.pursuit is not None else 'no (' + rep.skipped.get('pursuit', '')[:60] + '...)'}")
    for k, v in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<26}{v:8.2f} s  {100 * v / best:5.1f}%")
    if not args.with_pursuit:
        return
    t0 = time.perf_counter()
    pu = gp.analyze(x, rng=0, tests=["pursuit"]).pursuit
    print(f"pursuit on request: {time.perf_counter() - t0:.2f} s (search only; p-value: {pu.test.calibration})")


if __name__ == "__main__":
    main()
