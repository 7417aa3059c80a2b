"""Image data from local files (CIFAR-10, Fashion-MNIST) and batched SimCLR augmentations.

Nothing is downloaded at run time. Point the loaders at files you already have:

* **CIFAR-10**: the "python version" (``cifar-10-python.tar.gz``, unpacked to a folder
  ``cifar-10-batches-py`` holding ``data_batch_1`` … ``data_batch_5`` and ``test_batch``) or the
  "binary version" (``cifar-10-batches-bin`` with ``data_batch_1.bin`` … and ``test_batch.bin``), both
  from https://www.cs.toronto.edu/~kriz/cifar.html. Pass the folder itself or its parent.
* **Fashion-MNIST**: the four IDX files (``train-images-idx3-ubyte`` etc., optionally ``.gz``). On
  Debian/Ubuntu ``apt-get install dataset-fashion-mnist`` installs them under
  ``/usr/share/datasets/fashion-mnist``, which is searched by default; the environment variable
  ``GAUSSPROBE_FASHION_MNIST`` or an explicit ``root`` takes precedence.

Images are returned as uint8 tensors of shape ``(n, channels, height, width)``. The augmentation
module :class:`SimCLRAugment` works on a whole batch on the batch's own device (CPU or CUDA) with
tensor operations only: one affine ``grid_sample`` for crop+flip, vectorised colour jitter with a
per-image random order, and grayscale.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class ImageData:
    """A labelled image dataset held as uint8 tensors ``(n, c, h, w)`` and int64 labels."""

    name: str
    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    n_classes: int

    @property
    def channels(self) -> int:
        return int(self.train_images.shape[1])

    def to(self, device: Any) -> ImageData:
        """A copy with every tensor on ``device``."""
        return ImageData(self.name, self.train_images.to(device), self.train_labels.to(device),
                         self.test_images.to(device), self.test_labels.to(device), self.n_classes)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> ImageData:
        """The first ``n_train`` training and ``n_test`` test images (``None`` keeps all)."""
        tr = slice(None) if n_train is None else slice(0, int(n_train))
        te = slice(None) if n_test is None else slice(0, int(n_test))
        return ImageData(self.name, self.train_images[tr], self.train_labels[tr],
                         self.test_images[te], self.test_labels[te], self.n_classes)

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images in [0, 1]."""
        x = self.train_images[: min(len(self.train_images), 20000)].float() / 255.0
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
        return mean.tolist(), std.tolist()


