"""Diagnostic plots, drawn from result objects: norms against the chi(d) reference, QQ plots and
histograms of the least Gaussian coordinates, random projections, principal directions and the
direction found by projection pursuit, A² against its null law, the eigen-spectrum.

Nothing here computes a statistic: every value drawn is a field of a result (the order statistics in
``qq_values`` / ``norm_order_statistics``, the per-coordinate A², the eigenvalues, ...) or a closed
form of the library (the chi(d) density, the null law behind the A² p-values). matplotlib is an
optional dependency (``pip install 'gaussprobe[plot]'``), imported only when a plot is drawn. The
functions never touch pyplot's global state or select a backend: without ``ax=``/``fig=`` they draw
on a new :class:`matplotlib.figure.Figure` attached to an Agg canvas, which works headless.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._backend import optional_import


def new_figure(width: float = 6.4, height: float = 4.0) -> Any:
    """A matplotlib Figure on an Agg canvas (no pyplot, no global backend change)."""
    optional_import("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes(ax: Any, width: float = 6.4, height: float = 4.0) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(width, height)
    return fig, fig.add_subplot()


def _grid(fig: Any, n: int, cols: int = 4) -> list[Any]:
    cols = max(1, min(n, cols))
    rows = -(-n // cols)
    return [fig.add_subplot(rows, cols, k + 1) for k in range(n)]


def _panel_figure(fig: Any, n: int, cols: int = 4) -> Any:
    if fig is not None:
        return fig
    cols = max(1, min(n, cols))
    rows = -(-max(n, 1) // cols)
    return new_figure(max(2.2 * cols + 0.6, 4.6), 2.2 * rows + 0.6)


def _missing(what: str) -> ValueError:
    msg = (f"The result carries no {what} (a report written before they were stored); analyse the "
           "embeddings again with this version of gaussprobe to plot them.")
    return ValueError(msg)


# ------------------------------------------------------------------------------------------ norms
def plot_norms(result: Any, /, *, bins: int = 25, ax: Any = None) -> Any:
    """Histogram of the row norms against the chi(d) density of an isotropic Gaussian.

    Drawn from a :class:`~gaussprobe.ThinShellResult` (``report.thin_shell`` or
    ``report.thin_shell_centered``): its ``norm_order_statistics`` (evenly spaced in rank, so their
    histogram follows that of the norms) against :math:`\\sigma\\,\\chi_d` with :math:`\\sigma` chosen so
    that its mean equals the observed mean norm (``result.mean / chi_mean(d)``). If the sample were an
    isotropic Gaussian, the histogram would follow the curve; one much wider than the curve means the
    norms do not concentrate (no thin shell).

    Parameters
    ----------
    result : ThinShellResult
    bins : int
        Histogram bins.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy import special

    from .stats.thin_shell import chi_mean

    norms = getattr(result, "norm_order_statistics", None)
    if norms is None:
        what = "norm order statistics"
        raise _missing(what)
    norms = np.asarray(norms, dtype=np.float64)
    d = int(result.n_features)
    fig, ax = _axes(ax)
    ax.hist(norms, bins=bins, density=True, color="#4C72B0", alpha=0.75, label="observed norms")
    sigma = float(result.mean) / chi_mean(d)
    lo, hi = float(norms.min()), float(norms.max())
    span = max(hi - lo, 1e-12 * max(abs(hi), 1e-300))
    r = np.linspace(max(lo - 0.1 * span, 0.0), hi + 0.1 * span, 400)
    with np.errstate(divide="ignore"):
        t = r / sigma
        log_pdf = (d - 1) * np.log(t) - t**2 / 2 - (d / 2 - 1) * math.log(2.0) - special.gammaln(d / 2)
    ax.plot(r, np.exp(log_pdf) / sigma, color="#C44E52", lw=2, label=f"isotropic Gaussian: σ·χ({d})")
    centred = bool(result.centered)
    ax.set_xlabel("‖x − mean‖" if centred else "‖x‖")
    ax.set_ylabel("density")
    from ._registry import format_value

    ax.set_title(f"Norms{' (centred)' if centred else ''}: CV {format_value(result.cv)} vs "
                 f"{format_value(result.cv_gaussian)} for χ({d})")
    ax.legend(loc="best", fontsize="small")
    return fig


