"""Calibration and power tables for Mardia's and Henze-Zirkler's tests (the tables in the docs pages).

Rejection rates at alpha = 0.05 under exact Gaussians for n in {20, 200, 2000} x d in {2, 10, 50}
(where n > d + 1), with the binomial 99 % band, and power against four alternatives.

    python benchmarks/calibration_mvn.py            # 1000 draws per cell (a few minutes)
    python benchmarks/calibration_mvn.py --quick    # 100 draws per cell
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from gaussprobe.stats.henze_zirkler import henze_zirkler
from gaussprobe.stats.mardia import mardia

ALPHA = 0.05
TESTS = [
    ("Mardia skewness", lambda m, h: m.skewness_test.pvalue),
    ("skewness (small-sample)", lambda m, h: m.skewness_test_small_sample.pvalue),
    ("kurtosis (finite n)", lambda m, h: m.kurtosis_test.pvalue),
    ("kurtosis (asymptotic)", lambda m, h: m.kurtosis_test_asymptotic.pvalue),
    ("Henze-Zirkler", lambda m, h: h.pvalue),
]


def _sphere(rng, n, d):
    g = rng.standard_normal((n, d))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def _mixture(rng, n, d):
    shift = np.zeros(d)
    shift[0] = 4.0
    return rng.standard_normal((n, d)) + (rng.random(n) < 0.2)[:, None] * shift


ALTERNATIVES = [
    ("Laplace", lambda r, n, d: r.laplace(size=(n, d))),
    ("Student t5", lambda r, n, d: r.standard_t(5, size=(n, d))),
    ("uniform on sphere", _sphere),
    ("mixture 0.8 N(0,I) + 0.2 N(4e₁,I)", _mixture),
]


def rates(sampler, n, d, reps, seed):
    rng = np.random.default_rng(seed)
    rejected = np.zeros(len(TESTS))
    for _ in range(reps):
        x = sampler(rng, n, d)
        m, h = mardia(x), henze_zirkler(x)
        rejected += [f(m, h) < ALPHA for _, f in TESTS]
    return rejected / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="100 draws per cell instead of 1000")
    ap.add_argument("--reps", type=int, default=None)
    args = ap.parse_args()
    reps = args.reps or (100 if args.quick else 1000)
    lo, hi = (v / reps for v in stats.binom.interval(0.99, reps, ALPHA))
    t0 = time.perf_counter()
    print(f"## Level at alpha = {ALPHA}, {reps} Gaussian draws per cell "
          f"(99 % binomial band [{lo:.3f}, {hi:.3f}]; * = outside)\n")
    print("| n | d | " + " | ".join(name for name, _ in TESTS) + " |")
    print("|---|---|" + "---|" * len(TESTS))
    for n in (20, 200, 2000):
        for d in (2, 10, 50):
            if n <= d + 1:
                continue
            r = rates(lambda g, n_, d_: g.standard_normal((n_, d_)), n, d, reps, seed=100 * n + d)
            cells = [f"{v:.3f}{'' if lo <= v <= hi else '*'}" for v in r]
            print(f"| {n} | {d} | " + " | ".join(cells) + " |", flush=True)
    preps = max(50, reps // 5)
    print(f"\n## Power at alpha = {ALPHA}, n = 200, {preps} draws per cell\n")
    print("| alternative | d | " + " | ".join(name for name, _ in TESTS) + " |")
    print("|---|---|" + "---|" * len(TESTS))
    for name, sampler in ALTERNATIVES:
        for d in (2, 10, 50):
            r = rates(sampler, 200, d, preps, seed=7 * d + len(name))
            print(f"| {name} | {d} | " + " | ".join(f"{v:.2f}" for v in r) + " |", flush=True)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
