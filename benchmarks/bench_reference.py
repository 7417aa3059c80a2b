"""Cost of the Gaussian references printed beside each value (gaussprobe._reference), per (n, d).

Each reference is computed once per (n, d) and process (cached); this times the first, uncached call
of each part, best of ``--repeat`` runs with the cache cleared in between. The default sizes include the
report benchmark's (100,000, 768) and the issue's (553, 384).

    python benchmarks/bench_reference.py [--repeat 3] [--sizes 100000x768,553x384]
"""

from __future__ import annotations

import argparse
import time

from gaussprobe import _reference as R


def best_of(fn, repeat, clear):
    best = float("inf")
    for _ in range(repeat):
        clear()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="100000x768,10000x768,2000x384,553x384,200x32")
    args = ap.parse_args()
    import scipy.linalg
    import scipy.special  # noqa: F401

    print(f"{'n x d':>14} {'draws':>6} {'spectrum+BW':>12} {'thin shell':>11} {'pass fr.':>9} {'total':>8}")
    for size in args.sizes.split(","):
        n, d = (int(v) for v in size.split("x"))
        t_spec = best_of(lambda n=n, d=d: R.spectrum_references(n, d), args.repeat,
                         R.spectrum_references.cache_clear)
        t_ts = best_of(lambda n=n, d=d: R.cv_ratio_reference(n, d), args.repeat, R.cv_ratio_reference.cache_clear)

        def clear_pass():
            R.coordinate_pass_references.cache_clear()
            R.dp_pass_probability.cache_clear()

        t_pass = best_of(lambda n=n, d=d: R.coordinate_pass_references(n, d, 0.05), args.repeat, clear_pass)
        print(f"{size:>14} {R.spectrum_draws(n, d):>6} {t_spec:>11.3f}s {t_ts:>10.3f}s {t_pass:>8.3f}s "
              f"{t_spec + t_ts + t_pass:>7.3f}s")


if __name__ == "__main__":
    main()
