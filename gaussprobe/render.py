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
                         "principal_directions": "principal-directions", "spectrum": "spectrum"}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _outside(value: Any, ref: Any) -> bool:
    """Whether ``value`` lies outside the 95% band ``[ref.low, ref.high]`` (False when either is missing)."""
    if ref is None or not _finite(value):
        return False
    low, high = _get(ref, "low"), _get(ref, "high")
    if low is None or high is None or math.isnan(float(low)) or math.isnan(float(high)):
        return False
    return not float(low) <= float(value) <= float(high)


def _row_references(report: Any) -> dict[tuple[str, str], Any]:
    """The Gaussian reference object behind each summary row that has one, by (section, name)."""
    ts, tsc, co = _get(report, "thin_shell"), _get(report, "thin_shell_centered"), _get(report, "coordinates")
    bw, sp = _get(report, "distance.bures_wasserstein"), _get(report, "distance.spectrum")
    refs: dict[tuple[str, str], Any] = {
        ("Thin shell", "norm CV (uncentred)"): None if _get(ts, "constant_norms") else _get(ts, "cv_reference"),
        ("Thin shell", "norm CV (centred)"): _get(tsc, "cv_reference"),
        ("Thin shell", "CV ratio (centred / chi(d))"): _get(tsc, "cv_ratio_reference"),
        ("Coordinates", "A^2 pass fraction"): _get(co, "ad_pass_fraction_reference"),
        ("Coordinates", "D'Agostino-Pearson pass fraction"): _get(co, "dp_pass_fraction_reference"),
        ("Distance", "normalised Bures-Wasserstein distance"): _get(bw, "normalized_reference"),
        ("Distance", "  mean part"): _get(bw, "mean_part_reference"),
        ("Distance", "  anisotropy part"): _get(bw, "anisotropy_part_reference"),
    }
    for name, field in (("effective rank", "effective_rank"), ("participation ratio", "participation_ratio"),
                        ("condition number", "condition_number"), ("IsoScore", "isoscore")):
        refs["Spectrum", name] = _get(sp, f"{field}_reference")
    pr = _get(report, "projections")
    n, k = _get(pr, "n_samples") or _get(report, "n_samples"), _get(pr, "n_projections")
    if pr is not None and n is not None and k:
        from ._reference import rejected_fraction_reference

        alpha = float(_get(pr, "alpha") or _get(report, "alpha") or 0.05)
        if k <= (_get(report, "n_features") or k):  # more directions than features: the true band is wider
            refs["Random projections", "rejected fraction"] = rejected_fraction_reference(int(n), int(k), alpha)
    return {key: ref for key, ref in refs.items() if ref is not None}


def _mark(value: Any, *, ref: Any = None, pvalue_level: float | None = None) -> str:
    """The CSS class of a value: ``out`` outside its Gaussian band, ``lowp`` a p-value below the level."""
    if _outside(value, ref):
        return "out"
    if pvalue_level is not None and _finite(value) and float(value) < pvalue_level:
        return "lowp"
    return ""


def _num(value: Any, cls: str = "", title: str = "") -> str:
    attr = f' title="{html.escape(title)}"' if title and cls else ""
    return f'<td class="num{" " + cls if cls else ""}"{attr}>{_fmt(value)}</td>'


def _legend(alpha: float) -> str:
    return ('<p class="legend"><span class="out">value</span> outside the 95% band of an exact Gaussian of '
            'the same n and d (the reference column); <span class="lowp">p-value</span> below '
            f"&alpha; = {_fmt(alpha)} (in the tables of single coordinates or directions: below "
            "&alpha;/m, Bonferroni over the m tested, since the worst of many is shown). A mark points "
            "at where to look; only a check passes judgement.</p>")


