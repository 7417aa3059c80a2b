"""SimCLR ResNet-18 on one CUDA GPU: end-to-end throughput, memory, and the supervised-vs-contrastive
table from one run (meant for an H200; without CUDA it prints a message and exits 0).

1. **Throughput.** SimCLR ResNet-18 (CIFAR variant, width 64, 128-d projection head) at 32x32 with two
   views per image, GPU-side augmentation (:class:`~gaussprobe.contrastive.images.SimCLRAugment`), bf16
   autocast, channels-last, eager and ``torch.compile``; images/s counts base images (each gives two
   views). The bare forward/backward/step on pre-made random batches is timed too, so the cost of
   augmentation and indexing is visible. Target (issue): >= 25,000 images/s end to end.
2. **Training.** Contrastive and supervised ResNet-18 on Fashion-MNIST with the reference trainer
   (Adam 1e-3, weight decay 1e-4, batch 256, temperature 0.1), as many epochs as ``--budget-s`` allows
   (at most ``--epochs``), evaluated with gaussprobe at start, middle and end, linear probe at the end.

Data: the four Fashion-MNIST IDX files. Copy them into the working tree first, e.g.
``mkdir -p data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz data/fashion-mnist/``, and
pass ``--data-root data/fashion-mnist`` (the device tool carries that folder when it is named in
``carry``). Results go to ``--out`` (default ``$OUT`` or ``gpu_train_results/``).

Run: ``python benchmarks/gpu_train_bench.py --data-root data/fashion-mnist`` (``--quick``: throughput
only, short).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _timing import cuda_torch


def timed_steps(step, n_steps: int, torch) -> float:
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n_steps):
        step()
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def throughput(images, batch: int, *, compile_model: bool, torch, steps: int) -> dict:
    """End-to-end (index + 2 augmented views + fwd/bwd/step) and bare model images/s."""
    from gaussprobe.contrastive.images import SimCLRAugment
    from gaussprobe.contrastive.losses import info_nce
    from gaussprobe.contrastive.models import build_model

    dev = images.device
    channels = images.shape[1]
    model = build_model("resnet18", in_channels=channels, width=64, projection_dim=128).to(dev)
    model = model.to(memory_format=torch.channels_last)
    fwd = torch.compile(model) if compile_model else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    aug = SimCLRAugment(32).to(dev)
    g = torch.Generator(device=dev).manual_seed(0)
    n = images.shape[0]

    def train_on(x1, x2) -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            z = fwd(torch.cat([x1, x2]).contiguous(memory_format=torch.channels_last))
        loss = info_nce(*z.float().chunk(2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def end_to_end() -> None:
        idx = torch.randint(0, n, (batch,), device=dev, generator=g)
        imgs = images[idx]
        train_on(aug(imgs, g), aug(imgs, g))

    pre1 = torch.randn(batch, channels, 32, 32, device=dev)
    pre2 = torch.randn(batch, channels, 32, 32, device=dev)

    def bare() -> None:
        train_on(pre1, pre2)

    t_warm = time.perf_counter()
    for _ in range(15):
        end_to_end()
    torch.cuda.synchronize()
    warm = time.perf_counter() - t_warm
    torch.cuda.reset_peak_memory_stats(dev)
    e2e = timed_steps(end_to_end, steps, torch)
    peak = torch.cuda.max_memory_allocated(dev)
    bare_s = timed_steps(bare, steps, torch)
    aug_s = timed_steps(lambda: (aug(images[:batch], g), aug(images[:batch], g)), steps, torch)
    return {"batch": batch, "compiled": compile_model, "warmup_seconds": warm,
            "end_to_end_images_per_second": batch * steps / e2e,
            "bare_model_images_per_second": batch * steps / bare_s,
            "augmentation_images_per_second": batch * steps / aug_s,
            "peak_memory_gib": peak / 2**30}


def train_pair(args, budget_s: float, epoch_seconds: dict, torch) -> dict:
    from gaussprobe.contrastive.trainer import TrainConfig, Trainer

    # split the budget by the measured per-epoch cost of each objective
    per_epoch = epoch_seconds["contrastive"] + epoch_seconds["supervised"] + 0.5
    evals = 60.0  # three evaluations per run, two probes per run
    epochs = int(max(2, min(args.epochs, (budget_s - evals) // per_epoch)))
    rows = {}
    for objective in ("info_nce", "supervised"):
        cfg = TrainConfig(data="fashion_mnist", data_root=args.data_root, model="resnet18", width=64,
                          projection_dim=128, objective=objective, temperature=0.1, epochs=epochs,
                          batch_size=256, lr=1e-3, weight_decay=1e-4, eval_every=max(1, epochs // 2),
                          probe=True, probe_every=10**9, probe_train_samples=10000, device="cuda",
                          compile=args.compile_train, out_dir=str(Path(args.out) / objective))
        trainer = Trainer(cfg)
        t0 = time.perf_counter()
        trainer.fit(callback=lambda r, o=objective: print(
            f"[{o}] epoch {r['epoch']}: CV {r['cv']:.3f} AD {r['ad_mean']:.3f} "
            f"AD pass {r['ad_pass_fraction']:.3f} DP pass {r['dp_pass_fraction']:.3f} "
            f"probe {r.get('probe_accuracy', float('nan')):.4f}", flush=True))
        last = trainer.history[-1]
        rows[objective] = {
            "epochs": epochs, "seconds": time.perf_counter() - t0,
            "train_images_per_second": max(r.get("samples_per_second", 0.0) for r in trainer.history),
            **{k: last.get(k) for k in ("cv", "norm_mean", "ad_mean", "ad_pass_fraction",
                                       "dp_mean_pvalue", "dp_pass_fraction", "alignment",
                                       "uniformity", "probe_accuracy")},
        }
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-root", default=None, help="folder of the Fashion-MNIST IDX files")
    ap.add_argument("--out", default=os.environ.get("OUT", "gpu_train_results"))
    ap.add_argument("--quick", action="store_true", help="throughput only, fewer steps")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--budget-s", type=float, default=300.0, help="seconds for the two training runs")
    ap.add_argument("--batches", default="256,512")
    ap.add_argument("--compile-train", action="store_true", help="torch.compile in the training runs")
    args = ap.parse_args(argv)
    torch = cuda_torch("nothing to benchmark (this script is for a GPU machine)")
    if torch is None:
        return 0
    from gaussprobe.contrastive.images import find_fashion_mnist, load_fashion_mnist

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    results: dict = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    if find_fashion_mnist(args.data_root) is None:
        print("Fashion-MNIST files not found; pass --data-root (see the module docstring)",
              file=sys.stderr)
        return 1
    data = load_fashion_mnist(args.data_root)
    images = data.train_images.cuda()
    steps = 20 if args.quick else 60
    bench = []
    for batch in (int(b) for b in args.batches.split(",")):
        for compiled in (False, True):
            try:
                row = throughput(images, batch, compile_model=compiled, torch=torch, steps=steps)
            except Exception as exc:  # noqa: BLE001 - report and continue (e.g. a compiler failure)
                row = {"batch": batch, "compiled": compiled, "error": repr(exc)}
            bench.append(row)
            print(json.dumps(row), flush=True)
            torch.cuda.empty_cache()
    results["throughput"] = bench
    (out / "results.json").write_text(json.dumps(results, indent=2))
    if args.quick:
        return 0

    ok = [r for r in bench if r.get("batch") == 256 and "error" not in r and not r["compiled"]]
    e2e = ok[0]["end_to_end_images_per_second"] if ok else 10000.0
    n = len(data.train_images)
    # supervised steps see one view, so they cost about half a contrastive step
    epoch_seconds = {"contrastive": n / e2e, "supervised": 0.5 * n / e2e}
    results["training"] = train_pair(args, args.budget_s, epoch_seconds, torch)
    results["peak_memory_gib_training"] = torch.cuda.max_memory_allocated() / 2**30
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results["training"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
