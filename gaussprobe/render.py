"""Render a :class:`~gaussprobe.report.GaussianityReport` as Markdown or as one self-contained HTML page.

Markdown is the form for CI job summaries and pull-request comments; HTML adds the diagnostic plots
(inline PNG or SVG, no external resources, no scripts) and reads well on a phone. Every surface (the
text summary of ``report.summary()``, Markdown, HTML and the notebook view) shows the same rows,
:func:`rows`, which the registry of statistics (:mod:`gaussprobe._registry`) defines: the same labels,
values, units and rounding, each value next to what an exact Gaussian sample of the same size gives
(mean and 95% band, from :mod:`gaussprobe._reference`). Nothing here computes a statistic: the values,
references and plotted points are read from the report's result objects.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import _registry as registry
from ._reference import Reference
from ._registry import format_band, format_value

#: p-value calibrations that need no mention beside the value.
_PLAIN_CALIBRATIONS = ("", "asymptotic", "exact moments")


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the summary, as every surface shows it.

    Attributes
    ----------
    section : str
        The row's section (the registry entry's title).
    name : str
        The row label.
    value : float or None
        The value (None: not computed).
    text : str
        The value in the metric's format (:func:`gaussprobe._registry.format_value`).
    reference : str
        What an exact Gaussian of the same ``(n, d)`` gives (``mean [95%: low, high]``), or how to
        read the value; for a p-value that is not shown, why.
    note : str
        A caveat from the result (why a p-value is not shown, where a test has no power).
    metric : str
        The registry metric behind the row (a criterion name for those a limit can be set on).
    band : Reference or None
        The Gaussian reference band, when there is one (values outside it are marked in HTML).
    pvalue : bool
        Whether the value is a p-value (uniform under the null; marked in HTML below the level).
    """

    section: str
    name: str
    value: float | None
    text: str
    reference: str
    note: str = ""
    metric: str = ""
    band: Reference | None = None
    pvalue: bool = False


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _row(m: registry.Metric, report: Any) -> Row | None:
    result = m.result_of(report)
    if result is None:
        return None
    value = m.value(report)
    band = m.reference_of(report)
    note = ""
    if m.uninformative(report):
        reference = "uninformative"
        note = "constant norms (normalised input): the norm statistics say nothing about Gaussianity here"
    elif band is not None and _finite(band.mean):
        reference = format_band(band, m.fmt) + m.reference_suffix
    else:
        text = m.reference_text(result) if callable(m.reference_text) else m.reference_text
        reference = text + m.reference_suffix if text else m.reference_suffix.removeprefix("; ")
    is_pvalue = m.fmt == "pvalue"
    test = m.test_result_of(report)
    if is_pvalue and test is not None:
        calibration = str(getattr(test, "calibration", "") or "")
        test_note = str(getattr(test, "note", "") or "")
        if value is None or math.isnan(value):
            reference = f"not shown ({calibration or 'not computed'})"
            note = test_note
            value = None
        elif calibration not in _PLAIN_CALIBRATIONS:
            reference += f" (null: {calibration})"
        if m.informative is not None and not m.is_informative(report):
            note = test_note
    return Row(section=m.section, name=m.label, value=value, text=m.format(value), reference=reference,
               note=note, metric=m.name, band=None if m.uninformative(report) else band, pvalue=is_pvalue)


def rows(report: Any) -> list[Row]:
    """The summary rows of ``report``: one per registry metric whose test ran, in registry order."""
    return [r for m in registry.METRICS.values() if (r := _row(m, report)) is not None]


def details(report: Any) -> list[tuple[str, str]]:
    """``(section, line)`` lines that name what the rows summarise (the worst coordinates, directions)."""
    out: list[tuple[str, str]] = []
    for entry in registry.STATISTICS:
        result = getattr(report, entry.fields[0][0], None)
        if result is not None and entry.details is not None:
            out += [(entry.title, line) for line in entry.details(result)]
    return out


def _fmt(value: Any) -> str:
    """A number in the general format (:func:`gaussprobe._registry.format_value`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return format_value(value, "count")
    return format_value(value)


def _status_word(result: Any, fail: str) -> str:
    """``pass``, the failure word, or the criterion's own status when it is neither."""
    status = getattr(result, "status", "")
    if status in ("not applicable", "uninformative", "not computed"):
        return status if result.passed else f"{fail or 'FAIL'}: {status}".strip()
    return "pass" if result.passed else fail or "FAIL"


