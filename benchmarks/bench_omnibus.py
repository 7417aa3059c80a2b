"""Royston, Doornik-Hansen and the energy test: timings, energy memory vs a naive n x n computation,
and (with ``--calibration``) the rejection rates under exact Gaussians quoted in the docs.

* timings: each test at a few (n, d), NumPy and (when installed) torch on the CPU and on CUDA;
* energy: the blocked statistic against the naive NumPy version that builds the full n x n distance
  matrix (time and peak traced memory), and the cost of one bootstrap resample;
* calibration: rejection rate at alpha = 0.05 (and 0.01) over seeded Gaussian draws for
  n in {20, 200, 2000} x d in {2, 10, 50};
* power: rejection rate at alpha = 0.05 against Laplace, t5, uniform-on-the-sphere and a
  two-component mixture, at n = 50 and d in {5, 20}.

Run: ``python benchmarks/bench_omnibus.py`` (full sizes), ``--quick`` (small sizes, a few seconds),
``--calibration [--draws 4000]`` and ``--power [--draws 500]`` (minutes). ``--json FILE`` writes the
numbers. Timings on a shared
machine are noisy; the numbers for the record come from a quiet one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _timing import best_of

from gaussprobe.stats.doornik_hansen import doornik_hansen
from gaussprobe.stats.energy import chi_mean, energy_test, expected_distance_to_gaussian
from gaussprobe.stats.royston import royston


def peak_traced(fn):
    """Peak memory traced by tracemalloc (NumPy allocations are traced) while ``fn`` runs, MiB."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def energy_naive_numpy(x):
    """The textbook computation: whiten, then the full n x n distance matrix (O(n²) memory).

    ``E‖y_i - Z‖`` uses gaussprobe's quadrature: ``scipy.special.hyp1f1`` overflows already at
    d = 128 for some rows (counted by :func:`hyp1f1_overflows`).
    """
    n, d = x.shape
    xc = x - x.mean(axis=0)
    lam, v = np.linalg.eigh(xc.T @ xc / (n - 1))
    y = xc @ (v / np.sqrt(lam)) @ v.T
    sq = np.sum(y * y, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * y @ y.T, 0.0)
    np.fill_diagonal(d2, 0.0)
    dist = np.sqrt(d2)
    mean1 = float(np.mean(expected_distance_to_gaussian(sq, d, np)))
    return n * (2 * mean1 - math.sqrt(2) * chi_mean(d) - dist.sum() / n**2)


def hyp1f1_overflows(x):
    """How many rows make ``scipy.special.hyp1f1(-1/2, d/2, -|y|²/2)`` non-finite."""
    from scipy import special

    n, d = x.shape
    xc = x - x.mean(axis=0)
    lam, v = np.linalg.eigh(xc.T @ xc / (n - 1))
    sq = np.sum((xc @ (v / np.sqrt(lam))) ** 2, axis=1)
    with np.errstate(all="ignore"):
        return int(np.sum(~np.isfinite(special.hyp1f1(-0.5, d / 2, -sq / 2))))


def bench_timings(sizes, repeat, out):
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    rows = []
    for n, d in sizes:
        x = np.random.default_rng(0).standard_normal((n, d))
        row = {"n": n, "d": d}
        tests = {
            "royston": lambda a: royston(a),
            "doornik_hansen": lambda a: doornik_hansen(a),
            "energy_statistic": lambda a: energy_test(a, n_resamples=0),
        }
        for name, fn in tests.items():
            if name == "royston" and n > 5000:
                continue
            fn(x)
            row[f"{name}_numpy_s"] = best_of(lambda fn=fn, x=x: fn(x), repeat)
            if torch is not None:
                t = torch.as_tensor(x)
                fn(t)
                row[f"{name}_torch_cpu_s"] = best_of(lambda fn=fn, t=t: fn(t), repeat)
                if torch.cuda.is_available():  # results come back to the host: that syncs
                    g = t.cuda()
                    fn(g)
                    row[f"{name}_torch_cuda_s"] = best_of(lambda fn=fn, g=g: fn(g), repeat)
        rows.append(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
              flush=True)
    out["timings"] = rows


