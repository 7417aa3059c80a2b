"""Henze-Zirkler against pingouin, measured side by side in one run.

Target at n = 10,000, d = 128, float64: >= 20x faster than ``pingouin.multivariate_normality`` and
>= 50x less peak memory, with the same statistic to 1e-10. pingouin (GPL-3.0) is only imported here,
never by gaussprobe. The script also times a fused numba ``Σ exp`` kernel against the NumPy path
the library uses, which is why no numba kernel ships for this test.

    python benchmarks/bench_hz.py            # full size (pingouin needs ~4.5 GiB at n = 10,000)
    python benchmarks/bench_hz.py --quick    # n = 2,000, d = 32
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc
import warnings

import numpy as np

from gaussprobe._kernels.gram import DEFAULT_TILE_HOST, cpu_threads
from gaussprobe.stats.henze_zirkler import henze_zirkler


def timed(fn, repeat: int = 1):
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = first
    for _ in range(repeat - 1):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out, peak


def exp_kernel_rates() -> tuple[float, float]:
    """ns per entry of Σ_jk exp(u_j + u_k + g_jk) on a 512 x 512 tile: numba loop vs NumPy path."""
    import numba

    @numba.njit(fastmath={"reassoc", "contract"}, nogil=True)
    def fused(g, u, v):  # pragma: no cover - benchmark only
        acc = 0.0
        for i in range(g.shape[0]):
            ui = u[i]
            for j in range(g.shape[1]):
                acc += math.exp(ui + v[j] + g[i, j])
        return acc

    b = DEFAULT_TILE_HOST
    rng = np.random.default_rng(0)
    g = rng.standard_normal((b, b))
    u = rng.standard_normal(b) * 0.1
    eu = np.exp(u)
    e = np.empty_like(g)

    def numpy_path():
        np.exp(g, out=e)
        return float(eu @ (e @ eu))

    fused(g, u, u)
    rates = []
    for fn in (lambda: fused(g, u, u), numpy_path):
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.5:
            fn()
            reps += 1
        rates.append((time.perf_counter() - t0) / reps / g.size * 1e9)
    return rates[0], rates[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-pingouin", action="store_true", help="time gaussprobe only")
    args = ap.parse_args()
    n, d = (2000, 32) if args.quick else (10_000, 128)
    x = np.random.default_rng(0).standard_normal((n, d))
    henze_zirkler(x[:200, :4])  # warm-up (imports)
    t_gp, res, peak_gp = timed(lambda: henze_zirkler(x), repeat=3)
    print(f"# Henze-Zirkler benchmark ({'quick' if args.quick else 'full'}; {cpu_threads()} cores; "
          "shared machine: provisional numbers)")
    print(f"gaussprobe henze_zirkler n={n}, d={d}: {t_gp:.3f} s, peak extra {peak_gp / 2**20:.1f} MiB; "
          f"HZ-1 = {res.statistic_minus_one:.6e}, p = {res.pvalue:.6g}")
    if not args.no_pingouin:
        import pingouin as pg

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_pg, ref, peak_pg = timed(lambda: pg.multivariate_normality(x))
        rel = abs(res.statistic / float(ref.hz) - 1)
        print(f"pingouin multivariate_normality:   {t_pg:.3f} s, peak extra {peak_pg / 2**20:.0f} MiB; "
              f"HZ = {float(ref.hz):.12g}, p = {float(ref.pval):.6g}")
        print(f"speed-up {t_pg / t_gp:.1f}x (target >= 20x), memory ratio {peak_pg / peak_gp:.0f}x "
              f"(target >= 50x), statistic rel diff {rel:.1e} (target <= 1e-10)")
    try:
        numba_ns, numpy_ns = exp_kernel_rates()
        print(f"exp-sum tile kernel: numba {numba_ns:.2f} ns/entry vs NumPy exp + gemv "
              f"{numpy_ns:.2f} ns/entry -> {'numba' if numba_ns < numpy_ns else 'NumPy'} is faster")
    except ImportError:
        print("numba not installed: kernel comparison skipped")


if __name__ == "__main__":
    main()
