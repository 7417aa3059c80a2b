"""What the binary column of Table 1 depends on: a sweep over the choices the paper leaves open.

Each configuration trains the linear InfoNCE encoder (1024 -> 256, temperature 0.1, Adam, 10,000
training and 5,000 held-out vectors, seed 0) on sparse binary inputs and reports the held-out CV, AD
mean, AD pass and DP pass fractions at epoch 0, half way and the end, plus the excess kurtosis of the
rows of the trained weight matrix (each embedding coordinate is a sum of ``n_active`` weights of one
row, so a platykurtic row gives platykurtic coordinates).

Configurations (``--only NAME`` runs a subset):

* ``base``: 4 ones per vector, batch 128, lr 1e-3, 100 epochs (the ``--full`` setting of
  ``examples/synthetic_table1.py``);
* ``batch64``, ``lr3e-3``, ``epochs200``, ``wd1e-4`` (Adam weight decay), ``tau0.2`` (temperature):
  one optimisation choice changed;
* ``init0.25``: the initial weights (PyTorch's uniform init) scaled by 0.25; the statistics at epoch 0
  are scale-free, so only the training path changes;
* ``active5``, ``active6``: 5 or 6 ones per vector.

For each number of ones it also prints the reference of ``examples/synthetic_table1.py``: the same
statistics for linear encoders with i.i.d. N(0, 1) weights on held-out inputs of the setting, i.e. what
a perfectly Gaussian encoder gives.

Run: ``python benchmarks/binary_ablation.py`` (about 1 minute per configuration on one CPU thread).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from gaussprobe.contrastive.trainer import TrainConfig, Trainer

CONFIGS = {
    "base": {},
    "batch64": {"batch_size": 64},
    "lr3e-3": {"lr": 3e-3},
    "epochs200": {"epochs": 200},
    "wd1e-4": {"weight_decay": 1e-4},
    "tau0.2": {"temperature": 0.2},
    "init0.25": {"init_scale": 0.25},
    "active5": {"n_active": 5},
    "active6": {"n_active": 6},
}
BASE = {"batch_size": 128, "lr": 1e-3, "epochs": 100, "n_active": 4, "init_scale": 1.0,
        "weight_decay": 0.0, "temperature": 0.1}
KEYS = ("epoch", "cv", "ad_mean", "ad_pass_fraction", "dp_pass_fraction")


def row_excess_kurtosis(weight: np.ndarray) -> float:
    """Median over the rows of W of their (biased, Fisher) excess kurtosis."""
    return float(np.median(stats.kurtosis(weight, axis=1)))


def run(name: str, *, threads: int) -> dict:
    cfg = {**BASE, **CONFIGS[name]}
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    trainer = Trainer(TrainConfig(
        data="binary", data_options={"n_features": 1024, "n_active": cfg["n_active"]},
        n_train=10000, n_test=5000, model="linear", out_dim=256, objective="info_nce",
        temperature=cfg["temperature"], epochs=cfg["epochs"], batch_size=cfg["batch_size"],
        lr=cfg["lr"], weight_decay=cfg["weight_decay"],
        eval_every=cfg["epochs"] // 2, eval_pairs=2048, seed=0, device="cpu", progress=False))
    weight = trainer.model.backbone.weight
    kurt0 = row_excess_kurtosis(weight.detach().double().numpy())
    if cfg["init_scale"] != 1.0:
        with torch.no_grad():
            weight.mul_(cfg["init_scale"])
    history = trainer.fit()
    return {"name": name, "config": cfg, "seconds": round(time.perf_counter() - t0, 1),
            "history": [{k: (round(r[k], 4) if isinstance(r[k], float) else r[k]) for k in KEYS}
                        for r in history],
            "row_excess_kurtosis": {"start": round(kurt0, 3), "end": round(
                row_excess_kurtosis(weight.detach().double().numpy()), 3)}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", choices=list(CONFIGS), default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the results to this file")
    args = ap.parse_args(argv)
    results = []
    print("config      | epoch: CV  AD mean  AD pass  DP pass | row excess kurtosis start -> end")
    for name in args.only or CONFIGS:
        res = run(name, threads=args.threads)
        results.append(res)
        cells = "  ".join(f"E{r['epoch']}: {r['cv']:.3f} {r['ad_mean']:.3f} {r['ad_pass_fraction']:.1%} "
                          f"{r['dp_pass_fraction']:.1%}" for r in res["history"])
        k = res["row_excess_kurtosis"]
        print(f"{name:<11s} | {cells} | {k['start']:+.2f} -> {k['end']:+.2f}  ({res['seconds']} s)",
              flush=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from synthetic_table1 import SIZES, gaussian_weight_reference

    references = {}
    for k in sorted({r["config"]["n_active"] for r in results}):
        ref = gaussian_weight_reference(SIZES["full"], n_active=k, seed=0)
        references[k] = ref
        print(f"Gaussian weights, {k} ones: CV {ref['cv']:.3f}  AD mean {ref['ad_mean']:.3f}  "
              f"AD pass {ref['ad_pass_fraction']:.1%}  DP pass {ref['dp_pass_fraction']:.1%}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"runs": results, "gaussian_weight_reference": references}, fh, indent=2)


if __name__ == "__main__":
    main()