def interpretation(report: Any) -> list[str]:
    """A few plain sentences that say what the numbers mean."""
    out: list[str] = []
    d = report.n_features
    ts, tsc, co, pr, di = (report.thin_shell, report.thin_shell_centered, report.coordinates,
                           report.projections, report.distance)
    if ts is not None:
        if ts.constant_norms:
            out.append("All norms are equal: the embeddings are L2-normalised, so the norm statistics say "
                       "nothing about Gaussianity; read the coordinate and projection tests (which do not "
                       "depend on scale), or analyse the raw vectors from before the normalisation.")
        else:
            shell = "a thin shell, as the paper's theory predicts" if ts.cv <= 0.1 else "no thin shell"
            out.append(f"Norms: CV {format_value(ts.cv)}, {format_value(ts.cv_ratio)} times that of an isotropic "
                       f"Gaussian in {d} dimensions ({format_value(ts.cv_gaussian)}); {shell} (the paper's "
                       "cut-off is 0.1).")
        if tsc is not None and not ts.constant_norms and tsc.cv > 1.25 * ts.cv:
            out.append(f"After centring, the norm CV rises to {format_value(tsc.cv)}: the embeddings share a "
                       "large mean vector (they sit in a narrow cone), which makes the uncentred norms look "
                       "more concentrated than the distribution around its mean is.")
    if co is not None:
        verdict = "consistent with Gaussian marginals" if co.ad_mean < 0.6 else "clearly non-Gaussian marginals"
        out.append(f"Coordinates: mean A^2 {format_value(co.ad_mean)} (about 0.37 for Gaussian data, "
                   f"{format_value(co.ad_critical_value)} is the {format_value(co.alpha, 'percent')} critical "
                   f"value) and {format_value(co.ad_pass_fraction, 'percent')} of coordinates pass (about "
                   f"{format_value(co.expected_pass_fraction, 'percent')} would for Gaussian data): {verdict}.")
    if pr is not None:
        out.append(f"Random directions: {format_value(pr.rejected_fraction, 'percent')} of projections are "
                   f"rejected at {pr.alpha:g} (about {format_value(pr.alpha, 'percent')} for Gaussian data); "
                   f"combined p-value {format_value(pr.combined_test.pvalue, 'pvalue')}. Every one-dimensional "
                   "projection of a Gaussian is Gaussian, so many rejections rule a Gaussian out.")
    if di is not None:
        if di.rank < d:
            out.append(f"The covariance has rank {di.rank} of {d}: {d - di.rank} direction(s) carry no variance. "
                       "Tests that need a full-rank covariance were skipped (see Skipped); run them on "
                       f"gaussprobe.principal_projection(x, n_components={di.rank}).")
        sp = di.spectrum
        ref = sp.participation_ratio_reference
        gauss = ("an isotropic Gaussian spreads it over nearly all" if ref is None else
                 f"an exact Gaussian sample of this size gives {format_value(ref.mean)}, 95% band "
                 f"{format_value(ref.low)}-{format_value(ref.high)}, because n is finite")
        out.append(f"Spectrum: participation ratio {format_value(sp.participation_ratio)} of {d} -- the variance "
                   f"is spread over about {sp.participation_ratio:.0f} effective directions ({gauss}).")
    return out


def skipped_lines(report: Any) -> list[tuple[str, str]]:
    """``(test, message)`` of every skipped test."""
    return [(name, skip.message) for name, skip in report.skipped.items()]


def _provenance(report: Any) -> str:
    parts = [f"n = {format_value(report.n_samples, 'count')}", f"d = {format_value(report.n_features, 'count')}",
             f"backend {report.backend} on {report.device}", f"{report.compute_dtype}", f"seed {report.seed}",
             f"gaussprobe {report.gaussprobe_version}"]
    return ", ".join(parts)


def text_summary(report: Any) -> str:
    """The fixed-width table of ``report.summary()``."""
    from ._summary import format_summary

    return format_summary(report)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _reference_cell(row: Row) -> str:
    return f"{row.reference}: {row.note}" if row.note else row.reference


def check_rows(outcome: Any) -> list[tuple[Any, str, str, str]]:
    """``(criterion result, operator, observed, limit)`` per criterion, failures first, the numbers in
    the format of the criterion's rows."""
    return [(r, "<=" if r.kind == "max" else ">=", r.format(r.observed), r.format(r.limit))
            for r in sorted(outcome.results, key=lambda r: r.passed)]


