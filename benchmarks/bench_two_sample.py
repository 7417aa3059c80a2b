"""Cost of the two-sample energy test (``energy_two_sample``) at the width of a BERT-base encoder.

Two samples of 10,000 rows at d = 768; each run uses ``max_rows`` rows per sample (so ``N = 2 ·
max_rows`` pooled rows) and 199 permutations, and is repeated with 0 permutations to separate the cost
of the distances (``N² d``) from that of the permutations (``N² B``). Prints the best wall time and the
peak of traced Python/NumPy memory; the default ``max_rows`` (5000) is the last row.

    python benchmarks/bench_two_sample.py              # max_rows 1000, 2500, 5000
    python benchmarks/bench_two_sample.py --quick      # max_rows 1000 only
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np

from gaussprobe._kernels.gram import cpu_threads
from gaussprobe.stats.two_sample import energy_two_sample


def run(x: np.ndarray, y: np.ndarray, rows: int, permutations: int, repeat: int) -> tuple[float, float]:
    """(best seconds, peak traced MiB) of ``energy_two_sample`` at ``max_rows=rows``."""
    best, peak = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        tracemalloc.start()
        t0 = time.perf_counter()
        energy_two_sample(x, y, max_rows=rows, n_permutations=permutations, rng=0)
        best = min(best, time.perf_counter() - t0)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return best, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="max_rows 1000 only")
    parser.add_argument("--repeat", type=int, default=2, help="runs per size, best kept (default 2)")
    args = parser.parse_args()
    g = np.random.default_rng(0)
    d = 768
    x, y = g.standard_normal((10_000, d)), g.standard_normal((10_000, d))
    print(f"d = {d}, {cpu_threads()} CPU(s); best of {args.repeat}")
    print("max_rows  N       B=199 s  B=0 s   peak MiB (B=199)")
    for rows in (1000,) if args.quick else (1000, 2500, 5000):
        full, peak = run(x, y, rows, 199, args.repeat)
        bare, _ = run(x, y, rows, 0, args.repeat)
        print(f"{rows:<9} {2 * rows:<7} {full:<8.2f} {bare:<7.2f} {peak:.0f}")


if __name__ == "__main__":
    main()
