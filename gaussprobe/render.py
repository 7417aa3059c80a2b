"""Render a :class:`~gaussprobe.report.GaussianityReport` as Markdown or as one self-contained HTML page.

Markdown is the form for CI job summaries and pull-request comments; HTML adds the diagnostic plots
(inline PNG or SVG, no external resources, no scripts) and reads well on a phone. Both include the
same table of key numbers, each next to what an exact Gaussian sample of the same size gives (mean and
95% band, from :mod:`gaussprobe._reference`), a
plain-language reading of the numbers, the verdict of a check when one is given, and the tests that
were skipped with the reason.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Metric:
    """One row of the summary table."""

    section: str
    name: str
    value: float | int | None
    reference: str  # what an exact Gaussian of the same (n, d) gives (mean, 95% band), or how to read it


def _status_word(result: Any, fail: str) -> str:
    """``pass``, the failure word, or the criterion's own status when it is neither."""
    status = getattr(result, "status", "")
    if status in ("not applicable", "uninformative", "not computed"):
        return status if result.passed else f"{fail or 'FAIL'}: {status}".strip()
    return "pass" if result.passed else fail or "FAIL"


def _pvalue_row(name: str, test: Any) -> Metric:
    """A p-value row; a p-value that is not shown (not calibrated or not informative) says why."""
    value = _get(test, "pvalue")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        how = _get(test, "calibration") or "not computed"
        return Metric("Multivariate", name, None, f"not shown ({how}): {_get(test, 'note') or ''}".rstrip(": "))
    how = _get(test, "calibration")
    suffix = f" (null: {how})" if how and how not in ("asymptotic", "exact moments") else ""
    return Metric("Multivariate", name, value, f"uniform on [0, 1]{suffix}")


def _get(obj: Any, *paths: str) -> Any:
    """The first attribute path that exists and is not None (tolerates evolving result layouts)."""
    for path in paths:
        cur = obj
        for part in path.split("."):
            cur = getattr(cur, part, None)
            if cur is None:
                break
        if cur is not None:
            return cur
    return None


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.3g}"
    return f"{v:.4g}"


def _band(ref: Any, pct: bool = False) -> str:
    """``mean [low, high]`` of a Gaussian reference (empty when there is none)."""
    if ref is None:
        return ""
    f: Any = (lambda v: f"{100 * float(v):.1f}%") if pct else _fmt
    return f"{f(ref.mean)} [95%: {f(ref.low)}, {f(ref.high)}]"


