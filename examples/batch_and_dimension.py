"""
Fig. 3: norm concentration against batch size and dimension
===========================================================

Linear encoders trained with InfoNCE on the paper's Laplace setting (inputs of dimension 1024, views
through the Gaussian channel with A = 0.6 plus the light jitter, temperature 0.1, Adam 1e-3) for a grid
of batch sizes N and representation dimensions d. For each cell the held-out embedding is summarised
by the coefficient of variation of its norms (CV), its mean norm and its coordinate normality.

The paper's Fig. 3 reports that CV falls as N and d grow, and its norm histograms at d = 32 show the
mean norm shrinking and the shell tightening as N grows. The figures written here:

* ``cv_vs_batch.png``: CV against N, one curve per d, with the CV of an isotropic Gaussian
  (about 1/sqrt(2d)) as dotted lines; mean norm against N.
* ``norm_histograms.png``: histograms of the norms at the smallest d for each N.
* ``cosine_violins.png``: positive-pair and negative-pair cosine similarity against d at the largest
  N (the paper's Fig. 2).

Run::

    python examples/batch_and_dimension.py          # a reduced grid, a few minutes on two CPU cores
    python examples/batch_and_dimension.py --full   # the paper's grid: N in {8..128}, d in {32..256},
                                                    # 150 epochs (hours on a CPU; use a GPU)

It prints a line per cell of the grid as it goes and writes only in ``--out`` (default
``out/batch_and_dimension``): ``results.json`` and the three figures.
"""

# %%
# Figures of the default run
# --------------------------
#
# .. image:: /figures/examples/batch_and_dimension_cv_vs_batch.png
#    :alt: CV and mean norm against batch size, one curve per dimension
#
# .. image:: /figures/examples/batch_and_dimension_norm_histograms.png
#    :alt: norm histograms at the smallest dimension for each batch size
#
# .. image:: /figures/examples/batch_and_dimension_cosine_violins.png
#    :alt: positive and negative pair cosine similarity against dimension

# %%
# The script
# ----------

# sphinx_gallery_thumbnail_path = "figures/examples/batch_and_dimension_cv_vs_batch.png"
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from _progress import Progress

from gaussprobe.contrastive.losses import l2_normalize
from gaussprobe.contrastive.trainer import TrainConfig, Trainer

SIZES = {
    "tiny": {"dims": [16, 64], "batches": [8, 64], "n_features": 128, "n_train": 2048,
             "n_test": 1000, "epochs": 2},
    "default": {"dims": [32, 64, 128, 256], "batches": [8, 32, 128], "n_features": 1024,
                "n_train": 10000, "n_test": 5000, "epochs": 5},
    "full": {"dims": [32, 64, 128, 256], "batches": [8, 16, 32, 48, 64, 96, 128],
             "n_features": 1024, "n_train": 20000, "n_test": 5000, "epochs": 150},
}



