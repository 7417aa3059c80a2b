"""Null expectations and examples for thin_shell, the spectrum measures, the sphericity test and
isotropic_distance (the numbers quoted in docs/statistics/thin_shell.md and distance.md).

    python benchmarks/calibrate_isotropy.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

from gaussprobe._engine import executor_for
from gaussprobe._validation import check_embeddings
from gaussprobe._warnings import RankDeficiencyWarning
from gaussprobe.stats.distance import isotropic_distance, normal_cell_means
from gaussprobe.stats.spectrum import sphericity_test
from gaussprobe.stats.thin_shell import thin_shell


def thin_shell_null(reps):
    print("\n## thin_shell under N(0, I_d): cv_ratio over replicates")
    print("n d | mean(cv_ratio) sd(cv_ratio) 1/sqrt(2n) | cv_gaussian")
    for n, d in [(1000, 32), (2000, 384), (10000, 768)]:
        rng = np.random.default_rng(n + d)
        r = np.array([thin_shell(rng.standard_normal((n, d))).cv_ratio for _ in range(reps)])
        print(f"{n} {d} | {r.mean():.4f} {r.std(ddof=1):.4f} {1 / math.sqrt(2 * n):.4f} | "
              f"{thin_shell(rng.standard_normal((10, d))).cv_gaussian:.5f}")


def spectrum_and_bw_null(reps):
    print("\n## BW and spectrum under N(0, I_d) (means over replicates)")
    print("n d | normalized (1/n + d/(4n)) mean_part anisotropy_part | eff_rank PR IsoScore cond")
    for n, d in [(1000, 32), (2000, 384), (10000, 768)]:
        rng = np.random.default_rng(7 * n + d)
        rows = []
        for _ in range(reps):
            res = isotropic_distance(rng.standard_normal((n, d)), rng=0, n_projections=1, n_null=0)
            bw, sp = res.bures_wasserstein, res.spectrum
            rows.append([bw.normalized, bw.mean_part, bw.anisotropy_part, sp.effective_rank,
                         sp.participation_ratio, sp.isoscore, sp.condition_number])
        m = np.mean(rows, axis=0)
        print(f"{n} {d} | {m[0]:.5f} ({1 / n + d / (4 * n):.5f}) {m[1]:.2e} {m[2]:.5f} | "
              f"{m[3]:.1f} {m[4]:.1f} {m[5]:.3f} {m[6]:.2f}")


def sphericity_level(reps):
    print(f"\n## sphericity_test type-I error under N(mu, sigma^2 I), {reps} replicates")
    print("n d | P(p<0.10) P(p<0.05) P(p<0.01)")
    for n, d in [(50, 100), (20, 200), (200, 20), (500, 50), (2000, 384), (30, 5), (1000, 10)]:
        rng = np.random.default_rng(11 * n + d)
        r = reps if n * d <= 100_000 else max(100, reps // 10)
        p = np.array([sphericity_test(rng.standard_normal((n, d)) * 2.0 + 1.0).pvalue
                      for _ in range(r)])
        print(f"{n} {d} | {np.mean(p < 0.1):.3f} {np.mean(p < 0.05):.3f} {np.mean(p < 0.01):.3f}"
              f"  ({r} reps)")


def sliced_null(quick):
    print("\n## sliced W2 under the null: per-direction values (i.i.d. N(0,1) columns)")
    print("n | floor C_n | mean W2^2  CV  | n * mean")
    sizes = [500, 2000, 10000] if quick else [500, 2000, 10000, 100000]
    for n in sizes:
        k = 256 if n <= 10000 else 64
        z = np.random.default_rng(n).standard_normal((n, k))
        cells = normal_cell_means(n)
        emb = check_embeddings(z)  # the axes as directions: the per-direction values of z's columns
        w = executor_for(emb).projection_tests(emb, np.eye(k), block_size=None, cell_means=cells).w2
        print(f"{n} | {cells[1]:.3e} | {w.mean():.3e} {w.std(ddof=1) / w.mean():.3f} | "
              f"{n * w.mean():.2f}")


def examples(quick):
    print("\n## examples (n=2000): sliced excess ratio, p, BW normalized/mean/anisotropy, "
          "sphericity p, eff. rank, IsoScore, thin-shell cv_ratio")
    rng = np.random.default_rng(3)
    n = 2000
    cases = {}
    for d in (8, 32, 384):
        g = rng.standard_normal((n, d))
        cases[f"gaussian d={d}"] = g
        cases[f"sphere d={d}"] = g / np.linalg.norm(g, axis=1, keepdims=True)
    cases["laplace d=32"] = rng.laplace(size=(n, 32))
    cases["student-t(5) d=32"] = rng.standard_t(5, size=(n, 32))
    cases["gaussian d=32, sd 1..3"] = rng.standard_normal((n, 32)) * np.linspace(1, 3, 32)
    cases["gaussian d=32, mean 2"] = rng.standard_normal((n, 32)) + 2.0
    try:
        from gaussprobe.io import load_demo

        raw = load_demo()[0]
        cases["MiniLM raw (384)"] = raw
        cases["MiniLM normalised (384)"] = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    except (ImportError, OSError) as exc:  # pragma: no cover - demo data missing
        print(f"(demo data unavailable: {exc})")
    for name, x in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RankDeficiencyWarning)
            res = isotropic_distance(x, rng=0, n_projections=64 if quick else 256, n_null=19)
        bw, sl = res.bures_wasserstein, res.sliced
        ts = thin_shell(x)
        print(f"{name:<26s} {sl.excess_ratio:6.2f} {sl.pvalue:7.2g} ({sl.pvalue_method}) | {bw.normalized:.4f} "
              f"{bw.mean_part:.4f} {bw.anisotropy_part:.4f} | {res.sphericity.pvalue:8.2g} | "
              f"{res.spectrum.effective_rank:6.1f} {res.spectrum.isoscore:.3f} | "
              f"{ts.cv_ratio:.3f} (rank {res.rank})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    parts = ("thin_shell", "spectrum", "sphericity", "sliced", "examples")
    ap.add_argument("--only", nargs="+", choices=parts, default=parts, help="tables to make")
    args = ap.parse_args()
    t = time.perf_counter()
    if "thin_shell" in args.only:
        thin_shell_null(20 if args.quick else 200)
    if "spectrum" in args.only:
        spectrum_and_bw_null(3 if args.quick else 20)
    if "sphericity" in args.only:
        sphericity_level(300 if args.quick else 2000)
    if "sliced" in args.only:
        sliced_null(args.quick)
    if "examples" in args.only:
        examples(args.quick)
    print(f"\n(total {time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
