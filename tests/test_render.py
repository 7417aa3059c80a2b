"""Markdown/HTML rendering, plots, the JSON schema, and the HTML page in a real headless browser."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import warnings
from importlib import resources

import numpy as np
import pytest

from gaussprobe._registry import format_value as _fmt
from gaussprobe.render import interpretation, rows, to_html, to_markdown

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).standard_normal((600, 12))


@pytest.fixture(scope="module")
def report(data):
    from gaussprobe.report import analyze

    return analyze(data, rng=0, n_projections=32)


@pytest.fixture(scope="module")
def rank_deficient():
    from gaussprobe import RankDeficiencyWarning
    from gaussprobe.report import analyze

    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 7))
    x = np.hstack([x, x[:, :1] - x[:, 1:2]])  # rank 7 of 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficiencyWarning)
        return x, analyze(x, rng=0, n_projections=32)


# ---------------------------------------------------------------- Markdown
def test_markdown_summary_and_check(report):
    from gaussprobe.criteria import Criteria

    md = to_markdown(report, source="emb.npy", notes=["a note | with a pipe"])
    assert md.startswith("## Gaussianity report")
    assert "Input: `emb.npy`" in md
    assert "| Coordinates | mean Anderson-Darling A^2 |" in md
    assert "a note \\| with a pipe" in md  # pipes escaped inside tables and lists
    assert "### How to read this" in md
    outcome = report.check(Criteria(max_cv=0.01, max_ad_mean=0.752))
    md = to_markdown(report, outcome=outcome)
    assert ":x: FAILED (1 of 2)" in md
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `max_cv` |")  # failures first
    assert "**FAIL**" in rows[0]
    # every table row has the same number of cells as its header
    for block in re.findall(r"(\|.*\|\n)+", md):
        cells = {line.count("|") - line.count("\\|") for line in block.strip().splitlines()}
        assert len(cells) == 1, block


def test_skipped_tests_are_listed(rank_deficient):
    _, rep = rank_deficient
    md = to_markdown(rep)
    assert "### Skipped tests" in md
    assert "numerical rank 7" in md
    assert any("rank 7 of 8" in s for s in interpretation(rep))


def test_metrics_values_match_the_report(report):
    values = {m.name: m.value for m in rows(report)}
    assert values["norm CV (uncentred, paper Eq. 20)"] == report.thin_shell.cv
    assert values["mean Anderson-Darling A^2"] == report.coordinates.ad_mean
    assert values["rejected fraction (DP, p < alpha)"] == report.projections.rejected_fraction
    assert values["covariance rank"] == 12


def test_normalised_embeddings_are_explained():
    from gaussprobe._warnings import UninformativeWarning
    from gaussprobe.report import analyze

    x = np.random.default_rng(2).standard_normal((400, 10))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    with pytest.warns(UninformativeWarning, match="constant norms"):
        rep = analyze(x, rng=0, tests=["thin_shell", "coordinates"])
    assert rep.thin_shell.constant_norms and not rep.thin_shell_centered.constant_norms
    assert any("L2-normalised" in s for s in interpretation(rep))
    row = {m.name: m for m in rows(rep)}["norm CV (uncentred, paper Eq. 20)"]
    assert row.reference == "uninformative" and "constant norms (normalised input)" in row.note
    assert row.band is None  # not marked against a band it cannot be compared with
    assert "constant norms (normalised input)" in rep.summary()


def test_references_are_the_gaussian_of_the_same_size():
    """n ~ d: the references are the Marchenko-Pastur values of the sample, not d, 1 or 0."""
    from gaussprobe.report import analyze

    x = np.random.default_rng(4).standard_normal((553, 384))
    rep = analyze(x, rng=0, n_projections=16, tests=["thin_shell", "coordinates", "projections", "distance"])
    sp, bw = rep.distance.spectrum, rep.distance.bures_wasserstein
    by_name = {m.name: m for m in rows(rep)}
    for name, ref in (("participation ratio", sp.participation_ratio_reference),
                      ("condition number", sp.condition_number_reference),
                      ("effective rank", sp.effective_rank_reference),
                      ("normalised Bures-Wasserstein [0, 1]", bw.normalized_reference)):
        assert by_name[name].reference.startswith(f"{_fmt(ref.mean)} [95%: ")
        assert ref.contains(by_name[name].value), name
    assert 215 < sp.participation_ratio_reference.mean < 235  # not "close to 384"
    assert "close to" not in to_markdown(rep) and "0 = isotropic" not in to_markdown(rep)
    text = rep.summary()
    assert f"{_fmt(sp.participation_ratio_reference.mean)} [" in text
    assert "exact Gaussian (same n, d): mean [95%]" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    co = rep.coordinates
    assert by_name["D'Agostino-Pearson pass fraction"].reference.startswith(
        f"{100 * co.dp_pass_fraction_reference.mean:.1f}%")
    assert by_name["CV ratio (centred / chi(d))"].reference.startswith(
        f"{_fmt(rep.thin_shell_centered.cv_ratio_reference.mean)} [95%: ")


# ---------------------------------------------------------------- HTML
#: Images of the page of the `report` fixture, all drawn from its results: norms 2, coordinates 3
#: (QQ, histograms, A^2), projections 4 (QQ, histograms, A^2, p-values), principal directions 2,
#: pursuit 2 (QQ, histogram), spectrum 1. The page is the same with or without the embeddings.
N_IMAGES = 14
IMG_TAG = '<img src="data:image/png;base64,'


@pytest.fixture(scope="module")
def page(report):
    return to_html(report, source="emb.npy")


@pytest.fixture(scope="module")
def skewed_page():
    from gaussprobe.report import analyze

    x = np.random.default_rng(5).exponential(size=(600, 12))
    rep = analyze(x, rng=0, n_projections=12)
    return rep, to_html(rep)


def _section(page, sid):
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, flags=re.DOTALL)
    assert m is not None, sid
    return m.group(1)


def _summary_cells(page):
    """(statistic, class) of every value cell of the summary table."""
    return re.findall(r'<tr><td>([^<]*)</td><td class="num ?([a-z]*)"', _section(page, "summary"))


def test_html_is_self_contained(report, data, page):
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from elsewhere
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == N_IMAGES
    import base64

    assert all(base64.b64decode(b).startswith(b"\x89PNG") for b in images)
    # the embeddings add nothing: every plot is drawn from the report's results
    assert len(re.findall(r"<img ", to_html(report, data))) == N_IMAGES
    assert "<img" not in to_html(report, plots=False)
    svg = to_html(report, plots=True, image_format="svg")
    assert "data:image/svg+xml;base64," in svg


def test_html_sections_and_images(report, page):
    expected = {"summary": 0, "reading": 0, "norms": 2, "coordinates": 3, "projections": 4,
                "principal-directions": 2, "pursuit": 2, "spectrum": 1}
    for sid, n_images in expected.items():
        assert _section(page, sid).count(IMG_TAG) == n_images, sid
    assert page.count(IMG_TAG) == N_IMAGES
    # the worst coordinates are plotted and tabulated (sorted by AD p-value), from the stored points
    coords = _section(page, "coordinates")
    listed = [int(j) for j in re.findall(r'<tr><td class="num">(\d+)</td>', coords)]
    assert listed == [int(j) for j in report.coordinates.worst_coordinates]
    assert "QQ plots of the least Gaussian coordinates" in coords
    assert "Histograms of the least Gaussian coordinates" in coords
    principal = _section(page, "principal-directions")
    assert "QQ plots of the top principal directions" in principal
    assert "Histograms of the top principal directions" in principal
    assert principal.count('<tr class="worst">') == 1
    assert len(re.findall(r"<tr( class=\"worst\")?><td>(top|bottom)</td>", principal)) == len(
        report.principal_directions.ad_pvalues)
    # the pursuit: its statistics as a table, and the QQ plot and histogram of the direction found
    pursuit = _section(page, "pursuit")
    best = report.pursuit.best
    for value in (best.skewness, best.excess_kurtosis):
        assert f">{_fmt(value)}</td>" in pursuit
    assert f">{_fmt(report.pursuit.test.pvalue, 'pvalue')}</td>" in pursuit
    assert "QQ plot of the least Gaussian direction" in pursuit and "not stored" not in page
    # without plots the tables stay and no image is drawn
    bare = to_html(report, plots=False)
    assert IMG_TAG not in bare and '<section id="principal-directions">' in bare
    assert "<img" not in bare


def test_html_random_projection_section_shows_the_worst_directions(report, page):
    section = _section(page, "projections")
    listed = [int(i) for i in re.findall(r'<td class="num">#(\d+)</td>', section)]
    pvalues = report.projections.ad_pvalues
    assert listed == [int(i) for i in report.projections.worst_directions]
    assert listed == [int(i) for i in np.argsort(pvalues, kind="stable")[:5]]
    assert "direction 1<" not in section and "Per-direction Anderson" in section
    assert "QQ plots of the least Gaussian random projections" in section


def test_html_table_of_contents_links_resolve(report, page):
    from gaussprobe.criteria import Criteria

    for html_page in (page, to_html(report, plots=False,
                                    outcome=report.check(Criteria(max_cv=0.01)), notes=["n"])):
        nav = re.search(r'<nav class="toc"[^>]*>(.*?)</nav>', html_page, flags=re.DOTALL)
        assert nav is not None
        assert html_page.index("<nav") < html_page.index("<h2")  # at the top, before every section
        links = re.findall(r'href="#([^"]+)"', nav.group(1))
        ids = re.findall(r'\sid="([^"]+)"', html_page)
        assert len(ids) == len(set(ids))  # ids are unique
        assert links and set(links) == set(ids)  # every link resolves, every section is listed
        assert links == [i for i in ids if i in links]  # in page order
    assert "check" in links and "notes" in links


def test_html_marks_values_outside_the_gaussian_band(skewed_page, page):
    rep, skewed = skewed_page
    cells = dict(_summary_cells(skewed))
    for name in ("A^2 pass fraction", "D'Agostino-Pearson pass fraction", "norm CV (centred)",
                 "normalised Bures-Wasserstein [0, 1]"):
        assert cells[html.escape(name)] == "out", name
    assert cells["Mardia kurtosis p-value"] == "lowp"
    assert rep.coordinates.ad_pass_fraction_reference.low > rep.coordinates.ad_pass_fraction
    assert '<p class="legend">' in skewed and '<span class="out">' in skewed
    assert ".out{" in skewed and ".lowp{" in skewed
    assert 'class="num out"' in _section(skewed, "pursuit")  # its kurtosis beyond the search's null
    # the Gaussian sample: most values sit inside their band, and the legend is still there
    gauss = _summary_cells(page)
    marked = [name for name, cls in gauss if cls]
    assert len(gauss) > 20 and len(marked) <= 3, marked
    assert '<p class="legend">' in page
    assert page.count('class="num out"') + page.count('class="num lowp"') <= 4


def test_html_escapes_text(report):
    page = to_html(report, plots=False, source="<script>alert(1)</script>", notes=["a < b & c"])
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "a &lt; b &amp; c" in page


# ---------------------------------------------------------------- plots
def test_plotting_module_is_lazy_and_leaves_pyplot_alone():
    code = ("import sys, gaussprobe.plotting, gaussprobe.render, gaussprobe.cli\n"
            "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
            "import numpy as np, matplotlib, gaussprobe as gp\n"
            "before = dict.__getitem__(matplotlib.rcParams, 'backend')\n"
            "from gaussprobe.plotting import plot_norms\n"
            "plot_norms(gp.thin_shell(np.random.default_rng(0).standard_normal((50, 3))))\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "assert dict.__getitem__(matplotlib.rcParams, 'backend') == before\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_plotting_computes_no_statistic():
    """The plots read results; the recomputations of A^2, covariances, critical values and the chi CV
    that the module once had are gone."""
    from gaussprobe import plotting

    for gone in ("anderson_darling_columns", "covariance_eigenvalues", "null_ad_statistics", "_chi_cv",
                 "_row_norms", "_host", "AD_CRITICAL_5PCT"):
        assert not hasattr(plotting, gone), gone


def test_ad_null_law_is_the_law_of_the_pvalues():
    """The null curve beside the per-coordinate A^2: its bin masses are differences of the AD p-value
    function, and they match simulated A^2 of Gaussian samples (scipy's statistic) within noise."""
    from scipy import stats

    from gaussprobe.plotting import ad_null_bin_masses

    n = 200
    edges = np.array([0.0, 0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 100.0])
    masses = ad_null_bin_masses(edges, n)
    assert masses.sum() == pytest.approx(1.0, abs=2e-3) and (masses >= 0).all()
    gen = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scipy 1.17 asks for `method=`
        sims = np.array([stats.anderson(gen.standard_normal(n)).statistic for _ in range(4000)])
    observed = np.histogram(sims, bins=edges)[0] / sims.size
    np.testing.assert_allclose(observed, masses, atol=0.02)


def test_plot_functions_return_figures(report):
    from gaussprobe import plotting

    co, pr, pdr, pu = report.coordinates, report.projections, report.principal_directions, report.pursuit
    figs = [plotting.plot_norms(report.thin_shell), plotting.plot_norms(report.thin_shell_centered),
            plotting.plot_coordinate_qq(co), plotting.plot_coordinate_histograms(co),
            plotting.plot_projection_qq(pr), plotting.plot_projection_histograms(pr),
            plotting.plot_principal_direction_qq(pdr), plotting.plot_principal_direction_histograms(pdr),
            plotting.plot_pursuit_qq(pu), plotting.plot_pursuit_histogram(pu),
            plotting.plot_ad_distribution(co.ad_statistics, n_samples=600, critical_value=co.ad_critical_value),
            plotting.plot_spectrum(report.distance.spectrum.eigenvalues)]
    for fig in figs:
        assert fig.axes
        assert plotting.figure_to_data_uri(fig).startswith("data:image/png;base64,")
    fig = plotting.new_figure()
    ax = fig.add_subplot()
    assert plotting.plot_norms(report.thin_shell, ax=ax) is fig


def test_plots_draw_the_stored_points(report):
    """Every QQ plot draws exactly the order statistics its result stores, against its quantiles."""
    from gaussprobe import plotting

    co, pr, pdr, pu = report.coordinates, report.projections, report.principal_directions, report.pursuit
    cases = [(plotting.plot_coordinate_qq, co, co.worst_coordinates, "coord"),
             (plotting.plot_projection_qq, pr, pr.worst_directions, "#"),
             (plotting.plot_principal_direction_qq, pdr, None, None),
             (plotting.plot_pursuit_qq, pu, None, None)]
    for draw, res, order, prefix in cases:
        fig = draw(res)
        values = np.atleast_2d(res.qq_values)
        assert len(fig.axes) == values.shape[0]
        for ax, v in zip(fig.axes, values, strict=True):
            line = ax.get_lines()[0]
            np.testing.assert_array_equal(line.get_xdata(), res.qq_quantiles)
            np.testing.assert_array_equal(line.get_ydata(), v)
        if order is not None:
            assert [ax.get_title().split(":")[0] for ax in fig.axes] == [
                f"{prefix} {int(j)}" if prefix == "coord" else f"#{int(j)}" for j in order]
    assert fig.axes[0].get_title().startswith(pu.best_contrast)
    fig = plotting.plot_principal_direction_qq(pdr)
    assert fig.axes[0].get_title() == f"{pdr.ends[0]} {pdr.ranks[0]}: AD p {pdr.ad_pvalues[0]:.2g}"
    fig = plotting.plot_projection_pvalues(pr.ad_pvalues)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == [f"#{i}" for i in np.argsort(pr.ad_pvalues, kind="stable")[:4]]
    # the norm histograms: the stored order statistics of the norms against sigma chi(d)
    fig = plotting.plot_norms(report.thin_shell)
    drawn = sum(p.get_height() * p.get_width() for p in fig.axes[0].patches)
    assert drawn == pytest.approx(1.0)  # a density of the stored norms
    assert f"CV {_fmt(report.thin_shell.cv)}" in fig.axes[0].get_title()
    groups = plotting.report_figure_groups(report)
    assert list(groups) == ["norms", "coordinates", "projections", "principal_directions", "pursuit", "spectrum"]
    assert len(plotting.report_figures(report)) == N_IMAGES


def test_plots_of_a_report_without_the_stored_points():
    """A report of schema 1.0 has no QQ points: the page leaves those plots out, the calls say why."""
    from pathlib import Path

    from gaussprobe import plotting
    from gaussprobe.report import GaussianityReport

    old = GaussianityReport.from_json(
        (Path(__file__).parent / "data" / "report_schema_1_0.json").read_text(encoding="utf-8"))
    groups = plotting.report_figure_groups(old)
    assert "norms" not in groups and "pursuit" not in groups
    assert list(groups["coordinates"]) == ["Per-coordinate Anderson–Darling statistics"]
    with pytest.raises(ValueError, match="no QQ points"):
        plotting.plot_coordinate_qq(old.coordinates)
    assert to_html(old).count("<img ") == sum(len(g) for g in groups.values())


def test_spectrum_plot_marks_null_directions(rank_deficient):
    from gaussprobe.plotting import plot_spectrum

    _, rep = rank_deficient
    fig = plot_spectrum(rep.distance.spectrum.eigenvalues, rank_tolerance=rep.distance.spectrum.rank_tolerance)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("1 null direction(s)" in s and "rank 7/8" in s for s in labels)


# ---------------------------------------------------------------- JSON schema
@pytest.fixture(scope="module")
def schema():
    jsonschema = pytest.importorskip("jsonschema")
    s = json.loads(resources.files("gaussprobe").joinpath("report_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(s)
    return s


def _validate(instance, schema, definition="report"):
    import jsonschema

    sub = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    jsonschema.Draft202012Validator(sub).validate(instance)


def test_report_json_matches_schema(schema, report, rank_deficient):
    from gaussprobe.report import SCHEMA_VERSION, analyze

    _validate(json.loads(report.to_json()), schema)
    _validate(json.loads(rank_deficient[1].to_json()), schema)
    x = np.random.default_rng(3).standard_normal((200, 5))
    _validate(json.loads(analyze(x, rng=1, tests="all", n_projections=8, n_resamples=9).to_json()), schema)
    assert re.fullmatch(schema["$defs"]["report"]["properties"]["schema_version"]["pattern"], SCHEMA_VERSION)


def test_schema_rejects_a_broken_report(schema, report):
    import jsonschema

    broken = json.loads(report.to_json())
    del broken["coordinates"]["ad_mean"]
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken, schema)


def test_schema_describes_the_gaussian_references(schema, report):
    import jsonschema

    data = json.loads(report.to_json())
    refs = [data["thin_shell_centered"]["cv_ratio_reference"], data["coordinates"]["dp_pass_fraction_reference"],
            data["distance"]["spectrum"]["participation_ratio_reference"],
            data["distance"]["bures_wasserstein"]["normalized_reference"]]
    for ref in refs:
        _validate(ref, schema, "Reference")
        assert ref["low"] <= ref["mean"] <= ref["high"]
    assert data["thin_shell"]["constant_norms"] is False
    props = schema["$defs"]["SpectrumResult"]["properties"]
    assert props["condition_number_reference"]["anyOf"] == [{"$ref": "#/$defs/Reference"}, {"type": "null"}]
    assert "95% band" in props["condition_number_reference"]["description"]  # from the result's docstring
    broken = json.loads(report.to_json())
    del broken["distance"]["spectrum"]["participation_ratio_reference"]["high"]
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken, schema)


def test_cli_json_outputs_match_schema(schema, tmp_path, data):
    from gaussprobe.cli import main

    np.save(tmp_path / "e.npy", data)
    for argv, definition in ((["analyze", "--format", "json"], "report"),
                             (["check", "--format", "json", "--max-cv", "0.01"], "check_output")):
        out = tmp_path / f"{definition}.json"
        code = main([argv[0], str(tmp_path / "e.npy"), *argv[1:], "-o", str(out), "--n-projections", "16"])
        assert code in (0, 1)
        _validate(json.loads(out.read_text()), schema, definition)


# ---------------------------------------------------------------- headless browser
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.slow
def test_html_renders_in_headless_chromium(tmp_path, report, data):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed")
    from matplotlib.image import imread

    page = tmp_path / "report.html"
    page.write_text(to_html(report, source="emb.npy"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--window-size=412,2400",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", page.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert shot.exists(), out.stderr[-2000:]
    img = imread(str(shot))
    assert img.shape[1] == 412  # phone width
    gray = img[..., :3].mean(axis=2)
    assert gray.std() > 0.05  # not blank
    assert (gray < 0.5).mean() > 0.01  # text and plots drew dark pixels
    console = [line for line in out.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    # the page also lays out without horizontal overflow at phone width
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=412,900",
                          f"--user-data-dir={tmp_path / 'profile2'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    assert "Gaussianity report" in dom.stdout
    # every inlined image decodes: a copy of the page with a load handler writes each naturalWidth
    # into the DOM (the report itself has no script)
    probe = tmp_path / "probe.html"
    script = ("<script>window.addEventListener('load', () => { const w = [...document.images]"
              ".map(i => i.complete ? i.naturalWidth : 0); document.body.setAttribute('data-widths', "
              "w.join(',')); });</script>")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", f"{script}</body>"), encoding="utf-8")
    loaded = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=412,900",
                             "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile3'}",
                             "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120,
                            check=False)
    found = re.search(r'data-widths="([0-9,]*)"', loaded.stdout)
    assert found is not None, loaded.stderr[-2000:]
    widths = [int(w) for w in found.group(1).split(",") if w]
    assert len(widths) == N_IMAGES
    assert all(w > 0 for w in widths), widths
    # the table of contents links land on their sections
    for sid in re.findall(r'href="#([^"]+)"', dom.stdout):
        assert f'id="{sid}"' in dom.stdout, sid