# --------------------------------------------------------------------------------- Fashion-MNIST
def _open_maybe_gz(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array (the format of MNIST-like datasets)."""
    raw = _open_maybe_gz(Path(path))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        msg = f"{path} is not an IDX file (bad magic number)."
        raise ValueError(msg)
    dtypes: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = raw[2], raw[3]
    if code not in dtypes:
        msg = f"{path}: unknown IDX data type code {code:#x}."
        raise ValueError(msg)
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data: np.ndarray = np.frombuffer(raw, dtype=np.dtype(dtypes[code]), offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        msg = f"{path}: header says shape {shape} but the file holds {data.size} values."
        raise ValueError(msg)
    return data.reshape(shape)


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(root: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding the four Fashion-MNIST IDX files, or None when none is found.

    Searched in order: ``root``, ``$GAUSSPROBE_FASHION_MNIST``, then the Debian package location.
    """
    candidates: list[str | os.PathLike[str]] = []
    if root is not None:
        candidates.append(root)
    if os.environ.get("GAUSSPROBE_FASHION_MNIST"):
        candidates.append(os.environ["GAUSSPROBE_FASHION_MNIST"])
    candidates.extend(FASHION_MNIST_DIRS)
    for c in candidates:
        folder = Path(c)
        if folder.is_dir() and all(_find_file(folder, s) for s in FASHION_MNIST_FILES.values()):
            return folder
    return None


def load_fashion_mnist(root: str | os.PathLike[str] | None = None) -> ImageData:
    """Fashion-MNIST from local IDX files as ``(n, 1, 28, 28)`` uint8 tensors.

    Raises
    ------
    FileNotFoundError
        With instructions when the files are not found.
    """
    folder = find_fashion_mnist(root)
    if folder is None:
        where = f"in {root!s} or " if root is not None else ""
        msg = (f"Fashion-MNIST IDX files were not found {where}in $GAUSSPROBE_FASHION_MNIST or "
               f"{', '.join(FASHION_MNIST_DIRS)}. Install them offline with `apt-get install "
               "dataset-fashion-mnist` (Debian/Ubuntu), or download the four *-ubyte.gz files from "
               "https://github.com/zalandoresearch/fashion-mnist and pass their folder.")
        raise FileNotFoundError(msg)
    arrays = {k: read_idx(_find_file(folder, s))  # type: ignore[arg-type]
              for k, s in FASHION_MNIST_FILES.items()}
    return ImageData(
        "fashion_mnist",
        torch.from_numpy(arrays["train_images"].copy())[:, None],
        torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        torch.from_numpy(arrays["test_images"].copy())[:, None],
        torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        10,
    )


# ------------------------------------------------------------------------------------- CIFAR-10
def _cifar_folder(root: Path) -> tuple[Path, str] | None:
    for sub in ("", "cifar-10-batches-py", "cifar-10-batches-bin"):
        folder = root / sub if sub else root
        if (folder / "data_batch_1").is_file() and (folder / "test_batch").is_file():
            return folder, "python"
        if (folder / "data_batch_1.bin").is_file() and (folder / "test_batch.bin").is_file():
            return folder, "binary"
    return None


def load_cifar10(root: str | os.PathLike[str]) -> ImageData:
    """CIFAR-10 from a local folder (python batches or binary version) as ``(n, 3, 32, 32)`` uint8.

    Parameters
    ----------
    root : path
        ``cifar-10-batches-py`` / ``cifar-10-batches-bin`` or a folder that contains one of them.
    """
    found = _cifar_folder(Path(root))
    if found is None:
        msg = (f"No CIFAR-10 batches found under {root!s}. Download cifar-10-python.tar.gz (or the "
               "binary version) from https://www.cs.toronto.edu/~kriz/cifar.html, unpack it, and pass "
               "the folder `cifar-10-batches-py` (or its parent). gaussprobe never downloads data.")
        raise FileNotFoundError(msg)
    folder, kind = found

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        if kind == "python":
            with open(folder / name, "rb") as fh:
                batch = pickle.load(fh, encoding="bytes")  # the official CIFAR-10 format is pickle
            data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            return data, np.asarray(batch[b"labels"], dtype=np.int64)
        raw = np.fromfile(folder / f"{name}.bin", dtype=np.uint8).reshape(-1, 1 + 3072)
        return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)

    parts = [read(f"data_batch_{i}") for i in range(1, 6)]
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    xte, yte = read("test_batch")
    return ImageData("cifar10", torch.from_numpy(xtr), torch.from_numpy(ytr),
                     torch.from_numpy(np.ascontiguousarray(xte)), torch.from_numpy(yte), 10)


def load_images(name: str, root: str | os.PathLike[str] | None = None) -> ImageData:
    """Load ``"fashion_mnist"`` or ``"cifar10"`` from local files."""
    if name in {"fashion_mnist", "fashion-mnist", "fmnist"}:
        return load_fashion_mnist(root)
    if name in {"cifar10", "cifar-10"}:
        if root is None:
            msg = "CIFAR-10 needs `root` (the local folder of the python or binary batches)."
            raise ValueError(msg)
        return load_cifar10(root)
    msg = f"Unknown image dataset {name!r}; choose 'fashion_mnist' or 'cifar10'."
    raise ValueError(msg)


