"""Synthetic positive-pair generators, local image loaders and batched SimCLR augmentations."""

from __future__ import annotations

import colorsys
import gzip
import math
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gaussprobe.contrastive.data import (
    GaussianChannelPairs,
    GaussianMixturePairs,
    LaplacePairs,
    SparseBinaryPairs,
    make_generator,
    make_synthetic,
    torch_seed,
)
from gaussprobe.contrastive.images import (
    SimCLRAugment,
    find_fashion_mnist,
    hsv_to_rgb,
    load_cifar10,
    load_fashion_mnist,
    load_images,
    read_idx,
    rgb_to_hsv,
)

pytestmark = pytest.mark.torch


def _corr(a, b):
    a = a - a.mean(0)
    b = b - b.mean(0)
    return float(((a * b).mean(0) / (a.std(0) * b.std(0))).mean())


# ----------------------------------------------------------------------------- synthetic
def test_same_rng_same_data_and_different_rng_differs():
    a = LaplacePairs(n_train=32, n_test=8, n_features=16, rng=1)
    b = LaplacePairs(n_train=32, n_test=8, n_features=16, rng=1)
    c = LaplacePairs(n_train=32, n_test=8, n_features=16, rng=2)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert not torch.equal(a.train, c.train)
    v1 = a.views(a.train, generator=make_generator("cpu", 5))
    v2 = b.views(b.train, generator=make_generator("cpu", 5))
    assert torch.equal(v1[0], v2[0]) and torch.equal(v1[1], v2[1])
    assert not torch.equal(v1[0], v1[1])


def test_global_torch_rng_untouched():
    state = torch.random.get_rng_state()
    LaplacePairs(n_train=16, n_test=8, n_features=8, rng=0)
    assert torch.equal(state, torch.random.get_rng_state())


def test_torch_seed_accepts_spec7_and_keys_separate_streams():
    assert torch_seed(3) == torch_seed(3)
    assert torch_seed(3, 1) != torch_seed(3, 2)
    assert torch_seed(np.random.SeedSequence(4)) == torch_seed(np.random.SeedSequence(4))
    assert 0 <= torch_seed(np.random.default_rng(0)) < 2**63


@pytest.mark.parametrize("a", [0.3, 0.6, 0.9])
def test_gaussian_channel_correlation_is_a_squared(a):
    data = GaussianChannelPairs(n_train=20000, n_test=2, n_features=16, mixing=a, rng=0)
    x1, x2 = data.views(data.train, generator=make_generator("cpu", 1))
    assert _corr(x1, x2) == pytest.approx(a * a, abs=0.01)
    assert float(x1.var(0).mean()) == pytest.approx(1.0, abs=0.02)


