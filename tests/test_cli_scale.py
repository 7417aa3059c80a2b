"""The command line on data read lazily: globs of shards, folders, --workers, --scheduler, --memory-limit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gaussprobe.cli import build_parser, main

pytest.importorskip("dask.array")


@pytest.fixture
def shards(tmp_path):
    rng = np.random.default_rng(3)
    parts = [rng.standard_normal((r, 12)).astype(np.float32) for r in (400, 250, 350)]
    for i, p in enumerate(parts):
        np.save(tmp_path / f"part-{i}.npy", p)
    return tmp_path, np.concatenate(parts)


def _json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else None, out.err


def test_a_glob_of_shards_is_analysed_lazily_with_the_numbers_of_memory(shards, capsys, tmp_path):
    folder, full = shards
    code, lazy, _ = _json(capsys, ["analyze", str(folder / "part-*.npy"), "--format", "json", "--no-progress"])
    assert code == 0 and lazy["backend"] == "dask" and lazy["n_samples"] == 1000
    assert lazy["source"]["format"] == "lazy"
    np.save(tmp_path / "all.npy", full)
    code, eager, _ = _json(capsys, ["analyze", str(tmp_path / "all.npy"), "--format", "json", "--no-progress"])
    assert eager["backend"] == "numpy"
    assert lazy["coordinates"]["ad_mean"] == pytest.approx(eager["coordinates"]["ad_mean"], rel=1e-12)
    assert lazy["mardia"]["kurtosis"] == pytest.approx(eager["mardia"]["kurtosis"], rel=1e-12)


def test_a_folder_and_max_rows(shards, capsys):
    folder, _ = shards
    code, rep, _ = _json(capsys, ["analyze", str(folder), "--max-rows", "500", "--format", "json",
                                  "--tests", "thin_shell", "--no-progress"])
    assert code == 0 and rep["n_samples"] == 500
    assert any("first 500 of 1,000 rows" in n for n in rep["notes"])


def test_a_missing_glob_is_a_clear_error(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nothing-*.npy"), "--no-progress"]) == 2
    assert "no file matches this pattern" in capsys.readouterr().err


def test_cluster_options_are_validated(capsys):
    parser = build_parser()
    args = parser.parse_args(["analyze", "x.npy", "--workers", "2", "--memory-limit", "4GiB"])
    assert args.workers == 2 and args.memory_limit == 4 * 2**30
    assert main(["analyze", "x.npy", "--memory-limit", "lots"]) == 2
    assert "--memory-limit" in capsys.readouterr().err
    assert main(["analyze", "x.npy", "--workers", "2", "--scheduler", "tcp://h:1"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_device_cuda_is_refused_for_lazy_data(shards, capsys):
    folder, _ = shards
    assert main(["analyze", str(folder / "part-*.npy"), "--device", "cuda", "--no-progress"]) == 2
    assert "read lazily are analysed on the CPU" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_a_clear_error(shards, capsys):
    pytest.importorskip("distributed")
    folder, _ = shards
    code = main(["analyze", str(folder / "part-0.npy"), "--scheduler", "tcp://127.0.0.1:9", "--no-progress"])
    assert code == 2
    assert "--scheduler tcp://127.0.0.1:9: could not connect" in capsys.readouterr().err


@pytest.mark.slow
def test_workers_run_a_local_cluster_with_the_same_numbers(shards, capsys):
    pytest.importorskip("distributed")
    folder, _ = shards
    glob = str(folder / "part-*.npy")
    code, threaded, _ = _json(capsys, ["analyze", glob, "--format", "json", "--no-progress"])
    code, cluster, _ = _json(capsys, ["analyze", glob, "--workers", "2", "--memory-limit", "1GiB",
                                      "--format", "json", "--no-progress"])
    assert code == 0
    for key in ("thin_shell", "coordinates", "projections", "mardia"):
        a, b = json.dumps(threaded[key], sort_keys=True), json.dumps(cluster[key], sort_keys=True)
        assert json.loads(a).keys() == json.loads(b).keys()
    assert cluster["coordinates"]["ad_mean"] == pytest.approx(threaded["coordinates"]["ad_mean"], rel=1e-12)
    assert cluster["projections"]["combined_test"]["pvalue"] == pytest.approx(
        threaded["projections"]["combined_test"]["pvalue"], rel=1e-10)
