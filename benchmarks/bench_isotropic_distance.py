"""Timing of thin_shell and isotropic_distance, phase by phase.

Full size (the numbers quoted in docs/statistics/distance.md): n=100,000, d=768, k=256.
``--quick``: n=10,000, d=128, k=64. ``--torch`` also times a torch CPU tensor input.

    python benchmarks/bench_isotropic_distance.py [--quick] [--torch]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gaussprobe._engine import executor_for
from gaussprobe._random import random_directions
from gaussprobe._validation import check_embeddings
from gaussprobe.stats._moments import project_rows
from gaussprobe.stats.distance import (
    auto_n_null,
    isotropic_distance,
    normal_cell_means,
    null_sliced_statistics,
)
from gaussprobe.stats.spectrum import centred_moments, sphericity_test
from gaussprobe.stats.thin_shell import thin_shell


def timed(label, fn, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:<48s} {best:8.3f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--torch", action="store_true")
    args = ap.parse_args()
    n, d, k = (10_000, 128, 64) if args.quick else (100_000, 768, 256)
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    print(f"n={n} d={d} k={k} (float32 storage, float64 compute); auto n_null={auto_n_null(n, k)}")
    emb = check_embeddings(x)
    timed("thin_shell", lambda: thin_shell(x))
    timed("covariance + eigendecomposition", lambda: centred_moments(emb))
    timed("sphericity_test (traces only)", lambda: sphericity_test(x))
    u = random_directions(d, k, 0)
    timed("projections x @ U", lambda: project_rows(emb, u))
    timed("projections + their sorted-column statistics", lambda: executor_for(emb).projection_tests(
        emb, u, block_size=None, cell_means=normal_cell_means(n)))
    timed("one null replicate", lambda: null_sliced_statistics(n, u, 1, 0))
    res = timed("isotropic_distance (default n_null)", lambda: isotropic_distance(x, rng=0,
                                                                                  n_projections=k))
    print(f"  n_null={res.sliced.n_null} excess_ratio={res.sliced.excess_ratio:.3f} "
          f"normalized BW={res.bures_wasserstein.normalized:.5f}")
    if args.torch:
        import torch

        t = torch.as_tensor(x)
        timed("isotropic_distance, torch CPU input", lambda: isotropic_distance(t, rng=0,
                                                                                n_projections=k))


if __name__ == "__main__":
    main()