def test_laplace_marginal_moments():
    x = LaplacePairs(n_train=50000, n_test=2, n_features=8, rng=0).train.double()
    assert float(x.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(x.var()) == pytest.approx(2.0, rel=0.02)  # Var Laplace(0, 1) = 2
    excess = float(((x - x.mean()) ** 4).mean() / x.var() ** 2) - 3
    assert excess == pytest.approx(3.0, abs=0.3)  # Laplace excess kurtosis 3


def test_laplace_views_correlation_with_and_without_jitter():
    a = 0.6
    clean = LaplacePairs(n_train=20000, n_test=2, n_features=32, jitter=False, rng=0)
    x1, x2 = clean.views(clean.train, generator=make_generator("cpu", 2))
    assert _corr(x1, x2) == pytest.approx(2 * a * a / (2 * a * a + 1 - a * a), abs=0.01)
    jit = LaplacePairs(n_train=20000, n_test=2, n_features=32, rng=0)
    y1, y2 = jit.views(jit.train, generator=make_generator("cpu", 2))
    # cov = E[s]^2 (1-p)^2 2A^2, var = E[s^2] (1-p) (2A^2 + 1 - A^2 + 0.2^2), s = exp(N(0, 0.1^2))
    want = (math.exp(0.01) * 0.81 * 2 * a * a) / (math.exp(0.02) * 0.9 * (a * a + 1 + 0.04))
    assert _corr(y1, y2) == pytest.approx(want, abs=0.01)
    assert float((y1 == 0).float().mean()) == pytest.approx(0.1, abs=0.01)  # dropout


def test_gmm_views_share_the_component():
    data = GaussianMixturePairs(n_train=20000, n_test=100, n_features=8, n_components=25,
                                mean_scale=2.0, sigma=0.5, rng=0)
    labels = data.train_labels
    assert int(labels.min()) == 0 and int(labels.max()) == 24
    counts = torch.bincount(labels, minlength=25).double()
    assert float(counts.min()) > 0.7 * 20000 / 25  # equal weights
    x1, x2 = data.views(data.train, labels, generator=make_generator("cpu", 3))
    # the views differ only by within-component noise of std sigma each
    assert float((x1 - x2).std()) == pytest.approx(0.5 * math.sqrt(2), rel=0.02)
    for c in (0, 7):
        sel = labels == c
        assert torch.allclose(x1[sel].mean(0), data.means[c], atol=0.05)
    with pytest.raises(ValueError, match="labels"):
        data.views(data.train, None, generator=make_generator("cpu", 3))


def test_binary_fixed_count_and_flip_rate():
    data = SparseBinaryPairs(n_train=4000, n_test=10, n_features=1024, rng=0)
    x = data.train
    assert set(torch.unique(x).tolist()) == {0.0, 1.0}
    assert torch.all(x.sum(1) == 4)
    v1, v2 = data.views(x, generator=make_generator("cpu", 4))
    assert torch.all(v1 >= x) and torch.all(v2 >= x)  # ones are never removed
    flipped = float((v1 - x).sum() / (1 - x).sum())
    assert flipped == pytest.approx(0.001, rel=0.1)
    bern = SparseBinaryPairs(n_train=4000, n_test=10, n_features=256, n_active=None, density=0.05,
                             rng=0)
    assert float(bern.train.mean()) == pytest.approx(0.05, rel=0.05)


def test_make_synthetic_and_errors():
    data = make_synthetic("binary", n_train=16, n_test=4, n_features=32, rng=0)
    assert data.describe()["n_active"] == 4
    with pytest.raises(ValueError, match="Unknown synthetic"):
        make_synthetic("nope")
    with pytest.raises(ValueError, match="mixing"):
        LaplacePairs(mixing=1.5)
    with pytest.raises(ValueError, match="n_train"):
        LaplacePairs(n_train=1)
    with pytest.raises(ValueError, match="n_active"):
        SparseBinaryPairs(n_active=0)


@pytest.mark.gpu
def test_generated_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    data = LaplacePairs(n_train=64, n_test=8, n_features=16, rng=0, device="cuda")
    assert data.train.is_cuda
    x1, _ = data.views(data.train, generator=make_generator("cuda", 1))
    assert x1.is_cuda


# ----------------------------------------------------------------------------- image files
def _write_idx(path, array, code=0x08, gz=True):
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)


def _fake_fashion(tmp_path, n_train=20, n_test=10):
    g = np.random.default_rng(0)
    tr = g.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    te = g.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", tr)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", g.integers(0, 10, n_train), gz=True)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", te, gz=False)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", g.integers(0, 10, n_test), gz=False)
    return tr, te


def test_read_idx_and_fashion_loader_from_files(tmp_path):
    tr, te = _fake_fashion(tmp_path)
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), tr)
    data = load_fashion_mnist(tmp_path)
    assert data.train_images.shape == (20, 1, 28, 28) and data.train_images.dtype == torch.uint8
    assert np.array_equal(data.test_images[:, 0].numpy(), te)
    assert data.n_classes == 10 and data.train_labels.dtype == torch.int64
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="IDX"):
        read_idx(bad)


def test_missing_files_raise_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr("gaussprobe.contrastive.images.FASHION_MNIST_DIRS", ())
    monkeypatch.delenv("GAUSSPROBE_FASHION_MNIST", raising=False)
    assert find_fashion_mnist(tmp_path) is None
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar"):
        load_cifar10(tmp_path)
    with pytest.raises(ValueError, match="root"):
        load_images("cifar10")


