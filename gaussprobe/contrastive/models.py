"""Encoders: linear, two-layer MLP and a CIFAR-style ResNet-18, with an optional projection head and
an optional linear classifier (the supervised cross-entropy baseline with the same backbone).

:class:`EncoderNet` is the one wrapper the trainer uses: ``embed(x)`` is the representation that the
objective sees and that is analysed (the projection-head output when there is a head, else the
backbone output), ``features(x)`` is the backbone output (used for linear probes), and ``classify``
applies the classifier to ``embed(x)`` for supervised training. Contrastive and supervised models built
with the same arguments therefore have the same capacity up to the final linear classifier and differ
only in the objective.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor, nn


class LinearEncoder(nn.Linear):
    """``z = W x + b`` (bias optional); inputs of any shape are flattened after the batch axis."""

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.out_dim = out_features

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.flatten(1))


class MLPEncoder(nn.Module):
    """A two-layer MLP with a single ReLU: ``W2 relu(W1 x + b1) + b2`` (inputs flattened)."""

    def __init__(self, in_features: int, hidden: int, out_features: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, out_features))
        self.out_dim = out_features

    def forward(self, x: Tensor) -> Tensor:
        return cast(Tensor, self.net(x.flatten(1)))


class BasicBlock(nn.Module):
    """The two-convolution residual block of ResNet-18/34."""

    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_ch))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return cast(Tensor, self.relu(out + self.shortcut(x)))


class ResNet18(nn.Module):
    """CIFAR-style ResNet-18: a 3x3 stride-1 stem without max-pool, four stages of two basic blocks
    (widths ``w, 2w, 4w, 8w``, strides 1, 2, 2, 2), global average pooling; output dimension ``8w``.

    Parameters
    ----------
    in_channels : int
        3 for CIFAR-10, 1 for Fashion-MNIST.
    width : int
        Base width ``w`` (64 is the standard ResNet-18; smaller widths are for quick CPU runs).
    """

    def __init__(self, in_channels: int = 3, *, width: int = 64):
        super().__init__()
        w = int(width)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        in_ch = w
        for i, stride in enumerate((1, 2, 2, 2)):
            out_ch = w * 2**i
            layers += [BasicBlock(in_ch, out_ch, stride), BasicBlock(out_ch, out_ch, 1)]
            in_ch = out_ch
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = in_ch

    def forward(self, x: Tensor) -> Tensor:
        return cast(Tensor, self.pool(self.layers(self.stem(x))).flatten(1))


class ProjectionHead(nn.Module):
    """SimCLR's projection head ``W2 relu(W1 h)`` (hidden width = input width)."""

    def __init__(self, in_dim: int, out_dim: int = 128, hidden: int | None = None):
        super().__init__()
        hidden = in_dim if hidden is None else hidden
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, out_dim))
        self.out_dim = out_dim

    def forward(self, h: Tensor) -> Tensor:
        return cast(Tensor, self.net(h))


class EncoderNet(nn.Module):
    """Backbone + optional projection head + optional linear classifier.

    Attributes
    ----------
    embed_dim : int
        Dimension of :meth:`embed`.
    feature_dim : int
        Dimension of :meth:`features`.
    """

    def __init__(self, backbone: nn.Module, *, head: nn.Module | None = None,
                 n_classes: int | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head if head is not None else nn.Identity()
        self.feature_dim = int(backbone.out_dim)  # type: ignore[arg-type]
        self.embed_dim = int(head.out_dim) if head is not None else self.feature_dim  # type: ignore[arg-type]
        self.classifier = nn.Linear(self.embed_dim, n_classes) if n_classes else None

    def features(self, x: Tensor) -> Tensor:
        """Backbone output."""
        return cast(Tensor, self.backbone(x))

    def embed(self, x: Tensor) -> Tensor:
        """The analysed representation: head(backbone(x))."""
        return cast(Tensor, self.head(self.backbone(x)))

    def classify(self, x: Tensor) -> Tensor:
        """Class logits (supervised models only)."""
        if self.classifier is None:
            msg = "This EncoderNet has no classifier; build it with n_classes=... for supervised use."
            raise RuntimeError(msg)
        return cast(Tensor, self.classifier(self.embed(x)))

    def forward(self, x: Tensor) -> Tensor:
        return self.embed(x)


def build_model(kind: str, *, in_features: int | None = None, in_channels: int = 3,
                out_dim: int = 256, hidden: int = 1024, width: int = 64,
                projection_dim: int | None = 128, n_classes: int | None = None,
                bias: bool = True) -> EncoderNet:
    """Build an :class:`EncoderNet` by name.

    Parameters
    ----------
    kind : {"linear", "mlp", "resnet18"}
    in_features : int
        Flattened input dimension (linear and MLP).
    in_channels : int
        Image channels (ResNet-18).
    out_dim : int
        Output dimension of the linear/MLP encoder.
    hidden : int
        MLP hidden width.
    width : int
        ResNet-18 base width.
    projection_dim : int or None
        Output dimension of a projection head on the ResNet-18 backbone (None: no head).
    n_classes : int or None
        Add a linear classifier on :meth:`EncoderNet.embed` (supervised baseline).
    bias : bool
        Bias of the linear encoder.
    """
    if kind in {"linear", "mlp"}:
        if in_features is None:
            msg = f"A {kind} encoder needs `in_features`."
            raise ValueError(msg)
        backbone: nn.Module
        if kind == "linear":
            backbone = LinearEncoder(in_features, out_dim, bias=bias)
        else:
            backbone = MLPEncoder(in_features, hidden, out_dim)
        return EncoderNet(backbone, n_classes=n_classes)
    if kind == "resnet18":
        backbone = ResNet18(in_channels, width=width)
        head = ProjectionHead(backbone.out_dim, projection_dim) if projection_dim else None
        return EncoderNet(backbone, head=head, n_classes=n_classes)
    msg = f"Unknown model {kind!r}; choose 'linear', 'mlp' or 'resnet18'."
    raise ValueError(msg)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def seeded_init(seed: int, factory: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``factory(*args, **kwargs)`` with torch's CPU RNG forked and seeded, so parameter
    initialisation is reproducible without changing the caller's global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return factory(*args, **kwargs)


__all__ = [
    "BasicBlock",
    "EncoderNet",
    "LinearEncoder",
    "MLPEncoder",
    "ProjectionHead",
    "ResNet18",
    "build_model",
    "count_parameters",
    "seeded_init",
]
