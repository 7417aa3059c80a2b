"""Verdicts: one default preset, overrides, truthiness, uninformative and not-applicable criteria."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gaussprobe as gp
from gaussprobe.criteria import DEFAULT_PRESET, GAUSSIAN_PRESET_LEVEL, Criteria


@pytest.fixture(scope="module")
def gauss_report():
    return gp.analyze(np.random.default_rng(40).standard_normal((800, 12)), rng=0)


@pytest.fixture(scope="module")
def laplace_report():
    return gp.analyze(np.random.default_rng(41).laplace(size=(800, 12)), rng=0)


def test_one_default_everywhere(gauss_report):
    assert DEFAULT_PRESET == "gaussian"
    default = gauss_report.check()
    named = gauss_report.check(DEFAULT_PRESET)
    assert [r.name for r in default.results] == [r.name for r in named.results]
    from gaussprobe.criteria import resolve

    assert resolve() == Criteria.preset(DEFAULT_PRESET)  # the one resolver of check, the CLI and assert_gaussian_like


def test_gaussian_preset_is_bonferroni_over_calibrated_pvalues():
    c = Criteria.preset("gaussian")
    limits = c.active()
    assert set(limits) == {"min_coordinate_pvalue", "min_projection_pvalue", "min_principal_direction_pvalue",
                           "min_mardia_kurtosis_pvalue"}
    assert sum(limits.values()) == pytest.approx(GAUSSIAN_PRESET_LEVEL)


def test_outcome_is_truthy_only_when_it_passed(gauss_report, laplace_report):
    assert bool(gauss_report.check()) is True
    assert bool(laplace_report.check()) is False
    with pytest.raises(AssertionError):
        assert laplace_report.check("paper")


def test_a_limit_overrides_that_limit_and_keeps_the_preset(laplace_report):
    outcome = laplace_report.check(max_cv=10.0)  # the default preset plus one limit
    names = {r.name for r in outcome.results}
    assert {"max_cv", "min_coordinate_pvalue", "min_projection_pvalue"} <= names
    assert not outcome.passed
    only = laplace_report.check(only=True, max_cv=10.0)
    assert [r.name for r in only.results] == ["max_cv"] and only.passed
    paper = laplace_report.check("paper", max_cv=10.0)
    assert paper.results[0].limit == 10.0 and len(paper.results) == 4
    dropped = laplace_report.check("paper", max_cv=None)
    assert "max_cv" not in {r.name for r in dropped.results}


def test_check_accepts_a_mapping_and_rejects_other_types(gauss_report):
    assert gauss_report.check({"preset": "gaussian", "max_cv_ratio": 5.0}).passed
    assert [r.name for r in gauss_report.check({"max_ad_mean": 0.9}).results] == ["max_ad_mean"]
    with pytest.raises(TypeError, match="mapping of limits"):
        gauss_report.check(["max_cv"])
    with pytest.raises(ValueError, match="did you mean 'max_cv'"):
        gauss_report.check(max_cvv=0.1)
    with pytest.raises(TypeError, match="only=True"):
        gauss_report.check("paper", only=True)


def test_normalised_embeddings_make_thin_shell_criteria_uninformative():
    x = np.random.default_rng(42).standard_normal((600, 32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    with pytest.warns(gp.UninformativeWarning, match="normalised input"):
        rep = gp.analyze(x, rng=0, tests=["thin_shell", "coordinates"])
    outcome = rep.check("paper")
    cv = next(r for r in outcome.results if r.name == "max_cv")
    assert cv.status == "uninformative" and not cv.passed and not outcome.passed
    assert "constant norms" in cv.note or "normalised" in cv.note
    assert "UNINFORMATIVE" in outcome.explain()


def test_missing_statistic_fails_a_hand_set_limit_but_not_a_preset_criterion():
    x = np.random.default_rng(43).standard_normal((51, 50))  # n = d + 1: Mardia is undefined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gp.RankDeficiencyWarning)
        rep = gp.analyze(x, rng=0)
    preset = rep.check()
    kurt = next(r for r in preset.results if r.name == "min_mardia_kurtosis_pvalue")
    assert kurt.status == "not applicable" and kurt.passed and "n_features + 2" in kurt.note
    hand = rep.check(only=True, min_mardia_kurtosis_pvalue=0.01)
    assert hand.results[0].status == "not computed" and not hand.passed
    # a test left out of the run is a failure even for a preset criterion
    partial = gp.analyze(np.random.default_rng(44).standard_normal((300, 5)), rng=0,
                         tests=["coordinates", "projections"])
    kurt = next(r for r in partial.check().results if r.name == "min_mardia_kurtosis_pvalue")
    assert kurt.status == "not computed" and not partial.check().passed


def test_nothing_applicable_is_not_a_pass():
    rep = gp.analyze(np.random.default_rng(45).standard_normal((300, 5)), rng=0, tests=["thin_shell"])
    crit = Criteria.from_mapping({"preset": "gaussian"})
    # every preset criterion needs a test this report did not run and did not skip: all fail
    assert not rep.check(crit).passed


def test_uncalibrated_pvalue_is_not_applicable_in_a_preset(monkeypatch):
    monkeypatch.setattr(gp.stats._null, "NULL_FLOP_BUDGET", 1.0)
    rep = gp.analyze(np.random.default_rng(46).standard_normal((100, 20)), rng=0, tests="all")
    assert math.isnan(rep.mardia.skewness_test.pvalue)
    outcome = rep.check("gaussian", min_mardia_skewness_pvalue=0.001)
    skew = next(r for r in outcome.results if r.name == "min_mardia_skewness_pvalue")
    assert skew.status == "not computed" and "budget" in skew.note  # added by hand: it must fail
    crit = Criteria.from_mapping({"preset": "gaussian"})
    crit = Criteria(**{**crit.active(), "min_mardia_skewness_pvalue": 0.001},
                    optional=crit.optional | {"min_mardia_skewness_pvalue"})
    skew = next(r for r in rep.check(crit).results if r.name == "min_mardia_skewness_pvalue")
    assert skew.status == "not applicable"


# ------------------------------------------------------------------ false-failure rate of the preset
def _false_failures(n, d, draws, *, anisotropic=False):
    rng = np.random.default_rng(1000 * n + d)
    scale = np.exp(np.linspace(0.0, np.log(10.0), d)) if anisotropic else np.ones(d)
    rot = np.linalg.qr(rng.standard_normal((d, d)))[0] if anisotropic else np.eye(d)
    fails = 0
    for i in range(draws):
        x = (np.random.default_rng([n, d, i]).standard_normal((n, d)) * scale) @ rot
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = gp.analyze(x, rng=i, tests=["coordinates", "projections", "principal_directions", "mardia"])
        fails += not rep.check().passed
    return fails


@pytest.mark.slow
@pytest.mark.parametrize(("n", "d", "anisotropic", "draws"),
                         [(100, 8, False, 500), (1000, 64, True, 500), (2000, 384, False, 300)])
def test_gaussian_preset_false_failure_rate(n, d, anisotropic, draws):
    """At most 1% false failures on exact Gaussians (within the 99 % binomial band of 1 %; 300-500
    draws, fewer at the largest cell to keep CI within its budget; benchmarks/preset_false_failures.py
    measures more)."""
    from scipy import stats

    hi = stats.binom.ppf(0.995, draws, GAUSSIAN_PRESET_LEVEL)
    assert _false_failures(n, d, draws, anisotropic=anisotropic) <= hi