def train_cell(size: dict, d: int, n: int, *, device: str, seed: int) -> Trainer:
    cfg = TrainConfig(data="laplace", data_options={"n_features": size["n_features"]},
                      n_train=size["n_train"], n_test=size["n_test"], model="linear", out_dim=d,
                      batch_size=n, epochs=size["epochs"], eval_every=size["epochs"],
                      eval_pairs=1024, temperature=0.1, lr=1e-3, seed=seed, device=device)
    trainer = Trainer(cfg)
    trainer.fit()
    return trainer


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="CV against batch size and dimension (Fig. 3)")
    parser.add_argument("--full", action="store_true", help="the paper's grid and epochs")
    parser.add_argument("--size", choices=sorted(SIZES), default=None)
    parser.add_argument("--out", default="out/batch_and_dimension")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    size_name = args.size or ("full" if args.full else "default")
    size = SIZES[size_name]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    progress = Progress(len(size["dims"]) * len(size["batches"]))
    progress(f"{size_name} grid: d in {size['dims']} x N in {size['batches']}, {size['epochs']} "
             f"epochs on {size['n_train']} Laplace pairs each; writing to {out}")

    grid: list[dict] = []
    norms: dict[int, np.ndarray] = {}
    cosines: dict[int, dict[str, np.ndarray]] = {}
    d_small, n_large = min(size["dims"]), max(size["batches"])
    for d in size["dims"]:
        for n in size["batches"]:
            progress(f"training d={d}, N={n}", step=True)
            trainer = train_cell(size, d, n, device=args.device, seed=args.seed)
            first, last = trainer.history[0], trainer.history[-1]
            cell = {"d": d, "N": n, "cv": last["cv"], "cv_gaussian": last["cv_gaussian"],
                    "norm_mean": last["norm_mean"], "cv_init": first["cv"],
                    "ad_mean": last["ad_mean"], "ad_pass_fraction": last["ad_pass_fraction"],
                    "dp_pass_fraction": last["dp_pass_fraction"],
                    "positive_cosine": last["positive_cosine"],
                    "negative_cosine_std": last["negative_cosine_std"]}
            grid.append(cell)
            progress(f"  CV {cell['cv']:.4f} (Gaussian {cell['cv_gaussian']:.4f}), mean norm "
                     f"{cell['norm_mean']:.2f}, AD mean {cell['ad_mean']:.3f}")
            if d == d_small:
                norms[n] = trainer.embed_test().norm(dim=1).cpu().numpy()
            if n == n_large:
                z1, z2 = trainer.embed_pairs(1000)
                u, v = l2_normalize(z1), l2_normalize(z2)
                cos = (u @ v.T).cpu().numpy()
                off = ~np.eye(len(cos), dtype=bool)
                cosines[d] = {"positive": np.diag(cos).copy(), "negative": cos[off][:20000]}

    seconds = time.perf_counter() - t0
    plot_cv(grid, size, out / "cv_vs_batch.png")
    plot_hist(norms, d_small, out / "norm_histograms.png")
    plot_violins(cosines, n_large, out / "cosine_violins.png")
    results = {"size": size_name, "settings": size, "seed": args.seed, "grid": grid,
               "seconds": seconds}
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"{size_name} grid finished in {seconds:.0f} s; wrote {out}/results.json and figures")
    return results


def plot_cv(grid: list[dict], size: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, d in enumerate(size["dims"]):
        cells = [c for c in grid if c["d"] == d]
        xs = [c["N"] for c in cells]
        color = f"C{i}"
        axes[0].plot(xs, [c["cv"] for c in cells], "o-", color=color, label=f"d={d}")
        axes[0].axhline(cells[0]["cv_gaussian"], color=color, ls=":", lw=0.8)
        axes[1].plot(xs, [c["norm_mean"] for c in cells], "o-", color=color, label=f"d={d}")
    for ax, title in zip(axes, ["norm CV (dotted: isotropic Gaussian)", "mean norm"], strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size N")
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_hist(norms: dict[int, np.ndarray], d: int, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for n, values in sorted(norms.items()):
        ax.hist(values, bins=60, histtype="step", density=True, label=f"N={n}")
    ax.set_xlabel(f"||z|| (d={d})")
    ax.set_ylabel("density")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_violins(cosines: dict[int, dict[str, np.ndarray]], n: int, path: Path) -> None:
    dims = sorted(cosines)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    pos = ax.violinplot([cosines[d]["positive"] for d in dims], positions=np.arange(len(dims)) - 0.2,
                        widths=0.35, showextrema=False)
    neg = ax.violinplot([cosines[d]["negative"] for d in dims], positions=np.arange(len(dims)) + 0.2,
                        widths=0.35, showextrema=False)
    for body in pos["bodies"]:
        body.set_facecolor("tab:green")
    for body in neg["bodies"]:
        body.set_facecolor("tab:gray")
    ax.set_xticks(range(len(dims)), [f"d={d}" for d in dims])
    ax.set_ylabel("cosine similarity")
    ax.set_title(f"positive (green) and negative (gray) pairs, N={n}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