# ---------------------------------------------------------------------------- QQ plots, histograms
def _qq_panels(fig: Any, values: np.ndarray, quantiles: np.ndarray, titles: Sequence[str], suptitle: str,
               ylabel: str) -> Any:
    q = values.shape[0]
    fig = _panel_figure(fig, q)
    lim = float(max(np.abs(quantiles).max() if quantiles.size else 1.0, 1.0))
    for ax, v, title in zip(_grid(fig, q), values, titles, strict=True):
        ax.plot(quantiles, v, ".", ms=3, color="#4C72B0")
        ax.plot([-lim, lim], [-lim, lim], color="#C44E52", lw=1)
        ax.set_title(title, fontsize="small")
        ax.tick_params(labelsize="x-small")
    fig.supxlabel("normal quantiles", fontsize="small")
    fig.supylabel(ylabel, fontsize="small")
    fig.suptitle(suptitle, fontsize="medium")
    return fig


def _hist_panels(fig: Any, values: np.ndarray, titles: Sequence[str], suptitle: str, xlabel: str,
                 bins: int) -> Any:
    q = values.shape[0]
    fig = _panel_figure(fig, q)
    for ax, v, title in zip(_grid(fig, q), values, titles, strict=True):
        lim = float(max(np.nanmax(np.abs(v)) if v.size else 1.0, 3.5))
        ax.hist(v, bins=bins, range=(-lim, lim), density=True, color="#4C72B0", alpha=0.75)
        t = np.linspace(-lim, lim, 200)
        ax.plot(t, np.exp(-t**2 / 2) / math.sqrt(2 * math.pi), color="#C44E52", lw=1.5)
        ax.set_title(title, fontsize="small")
        ax.tick_params(labelsize="x-small")
    fig.supxlabel(xlabel, fontsize="small")
    fig.supylabel("density", fontsize="small")
    fig.suptitle(suptitle, fontsize="medium")
    return fig


def _points(result: Any) -> tuple[np.ndarray, np.ndarray]:
    values = getattr(result, "qq_values", None)
    quantiles = getattr(result, "qq_quantiles", None)
    if values is None or quantiles is None:
        what = "QQ points (qq_values)"
        raise _missing(what)
    return (np.atleast_2d(np.asarray(values, dtype=np.float64)), np.asarray(quantiles, dtype=np.float64))


def _p(value: Any) -> str:
    from ._registry import format_value

    return format_value(value, "pvalue")


def _coordinate_titles(result: Any, k: int) -> list[str]:
    from ._registry import format_value

    worst = np.asarray(result.worst_coordinates, dtype=np.int64)[:k]
    return [f"coord {j}: A² {format_value(result.ad_statistics[j])}, p {_p(result.ad_pvalues[j])}" for j in worst]


def plot_coordinate_qq(result: Any, /, *, fig: Any = None) -> Any:
    """QQ plots of the least Gaussian coordinates (smallest AD p-values, worst first).

    Reads ``result.qq_values`` (order statistics of each standardised coordinate of
    ``result.worst_coordinates``) and ``result.qq_quantiles`` of a
    :class:`~gaussprobe.CoordinateNormalityResult`; the panel titles give each coordinate's A² and AD
    p-value. Points on the diagonal mean the coordinate is Gaussian; an S-shape means light or heavy
    tails, a bow means skewness.
    """
    values, quantiles = _points(result)
    return _qq_panels(fig, values, quantiles, _coordinate_titles(result, values.shape[0]),
                      "Least Gaussian coordinates vs N(0, 1)", "standardised value")


def plot_coordinate_histograms(result: Any, /, *, bins: int = 30, fig: Any = None) -> Any:
    """Histograms of the standardised least Gaussian coordinates against the N(0, 1) density, drawn
    from ``result.qq_values`` (evenly spaced order statistics follow the distribution)."""
    values, _ = _points(result)
    return _hist_panels(fig, values, _coordinate_titles(result, values.shape[0]),
                        "Least Gaussian coordinates against N(0, 1)", "standardised value", bins)


