"""The reference trainer: determinism, checkpoint/resume, evaluation, the effect of training, CLI."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gaussprobe.contrastive.__main__ import main
from gaussprobe.contrastive.trainer import TrainConfig, Trainer, train

pytestmark = pytest.mark.torch

TIMING = {"train_seconds", "samples_per_second", "eval_seconds"}


def _tiny(**kw):
    base = {"data": "laplace", "data_options": {"n_features": 32}, "n_train": 512, "n_test": 256,
            "out_dim": 8, "batch_size": 64, "epochs": 2, "eval_every": 1, "eval_pairs": 128,
            "device": "cpu"}
    base.update(kw)
    return TrainConfig(**base)


def _strip(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def test_cpu_runs_are_deterministic():
    a, b = Trainer(_tiny()), Trainer(_tiny())
    ha, hb = a.fit(), b.fit()
    assert _strip(ha) == _strip(hb)
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = Trainer(_tiny(seed=1))
    assert _strip(c.fit()) != _strip(ha)


def test_history_rows_and_files(tmp_path):
    trainer = train(_tiny(out_dir=str(tmp_path)))
    rows = trainer.history
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    need = {"cv", "norm_mean", "ad_mean", "ad_pass_fraction", "dp_mean_pvalue", "dp_pass_fraction",
            "alignment", "uniformity", "positive_cosine", "heldout_info_nce"}
    assert need <= set(rows[-1])
    assert "train_loss" not in rows[0] and "train_loss" in rows[1]
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["config"]["data"] == "laplace" and len(saved["history"]) == 3
    csv_lines = (tmp_path / "history.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 4 and "ad_mean" in csv_lines[0]
    assert (tmp_path / "checkpoint.pt").is_file()
    r = rows[-1]
    assert 0 <= r["ad_pass_fraction"] <= 1 and 0 <= r["dp_pass_fraction"] <= 1
    assert 0 <= r["alignment"] <= 4 and r["uniformity"] <= 0
    assert r["n_eval"] == 256 and r["dim"] == 8


def test_evaluation_uses_gaussprobe_statistics():
    from gaussprobe.stats.coordinates import coordinate_normality
    from gaussprobe.stats.thin_shell import thin_shell

    trainer = Trainer(_tiny(epochs=0))
    row = trainer.evaluate()
    z = trainer.embed_test()
    assert row["cv"] == pytest.approx(thin_shell(z).cv, rel=1e-12)
    assert row["ad_mean"] == pytest.approx(coordinate_normality(z).ad_mean, rel=1e-12)
    # the representation is the linear map of the held-out inputs
    lin = trainer.model.backbone
    assert torch.allclose(z, trainer.synthetic.test @ lin.weight.T + lin.bias, atol=1e-5)


def test_resume_continues_exactly(tmp_path):
    full = Trainer(_tiny(epochs=3, eval_every=10))
    full.fit()
    part = Trainer(_tiny(epochs=1, eval_every=10, out_dir=str(tmp_path)))
    part.fit()
    resumed = Trainer.from_checkpoint(tmp_path / "checkpoint.pt", epochs=3)
    assert resumed.epoch == 1 and len(resumed.history) == 2
    # the next step's loss is identical to the uninterrupted run's
    step_full = Trainer(_tiny(epochs=3))
    step_full.train_epoch()
    g_loss_a = step_full.train_epoch()["train_loss"]
    g_loss_b = resumed.train_epoch()["train_loss"]
    assert g_loss_a == g_loss_b
    resumed.fit()
    assert _strip(resumed.history)[-1] == _strip(full.history)[-1]
    for pa, pb in zip(full.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_checkpoint_every(tmp_path):
    trainer = Trainer(_tiny(epochs=2, checkpoint_every=1, out_dir=str(tmp_path)))
    trainer.fit()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 2 and state["config"]["checkpoint_every"] == 1


@pytest.mark.parametrize("objective", ["nt_xent", "regularized"])
def test_other_objectives_train(objective):
    trainer = Trainer(_tiny(objective=objective, epochs=1))
    rows = trainer.fit()
    assert math.isfinite(rows[-1]["train_loss"])


def test_training_makes_sparse_binary_embeddings_more_gaussian():
    """At initialisation each coordinate is a sum of three uniform weights (platykurtic); InfoNCE
    training spreads the weights and the held-out coordinates pass the normality tests more often."""
    cfg = TrainConfig(data="binary", data_options={"n_features": 256, "n_active": 3}, n_train=4096,
                      n_test=2000, out_dim=32, batch_size=128, epochs=6, eval_every=6, lr=3e-3,
                      eval_pairs=256, device="cpu")
    first, last = Trainer(cfg).fit()
    assert first["ad_mean"] > 0.9
    assert last["ad_mean"] < first["ad_mean"] - 0.25
    assert last["ad_pass_fraction"] > first["ad_pass_fraction"] + 0.2
    assert last["cv"] < 0.15


def test_training_on_laplace_aligns_and_stays_gaussian():
    cfg = _tiny(data_options={"n_features": 128}, n_train=2048, n_test=1024, out_dim=16, epochs=4,
                eval_every=4, batch_size=128)
    first, last = Trainer(cfg).fit()
    assert last["heldout_info_nce"] < first["heldout_info_nce"]
    assert last["positive_cosine"] > first["positive_cosine"]
    assert last["ad_mean"] < 0.6 and last["cv"] < 0.25


def test_supervised_requires_labels():
    with pytest.raises(ValueError, match="labels"):
        TrainConfig(data="laplace", objective="supervised").validate()
    trainer = Trainer(_tiny(data="gmm", objective="supervised", epochs=1,
                            data_options={"n_features": 16, "n_components": 4}))
    assert math.isfinite(trainer.fit()[-1]["train_loss"])


@pytest.mark.parametrize(("kw", "match"), [({"data": "mnist"}, "data"),
                                           ({"objective": "byol"}, "objective"),
                                           ({"batch_size": 1}, "batch_size"),
                                           ({"device": "cuda:7"}, "CUDA")])
def test_config_errors(kw, match):
    if kw.get("device", "").startswith("cuda") and torch.cuda.is_available():
        pytest.skip("CUDA is available")
    with pytest.raises(ValueError, match=match):
        Trainer(_tiny(**kw))


def _fake_fashion(folder, n_train=96, n_test=48):
    g = np.random.default_rng(0)
    labels_tr = g.integers(0, 10, n_train)
    labels_te = g.integers(0, 10, n_test)
    # images whose brightness pattern depends on the label, so a probe can learn something
    def imgs(labels):
        base = g.integers(0, 60, (len(labels), 28, 28))
        for i, c in enumerate(labels):
            base[i, c * 2:c * 2 + 6, :] += 180
        return base.astype(np.uint8)

    def write(name, arr):
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
        with gzip.open(folder / f"{name}.gz", "wb") as fh:
            fh.write(header + arr.astype(np.uint8).tobytes())

    write("train-images-idx3-ubyte", imgs(labels_tr))
    write("train-labels-idx1-ubyte", labels_tr)
    write("t10k-images-idx3-ubyte", imgs(labels_te))
    write("t10k-labels-idx1-ubyte", labels_te)


@pytest.mark.parametrize("objective", ["info_nce", "supervised"])
def test_image_pipeline_with_resnet_and_probe(tmp_path, objective):
    _fake_fashion(tmp_path)
    cfg = TrainConfig(data="fashion_mnist", data_root=str(tmp_path), model="resnet18", width=2,
                      projection_dim=8, objective=objective, epochs=1, batch_size=32, eval_pairs=32,
                      probe_train_samples=96, device="cpu")
    rows = Trainer(cfg).fit()
    assert rows[-1]["dim"] == 8 and rows[-1]["n_eval"] == 48
    assert 0.0 <= rows[-1]["probe_accuracy"] <= 1.0
    assert isinstance(rows[-1]["probe_converged"], bool)


def test_bf16_autocast_and_channels_last_paths_on_cpu(tmp_path):
    _fake_fashion(tmp_path)
    cfg = TrainConfig(data="fashion_mnist", data_root=str(tmp_path), model="resnet18", width=2,
                      projection_dim=8, epochs=1, batch_size=32, eval_pairs=32, probe=False,
                      amp=True, channels_last=True, device="cpu")
    trainer = Trainer(cfg)
    assert trainer.amp and trainer.channels_last
    rows = trainer.fit()
    assert math.isfinite(rows[-1]["train_loss"])
    assert trainer.embed_test().dtype == torch.float32


def test_cli_trains_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--data", "laplace", "--option", "n_features=32", "--n-train", "256", "--n-test", "128",
            "--out-dim", "8", "--batch-size", "64", "--epochs", "1", "--device", "cpu",
            "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "ad_mean" in text and "wrote" in text
    assert main(["--resume", str(out / "checkpoint.pt"), "--epochs", "2"]) == 0
    saved = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in saved["history"]] == [0, 1, 2]


def test_cli_usage_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--data", "nope"])
    assert exc.value.code == 2
    assert main(["--data", "laplace", "--objective", "supervised"]) == 2
    assert "labels" in capsys.readouterr().err
