"""GaussianityReport.from_json / from_dict: exact round trips of to_json, real result classes, errors."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gaussprobe as gp
from gaussprobe._reference import Reference
from gaussprobe._registry import REPORT_FIELDS, Skip, type_namespace
from gaussprobe.report import ALL_TESTS, SCHEMA_VERSION, GaussianityReport
from gaussprobe.stats.distance import BuresWassersteinResult, SlicedWassersteinResult


def _analyze(x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gp.analyze(x, **kw)


def _roundtrip(report):
    text = report.to_json()
    loaded = GaussianityReport.from_json(text)
    assert loaded.to_json() == text
    return loaded


@pytest.mark.parametrize(("shape", "tests"), [
    ((300, 6), "default"),
    ((300, 6), "all"),
    ((40, 60), "default"),      # n < d: full-rank tests skipped, with reasons
    ((40, 60), "all"),
    ((9, 8), "default"),        # n = d + 1
    ((200, 1), "default"),      # distance skipped at d = 1
    ((120, 4), ["thin_shell"]),
    ((120, 4), ["coordinates", "energy", "royston"]),
])
def test_round_trip_is_exact_for_every_test_set(shape, tests):
    x = np.random.default_rng(3).standard_normal(shape)
    report = _analyze(x, rng=1, tests=tests, n_resamples=9, n_projections=24)
    loaded = _roundtrip(report)
    assert loaded.skipped == report.skipped
    assert loaded.tests == report.tests
    assert loaded.check().to_dict() == report.check().to_dict()
    assert loaded.check("paper").to_dict() == report.check("paper").to_dict()


def test_loaded_report_holds_the_real_result_classes_and_arrays():
    x = np.random.default_rng(0).standard_normal((300, 6))
    loaded = _roundtrip(_analyze(x, rng=0, tests="all", n_resamples=9))
    assert isinstance(loaded.thin_shell, gp.ThinShellResult)
    assert isinstance(loaded.thin_shell.cv_reference, Reference)
    assert isinstance(loaded.coordinates, gp.CoordinateNormalityResult)
    assert isinstance(loaded.coordinates.combined_test, gp.TestResult)
    assert isinstance(loaded.coordinates.ad_statistics, np.ndarray)
    assert loaded.coordinates.ad_statistics.dtype == np.float64
    assert loaded.coordinates.worst_coordinates.dtype.kind == "i"
    assert isinstance(loaded.coordinates.pass_fraction_band, tuple)
    assert isinstance(loaded.projections, gp.ProjectionNormalityResult)
    assert isinstance(loaded.distance, gp.IsotropicDistanceResult)
    assert isinstance(loaded.distance.bures_wasserstein, BuresWassersteinResult)
    assert isinstance(loaded.distance.sliced, SlicedWassersteinResult)
    assert isinstance(loaded.distance.spectrum, gp.SpectrumResult)
    assert isinstance(loaded.distance.spectrum.effective_rank_reference, Reference)
    for name, cls in [("mardia", gp.MardiaResult), ("henze_zirkler", gp.HenzeZirklerResult),
                      ("royston", gp.RoystonResult), ("doornik_hansen", gp.DoornikHansenResult),
                      ("energy", gp.EnergyTestResult)]:
        assert isinstance(getattr(loaded, name), cls)
    assert isinstance(loaded.tests, tuple)


def test_nan_and_infinite_fields_come_back_as_nan_and_none_stays_none():
    x = np.random.default_rng(0).standard_normal((200, 5))
    report = _analyze(x, rng=0)
    ts = dataclasses.replace(report.thin_shell, cv=math.nan, std=math.inf, relative_spread=None,
                             quantiles=np.array([1.0, np.nan, np.inf]))
    report = dataclasses.replace(report, thin_shell=ts)
    loaded = _roundtrip(report)
    assert math.isnan(loaded.thin_shell.cv) and math.isnan(loaded.thin_shell.std)
    assert loaded.thin_shell.relative_spread is None
    assert np.isnan(loaded.thin_shell.quantiles[1:]).all() and loaded.thin_shell.quantiles[0] == 1.0


def test_every_statistic_field_of_the_report_has_its_result_class():
    hints = typing.get_type_hints(GaussianityReport, localns=type_namespace())
    assert not [f.name for f in dataclasses.fields(GaussianityReport) if hints[f.name] is typing.Any]
    for name, cls in REPORT_FIELDS:  # typed by the registry: the result class or None
        assert hints[name] == cls | None, name
    assert hints["skipped"] == dict[str, Skip]
    x = np.random.default_rng(0).standard_normal((300, 6))
    report = _analyze(x, rng=0, tests="all", n_resamples=9)
    for name, cls in REPORT_FIELDS:
        assert type(getattr(report, name)) is cls, name


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(10, 80), d=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       tests=st.lists(st.sampled_from(ALL_TESTS), min_size=1, max_size=4, unique=True)
       | st.sampled_from(["default", "all"]),
       dist=st.sampled_from(["normal", "laplace", "uniform"]))
def test_round_trip_property(n, d, seed, tests, dist):
    gen = np.random.default_rng(seed)
    x = getattr(gen, dist)(size=(n, d))
    try:
        report = _analyze(x, rng=seed % 1000, tests=tests, n_resamples=5, n_projections=8)
    except ValueError:  # a test named explicitly that is undefined at this size
        assume(False)
    loaded = _roundtrip(report)
    assert loaded.check(only=True, max_cv=10.0).to_dict() == report.check(only=True, max_cv=10.0).to_dict()


def test_another_schema_version_names_both_versions():
    report = _analyze(np.random.default_rng(0).standard_normal((100, 3)), rng=0, tests=["thin_shell"])
    data = report.to_dict()
    for version in ("0.9", "3.0"):
        data["schema_version"] = version
        with pytest.raises(ValueError, match=rf"'{version}'.*" + SCHEMA_VERSION.replace(".", r"\.")):
            GaussianityReport.from_dict(data)


def test_a_report_of_schema_1_0_is_migrated():
    """A baseline saved by gaussprobe 0.1.0 with schema 1.0 (skips as messages, no QQ points) loads:
    each skip gets the code its 1.0 message stands for, and the check gives the same verdict."""
    from pathlib import Path

    text = (Path(__file__).parent / "data" / "report_schema_1_0.json").read_text(encoding="utf-8")
    old = json.loads(text)
    assert old["schema_version"] == "1.0" and isinstance(old["skipped"]["mardia"], str)
    loaded = GaussianityReport.from_json(text)
    assert loaded.schema_version == SCHEMA_VERSION
    assert set(loaded.skipped) == set(old["skipped"])
    for name, skip in loaded.skipped.items():
        assert (skip.test, skip.code, skip.message) == (name, "rank_deficient", old["skipped"][name])
    assert loaded.coordinates.ad_mean == old["coordinates"]["ad_mean"]
    assert loaded.coordinates.qq_values is None and loaded.projections.worst_directions is None
    outcome = loaded.check()
    assert outcome.passed
    assert {r.name: r.status for r in outcome.results}["min_mardia_kurtosis_pvalue"] == "not applicable"
    # it renders (without the plots that need the newer fields) and round-trips in the new layout
    assert "rank_deficient" not in loaded.summary() and "Skipped" in loaded.summary()
    assert GaussianityReport.from_json(loaded.to_json()).to_json() == loaded.to_json()
    # and it can be a baseline: compare reads it like any report
    cmp = gp.compare(loaded, loaded)
    assert cmp.passed


def test_cli_wrappers_are_accepted():
    report = _analyze(np.random.default_rng(0).standard_normal((100, 3)), rng=0, tests=["thin_shell"])
    analyze_json = {**report.to_dict(), "source": {"path": "x.npy"}, "notes": ["n"]}
    assert GaussianityReport.from_dict(analyze_json).to_json() == report.to_json()
    check_json = {"passed": True, "report": analyze_json}
    assert GaussianityReport.from_dict(check_json).to_json() == report.to_json()


@pytest.mark.parametrize(("edit", "match"), [
    (lambda d: d.pop("n_samples"), "missing the field `n_samples`"),
    (lambda d: d["thin_shell"].update(bogus=1), r"thin_shell.*unknown field\(s\) \['bogus'\]"),
    (lambda d: d.update(n_samples="many"), "`n_samples`: expected an integer; got 'many'"),
    (lambda d: d["thin_shell"].update(cv="x"), "`thin_shell.cv`: expected a number or null"),
    (lambda d: d["thin_shell"].update(quantile_levels=[1, "a"]), "thin_shell.quantile_levels"),
    (lambda d: d.pop("schema_version"), "no `schema_version`"),
])
def test_damaged_reports_are_refused_with_the_field_named(edit, match):
    report = _analyze(np.random.default_rng(0).standard_normal((100, 3)), rng=0, tests=["thin_shell"])
    data = json.loads(report.to_json())
    edit(data)
    with pytest.raises(ValueError, match=match):
        GaussianityReport.from_dict(data)


def test_not_json_and_not_an_object():
    with pytest.raises(ValueError, match="Not valid JSON"):
        GaussianityReport.from_json("{oops")
    with pytest.raises(TypeError, match="must be a JSON object"):
        GaussianityReport.from_json("[1, 2]")