def _direction_titles_random(result: Any, k: int) -> list[str]:
    from ._registry import format_value

    worst = np.asarray(result.worst_directions, dtype=np.int64)[:k]
    return [f"#{i}: A² {format_value(result.ad_statistics[i])}, p {_p(result.ad_pvalues[i])}" for i in worst]


def plot_projection_qq(result: Any, /, *, fig: Any = None) -> Any:
    """QQ plots of the least Gaussian random projections (smallest AD p-values, worst first).

    Reads ``result.qq_values`` and ``result.qq_quantiles`` of a
    :class:`~gaussprobe.ProjectionNormalityResult`; panel titles give the direction index (into
    ``result.ad_pvalues``), its A² and AD p-value.
    """
    values, quantiles = _points(result)
    return _qq_panels(fig, values, quantiles, _direction_titles_random(result, values.shape[0]),
                      "Least Gaussian random projections vs N(0, 1)", "standardised projection")


def plot_projection_histograms(result: Any, /, *, bins: int = 30, fig: Any = None) -> Any:
    """Histograms of the least Gaussian random projections against N(0, 1) (from ``qq_values``)."""
    values, _ = _points(result)
    return _hist_panels(fig, values, _direction_titles_random(result, values.shape[0]),
                        "Least Gaussian random projections against N(0, 1)", "standardised projection", bins)


def _direction_titles(result: Any, q: int) -> list[str]:
    ends = tuple(result.ends)
    ranks = np.asarray(result.ranks, dtype=np.int64)
    pv = np.asarray(result.ad_pvalues, dtype=np.float64)
    # qq_values holds the top directions of the first half, which come first in ends/ranks/ad_pvalues
    return [f"{ends[k]} {int(ranks[k])}: AD p {pv[k]:.2g}" if k < min(len(ends), ranks.size, pv.size)
            else f"top {k + 1}" for k in range(q)]


def plot_principal_direction_qq(result: Any, /, *, fig: Any = None) -> Any:
    """QQ plots of the held-out projections onto the top principal directions.

    Reads ``result.qq_values`` (order statistics of the standardised projections) and
    ``result.qq_quantiles`` (their normal quantiles) of a
    :class:`~gaussprobe.stats.directions.PrincipalDirectionResult`; the panel titles give each
    direction's end, rank and AD p-value.
    """
    values, quantiles = _points(result)
    return _qq_panels(fig, values, quantiles, _direction_titles(result, values.shape[0]),
                      "Top principal directions vs N(0, 1)", "standardised projection")


def plot_principal_direction_histograms(result: Any, /, *, bins: int = 30, fig: Any = None) -> Any:
    """Histograms of the held-out projections onto the top principal directions against N(0, 1).

    Drawn from the evenly spaced order statistics in ``result.qq_values``, which follow the
    distribution of the projection.
    """
    values, _ = _points(result)
    return _hist_panels(fig, values, _direction_titles(result, values.shape[0]),
                        "Top principal directions against N(0, 1)", "standardised projection", bins)


def _pursuit_title(result: Any) -> list[str]:
    from ._registry import format_value

    b = result.best
    title = (f"{result.best_contrast}: skew {format_value(b.skewness)}, ex. kurt "
             f"{format_value(b.excess_kurtosis)}, p {_p(result.test.pvalue)}")
    return [title]


def plot_pursuit_qq(result: Any, /, *, fig: Any = None) -> Any:
    """QQ plot of the projection onto the direction found by projection pursuit.

    Reads ``result.qq_values`` and ``result.qq_quantiles`` of a
    :class:`~gaussprobe.LeastGaussianDirectionResult`; the title gives the contrast, the projection's
    skewness and excess kurtosis and the p-value of the search (against the same search on Gaussian
    noise).
    """
    values, quantiles = _points(result)
    return _qq_panels(fig if fig is not None else new_figure(4.6, 3.6), values, quantiles,
                      _pursuit_title(result), "Least Gaussian direction (pursuit) vs N(0, 1)",
                      "standardised projection")