def test_cifar10_python_and_binary_formats_agree(tmp_path):
    g = np.random.default_rng(1)
    py = tmp_path / "cifar-10-batches-py"
    binf = tmp_path / "other" / "cifar-10-batches-bin"
    py.mkdir()
    binf.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = g.integers(0, 256, (4, 3072), dtype=np.uint8)
        labels = g.integers(0, 10, 4)
        with open(py / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": labels.tolist()}, fh)
        rec = np.concatenate([labels[:, None].astype(np.uint8), data], axis=1)
        rec.tofile(binf / f"{name}.bin")
    a = load_cifar10(tmp_path)  # the parent folder is accepted
    b = load_cifar10(binf)
    assert a.train_images.shape == (20, 3, 32, 32) and a.test_images.shape == (4, 3, 32, 32)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_labels, b.test_labels)


def test_real_fashion_mnist_if_installed():
    if find_fashion_mnist() is None:
        pytest.skip("Fashion-MNIST files not installed (apt-get install dataset-fashion-mnist)")
    data = load_fashion_mnist()
    assert data.train_images.shape == (60000, 1, 28, 28)
    assert data.test_images.shape == (10000, 1, 28, 28)
    assert sorted(torch.unique(data.train_labels).tolist()) == list(range(10))


# ----------------------------------------------------------------------------- augmentations
def _images(n=16, c=3, size=32, seed=0):
    g = np.random.default_rng(seed)
    return torch.as_tensor(g.integers(0, 256, (n, c, size, size), dtype=np.uint8))


@pytest.mark.parametrize(("channels", "size_in", "size_out"), [(3, 32, 32), (1, 28, 32)])
def test_augment_shape_range_device_and_seeding(channels, size_in, size_out):
    imgs = _images(c=channels, size=size_in)
    aug = SimCLRAugment(size_out)
    out = aug(imgs, make_generator("cpu", 0))
    assert out.shape == (16, channels, size_out, size_out) and out.dtype == torch.float32
    assert out.device == imgs.device
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    again = aug(imgs, make_generator("cpu", 0))
    other = aug(imgs, make_generator("cpu", 1))
    assert torch.equal(out, again) and not torch.equal(out, other)
    norm = SimCLRAugment(size_out, mean=[0.5] * channels, std=[0.25] * channels)
    assert torch.allclose(norm(imgs, make_generator("cpu", 0)), (out - 0.5) / 0.25, atol=1e-6)


def _geometry_only(**kw):
    return SimCLRAugment(32, jitter_p=0.0, gray_p=0.0, **kw)


def test_full_crop_without_flip_is_identity_and_flip_mirrors():
    imgs = _images()
    x = imgs.float() / 255
    same = _geometry_only(scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=0.0)(imgs, make_generator("cpu", 0))
    assert torch.allclose(same, x, atol=1e-5)
    flipped = _geometry_only(scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=1.0)(imgs, make_generator("cpu", 0))
    assert torch.allclose(flipped, torch.flip(x, dims=[3]), atol=1e-5)


def test_crop_params_respect_scale_and_ratio():
    aug = SimCLRAugment(32, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3))
    w, h, cx, cy, sign = aug.crop_params(5000, make_generator("cpu", 0), "cpu")
    area = w * h
    assert float(area.min()) >= 0.2 - 1e-6 and float(area.max()) <= 1.0 + 1e-6
    assert float((w / h).min()) >= 3 / 4 - 1e-3 or bool((w == 1).any() | (h == 1).any())
    assert bool(((cx.abs() + w) <= 1 + 1e-6).all()) and bool(((cy.abs() + h) <= 1 + 1e-6).all())
    assert float((sign < 0).float().mean()) == pytest.approx(0.5, abs=0.03)