def metrics(report: Any) -> list[Metric]:
    """The key numbers of a report, each with what an exact Gaussian of the same (n, d) gives."""
    rows: list[Metric] = []
    alpha = _get(report, "alpha") or 0.05
    ts, tsc = _get(report, "thin_shell"), _get(report, "thin_shell_centered")
    if ts is not None:
        rows.append(Metric("Thin shell", "mean norm", _get(ts, "mean"), "scale only"))
        ref = _band(_get(ts, "cv_reference")) or f"{_fmt(_get(ts, 'cv_gaussian'))} for chi(d)"
        if _get(ts, "constant_norms"):
            ref = "uninformative: constant norms (normalised input)"
        rows.append(Metric("Thin shell", "norm CV (uncentred)", _get(ts, "cv"),
                           f"{ref}; the paper's thin shell: <= 0.1"))
    if tsc is not None:
        rows.append(Metric("Thin shell", "norm CV (centred)", _get(tsc, "cv"),
                           _band(_get(tsc, "cv_reference")) or f"{_fmt(_get(tsc, 'cv_gaussian'))} for chi(d)"))
        rows.append(Metric("Thin shell", "CV ratio (centred / chi(d))", _get(tsc, "cv_ratio"),
                           _band(_get(tsc, "cv_ratio_reference")) or "about 1"))
    co = _get(report, "coordinates")
    if co is not None:
        band = _get(co, "pass_fraction_band")
        band_text = f" (99% band {band[0]:.3f}-{band[1]:.3f})" if band is not None else ""
        rows += [
            Metric("Coordinates", "mean Anderson-Darling A^2", _get(co, "ad_mean"),
                   f"about 0.37; critical value {_fmt(_get(co, 'ad_critical_value') or 0.752)}"),
            Metric("Coordinates", "A^2 pass fraction", _get(co, "ad_pass_fraction"),
                   _band(_get(co, "ad_pass_fraction_reference"), pct=True)
                   or f"{_fmt(_get(co, 'expected_pass_fraction') or 1 - alpha)}{band_text}"),
            Metric("Coordinates", "D'Agostino-Pearson pass fraction", _get(co, "dp_pass_fraction"),
                   _band(_get(co, "dp_pass_fraction_reference"), pct=True) or f"{_fmt(1 - alpha)}{band_text}"),
            Metric("Coordinates", "mean D'Agostino-Pearson p-value", _get(co, "dp_mean_pvalue"), "about 0.5"),
            Metric("Coordinates", "combined p-value", _get(co, "combined_test.pvalue"),
                   "uniform on [0, 1]; small means some coordinate is non-Gaussian"),
        ]
    pr = _get(report, "projections")
    if pr is not None:
        rej = f"about {_fmt(alpha)}"
        n, k = _get(pr, "n_samples") or _get(report, "n_samples"), _get(pr, "n_projections")
        if n is not None and k:
            from ._reference import rejected_fraction_reference

            rej = _band(rejected_fraction_reference(int(n), int(k), float(_get(pr, "alpha") or alpha)), pct=True)
            if k > (_get(report, "n_features") or k):
                rej += " (dependent directions: wider)"
        rows += [
            Metric("Random projections", "rejected fraction", _get(pr, "rejected_fraction"), rej),
            Metric("Random projections", "combined p-value", _get(pr, "combined_test.pvalue"),
                   "uniform on [0, 1]; small means non-Gaussian"),
            Metric("Random projections", "mean A^2", _get(pr, "ad_mean"), "about 0.37"),
        ]
    di = _get(report, "distance")
    if di is not None:
        d = _get(report, "n_features")
        n = _get(report, "n_samples")
        bw = _get(di, "bures_wasserstein")
        sp = _get(di, "spectrum")
        rows += [
            Metric("Distance", "normalised Bures-Wasserstein distance",
                   _get(di, "normalized_distance", "bures_wasserstein.normalized"),
                   _band(_get(bw, "normalized_reference")) or "0 = isotropic, 1 = farthest"),
            Metric("Distance", "  mean part", _get(bw, "mean_part"), _band(_get(bw, "mean_part_reference"))),
            Metric("Distance", "  anisotropy part", _get(bw, "anisotropy_part"),
                   _band(_get(bw, "anisotropy_part_reference"))),
            Metric("Distance", "sliced W2 excess over the Gaussian null",
                   _get(di, "sliced_excess_ratio", "sliced.excess_ratio"), "about 1"),
            Metric("Distance", "sphericity test p-value",
                   _get(di, "sphericity_test.pvalue", "sphericity.pvalue"), "uniform on [0, 1]"),
            Metric("Spectrum", "covariance rank", _get(di, "rank", "spectrum.rank"),
                   f"{_fmt(min(d, n - 1) if d is not None and n is not None else d)} (full)"),
        ]
        for name, field in (("effective rank", "effective_rank"), ("participation ratio", "participation_ratio"),
                            ("condition number", "condition_number"), ("IsoScore", "isoscore")):
            rows.append(Metric("Spectrum", name, _get(sp, field), _band(_get(sp, f"{field}_reference"))))
    pdr = _get(report, "principal_directions")
    if pdr is not None:
        rows.append(Metric("Directions", "principal directions combined p-value (sample splitting)",
                           _get(pdr, "combined_test.pvalue"), "uniform on [0, 1]; small means a "
                           "principal direction is non-Gaussian"))
    pu = _get(report, "pursuit")
    if pu is not None:
        rows.append(_pvalue_row("least Gaussian direction p-value (pursuit)", _get(pu, "test")))
    ma = _get(report, "mardia")
    if ma is not None:
        rows += [_pvalue_row("Mardia skewness p-value", _get(ma, "skewness_test")),
                 _pvalue_row("Mardia kurtosis p-value", _get(ma, "kurtosis_test"))]
    for name, label in (("henze_zirkler", "Henze-Zirkler"), ("royston", "Royston"),
                        ("doornik_hansen", "Doornik-Hansen"), ("energy", "energy")):
        res = _get(report, name)
        if res is not None:
            rows.append(_pvalue_row(f"{label} p-value", res))
    return rows


