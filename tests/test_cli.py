"""The gaussprobe command line: formats, exit codes 0/1/2, criteria sources, bad input, fuzzed files."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gaussprobe.cli import main

FAST = ["--tests", "thin_shell,coordinates,projections", "--n-projections", "32"]


def run(argv, cwd=None):
    """Run main() in-process; return (code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(err):
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("gaussprobe: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err


@pytest.fixture
def gauss(tmp_path):
    p = tmp_path / "gauss.npy"
    np.save(p, np.random.default_rng(0).standard_normal((400, 8)).astype(np.float32))
    return p


@pytest.fixture
def skewed(tmp_path):
    p = tmp_path / "skewed.npy"
    np.save(p, np.random.default_rng(1).exponential(size=(400, 8)))
    return p


# ---------------------------------------------------------------- analyze
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_analyze_formats(gauss, tmp_path, fmt):
    extra = [] if fmt != "html" else ["-o", tmp_path / "r.html"]
    code, out, err = run(["analyze", gauss, "--format", fmt, *FAST, *extra])
    assert code == 0, err
    if fmt == "json":
        data = json.loads(out)
        assert data["n_samples"] == 400
        assert data["n_features"] == 8
        assert data["seed"] == 0
        assert data["source"]["format"] == "npy"
        assert "schema_version" in data
    elif fmt == "markdown":
        assert "| Coordinates |" in out
    elif fmt == "html":
        page = (tmp_path / "r.html").read_text()
        assert page.startswith("<!DOCTYPE html>")
        assert "data:image/png;base64," in page
        assert "wrote" in err
    else:
        assert "Coordinates" in out or "coordinates" in out


def test_analyze_is_reproducible_with_seed(gauss):
    a = json.loads(run(["analyze", gauss, "--format", "json", *FAST, "--seed", "3"])[1])
    b = json.loads(run(["analyze", gauss, "--format", "json", *FAST, "--seed", "3"])[1])
    assert a["projections"] == b["projections"]


def test_analyze_max_rows_and_key(tmp_path):
    x = np.random.default_rng(0).standard_normal((300, 6))
    np.savez(tmp_path / "e.npz", a=x, b=x[:, :4])
    code, _, err = run(["analyze", tmp_path / "e.npz", *FAST])
    assert code == 2
    assert_one_line_error(err)
    assert "'a' [300, 6]" in err
    code, out, _ = run(["analyze", tmp_path / "e.npz", "--key", "b", "--max-rows", "100", "--format", "json",
                        *FAST])
    assert code == 0
    data = json.loads(out)
    assert (data["n_samples"], data["n_features"]) == (100, 4)
    assert data["source"]["key"] == "b"


# ---------------------------------------------------------------- check: exit codes and explanations
def test_check_pass_and_fail(gauss, skewed):
    code, out, _ = run(["check", gauss, "--preset", "gaussian", *FAST])
    assert code == 0, out
    assert "PASSED" in out
    code, out, _ = run(["check", skewed, "--preset", "gaussian", *FAST])
    assert code == 1
    assert "[FAIL]" in out
    assert "observed" in out
    assert "required" in out


def test_check_flags_override_preset(gauss):
    code, out, _ = run(["check", gauss, "--preset", "gaussian", "--max-cv", "0.001", *FAST])
    assert code == 1
    assert "max_cv: observed" in out
    code, out, _ = run(["check", gauss, "--min-ad-pass", "0.5", *FAST])  # alias of min_ad_pass_fraction
    assert code == 0, out
    assert "min_ad_pass_fraction" in out


def test_check_json_and_markdown(skewed):
    code, out, _ = run(["check", skewed, "--preset", "gaussian", "--format", "json", *FAST])
    assert code == 1
    data = json.loads(out)
    assert data["passed"] is False
    assert data["exit_code"] == 1
    failed = [r for r in data["outcome"]["results"] if not r["passed"]]
    assert failed
    assert {"observed", "limit", "name"} <= set(failed[0])
    code, out, _ = run(["check", skewed, "--preset", "gaussian", "--format", "markdown", *FAST])
    assert code == 1
    assert ":x: FAILED" in out
    assert "| criterion | observed | limit | result |" in out


def test_check_writes_html_too(skewed, tmp_path):
    code, _, _ = run(["check", skewed, *FAST, "--max-cv", "0.01", "--html", tmp_path / "r.html",
                      "-o", tmp_path / "r.txt"])
    assert code == 1
    assert "Check FAILED" in (tmp_path / "r.html").read_text()
    assert "[FAIL]" in (tmp_path / "r.txt").read_text()


def test_criteria_from_pyproject_and_file(gauss, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(textwrap.dedent("""
        [project]
        name = "x"
        [tool.gaussprobe]
        max-cv = 0.001
        seed = 5
    """))
    code, out, _ = run(["check", gauss, *FAST], cwd=proj)
    assert code == 1
    assert "[tool.gaussprobe] in pyproject.toml" in out
    assert "max_cv: observed" in out
    # a criteria file wins over pyproject.toml; the command line wins over the file
    crit = tmp_path / "crit.toml"
    crit.write_text('[gaussprobe]\npreset = "gaussian"\nmax_cv = 0.001\n')
    code, out, _ = run(["check", gauss, "--criteria", crit, *FAST], cwd=proj)
    assert code == 1
    code, out, _ = run(["check", gauss, "--criteria", crit, "--max-cv", "10", *FAST], cwd=proj)
    assert code == 0, out
    # bare top-level keys in a standalone file
    crit.write_text("min_ad_pass_fraction = 0.5\n")
    assert run(["check", gauss, "--criteria", crit, *FAST])[0] == 0


@pytest.mark.parametrize(("content", "message"), [
    ("max_cv = [1", "not valid TOML"),
    ("max_cvv = 0.1", "Unknown criteria ['max_cvv']"),
    ('preset = "nope"', "Unknown criteria preset"),
    ('max_cv = "high"', "must be a finite number"),
])
def test_bad_criteria_files_exit_2(gauss, tmp_path, content, message):
    crit = tmp_path / "c.toml"
    crit.write_text(content + "\n")
    code, _, err = run(["check", gauss, "--criteria", crit, *FAST])
    assert code == 2
    assert_one_line_error(err)
    assert message in err


def test_default_criteria_is_the_paper_preset(gauss, tmp_path):
    code, out, _ = run(["check", gauss, *FAST], cwd=tmp_path)
    assert "preset 'paper' (default)" in out
    assert code in (0, 1)


# ---------------------------------------------------------------- non-finite rows
def test_nan_rows_exit_2_unless_dropped(tmp_path):
    x = np.random.default_rng(0).standard_normal((300, 5))
    x[[7, 42, 199], 2] = np.nan
    x[100, 0] = np.inf
    np.save(tmp_path / "nan.npy", x)
    code, _, err = run(["check", tmp_path / "nan.npy", *FAST])
    assert code == 2
    assert_one_line_error(err)
    assert "4 of 300 rows contain NaN or Inf (first rows: 7, 42, 100, 199)" in err
    assert "--drop-nonfinite" in err
    code, out, _ = run(["check", tmp_path / "nan.npy", "--drop-nonfinite", "--min-ad-pass", "0.5", *FAST])
    assert code == 0, out
    assert "dropped 4 non-finite row(s)" in out


# ---------------------------------------------------------------- usage and input errors
@pytest.mark.parametrize("argv", [
    ["analyze"],
    ["analyze", "x.npy", "--format", "pdf"],
    ["analyze", "x.npy", "--key", "a", "--column", "b"],
    ["check", "x.npy", "--max-cv", "abc"],
    ["check", "x.npy", "--max-rows", "0"],
    ["frobnicate"],
    ["analyze", "x.npy", "--unknown-flag"],
])
def test_usage_errors_exit_2_one_line(argv):
    code, out, err = run(argv)
    assert code == 2
    assert_one_line_error(err)
    assert out == ""


def test_no_command_prints_help_and_exits_2():
    code, _, err = run([])
    assert code == 2
    assert "usage:" in err


def test_input_errors_exit_2(tmp_path):
    code, _, err = run(["analyze", tmp_path / "missing.npy"])
    assert code == 2
    assert "missing.npy: no such file" in err
    np.save(tmp_path / "small.npy", np.ones((3, 2)))
    code, _, err = run(["analyze", tmp_path / "small.npy"])
    assert code == 2
    assert_one_line_error(err)
    np.save(tmp_path / "obj.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    code, _, err = run(["check", tmp_path / "obj.npy"])
    assert code == 2
    assert "pickled object array" in err


def test_debug_shows_traceback(tmp_path):
    code, _, err = run(["analyze", tmp_path / "missing.npy", "--debug"])
    assert code == 2
    assert "Traceback" in err


def test_help_and_version_exit_0():
    code, out, _ = run(["--help"])
    assert code == 0
    assert "analyze" in out
    code, out, _ = run(["check", "--help"])
    assert code == 0
    assert "--max-cv" in out
    assert "--min-ad-pass" in out


def test_python_dash_m_entry_point(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gaussprobe", "--version"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0
    assert out.stdout.startswith("gaussprobe ")
    out = subprocess.run([sys.executable, "-m", "gaussprobe", "analyze", str(tmp_path / "nope.npy")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "Traceback" not in out.stderr


# ---------------------------------------------------------------- encode
def test_encode_with_a_callable(tmp_path, monkeypatch):
    (tmp_path / "toy_encoder.py").write_text(textwrap.dedent("""
        import numpy as np

        def encode(texts):
            return np.array([[len(t), t.count("e"), 1.0] for t in texts])
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("toy_encoder", None)
    (tmp_path / "texts.txt").write_text("hello\n\nworld wide\nthree\n")
    out_file = tmp_path / "emb.npy"
    code, _, err = run(["encode", "--model", "toy_encoder:encode", "--input", tmp_path / "texts.txt",
                        "-o", out_file, "--batch-size", "2", "--no-progress"])
    assert code == 0, err
    emb = np.load(out_file)
    assert emb.dtype == np.float32
    np.testing.assert_array_equal(emb, [[5, 1, 1], [10, 1, 1], [5, 2, 1]])


def test_encode_refuses_to_download(tmp_path):
    (tmp_path / "t.txt").write_text("a\n")
    code, _, err = run(["encode", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--input",
                        tmp_path / "t.txt", "-o", tmp_path / "e.npy"])
    assert code == 2
    assert_one_line_error(err)
    assert "never downloads" in err
    code, _, err = run(["encode", "--model", "x:y", "--input", tmp_path / "none.txt", "-o", tmp_path / "e.npy"])
    assert code == 2
    assert "cannot read --input" in err
    (tmp_path / "empty.txt").write_text("\n\n")
    code, _, err = run(["encode", "--model", "x:y", "--input", tmp_path / "empty.txt", "-o", tmp_path / "e.npy"])
    assert code == 2
    assert "no non-empty lines" in err


# ---------------------------------------------------------------- demo
@pytest.mark.slow
def test_demo_zero_arguments():
    code, out, err = run(["demo"])
    assert code == 0, err
    assert "2,000 real sentence embeddings" in out
    assert "rank 381 of 384" in out  # the rank deficiency is reported, not crashed on
    assert "Reading these numbers" in out


# ---------------------------------------------------------------- fuzzed files
_MAGIC = [b"", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"PK\x03\x04", b"PAR1", b"ARROW1\x00\x00",
          b"\xff\xff\xff\xff", b"\x80\x02", b"\x80\x04", (40).to_bytes(8, "little") + b'{"a":', b"[1, 2]\n",
          b"1,2,3\n"]
_EXT = [".npy", ".npz", ".pt", ".pth", ".safetensors", ".parquet", ".arrow", ".csv", ".tsv", ".jsonl"]


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(magic=st.sampled_from(_MAGIC), body=st.binary(max_size=600), ext=st.sampled_from(_EXT))
def test_fuzzed_files_exit_2_with_one_line(magic, body, ext):
    pytest.importorskip("torch")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"emb{ext}"
        path.write_bytes(magic + body)
        try:
            from gaussprobe.io import load_embeddings

            x = load_embeddings(path)
        except (ValueError, ImportError):
            x = None
        assume(x is None or x.shape[0] < 8)  # random bytes that happen to be a valid matrix prove nothing
        code, out, err = run(["check", path, "--tests", "thin_shell"])
    assert code == 2
    assert out == ""
    assert_one_line_error(err)


def test_fuzz_like_corrupt_files_in_a_subprocess(tmp_path):
    """No traceback or warning leaks out of a real process either."""
    rng = np.random.default_rng(0)
    paths = []
    for ext in _EXT:
        p = tmp_path / f"junk{ext}"
        p.write_bytes(rng.bytes(300))
        paths.append(p)
    script = ("import sys\nfrom gaussprobe.cli import main\n"
              "codes = [main(['check', p]) for p in sys.argv[1:]]\nprint(codes)\n")
    out = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.stdout.strip() == str([2] * len(paths))
    lines = out.stderr.strip().splitlines()
    assert len(lines) == len(paths), out.stderr
    assert all(line.startswith("gaussprobe: error:") for line in lines)


# ---------------------------------------------------------------- devices
@pytest.mark.torch
def test_cuda_device_without_cuda_is_a_clear_error(gauss):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    code, _, err = run(["analyze", gauss, "--device", "cuda", *FAST])
    assert code == 2
    assert_one_line_error(err)
    assert "CUDA is not available" in err


@pytest.mark.gpu
def test_cuda_device_computes_on_the_gpu(gauss):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    code, out, err = run(["analyze", gauss, "--device", "cuda", "--format", "json", *FAST])
    assert code == 0, err
    data = json.loads(out)
    assert data["backend"] == "torch"
    assert data["device"].startswith("cuda")
    cpu = json.loads(run(["analyze", gauss, "--format", "json", *FAST])[1])
    assert data["coordinates"]["ad_mean"] == pytest.approx(cpu["coordinates"]["ad_mean"], rel=1e-9)