def to_markdown(report: Any, *, outcome: Any = None, title: str | None = None, source: str | None = None,
                notes: Iterable[str] = (), explain: bool = True) -> str:
    """The report as GitHub-flavoured Markdown (summary table, check verdict, skipped tests, notes).

    Parameters
    ----------
    report : GaussianityReport
    outcome : CheckOutcome, optional
        The verdict of ``report.check(...)``; rendered first, failures on top.
    title : str, optional
        A heading (default "Gaussianity report").
    source : str, optional
        Where the embeddings came from (a file name), shown under the heading.
    notes : iterable of str
        Extra lines (warnings, dropped rows...).
    explain : bool
        Include the plain-language reading of the numbers.
    """
    lines = [f"## {title or 'Gaussianity report'}", ""]
    if source:
        lines += [f"Input: `{source}`  ", ""]
    lines += [f"_{_provenance(report)}_", ""]
    if outcome is not None:
        verdict = "PASSED" if outcome.passed else f"FAILED ({len(outcome.failures)} of {len(outcome.results)})"
        icon = ":white_check_mark:" if outcome.passed else ":x:"
        lines += [f"### Check: {icon} {verdict}", "", "| criterion | observed | limit | result |",
                  "|---|---:|---:|---|"]
        for r, op, observed, limit in check_rows(outcome):
            note = f" ({_md_escape(r.note)})" if r.note else ""
            lines.append(f"| `{r.name}` | {observed} | {op} {limit} | {_status_word(r, '**FAIL**')}{note} |")
        lines.append("")
    lines += ["### Summary", "", "| | statistic | value | exact Gaussian, same n and d: mean [95% band] |",
              "|---|---|---:|---|"]
    section = None
    for row in rows(report):
        label = row.section if row.section != section else ""
        section = row.section
        lines.append(f"| {label} | {_md_escape(row.name)} | {row.text} | {_md_escape(_reference_cell(row))} |")
    lines.append("")
    found = details(report)
    if found:
        lines += ["### Least Gaussian coordinates and directions", ""]
        lines += [f"- {_md_escape(section)}: {_md_escape(line)}" for section, line in found]
        lines.append("")
    skipped = skipped_lines(report)
    if skipped:
        lines += ["### Skipped tests", ""]
        lines += [f"- **{k}**: {_md_escape(v)}" for k, v in skipped]
        lines.append("")
    notes = list(notes)
    if notes:
        lines += ["### Notes", ""] + [f"- {_md_escape(n)}" for n in notes] + [""]
    if explain:
        reading = interpretation(report)
        if reading:
            lines += ["### How to read this", ""] + [f"- {s}" for s in reading] + [""]
    return "\n".join(lines)


_CSS = """
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:0 auto;padding:12px;max-width:960px;color:#1d232a;background:#fff}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1.2em 0 .4em;border-bottom:1px solid #dde}
h3{font-size:1.05em;margin:1em 0 .3em}
.meta{color:#555;font-size:.9em}.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{padding:6px 8px;border-bottom:1px solid #e5e7eb;
text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#126b2f;font-weight:600}.fail{color:#b3261e;font-weight:700}
.verdict{padding:10px 12px;border-radius:6px;margin:.6em 0;font-weight:600}
.verdict.pass{background:#e7f6ec}.verdict.fail{background:#fdecea}
.out{background:#fdecea;color:#9c1f17;font-weight:700}.out::after{content:" \\25B2"}
.lowp{background:#fff3dc;color:#7a4300;font-weight:700}.lowp::after{content:" \\25BC"}
.legend{font-size:.88em;color:#333}.legend span{padding:0 4px;border-radius:3px}
tr.worst td{font-weight:600}
nav.toc{background:#f6f7f9;border-radius:6px;padding:6px 12px;margin:.6em 0;font-size:.92em}
nav.toc ul{margin:.2em 0;padding-left:1.2em;columns:2 14em}
figure{margin:1em 0}figure img{display:block;width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444;margin-top:.3em}ul{padding-left:1.2em}
@media (max-width:600px){body{padding:8px;font-size:15px}th,td{padding:4px 5px}}
"""

#: Detail sections of the HTML page after the summary: (id, heading), in page order.
_DETAIL_SECTIONS = (("norms", "Norms"), ("coordinates", "Coordinates"), ("projections", "Random projections"),
                    ("principal-directions", "Principal directions"), ("pursuit", "Projection pursuit"),
                    ("spectrum", "Spectrum"))
_FIGURE_GROUP_SECTION = {"norms": "norms", "coordinates": "coordinates", "projections": "projections",
                         "principal_directions": "principal-directions", "pursuit": "pursuit",
                         "spectrum": "spectrum"}


