"""A small, seeded reference trainer for InfoNCE (and the supervised baseline) that evaluates the
held-out representations with gaussprobe while it trains.

Reproducibility: every random draw comes from a ``torch.Generator`` seeded from ``(seed, purpose,
epoch)``; parameters are initialised under a forked, seeded torch RNG. On CPU a run is therefore
bit-for-bit repeatable for a fixed thread count, and a run resumed from an end-of-epoch checkpoint
continues exactly as if it had not stopped. On CUDA, bf16 autocast, channels-last memory and
(optionally) ``torch.compile`` are used; cuDNN may pick non-deterministic kernels there.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import losses
from .data import SYNTHETIC, SyntheticPairs, make_generator, make_synthetic, torch_seed
from .images import ImageData, SimCLRAugment, load_images
from .models import EncoderNet, build_model, seeded_init

IMAGE_DATA = ("fashion_mnist", "cifar10")
OBJECTIVES = ("info_nce", "nt_xent", "regularized", "supervised")


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run (saved in checkpoints and result files).

    Attributes
    ----------
    data : str
        ``"laplace"``, ``"gmm"``, ``"binary"``, ``"gaussian_channel"`` (synthetic, generated on the
        device) or ``"fashion_mnist"``, ``"cifar10"`` (local image files).
    data_root : str or None
        Folder of the image files (CIFAR-10 needs it; Fashion-MNIST is searched for).
    data_options : dict
        Keyword arguments of the synthetic generator (e.g. ``{"mixing": 0.6}``).
    n_train, n_test : int or None
        Number of training / held-out samples (None: the generator's default or the whole set).
    model : str
        ``"linear"``, ``"mlp"`` or ``"resnet18"``.
    out_dim, hidden, width, projection_dim, bias
        Model sizes (see :func:`gaussprobe.contrastive.models.build_model`).
    objective : str
        ``"info_nce"`` (the paper's Eq. 2), ``"nt_xent"``, ``"regularized"`` (Route 2) or
        ``"supervised"`` (cross-entropy on a linear classifier over the same representation).
    temperature, beta, lam, entropy_estimator
        Loss parameters.
    epochs, batch_size, lr, weight_decay
        Adam optimisation (the paper: lr 1e-3; weight decay 1e-4 for CIFAR-10).
    eval_every : int
        Evaluate after every ``eval_every`` epochs (and always at epoch 0 and at the last epoch).
    eval_samples : int or None
        Cap on the number of held-out samples analysed.
    eval_pairs : int
        Held-out positive pairs used for alignment / uniformity.
    probe : bool or None
        Linear-probe accuracy (scikit-learn) on backbone features; None: on for image data.
    probe_train_samples : int
        Training images used to fit the probe.
    probe_every : int
        Run the probe at evaluations whose epoch is a multiple of this (and at epochs 0 and the
        last); 1 probes at every evaluation.
    image_size : int
        Side length images are resampled to.
    seed : int
        Seed of every random stream of the run.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``…
    amp : bool or None
        bf16 autocast (None: on for CUDA).
    channels_last : bool or None
        channels-last memory format for the ResNet (None: on for CUDA).
    compile : bool
        Wrap the model in ``torch.compile``.
    progress : bool
        Show a tqdm progress bar (when tqdm is installed).
    out_dir : str or None
        Where ``history.json``, ``history.csv`` and ``checkpoint.pt`` are written.
    checkpoint_every : int
        Save a checkpoint every this many epochs (0: only at the end; needs ``out_dir``).
    """

    data: str = "laplace"
    data_root: str | None = None
    data_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    n_train: int | None = None
    n_test: int | None = None
    model: str = "linear"
    out_dim: int = 256
    hidden: int = 1024
    width: int = 64
    projection_dim: int | None = 128
    bias: bool = True
    objective: str = "info_nce"
    temperature: float = 0.1
    beta: float = 0.01
    lam: float = 0.5
    entropy_estimator: str = "knn"
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    eval_every: int = 10
    eval_samples: int | None = None
    eval_pairs: int = 2048
    probe: bool | None = None
    probe_train_samples: int = 10000
    probe_every: int = 1
    image_size: int = 32
    seed: int = 0
    device: str = "auto"
    amp: bool | None = None
    channels_last: bool | None = None
    compile: bool = False
    progress: bool = False
    out_dir: str | None = None
    checkpoint_every: int = 0

    def validate(self) -> None:
        """Raise ValueError for inconsistent settings."""
        if self.data not in (*SYNTHETIC, *IMAGE_DATA):
            msg = f"`data` must be one of {[*SYNTHETIC, *IMAGE_DATA]}; got {self.data!r}."
            raise ValueError(msg)
        if self.objective not in OBJECTIVES:
            msg = f"`objective` must be one of {list(OBJECTIVES)}; got {self.objective!r}."
            raise ValueError(msg)
        if self.objective == "supervised" and self.data not in (*IMAGE_DATA, "gmm"):
            msg = (f"The supervised objective needs labels; data {self.data!r} has none "
                   "(use an image dataset or 'gmm').")
            raise ValueError(msg)
        for name in ("epochs", "batch_size", "eval_every"):
            if int(getattr(self, name)) < (0 if name == "epochs" else 1):
                msg = f"`{name}` must be a positive integer; got {getattr(self, name)!r}."
                raise ValueError(msg)
        if self.batch_size < 2:
            msg = f"`batch_size` must be >= 2 (contrastive losses need negatives); got {self.batch_size}."
            raise ValueError(msg)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        msg = f"device={device!r} was requested but CUDA is not available; use device='cpu'."
        raise ValueError(msg)
    return dev


