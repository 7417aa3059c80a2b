"""CUDA benchmark and checks for Mardia and Henze-Zirkler (skips cleanly without CUDA).

Measured in one run on the GPU:

* the fp64 GEMM rate on the tile shape the Gram route uses, and the bound n²·d / rate;
* ``mardia`` at n = 200,000, d = 768, float64 (target: within 1.3x of that bound, extra GPU memory
  <= 8 GiB), and its skewness against a float64 CPU-independent re-run with another block size;
* the same in float32 with TF32 matrix products enabled, its time and relative error (a
  PrecisionWarning is expected and recorded);
* ``henze_zirkler`` at n = 50,000, d = 128 on the GPU vs float64 reference with another block size;
* optionally (``--tests``) the CUDA-parametrised tests of the Mardia/HZ/kernel test files.

Results are printed and written as JSON to ``--out`` (default: ``$OUT/gpu_bench_mvn.json`` when
``$OUT`` is set, else ``gpu_bench_mvn.json``).

    python benchmarks/gpu_bench_mvn.py [--quick] [--tests]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

from _timing import cuda_torch


def _sync(torch):
    torch.cuda.synchronize()


def gemm_rate(torch, d: int, tile: int, dtype, seconds: float = 1.0) -> float:
    a = torch.randn(tile, d, device="cuda", dtype=dtype)
    b = torch.randn(tile, d, device="cuda", dtype=dtype)
    a @ b.T
    _sync(torch)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            a @ b.T
        _sync(torch)
        reps += 10
    return 2.0 * tile * tile * d * reps / (time.perf_counter() - t0)


def timed_cuda(torch, fn, repeat: int = 2):
    _sync(torch)
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    out = fn()
    _sync(torch)
    peak = torch.cuda.max_memory_allocated() - base
    best = float("inf")
    for _ in range(repeat):
        _sync(torch)
        t0 = time.perf_counter()
        out = fn()
        _sync(torch)
        best = min(best, time.perf_counter() - t0)
    return best, out, peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tests", action="store_true", help="also run the CUDA tests")
    default_out = os.path.join(os.environ.get("OUT", "."), "gpu_bench_mvn.json")
    ap.add_argument("--out", default=default_out)
    args = ap.parse_args()
    torch = cuda_torch("skipping the CUDA benchmark")
    if torch is None:
        return 0

    from gaussprobe._kernels.gram import DEFAULT_TILE_DEVICE
    from gaussprobe.stats.henze_zirkler import henze_zirkler
    from gaussprobe.stats.mardia import mardia

    n, d = (40_000, 768) if args.quick else (200_000, 768)
    report: dict[str, object] = {"device": torch.cuda.get_device_name(), "n": n, "d": d,
                                 "torch": torch.__version__}
    gen = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(n, d, device="cuda", dtype=torch.float64, generator=gen)

    rate = gemm_rate(torch, d, DEFAULT_TILE_DEVICE, torch.float64)
    bound = float(n) * n * d / rate
    torch.backends.cuda.matmul.allow_tf32 = False
    t64, r64, mem64 = timed_cuda(torch, lambda: mardia(x, method="gram"))
    r64b = mardia(x, method="gram", block_size=DEFAULT_TILE_DEVICE // 2 + 7)
    report.update(fp64_gemm_tflops=rate / 1e12, bound_s=bound, mardia_fp64_s=t64,
                  ratio_to_bound=t64 / bound, extra_gpu_mib=mem64 / 2**20,
                  skewness=r64.skewness, kurtosis=r64.kurtosis,
                  block_size_rel_diff=abs(r64b.skewness / r64.skewness - 1))

    t32, r32, mem32 = timed_cuda(torch, lambda: mardia(x, method="gram", dtype="float32"))
    torch.backends.cuda.matmul.allow_tf32 = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t_tf, r_tf, _ = timed_cuda(torch, lambda: mardia(x, method="gram", dtype="float32"), repeat=1)
    torch.backends.cuda.matmul.allow_tf32 = False
    report.update(
        mardia_fp32_s=t32, fp32_extra_gpu_mib=mem32 / 2**20,
        fp32_skewness_rel_err=abs(r32.skewness / r64.skewness - 1),
        mardia_tf32_s=t_tf, tf32_skewness_rel_err=abs(r_tf.skewness / r64.skewness - 1),
        tf32_kurtosis_rel_err=abs(r_tf.kurtosis / r64.kurtosis - 1),
        tf32_warning=[str(w.category.__name__) for w in caught],
    )

    xh = x[: (10_000 if args.quick else 50_000), :128].contiguous()
    t_hz, hz, mem_hz = timed_cuda(torch, lambda: henze_zirkler(xh))
    hz_ref = henze_zirkler(xh, block_size=1531)
    report.update(hz_n=int(xh.shape[0]), hz_s=t_hz, hz_extra_gpu_mib=mem_hz / 2**20,
                  hz_pvalue=hz.pvalue,
                  hz_block_rel_diff=abs(hz.statistic_minus_one / hz_ref.statistic_minus_one - 1))

    if args.tests:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda",
               "tests/test_mardia.py", "tests/test_henze_zirkler.py", "tests/test_gram_kernels.py"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        report["tests_rc"] = proc.returncode
        report["tests_tail"] = proc.stdout[-2000:]

    for key, value in report.items():
        print(f"{key}: {value}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
