"""gaussprobe._progress: named steps that are silent unless reporting is enabled, bars on terminals,
lines elsewhere, thread-safe advances, and the hooks in analyze, the tile engine and the encoders."""

from __future__ import annotations

import contextvars
import io
import re
import sys
import threading
import time

import numpy as np
import pytest

from gaussprobe import _progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch):
    # bars are off in CI by design; these tests check both sides explicitly
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_steps_are_silent_without_reporting(capsys):
    assert not _progress.active()
    with _progress.step("work", total=3) as s:
        s.advance(3)
        with _progress.step("inner"):
            pass
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")
    assert s.count == 0  # the shared no-op step counts nothing


def test_lines_when_not_a_terminal():
    stream = io.StringIO()
    with _progress.reporting(True, stream=stream):
        assert _progress.active()
        with _progress.step("outer"), _progress.step("tiles", total=4, unit="tile") as s:
            s.advance(4)
    assert stream.getvalue().splitlines() == ["gaussprobe: outer ...", "gaussprobe:   tiles (4 tile) ..."]


def test_log_writes_each_step_with_its_time_and_count():
    stream = io.StringIO()
    with (_progress.reporting(False, log=True, stream=stream), _progress.step("outer"),
          _progress.step("tiles", total=4, unit="tile") as s):
        s.advance(3)
        s.advance()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"gaussprobe:   tiles: \d+\.\d\d s, 4 tiles", lines[0])
    assert re.fullmatch(r"gaussprobe: outer: \d+\.\d\d s", lines[1])


def test_show_none_follows_the_stream(monkeypatch):
    plain, term = io.StringIO(), FakeTerminal()
    with _progress.reporting(None, stream=plain), _progress.step("x"):
        pass
    assert plain.getvalue() == ""
    pytest.importorskip("tqdm")
    with _progress.reporting(None, stream=term), _progress.step("x", total=2) as s:
        s.advance(2)
    assert "gaussprobe: x" in term.getvalue()
    monkeypatch.setenv("CI", "true")
    assert not _progress.is_terminal(FakeTerminal())