def _outside(value: Any, ref: Any) -> bool:
    """Whether ``value`` lies outside the 95% band ``[ref.low, ref.high]`` (False when either is missing)."""
    if ref is None or not _finite(value) or not (_finite(ref.low) and _finite(ref.high)):
        return False
    return not float(ref.low) <= float(value) <= float(ref.high)


def _mark(value: Any, *, ref: Any = None, pvalue_level: float | None = None) -> str:
    """The CSS class of a value: ``out`` outside its Gaussian band, ``lowp`` a p-value below the level."""
    if _outside(value, ref):
        return "out"
    if pvalue_level is not None and _finite(value) and float(value) < pvalue_level:
        return "lowp"
    return ""


def _num(text: str, cls: str = "", title: str = "") -> str:
    attr = f' title="{html.escape(title)}"' if title and cls else ""
    return f'<td class="num{" " + cls if cls else ""}"{attr}>{html.escape(text)}</td>'


def _legend(alpha: float) -> str:
    return ('<p class="legend"><span class="out">value</span> outside the 95% band of an exact Gaussian of '
            'the same n and d (the reference column); <span class="lowp">p-value</span> below '
            f"&alpha; = {_fmt(alpha)} (in the tables of single coordinates or directions: below "
            "&alpha;/m, Bonferroni over the m tested, since the worst of many is shown). A mark points "
            "at where to look; only a check passes judgement.</p>")


