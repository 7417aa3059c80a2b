"""Diagnostic plots: norms against the chi(d) reference, QQ plots and histograms of the least Gaussian
coordinates and principal directions, A² against its null, eigen-spectrum.

matplotlib is an optional dependency (``pip install 'gaussprobe[plot]'``), imported only when a plot is
drawn. The functions never touch pyplot's global state or select a backend: without ``ax=`` they draw
on a new :class:`matplotlib.figure.Figure` attached to an Agg canvas, which works headless. Each takes
raw arrays (or the result objects of a report) and returns the figure it drew on.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from ._backend import optional_import, to_numpy

#: A² critical value of the modified statistic at the 5% level (D'Agostino & Stephens 1986, Table 4.7).
AD_CRITICAL_5PCT = 0.752
_MAX_QQ_POINTS = 1000


def _host(x: Any) -> np.ndarray:
    a = to_numpy(x)
    if a.ndim != 2:
        msg = f"Expected a 2-D embedding matrix (n_samples, n_features); got shape {a.shape}."
        raise ValueError(msg)
    return a


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


def _row_norms(x: np.ndarray, *, center: bool, block: int = 8192) -> np.ndarray:
    mean = x.mean(axis=0, dtype=np.float64) if center else None
    out = np.empty(len(x), dtype=np.float64)
    for a in range(0, len(x), block):
        rows = np.asarray(x[a:a + block], dtype=np.float64)
        if mean is not None:
            rows = rows - mean
        out[a:a + block] = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    return out


def plot_norms(x: Any, /, *, center: bool = False, bins: int = 60, ax: Any = None) -> Any:
    """Histogram of the row norms against the chi(d) density of an isotropic Gaussian.

    The reference is :math:`\\sigma\\,\\chi_d` with :math:`\\sigma` chosen so that its mean equals the
    observed mean norm: if the sample were an isotropic Gaussian, the histogram would follow the curve.
    A histogram much wider than the curve means the norms do not concentrate (no thin shell).

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings (NumPy, torch, memmap).
    center : bool
        Subtract the mean embedding first (norms of ``x - mean``).
    bins : int
        Histogram bins.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy import special

    a = _host(x)
    d = a.shape[1]
    norms = _row_norms(a, center=center)
    fig, ax = _axes(ax)
    ax.hist(norms, bins=bins, density=True, color="#4C72B0", alpha=0.75, label="observed norms")
    chi_mean = float(np.sqrt(2.0) * np.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2)))
    sigma = float(norms.mean()) / chi_mean
    lo, hi = float(norms.min()), float(norms.max())
    span = max(hi - lo, 1e-12)
    r = np.linspace(max(lo - 0.1 * span, 0.0), hi + 0.1 * span, 400)
    t = r / sigma
    with np.errstate(divide="ignore"):
        log_pdf = ((d - 1) * np.log(t) - t**2 / 2 - (d / 2 - 1) * np.log(2.0) - special.gammaln(d / 2))
    ax.plot(r, np.exp(log_pdf) / sigma, color="#C44E52", lw=2,
            label=f"isotropic Gaussian: σ·χ({d})")
    cv = float(norms.std() / norms.mean())
    ax.set_xlabel("‖x − mean‖" if center else "‖x‖")
    ax.set_ylabel("density")
    ax.set_title(f"Norms{' (centred)' if center else ''}: CV {cv:.3g} vs {float(_chi_cv(d)):.3g} for χ({d})")
    ax.legend(loc="best", fontsize="small")
    return fig


def _chi_cv(d: int) -> float:
    from scipy import special

    m = np.sqrt(2.0) * np.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2))
    return float(np.sqrt(max(d - m**2, 0.0)) / m)


def _qq(ax: Any, values: np.ndarray, title: str) -> None:
    from scipy import special

    v = np.sort(np.asarray(values, dtype=np.float64))
    n = v.size
    z = (v - v.mean()) / (v.std() or 1.0)
    idx = np.unique(np.linspace(0, n - 1, min(n, _MAX_QQ_POINTS)).round().astype(int))
    theo = special.ndtri((idx + 0.625) / (n + 0.25))  # Blom plotting positions
    ax.plot(theo, z[idx], ".", ms=3, color="#4C72B0")
    lim = float(max(abs(theo).max(), 1.0))
    ax.plot([-lim, lim], [-lim, lim], color="#C44E52", lw=1)
    ax.set_title(title, fontsize="small")
    ax.tick_params(labelsize="x-small")


