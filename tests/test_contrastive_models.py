"""Encoders: shapes, the CIFAR ResNet-18 layout, heads, classifiers and seeded initialisation."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from gaussprobe.contrastive.models import (
    EncoderNet,
    LinearEncoder,
    ResNet18,
    build_model,
    count_parameters,
    seeded_init,
)

pytestmark = pytest.mark.torch


def test_linear_and_mlp_shapes_and_flattening():
    lin = build_model("linear", in_features=12, out_dim=5)
    assert lin(torch.randn(3, 12)).shape == (3, 5)
    assert lin(torch.randn(3, 3, 2, 2)).shape == (3, 5)  # flattened
    assert lin.embed_dim == lin.feature_dim == 5
    mlp = build_model("mlp", in_features=12, hidden=7, out_dim=4)
    assert mlp(torch.randn(2, 12)).shape == (2, 4)
    relus = [m for m in mlp.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == 1  # "a two-layer MLP with a single ReLU"
    assert count_parameters(mlp) == 12 * 7 + 7 + 7 * 4 + 4
    assert LinearEncoder(4, 2, bias=False).bias is None


def test_linear_encoder_is_exactly_affine():
    lin = LinearEncoder(6, 3)
    x = torch.randn(4, 6)
    assert torch.allclose(lin(x), x @ lin.weight.T + lin.bias)


def test_resnet18_is_the_cifar_variant():
    net = ResNet18(3, width=64)
    stem_conv = net.stem[0]
    assert stem_conv.kernel_size == (3, 3) and stem_conv.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.modules())
    n_blocks = sum(1 for m in net.modules() if type(m).__name__ == "BasicBlock")
    assert n_blocks == 8
    # the standard CIFAR ResNet-18 backbone has 11,168,832 parameters (11,173,962 with a 10-way fc)
    assert count_parameters(net) == 11_168_832
    assert net.out_dim == 512


@pytest.mark.parametrize("channels", [1, 3])
def test_resnet18_forward_small_width(channels):
    net = ResNet18(channels, width=4)
    x = torch.randn(2, channels, 32, 32)
    stem = net.stem(x)
    assert stem.shape[-2:] == (32, 32)  # no down-sampling in the stem
    assert net(x).shape == (2, 32)


def test_projection_head_and_classifier():
    model = build_model("resnet18", in_channels=1, width=4, projection_dim=16, n_classes=10)
    x = torch.randn(3, 1, 32, 32)
    assert model.features(x).shape == (3, 32)
    assert model.embed(x).shape == (3, 16)
    assert model(x).shape == (3, 16)
    assert model.classify(x).shape == (3, 10)
    no_head = build_model("resnet18", in_channels=1, width=4, projection_dim=None)
    assert no_head.embed_dim == no_head.feature_dim == 32
    with pytest.raises(RuntimeError, match="classifier"):
        no_head.classify(x)


def test_contrastive_and_supervised_models_share_capacity():
    c = build_model("resnet18", width=4, projection_dim=8)
    s = build_model("resnet18", width=4, projection_dim=8, n_classes=10)
    assert count_parameters(s) - count_parameters(c) == 8 * 10 + 10


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = seeded_init(3, build_model, "linear", in_features=5, out_dim=2)
    b = seeded_init(3, build_model, "linear", in_features=5, out_dim=2)
    c = seeded_init(4, build_model, "linear", in_features=5, out_dim=2)
    assert torch.equal(state, torch.random.get_rng_state())
    assert torch.equal(a.backbone.weight, b.backbone.weight)
    assert not torch.equal(a.backbone.weight, c.backbone.weight)
    assert isinstance(a, EncoderNet)


def test_build_model_errors():
    with pytest.raises(ValueError, match="Unknown model"):
        build_model("vit")
    with pytest.raises(ValueError, match="in_features"):
        build_model("linear")


def test_missing_torch_gives_install_command():
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import gaussprobe.contrastive\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'gaussprobe[train]'" in out.stdout


def test_import_gaussprobe_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, gaussprobe; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