def interpretation(report: Any) -> list[str]:
    """A few plain sentences that say what the numbers mean."""
    out: list[str] = []
    d = _get(report, "n_features")
    ts, tsc, co, pr, di = (_get(report, k) for k in ("thin_shell", "thin_shell_centered", "coordinates",
                                                      "projections", "distance"))
    cv, cvg = _get(ts, "cv"), _get(ts, "cv_gaussian")
    if cv is not None and cvg is not None:
        if _get(ts, "constant_norms") or cv < 1e-6:
            out.append("All norms are equal: the embeddings are L2-normalised, so the norm statistics say "
                       "nothing about Gaussianity; read the coordinate and projection tests (which do not "
                       "depend on scale), or analyse the raw vectors from before the normalisation.")
        else:
            ratio = cv / cvg if cvg else float("nan")
            shell = "a thin shell, as the paper's theory predicts" if cv <= 0.1 else "no thin shell"
            out.append(f"Norms: CV {cv:.3g}, {ratio:.1f} times that of an isotropic Gaussian in {d} dimensions "
                       f"({cvg:.3g}); {shell} (the paper's cut-off is 0.1).")
    cvc = _get(tsc, "cv")
    if cvc is not None and cv is not None and cv >= 1e-6 and cvc > 1.25 * cv:
        out.append(f"After centring, the norm CV rises to {cvc:.3g}: the embeddings share a large mean vector "
                   "(they sit in a narrow cone), which makes the uncentred norms look more concentrated "
                   "than the distribution around its mean is.")
    if co is not None:
        ad, frac = _get(co, "ad_mean"), _get(co, "ad_pass_fraction")
        exp = _get(co, "expected_pass_fraction") or 0.95
        verdict = "consistent with Gaussian marginals" if ad is not None and ad < 0.6 else \
            "clearly non-Gaussian marginals"
        if ad is not None and frac is not None:
            out.append(f"Coordinates: mean A^2 {ad:.3g} (about 0.37 for Gaussian data, 0.752 is the 5% critical "
                       f"value) and {frac:.0%} of coordinates pass (about {exp:.0%} would for Gaussian data): "
                       f"{verdict}.")
    if pr is not None:
        rej, p = _get(pr, "rejected_fraction"), _get(pr, "combined_test.pvalue")
        alpha = _get(report, "alpha") or 0.05
        if rej is not None and p is not None:
            out.append(f"Random directions: {rej:.0%} of projections are rejected at {alpha:g} (about {alpha:.0%} "
                       f"for Gaussian data); combined p-value {p:.3g}. Every one-dimensional projection of a "
                       "Gaussian is Gaussian, so many rejections rule a Gaussian out.")
    rank = _get(di, "rank", "spectrum.rank")
    if rank is not None and d is not None:
        if rank < d:
            out.append(f"The covariance has rank {rank} of {d}: {d - rank} direction(s) carry no variance. Tests "
                       "that need a full-rank covariance were skipped (see Skipped); run them on "
                       f"gaussprobe.principal_projection(x, n_components={rank}).")
        pr_ratio = _get(di, "spectrum.participation_ratio")
        pr_ref = _get(di, "spectrum.participation_ratio_reference")
        if pr_ratio is not None:
            gauss = ("an isotropic Gaussian spreads it over nearly all" if pr_ref is None else
                     f"an exact Gaussian sample of this size gives {pr_ref.mean:.1f}, 95% band "
                     f"{pr_ref.low:.1f}-{pr_ref.high:.1f}, because n is finite")
            out.append(f"Spectrum: participation ratio {pr_ratio:.1f} of {d} -- the variance is spread over about "
                       f"{pr_ratio:.0f} effective directions ({gauss}).")
    return out


def _skipped(report: Any) -> dict[str, str]:
    return dict(_get(report, "skipped") or {})


def _provenance(report: Any) -> str:
    parts = [f"n = {_fmt(_get(report, 'n_samples'))}", f"d = {_fmt(_get(report, 'n_features'))}",
             f"backend {_get(report, 'backend') or '?'} on {_get(report, 'device') or '?'}",
             f"{_get(report, 'compute_dtype') or '?'}", f"seed {_get(report, 'seed')}",
             f"gaussprobe {_get(report, 'gaussprobe_version') or '?'}"]
    return ", ".join(parts)