def plot_projection_qq(x: Any, /, *, n_projections: int = 4, rng: Any = 0, fig: Any = None) -> Any:
    """QQ plots of the standardised projections onto a few random unit directions.

    Points on the diagonal mean the projection is Gaussian; an S-shape means light or heavy tails, a
    bow means skewness. The directions come from ``rng`` exactly as in the library's projection tests.
    """
    from ._random import random_directions

    a = _host(x)
    u = random_directions(a.shape[1], n_projections, rng)
    proj = np.asarray(a @ u.astype(a.dtype, copy=False), dtype=np.float64)
    cols = min(n_projections, 4)
    rows = -(-n_projections // cols)
    fig = fig if fig is not None else new_figure(2.2 * cols + 0.6, 2.2 * rows + 0.6)
    for k in range(n_projections):
        ax = fig.add_subplot(rows, cols, k + 1)
        _qq(ax, proj[:, k], f"direction {k + 1}")
    fig.supxlabel("normal quantiles", fontsize="small")
    fig.supylabel("standardised projection", fontsize="small")
    fig.suptitle("Random projections vs N(0, 1)", fontsize="medium")
    return fig


def anderson_darling_columns(x: Any, /, *, block: int = 64) -> np.ndarray:
    """Per-column Anderson-Darling A² (mean and variance estimated), as ``scipy.stats.anderson``."""
    from scipy import special

    a = _host(x)
    n, d = a.shape
    i = np.arange(1, n + 1, dtype=np.float64)[:, None]
    out = np.empty(d, dtype=np.float64)
    for c in range(0, d, block):
        cols = np.sort(np.asarray(a[:, c:c + block], dtype=np.float64), axis=0)
        std = cols.std(axis=0, ddof=1)
        std[std == 0] = np.nan
        z = (cols - cols.mean(axis=0)) / std
        s = np.sum((2 * i - 1) * (special.log_ndtr(z) + special.log_ndtr(-z[::-1])), axis=0)
        out[c:c + block] = -n - s / n
    return out


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


def _coordinate_order(a: np.ndarray, ad: np.ndarray | None, coordinates: Any, n_coordinates: int) -> np.ndarray:
    if coordinates is not None:
        return np.asarray(coordinates, dtype=np.int64).ravel()[:n_coordinates]
    ad = ad if ad is not None else anderson_darling_columns(a)
    return np.argsort(np.where(np.isfinite(ad), ad, -np.inf))[::-1][:n_coordinates]


def _coordinate_title(j: int, ad: np.ndarray | None, pvalues: np.ndarray | None) -> str:
    stats = ([f"A² {ad[j]:.3g}"] if ad is not None else []) + ([f"p {pvalues[j]:.2g}"] if pvalues is not None else [])
    return f"coord {j}" + (f": {', '.join(stats)}" if stats else "")


def plot_coordinate_qq(x: Any, /, *, ad_statistics: Any = None, n_coordinates: int = 4,
                       coordinates: Any = None, ad_pvalues: Any = None, fig: Any = None) -> Any:
    """QQ plots of the least Gaussian coordinates.

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
        Embeddings.
    ad_statistics, ad_pvalues : array of shape (n_features,), optional
        Per-coordinate A² and its p-value (``report.coordinates.ad_statistics`` / ``.ad_pvalues``),
        shown in the panel titles.
    n_coordinates : int
        Most coordinates drawn.
    coordinates : array of int, optional
        Which coordinates, worst first (``report.coordinates.worst_coordinates``, sorted by AD
        p-value). Without it, those with the largest A².
    fig : matplotlib Figure, optional
        Draw here instead of on a new figure.
    """
    a = _host(x)
    ad = np.asarray(ad_statistics, dtype=np.float64) if ad_statistics is not None else None
    pv = np.asarray(ad_pvalues, dtype=np.float64) if ad_pvalues is not None else None
    if ad is None and coordinates is None:
        ad = anderson_darling_columns(a)
    order = _coordinate_order(a, ad, coordinates, n_coordinates)
    fig = _panel_figure(fig, len(order))
    for ax, j in zip(_grid(fig, len(order)), order, strict=True):
        _qq(ax, np.asarray(a[:, j]), _coordinate_title(int(j), ad, pv))
    fig.supxlabel("normal quantiles", fontsize="small")
    fig.supylabel("standardised value", fontsize="small")
    fig.suptitle("Least Gaussian coordinates", fontsize="medium")
    return fig


def _normal_density(ax: Any, lim: float) -> None:
    t = np.linspace(-lim, lim, 200)
    ax.plot(t, np.exp(-t**2 / 2) / np.sqrt(2 * np.pi), color="#C44E52", lw=1.5)


def _hist(ax: Any, z: np.ndarray, title: str, bins: int) -> None:
    lim = float(max(np.nanmax(np.abs(z)) if z.size else 1.0, 3.5))
    ax.hist(z, bins=bins, range=(-lim, lim), density=True, color="#4C72B0", alpha=0.75)
    _normal_density(ax, lim)
    ax.set_title(title, fontsize="small")
    ax.tick_params(labelsize="x-small")


def plot_coordinate_histograms(x: Any, /, *, coordinates: Any, ad_statistics: Any = None,
                               ad_pvalues: Any = None, n_coordinates: int = 4, bins: int = 40,
                               fig: Any = None) -> Any:
    """Histograms of the standardised least Gaussian coordinates against the N(0, 1) density.

    ``coordinates`` are the indices to draw, worst first (``report.coordinates.worst_coordinates``);
    ``ad_statistics`` and ``ad_pvalues`` label the panels. A skewed histogram or one with heavier or
    lighter tails than the curve shows how the coordinate departs from a Gaussian.
    """
    a = _host(x)
    ad = np.asarray(ad_statistics, dtype=np.float64) if ad_statistics is not None else None
    pv = np.asarray(ad_pvalues, dtype=np.float64) if ad_pvalues is not None else None
    order = _coordinate_order(a, ad, coordinates, n_coordinates)
    fig = _panel_figure(fig, len(order))
    for ax, j in zip(_grid(fig, len(order)), order, strict=True):
        v = np.asarray(a[:, j], dtype=np.float64)
        _hist(ax, (v - v.mean()) / (v.std() or 1.0), _coordinate_title(int(j), ad, pv), bins)
    fig.supxlabel("standardised value", fontsize="small")
    fig.supylabel("density", fontsize="small")
    fig.suptitle("Least Gaussian coordinates against N(0, 1)", fontsize="medium")
    return fig


def _direction_titles(result: Any, q: int) -> list[str]:
    ends = tuple(getattr(result, "ends", ()) or ())
    ranks = np.asarray(getattr(result, "ranks", ()), dtype=np.int64)
    pv = np.asarray(getattr(result, "ad_pvalues", ()), dtype=np.float64)
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
    values = np.atleast_2d(np.asarray(result.qq_values, dtype=np.float64))
    theo = np.asarray(result.qq_quantiles, dtype=np.float64)
    q = values.shape[0] if values.size else 0
    fig = _panel_figure(fig, q)
    for ax, v, title in zip(_grid(fig, q), values, _direction_titles(result, q), strict=True):
        ax.plot(theo, v, ".", ms=3, color="#4C72B0")
        lim = float(max(np.abs(theo).max() if theo.size else 1.0, 1.0))
        ax.plot([-lim, lim], [-lim, lim], color="#C44E52", lw=1)
        ax.set_title(title, fontsize="small")
        ax.tick_params(labelsize="x-small")
    fig.supxlabel("normal quantiles", fontsize="small")
    fig.supylabel("standardised projection", fontsize="small")
    fig.suptitle("Top principal directions vs N(0, 1)", fontsize="medium")
    return fig


def plot_principal_direction_histograms(result: Any, /, *, bins: int = 30, fig: Any = None) -> Any:
    """Histograms of the held-out projections onto the top principal directions against N(0, 1).

    Drawn from the evenly spaced order statistics in ``result.qq_values``, which follow the
    distribution of the projection.
    """
    values = np.atleast_2d(np.asarray(result.qq_values, dtype=np.float64))
    q = values.shape[0] if values.size else 0
    fig = _panel_figure(fig, q)
    for ax, v, title in zip(_grid(fig, q), values, _direction_titles(result, q), strict=True):
        _hist(ax, v, title, bins)
    fig.supxlabel("standardised projection", fontsize="small")
    fig.supylabel("density", fontsize="small")
    fig.suptitle("Top principal directions against N(0, 1)", fontsize="medium")
    return fig


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


def null_ad_statistics(n_samples: int, *, n_draws: int = 2000, rng: Any = 0) -> np.ndarray:
    """Monte-Carlo A² of Gaussian samples of size ``min(n_samples, 5000)`` (the null distribution).

    A² with estimated parameters converges quickly in n, so capping the size keeps this cheap.
    """
    m = int(min(max(n_samples, 8), 5000))
    from ._random import as_generator

    gen = as_generator(rng)
    out = np.empty(n_draws)
    step = max(1, 2_000_000 // m)
    for a in range(0, n_draws, step):
        k = min(step, n_draws - a)
        out[a:a + k] = anderson_darling_columns(gen.standard_normal((m, k)))
    return out


def plot_ad_distribution(ad_statistics: Any, /, *, n_samples: int, ax: Any = None, rng: Any = 0,
                         what: str = "coordinate", null_statistics: Any = None) -> Any:
    """The per-coordinate (or per-direction) A² against its null distribution at the same sample size.

    The dashed line is the 5% critical value (0.752 for the modified statistic); for Gaussian
    coordinates about 95% of the mass falls left of it and the mean A² is about 0.37. ``what`` names
    the items in the labels (``"coordinate"``, ``"direction"``); ``null_statistics`` reuses draws of
    :func:`null_ad_statistics`.
    """
    ad = np.asarray(ad_statistics, dtype=np.float64)
    ad = ad[np.isfinite(ad)]
    null = (np.asarray(null_statistics, dtype=np.float64) if null_statistics is not None
            else null_ad_statistics(n_samples, rng=rng))
    fig, ax = _axes(ax)
    hi = float(np.quantile(np.concatenate([ad, null]), 0.995)) if ad.size else float(null.max())
    edges = np.linspace(0.0, max(hi, 1.0), 50)
    plural = "coordinates" if what == "coordinate" else f"{what}s"
    ax.hist(np.clip(ad, 0, edges[-1]), bins=edges, density=True, alpha=0.7, color="#4C72B0",
            label=f"observed ({ad.size} {plural}, mean {ad.mean():.3g})")
    ax.hist(null, bins=edges, density=True, histtype="step", lw=2, color="#C44E52",
            label=f"Gaussian null (mean {null.mean():.3g})")
    crit = AD_CRITICAL_5PCT / (1 + 0.75 / n_samples + 2.25 / n_samples**2)
    ax.axvline(crit, color="k", ls="--", lw=1, label=f"5% critical value {crit:.3f}")
    ax.set_xlabel(f"Anderson–Darling A² per {what} (values beyond the axis are clipped)")
    ax.set_ylabel("density")
    ax.set_title("Per-coordinate normality" if what == "coordinate" else f"Per-{what} normality")
    ax.legend(loc="best", fontsize="small")
    return fig


def covariance_eigenvalues(x: Any, /) -> np.ndarray:
    """Eigenvalues of the sample covariance (divisor n), descending, float64."""
    a = _host(x)
    n, d = a.shape
    mean = a.mean(axis=0, dtype=np.float64)
    g = np.zeros((d, d))
    for s in range(0, n, 8192):
        rows = np.asarray(a[s:s + 8192], dtype=np.float64) - mean
        g += rows.T @ rows
    return np.linalg.eigvalsh(g / n)[::-1]


def plot_spectrum(eigenvalues: Any, /, *, rank_tolerance: float | None = None, ax: Any = None) -> Any:
    """The covariance eigen-spectrum (log scale) against the flat spectrum of an isotropic Gaussian.

    Pass ``covariance_eigenvalues(x)`` or ``report.distance.spectrum.eigenvalues``. Eigenvalues below
    ``rank_tolerance`` (default: ``d * eps * max``) are null directions and are marked.
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
    pr = ev.sum() ** 2 / np.sum(ev**2)
    ax.set_title(f"Covariance spectrum: participation ratio {pr:.1f} of {d}")
    ax.legend(loc="best", fontsize="small")
    return fig


def figure_to_data_uri(fig: Any, *, image_format: str = "png", dpi: int = 110) -> str:
    """Render a figure to a ``data:`` URI (PNG or SVG) for a self-contained HTML page."""
    buf = io.BytesIO()
    fig.savefig(buf, format=image_format, dpi=dpi, metadata={"Software": None} if image_format == "png" else None)
    mime = "image/svg+xml" if image_format == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


#: Figure groups of :func:`report_figure_groups`, in page order.
FIGURE_GROUPS = ("norms", "coordinates", "projections", "principal_directions", "spectrum")


def report_figure_groups(report: Any = None, x: Any = None, *, rng: Any = 0) -> dict[str, dict[str, Any]]:
    """The diagnostic figures of a report, by section: ``{group: {caption: Figure}}``.

    Groups (see :data:`FIGURE_GROUPS`) without a figure are left out. Every figure reads its values from
    the report's results; ``x`` adds what only the data can show: the norm histograms and the QQ plots
    and histograms of the worst coordinates (``report.coordinates.worst_coordinates``, sorted by AD
    p-value). The random projections are shown through their per-direction A² and p-values, because
    their projected values are not stored on the result; the principal directions through the
    ``qq_values`` their result keeps.
    """
    groups: dict[str, dict[str, Any]] = {g: {} for g in FIGURE_GROUPS}
    coords = getattr(report, "coordinates", None)
    ad = getattr(coords, "ad_statistics", None)
    ad_p = getattr(coords, "ad_pvalues", None)
    worst = getattr(coords, "worst_coordinates", None)
    if x is not None:
        groups["norms"]["Norms against the chi(d) reference"] = plot_norms(x)
        groups["norms"]["Centred norms against the chi(d) reference"] = plot_norms(x, center=True)
        groups["coordinates"]["QQ plots of the least Gaussian coordinates (smallest AD p-values)"] = \
            plot_coordinate_qq(x, ad_statistics=ad, coordinates=worst, ad_pvalues=ad_p)
        if worst is not None:
            groups["coordinates"]["Histograms of the least Gaussian coordinates against N(0, 1)"] = \
                plot_coordinate_histograms(x, coordinates=worst, ad_statistics=ad, ad_pvalues=ad_p)
        if ad is None:
            ad = anderson_darling_columns(x)
    n = getattr(report, "n_samples", None) or (None if x is None else int(np.shape(x)[0]))
    proj = getattr(report, "projections", None)
    null = None
    if n is not None and (ad is not None or getattr(proj, "ad_statistics", None) is not None):
        null = null_ad_statistics(int(n), rng=rng)
    if ad is not None and n is not None:
        groups["coordinates"]["Per-coordinate Anderson–Darling statistics"] = plot_ad_distribution(
            ad, n_samples=int(n), null_statistics=null)
    if proj is not None and n is not None and getattr(proj, "ad_statistics", None) is not None:
        groups["projections"]["Per-direction Anderson–Darling statistics of the random projections"] = \
            plot_ad_distribution(proj.ad_statistics, n_samples=int(n), what="direction", null_statistics=null)
    if proj is not None and getattr(proj, "ad_pvalues", None) is not None:
        groups["projections"]["AD p-values of the random projections (least Gaussian labelled)"] = \
            plot_projection_pvalues(proj.ad_pvalues)
    pdr = getattr(report, "principal_directions", None)
    if pdr is not None and np.size(getattr(pdr, "qq_values", ())) > 0:
        groups["principal_directions"]["QQ plots of the top principal directions (held-out half)"] = \
            plot_principal_direction_qq(pdr)
        groups["principal_directions"]["Histograms of the top principal directions against N(0, 1)"] = \
            plot_principal_direction_histograms(pdr)
    spec = getattr(getattr(report, "distance", None), "spectrum", None)
    if spec is not None and getattr(spec, "eigenvalues", None) is not None:
        groups["spectrum"]["Covariance eigen-spectrum"] = plot_spectrum(
            spec.eigenvalues, rank_tolerance=getattr(spec, "rank_tolerance", None))
    elif x is not None:
        groups["spectrum"]["Covariance eigen-spectrum"] = plot_spectrum(covariance_eigenvalues(x))
    return {g: figs for g, figs in groups.items() if figs}


def report_figures(report: Any = None, x: Any = None, *, rng: Any = 0) -> dict[str, Any]:
    """Every diagnostic figure that can be drawn from a report and/or the embeddings.

    Returns a dict ``{title: Figure}``: the figures of :func:`report_figure_groups`, in page order.
    """
    return {caption: fig for figs in report_figure_groups(report, x, rng=rng).values()
            for caption, fig in figs.items()}


__all__ = [
    "FIGURE_GROUPS",
    "anderson_darling_columns",
    "covariance_eigenvalues",
    "figure_to_data_uri",
    "new_figure",
    "null_ad_statistics",
    "plot_ad_distribution",
    "plot_coordinate_histograms",
    "plot_coordinate_qq",
    "plot_norms",
    "plot_principal_direction_histograms",
    "plot_principal_direction_qq",
    "plot_projection_pvalues",
    "plot_projection_qq",
    "plot_spectrum",
    "report_figure_groups",
    "report_figures",
]