def _table(header: Sequence[str], body: Iterable[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f'<div class="scroll"><table><tr>{head}</tr>' + "".join(body) + "</table></div>"


def _p(value: Any, level: float) -> str:
    return _num(format_value(value, "pvalue"), _mark(value, pvalue_level=level))


def _coordinates_detail(report: Any, alpha: float) -> list[str]:
    co = report.coordinates
    if co is None:
        return []
    level = alpha / max(co.n_features, 1)
    body = []
    for j in (int(w) for w in co.worst_coordinates):
        cells = [_num(_fmt(co.ad_statistics[j])), _p(co.ad_pvalues[j], level), _p(co.dp_pvalues[j], level)]
        cells += [_num(_fmt(getattr(co, f)[j])) for f in ("skewness", "excess_kurtosis", "skewness_z", "kurtosis_z")]
        body.append(f'<tr><td class="num">{j}</td>{"".join(cells)}</tr>')
    return ["<h3>Least Gaussian coordinates (smallest AD p-values)</h3>",
            _table(("coordinate", "A^2", "AD p-value", "DP p-value", "skewness", "excess kurtosis",
                    "skewness z", "kurtosis z"), body)]


def _projections_detail(report: Any, alpha: float) -> list[str]:
    pr = report.projections
    if pr is None or pr.worst_directions is None:
        return []
    level = alpha / max(pr.n_projections, 1)
    body = [f'<tr><td class="num">#{int(i)}</td>{_num(_fmt(pr.ad_statistics[i]))}{_p(pr.ad_pvalues[i], level)}'
            f"{_num(_fmt(pr.dp_statistics[i]))}{_p(pr.dp_pvalues[i], level)}</tr>" for i in pr.worst_directions]
    return [f"<h3>Least Gaussian random projections ({len(body)} of {pr.n_projections})</h3>",
            _table(("direction", "A^2", "AD p-value", "DP K^2", "DP p-value"), body)]


def _principal_detail(report: Any, alpha: float) -> list[str]:
    pdr = report.principal_directions
    if pdr is None or not len(pdr.ad_pvalues):
        return []
    level = alpha / len(pdr.ad_pvalues)
    worst = (pdr.worst.end, pdr.worst.rank, pdr.worst.fold)
    body = []
    for i in range(len(pdr.ad_pvalues)):
        cells = [f"<td>{html.escape(pdr.ends[i])}</td>", _num(_fmt(int(pdr.ranks[i]))),
                 _num(_fmt(int(pdr.folds[i]) + 1)), _num(_fmt(pdr.direction_eigenvalues[i])),
                 _num(_fmt(pdr.ad_statistics[i])), _p(pdr.ad_pvalues[i], level), _p(pdr.dp_pvalues[i], level),
                 _num(_fmt(pdr.skewness[i])), _num(_fmt(pdr.excess_kurtosis[i]))]
        tr = '<tr class="worst">' if (pdr.ends[i], int(pdr.ranks[i]), int(pdr.folds[i])) == worst else "<tr>"
        body.append(f'{tr}{"".join(cells)}</tr>')
    combined = pdr.combined_test.pvalue
    summary = (f'<p>Combined p-value (sample splitting) <span class="{_mark(combined, pvalue_level=alpha)}">'
               f"{format_value(combined, 'pvalue')}</span>; Bonferroni {format_value(pdr.bonferroni_pvalue, 'pvalue')}; "
               f"{pdr.n_above_edge} eigenvalue(s) above and {pdr.n_below_edge} below the Marchenko-Pastur bulk "
               f"[{_fmt(pdr.mp_lower_edge)}, {_fmt(pdr.mp_upper_edge)}].</p>")
    return [summary, "<h3>Tested directions (estimated on one half, tested on the other; worst in bold)</h3>",
            _table(("end", "rank", "estimated on half", "eigenvalue", "A^2", "AD p-value", "DP p-value",
                    "skewness", "excess kurtosis"), body)]


@dataclass(frozen=True, slots=True)
class _SymmetricBand:
    """The band ``[-q, q]`` (for a statistic whose null is given as a quantile of its absolute value)."""

    high: float

    @property
    def low(self) -> float:
        return -self.high


def _pursuit_detail(report: Any, alpha: float) -> list[str]:
    pu = report.pursuit
    if pu is None:
        return []
    best, test = pu.best, pu.test

    def sym(q: float) -> _SymmetricBand | None:  # |statistic| <= q95 of the search on Gaussian noise
        return _SymmetricBand(float(q)) if _finite(q) else None

    body = [
        ("p-value of the best contrast (Monte-Carlo null of the same search)", _p(test.pvalue, alpha),
         f"uniform on [0, 1]; calibration {test.calibration}"),
        ("best contrast statistic", _num(_fmt(test.statistic)), f"contrast: {pu.best_contrast}"),
        ("skewness of the projection", _num(_fmt(best.skewness), _mark(best.skewness, ref=sym(pu.null_skewness_q95))),
         f"search on Gaussian noise: |skewness| <= {_fmt(pu.null_skewness_q95)} (95%)"),
        ("excess kurtosis of the projection",
         _num(_fmt(best.excess_kurtosis), _mark(best.excess_kurtosis, ref=sym(pu.null_kurtosis_q95))),
         f"search on Gaussian noise: |excess kurtosis| <= {_fmt(pu.null_kurtosis_q95)} (95%)"),
        ("variance of the projection", _num(_fmt(best.eigenvalue)), "input units"),
        ("A^2 of the projection", _num(_fmt(best.ad_statistic)),
         "its AD/DP p-values ignore the search and are not shown"),
        ("informative at this (n, d)", f'<td class="num">{pu.informative}</td>',
         "whether the search stands out of what it finds in noise"),
        ("null draws", _num(_fmt(pu.n_null)), ""),
    ]
    out = [_table(("statistic", "value", "reference"),
                  (f"<tr><td>{html.escape(n)}</td>{cell}<td>{html.escape(ref)}</td></tr>" for n, cell, ref in body))]
    if test.note:
        out.append(f'<p class="meta">{html.escape(test.note)}</p>')
    return out


def to_html(report: Any, x: Any = None, *, outcome: Any = None, title: str | None = None,
            source: str | None = None, notes: Sequence[str] = (), plots: bool = True,
            image_format: str = "png", rng: Any = None) -> str:
    """One self-contained HTML page: summary, verdict, reading of the numbers and the diagnostic plots.

    The page starts with a table of contents. Values outside the 95% band of an exact Gaussian of the
    same (n, d), and p-values below the level, are marked (classes ``out`` and ``lowp``, with a
    legend). After the summary come one section per family: norms (their histograms against chi(d)),
    coordinates (the worst, by AD p-value: table, QQ plots, histograms, and the per-coordinate A²
    against its null law), random projections (the same for the worst directions, and the p-values
    over all directions), principal directions (QQ plots and histograms of the top ones, every tested
    direction in a table), the projection pursuit (its statistics, the QQ plot and histogram of the
    direction found) and the spectrum. Every plot is drawn from the report's result objects.

    Parameters
    ----------
    report : GaussianityReport
    x : array, optional
        Not used: every plot is drawn from the report's results (accepted so that callers that pass
        the embeddings keep working).
    outcome : CheckOutcome, optional
        The verdict of ``report.check(...)``.
    title, source, notes
        As in :func:`to_markdown`.
    plots : bool
        Include the plots (needs matplotlib).
    image_format : {"png", "svg"}
        How plots are inlined.
    rng : optional
        Not used (the null of A² is the test's own null law, not a simulation); accepted for callers
        that pass a seed.
    """
    del x, rng  # every plot is drawn from the results
    esc = html.escape
    title = title or "Gaussianity report"
    alpha = float(report.alpha)
    sections: list[tuple[str, str, list[str]]] = []
    if outcome is not None:
        cls = "pass" if outcome.passed else "fail"
        verdict = "PASSED" if outcome.passed else f"FAILED ({len(outcome.failures)} of {len(outcome.results)})"
        body = [f'<div class="verdict {cls}">Check {verdict}</div>', '<div class="scroll"><table>',
                "<tr><th>criterion</th><th>observed</th><th>limit</th><th>result</th></tr>"]
        for r, op, observed, limit in check_rows(outcome):
            status = (f'<span class="pass">{_status_word(r, "")}</span>' if r.passed
                      else f'<span class="fail">{_status_word(r, "FAIL")}</span>')
            note = f"<br><small>{esc(r.note)}</small>" if r.note else ""
            body.append(f"<tr><td><code>{esc(r.name)}</code><br><small>{esc(r.description)}</small></td>"
                        f'<td class="num">{esc(observed)}</td><td class="num">{esc(op)} {esc(limit)}</td>'
                        f"<td>{status}{note}</td></tr>")
        body.append("</table></div>")
        sections.append(("check", "Check", body))
    body = [_legend(alpha), '<div class="scroll"><table>',
            "<tr><th>statistic</th><th>value</th><th>exact Gaussian, same n and d: mean [95% band]</th></tr>"]
    section = None
    for row in rows(report):
        if row.section != section:
            section = row.section
            body.append(f'<tr><th colspan="3">{esc(section)}</th></tr>')
        cls = _mark(row.value, ref=row.band, pvalue_level=alpha if row.pvalue else None)
        hint = "outside the Gaussian 95% band" if cls == "out" else f"below alpha = {_fmt(alpha)}"
        body.append(f"<tr><td>{esc(row.name)}</td>{_num(row.text, cls, hint)}<td>{esc(_reference_cell(row))}</td></tr>")
    body.append("</table></div>")
    sections.append(("summary", "Summary", body))
    reading = interpretation(report)
    if reading:
        sections.append(("reading", "How to read this", ["<ul>", *(f"<li>{esc(s)}</li>" for s in reading),
                                                         "</ul>"]))
    skipped = skipped_lines(report)
    if skipped:
        sections.append(("skipped", "Skipped tests", ["<ul>", *(f"<li><b>{esc(k)}</b>: {esc(v)}</li>"
                                                                 for k, v in skipped), "</ul>"]))
    if notes:
        sections.append(("notes", "Notes", ["<ul>", *(f"<li>{esc(n)}</li>" for n in notes), "</ul>"]))
    detail: dict[str, list[str]] = {
        "coordinates": _coordinates_detail(report, alpha), "projections": _projections_detail(report, alpha),
        "principal-directions": _principal_detail(report, alpha), "pursuit": _pursuit_detail(report, alpha)}
    figures: dict[str, list[str]] = {}
    if plots:
        from .plotting import figure_to_data_uri, report_figure_groups

        for group, figs in report_figure_groups(report).items():
            out = figures.setdefault(_FIGURE_GROUP_SECTION.get(group, group), [])
            for caption, fig in figs.items():
                uri = figure_to_data_uri(fig, image_format=image_format)
                out.append(f'<figure><img src="{uri}" alt="{esc(caption)}">'
                           f"<figcaption>{esc(caption)}</figcaption></figure>")
    for sid, heading in _DETAIL_SECTIONS:
        body = detail.get(sid, []) + figures.get(sid, [])
        if body:
            sections.append((sid, heading, body))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>"]
    if source:
        parts.append(f'<p class="meta">Input: <code>{esc(source)}</code></p>')
    parts.append(f'<p class="meta">{esc(_provenance(report))}; generated '
                 f'{_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}</p>')
    parts += ['<nav class="toc" aria-label="Contents"><b>Contents</b><ul>',
              *(f'<li><a href="#{sid}">{esc(heading)}</a></li>' for sid, heading, _ in sections), "</ul></nav>"]
    for sid, heading, body in sections:
        parts += [f'<section id="{sid}"><h2>{esc(heading)}</h2>', *body, "</section>"]
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["Row", "check_rows", "details", "interpretation", "rows", "skipped_lines", "text_summary", "to_html",
           "to_markdown"]