def plot_pursuit_histogram(result: Any, /, *, bins: int = 30, fig: Any = None) -> Any:
    """Histogram of the projection onto the pursued direction against N(0, 1) (from ``qq_values``)."""
    values, _ = _points(result)
    return _hist_panels(fig if fig is not None else new_figure(4.6, 3.6), values, _pursuit_title(result),
                        "Least Gaussian direction (pursuit) against N(0, 1)", "standardised projection", bins)


# ------------------------------------------------------------------------------------ A², p-values
def plot_projection_pvalues(ad_pvalues: Any, /, *, n_labels: int = 4, ax: Any = None) -> Any:
    """The sorted AD p-values of the random projections against the uniform quantiles (log scale).

    Under the null the points follow the diagonal; the least Gaussian directions sit at the top right,
    above it, and the ``n_labels`` smallest p-values are labelled with their direction index (the
    position in ``report.projections.ad_pvalues``).
    """
    p = np.asarray(ad_pvalues, dtype=np.float64).ravel()
    keep = np.flatnonzero(np.isfinite(p))
    order = keep[np.argsort(p[keep], kind="stable")]
    k = order.size
    fig, ax = _axes(ax)
    expected = (np.arange(1, k + 1) - 0.5) / max(k, 1)
    tiny = np.finfo(np.float64).tiny
    observed = -np.log10(np.maximum(p[order], tiny))
    ax.plot(-np.log10(expected), observed, ".", ms=5, color="#4C72B0", label=f"{k} random directions")
    hi = float(max(-np.log10(expected[0]) if k else 1.0, 1.0))
    ax.plot([0, hi], [0, hi], color="#C44E52", lw=1, label="uniform p-values (Gaussian)")
    for r in range(min(n_labels, k)):
        ax.annotate(f"#{int(order[r])}", (-np.log10(expected[r]), observed[r]), fontsize="x-small",
                    xytext=(4, -2), textcoords="offset points")
    ax.set_xlabel("expected −log10 p (uniform)")
    ax.set_ylabel("observed −log10 AD p-value")
    ax.set_title("Random projections: AD p-values, least Gaussian labelled")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def ad_null_bin_masses(edges: Any, n_samples: int) -> np.ndarray:
    """Probability of each bin ``[edges[i], edges[i+1])`` of A² for a Gaussian sample of size ``n_samples``,
    under the law behind the AD p-values: ``P(A² ≥ a) = ad_null_pvalue(a, n)`` (the null distribution
    of A² at this n), so the mass of a bin is ``ad_null_pvalue(lo) - ad_null_pvalue(hi)`` (clipped at
    0 against rounding)."""
    from .stats.univariate import ad_null_pvalue

    tail = ad_null_pvalue(np.asarray(edges, dtype=np.float64), int(n_samples))
    return np.asarray(np.clip(tail[:-1] - tail[1:], 0.0, None), dtype=np.float64)


def plot_ad_distribution(ad_statistics: Any, /, *, n_samples: int, critical_value: float | None = None,
                         alpha: float = 0.05, mean: float | None = None, ax: Any = None,
                         what: str = "coordinate") -> Any:
    """The per-coordinate (or per-direction) A² against its null law at the same sample size.

    The step curve is the null density of A² behind the AD p-values (:func:`ad_null_bin_masses`); the
    dashed line the critical value at ``alpha`` (``critical_value``, e.g.
    ``report.coordinates.ad_critical_value``; by default that of
    :func:`gaussprobe.stats.univariate.ad_critical_value`). For Gaussian coordinates about
    ``1 - alpha`` of the mass falls left of it and the mean A² is about 0.37. ``what`` names the items
    in the labels (``"coordinate"``, ``"direction"``); ``mean`` (the result's ``ad_mean``) goes into
    the legend.
    """
    from .stats.univariate import ad_critical_value

    ad = np.asarray(ad_statistics, dtype=np.float64)
    ad = ad[np.isfinite(ad)]
    crit = ad_critical_value(int(n_samples), alpha) if critical_value is None else float(critical_value)
    fig, ax = _axes(ax)
    # the bulk and the critical value in view; the far tail (a single broken coordinate) is clipped
    hi = 1.2 * float(np.quantile(ad, 0.9)) if ad.size else 1.0
    edges = np.linspace(0.0, max(hi, 2.5 * crit), 50)
    plural = "coordinates" if what == "coordinate" else f"{what}s"
    label = f"observed ({ad.size} {plural}" + (f", mean {mean:.3g})" if mean is not None else ")")
    ax.hist(np.clip(ad, 0, edges[-1]), bins=edges, density=True, alpha=0.7, color="#4C72B0", label=label)
    density = ad_null_bin_masses(edges, n_samples) / np.diff(edges)
    ax.stairs(density, edges, lw=2, color="#C44E52", label="Gaussian null (law of the AD p-values)")
    ax.axvline(crit, color="k", ls="--", lw=1, label=f"critical value {crit:.3f} at alpha {alpha:g}")
    ax.set_xlabel(f"Anderson–Darling A² per {what} (values beyond the axis are clipped)")
    ax.set_ylabel("density")
    ax.set_title("Per-coordinate normality" if what == "coordinate" else f"Per-{what} normality")
    ax.legend(loc="best", fontsize="small")
    return fig


