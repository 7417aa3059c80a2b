"""analyze(), GaussianityReport and Criteria/check."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import gaussprobe as gp
from gaussprobe.report import ALL_TESTS


def _close(a, b, rtol, path=""):
    """Compare two to_dict() trees numerically; returns the list of mismatching paths."""
    bad = []
    if isinstance(a, dict):
        for k in a:
            if k in {"timings", "backend", "device"}:
                continue
            bad += _close(a[k], b[k], rtol, f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (p, q) in enumerate(zip(a, b, strict=True)):
            bad += _close(p, q, rtol, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        if not math.isclose(a, b, rel_tol=rtol, abs_tol=1e-13):
            bad.append(f"{path}: {a!r} vs {b!r}")
    elif a != b:
        bad.append(f"{path}: {a!r} vs {b!r}")
    return bad


@pytest.fixture(scope="module")
def gaussian_report():
    x = np.random.default_rng(1).standard_normal((1500, 24))
    return x, gp.analyze(x, rng=0)


def test_report_fields_and_provenance(gaussian_report):
    x, rep = gaussian_report
    assert (rep.n_samples, rep.n_features) == x.shape
    assert rep.backend == "numpy" and rep.device == "cpu" and rep.compute_dtype == "float64"
    assert rep.seed == 0 and rep.gaussprobe_version == gp.__version__
    assert set(rep.tests) == {"thin_shell", "coordinates", "projections", "distance", "mardia",
                              "doornik_hansen", "principal_directions", "pursuit"}
    assert rep.skipped == {}
    # the report holds exactly what the standalone functions return
    assert rep.thin_shell.to_dict() == gp.thin_shell(x).to_dict()
    assert rep.coordinates.ad_mean == pytest.approx(gp.coordinate_normality(x).ad_mean, rel=1e-12)
    assert rep.mardia.kurtosis == pytest.approx(gp.mardia(x).kurtosis, rel=1e-12)
    assert rep.thin_shell_centered.centered and not rep.thin_shell.centered


def test_summary_and_json(gaussian_report):
    _, rep = gaussian_report
    text = rep.summary()
    for section in ("Thin shell", "Coordinates (24 coordinates, alpha 0.05)", "Random projections",
                    "Distance to the nearest isotropic Gaussian", "Multivariate normality tests"):
        assert section in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert str(rep) == text
    data = json.loads(rep.to_json())
    assert data["schema_version"] == gp.report.SCHEMA_VERSION
    assert data["coordinates"]["ad_mean"] == pytest.approx(rep.coordinates.ad_mean)
    assert len(data["coordinates"]["ad_statistics"]) == 24


def test_report_is_reproducible_and_row_permutation_invariant(gaussian_report):
    x, rep = gaussian_report
    again = gp.analyze(x, rng=0)
    assert _close(rep.to_dict(), again.to_dict(), 0.0) == []
    perm = np.random.default_rng(5).permutation(len(x))
    permuted = gp.analyze(x[perm], rng=0)
    # the principal-direction test splits the rows by index (a seeded random half), so a permutation
    # draws another split: every other statistic is a function of the set of rows
    drop = {"principal_directions", "timings"}
    a = {k: v for k, v in rep.to_dict().items() if k not in drop}
    b = {k: v for k, v in permuted.to_dict().items() if k not in drop}
    assert _close(a, b, 1e-8) == []


@pytest.mark.torch
def test_numpy_and_torch_cpu_reports_agree():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((600, 12))
    a = gp.analyze(x, rng=3, tests="all", n_resamples=19).to_dict()
    b = gp.analyze(torch.as_tensor(x), rng=3, tests="all", n_resamples=19).to_dict()
    assert b is not None
    # the pursuit's whitened_direction is in the whitening's eigenbasis, whose signs are the backend's
    for d_ in (a, b):
        d_["pursuit"].pop("whitened_direction")
    assert _close(a, b, 1e-10) == []


@pytest.mark.torch
def test_torch_inputs_of_any_dtype_and_grad():
    torch = pytest.importorskip("torch")
    t = torch.randn(400, 8, dtype=torch.float32, requires_grad=True)
    rep = gp.analyze(t, rng=0, tests=["thin_shell", "coordinates"])
    assert rep.backend == "torch" and rep.compute_dtype == "float64"
    rep16 = gp.analyze(t.detach().to(torch.bfloat16), rng=0, tests=["thin_shell"])
    assert math.isfinite(rep16.thin_shell.cv)
    rep32 = gp.analyze(t, rng=0, tests=["coordinates"], dtype="float32")
    assert rep32.compute_dtype == "float32"
    assert rep32.coordinates.ad_mean == pytest.approx(rep.coordinates.ad_mean, rel=1e-4)


def test_array_likes_are_accepted():
    pd = pytest.importorskip("pandas")
    x = np.random.default_rng(3).standard_normal((200, 5))
    ref = gp.analyze(x, rng=0, tests=["coordinates"]).coordinates.ad_mean
    assert gp.analyze(x.tolist(), rng=0, tests=["coordinates"]).coordinates.ad_mean == pytest.approx(ref)
    assert gp.analyze(pd.DataFrame(x), rng=0, tests=["coordinates"]).coordinates.ad_mean == pytest.approx(ref)


def test_rank_deficient_input_skips_full_rank_tests_with_a_warning():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((500, 10))
    x -= x.mean(axis=1, keepdims=True)  # rows sum to zero: rank 9, like a LayerNorm constraint
    with pytest.warns(gp.RankDeficiencyWarning):
        rep = gp.analyze(x, rng=0)
    assert rep.mardia is None and rep.doornik_hansen is None
    skip = rep.skipped["mardia"]
    assert (skip.test, skip.code) == ("mardia", "rank_deficient")
    assert "rank 9" in skip.message and "principal_projection" in skip.message
    assert rep.distance.rank == 9
    assert "Skipped" in rep.summary()
    # explicitly asking for Mardia on singular data raises its own clear error instead of a number
    with pytest.raises(ValueError, match="rank"), warnings.catch_warnings():
        warnings.simplefilter("ignore", gp.RankDeficiencyWarning)
        gp.analyze(x, rng=0, tests=["mardia"])


def test_more_features_than_samples():
    x = np.random.default_rng(6).standard_normal((40, 64))
    with pytest.warns(gp.RankDeficiencyWarning), pytest.warns(gp.ShapeWarning, match="transposed"):
        rep = gp.analyze(x, rng=0)
    assert rep.skipped["mardia"].code == "too_few_samples"
    assert "n_samples >= n_features + 2" in rep.skipped["mardia"].message
    assert rep.distance.sphericity.pvalue is not None  # the Ledoit-Wolf test works for d > n


def test_many_samples_fewer_features_do_not_warn_about_transposing():
    x = np.random.default_rng(6).standard_normal((120, 300))  # n >= 100: a plausible embedding set
    with warnings.catch_warnings():
        warnings.simplefilter("error", gp.ShapeWarning)
        warnings.simplefilter("ignore", gp.RankDeficiencyWarning)
        gp.analyze(x, rng=0, tests=["thin_shell"])


def test_n_equal_d_plus_one_skips_the_full_rank_tests():
    """n = d + 1 makes the whitened sample degenerate: Mardia and the rest are skipped, not raised."""
    x = np.random.default_rng(6).standard_normal((51, 50))
    with pytest.warns(gp.RankDeficiencyWarning):
        rep = gp.analyze(x, rng=0)
    assert rep.mardia is None and "n_features + 2" in rep.skipped["mardia"].message
    assert rep.check().passed  # the preset's criteria that need Mardia are not applicable here
    assert any(r.status == "not applicable" for r in rep.check().results)


def test_bad_arguments():
    x = np.random.default_rng(7).standard_normal((100, 4))
    with pytest.raises(ValueError, match="tests"):
        gp.analyze(x, tests=["coordinates", "bogus"])
    with pytest.raises(ValueError, match="alpha"):
        gp.analyze(x, alpha=1.5)
    with pytest.raises(TypeError, match="n_projections"):
        gp.analyze(x, n_projections=2.5)
    with pytest.raises(ValueError, match="dtype"):
        gp.analyze(x, dtype="float16")
    with pytest.raises(ValueError, match="NaN or Inf"):
        gp.analyze(np.where(np.arange(400).reshape(100, 4) == 17, np.nan, x))
    xc = x.copy()
    xc[:, 2] = 1.0
    with pytest.raises(ValueError, match=r"constant column.*\[2\]"):
        gp.analyze(xc, tests=["coordinates"])


def test_all_tests_run_on_request():
    x = np.random.default_rng(8).standard_normal((300, 5))
    rep = gp.analyze(x, rng=1, tests="all", n_resamples=19)
    assert set(rep.tests) == set(ALL_TESTS)
    for name in ALL_TESTS:
        if name not in {"thin_shell"}:
            assert getattr(rep, name) is not None, name
    assert "Henze-Zirkler" in rep.summary() and "energy" in rep.summary()


def test_default_run_keeps_mardia_kurtosis_when_the_skewness_is_unaffordable(monkeypatch):
    monkeypatch.setattr(gp.report, "MARDIA_DEFAULT_FLOP_BUDGET", 10.0)
    x = np.random.default_rng(9).standard_normal((200, 6))
    rep = gp.analyze(x, rng=0)
    assert math.isnan(rep.mardia.skewness) and rep.mardia.skewness_test.calibration == "not computed"
    assert 0 < rep.mardia.kurtosis_test.pvalue < 1
    explicit = gp.analyze(x, rng=0, tests=["mardia"]).mardia
    assert explicit.skewness_test.calibration == "asymptotic"
    assert explicit.kurtosis == pytest.approx(rep.mardia.kurtosis, rel=1e-13)  # other fused passes


def test_default_run_reports_only_calibrated_pvalues(monkeypatch):
    """(240, 200): the chi2 skewness and asymptotic kurtosis give p ~ 1 and p ~ 0 there; the report's
    primary p-values are the calibrated ones, and HZ is not run where it has no power."""
    monkeypatch.setattr(gp.stats._null, "NULL_FLOP_BUDGET", 1e6)  # no time for the simulated null
    x = np.random.default_rng(12).standard_normal((240, 200))
    rep = gp.analyze(x, rng=0, tests="all")
    ma = rep.mardia
    assert ma.skewness_test.calibration == "not calibrated" and math.isnan(ma.skewness_test.pvalue)
    assert ma.skewness_test_asymptotic.pvalue > 0.999  # the parity variant, named as such
    assert ma.kurtosis_test.calibration == "exact moments" and ma.kurtosis_test.pvalue > 0.001
    assert ma.kurtosis_test_asymptotic.pvalue < 1e-6
    assert rep.skipped["henze_zirkler"].code == "not_informative"
    assert "no power" in rep.skipped["henze_zirkler"].message
    assert not hasattr(rep.projections, "dp_combined_test")


# ----------------------------------------------------------------------------------- criteria
def test_check_presets_on_gaussian_and_non_gaussian(gaussian_report):
    _, rep = gaussian_report
    assert rep.check("gaussian").passed
    lap = gp.analyze(np.random.default_rng(10).laplace(size=(3000, 24)), rng=0)
    outcome = lap.check("gaussian")
    assert not outcome.passed
    names = {r.name for r in outcome.failures}
    assert {"min_coordinate_pvalue", "min_projection_pvalue"} <= names
    text = outcome.explain()
    assert text.startswith("[FAIL]") and "observed" in text and "Verdict: FAILED" in text


def test_paper_preset_thresholds():
    c = gp.Criteria.preset("paper")
    assert (c.max_cv, c.max_ad_mean, c.min_ad_pass_fraction, c.min_dp_pass_fraction) == (0.1, 0.752, 0.9, 0.88)
    # an isotropic Gaussian at d=24 has norm CV ~ 1/sqrt(2d) = 0.144 > 0.10: the paper's CV bar fails
    x = np.random.default_rng(11).standard_normal((1000, 24))
    outcome = gp.analyze(x, rng=0, tests=["thin_shell", "coordinates"]).check("paper")
    assert [r.name for r in outcome.failures] == ["max_cv"]


def test_criteria_from_mapping_and_errors(gaussian_report):
    _, rep = gaussian_report
    c = gp.Criteria.from_mapping({"preset": "paper", "max-cv": 0.5})
    assert c.max_cv == 0.5 and c.max_ad_mean == 0.752
    with pytest.raises(ValueError, match="Unknown criteria"):
        gp.Criteria.from_mapping({"max_cvv": 1})
    with pytest.raises(ValueError, match="preset"):
        gp.Criteria.preset("nope")
    with pytest.raises(TypeError, match="finite number"):
        gp.Criteria(max_cv="0.1")
    assert not gp.Criteria().evaluate(rep).passed  # nothing checked is not a pass
    assert rep.check(max_cv=10.0).passed
    assert not rep.check(gp.Criteria(max_cv=10.0), max_cv=0.0).passed


def test_criterion_on_a_statistic_that_was_not_run(gaussian_report):
    x, _ = gaussian_report
    rep = gp.analyze(x, rng=0, tests=["thin_shell"])
    outcome = rep.check(min_projection_pvalue=0.01)
    assert not outcome.passed
    failure = next(r for r in outcome.failures if r.name == "min_projection_pvalue")
    assert "projections was not available" in failure.explain()
    assert json.dumps(outcome.to_dict())


