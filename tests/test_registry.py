"""The registry of statistics is the one source of every surface: rows, formats, criteria, compare,
report fields, the JSON schema and the skip codes, all checked metric by metric."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import warnings

import numpy as np
import pytest

import gaussprobe as gp
from gaussprobe import _registry as registry
from gaussprobe._registry import CRITERIA, METRICS, SKIP_CODES, STATISTICS, Metric, format_value
from gaussprobe.criteria import Criteria
from gaussprobe.render import rows, to_html, to_markdown

pytest.importorskip("matplotlib")


def _analyze(x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gp.analyze(x, **kw)


@pytest.fixture(scope="module")
def full_report():
    """Every test of the registry run (so every metric has a value)."""
    x = np.random.default_rng(0).standard_normal((300, 6))
    return _analyze(x, rng=0, tests="all", n_projections=6, n_resamples=19)


def _row_of(report, metric):
    found = [r for r in rows(report) if r.metric == metric.name]
    assert len(found) == 1, metric.name
    return found[0]


# -------------------------------------------------------------------------- every metric, everywhere
def test_every_metric_has_one_row_with_its_value(full_report):
    assert [r.metric for r in rows(full_report)] == list(METRICS)
    for m in METRICS.values():
        row = _row_of(full_report, m)
        value = m.value(full_report)
        assert value is not None and (row.value == value or (row.value is None and np.isnan(value))), m.name
        assert row.text == m.format(row.value)
        assert row.section == m.section and row.name == m.label


def test_every_metric_appears_in_the_summary_markdown_html_and_notebook(full_report):
    summary = full_report.summary()
    markdown = to_markdown(full_report)
    page = to_html(full_report, plots=False)
    from gaussprobe._notebook import report_html

    notebook = report_html(full_report, plots=False)
    for m in METRICS.values():
        row = _row_of(full_report, m)
        # the same label, value text and reference, in every surface
        assert re.search(rf"^  {re.escape(row.name)}\s+{re.escape(row.text)}(\s|$)", summary, re.MULTILINE), m.name
        assert f"| {row.name} | {row.text} |" in markdown.replace("\\|", "|"), m.name
        assert re.search(rf"<td>{re.escape(html.escape(row.name))}</td><td class=\"num[^\"]*\"[^>]*>"
                         rf"{re.escape(html.escape(row.text))}</td>", page), m.name
        assert f">{html.escape(row.text)}</td>" in notebook and html.escape(row.name) in notebook, m.name
        first_part = row.reference.split("; ")[0]
        for surface in (markdown.replace("\\|", "|"), html.unescape(page), html.unescape(notebook)):
            assert row.reference in surface, m.name
        assert first_part.split(" [")[0] in summary, m.name


def test_every_metric_is_in_the_json(full_report):
    data = json.loads(full_report.to_json())
    for m in METRICS.values():
        node = data
        for part in m.path.split("."):
            node = node[part]
        value = m.value(full_report)
        assert node == pytest.approx(value, nan_ok=True) or (node is None and not np.isfinite(value)), m.name


def test_every_criterion_is_a_limit_a_check_and_a_compared_metric(full_report):
    assert list(Criteria.names()) == list(CRITERIA)
    assert set(CRITERIA) <= set(METRICS)
    assert {n for n, m in METRICS.items() if m.worse is not None} == set(CRITERIA)
    outcome = full_report.check(only=True, **{name: 0.0 if m.kind == "max" else 1.0 for name, m in CRITERIA.items()})
    assert [r.name for r in outcome.results] == list(CRITERIA)
    for r in outcome.results:
        m = CRITERIA[r.name]
        assert r.kind == m.kind and r.description == m.description
        assert r.observed == pytest.approx(m.value(full_report), nan_ok=True) or r.observed is None
    compared = gp.compare(full_report, full_report)
    assert [c.name for c in compared.metrics] == list(CRITERIA)
    assert [c.test for c in compared.metrics] == [m.field for m in CRITERIA.values()]


def test_one_format_per_metric_in_every_surface(full_report):
    """The fractions are percentages everywhere (not 74.7% in one place and 0.7474 in another), the
    critical value has one rounding, and the check tables use the rows' formats."""
    co = full_report.coordinates
    row = _row_of(full_report, CRITERIA["min_ad_pass_fraction"])
    assert row.text == f"{100 * co.ad_pass_fraction:.1f}%"
    crit = format_value(co.ad_critical_value)
    for surface in (full_report.summary(), to_markdown(full_report), html.unescape(to_html(full_report, plots=False))):
        assert row.text in surface and f"critical value {crit}" in surface
    outcome = full_report.check(only=True, min_ad_pass_fraction=0.9, min_coordinate_pvalue=1e-4)
    md = to_markdown(full_report, outcome=outcome)
    assert f"| `min_ad_pass_fraction` | {row.text} | >= 90.0% |" in md
    assert f"observed {row.text}, required >= 90.0%" in outcome.explain()
    assert "| `min_coordinate_pvalue` |" in md and ">= 1.00e-04" in md


