"""
Supervised versus contrastive: only InfoNCE makes the representation Gaussian
=============================================================================

The last two columns of the paper's Table 1 compare a CIFAR-10 ResNet-18 trained with SimCLR's
InfoNCE to the same network trained with cross-entropy: the contrastive representation has a thin
shell (CV 0.09) and Gaussian coordinates (AD mean 0.43, 96% pass), the supervised one does not (CV 0.5,
AD mean 3.3). Fig. 4 follows a two-layer MLP trained contrastively: CV falls and the AD statistic
crosses the 0.752 line as training proceeds.

This example runs both comparisons on real images from local files: Fashion-MNIST by default
(``apt-get install dataset-fashion-mnist`` installs the files offline) or CIFAR-10
(``--dataset cifar10 --data-root FOLDER``). Both ResNet-18 runs share the backbone, the projection head
(128-d) and the SimCLR augmentations and differ only in the objective (InfoNCE on two views versus
cross-entropy of a linear classifier on the 128-d output). The analysed representation is that 128-d
output on the held-out test images, unnormalised; backbone features (the 8w-d pooled output) are
reported too. A logistic-regression probe on frozen backbone features shows that the contrastive
encoder is a good encoder, not a collapsed one.

Run::

    python examples/supervised_vs_contrastive.py            # narrow ResNet-18, a few minutes on CPU
    python examples/supervised_vs_contrastive.py --full     # ResNet-18 (width 64), all images,
                                                            # 100 epochs (needs a GPU)
    python examples/supervised_vs_contrastive.py --dataset cifar10 --data-root ~/data/cifar-10-batches-py

It prints a line per evaluated epoch as it trains. Without the image files it says where to get them
and exits with status 2, writing nothing. It writes only in ``--out`` (default
``out/supervised_vs_contrastive``): ``results.json``, ``comparison.png``, ``dynamics.png`` and
``norm_histograms.png``.
"""

# %%
# Figures of the default run
# --------------------------
#
# .. image:: /figures/examples/supervised_vs_contrastive_comparison.png
#    :alt: supervised against contrastive ResNet-18, CV, AD mean and pass fractions
#
# .. image:: /figures/examples/supervised_vs_contrastive_dynamics.png
#    :alt: CV, AD mean and DP pass fraction against epoch

# %%
# The script
# ----------

# sphinx_gallery_thumbnail_path = "figures/examples/supervised_vs_contrastive_comparison.png"
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from _progress import Progress

from gaussprobe.contrastive.images import find_fashion_mnist, load_cifar10
from gaussprobe.contrastive.trainer import TrainConfig, Trainer
from gaussprobe.stats.coordinates import coordinate_normality
from gaussprobe.stats.thin_shell import thin_shell

PAPER = {"supervised": {"cv": 0.5, "ad_mean": 3.3, "ad_pass_fraction": 0.062,
                        "dp_mean_pvalue": 0.041, "dp_pass_fraction": 0.039},
         "contrastive": {"cv": 0.09, "ad_mean": 0.43, "ad_pass_fraction": 0.961,
                         "dp_mean_pvalue": 0.39, "dp_pass_fraction": 0.945}}
METRICS = ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_pvalue", "dp_pass_fraction")

SIZES = {
    "tiny": {"width": 4, "n_train": 512, "n_test": 256, "epochs": 1, "eval_every": 1,
             "batch_size": 64, "probe_train": 512, "mlp_epochs": 2, "mlp_eval_every": 1,
             "mlp_train": 1024, "mlp_hidden": 256, "mlp_out": 64},
    "default": {"width": 8, "n_train": 10000, "n_test": 5000, "epochs": 4, "eval_every": 2,
                "batch_size": 256, "probe_train": 5000, "mlp_epochs": 20, "mlp_eval_every": 2,
                "mlp_train": 20000, "mlp_hidden": 1024, "mlp_out": 256},
    "full": {"width": 64, "n_train": None, "n_test": None, "epochs": 100, "eval_every": 5,
             "batch_size": 256, "probe_train": 10000, "mlp_epochs": 100, "mlp_eval_every": 5,
             "mlp_train": None, "mlp_hidden": 2048, "mlp_out": 256},
}


# exit status when the image files are missing (nothing is run or written)
EXIT_NO_DATA = 2