# --------------------------------------------------------------------------------------- spectrum
def plot_spectrum(eigenvalues: Any, /, *, rank_tolerance: float | None = None,
                  participation_ratio: float | None = None, ax: Any = None) -> Any:
    """The covariance eigen-spectrum (log scale) against the flat spectrum of an isotropic Gaussian.

    Pass ``report.distance.spectrum.eigenvalues`` (or those of
    :func:`~gaussprobe.covariance_spectrum`). Eigenvalues below ``rank_tolerance`` (default:
    ``d * eps * max``) are null directions and are marked; ``participation_ratio`` (the result's)
    goes into the title.
    """
    ev = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    d = ev.size
    tol = rank_tolerance if rank_tolerance is not None else d * np.finfo(np.float64).eps * max(ev[0], 0.0)
    rank = int(np.sum(ev > tol))
    fig, ax = _axes(ax)
    k = np.arange(1, d + 1)
    floor = ev[rank - 1] * 1e-2 if rank > 0 else 1.0
    ax.semilogy(k[:rank], ev[:rank], color="#4C72B0", lw=2, label="eigenvalues")
    if rank < d:  # numerically zero: drawn just below the smallest non-null eigenvalue
        ax.semilogy(k[rank:], np.full(d - rank, floor), "x", color="#C44E52",
                    label=f"{d - rank} null direction(s), variance ≈ 0 (rank {rank}/{d})")
    ax.axhline(ev.mean(), color="#55A868", ls="--", lw=1.5, label="isotropic (all equal to the mean)")
    ax.set_xlabel("component (sorted)")
    ax.set_ylabel("variance")
    pr = "" if participation_ratio is None else f": participation ratio {participation_ratio:.1f} of {d}"
    ax.set_title(f"Covariance spectrum{pr}")
    ax.legend(loc="best", fontsize="small")
    return fig


def figure_to_data_uri(fig: Any, *, image_format: str = "png", dpi: int = 110) -> str:
    """Render a figure to a ``data:`` URI (PNG or SVG) for a self-contained HTML page."""
    buf = io.BytesIO()
    fig.savefig(buf, format=image_format, dpi=dpi, metadata={"Software": None} if image_format == "png" else None)
    mime = "image/svg+xml" if image_format == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


# ------------------------------------------------------------------------------------------ report
#: Figure groups of :func:`report_figure_groups`, in page order.
FIGURE_GROUPS = ("norms", "coordinates", "projections", "principal_directions", "pursuit", "spectrum")