def bench_energy_memory(sizes, repeat, out):
    rows = []
    for n, d in sizes:
        x = np.random.default_rng(1).standard_normal((n, d))
        def blocked_fn(x=x):
            return energy_test(x, n_resamples=0).statistic

        def naive_fn(x=x):
            return energy_naive_numpy(x)

        blocked = best_of(blocked_fn, repeat)
        naive = best_of(naive_fn, repeat)
        row = {
            "n": n, "d": d,
            "blocked_s": blocked,
            "naive_nxn_s": naive,
            "blocked_peak_mib": peak_traced(blocked_fn),
            "naive_nxn_peak_mib": peak_traced(naive_fn),
            "input_mib": x.nbytes / 2**20,
            "same_value_rel": abs(energy_test(x, n_resamples=0).statistic / energy_naive_numpy(x) - 1),
            "scipy_hyp1f1_nonfinite_rows": hyp1f1_overflows(x),
        }
        t0 = time.perf_counter()
        energy_test(x, n_resamples=5, rng=0)
        row["per_resample_s"] = (time.perf_counter() - t0 - blocked) / 5
        rows.append(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
              flush=True)
    out["energy_blocked_vs_naive"] = rows


def bench_calibration(draws, out):
    tests = {
        "royston_mvn": lambda x: royston(x).pvalue,
        "royston_shapiro_wilk": lambda x: royston(x, column_test="shapiro-wilk").pvalue,
        "doornik_hansen": lambda x: doornik_hansen(x).pvalue,
    }
    rows = []
    for name, fn in tests.items():
        for n in (20, 200, 2000):
            for d in (2, 10, 50):
                if name == "doornik_hansen" and n <= d:
                    continue
                rng = np.random.default_rng([n, d, draws])
                p = np.array([fn(rng.standard_normal((n, d))) for _ in range(draws)])
                row = {"test": name, "n": n, "d": d, "draws": draws,
                       "rate_05": float(np.mean(p < 0.05)), "rate_01": float(np.mean(p < 0.01))}
                rows.append(row)
                print(f"{name:22s} n={n:5d} d={d:3d} rate(0.05)={row['rate_05']:.4f} "
                      f"rate(0.01)={row['rate_01']:.4f}", flush=True)
    out["calibration"] = rows


def _alternatives():
    """The samplers of the test suite's power tests (``tests/_alternatives.py``), by name."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import _alternatives as alt

    return {"laplace": alt.laplace, "t5": alt.t5, "uniform_sphere": alt.sphere, "mixture2": alt.mixture}


def bench_power(draws, out):
    tests = {
        "royston_mvn": lambda x, rng: royston(x).pvalue,
        "royston_shapiro_wilk": lambda x, rng: royston(x, column_test="shapiro-wilk").pvalue,
        "doornik_hansen": lambda x, rng: doornik_hansen(x).pvalue,
        "energy_R99": lambda x, rng: energy_test(x, n_resamples=99, rng=rng).pvalue,
    }
    rows = []
    for n, d in ((50, 5), (50, 20)):
        for alt, sampler in _alternatives().items():
            for name, fn in tests.items():
                k = max(20, draws // 5) if name.startswith("energy") else draws
                rng = np.random.default_rng([n, d, len(alt)])
                p = np.array([fn(sampler(rng, n, d), rng) for _ in range(k)])
                row = {"test": name, "alternative": alt, "n": n, "d": d, "draws": k,
                       "power_05": float(np.mean(p <= 0.05))}
                rows.append(row)
                print(f"power {name:22s} {alt:15s} n={n} d={d} draws={k} "
                      f"rate(0.05)={row['power_05']:.3f}", flush=True)
    out["power"] = rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--calibration", action="store_true", help="rejection rates under the null")
    ap.add_argument("--power", action="store_true", help="rejection rates under alternatives")
    ap.add_argument("--draws", type=int, default=2000, help="draws per calibration or power cell")
    ap.add_argument("--json", default=None, help="write the numbers to this file")
    args = ap.parse_args(argv)
    out: dict = {"quick": args.quick}
    if args.calibration:
        bench_calibration(args.draws, out)
    if args.power:
        bench_power(args.draws, out)
    if not (args.calibration or args.power):
        if args.quick:
            timing_sizes = [(500, 8), (2000, 32)]
            energy_sizes = [(1000, 16), (2000, 64)]
            repeat = 2
        else:
            timing_sizes = [(2000, 64), (5000, 128), (5000, 384), (20000, 128)]
            energy_sizes = [(2000, 64), (5000, 128), (8000, 128), (4000, 384)]
            repeat = 3
        bench_timings(timing_sizes, repeat, out)
        bench_energy_memory(energy_sizes, repeat, out)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