def missing_data(args: argparse.Namespace) -> str | None:
    """Why the image files cannot be read, or None when they can."""
    if args.dataset == "fashion_mnist":
        if find_fashion_mnist(args.data_root) is not None:
            return None
        where = f"in {args.data_root} or " if args.data_root else ""
        return (f"Fashion-MNIST files not found {where}in the usual places. Install them with "
                "`apt-get install dataset-fashion-mnist`, or pass --data-root FOLDER with the four "
                "IDX files, or use --dataset cifar10 --data-root FOLDER.")
    if args.data_root is None:
        return ("--dataset cifar10 needs --data-root FOLDER: the unpacked cifar-10-batches-py (or "
                "-bin) folder or its parent.")
    try:
        load_cifar10(args.data_root)
    except FileNotFoundError as exc:
        return str(exc)
    return None


def resnet_run(objective: str, args: argparse.Namespace, size: dict,
               progress: Progress) -> Trainer:
    cfg = TrainConfig(
        data=args.dataset, data_root=args.data_root, n_train=size["n_train"],
        n_test=size["n_test"], model="resnet18", width=size["width"], projection_dim=128,
        objective=objective, temperature=0.1, epochs=size["epochs"], batch_size=size["batch_size"],
        lr=1e-3, weight_decay=1e-4, eval_every=size["eval_every"], eval_pairs=1024, probe=True,
        probe_train_samples=size["probe_train"], seed=args.seed, device=args.device,
        compile=args.compile, progress=args.progress)
    trainer = Trainer(cfg)
    trainer.fit(callback=lambda r: progress(
        f"  [{objective}] epoch {r['epoch']:>3}/{size['epochs']}: CV {r['cv']:.3f}  AD mean "
        f"{r['ad_mean']:.3f}  AD pass {r['ad_pass_fraction']:.1%}  DP pass "
        f"{r['dp_pass_fraction']:.1%}  probe accuracy {r.get('probe_accuracy', float('nan')):.1%}"))
    return trainer


def mlp_run(args: argparse.Namespace, size: dict, progress: Progress) -> Trainer:
    cfg = TrainConfig(
        data=args.dataset, data_root=args.data_root, n_train=size["mlp_train"],
        n_test=size["n_test"], model="mlp", hidden=size["mlp_hidden"], out_dim=size["mlp_out"],
        objective="info_nce", temperature=0.1, epochs=size["mlp_epochs"],
        batch_size=size["batch_size"], lr=1e-3, weight_decay=1e-4,
        eval_every=size["mlp_eval_every"], eval_pairs=1024, probe=False, seed=args.seed,
        device=args.device, progress=args.progress)
    trainer = Trainer(cfg)
    trainer.fit(callback=lambda r: progress(
        f"  [MLP] epoch {r['epoch']:>3}/{size['mlp_epochs']}: CV {r['cv']:.3f}  AD mean "
        f"{r['ad_mean']:.3f}  DP pass {r['dp_pass_fraction']:.1%}"))
    return trainer


def summary(trainer: Trainer) -> dict:
    last = trainer.history[-1]
    feats = trainer.embed_test(features=True)
    keep = feats.std(0) > 0  # dead ReLU channels are constant; the tests need variation
    f_coords = coordinate_normality(feats[:, keep])
    return {
        **{k: last[k] for k in (*METRICS, "norm_mean", "alignment", "uniformity",
                                "positive_cosine", "probe_accuracy", "epoch")},
        "features": {"dim": int(feats.shape[1]), "constant_channels": int((~keep).sum()),
                     "cv": thin_shell(feats).cv, "ad_mean": f_coords.ad_mean,
                     "ad_pass_fraction": f_coords.ad_pass_fraction,
                     "dp_pass_fraction": f_coords.dp_pass_fraction},
    }


