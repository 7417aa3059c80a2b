"""Notebook surface: short reprs, ``_repr_html_`` of reports and results, ``to_frame()``."""

from __future__ import annotations

import dataclasses
import html
import subprocess
import sys
import time
from html.parser import HTMLParser

import numpy as np
import pytest

from gaussprobe import analyze
from gaussprobe._registry import Skip, format_value
from gaussprobe._results import REPR_LIMIT, Result, TestResult
from gaussprobe.render import rows as summary_rows

TESTS = ["thin_shell", "coordinates", "projections", "distance", "principal_directions", "mardia"]
_VOID = {"br", "img", "meta", "hr", "input", "link"}


@pytest.fixture(scope="module")
def report():
    x = np.random.default_rng(0).standard_normal((300, 6))
    return analyze(x, rng=0, n_projections=32, tests=TESTS)


@pytest.fixture(scope="module")
def failing():
    x = np.random.default_rng(1).laplace(size=(300, 6))
    return analyze(x, rng=0, n_projections=32, tests=TESTS)


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Make ``import matplotlib`` fail, as where it is not installed."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def _results_of(report):
    out = [getattr(report, f.name) for f in dataclasses.fields(report)]
    return [r for r in out if isinstance(r, Result)]


class _TagChecker(HTMLParser):
    """Records tags that are closed out of order or never closed, and the text and attributes seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(markup: str) -> _TagChecker:
    parser = _TagChecker()
    parser.feed(markup)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


# --------------------------------------------------------------------------------------------- repr
def test_report_repr_is_one_short_line(report):
    text = repr(report)
    assert len(text) <= REPR_LIMIT
    assert "\n" not in text
    assert text.startswith(f"GaussianityReport(n=300, d=6, tests={len(report.tests)}, ")
    outcome = report.check()
    assert outcome.passed
    assert text.endswith(", check=PASSED (gaussian))")
    for r in outcome.results:  # the values the default check reads, under short names
        name = r.name.removeprefix("min_").removesuffix("_pvalue") + "_p"
        assert f"{name}={r.observed:.3g}" in text
    assert len(str(report)) > 10 * len(text)  # str is still the full summary table


def test_report_repr_names_a_failed_check(failing):
    outcome = failing.check()
    assert not outcome.passed
    assert repr(failing).endswith(f"check=FAILED ({len(outcome.failures)} of {len(outcome.results)}, gaussian))")


def test_report_repr_keeps_the_verdict_within_the_limit(report):
    many = dataclasses.replace(report, skipped={f"test{i}": Skip(test=f"test{i}", code="unknown", message="why")
                                                for i in range(3)})
    assert "skipped=3" in repr(many)
    from gaussprobe._results import bounded

    squeezed = bounded("GaussianityReport", [f"value{i}=0.123" for i in range(40)], tail="check=PASSED")
    assert len(squeezed) <= REPR_LIMIT
    assert squeezed.endswith(", ..., check=PASSED)")


def test_result_reprs_are_short_and_summarise_arrays(report):
    results = [*_results_of(report), report.check(), report.coordinates.combined_test,
               report.principal_directions.worst, report.distance.spectrum]
    assert len(results) >= 10
    for res in results:
        text = repr(res)
        assert text.startswith(type(res).__name__ + "(")
        assert text.endswith(")")
        assert len(text) <= REPR_LIMIT, text
        assert "\n" not in text
    co = repr(report.coordinates)
    assert co.startswith("CoordinateNormalityResult(n=300, d=6, combined_test.pvalue=")
    assert f"ad_mean={report.coordinates.ad_mean:.4g}" in co
    assert "array(" not in co or "array(shape=(6,))" in co
    spec = repr(report.distance.spectrum)
    assert "eigenvalues" not in spec or "eigenvalues=array(shape=(6,))" in spec
    assert repr(report.check()).startswith(f"CheckOutcome(passed={report.check().passed}, ")


def test_test_result_repr_shows_every_field_that_is_set():
    res = TestResult(statistic=1.5, pvalue=0.25, null_distribution="chi2(df=2)", df=2.0)
    assert repr(res) == ("TestResult(statistic=1.5, pvalue=0.25, null_distribution='chi2(df=2)', df=2.0, "
                         "calibration='asymptotic')")


def test_to_dict_is_unchanged_by_the_repr(report):
    d = report.coordinates.to_dict()
    assert d["ad_statistics"] == report.coordinates.ad_statistics.tolist()
    assert set(report.to_dict()) == {f.name for f in dataclasses.fields(report)}


# --------------------------------------------------------------------------------------------- HTML
def test_report_html_has_the_summary_rows_and_the_check(report, no_matplotlib):
    t0 = time.perf_counter()
    markup = report._repr_html_()
    assert time.perf_counter() - t0 < 1.0
    parsed = _parse(markup)
    text = "".join(parsed.text)
    assert markup.startswith('<div class="gaussprobe-report"')
    assert "<style" not in markup and "<script" not in markup  # nothing that leaks into the notebook
    rows = summary_rows(report)
    assert rows
    for m in rows:
        assert m.name in text
        assert m.section in text
        assert m.reference in text
        assert f">{html.escape(m.text)}<" in markup
    assert "Check (preset 'gaussian'): PASSED" in text
    for r in report.check().results:
        assert r.name in text
    assert parsed.images == []
    assert "Install matplotlib for the plots" in text


def test_report_html_shows_failures_and_skipped(failing, no_matplotlib):
    skip = Skip(test="energy", code="unknown", message="not run here")
    markup = dataclasses.replace(failing, skipped={"energy": skip})._repr_html_()
    text = "".join(_parse(markup).text)
    outcome = failing.check()
    assert f"FAILED ({len(outcome.failures)} of {len(outcome.results)})" in text
    assert "FAIL" in text
    assert "Skipped" in text and "not run here" in text


def test_html_escapes_every_string(report, no_matplotlib):
    evil = '<img src=x onerror="alert(1)">&'
    bad = dataclasses.replace(report, skipped={evil: Skip(test=evil, code="unknown", message=evil)}, backend=evil)
    markup = bad._repr_html_()
    assert evil not in markup
    assert html.escape(evil) in markup
    assert "".join(_parse(markup).text).count(evil) >= 3
    res = TestResult(statistic=1.0, pvalue=0.5, null_distribution=evil, note="<script>x</script>")
    markup = res._repr_html_()
    assert "<script>" not in markup and evil not in markup
    assert "&lt;script&gt;" in markup
    text = "".join(_parse(markup).text)
    assert evil in text and "<script>x</script>" in text


def test_result_html_has_its_summary_rows_and_scalar_fields(report, no_matplotlib):
    co = report.coordinates
    parsed = _parse(co._repr_html_())
    text = "".join(parsed.text)
    assert "CoordinateNormalityResult" in text
    assert "mean Anderson-Darling A^2" in text  # the report's rows of this part
    for name in ("ad_mean", "ad_pass_fraction", "dp_mean_pvalue", "combined_test.pvalue", "n_samples"):
        assert name in text
    assert format_value(co.ad_mean) in text
    assert "ad_statistics (6,)" in text and ".to_frame()" in text
    assert parsed.images == []
    for res in _results_of(report):
        _parse(res._repr_html_())


def test_result_html_without_a_report_part(no_matplotlib):
    res = TestResult(statistic=2.5, pvalue=0.125, null_distribution="normal(0, 1)")
    text = "".join(_parse(res._repr_html_()).text)
    for piece in ("TestResult", "statistic", "2.5", "pvalue", "0.125", "normal(0, 1)"):
        assert piece in text
    assert "Install matplotlib" not in text  # nothing to plot


def test_check_outcome_html_lists_the_criteria(failing):
    outcome = failing.check()
    text = "".join(_parse(outcome._repr_html_()).text)
    assert "FAILED" in text
    for r in outcome.results:
        assert r.name in text


def test_html_inlines_the_plots_with_matplotlib(report):
    pytest.importorskip("matplotlib")
    images = _parse(report._repr_html_()).images
    assert len(images) >= 2
    assert all(src.startswith("data:image/png;base64,") for src in images)
    for res in (report.coordinates, report.distance, report.distance.spectrum):
        assert _parse(res._repr_html_()).images, type(res).__name__
    assert _parse(report.mardia._repr_html_()).images == []  # nothing plottable


# ----------------------------------------------------------------------------------------- to_frame
def test_coordinate_frame_matches_the_arrays(report):
    pytest.importorskip("pandas")
    co = report.coordinates
    df = co.to_frame()
    assert df.shape == (6, 10)
    assert df.index.name == "coordinate"
    assert list(df.index) == list(range(6))
    assert list(df.columns) == ["ad_statistic", "ad_pvalue", "dp_statistic", "dp_pvalue", "skewness",
                                "excess_kurtosis", "skewness_z", "kurtosis_z", "ad_pass", "dp_pass"]
    for col, arr in (("ad_statistic", co.ad_statistics), ("ad_pvalue", co.ad_pvalues),
                     ("dp_statistic", co.dp_statistics), ("dp_pvalue", co.dp_pvalues),
                     ("skewness", co.skewness), ("excess_kurtosis", co.excess_kurtosis),
                     ("skewness_z", co.skewness_z), ("kurtosis_z", co.kurtosis_z)):
        np.testing.assert_array_equal(df[col].to_numpy(), arr)
    assert df["ad_pass"].dtype == bool
    assert df["ad_pass"].mean() == pytest.approx(co.ad_pass_fraction)
    assert df["dp_pass"].mean() == pytest.approx(co.dp_pass_fraction)
    assert df["ad_pvalue"].idxmin() == co.worst_coordinates[0]


def test_projection_frame_matches_the_arrays(report):
    pytest.importorskip("pandas")
    pr = report.projections
    df = pr.to_frame()
    assert df.shape == (pr.n_projections, 5)
    assert df.index.name == "direction"
    assert list(df.columns) == ["ad_statistic", "ad_pvalue", "dp_statistic", "dp_pvalue", "dp_rejected"]
    np.testing.assert_array_equal(df["ad_statistic"].to_numpy(), pr.ad_statistics)
    np.testing.assert_array_equal(df["dp_pvalue"].to_numpy(), pr.dp_pvalues)
    assert df["dp_rejected"].mean() == pytest.approx(pr.rejected_fraction)


def test_principal_direction_frame_matches_the_arrays(report):
    pytest.importorskip("pandas")
    pdr = report.principal_directions
    df = pdr.to_frame()
    m = len(pdr.ends)
    assert df.shape == (m, 11)
    assert list(df.columns) == ["end", "rank", "fold", "eigenvalue", "ad_statistic", "ad_pvalue",
                                "dp_statistic", "dp_pvalue", "skewness", "excess_kurtosis", "ad_rejected"]
    assert list(df["end"]) == list(pdr.ends)
    assert set(df["end"]) <= {"top", "bottom"}
    np.testing.assert_array_equal(df["rank"].to_numpy(), pdr.ranks)
    np.testing.assert_array_equal(df["fold"].to_numpy(), pdr.folds)
    np.testing.assert_array_equal(df["eigenvalue"].to_numpy(), pdr.direction_eigenvalues)
    np.testing.assert_array_equal(df["ad_pvalue"].to_numpy(), pdr.ad_pvalues)
    assert df["ad_rejected"].mean() == pytest.approx(pdr.rejected_fraction)
    worst = df.loc[df["ad_pvalue"].idxmin()]
    assert (worst["end"], worst["rank"], worst["fold"]) == (pdr.worst.end, pdr.worst.rank, pdr.worst.fold)


def test_to_frame_without_pandas_says_how_to_install_it(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    for res in (report.coordinates, report.projections, report.principal_directions):
        with pytest.raises(ImportError, match=rf"{type(res).__name__}\.to_frame\(\) needs pandas.*pip install pandas"):
            res.to_frame()


# ------------------------------------------------------------------------------------------ imports
def test_import_and_reprs_stay_light():
    code = ("import sys, numpy as np, gaussprobe as gp; "
            "heavy = lambda: sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules); "
            "print(heavy()); "
            "r = gp.analyze(np.random.default_rng(0).standard_normal((100, 4)), rng=0, "
            "tests=['coordinates', 'projections'], n_projections=8); "
            "repr(r); repr(r.coordinates); print(heavy())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "[]"]