def test_format_value():
    assert format_value(None) == "n/a" and format_value(float("nan")) == "nan"
    assert format_value(float("inf")) == "inf" and format_value(True) == "True"
    assert format_value(0.74736, "percent") == "74.7%"
    assert format_value(0.0123456, "pvalue") == "0.0123" and format_value(4.567e-7, "pvalue") == "4.57e-07"
    assert format_value(0.0, "pvalue") == "0"
    assert format_value(12345, "count") == "12,345" and format_value(12345) == "12,345"
    assert format_value(0.751) == "0.751" and format_value(123456.7) == "1.23e+05"


# ------------------------------------------------------------------------- generated from the registry
def test_generated_schema_and_code_blocks_are_up_to_date():
    """report_schema.json, the report's statistic fields and the criteria's limits are what the
    registry gives (regenerate with `python -m gaussprobe._schema --write`)."""
    from gaussprobe import _schema

    assert _schema.stale_files() == []
    assert _schema.main(["--check"]) == 0
    committed = json.loads(_schema.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == _schema.report_schema()


def test_schema_properties_follow_the_result_classes():
    from gaussprobe._schema import report_schema

    schema = report_schema()
    defs = schema["$defs"]
    for field, cls in registry.REPORT_FIELDS:
        assert defs["report"]["properties"][field]["anyOf"][0] == {"$ref": f"#/$defs/{cls.__name__}"}
        props = defs[cls.__name__]["properties"]
        assert list(props) == [f.name for f in dataclasses.fields(cls)]
    assert list(defs["check_output"]["properties"]["criteria"]["properties"]) == list(CRITERIA)
    assert defs["Skip"]["properties"]["code"]["enum"] == list(SKIP_CODES)


def test_the_report_fields_are_typed_by_the_registry():
    import typing

    hints = typing.get_type_hints(gp.GaussianityReport, localns=registry.type_namespace())
    names = [f.name for f in dataclasses.fields(gp.GaussianityReport)]
    fields = names[names.index("tests") + 1: names.index("skipped")]
    assert fields == [f for f, _ in registry.REPORT_FIELDS]
    for field, cls in registry.REPORT_FIELDS:
        assert hints[field] == cls | None
    assert gp.report.ALL_TESTS == registry.ALL_TESTS and gp.report.DEFAULT_TESTS == registry.DEFAULT_TESTS


def test_a_typo_in_an_attribute_path_fails_loudly_at_definition():
    bad = registry._entry(name="toy", title="Toy", fields=(("toy", gp.CoordinateNormalityResult),),
                          function="gaussprobe.toy", default=False,
                          metrics=(Metric(name="min_toy_pvalue", label="toy", attribute="combined_tset.pvalue",
                                          worse="lower", description="d", noise="pvalue"),))
    with pytest.raises(RuntimeError, match=r"toy: metric 'min_toy_pvalue'.*has no field `combined_tset`"):
        registry._check((*STATISTICS, bad))
    wrong_side = registry._entry(name="toy", title="Toy", fields=(("toy", gp.CoordinateNormalityResult),),
                                 function="gaussprobe.toy", default=False,
                                 metrics=(Metric(name="max_toy", label="toy", attribute="ad_mean", worse="lower",
                                                 description="d", noise="pvalue"),))
    with pytest.raises(RuntimeError, match="must be named min_"):
        registry._check((*STATISTICS, wrong_side))
    with pytest.raises(RuntimeError, match="registered twice"):
        registry._check((*STATISTICS, STATISTICS[0]))


def test_stale_generated_code_refuses_to_build(monkeypatch):
    from gaussprobe import criteria, report

    monkeypatch.setattr(criteria, "_STALE", "Criteria's limits differ; regenerate")
    with pytest.raises(RuntimeError, match="regenerate"):
        Criteria(max_cv=0.1)
    monkeypatch.setattr(report, "_STALE_FIELDS", "fields differ; regenerate")
    with pytest.raises(RuntimeError, match="regenerate"):
        _analyze(np.random.default_rng(0).standard_normal((50, 3)), tests=["thin_shell"])


# ------------------------------------------------------------------------------------- skip codes
def test_every_skip_is_a_coded_skip_and_its_warning_follows_from_the_code():
    x = np.random.default_rng(4).standard_normal((500, 10))
    x -= x.mean(axis=1, keepdims=True)  # rank 9
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = gp.analyze(x, rng=0, n_projections=8)
    skips = [str(w.message) for w in caught if str(w.message).startswith("Skipped")]
    assert len(skips) == 1 and skips[0].startswith("Skipped ['pursuit', 'mardia', 'doornik_hansen']: covariance")
    assert [w.category for w in caught if str(w.message).startswith("Skipped")] == [gp.RankDeficiencyWarning]
    assert {s.code for s in rep.skipped.values()} == {"rank_deficient"}
    assert all(isinstance(s, registry.Skip) and s.test == name for name, s in rep.skipped.items())
    assert all(s.warning is gp.RankDeficiencyWarning for s in rep.skipped.values())
    # a split sample too small: SmallSampleWarning; a test not calibrated here: recorded, no warning
    small = np.random.default_rng(1).standard_normal((30, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = gp.analyze(small, rng=0, n_projections=3)
    assert [(w.category, str(w.message).split(":")[0]) for w in caught if str(w.message).startswith("Skipped")] \
        == [(gp.SmallSampleWarning, "Skipped ['principal_directions']")]
    assert rep.skipped["principal_directions"].code == "split_too_small"
    wide = np.random.default_rng(2).standard_normal((200, 60))
    rep = _analyze(wide, rng=0, tests="all", n_projections=8, n_resamples=9)
    assert rep.skipped["royston"].code == "not_calibrated" and SKIP_CODES["not_calibrated"].warning is None
    assert str(rep.skipped["royston"]) == rep.skipped["royston"].message


def test_requirements_are_checked_by_mode():
    sizes = registry.Sizes(n=30, d=3, mode="default", rank_of=lambda: 3)
    assert registry.statistic("principal_directions").skip(sizes).code == "split_too_small"
    named = registry.Sizes(n=30, d=3, mode="explicit", rank_of=lambda: 3)
    assert registry.statistic("principal_directions").skip(named) is None  # named tests run
    one_feature = registry.Sizes(n=30, d=1, mode="explicit", rank_of=lambda: 1)
    assert registry.statistic("distance").skip(one_feature).code == "too_few_features"  # always
    calls = []
    lazy = registry.Sizes(n=300, d=3, mode="default", rank_of=lambda: calls.append(1) or 2)
    assert registry.statistic("thin_shell").skip(lazy) is None and calls == []  # rank only when needed
    assert registry.statistic("mardia").skip(lazy).code == "rank_deficient" and calls == [1]


# --------------------------------------------------------------------------------- one resolver
def test_one_criteria_resolver_for_the_report_the_cli_and_assert_gaussian_like(monkeypatch, tmp_path):
    from gaussprobe import criteria
    from gaussprobe.cli import main
    from gaussprobe.testing import assert_gaussian_like

    calls = []
    original = criteria.resolve

    def spy(*args, **kw):
        calls.append((args, kw))
        return original(*args, **kw)

    monkeypatch.setattr(criteria, "resolve", spy)
    x = np.random.default_rng(0).standard_normal((300, 4))
    rep = _analyze(x, rng=0, tests=["thin_shell", "coordinates"])
    rep.check(only=True, max_cv=1.0)
    assert calls == [((None,), {"only": True, "max_cv": 1.0})]
    calls.clear()
    assert_gaussian_like(x, {"max_cv": 1.0}, tests=["thin_shell"])
    assert calls[0] == (({"max_cv": 1.0},), {})
    calls.clear()
    np.save(tmp_path / "e.npy", x)
    assert main(["check", str(tmp_path / "e.npy"), "--only", "--max-cv", "1.0", "--tests", "thin_shell",
                 "-o", str(tmp_path / "out.txt")]) == 0
    assert calls[0] == ((None,), {"only": True, "max_cv": 1.0})
    with pytest.raises(ValueError, match="did you mean 'max_cv'"):
        original(max_cvv=1.0)


# ----------------------------------------------------------------- a statistic through its entry alone
def test_a_statistic_runs_through_its_registry_entry(monkeypatch):
    """Doornik-Hansen is defined by its module and its registry entry alone: analyze builds the entry's
    row state for its second pass (fused with the other statistics' states) and finishes it with the
    entry's finisher."""
    entry = registry.statistic("doornik_hansen")
    assert entry.second_pass is not None and entry.finish is not None and entry.run is None
    built, finished = [], []
    original_state, original_finish = entry.second_pass, entry.finish

    def spy_state(emb, moments):
        built.append(moments.n)
        return original_state(emb, moments)

    def spy_finish(emb, sums, ctx):
        finished.append(ctx.dtype)
        return original_finish(emb, sums, ctx)

    monkeypatch.setattr(registry, "STATISTICS", tuple(
        dataclasses.replace(s, second_pass=spy_state, finish=spy_finish) if s.name == "doornik_hansen" else s
        for s in registry.STATISTICS))
    x = np.random.default_rng(0).standard_normal((200, 4))
    rep = _analyze(x, rng=0, dtype="float32", tests=["doornik_hansen"])
    assert built == [200] and finished == ["float32"]
    assert rep.doornik_hansen.pvalue == pytest.approx(gp.doornik_hansen(x, dtype="float32").pvalue, rel=1e-5)
    assert "doornik_hansen" in rep.timings


# ------------------------------------------------------------- a new statistic: one module, one entry
_TOY_MODULE = '''"""A toy test: is the mean of the first coordinate zero (known unit variance)?"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._results import Result


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ToyResult(Result):
    """The toy test.

    Attributes
    ----------
    statistic : float
        sqrt(n) times the mean of the first coordinate.
    pvalue : float
        Its two-sided standard-normal p-value.
    """

    statistic: float
    pvalue: float


def toy(x, /, *, dtype="float64"):
    """The toy test of ``x``."""
    first = np.asarray(x, dtype=np.float64)[:, 0]
    z = math.sqrt(first.size) * float(first.mean())
    return ToyResult(statistic=z, pvalue=math.erfc(abs(z) / math.sqrt(2.0)))
'''

_TOY_ENTRY = '''    _entry(name="toy", title="Toy", function="gaussprobe.stats.toy.toy", default=False,
           fields=(("toy", ToyResult),), run=lambda emb, ctx: toy(emb.storage, dtype=ctx.dtype),
           metrics=(_pvalue("min_toy_pvalue", "toy p-value", "pvalue", "p-value of the toy test",
                            test_result=""),)),
'''

_TOY_CHECK = '''
import json, subprocess, sys, warnings
import numpy as np
import gaussprobe as gp
from gaussprobe.render import to_html, to_markdown
from gaussprobe.stats.toy import ToyResult

warnings.simplefilter("ignore")
x = np.random.default_rng(0).standard_normal((200, 3))
x[:, 0] += 0.5
rep = gp.analyze(x, rng=0, tests=["thin_shell", "toy"])
assert type(rep.toy) is ToyResult and rep.tests == ("thin_shell", "toy")
assert rep.toy.pvalue < 1e-6
assert "toy p-value" in rep.summary() and "| toy p-value |" in to_markdown(rep) and "toy p-value" in to_html(rep, plots=False)
out = rep.check(only=True, min_toy_pvalue=0.01)
assert not out.passed and out.results[0].name == "min_toy_pvalue"
loaded = gp.GaussianityReport.from_json(rep.to_json())
assert loaded.to_json() == rep.to_json() and type(loaded.toy) is ToyResult
assert gp.compare(rep, rep)["min_toy_pvalue"].verdict == "both fail"  # p < level in both
assert "toy" in gp.analyze(x, rng=0, tests="all", n_projections=4, n_resamples=9).tests
assert gp.analyze(x, rng=0).toy is None  # default=False
from gaussprobe._schema import SCHEMA_PATH
schema = json.loads(open(SCHEMA_PATH).read())
assert schema["$defs"]["report"]["properties"]["toy"]["anyOf"][0] == {"$ref": "#/$defs/ToyResult"}
import jsonschema
jsonschema.Draft202012Validator(schema).validate(json.loads(rep.to_json()))
from gaussprobe.cli import main
np.save(sys.argv[1], x)
assert main(["check", sys.argv[1], "--only", "--min-toy-pvalue", "0.01", "--tests", "toy", "-o", sys.argv[1] + ".txt"]) == 1
print("ok")
'''


def test_a_new_statistic_is_one_module_and_one_entry(tmp_path):
    """Add a toy test to a copy of the package: a module and a registry entry, then the generator.
    Every surface then has it, and only the files listed in docs/report_schema.md changed."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("jsonschema")
    source = Path(gp.__file__).parent
    pkg = tmp_path / "gaussprobe"
    # the package without its bundled demo data (the tables the statistics read are small)
    shutil.copytree(source, pkg, ignore=shutil.ignore_patterns("__pycache__", "minilm_*.npz"))
    before = {p.relative_to(pkg): p.read_bytes() for p in pkg.rglob("*") if p.is_file()}
    (pkg / "stats" / "toy.py").write_text(_TOY_MODULE, encoding="utf-8")
    registry_py = pkg / "_registry.py"
    text = registry_py.read_text(encoding="utf-8")
    text = text.replace("from .stats.thin_shell import ThinShellResult\n",
                        "from .stats.thin_shell import ThinShellResult\nfrom .stats.toy import ToyResult, toy\n")
    anchor = "\n)\n\n#: Test names, in registry order"
    assert anchor in text
    registry_py.write_text(text.replace(anchor, "\n" + _TOY_ENTRY.rstrip("\n") + anchor), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    gen = subprocess.run([sys.executable, "-m", "gaussprobe._schema", "--write"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
    assert gen.returncode == 0, gen.stderr
    changed = sorted(str(p) for p in (f.relative_to(pkg) for f in pkg.rglob("*") if f.is_file()
                                      and "__pycache__" not in f.parts) if before.get(p) != (pkg / p).read_bytes())
    assert changed == ["_registry.py", "criteria.py", "report.py", "report_schema.json", "stats/toy.py"]
    run = subprocess.run([sys.executable, "-c", _TOY_CHECK, str(tmp_path / "x.npy")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]
