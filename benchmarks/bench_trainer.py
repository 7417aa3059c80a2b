"""CPU timings of the reference trainer and of the example sizes.

Measures, on whatever machine runs it (numbers from a shared machine are noisy):

1. one training epoch of a linear encoder on the Laplace setting (1024 -> 256, batch 128);
2. one held-out evaluation (gaussprobe CV + coordinate tests + alignment/uniformity) on 5,000 x 256;
3. batched SimCLR augmentation throughput on CPU (images/s, 32x32, two views);
4. SimCLR ResNet-18 training throughput on CPU for narrow widths (images/s);
5. with ``--table1``: the wall time of ``examples/synthetic_table1.py`` at its default size (the issue's
   target: <= 10 minutes on two CPU cores).

Run: ``python benchmarks/bench_trainer.py`` or ``--quick`` (smaller sizes, no example run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from gaussprobe.contrastive.images import SimCLRAugment
from gaussprobe.contrastive.losses import info_nce
from gaussprobe.contrastive.models import build_model
from gaussprobe.contrastive.trainer import TrainConfig, Trainer


def epoch_and_eval(n_train: int, n_test: int) -> dict:
    cfg = TrainConfig(data="laplace", n_train=n_train, n_test=n_test, out_dim=256, batch_size=128,
                      epochs=1, device="cpu")
    trainer = Trainer(cfg)
    trainer.evaluate()  # warm-up (imports)
    t0 = time.perf_counter()
    trainer.evaluate()
    eval_s = time.perf_counter() - t0
    train = trainer.train_epoch()
    return {"laplace_epoch_seconds": train["train_seconds"], "laplace_n_train": n_train,
            "eval_seconds": eval_s, "eval_n": n_test, "samples_per_second":
            train["samples_per_second"]}


def augmentation(batch: int, repeat: int) -> dict:
    aug = SimCLRAugment(32)
    imgs = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)
    aug(imgs, g)
    t0 = time.perf_counter()
    for _ in range(repeat):
        aug(imgs, g)
        aug(imgs, g)
    dt = time.perf_counter() - t0
    return {"augment_images_per_second_two_views": batch * repeat / dt}


def resnet(width: int, batch: int, steps: int) -> float:
    model = build_model("resnet18", in_channels=3, width=width, projection_dim=128)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    aug = SimCLRAugment(32)
    imgs = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)

    def step() -> None:
        z = model(torch.cat([aug(imgs, g), aug(imgs, g)]))
        loss = info_nce(*z.chunk(2))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--table1", action="store_true", help="also time examples/synthetic_table1.py")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    out: dict = {"threads": torch.get_num_threads(), "torch": torch.__version__}
    out.update(epoch_and_eval(4096 if args.quick else 20000, 2000 if args.quick else 5000))
    out.update(augmentation(256, 3 if args.quick else 10))
    out["resnet18_cpu_images_per_second"] = {
        w: resnet(w, 64 if args.quick else 128, 2 if args.quick else 5)
        for w in ((8,) if args.quick else (8, 16, 64))}
    if args.table1 and not args.quick:
        script = Path(__file__).resolve().parents[1] / "examples" / "synthetic_table1.py"
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(script), "--out", tmp, "--device", "cpu"],
                           check=True, stdout=subprocess.DEVNULL)
            out["synthetic_table1_default_seconds"] = time.perf_counter() - t0
        out["synthetic_table1_target_seconds"] = 600
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