def text_summary(report: Any) -> str:
    """A fixed-width table (used when the report's own ``summary()`` is unavailable)."""
    rows = metrics(report)
    width = max((len(m.name) for m in rows), default=10)
    lines = [f"Gaussianity report ({_provenance(report)})"]
    section = None
    for m in rows:
        if m.section != section:
            section = m.section
            lines.append(f"{section}")
        lines.append(f"  {m.name:<{width}}  {_fmt(m.value):>10}   Gaussian: {m.reference}")
    for name, why in _skipped(report).items():
        lines.append(f"skipped {name}: {why}")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


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
        for r in sorted(outcome.results, key=lambda r: r.passed):
            op = "<=" if r.kind == "max" else ">="
            note = f" ({_md_escape(r.note)})" if getattr(r, "note", "") else ""
            lines.append(f"| `{r.name}` | {_fmt(r.observed)} | {op} {_fmt(r.limit)} | "
                         f"{_status_word(r, '**FAIL**')}{note} |")
        lines.append("")
    lines += ["### Summary", "", "| | statistic | value | exact Gaussian, same n and d: mean [95% band] |",
              "|---|---|---:|---|"]
    section = None
    for m in metrics(report):
        label = m.section if m.section != section else ""
        section = m.section
        lines.append(f"| {label} | {_md_escape(m.name)} | {_fmt(m.value)} | {_md_escape(m.reference)} |")
    lines.append("")
    skipped = _skipped(report)
    if skipped:
        lines += ["### Skipped tests", ""]
        lines += [f"- **{k}**: {_md_escape(v)}" for k, v in skipped.items()]
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
.meta{color:#555;font-size:.9em}.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{padding:6px 8px;border-bottom:1px solid #e5e7eb;
text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#126b2f;font-weight:600}.fail{color:#b3261e;font-weight:700}
.verdict{padding:10px 12px;border-radius:6px;margin:.6em 0;font-weight:600}
.verdict.pass{background:#e7f6ec}.verdict.fail{background:#fdecea}
figure{margin:1em 0}figure img{display:block;width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444;margin-top:.3em}ul{padding-left:1.2em}
@media (max-width:600px){body{padding:8px;font-size:15px}th,td{padding:4px 5px}}
"""


def to_html(report: Any, x: Any = None, *, outcome: Any = None, title: str | None = None,
            source: str | None = None, notes: Sequence[str] = (), plots: bool = True,
            image_format: str = "png", rng: Any = 0) -> str:
    """One self-contained HTML page: summary, verdict, reading of the numbers and the diagnostic plots.

    Parameters
    ----------
    report : GaussianityReport
    x : array, optional
        The embeddings the report was computed from. With them the page also shows the norm
        histograms against chi(d) and QQ plots; without them only the plots the report's own results
        allow (per-coordinate A^2, eigen-spectrum).
    outcome : CheckOutcome, optional
        The verdict of ``report.check(...)``.
    title, source, notes
        As in :func:`to_markdown`.
    plots : bool
        Include the plots (needs matplotlib).
    image_format : {"png", "svg"}
        How plots are inlined.
    rng : seed
        Directions of the projection QQ plots.
    """
    esc = html.escape
    title = title or "Gaussianity report"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>"]
    if source:
        parts.append(f'<p class="meta">Input: <code>{esc(source)}</code></p>')
    parts.append(f'<p class="meta">{esc(_provenance(report))}; generated '
                 f'{_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}</p>')
    if outcome is not None:
        cls = "pass" if outcome.passed else "fail"
        verdict = "PASSED" if outcome.passed else f"FAILED ({len(outcome.failures)} of {len(outcome.results)})"
        parts += [f'<div class="verdict {cls}">Check {verdict}</div>', '<div class="scroll"><table>',
                  "<tr><th>criterion</th><th>observed</th><th>limit</th><th>result</th></tr>"]
        for r in sorted(outcome.results, key=lambda r: r.passed):
            op = "&le;" if r.kind == "max" else "&ge;"
            status = (f'<span class="pass">{_status_word(r, "")}</span>' if r.passed
                      else f'<span class="fail">{_status_word(r, "FAIL")}</span>')
            note = f"<br><small>{esc(r.note)}</small>" if getattr(r, "note", "") else ""
            parts.append(f"<tr><td><code>{esc(r.name)}</code><br><small>{esc(r.description)}</small></td>"
                         f'<td class="num">{_fmt(r.observed)}</td><td class="num">{op} {_fmt(r.limit)}</td>'
                         f"<td>{status}{note}</td></tr>")
        parts.append("</table></div>")
    parts += ["<h2>Summary</h2>", '<div class="scroll"><table>',
              "<tr><th>statistic</th><th>value</th><th>exact Gaussian, same n and d: mean [95% band]</th></tr>"]
    section = None
    for m in metrics(report):
        if m.section != section:
            section = m.section
            parts.append(f'<tr><th colspan="3">{esc(section)}</th></tr>')
        parts.append(f'<tr><td>{esc(m.name)}</td><td class="num">{_fmt(m.value)}</td>'
                     f"<td>{esc(m.reference)}</td></tr>")
    parts.append("</table></div>")
    reading = interpretation(report)
    if reading:
        parts += ["<h2>How to read this</h2>", "<ul>"] + [f"<li>{esc(s)}</li>" for s in reading] + ["</ul>"]
    skipped = _skipped(report)
    if skipped:
        parts += ["<h2>Skipped tests</h2>", "<ul>"]
        parts += [f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in skipped.items()]
        parts.append("</ul>")
    if notes:
        parts += ["<h2>Notes</h2>", "<ul>"] + [f"<li>{esc(n)}</li>" for n in notes] + ["</ul>"]
    if plots:
        from .plotting import figure_to_data_uri, report_figures

        figs = report_figures(report, x, rng=rng)
        if figs:
            parts.append("<h2>Plots</h2>")
        for caption, fig in figs.items():
            uri = figure_to_data_uri(fig, image_format=image_format)
            parts.append(f'<figure><img src="{uri}" alt="{esc(caption)}">'
                         f"<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["Metric", "interpretation", "metrics", "text_summary", "to_html", "to_markdown"]
