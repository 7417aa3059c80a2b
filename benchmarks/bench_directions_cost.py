"""What the direction tests add to one ``analyze`` call at an embedding size, measured side by side.

``analyze(x, rng=0)`` with the default tests, then the same call with an explicit test list with and
without the principal-direction test (best of ``--repeat`` runs after a warm-up call, which pays the
Monte-Carlo nulls and references simulated once per size). The explicit lists leave out ``mardia``:
named explicitly, a test always runs, and Mardia's O(n² d) skewness would then dominate (the default
run computes only its kurtosis at this size). The pursuit is skipped by the default run where its
search and null exceed the flop budget (it is at 100,000 x 768), so it is timed on its own:
``least_gaussian_direction(x, n_null=0)`` (the search only). ``principal_direction_test(x)`` alone is
timed too. The combined coordinate test costs nothing extra: it combines the per-coordinate p-values
``analyze`` computes anyway.

Run: ``python benchmarks/bench_directions_cost.py`` (100,000 x 768 float32, about 5 minutes on two
cores) or ``--n 20000 --d 256``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import gaussprobe as gp
from gaussprobe._registry import DEFAULT_TESTS

DIRECTION_TESTS = ("principal_directions", "pursuit")


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    x = np.random.default_rng(0).standard_normal((args.n, args.d), dtype=np.float32)
    base = [t for t in DEFAULT_TESTS if t not in (*DIRECTION_TESTS, "mardia")]

    gp.analyze(x, rng=0)  # warm-up: the per-size nulls and references
    t_default, rep = best(lambda: gp.analyze(x, rng=0), args.repeat)
    t_with, _ = best(lambda: gp.analyze(x, rng=0, tests=[*base, "principal_directions"]), args.repeat)
    t_without, _ = best(lambda: gp.analyze(x, rng=0, tests=base), args.repeat)
    t_pd, _ = best(lambda: gp.principal_direction_test(x), args.repeat)
    t_search, found = best(lambda: gp.least_gaussian_direction(x, n_null=0, rng=0), 1)
    ran = [t for t in DIRECTION_TESTS if getattr(rep, t, None) is not None]
    skipped = {t: rep.skipped[t].code for t in DIRECTION_TESTS if t in rep.skipped}

    print(f"(n, d) = ({args.n:,}, {args.d}), float32 input, best of {args.repeat}\n")
    print("| call | seconds |")
    print("|---|---:|")
    print(f"| `analyze(x)`, default tests | {t_default:.1f} |")
    print(f"| `analyze(x, tests=[{', '.join(base)}, principal_directions])` | {t_with:.1f} |")
    print(f"| the same without principal_directions | {t_without:.1f} |")
    print(f"| added by the principal-direction test in `analyze` | {t_with - t_without:.1f} "
          f"({(t_with - t_without) / t_without:+.0%}) |")
    print(f"| `principal_direction_test(x)` alone | {t_pd:.1f} |")
    print(f"| `least_gaussian_direction(x, n_null=0)` alone (search only) | {t_search:.1f} |")
    print(f"\nin analyze: ran {ran}, skipped {skipped}")
    print("analyze's steps (s):", {k: round(v, 2) for k, v in rep.timings.items()})
    print(f"pursuit search: excess kurtosis {found.best.excess_kurtosis:+.3f} along the direction found")


if __name__ == "__main__":
    main()