def test_bars_on_a_terminal_refresh_the_elapsed_time(monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(_progress, "REFRESH_SECONDS", 0.02)
    term = FakeTerminal()
    with _progress.reporting(True, stream=term):
        for name in ("long computation", "another one"):  # the second bar gets a ticker of its own
            with _progress.step(name):
                time.sleep(0.3)  # a single long step: the ticker keeps its line alive
        with _progress.step("tiles", total=5, unit="tile") as s:
            for _ in range(5):
                s.advance()
    text = term.getvalue()
    assert "\r" in text
    assert text.count("gaussprobe: long computation 00:00") >= 3  # redrawn by the ticker thread
    assert text.count("gaussprobe: another one 00:00") >= 3
    assert "0/5" in text


def test_bars_without_tqdm_fall_back_to_lines(monkeypatch):
    monkeypatch.setattr(_progress, "_tqdm", lambda: None)
    term = FakeTerminal()
    with _progress.reporting(True, stream=term), _progress.step("mardia"):
        pass
    assert term.getvalue() == "gaussprobe: mardia ...\n"


def test_progress_false_silences_a_step_and_everything_inside():
    stream = io.StringIO()
    with _progress.reporting(True, stream=stream):
        with _progress.step("quiet", progress=False):
            assert not _progress.active()
            with _progress.step("inner", progress=None):
                pass
        with (_progress.step("loud"), _progress.step("children hidden", nested=False),
              _progress.step("grandchild")):
            pass
    assert stream.getvalue().splitlines() == ["gaussprobe: loud ...", "gaussprobe:   children hidden ..."]


def test_progress_true_without_a_block_reports_on_stderr(capsys):
    with _progress.step("asked for", progress=True), _progress.step("nested"):
        pass
    err = capsys.readouterr().err
    assert err.splitlines() == ["gaussprobe: asked for ...", "gaussprobe:   nested ..."]


@pytest.mark.parametrize("bars", [False, True])
def test_advance_is_thread_safe(bars):
    if bars:
        pytest.importorskip("tqdm")
    stream = FakeTerminal() if bars else io.StringIO()
    with _progress.reporting(bars, stream=stream), _progress.step("draws", total=8000) as s:
        def work():
            for _ in range(1000):
                s.advance()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if bars:
            assert s._bar.n == 8000
    assert s.count == 8000


def test_reporting_applies_to_its_own_context():
    """A worker thread without the caller's context reports nothing; with a copied context it does."""
    stream = io.StringIO()
    seen = {}
    with _progress.reporting(True, stream=stream):
        def worker(key):
            seen[key] = _progress.active()
            with _progress.step(key):
                pass

        plain = threading.Thread(target=worker, args=("plain",))
        plain.start()
        plain.join()
        ctx = contextvars.copy_context()
        copied = threading.Thread(target=ctx.run, args=(worker, "copied"))
        copied.start()
        copied.join()
    assert seen == {"plain": False, "copied": True}
    assert stream.getvalue() == "gaussprobe: copied ...\n"


def test_write_keeps_lines_apart_from_bars():
    pytest.importorskip("tqdm")
    term = FakeTerminal()
    with _progress.reporting(True, stream=term), _progress.step("busy", total=3):
        _progress.write("gaussprobe: warning: something")
    assert "gaussprobe: warning: something\n" in term.getvalue()


# ---------------------------------------------------------------- the hooks
def test_analyze_reports_each_statistic(capsys):
    import gaussprobe as gp

    x = np.random.default_rng(0).standard_normal((300, 6))
    fast = {"rng": 0, "n_projections": 16, "tests": ["thin_shell", "coordinates", "projections", "distance"]}
    gp.analyze(x, **fast)
    assert capsys.readouterr().err == ""  # progress=None outside a reporting block: silent
    report = gp.analyze(x, **fast, progress=True)
    lines = capsys.readouterr().err.splitlines()
    shown = [line.removeprefix("gaussprobe: ").removesuffix(" ...") for line in lines
             if not line.startswith("gaussprobe:   ")]
    assert set(report.timings) <= set(shown)
    assert {"row_pass_1", "row_pass_2", "thin_shell", "coordinates", "projections", "distance"} <= set(shown)
    stream = io.StringIO()
    with _progress.reporting(True, stream=stream):
        gp.analyze(x, **fast, progress=False)
    assert stream.getvalue() == ""
    with pytest.raises(TypeError, match="`progress` must be True, False or None; got 'yes'"):
        gp.analyze(x, progress="yes")


def test_tile_engine_and_null_report_their_units():
    from gaussprobe._kernels import gram
    from gaussprobe.stats import _null

    y = np.random.default_rng(0).standard_normal((1100, 4))
    stream = io.StringIO()
    with _progress.reporting(False, log=True, stream=stream):
        gram.tile_values(y, gram.CubeSum(), block_size=512)
        _null._simulate("progress-test", lambda z: (float(z.sum()),), 20, 3, 7)
    text = stream.getvalue()
    assert re.search(r"gaussprobe: pairwise tiles: \d+\.\d\d s, 6 tiles", text)  # 3 row blocks: 6 tiles
    assert re.search(r"gaussprobe: progress-test null: \d+\.\d\d s, 7 draws", text)


def test_hugging_face_bars_are_hidden_and_restored():
    logging_ = pytest.importorskip("transformers.utils.logging")
    hub = sys.modules["huggingface_hub.utils.tqdm"]
    before = (logging_.is_progress_bar_enabled(), hub.are_progress_bars_disabled())
    with _progress.third_party_bars_hidden():
        assert not logging_.is_progress_bar_enabled()
        assert hub.are_progress_bars_disabled()
    assert (logging_.is_progress_bar_enabled(), hub.are_progress_bars_disabled()) == before


def test_embed_reports_into_the_enclosing_block():
    from gaussprobe.encoders import embed

    stream = io.StringIO()
    with _progress.reporting(False, log=True, stream=stream):
        embed(lambda texts: np.ones((len(texts), 2)), ["a", "b", "c"], batch_size=2)
    assert re.fullmatch(r"gaussprobe: encoding: \d+\.\d\d s, 3 items\n", stream.getvalue())
