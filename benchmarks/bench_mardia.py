"""Mardia's test against the machine's GEMM bound, a naive NumPy version, and the tensor-route target.

Targets (float64, measured side by side in one run):

* ``mardia`` at n = 20,000, d = 768 (Gram route) within 1.3x of the GEMM bound, i.e. n²·d flop (the
  i <= j half of the Gram matrix) at the single-thread dgemm rate times the number of cores;
  peak extra memory <= 512 MiB (tracemalloc; the input itself is not counted);
* ``mardia`` at n = 1,000,000, d = 16 (tensor route) in <= 3 s;
* the numba cube-sum kernel faster than its NumPy twin (otherwise it would not ship).

    python benchmarks/bench_mardia.py           # full size (about a minute; needs ~8 GiB free for
                                                # the naive comparison, which is skipped otherwise)
    python benchmarks/bench_mardia.py --quick   # small sizes, checks that everything runs
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from gaussprobe._kernels._numba import cube_sum_kernel, cube_sum_twin
from gaussprobe._kernels.gram import DEFAULT_TILE_HOST, cpu_threads
from gaussprobe.stats.mardia import mardia


def single_thread_dgemm_rate(d: int, seconds: float = 1.5) -> float:
    """Best flop/s of one BLAS thread over the tile shapes the Gram route can use (512 and 1024 rows)."""
    return max(_rate(d, tile, seconds / 2) for tile in (DEFAULT_TILE_HOST, 2 * DEFAULT_TILE_HOST))


def _rate(d: int, tile: int, seconds: float) -> float:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((tile, d)), rng.standard_normal((tile, d))
    out = np.empty((tile, tile))
    with threadpool_limits(limits=1, user_api="blas"):
        np.matmul(a, b.T, out=out)
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            np.matmul(a, b.T, out=out)
            reps += 1
        dt = time.perf_counter() - t0
    return 2.0 * tile * tile * d * reps / dt


def timed(fn, repeat: int = 2):
    """Best wall time of ``repeat`` runs, the last result, and tracemalloc's peak of the first run."""
    gc.collect()
    tracemalloc.start()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = np.inf
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out, peak


def mem_available() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return 0.0


def naive_mardia_skewness(x: np.ndarray) -> float:
    """What a user would write: whiten, form the full n x n Gram matrix, cube and sum."""
    xc = x - x.mean(axis=0)
    s_inv = np.linalg.inv(xc.T @ xc / len(x))
    g = xc @ s_inv @ xc.T
    return float(np.sum(g**3)) / len(x) ** 2


def kernel_rates() -> tuple[float, float]:
    """ns per entry of Σ g³ on one 512 x 512 tile: numba fused loop vs NumPy twin."""
    g = np.random.default_rng(1).standard_normal(512 * 512) * 30
    work = np.empty_like(g)
    fused = cube_sum_kernel()
    fused(g)
    out = []
    for fn in (lambda: fused(g), lambda: cube_sum_twin(g, work)):
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.5:
            fn()
            reps += 1
        out.append((time.perf_counter() - t0) / reps / g.size * 1e9)
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n, d = (3000, 256) if args.quick else (20_000, 768)
    n_t, d_t = (100_000, 16) if args.quick else (1_000_000, 16)
    cores = cpu_threads()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d))
    mardia(x[:600, :8], method="gram", engine="numba")  # compile (or load) the kernel outside the timing

    rate = single_thread_dgemm_rate(d)
    bound = float(n) * n * d / (rate * cores)
    t_gram, res, peak = timed(lambda: mardia(x, method="gram"))
    t_array, res_a, _ = timed(lambda: mardia(x, method="gram", engine="array"), repeat=1)
    rate_after = single_thread_dgemm_rate(d, seconds=1.0)
    bound_after = float(n) * n * d / (rate_after * cores)
    numba_ns, twin_ns = kernel_rates()

    print(f"# Mardia benchmarks ({'quick' if args.quick else 'full'}; {cores} cores; "
          "shared machine: provisional numbers)")
    print(f"single-thread dgemm: {rate / 1e9:.1f} GFLOP/s before, {rate_after / 1e9:.1f} after")
    print(f"GEMM bound n²d/(rate x {cores}) at n={n}, d={d}: {bound:.2f} s (before) / "
          f"{bound_after:.2f} s (after)")
    print(f"mardia gram route (auto engine):  {t_gram:.2f} s  ratio {t_gram / bound:.2f}x "
          f"(target <= 1.3x; vs 'after' bound {t_gram / bound_after:.2f}x)")
    print(f"mardia gram route (array engine): {t_array:.2f} s  ratio {t_array / bound:.2f}x")
    print(f"peak extra memory (tracemalloc): {peak / 2**20:.0f} MiB (target <= 512 MiB; "
          f"input {x.nbytes / 2**20:.0f} MiB not counted)")
    print(f"cube-sum kernel: numba {numba_ns:.3f} ns/entry, NumPy twin {twin_ns:.3f} ns/entry "
          f"({twin_ns / numba_ns:.1f}x)")
    print(f"skewness auto vs array engine: rel diff {abs(res.skewness / res_a.skewness - 1):.1e}")

    n_naive = n
    if not args.quick and mem_available() < 8 * 2**30:
        n_naive = 8000
        print("(less than 8 GiB available: naive comparison at n=8000, time scaled by (n/8000)²)")
    xn = x[:n_naive]
    t_naive, b1_naive, peak_naive = timed(lambda: naive_mardia_skewness(xn), repeat=1)
    scale = (n / n_naive) ** 2
    ref = res.skewness if n_naive == n else mardia(xn, method="gram").skewness
    print(f"naive NumPy full Gram: {t_naive * scale:.1f} s{' (scaled)' if scale != 1 else ''}, "
          f"peak {peak_naive / 2**20:.0f} MiB at n={n_naive}; skewness rel diff "
          f"{abs(b1_naive / ref - 1):.1e}; speed-up {t_naive * scale / t_gram:.1f}x")

    xt = rng.standard_normal((n_t, d_t))
    t_tensor, rt, peak_t = timed(lambda: mardia(xt))
    print(f"mardia tensor route at n={n_t}, d={d_t}: {t_tensor:.2f} s (target <= 3 s), method "
          f"{rt.method}, peak extra {peak_t / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