def report_figure_groups(report: Any) -> dict[str, dict[str, Any]]:
    """The diagnostic figures of a report, by section: ``{group: {caption: Figure}}``.

    Groups (see :data:`FIGURE_GROUPS`) without a figure are left out. Every figure is drawn from the
    report's results: the norm histograms from ``thin_shell(_centered).norm_order_statistics``; the
    QQ plots and histograms of the worst coordinates, the worst random projections, the top principal
    directions and the pursued direction from their results' ``qq_values``; A² from the
    per-coordinate and per-direction statistics; the spectrum from its eigenvalues. A result without
    those values (a report written before they were stored) gets no such figure.
    """
    groups: dict[str, dict[str, Any]] = {g: {} for g in FIGURE_GROUPS}
    for shell, caption in ((getattr(report, "thin_shell", None), "Norms against the chi(d) reference"),
                           (getattr(report, "thin_shell_centered", None),
                            "Centred norms against the chi(d) reference")):
        if getattr(shell, "norm_order_statistics", None) is not None:
            groups["norms"][caption] = plot_norms(shell)
    co = getattr(report, "coordinates", None)
    if co is not None:
        if getattr(co, "qq_values", None) is not None:
            groups["coordinates"]["QQ plots of the least Gaussian coordinates (smallest AD p-values)"] = \
                plot_coordinate_qq(co)
            groups["coordinates"]["Histograms of the least Gaussian coordinates against N(0, 1)"] = \
                plot_coordinate_histograms(co)
        groups["coordinates"]["Per-coordinate Anderson–Darling statistics"] = plot_ad_distribution(
            co.ad_statistics, n_samples=int(co.n_samples), critical_value=co.ad_critical_value, alpha=co.alpha,
            mean=co.ad_mean)
    pr = getattr(report, "projections", None)
    if pr is not None:
        if getattr(pr, "qq_values", None) is not None:
            groups["projections"]["QQ plots of the least Gaussian random projections (smallest AD p-values)"] = \
                plot_projection_qq(pr)
            groups["projections"]["Histograms of the least Gaussian random projections against N(0, 1)"] = \
                plot_projection_histograms(pr)
        groups["projections"]["Per-direction Anderson–Darling statistics of the random projections"] = \
            plot_ad_distribution(pr.ad_statistics, n_samples=int(pr.n_samples), alpha=pr.alpha, mean=pr.ad_mean,
                                 what="direction")
        groups["projections"]["AD p-values of the random projections (least Gaussian labelled)"] = \
            plot_projection_pvalues(pr.ad_pvalues)
    pdr = getattr(report, "principal_directions", None)
    if pdr is not None and np.size(getattr(pdr, "qq_values", ())) > 0:
        groups["principal_directions"]["QQ plots of the top principal directions (held-out half)"] = \
            plot_principal_direction_qq(pdr)
        groups["principal_directions"]["Histograms of the top principal directions against N(0, 1)"] = \
            plot_principal_direction_histograms(pdr)
    pu = getattr(report, "pursuit", None)
    if pu is not None and getattr(pu, "qq_values", None) is not None:
        groups["pursuit"]["QQ plot of the least Gaussian direction found by projection pursuit"] = \
            plot_pursuit_qq(pu)
        groups["pursuit"]["Histogram of the least Gaussian direction against N(0, 1)"] = plot_pursuit_histogram(pu)
    spec = getattr(getattr(report, "distance", None), "spectrum", None)
    if spec is not None:
        groups["spectrum"]["Covariance eigen-spectrum"] = plot_spectrum(
            spec.eigenvalues, rank_tolerance=spec.rank_tolerance, participation_ratio=spec.participation_ratio)
    return {g: figs for g, figs in groups.items() if figs}


def report_figures(report: Any) -> dict[str, Any]:
    """Every diagnostic figure that can be drawn from a report: ``{caption: Figure}``, the figures of
    :func:`report_figure_groups` in page order."""
    return {caption: fig for figs in report_figure_groups(report).values() for caption, fig in figs.items()}


__all__ = [
    "FIGURE_GROUPS",
    "ad_null_bin_masses",
    "figure_to_data_uri",
    "new_figure",
    "plot_ad_distribution",
    "plot_coordinate_histograms",
    "plot_coordinate_qq",
    "plot_norms",
    "plot_principal_direction_histograms",
    "plot_principal_direction_qq",
    "plot_projection_histograms",
    "plot_projection_pvalues",
    "plot_projection_qq",
    "plot_pursuit_histogram",
    "plot_pursuit_qq",
    "plot_spectrum",
    "report_figure_groups",
    "report_figures",
]
