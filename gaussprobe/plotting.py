"""Diagnostic plots: norms against the chi(d) reference, QQ plots, per-coordinate AD, eigen-spectrum.

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


def plot_coordinate_qq(x: Any, /, *, ad_statistics: Any = None, n_coordinates: int = 4,
                       fig: Any = None) -> Any:
    """QQ plots of the least Gaussian coordinates (largest Anderson-Darling A²)."""
    a = _host(x)
    ad = np.asarray(ad_statistics, dtype=np.float64) if ad_statistics is not None else anderson_darling_columns(a)
    order = np.argsort(np.where(np.isfinite(ad), ad, -np.inf))[::-1][:n_coordinates]
    cols = min(len(order), 4)
    rows = -(-len(order) // cols)
    fig = fig if fig is not None else new_figure(2.2 * cols + 0.6, 2.2 * rows + 0.6)
    for k, j in enumerate(order):
        ax = fig.add_subplot(rows, cols, k + 1)
        _qq(ax, np.asarray(a[:, j]), f"coord {int(j)}: A² {ad[j]:.3g}")
    fig.supxlabel("normal quantiles", fontsize="small")
    fig.supylabel("standardised value", fontsize="small")
    fig.suptitle("Least Gaussian coordinates", fontsize="medium")
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


def plot_ad_distribution(ad_statistics: Any, /, *, n_samples: int, ax: Any = None, rng: Any = 0) -> Any:
    """The per-coordinate A² against its null distribution for a Gaussian sample of the same size.

    The dashed line is the 5% critical value (0.752 for the modified statistic); for Gaussian
    coordinates about 95% of the mass falls left of it and the mean A² is about 0.37.
    """
    ad = np.asarray(ad_statistics, dtype=np.float64)
    ad = ad[np.isfinite(ad)]
    null = null_ad_statistics(n_samples, rng=rng)
    fig, ax = _axes(ax)
    hi = float(np.quantile(np.concatenate([ad, null]), 0.995)) if ad.size else float(null.max())
    edges = np.linspace(0.0, max(hi, 1.0), 50)
    ax.hist(np.clip(ad, 0, edges[-1]), bins=edges, density=True, alpha=0.7, color="#4C72B0",
            label=f"observed ({ad.size} coordinates, mean {ad.mean():.3g})")
    ax.hist(null, bins=edges, density=True, histtype="step", lw=2, color="#C44E52",
            label=f"Gaussian null (mean {null.mean():.3g})")
    crit = AD_CRITICAL_5PCT / (1 + 0.75 / n_samples + 2.25 / n_samples**2)
    ax.axvline(crit, color="k", ls="--", lw=1, label=f"5% critical value {crit:.3f}")
    ax.set_xlabel("Anderson–Darling A² per coordinate (values beyond the axis are clipped)")
    ax.set_ylabel("density")
    ax.set_title("Per-coordinate normality")
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


def report_figures(report: Any = None, x: Any = None, *, rng: Any = 0) -> dict[str, Any]:
    """Every diagnostic figure that can be drawn from a report and/or the embeddings.

    Returns a dict ``{title: Figure}``. With ``x``, the norm histograms and QQ plots are drawn; from
    the report alone, the AD distribution and the spectrum (when those results exist).
    """
    figs: dict[str, Any] = {}
    coords = getattr(report, "coordinates", None)
    ad = getattr(coords, "ad_statistics", None)
    if x is not None:
        figs["Norms against the chi(d) reference"] = plot_norms(x)
        figs["Centred norms against the chi(d) reference"] = plot_norms(x, center=True)
        figs["QQ plots of random projections"] = plot_projection_qq(x, rng=rng)
        figs["QQ plots of the least Gaussian coordinates"] = plot_coordinate_qq(x, ad_statistics=ad)
        if ad is None:
            ad = anderson_darling_columns(x)
    n = getattr(report, "n_samples", None) or (None if x is None else int(np.shape(x)[0]))
    if ad is not None and n is not None:
        figs["Per-coordinate Anderson–Darling statistics"] = plot_ad_distribution(ad, n_samples=n, rng=rng)
    spec = getattr(getattr(report, "distance", None), "spectrum", None)
    if spec is not None and getattr(spec, "eigenvalues", None) is not None:
        figs["Covariance eigen-spectrum"] = plot_spectrum(spec.eigenvalues,
                                                          rank_tolerance=getattr(spec, "rank_tolerance", None))
    elif x is not None:
        figs["Covariance eigen-spectrum"] = plot_spectrum(covariance_eigenvalues(x))
    return figs


__all__ = [
    "anderson_darling_columns",
    "covariance_eigenvalues",
    "figure_to_data_uri",
    "new_figure",
    "null_ad_statistics",
    "plot_ad_distribution",
    "plot_coordinate_qq",
    "plot_norms",
    "plot_projection_qq",
    "plot_spectrum",
    "report_figures",
]