def test_centred_quarter_crop_is_a_zoom_into_the_centre():
    img = torch.zeros(1, 1, 32, 32)
    img[..., 8:24, 8:24] = 1.0  # the central quarter-area square
    aug = SimCLRAugment(32)
    half, zero, one = torch.tensor([0.5]), torch.tensor([0.0]), torch.tensor([1.0])
    out = aug.resample(img, half, half, zero, zero, one)
    inner = out[..., 1:-1, 1:-1]
    assert torch.allclose(inner, torch.ones_like(inner), atol=1e-6)  # edges: bilinear at the border
    assert float(out.min()) >= 0.5
    shifted = aug.resample(img, half, half, torch.tensor([0.5]), zero, one)  # right half of window
    assert float(shifted[..., 1:-1, :14].min()) == pytest.approx(1.0)
    assert float(shifted[..., :, 18:].max()) == 0.0


def test_grayscale_always_gives_equal_channels():
    out = SimCLRAugment(32, gray_p=1.0, jitter_p=0.0)(_images(), make_generator("cpu", 0))
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])


def test_brightness_only_matches_manual_formula():
    imgs = _images(n=64)
    aug = SimCLRAugment(32, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=0.0, jitter=(0.8, 0, 0, 0),
                        jitter_p=1.0, gray_p=0.0)
    out = aug(imgs, make_generator("cpu", 0))
    x = imgs.float() / 255
    # each image is its clamp(factor * x), factor in [0.2, 1.8]
    ratio = (out.sum((1, 2, 3)) / x.sum((1, 2, 3)))
    assert float(ratio.min()) >= 0.2 - 1e-4 and float(ratio.max()) <= 1.8 + 1e-4
    assert float(ratio.std()) > 0.1
    manual = (x * ratio[:, None, None, None]).clamp(0, 1)
    unclipped = (x * ratio[:, None, None, None] <= 1).all(dim=(1, 2, 3))
    assert torch.allclose(out[unclipped], manual[unclipped], atol=1e-5)


def test_hsv_round_trip_matches_colorsys():
    g = np.random.default_rng(0)
    rgb = torch.as_tensor(g.uniform(0, 1, (5, 3, 4, 4)), dtype=torch.float64)
    rgb[0, :, 0, 0] = 0.5  # a gray pixel (zero saturation)
    hsv = rgb_to_hsv(rgb)
    for b, i, j in [(0, 0, 0), (1, 2, 3), (4, 1, 1)]:
        want = colorsys.rgb_to_hsv(*rgb[b, :, i, j].tolist())
        assert hsv[b, :, i, j].tolist() == pytest.approx(list(want), abs=1e-12)
    assert torch.allclose(hsv_to_rgb(hsv), rgb, atol=1e-12)


def test_hue_shift_matches_colorsys():
    img = torch.tensor([[[[0.9]], [[0.3]], [[0.1]]]])
    aug = SimCLRAugment(1, scale=(1, 1), ratio=(1, 1), flip=0, jitter=(0, 0, 0, 0.2), jitter_p=1.0,
                        gray_p=0)
    g = make_generator("cpu", 3)
    out = aug.color(img.clone(), g)
    h, s, v = colorsys.rgb_to_hsv(0.9, 0.3, 0.1)
    # recover the drawn shift from the output hue and check it is within the jitter range
    h2, s2, v2 = colorsys.rgb_to_hsv(*out[0, :, 0, 0].tolist())
    shift = (h2 - h + 0.5) % 1.0 - 0.5
    assert abs(shift) <= 0.2 + 1e-6
    assert (s2, v2) == pytest.approx((s, v), abs=1e-6)


def test_plain_transform_resizes_deterministically():
    imgs = _images(c=1, size=28)
    aug = SimCLRAugment(32)
    a, b = aug.plain(imgs), aug.plain(imgs)
    assert a.shape == (16, 1, 32, 32) and torch.equal(a, b)


@pytest.mark.gpu
def test_augment_on_cuda_stays_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    imgs = _images().cuda()
    out = SimCLRAugment(32).cuda()(imgs, make_generator("cuda", 0))
    assert out.is_cuda and out.shape == (16, 3, 32, 32)
