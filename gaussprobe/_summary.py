"""The fixed-width text table of :meth:`GaussianityReport.summary`."""

from __future__ import annotations

import math
from typing import Any

_W = 78


def _f(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return "n/a"
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, spec)


def _p(value: Any) -> str:
    if value is None:
        return "n/a"
    v = float(value)
    return f"{v:.3g}" if v >= 1e-3 else f"{v:.2e}"


def _ptest(test: Any) -> tuple[str, str]:
    """The p-value cell of a TestResult-like object, and the note to print under it (if any)."""
    if test is None:
        return "n/a", ""
    pvalue = getattr(test, "pvalue", None)
    if pvalue is None or math.isnan(float(pvalue)):
        calibration = getattr(test, "calibration", "") or "not computed"
        return f"not shown ({calibration})", getattr(test, "note", "")
    how = getattr(test, "calibration", "")
    return _p(pvalue) + (f" ({how})" if how and how not in {"asymptotic", "exact moments"} else ""), ""


def _note(lines: list[str], note: str) -> None:
    """A note under a row, wrapped to the table's width."""
    if note:
        import textwrap

        lines += textwrap.wrap(f"note: {note}", width=_W + 18, initial_indent="    ",
                               subsequent_indent="      ")


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def _ref(ref: Any, spec: str = ".4g", pct: bool = False) -> str:
    """``mean [low, high]`` of a :class:`~gaussprobe._reference.Reference` (empty when there is none)."""
    if ref is None:
        return ""
    fmt = _pct if pct else (lambda v: _f(v, spec))
    return f"{fmt(ref.mean)} [{fmt(ref.low)}, {fmt(ref.high)}]"


def _rejected_reference(pr: Any) -> Any:
    from ._reference import rejected_fraction_reference

    return rejected_fraction_reference(int(pr.n_samples), int(pr.n_projections), float(pr.alpha))


def _row(label: str, value: str, ref: str = "") -> str:
    return f"  {label:<40}{value:>14}   {ref}".rstrip()