def plot_comparison(rows: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for ax, metric in zip(axes, ("cv", "ad_mean", "ad_pass_fraction", "dp_pass_fraction"),
                          strict=True):
        names = ["supervised", "contrastive"]
        ax.bar([0, 1], [rows[n][metric] for n in names], color=["tab:orange", "tab:blue"])
        ax.scatter([0, 1], [PAPER[n][metric] for n in names], marker="_", s=400, color="k",
                   label="paper (CIFAR-10)", zorder=3)
        ax.set_xticks([0, 1], names)
        ax.set_title(metric)
        if metric == "ad_mean":
            ax.axhline(0.752, color="tab:red", ls="--", lw=0.8)
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_dynamics(histories: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for name, hist in histories.items():
        ep = [r["epoch"] for r in hist]
        axes[0].plot(ep, [r["cv"] for r in hist], "o-", label=name)
        axes[1].plot(ep, [r["ad_mean"] for r in hist], "o-", label=name)
        axes[2].plot(ep, [r["dp_pass_fraction"] for r in hist], "o-", label=name)
    axes[1].axhline(0.752, color="tab:red", ls="--", lw=0.8)
    axes[1].set_yscale("log")
    for ax, title in zip(axes, ("norm CV", "AD mean", "DP pass fraction"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_norms(trainers: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, trainer in trainers.items():
        norms = trainer.embed_test().norm(dim=1).cpu().numpy()
        ax.hist(norms / norms.mean(), bins=60, density=True, histtype="step", label=name)
    ax.set_xlabel("||z|| / mean")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="ResNet-18: supervised vs contrastive")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--size", choices=sorted(SIZES), default=None)
    parser.add_argument("--dataset", choices=["fashion_mnist", "cifar10"], default="fashion_mnist")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", default="out/supervised_vs_contrastive")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--skip-mlp", action="store_true", help="skip the Fig. 4 MLP run")
    args = parser.parse_args(argv)
    size_name = args.size or ("full" if args.full else "default")
    size = SIZES[size_name]
    reason = missing_data(args)
    if reason is not None:
        print(f"{Path(__file__).name}: error: {reason} Nothing was run.", file=sys.stderr)
        raise SystemExit(EXIT_NO_DATA)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    progress = Progress()
    images = "all" if size["n_train"] is None else size["n_train"]
    steps = 2 if args.skip_mlp else 3
    progress(f"[1/{steps}] ResNet-18 (width {size['width']}), InfoNCE, on {images} {args.dataset} "
             f"training images, {size['epochs']} epochs; writing to {out}")
    contrastive = resnet_run("info_nce", args, size, progress)
    progress(f"[2/{steps}] the same ResNet-18 with cross-entropy (supervised), {size['epochs']} "
             "epochs")
    trainers = {"contrastive": contrastive, "supervised": resnet_run("supervised", args, size,
                                                                      progress)}
    rows = {name: summary(t) for name, t in trainers.items()}
    histories = {f"ResNet-18 {k}": t.history for k, t in trainers.items()}
    mlp_history = None
    if not args.skip_mlp:
        progress(f"[3/{steps}] two-layer MLP, InfoNCE (Fig. 4), {size['mlp_epochs']} epochs")
        mlp = mlp_run(args, size, progress)
        mlp_history = mlp.history
        histories["MLP contrastive"] = mlp.history
    seconds = time.perf_counter() - t0

    print(f"\n{'metric':<20}{'supervised':>14}{'contrastive':>14}   paper (CIFAR-10) sup / con")
    for m in (*METRICS, "probe_accuracy"):
        ref = f"{PAPER['supervised'][m]:.3g} / {PAPER['contrastive'][m]:.3g}" if m in METRICS else ""
        print(f"{m:<20}{rows['supervised'][m]:>14.4f}{rows['contrastive'][m]:>14.4f}   {ref}")
    for name in ("supervised", "contrastive"):
        f = rows[name]["features"]
        print(f"backbone features ({name}, {f['dim']}-d, {f['constant_channels']} constant): "
              f"CV {f['cv']:.3f}  AD mean {f['ad_mean']:.3f}  AD pass {f['ad_pass_fraction']:.2f}")

    plot_comparison(rows, out / "comparison.png")
    plot_dynamics(histories, out / "dynamics.png")
    plot_norms(trainers, out / "norm_histograms.png")
    results = {"size": size_name, "dataset": args.dataset, "settings": size, "seed": args.seed,
               "representation": "128-d projection-head output, held-out test images, unnormalised",
               "rows": rows, "paper": PAPER,
               "histories": {k: t.history for k, t in trainers.items()},
               "mlp_history": mlp_history, "seconds": seconds,
               "samples_per_second": {k: max(r.get("samples_per_second", 0.0) for r in t.history)
                                      for k, t in trainers.items()}}
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"{size_name} run finished in {seconds:.0f} s; wrote {out}/results.json and figures")
    return results


if __name__ == "__main__":
    main()