def _stream(seed: int, purpose: int, epoch: int, device: torch.device) -> torch.Generator:
    return make_generator(device, torch_seed(seed, purpose, epoch))


class Trainer:
    """Train an encoder with a contrastive (or supervised) objective and track Gaussianity.

    Examples
    --------
    >>> cfg = TrainConfig(data="laplace", n_train=512, n_test=256, out_dim=16, epochs=1,
    ...                   batch_size=64, data_options={"n_features": 64}, device="cpu")
    >>> trainer = Trainer(cfg)
    >>> history = trainer.fit()
    >>> print(sorted(history[-1])[:3])
    ['ad_mean', 'ad_pass_fraction', 'alignment']
    """

    def __init__(self, config: TrainConfig):
        config.validate()
        self.config = config
        self.device = resolve_device(config.device)
        cuda = self.device.type == "cuda"
        self.amp = cuda if config.amp is None else bool(config.amp)
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.synthetic: SyntheticPairs | None = None
        self.images: ImageData | None = None
        self.augment: SimCLRAugment | None = None
        self._build_data()
        self.model = seeded_init(torch_seed(config.seed, 7), self._build_model).to(self.device)
        self.channels_last = (cuda if config.channels_last is None else bool(config.channels_last)) \
            and config.model == "resnet18"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self._forward: Callable[[Tensor], Tensor] = self.model
        self._classify: Callable[[Tensor], Tensor] = self.model.classify
        if config.compile:
            compiled = torch.compile(self.model)
            self._forward = compiled
            if config.objective == "supervised":
                self._classify = torch.compile(self.model.classify)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr,
                                          weight_decay=config.weight_decay)

    # ------------------------------------------------------------------------------- building
    def _build_data(self) -> None:
        cfg = self.config
        if cfg.data in SYNTHETIC:
            opts = dict(cfg.data_options)
            if cfg.n_train is not None:
                opts["n_train"] = cfg.n_train
            if cfg.n_test is not None:
                opts["n_test"] = cfg.n_test
            self.synthetic = make_synthetic(cfg.data, rng=torch_seed(cfg.seed, 3), device=self.device,
                                            **opts)
            self.n_train = len(self.synthetic.train)
            return
        data = load_images(cfg.data, cfg.data_root).subset(cfg.n_train, cfg.n_test)
        self.images = data.to(self.device)
        self.n_train = len(data.train_images)
        mean, std = data.channel_stats()
        self.augment = SimCLRAugment(cfg.image_size, mean=mean, std=std).to(self.device)

    def _build_model(self) -> EncoderNet:
        cfg = self.config
        n_classes = None
        if cfg.objective == "supervised":
            n_classes = self.images.n_classes if self.images is not None else \
                int(self.synthetic.n_components)  # type: ignore[union-attr]
        if self.synthetic is not None:
            in_features = self.synthetic.n_features
            in_channels = 1
        else:
            in_channels = self._image_parts()[0].channels
            in_features = in_channels * cfg.image_size * cfg.image_size
        return build_model(cfg.model, in_features=in_features, in_channels=in_channels,
                           out_dim=cfg.out_dim, hidden=cfg.hidden, width=cfg.width,
                           projection_dim=cfg.projection_dim, n_classes=n_classes, bias=cfg.bias)

    # ------------------------------------------------------------------------------- batches
    def _image_parts(self) -> tuple[ImageData, SimCLRAugment]:
        if self.images is None or self.augment is None:
            msg = "This trainer holds synthetic data, not images."
            raise RuntimeError(msg)
        return self.images, self.augment

    def _prep(self, x: Tensor) -> Tensor:
        if self.channels_last and x.ndim == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def _autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _views(self, idx: Tensor, split: str, g: torch.Generator) -> tuple[Tensor, Tensor]:
        if self.synthetic is not None:
            x = getattr(self.synthetic, split)[idx]
            labels = getattr(self.synthetic, f"{split}_labels")
            lab = None if labels is None else labels[idx]
            return self.synthetic.views(x, lab, generator=g)
        images, augment = self._image_parts()
        imgs = getattr(images, f"{split}_images")[idx]
        return augment(imgs, g), augment(imgs, g)

    def _loss(self, idx: Tensor, g: torch.Generator) -> Tensor:
        cfg = self.config
        if cfg.objective == "supervised":
            if self.synthetic is not None:
                x1, _ = self._views(idx, "train", g)
                y = self.synthetic.train_labels[idx]  # type: ignore[index]
            else:
                images, augment = self._image_parts()
                x1 = augment(images.train_images[idx], g)
                y = images.train_labels[idx]
            with self._autocast():
                logits = self._classify(self._prep(x1))
            return F.cross_entropy(logits.float(), y)
        x1, x2 = self._views(idx, "train", g)
        with self._autocast():
            z = self._forward(self._prep(torch.cat([x1, x2])))
        z1, z2 = z.float().chunk(2)
        if cfg.objective == "info_nce":
            return losses.info_nce(z1, z2, temperature=cfg.temperature)
        if cfg.objective == "nt_xent":
            return losses.nt_xent(z1, z2, temperature=cfg.temperature)
        return losses.regularized_info_nce(z1, z2, temperature=cfg.temperature, beta=cfg.beta,
                                           lam=cfg.lam, estimator=cfg.entropy_estimator)  # type: ignore[arg-type]

    def train_epoch(self) -> dict[str, float]:
        """One pass over the training set (last incomplete batch dropped); returns loss and speed."""
        cfg = self.config
        epoch = self.epoch + 1
        g = _stream(cfg.seed, 11, epoch, self.device)
        perm = torch.randperm(self.n_train, generator=g, device=self.device)
        n_steps = self.n_train // cfg.batch_size
        if n_steps == 0:
            msg = f"batch_size={cfg.batch_size} exceeds the number of training samples {self.n_train}."
            raise ValueError(msg)
        self.model.train()
        total = torch.zeros((), device=self.device)
        bar = _progress(range(n_steps), cfg.progress, f"epoch {epoch}/{cfg.epochs}")
        t0 = time.perf_counter()
        for s in bar:
            idx = perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            loss = self._loss(idx, g)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
            total += loss.detach()
            self.step += 1
        mean_loss = float(total) / n_steps  # one host sync per epoch
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - t0
        self.epoch = epoch
        return {"train_loss": mean_loss, "train_seconds": seconds,
                "samples_per_second": n_steps * cfg.batch_size / max(seconds, 1e-9)}

    # ------------------------------------------------------------------------------- evaluation
    def _test_inputs(self) -> Tensor:
        cfg = self.config
        if self.synthetic is not None:
            x = self.synthetic.test
        else:
            x = self._image_parts()[0].test_images
        return x if cfg.eval_samples is None else x[: cfg.eval_samples]

    @torch.no_grad()
    def _apply(self, x: Tensor, fn: Callable[[Tensor], Tensor], *, plain: bool) -> Tensor:
        self.model.eval()
        out = []
        bs = max(self.config.batch_size, 512)
        for a in range(0, len(x), bs):
            xb = x[a:a + bs]
            if plain and self.augment is not None:
                xb = self.augment.plain(xb)
            # evaluation runs in float32 even when training uses bf16 autocast: bf16 rounding would
            # put ties into the coordinates that the normality tests would then detect
            out.append(fn(self._prep(xb)).float())
        return torch.cat(out)

    def embed_test(self, *, features: bool = False) -> Tensor:
        """Held-out representations (float32, on the training device): ``embed`` or, with
        ``features=True``, the backbone features."""
        fn = self.model.features if features else self.model.embed
        return self._apply(self._test_inputs(), fn, plain=True)

    @torch.no_grad()
    def embed_pairs(self, n_pairs: int | None = None) -> tuple[Tensor, Tensor]:
        """Unnormalised representations of ``n_pairs`` held-out positive pairs (two augmented views
        of the first held-out samples, drawn from a fixed stream: the same pairs at every call)."""
        cfg = self.config
        g = _stream(cfg.seed, 13, 0, self.device)
        n_test = len(self._test_inputs())
        n = min(cfg.eval_pairs if n_pairs is None else int(n_pairs), n_test)
        idx = torch.arange(n, device=self.device)
        x1, x2 = self._views(idx, "test", g)
        return (self._apply(x1, self.model.embed, plain=False),
                self._apply(x2, self.model.embed, plain=False))

    @torch.no_grad()
    def _pair_metrics(self) -> dict[str, float]:
        cfg = self.config
        z1, z2 = self.embed_pairs()
        n = len(z1)
        u, v = losses.l2_normalize(z1), losses.l2_normalize(z2)
        cos = u @ v.T
        off = ~torch.eye(n, dtype=torch.bool, device=cos.device)
        neg = cos[off]
        bs = min(cfg.batch_size, n)
        m = (n // bs) * bs
        nce = torch.stack([losses.info_nce(u[a:a + bs], v[a:a + bs], temperature=cfg.temperature,
                                           normalize=False) for a in range(0, m, bs)]).mean()
        vals = torch.stack([
            losses.alignment(u, v, normalize=False), losses.uniformity(u, normalize=False),
            cos.diagonal().mean(), neg.mean(), neg.std(), nce,
        ]).tolist()
        keys = ["alignment", "uniformity", "positive_cosine", "negative_cosine_mean",
                "negative_cosine_std", "heldout_info_nce"]
        return dict(zip(keys, vals, strict=True))

    def _probe(self) -> tuple[float, bool]:
        """Logistic-regression accuracy on frozen backbone features (image data), and whether the
        solver converged within its iteration limit (the accuracy is reported either way)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        images = self._image_parts()[0]
        n = min(self.config.probe_train_samples, len(images.train_images))
        ftr = self._apply(images.train_images[:n], self.model.features, plain=True)
        fte = self.embed_test(features=True)
        ytr = images.train_labels[:n].cpu().numpy()
        yte = images.test_labels[: len(fte)].cpu().numpy()
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(ftr.double().cpu().numpy(), ytr)
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return float(clf.score(fte.double().cpu().numpy(), yte)), converged

    def evaluate(self) -> dict[str, Any]:
        """Gaussianity of the held-out representations, alignment/uniformity, and the probe."""
        from gaussprobe.stats.coordinates import coordinate_normality
        from gaussprobe.stats.thin_shell import thin_shell

        t0 = time.perf_counter()
        z = self.embed_test()
        from gaussprobe._warnings import UninformativeWarning

        with warnings.catch_warnings():
            # normalised representations have constant norms: recorded in the row, not raised
            warnings.simplefilter("ignore", UninformativeWarning)
            shell = thin_shell(z)
        coords = coordinate_normality(z)
        row: dict[str, Any] = {
            "epoch": self.epoch, "step": self.step,
            "cv": shell.cv, "norm_mean": shell.mean, "norm_std": shell.std,
            "constant_norms": bool(shell.constant_norms),
            "cv_gaussian": shell.cv_gaussian,
            "ad_mean": coords.ad_mean, "ad_pass_fraction": coords.ad_pass_fraction,
            "dp_mean_pvalue": coords.dp_mean_pvalue, "dp_pass_fraction": coords.dp_pass_fraction,
            "n_eval": int(z.shape[0]), "dim": int(z.shape[1]),
        }
        row.update(self._pair_metrics())
        cfg = self.config
        probe = cfg.probe if cfg.probe is not None else self.images is not None
        scheduled = self.epoch in (0, cfg.epochs) or self.epoch % max(1, cfg.probe_every) == 0
        if probe and scheduled and self.images is not None:
            row["probe_accuracy"], row["probe_converged"] = self._probe()
        row["eval_seconds"] = time.perf_counter() - t0
        return row

    # ------------------------------------------------------------------------------- loop
    def _should_eval(self, epoch: int) -> bool:
        return epoch == 0 or epoch == self.config.epochs or epoch % self.config.eval_every == 0

    def fit(self, *, callback: Callable[[dict[str, Any]], None] | None = None
            ) -> list[dict[str, Any]]:
        """Train up to ``config.epochs``, evaluating and checkpointing on schedule.

        Returns the history: one dict per evaluated epoch. Epoch 0 (the initialisation) is
        evaluated first unless it already is in the history (a resumed run).
        """
        cfg = self.config
        if not self.history and self.epoch == 0:
            self._record(self.evaluate(), {}, callback)
        while self.epoch < cfg.epochs:
            train = self.train_epoch()
            if self._should_eval(self.epoch):
                self._record(self.evaluate(), train, callback)
            if cfg.out_dir and cfg.checkpoint_every and self.epoch % cfg.checkpoint_every == 0:
                self.save_checkpoint()
        if cfg.out_dir:
            self.save_checkpoint()
            self.write_history()
        return self.history

    def _record(self, row: dict[str, Any], train: dict[str, float],
                callback: Callable[[dict[str, Any]], None] | None) -> None:
        row = {**row, **train}
        self.history.append(row)
        if self.config.out_dir:
            self.write_history()
        if callback is not None:
            callback(row)

    # ------------------------------------------------------------------------------- files
    def write_history(self, out_dir: str | os.PathLike[str] | None = None) -> Path:
        """Write ``history.json`` (config + rows) and ``history.csv``; returns the folder."""
        folder = Path(out_dir or self.config.out_dir or ".")
        folder.mkdir(parents=True, exist_ok=True)
        payload = {"config": self.config.to_dict(), "history": _jsonable(self.history)}
        (folder / "history.json").write_text(json.dumps(payload, indent=2))
        keys: list[str] = []
        for row in self.history:
            keys += [k for k in row if k not in keys]
        with open(folder / "history.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)
        return folder

    def save_checkpoint(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Save model, optimizer, epoch, step and history (atomically)."""
        target = Path(path) if path is not None else Path(self.config.out_dir or ".") / "checkpoint.pt"
        target.parent.mkdir(parents=True, exist_ok=True)
        state = {"config": self.config.to_dict(), "epoch": self.epoch, "step": self.step,
                 "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "history": self.history, "torch_version": torch.__version__}
        tmp = target.with_suffix(target.suffix + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, target)
        return target

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str], **overrides: Any) -> Trainer:
        """Rebuild a trainer from a checkpoint (config fields may be overridden, e.g. ``epochs``)
        and restore its state; :meth:`fit` then continues where the run stopped."""
        state = torch.load(path, map_location="cpu", weights_only=False)
        config = TrainConfig(**{**state["config"], **overrides})
        trainer = cls(config)
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.epoch = int(state["epoch"])
        trainer.step = int(state["step"])
        trainer.history = list(state["history"])
        return trainer


def train(config: TrainConfig | None = None, **kwargs: Any) -> Trainer:
    """Build a :class:`Trainer` (from ``config`` or keyword fields of :class:`TrainConfig`), run
    :meth:`Trainer.fit` and return the trainer (``trainer.history`` holds the results)."""
    cfg = config if config is not None else TrainConfig(**kwargs)
    trainer = Trainer(cfg)
    trainer.fit()
    return trainer


def _progress(it: Any, enabled: bool, desc: str) -> Any:
    if not enabled:
        return it
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - optional
        return it
    return tqdm(it, desc=desc, leave=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


__all__ = ["IMAGE_DATA", "OBJECTIVES", "TrainConfig", "Trainer", "resolve_device", "train"]