def _table(header: Sequence[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f'<div class="scroll"><table><tr>{head}</tr>' + "".join(rows) + "</table></div>"


def _array(obj: Any, name: str) -> list[Any] | None:
    value = _get(obj, name)
    if value is None:
        return None
    try:
        return list(value)
    except TypeError:
        return None


def _at(values: list[Any] | None, i: int) -> Any:
    if values is None or i >= len(values):
        return None
    v = values[i]
    return v.item() if hasattr(v, "item") else v


def _coordinates_detail(report: Any, alpha: float) -> list[str]:
    co = _get(report, "coordinates")
    worst = _array(co, "worst_coordinates")
    if not worst:
        return []
    cols = {f: _array(co, f) for f in ("ad_statistics", "ad_pvalues", "dp_pvalues", "skewness",
                                       "excess_kurtosis", "skewness_z", "kurtosis_z")}
    level = alpha / max(len(cols["ad_pvalues"] or ()), 1)
    rows = []
    for j in (int(w) for w in worst):
        cells = [_num(_at(cols["ad_statistics"], j)),
                 _num(_at(cols["ad_pvalues"], j), _mark(_at(cols["ad_pvalues"], j), pvalue_level=level)),
                 _num(_at(cols["dp_pvalues"], j), _mark(_at(cols["dp_pvalues"], j), pvalue_level=level))]
        cells += [_num(_at(cols[f], j)) for f in ("skewness", "excess_kurtosis", "skewness_z", "kurtosis_z")]
        rows.append(f'<tr><td class="num">{j}</td>{"".join(cells)}</tr>')
    return ["<h3>Least Gaussian coordinates (smallest AD p-values)</h3>",
            _table(("coordinate", "A^2", "AD p-value", "DP p-value", "skewness", "excess kurtosis",
                    "skewness z", "kurtosis z"), rows)]


def _projections_detail(report: Any, alpha: float, n_worst: int = 4) -> list[str]:
    pr = _get(report, "projections")
    pvalues = _array(pr, "ad_pvalues")
    if not pvalues:
        return []
    finite = [i for i, p in enumerate(pvalues) if _finite(_at(pvalues, i))]
    worst = sorted(finite, key=lambda i: float(pvalues[i]))[:n_worst]
    ad, dps, dpp = _array(pr, "ad_statistics"), _array(pr, "dp_statistics"), _array(pr, "dp_pvalues")
    level = alpha / len(pvalues)
    rows = [f'<tr><td class="num">#{i}</td>{_num(_at(ad, i))}'
            f"{_num(_at(pvalues, i), _mark(_at(pvalues, i), pvalue_level=level))}{_num(_at(dps, i))}"
            f"{_num(_at(dpp, i), _mark(_at(dpp, i), pvalue_level=level))}</tr>" for i in worst]
    return [f"<h3>Least Gaussian random projections ({len(worst)} of {len(pvalues)})</h3>",
            _table(("direction", "A^2", "AD p-value", "DP K^2", "DP p-value"), rows),
            ('<p class="meta">The result stores each direction\'s statistics but not its projected values, '
             "so the worst directions are shown here and in the plots of A^2 and of the p-values over all "
             "directions rather than as QQ plots.</p>")]


def _principal_detail(report: Any, alpha: float) -> list[str]:
    pdr = _get(report, "principal_directions")
    pvalues = _array(pdr, "ad_pvalues")
    if not pvalues:
        return []
    ends, ranks, folds = _array(pdr, "ends"), _array(pdr, "ranks"), _array(pdr, "folds")
    cols = {f: _array(pdr, f) for f in ("direction_eigenvalues", "ad_statistics", "dp_pvalues", "skewness",
                                        "excess_kurtosis")}
    level = alpha / len(pvalues)
    worst = min(range(len(pvalues)), key=lambda i: float(pvalues[i]) if _finite(_at(pvalues, i)) else math.inf)
    rows = []
    for i in range(len(pvalues)):
        fold = _at(folds, i)
        cells = [f"<td>{html.escape(str(_at(ends, i) or '?'))}</td>", _num(_at(ranks, i)),
                 f'<td class="num">{"?" if fold is None else int(fold) + 1}</td>',
                 _num(_at(cols["direction_eigenvalues"], i)), _num(_at(cols["ad_statistics"], i)),
                 _num(_at(pvalues, i), _mark(_at(pvalues, i), pvalue_level=level)),
                 _num(_at(cols["dp_pvalues"], i), _mark(_at(cols["dp_pvalues"], i), pvalue_level=level)),
                 _num(_at(cols["skewness"], i)), _num(_at(cols["excess_kurtosis"], i))]
        tr = '<tr class="worst">' if i == worst else "<tr>"
        rows.append(f'{tr}{"".join(cells)}</tr>')
    combined = _get(pdr, "combined_test.pvalue")
    summary = (f'<p>Combined p-value (sample splitting) <span class="{_mark(combined, pvalue_level=alpha)}">'
               f"{_fmt(combined)}</span>; Bonferroni {_fmt(_get(pdr, 'bonferroni_pvalue'))}; "
               f"{_fmt(_get(pdr, 'n_above_edge'))} eigenvalue(s) above and {_fmt(_get(pdr, 'n_below_edge'))} "
               f"below the Marchenko-Pastur bulk [{_fmt(_get(pdr, 'mp_lower_edge'))}, "
               f"{_fmt(_get(pdr, 'mp_upper_edge'))}].</p>")
    return [summary, "<h3>Tested directions (estimated on one half, tested on the other; worst in bold)</h3>",
            _table(("end", "rank", "estimated on half", "eigenvalue", "A^2", "AD p-value", "DP p-value",
                    "skewness", "excess kurtosis"), rows)]


def _pursuit_detail(report: Any, alpha: float) -> list[str]:
    pu = _get(report, "pursuit")
    if pu is None:
        return []
    best = _get(pu, "best")
    test = _get(pu, "test")
    pvalue = _get(test, "pvalue")
    kq, sq = _get(pu, "null_kurtosis_q95"), _get(pu, "null_skewness_q95")

    def sym(q: Any) -> Any:  # |statistic| <= q95 of the search on Gaussian noise: a symmetric band
        return None if not _finite(q) else _SymmetricBand(float(q))

    skew, kurt = _get(best, "skewness"), _get(best, "excess_kurtosis")
    rows = [
        ("p-value of the best contrast (Monte-Carlo null of the same search)",
         _num(pvalue, _mark(pvalue, pvalue_level=alpha)),
         f"uniform on [0, 1]; calibration {_get(test, 'calibration') or '?'}"),
        ("best contrast statistic", _num(_get(test, "statistic")), f"contrast: {_get(pu, 'best_contrast') or '?'}"),
        ("skewness of the projection", _num(skew, _mark(skew, ref=sym(sq))),
         f"search on Gaussian noise: |skewness| <= {_fmt(sq)} (95%)"),
        ("excess kurtosis of the projection", _num(kurt, _mark(kurt, ref=sym(kq))),
         f"search on Gaussian noise: |excess kurtosis| <= {_fmt(kq)} (95%)"),
        ("variance of the projection", _num(_get(best, "eigenvalue")), "input units"),
        ("A^2 of the projection", _num(_get(best, "ad_statistic")),
         "its AD/DP p-values ignore the search and are not shown"),
        ("informative at this (n, d)", f'<td class="num">{_fmt(_get(pu, "informative"))}</td>',
         "whether the search stands out of what it finds in noise"),
        ("null draws", _num(_get(pu, "n_null")), ""),
    ]
    body = [f"<tr><td>{html.escape(name)}</td>{cell}<td>{html.escape(ref)}</td></tr>" for name, cell, ref in rows]
    note = _get(test, "note")
    out = [_table(("statistic", "value", "reference"), body)]
    if note:
        out.append(f'<p class="meta">{html.escape(str(note))}</p>')
    out.append('<p class="meta">The result stores the direction and its statistics, not the projected values, '
               "so the pursuit has no QQ plot.</p>")
    return out


@dataclass(frozen=True, slots=True)
class _SymmetricBand:
    """The band ``[-q, q]`` (for a statistic whose null is given as a quantile of its absolute value)."""

    high: float

    @property
    def low(self) -> float:
        return -self.high


def to_html(report: Any, x: Any = None, *, outcome: Any = None, title: str | None = None,
            source: str | None = None, notes: Sequence[str] = (), plots: bool = True,
            image_format: str = "png", rng: Any = 0) -> str:
    """One self-contained HTML page: summary, verdict, reading of the numbers and the diagnostic plots.

    The page starts with a table of contents. Values outside the 95% band of an exact Gaussian of the
    same (n, d), and p-values below the level, are marked (classes ``out`` and ``lowp``, with a
    legend). After the summary come one section per family: norms, coordinates (the worst, by AD
    p-value), random projections (the worst directions and the per-direction A² against its null),
    principal directions (QQ plots and histograms of the top ones, every tested direction in a table),
    projection pursuit (its statistics) and the spectrum.

    Parameters
    ----------
    report : GaussianityReport
    x : array, optional
        The embeddings the report was computed from. With them the page also shows the norm
        histograms against chi(d) and the QQ plots and histograms of the worst coordinates; without
        them only the plots the report's own results allow.
    outcome : CheckOutcome, optional
        The verdict of ``report.check(...)``.
    title, source, notes
        As in :func:`to_markdown`.
    plots : bool
        Include the plots (needs matplotlib).
    image_format : {"png", "svg"}
        How plots are inlined.
    rng : seed
        Seed of the simulated A² null drawn beside the per-coordinate and per-direction A².
    """
    esc = html.escape
    title = title or "Gaussianity report"
    alpha = float(_get(report, "alpha") or 0.05)
    sections: list[tuple[str, str, list[str]]] = []
    if outcome is not None:
        cls = "pass" if outcome.passed else "fail"
        verdict = "PASSED" if outcome.passed else f"FAILED ({len(outcome.failures)} of {len(outcome.results)})"
        body = [f'<div class="verdict {cls}">Check {verdict}</div>', '<div class="scroll"><table>',
                "<tr><th>criterion</th><th>observed</th><th>limit</th><th>result</th></tr>"]
        for r in sorted(outcome.results, key=lambda r: r.passed):
            op = "&le;" if r.kind == "max" else "&ge;"
            status = (f'<span class="pass">{_status_word(r, "")}</span>' if r.passed
                      else f'<span class="fail">{_status_word(r, "FAIL")}</span>')
            note = f"<br><small>{esc(r.note)}</small>" if getattr(r, "note", "") else ""
            body.append(f"<tr><td><code>{esc(r.name)}</code><br><small>{esc(r.description)}</small></td>"
                        f'<td class="num">{_fmt(r.observed)}</td><td class="num">{op} {_fmt(r.limit)}</td>'
                        f"<td>{status}{note}</td></tr>")
        body.append("</table></div>")
        sections.append(("check", "Check", body))
    refs = _row_references(report)
    body = [_legend(alpha), '<div class="scroll"><table>',
            "<tr><th>statistic</th><th>value</th><th>exact Gaussian, same n and d: mean [95% band]</th></tr>"]
    section = None
    for m in metrics(report):
        if m.section != section:
            section = m.section
            body.append(f'<tr><th colspan="3">{esc(section)}</th></tr>')
        is_pvalue = m.reference.startswith("uniform on [0, 1]")
        cls = _mark(m.value, ref=refs.get((m.section, m.name)), pvalue_level=alpha if is_pvalue else None)
        hint = "outside the Gaussian 95% band" if cls == "out" else f"below alpha = {_fmt(alpha)}"
        body.append(f"<tr><td>{esc(m.name)}</td>{_num(m.value, cls, hint)}<td>{esc(m.reference)}</td></tr>")
    body.append("</table></div>")
    sections.append(("summary", "Summary", body))
    reading = interpretation(report)
    if reading:
        sections.append(("reading", "How to read this", ["<ul>", *(f"<li>{esc(s)}</li>" for s in reading),
                                                         "</ul>"]))
    skipped = _skipped(report)
    if skipped:
        sections.append(("skipped", "Skipped tests", ["<ul>", *(f"<li><b>{esc(k)}</b>: {esc(v)}</li>"
                                                                 for k, v in skipped.items()), "</ul>"]))
    if notes:
        sections.append(("notes", "Notes", ["<ul>", *(f"<li>{esc(n)}</li>" for n in notes), "</ul>"]))
    detail: dict[str, list[str]] = {
        "coordinates": _coordinates_detail(report, alpha), "projections": _projections_detail(report, alpha),
        "principal-directions": _principal_detail(report, alpha), "pursuit": _pursuit_detail(report, alpha)}
    figures: dict[str, list[str]] = {}
    if plots:
        from .plotting import figure_to_data_uri, report_figure_groups

        for group, figs in report_figure_groups(report, x, rng=rng).items():
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


__all__ = ["Metric", "interpretation", "metrics", "text_summary", "to_html", "to_markdown"]