def _section(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def format_summary(report: Any) -> str:
    """Render a report as a table (values on the left, what a Gaussian gives on the right)."""
    lines = [
        "=" * _W,
        f"gaussprobe {report.gaussprobe_version} -- Gaussianity report",
        (f"n_samples={report.n_samples}  n_features={report.n_features}  backend={report.backend}  "
         f"device={report.device}  dtype={report.compute_dtype}  seed={report.seed}"),
        "=" * _W,
        f"  {'':<40}{'value':>14}   exact Gaussian (same n, d): mean [95%]",
    ]
    ts, tc = report.thin_shell, report.thin_shell_centered
    if ts is not None:
        lines += _section("Thin shell (row norms)")
        lines.append(_row("mean norm", _f(ts.mean)))
        cv_ref = (f"{_ref(getattr(ts, 'cv_reference', None), '.3g')}; paper <= 0.1"
                  if getattr(ts, "cv_reference", None) is not None else f"{_f(ts.cv_gaussian)} (chi(d))")
        lines.append(_row("CV = std/mean (uncentred, paper Eq. 20)", _f(ts.cv), cv_ref))
        if getattr(ts, "constant_norms", False):
            lines.append("  note: constant norms (normalised input): the thin-shell statistics are "
                         "uninformative")
        if tc is not None:
            lines.append(_row("CV of centred norms", _f(tc.cv),
                              _ref(getattr(tc, "cv_reference", None)) or _f(tc.cv_gaussian)))
            lines.append(_row("CV ratio (centred / chi(d))", _f(tc.cv_ratio, ".3f"),
                              _ref(getattr(tc, "cv_ratio_reference", None), ".3f") or "1"))
    co = report.coordinates
    if co is not None:
        lo, hi = co.pass_fraction_band
        band = f"{_pct(co.expected_pass_fraction)} (99%: {_pct(lo)}-{_pct(hi)})"
        lines += _section(f"Per-coordinate normality ({co.n_features} coordinates, alpha={co.alpha:g})")
        lines.append(_row("Anderson-Darling mean A^2", _f(co.ad_mean, ".3f"),
                          f"~0.37 (critical value {co.ad_critical_value:.3f})"))
        lines.append(_row("AD pass fraction", _pct(co.ad_pass_fraction),
                          _ref(getattr(co, "ad_pass_fraction_reference", None), pct=True) or band))
        lines.append(_row("D'Agostino-Pearson mean p-value", _f(co.dp_mean_pvalue, ".3f"), "~0.5"))
        lines.append(_row("DP pass fraction (p > alpha)", _pct(co.dp_pass_fraction),
                          _ref(getattr(co, "dp_pass_fraction_reference", None), pct=True) or band))
        lines.append(_row("combined p-value (Cauchy over AD p)", _p(co.combined_test.pvalue), "uniform(0, 1)"))
        worst = ", ".join(f"{int(j)} (A^2 {co.ad_statistics[int(j)]:.3g})" for j in co.worst_coordinates[:3])
        lines.append(f"    worst coordinates: {worst}")
    pr = report.projections
    if pr is not None:
        lines += _section(f"Random projections ({pr.n_projections} directions)")
        lines.append(_row("AD mean A^2", _f(pr.ad_mean, ".3f"), "~0.37"))
        rej = _ref(_rejected_reference(pr), pct=True)
        if pr.n_projections > report.n_features:
            rej += " (dependent dirs)"
        lines.append(_row("rejected fraction (DP, p < alpha)", _pct(pr.rejected_fraction), rej))
        lines.append(_row("combined p-value (Cauchy over AD p)", _p(pr.combined_test.pvalue), "uniform(0, 1)"))
        lines.append(_row("Bonferroni p-value (AD, min p x k)", _p(pr.bonferroni_pvalue), "uniform(0, 1)"))
    pd_ = getattr(report, "principal_directions", None)
    if pd_ is not None:
        lines += _section(f"Principal directions (top {pd_.k_top}, bottom {pd_.k_bottom}; sample splitting)")
        lines.append(_row("combined p-value (Cauchy over AD p)", _p(pd_.combined_test.pvalue), "uniform(0, 1)"))
        lines.append(_row("eigenvalues above / below the MP bulk", f"{pd_.n_above_edge} / {pd_.n_below_edge}",
                          "0 / 0 (isotropic)"))
        w = pd_.worst
        lines.append(f"    worst: {w.end} #{w.rank} (eigenvalue {w.eigenvalue:.4g}): A^2 {w.ad_statistic:.3g}, "
                     f"p {_p(w.ad_pvalue)}, skew {w.skewness:.3g}, ex. kurt {w.excess_kurtosis:.3g}")
    pu = getattr(report, "pursuit", None)
    if pu is not None:
        lines += _section("Least Gaussian direction (projection pursuit)")
        cell, note = _ptest(pu.test)
        lines.append(_row(f"search statistic ({pu.best_contrast})", _f(pu.test.statistic), cell))
        _note(lines, note or pu.test.note)
        b = pu.best
        lines.append(f"    found: A^2 {b.ad_statistic:.3g}, skewness {b.skewness:.3g}, "
                     f"excess kurtosis {b.excess_kurtosis:.3g}")
    di = report.distance
    if di is not None:
        bw, sp, sl, sph = di.bures_wasserstein, di.spectrum, di.sliced, di.sphericity
        lines += _section("Distance to the nearest isotropic Gaussian N(0, s^2 I)")
        lines.append(_row("Bures-Wasserstein, normalised [0, 1]", _f(bw.normalized),
                          _ref(getattr(bw, "normalized_reference", None)) or "~(1 + d/4)/n"))
        lines.append(_row("  mean part (narrow cone)", _f(bw.mean_part),
                          _ref(getattr(bw, "mean_part_reference", None)) or "~1/n"))
        lines.append(_row("  anisotropy part", _f(bw.anisotropy_part),
                          _ref(getattr(bw, "anisotropy_part_reference", None)) or "~d/(4n)"))
        lines.append(_row("covariance rank", f"{di.rank}/{di.n_features}", f"{min(di.n_features, di.n_samples - 1)}"))
        for label, field, spec in (("effective rank", "effective_rank", ".1f"),
                                   ("participation ratio", "participation_ratio", ".1f"),
                                   ("condition number", "condition_number", ".3g"),
                                   ("IsoScore", "isoscore", ".3f")):
            lines.append(_row(label, _f(getattr(sp, field), spec),
                              _ref(getattr(sp, f"{field}_reference", None), spec)))
        lines.append(_row("sphericity test p-value (Ledoit-Wolf)", _p(sph.pvalue), "uniform(0, 1)"))
        null = "" if sl.null_mean is None else f"null mean {_f(sl.null_mean)}, 95% {_f(sl.null_quantile_95)}"
        lines.append(_row("sliced W2^2 to N(0,1) (mean over dirs)", _f(sl.statistic), null))
        if sl.excess_ratio is not None:
            lines.append(_row("  ratio to the Gaussian null mean", _f(sl.excess_ratio, ".3f"), "~1"))
    mv = [(name, getattr(report, name)) for name in ("mardia", "henze_zirkler", "royston", "doornik_hansen",
                                                     "energy") if getattr(report, name) is not None]
    if mv:
        lines += _section("Multivariate normality tests")
        lines.append(f"  {'test':<40}{'statistic':>14}   p-value")
        for name, res in mv:
            if name == "mardia":
                cell, note = _ptest(res.skewness_test)
                lines.append(_row("Mardia skewness b1", _f(res.skewness), cell))
                _note(lines, note)
                cell, note = _ptest(res.kurtosis_test)
                lines.append(_row("Mardia kurtosis z (finite-n moments)", _f(res.kurtosis_test.statistic), cell))
                _note(lines, note)
            else:
                label = {"henze_zirkler": "Henze-Zirkler", "royston": "Royston H",
                         "doornik_hansen": "Doornik-Hansen", "energy": "energy (Szekely-Rizzo)"}[name]
                cell, note = _ptest(res)
                lines.append(_row(label, _f(res.statistic), cell))
                _note(lines, note if getattr(res, "calibration", "") != "monte-carlo" else "")
    if report.skipped:
        lines += _section("Skipped")
        for name, reason in report.skipped.items():
            lines.append(f"  {name}: {reason}")
    lines += ["", "Statistics report evidence only; report.check() gives a verdict (preset 'gaussian').",
              "=" * _W]
    return "\n".join(lines)