# -------------------------------------------------------------------------------- augmentations
def rgb_to_hsv(rgb: Tensor) -> Tensor:
    """Batched RGB -> HSV for ``(b, 3, h, w)`` tensors in [0, 1]; hue in [0, 1)."""
    r, g, b = rgb.unbind(1)
    maxc, _ = rgb.max(1)
    minc, _ = rgb.min(1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)),
                    torch.zeros_like(maxc))
    return torch.stack([h, s, maxc], 1)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """Batched HSV -> RGB (inverse of :func:`rgb_to_hsv`)."""
    h, s, v = hsv.unbind(1)
    k = torch.stack([(5.0 + h * 6.0) % 6.0, (3.0 + h * 6.0) % 6.0, (1.0 + h * 6.0) % 6.0], 1)
    t = torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)
    return v[:, None] - v[:, None] * s[:, None] * t


def _gray(x: Tensor) -> Tensor:
    """ITU-R 601 luma, shape (b, 1, h, w)."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device)
    return (x * w[None, :, None, None]).sum(1, keepdim=True)


class SimCLRAugment(nn.Module):
    """SimCLR augmentations for a whole batch, on the batch's device.

    Parameters
    ----------
    size : int
        Output side length.
    scale, ratio : (float, float)
        Area fraction and aspect-ratio range of the random resized crop (SimCLR: (0.2, 1)).
    flip : float
        Probability of a horizontal flip.
    jitter : (float, float, float, float)
        Brightness, contrast, saturation and hue strengths of the colour jitter.
    jitter_p : float
        Probability of applying colour jitter to an image.
    gray_p : float
        Probability of converting an image to grayscale.
    mean, std : sequence of float, optional
        Per-channel normalisation applied last.

    Notes
    -----
    Per image, following torchvision's semantics: a crop of area fraction ``s ~ U(scale)`` and aspect
    ratio ``r`` log-uniform in ``ratio`` (sides clipped to the image instead of re-drawn) is resampled
    bilinearly to ``size``; brightness, contrast and saturation factors are drawn from
    ``U(max(0, 1 - j), 1 + j)`` and the hue shift from ``U(-j, j)``; the four jitter operations are
    applied in an independent random order for each image. Saturation, hue and grayscale leave
    one-channel images unchanged.
    """

    def __init__(self, size: int = 32, *, scale: tuple[float, float] = (0.2, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3), flip: float = 0.5,
                 jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2),
                 jitter_p: float = 0.8, gray_p: float = 0.2,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None):
        super().__init__()
        self.size = int(size)
        self.scale = scale
        self.ratio = ratio
        self.flip = flip
        self.jitter = jitter
        self.jitter_p = jitter_p
        self.gray_p = gray_p
        self.register_buffer("mean", None if mean is None else torch.tensor(list(mean)))
        self.register_buffer("std", None if std is None else torch.tensor(list(std)))

    @staticmethod
    def _uniform(n: int, lo: float, hi: float, g: torch.Generator | None, device: Any) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g, device=device)

    def crop_params(self, n: int, g: torch.Generator | None, device: Any
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Per-image crop width/height (fractions of the image), centre (in [-1, 1]) and flip sign."""
        area = self._uniform(n, *self.scale, g, device)
        log_r = self._uniform(n, math.log(self.ratio[0]), math.log(self.ratio[1]), g, device)
        r = torch.exp(log_r)
        w = torch.sqrt(area * r).clamp(max=1.0)
        h = torch.sqrt(area / r).clamp(max=1.0)
        cx = (torch.rand(n, generator=g, device=device) * 2 - 1) * (1 - w)
        cy = (torch.rand(n, generator=g, device=device) * 2 - 1) * (1 - h)
        sign = torch.where(torch.rand(n, generator=g, device=device) < self.flip, -1.0, 1.0)
        return w, h, cx, cy, sign

    def resample(self, x: Tensor, w: Tensor, h: Tensor, cx: Tensor, cy: Tensor,
                 sign: Tensor) -> Tensor:
        """Resample the window of relative size ``(w, h)`` centred at ``(cx, cy)`` (normalised
        coordinates) to ``size`` x ``size``, mirrored where ``sign`` is -1 (one ``grid_sample``)."""
        n = x.shape[0]
        theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0] = w * sign
        theta[:, 0, 2] = cx
        theta[:, 1, 1] = h
        theta[:, 1, 2] = cy
        grid = F.affine_grid(theta, [n, x.shape[1], self.size, self.size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def crop_flip(self, x: Tensor, g: torch.Generator | None) -> Tensor:
        """Random resized crop and horizontal flip as one batched affine resampling."""
        return self.resample(x, *self.crop_params(x.shape[0], g, x.device))

    def color(self, x: Tensor, g: torch.Generator | None) -> Tensor:
        """Colour jitter (probability ``jitter_p``, random order per image) then grayscale."""
        n, dev = x.shape[0], x.device
        bj, cj, sj, hj = self.jitter
        apply = torch.rand(n, generator=g, device=dev) < self.jitter_p
        one = torch.ones(n, device=dev)
        fb = torch.where(apply, self._uniform(n, max(0.0, 1 - bj), 1 + bj, g, dev), one)
        fc = torch.where(apply, self._uniform(n, max(0.0, 1 - cj), 1 + cj, g, dev), one)
        fs = torch.where(apply, self._uniform(n, max(0.0, 1 - sj), 1 + sj, g, dev), one)
        fh = torch.where(apply, self._uniform(n, -hj, hj, g, dev), 0 * one)
        order = torch.argsort(torch.rand(n, 4, generator=g, device=dev), dim=1)
        rgb = x.shape[1] == 3
        for slot in range(4):
            op = order[:, slot]
            for k in range(4):
                if not rgb and k >= 2:
                    continue
                sel = (op == k)[:, None, None, None]
                if k == 0:
                    y = x * fb[:, None, None, None]
                elif k == 1:
                    m = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
                    y = (x - m) * fc[:, None, None, None] + m
                elif k == 2:
                    gr = _gray(x)
                    y = (x - gr) * fs[:, None, None, None] + gr
                else:
                    hsv = rgb_to_hsv(x)
                    hsv = torch.stack([(hsv[:, 0] + fh[:, None, None]) % 1.0, hsv[:, 1], hsv[:, 2]], 1)
                    y = hsv_to_rgb(hsv)
                x = torch.where(sel, y.clamp(0.0, 1.0), x)
        if rgb and self.gray_p > 0:
            to_gray = (torch.rand(n, generator=g, device=dev) < self.gray_p)[:, None, None, None]
            x = torch.where(to_gray, _gray(x).expand_as(x), x)
        return x

    def normalize(self, x: Tensor) -> Tensor:
        """Per-channel standardisation with ``mean``/``std`` (identity when they are unset)."""
        mean, std = self.mean, self.std
        if not isinstance(mean, Tensor) or not isinstance(std, Tensor):
            return x
        return (x - mean[None, :, None, None]) / std[None, :, None, None]

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment a batch of uint8 (0..255) or float (0..1) images ``(b, c, h, w)``."""
        x = to_unit_float(images)
        x = self.crop_flip(x, generator)
        x = self.color(x, generator)
        return self.normalize(x)

    def plain(self, images: Tensor) -> Tensor:
        """The evaluation transform: resize to ``size`` (if needed) and normalise, no randomness."""
        x = to_unit_float(images)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                              antialias=True)
        return self.normalize(x)


def to_unit_float(images: Tensor) -> Tensor:
    """uint8 images -> float32 in [0, 1]; float images are returned as float32 unchanged."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


__all__ = [
    "ImageData",
    "SimCLRAugment",
    "find_fashion_mnist",
    "hsv_to_rgb",
    "load_cifar10",
    "load_fashion_mnist",
    "load_images",
    "read_idx",
    "rgb_to_hsv",
    "to_unit_float",
]
