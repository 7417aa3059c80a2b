"""CUDA checks and timings in one run (for a machine with an NVIDIA GPU).

What it does, writing everything to ``--out`` (default ``$OUT`` or ``gpu_results/``):

1. runs the test suite's CUDA-marked tests (``pytest -m gpu``), which compare torch-cuda with NumPy;
2. checks ``analyze`` on a CUDA tensor against the NumPy result for the same data and seed;
3. times ``analyze`` on a 1,000,000 x 768 float32 CUDA tensor (and a 100,000 x 768 one), with peak GPU
   memory;
4. runs the multivariate GPU benchmark (``benchmarks/gpu_bench_mvn.py``) when present.

Without CUDA it prints a message and exits 0, so it is safe anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _timing import cuda_torch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.environ.get("OUT", "gpu_results"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    torch = cuda_torch("nothing to check")
    if torch is None:
        return 0
    import numpy as np

    import gaussprobe as gp

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}

    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, check=False)
    (out / "pytest_gpu.log").write_text(proc.stdout + proc.stderr)
    results["pytest_gpu_returncode"] = proc.returncode
    results["pytest_gpu_tail"] = proc.stdout.strip().splitlines()[-1:] if proc.stdout else []

    rng = np.random.default_rng(0)
    x = rng.standard_normal((20_000, 64))
    r_np = gp.analyze(x, rng=0)
    r_cu = gp.analyze(torch.as_tensor(x, device="cuda"), rng=0)
    a, b = r_np.to_dict(), r_cu.to_dict()

    def max_rel(u, v, path=""):
        worst = 0.0
        if isinstance(u, dict):
            for k in u:
                if k in {"timings", "device", "backend"}:
                    continue
                worst = max(worst, max_rel(u[k], v.get(k), f"{path}.{k}"))
        elif isinstance(u, list) and isinstance(v, list):
            for p, q in zip(u, v, strict=False):
                worst = max(worst, max_rel(p, q, path))
        elif isinstance(u, float) and isinstance(v, float):
            worst = abs(u - v) / max(abs(u), 1e-300) if u != v else 0.0
        return worst

    results["analyze_cuda_vs_numpy_max_rel_diff"] = max_rel(a, b)

    for n in (100_000, args.rows):
        xt = torch.randn(n, 768, device="cuda", dtype=torch.float32)
        torch.cuda.synchronize()
        gp.analyze(xt[:5000], rng=0)
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        t0 = time.perf_counter()
        rep = gp.analyze(xt, rng=0)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(3):
            xt.T @ xt
        torch.cuda.synchronize()
        gemm = (time.perf_counter() - t1) / 3
        results[f"analyze_{n}x768"] = {
            "seconds": dt, "xtx_seconds": gemm, "ratio": dt / gemm,
            "peak_extra_gib": (torch.cuda.max_memory_allocated() - base) / 2**30,
            "input_gib": xt.numel() * 4 / 2**30, "timings": rep.timings, "skipped": rep.skipped,
        }
        del xt
        torch.cuda.empty_cache()

    mvn = Path(__file__).with_name("gpu_bench_mvn.py")
    if mvn.exists():
        proc = subprocess.run([sys.executable, str(mvn), "--out", str(out)], capture_output=True, text=True,
                              check=False)
        (out / "gpu_bench_mvn.log").write_text(proc.stdout + proc.stderr)
        results["gpu_bench_mvn_returncode"] = proc.returncode

    (out / "gpu_check.json").write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
