"""Reference InfoNCE trainer (PyTorch): losses, synthetic and image data, encoders, and a trainer
that tracks how Gaussian the held-out representations become.

This subpackage needs PyTorch (and scikit-learn for linear probes, tqdm for progress bars)::

    pip install 'gaussprobe[train]'

``import gaussprobe`` never imports it; import ``gaussprobe.contrastive`` explicitly. The command line
entry point is ``python -m gaussprobe.contrastive --help``.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    _msg = ("gaussprobe.contrastive needs PyTorch, which is not installed. Install it with: "
            "pip install 'gaussprobe[train]'  (CPU-only wheels: pip install torch "
            "--index-url https://download.pytorch.org/whl/cpu)")
    raise ImportError(_msg) from exc

from .data import (
    GaussianChannelPairs,
    GaussianMixturePairs,
    LaplacePairs,
    SparseBinaryPairs,
    SyntheticPairs,
    make_generator,
    make_synthetic,
)
from .images import (
    ImageData,
    SimCLRAugment,
    find_fashion_mnist,
    load_cifar10,
    load_fashion_mnist,
    load_images,
)
from .losses import (
    alignment,
    entropy_estimate,
    info_nce,
    l2_normalize,
    nt_xent,
    regularized_info_nce,
    uniformity,
)
from .models import EncoderNet, LinearEncoder, MLPEncoder, ProjectionHead, ResNet18, build_model
from .trainer import TrainConfig, Trainer, train

__all__ = [
    "EncoderNet",
    "GaussianChannelPairs",
    "GaussianMixturePairs",
    "ImageData",
    "LaplacePairs",
    "LinearEncoder",
    "MLPEncoder",
    "ProjectionHead",
    "ResNet18",
    "SimCLRAugment",
    "SparseBinaryPairs",
    "SyntheticPairs",
    "TrainConfig",
    "Trainer",
    "alignment",
    "build_model",
    "entropy_estimate",
    "find_fashion_mnist",
    "info_nce",
    "l2_normalize",
    "load_cifar10",
    "load_fashion_mnist",
    "load_images",
    "make_generator",
    "make_synthetic",
    "nt_xent",
    "regularized_info_nce",
    "train",
    "uniformity",
]
