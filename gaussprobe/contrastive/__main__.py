"""Command line: ``python -m gaussprobe.contrastive [options]``.

Examples
--------
Train a linear encoder on the paper's Laplace setting for 20 epochs on the CPU::

    python -m gaussprobe.contrastive --data laplace --epochs 20 --out runs/laplace

SimCLR ResNet-18 on Fashion-MNIST (local files), evaluated every 5 epochs::

    python -m gaussprobe.contrastive --data fashion_mnist --model resnet18 --epochs 100 \\
        --weight-decay 1e-4 --eval-every 5 --out runs/fmnist --progress

Resume a run from its checkpoint (optionally with more epochs)::

    python -m gaussprobe.contrastive --resume runs/fmnist/checkpoint.pt --epochs 200
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

from .data import SYNTHETIC
from .trainer import IMAGE_DATA, OBJECTIVES, TrainConfig, Trainer

COLUMNS = ("epoch", "train_loss", "cv", "ad_mean", "ad_pass_fraction", "dp_mean_pvalue",
           "dp_pass_fraction", "alignment", "uniformity", "probe_accuracy")


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _key_value(text: str) -> tuple[str, Any]:
    if "=" not in text:
        msg = f"expected KEY=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    key, value = text.split("=", 1)
    return key.strip(), _literal(value.strip())


def _optional_int(text: str) -> int | None:
    return None if text.lower() in {"none", "0"} else int(text)


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m gaussprobe.contrastive",
        description="Train an encoder with InfoNCE (or a supervised baseline) and track how "
                    "Gaussian its held-out representations are (CV, Anderson-Darling, "
                    "D'Agostino-Pearson, alignment/uniformity).")
    p.add_argument("--data", choices=[*SYNTHETIC, *IMAGE_DATA], default=d.data)
    p.add_argument("--data-root", default=None, help="folder of the local image files")
    p.add_argument("--option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="synthetic-generator option, e.g. --option mixing=0.8 (repeatable)")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--model", choices=["linear", "mlp", "resnet18"], default=d.model)
    p.add_argument("--out-dim", type=int, default=d.out_dim)
    p.add_argument("--hidden", type=int, default=d.hidden)
    p.add_argument("--width", type=int, default=d.width)
    p.add_argument("--projection-dim", type=_optional_int, default=d.projection_dim,
                   help="projection-head output (0 or none: no head)")
    p.add_argument("--objective", choices=list(OBJECTIVES), default=d.objective)
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--beta", type=float, default=d.beta)
    p.add_argument("--lam", type=float, default=d.lam)
    p.add_argument("--entropy-estimator", choices=["knn", "kde"], default=d.entropy_estimator)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--eval-samples", type=int, default=None)
    p.add_argument("--probe", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device)
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--out", default=None, help="folder for history.json/csv and checkpoint.pt")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue a run from its checkpoint (--epochs/--out override)")
    return p


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_row(row: dict[str, Any], header: bool) -> None:
    if header:
        print("  ".join(f"{c[:12]:>12}" for c in COLUMNS))
    print("  ".join(f"{_fmt(row.get(c)):>12}" for c in COLUMNS), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    printed = {"header": True}

    def show(row: dict[str, Any]) -> None:
        _print_row(row, printed["header"])
        printed["header"] = False

    try:
        if args.resume:
            overrides: dict[str, Any] = {"epochs": args.epochs}
            if args.out:
                overrides["out_dir"] = args.out
            trainer = Trainer.from_checkpoint(args.resume, **overrides)
        else:
            fields = {f.name for f in dataclasses.fields(TrainConfig)}
            cfg = {k: v for k, v in vars(args).items() if k in fields}
            cfg.update(data_options=dict(args.option), out_dir=args.out)
            trainer = Trainer(TrainConfig(**cfg))
        for row in trainer.history:
            show(row)
        trainer.fit(callback=show)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        print(f"wrote {args.out}/history.json, history.csv and checkpoint.pt")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
