"""False-failure rate of the default ``gaussian`` preset on exact Gaussian samples.

Each draw is a seeded Gaussian sample (isotropic, or with a random rotation times a spectrum log-spaced
from 1 to 10 in standard deviation); the report runs the tests the preset reads, and the verdict of
``report.check()`` is recorded, with which criterion failed. The preset is Bonferroni over calibrated
p-values at a family-wise level of 1%, so the rate must be at most 1% (within the binomial band).

    python benchmarks/preset_false_failures.py [--draws 500] [--cells 100x8,1000x64,2000x384]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter

import numpy as np
from scipy import stats

import gaussprobe as gp


def run_cell(n: int, d: int, draws: int, anisotropic: bool) -> tuple[int, Counter, float]:
    rng = np.random.default_rng(1000 * n + d)
    scale = np.exp(np.linspace(0.0, np.log(10.0), d)) if anisotropic else np.ones(d)
    rot = np.linalg.qr(rng.standard_normal((d, d)))[0] if anisotropic else np.eye(d)
    fails, which = 0, Counter()
    t0 = time.perf_counter()
    for i in range(draws):
        x = (np.random.default_rng([n, d, i]).standard_normal((n, d)) * scale) @ rot
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = gp.analyze(x, rng=i, tests=["coordinates", "projections", "principal_directions", "mardia"])
        outcome = rep.check()
        fails += not outcome.passed
        which.update(r.name for r in outcome.failures)
    return fails, which, (time.perf_counter() - t0) / draws


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--cells", default="100x8,1000x64,2000x384")
    args = ap.parse_args(argv)
    hi = stats.binom.ppf(0.995, args.draws, 0.01)
    print(f"| n | d | covariance | failures / {args.draws} | rate | 99% band upper | failed criteria | s/draw |")
    print("|---|---|---|---|---|---|---|---|")
    for cell in args.cells.split(","):
        n, d = (int(v) for v in cell.split("x"))
        for aniso in (False, True):
            fails, which, sec = run_cell(n, d, args.draws, aniso)
            crit = ", ".join(f"{k.removeprefix('min_').removesuffix('_pvalue')} {v}" for k, v in which.items())
            print(f"| {n} | {d} | {'anisotropic' if aniso else 'isotropic'} | {fails} | "
                  f"{fails / args.draws:.3f} | {hi / args.draws:.3f} | {crit or '-'} | {sec:.2f} |", flush=True)


if __name__ == "__main__":
    main()
