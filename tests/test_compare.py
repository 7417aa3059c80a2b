"""gp.compare: one row per criterion metric, the noise rule per metric, verdicts, tolerances, inputs."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest

import gaussprobe as gp
from gaussprobe.compare import NOISE_RULES, _design_effect, _Side, coordinate_null
from gaussprobe.criteria import _METRICS

FAST = {"n_projections": 32}


def _report(x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gp.analyze(x, rng=0, **{**FAST, **kw})


@pytest.fixture(scope="module")
def gauss_pair():
    g = np.random.default_rng(11)
    return g.standard_normal((600, 8)), g.standard_normal((900, 8))


@pytest.fixture(scope="module")
def gauss_reports(gauss_pair):
    return tuple(_report(x) for x in gauss_pair)


def test_every_criterion_metric_is_compared_once_in_order(gauss_reports):
    result = gp.compare(*gauss_reports)
    assert [m.name for m in result.metrics] == list(_METRICS)
    assert set(NOISE_RULES) == set(_METRICS)  # each metric has a noise rule
    for m in result.metrics:
        assert m.kind == _METRICS[m.name].kind
        assert m.baseline == pytest.approx(_METRICS[m.name].value(gauss_reports[0]))


def test_two_gaussian_samples_of_different_sizes_do_not_regress(gauss_pair):
    result = gp.compare(*gauss_pair, options=FAST)
    assert result.passed and bool(result)
    # every metric of the default run is judged; the tests it does not run are "not computed"
    missing = {m.name for m in result.metrics if m.verdict == "not computed"}
    assert missing == {"min_henze_zirkler_pvalue", "min_royston_pvalue", "min_energy_pvalue"}
    assert result.n_judged == len(_METRICS) - len(missing)
    assert result.level == pytest.approx(0.01 / result.n_judged)
    assert {m.verdict for m in result.metrics if m.name not in missing} <= {"no change", "improvement"}


def test_gaussian_against_laplace_regresses_with_the_metrics_named():
    g = np.random.default_rng(2)
    result = gp.compare(g.standard_normal((800, 8)), g.laplace(size=(800, 8)), options=FAST)
    assert not result.passed
    names = {m.name for m in result.regressions}
    assert {"max_cv_ratio", "max_ad_mean", "min_coordinate_pvalue", "min_mardia_kurtosis_pvalue"} <= names
    row = result["max_ad_mean"]
    assert row.worsening > 0 and row.z > row.threshold and row.beyond_noise
    # the reverse direction is an improvement, not a regression
    back = gp.compare(result.candidate, result.baseline)
    assert back.passed
    assert back["max_ad_mean"].verdict == "improvement"


def _with_pvalue(report, p):
    test = dataclasses.replace(report.mardia.kurtosis_test, pvalue=p)
    return dataclasses.replace(report, mardia=dataclasses.replace(report.mardia, kurtosis_test=test))


@pytest.mark.parametrize(("pb", "pc", "verdict"), [
    (0.5, 1e-6, "regression"), (0.5, 0.01, "no change"), (1e-9, 1e-12, "both fail"),
    (1e-9, 0.4, "improvement"),
])
def test_pvalue_rule_is_the_level_crossing(gauss_reports, pb, pc, verdict):
    result = gp.compare(_with_pvalue(gauss_reports[0], pb), _with_pvalue(gauss_reports[1], pc))
    row = result["min_mardia_kurtosis_pvalue"]
    assert row.verdict == verdict
    assert row.threshold == pytest.approx(result.level)


def test_tolerance_turns_a_regression_into_within_tolerance(gauss_reports):
    base, cand = _with_pvalue(gauss_reports[0], 0.5), _with_pvalue(gauss_reports[1], 1e-6)
    assert not gp.compare(base, cand).passed
    tolerated = gp.compare(base, cand, tolerance={"min_mardia_kurtosis_pvalue": 0.6})
    assert tolerated["min_mardia_kurtosis_pvalue"].verdict == "within tolerance"
    assert tolerated.passed


def test_bad_tolerances_name_the_metric():
    x = np.random.default_rng(0).standard_normal((100, 3))
    with pytest.raises(ValueError, match="did you mean 'max_cv'"):
        gp.compare(x, x, tolerance={"max_cvv": 0.1})
    with pytest.raises(ValueError, match=">= 0"):
        gp.compare(x, x, tolerance={"max_cv": -1})
    with pytest.raises(TypeError, match="must map metric names"):
        gp.compare(x, x, tolerance=[("max_cv", 1)])


def test_metric_without_reference_is_not_judged_unless_a_tolerance_is_given(gauss_reports):
    base, cand = gauss_reports
    ts = dataclasses.replace(cand.thin_shell, cv_reference=None, cv=base.thin_shell.cv + 1.0)
    cand = dataclasses.replace(cand, thin_shell=ts)
    result = gp.compare(base, cand)
    assert result["max_cv"].verdict == "not judged" and result["max_cv"].noise == "none"
    assert "cannot be judged for noise" in result["max_cv"].note
    assert result.n_judged == gp.compare(*gauss_reports).n_judged - 1
    judged = gp.compare(base, cand, tolerance={"max_cv": 0.5})
    assert judged["max_cv"].verdict == "regression"
    assert gp.compare(base, cand, tolerance={"max_cv": 2.0})["max_cv"].verdict == "within tolerance"


def test_missing_statistics_are_not_computed(gauss_pair):
    base = _report(gauss_pair[0])
    cand = _report(gauss_pair[1], tests=["thin_shell", "coordinates"])
    result = gp.compare(base, cand)
    assert result["min_mardia_kurtosis_pvalue"].verdict == "not computed"
    assert result["max_isotropic_distance"].verdict == "not computed"
    assert result.passed


def test_bootstrap_only_when_both_inputs_are_embeddings(gauss_pair, gauss_reports):
    both = gp.compare(*gauss_pair, options=FAST, n_bootstrap=10)
    assert both["max_cv_ratio"].noise == "reference+bootstrap"
    assert both["max_sliced_excess"].noise == "sliced_null+bootstrap"
    assert both["max_ad_mean"].noise == "coordinate_null"  # goodness-of-fit statistics: never bootstrapped
    assert "bootstrap: 10 resamples" in both["max_cv_ratio"].note
    mixed = gp.compare(gauss_reports[0], gauss_pair[1], n_bootstrap=10)
    assert mixed["max_cv_ratio"].noise == "reference"
    off = gp.compare(*gauss_pair, options=FAST, n_bootstrap=0)
    assert off["max_cv_ratio"].noise == "reference"


def test_bootstrap_subsamples_rows_beyond_its_budget(gauss_pair):
    result = gp.compare(*gauss_pair, options=FAST, n_bootstrap=5, bootstrap_budget=8e5)
    assert "m-out-of-n" in result["max_cv"].note
    skipped = gp.compare(*gauss_pair, options=FAST, n_bootstrap=5, bootstrap_budget=1e3)
    assert "bootstrap skipped" in skipped["max_cv"].note and skipped["max_cv"].noise == "reference"


def test_a_report_side_sets_the_options_of_the_other(gauss_pair):
    base = _report(gauss_pair[0], n_projections=24)
    base = dataclasses.replace(base, seed=5)
    result = gp.compare(base, gauss_pair[1])
    assert result.candidate.n_projections == 24 and result.candidate.seed == 5
    # no note on the options; only that the two-sample test needs the embeddings of both
    note = "two-sample energy test not run: the baseline is a saved report; it needs the embeddings of both"
    assert result.notes == (note,)


def test_paths_to_reports_and_embeddings(tmp_path, gauss_pair, gauss_reports):
    (tmp_path / "base.json").write_text(gauss_reports[0].to_json())
    np.save(tmp_path / "cand.npy", gauss_pair[1])
    result = gp.compare(tmp_path / "base.json", str(tmp_path / "cand.npy"))
    assert result.baseline_source == "base.json" and result.candidate_source == "cand.npy"
    assert result.baseline.to_json() == gauss_reports[0].to_json()
    (tmp_path / "bad.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match=r"bad\.json is not a usable gaussprobe report"):
        gp.compare(tmp_path / "bad.json", gauss_pair[1])


def test_design_effect_sees_dependent_coordinates():
    g = np.random.default_rng(0)
    z = g.standard_normal((2000, 4))
    independent = z @ np.linalg.qr(g.standard_normal((4, 4)))[0] * 0 + z
    copies = np.repeat(z, 4, axis=1) + 1e-3 * g.standard_normal((2000, 16))
    rep_i, rep_c = _report(independent), _report(copies)
    assert _design_effect(_Side(report=rep_i, x=independent, source=""), "coordinates")[0] < 1.05
    assert _design_effect(_Side(report=rep_c, x=copies, source=""), "coordinates")[0] > 3.5
    # from the saved report alone: a bound through the spectrum, at least as wide
    assert _design_effect(_Side(report=rep_c, x=None, source=""), "coordinates")[0] > 3.5


def test_coordinate_null_matches_known_values():
    null = coordinate_null(500)
    assert null["dp"][0] == pytest.approx(0.5, abs=0.03)  # p-values are (nearly) uniform
    assert null["dp"][1] == pytest.approx((1 / 12) ** 0.5, abs=0.02)
    assert null["ad"][0] == pytest.approx(0.37, abs=0.03)  # mean A^2 with estimated mean and variance


def test_outputs_text_markdown_json(gauss_reports):
    base, cand = _with_pvalue(gauss_reports[0], 0.5), _with_pvalue(gauss_reports[1], 1e-6)
    result = gp.compare(base, cand)
    assert "REGRESSION in 1 metric(s): min_mardia_kurtosis_pvalue" in result.explain()
    md = result.to_markdown()
    assert md.startswith("### gaussprobe compare: ❌ 1 regression(s)")
    assert "| `min_mardia_kurtosis_pvalue` |" in md and "**regression**" in md
    data = json.loads(result.to_json())
    assert data["passed"] is False and data["regressions"] == ["min_mardia_kurtosis_pvalue"]
    assert gp.GaussianityReport.from_dict(data["baseline"]).to_json() == base.to_json()
    with pytest.raises(KeyError, match="No metric 'bogus'"):
        result["bogus"]


def test_bad_arguments():
    x = np.random.default_rng(0).standard_normal((100, 3))
    with pytest.raises(ValueError, match="alpha"):
        gp.compare(x, x, alpha=1.5)
    with pytest.raises(TypeError, match="rng="):
        gp.compare(x, x, options={"rng": 1})


# ---------------------------------------------------------------- the two-sample energy test
def test_two_sample_test_when_both_inputs_are_embeddings(gauss_pair):
    result = gp.compare(*gauss_pair, options=FAST, n_bootstrap=0)
    two = result.two_sample
    assert isinstance(two, gp.EnergyTwoSampleResult)
    assert (two.n_baseline, two.n_candidate, two.n_features, two.n_permutations) == (600, 900, 8, 199)
    # run with the comparison's seed: the same as calling the statistic directly
    assert two == gp.energy_two_sample(*gauss_pair, rng=0)
    assert two.pvalue > 0.01  # two samples of one Gaussian
    assert "two-sample energy test (informational, not part of the verdict)" in result.explain()
    assert "#### Two-sample energy test (informational, not part of the verdict)" in result.to_markdown()
    data = json.loads(result.to_json())
    assert data["two_sample"]["pvalue"] == two.pvalue and data["two_sample"]["n_candidate"] == 900
    assert "two-sample" not in " ".join(result.notes)


def test_two_sample_test_is_skipped_with_a_note_when_one_side_is_a_report(gauss_pair, gauss_reports):
    result = gp.compare(gauss_reports[0], gauss_pair[1], n_bootstrap=0)
    assert result.two_sample is None
    assert any("two-sample energy test not run: the baseline is a saved report" in n for n in result.notes)
    assert "Two-sample" not in result.to_markdown() and json.loads(result.to_json())["two_sample"] is None
    both = gp.compare(*gauss_reports)
    assert any("the baseline and candidate are saved reports" in n for n in both.notes)


def test_two_sample_test_is_skipped_for_different_widths():
    g = np.random.default_rng(3)
    result = gp.compare(g.standard_normal((300, 8)), g.standard_normal((300, 6)), options=FAST, n_bootstrap=0)
    assert result.two_sample is None
    assert any("the widths differ (8 vs 6)" in n for n in result.notes)


def test_two_sample_off_and_rows(gauss_pair):
    off = gp.compare(*gauss_pair, options=FAST, n_bootstrap=0, two_sample=False)
    assert off.two_sample is None and not off.notes
    assert "two-sample" not in off.explain()
    few = gp.compare(*gauss_pair, options=FAST, n_bootstrap=0, two_sample_rows=100)
    assert (few.two_sample.n_baseline, few.two_sample.n_candidate) == (100, 100)
    assert "baseline 100 of 600 rows, candidate 100 of 900 rows" in few.two_sample.note
    assert few.two_sample.note in few.explain()
    with pytest.raises(TypeError, match="two_sample"):
        gp.compare(*gauss_pair, two_sample="yes")
    with pytest.raises(ValueError, match="two_sample_rows"):
        gp.compare(*gauss_pair, two_sample_rows=1)


def test_two_sample_test_never_changes_the_verdict():
    # a wider Gaussian is as Gaussian as the baseline (every metric is scale-free), but clearly another
    # distribution (a shift would not do: the isotropic distance sees the mean)
    g = np.random.default_rng(8)
    base, cand = g.standard_normal((500, 8)), 1.5 * g.standard_normal((500, 8))
    on = gp.compare(base, cand, options=FAST, n_bootstrap=0)
    off = gp.compare(base, cand, options=FAST, n_bootstrap=0, two_sample=False)
    assert on.two_sample.pvalue == pytest.approx(1 / 200)
    assert on.passed and off.passed
    assert on.metrics == off.metrics and on.n_judged == off.n_judged
    # and a regression stays a regression whatever the two-sample test says
    lap = g.laplace(size=(800, 8))
    assert not gp.compare(base, lap, options=FAST, n_bootstrap=0).passed
    assert not gp.compare(base, lap, options=FAST, n_bootstrap=0, two_sample=False).passed


@pytest.mark.slow
def test_false_regression_rate_is_small_on_gaussian_pairs():
    flagged = 0
    for i in range(40):
        g = np.random.default_rng([i, 99])
        flagged += not gp.compare(g.standard_normal((500, 8)), g.standard_normal((700, 8)), rng=i,
                                  options=FAST, n_bootstrap=20).passed
    assert flagged <= 2  # 1% family-wise; 2 of 40 would already be far above it
