"""Jupyter views of reports and results: a short ``repr``, an HTML table with inline plots, DataFrames.

Nothing here computes a statistic. The rows of a report's table are :func:`gaussprobe.render.rows`
(the rows of the summary, Markdown and HTML reports, from the registry of statistics), the plots are
:func:`gaussprobe.plotting.report_figures`, and the verdict is :meth:`GaussianityReport.check` with the
default preset. A single result is shown
as the rows of its part of the report (when it is one), a table of its scalar fields and the plots
its values allow. matplotlib and pandas are imported only here, inside the functions that need them;
without matplotlib the HTML simply has no plots.
"""

from __future__ import annotations

import dataclasses
import html
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ._results import Result, bounded

_BOX = "font-size:13px;line-height:1.35;max-width:980px"
_TABLE = "border-collapse:collapse;margin:4px 0"
_CELL = "padding:2px 8px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top"
_NUM = ("padding:2px 8px;border-bottom:1px solid #e5e7eb;text-align:right;vertical-align:top;"
        "font-variant-numeric:tabular-nums")
_MUTED = "color:#555"
_PLOT_HINT = "Install matplotlib for the plots: pip install 'gaussprobe[plot]'."


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


# ------------------------------------------------------------------------------------------- repr
def _short_name(criterion: str) -> str:
    """``min_projection_pvalue`` -> ``projection_p``; ``max_cv`` -> ``cv``."""
    name = criterion.removeprefix("min_").removeprefix("max_")
    return name[: -len("_pvalue")] + "_p" if name.endswith("_pvalue") else name


def _verdict(outcome: Any) -> str:
    if outcome.passed:
        return "PASSED"
    return f"FAILED ({len(outcome.failures)} of {len(outcome.results)})"


def _default_check(report: Any) -> tuple[Any, str]:
    """``(report.check(), "")``, or ``(None, why)`` where the check cannot run on this report."""
    try:
        return report.check(), ""
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def report_repr(report: Any) -> str:
    """``GaussianityReport(n=..., d=..., tests=..., <checked values>, check=PASSED (gaussian))``.

    The values shown are those the default preset checks (under short names), so the line says what
    ``report.check()`` looked at and what it concluded.
    """
    from .criteria import DEFAULT_PRESET

    parts = [f"n={report.n_samples}", f"d={report.n_features}", f"tests={len(report.tests)}"]
    if report.skipped:
        parts.append(f"skipped={len(report.skipped)}")
    outcome, _ = _default_check(report)
    if outcome is None:
        return bounded(type(report).__name__, parts, tail="check=error")
    parts += [f"{_short_name(r.name)}={'n/a' if r.observed is None else format(r.observed, '.3g')}"
              for r in outcome.results]
    verdict = _verdict(outcome)
    verdict = f"{verdict[:-1]}, {DEFAULT_PRESET})" if verdict.endswith(")") else f"{verdict} ({DEFAULT_PRESET})"
    return bounded(type(report).__name__, parts, tail=f"check={verdict}")


# ------------------------------------------------------------------------------------------- HTML
def _metrics_table(rows: Iterable[Any]) -> str:
    """The summary rows (:class:`gaussprobe.render.Row`) as a table, one header row per section."""
    out = [(f'<table style="{_TABLE}"><thead><tr><th style="{_CELL}">statistic</th>'
            f'<th style="{_NUM}">value</th><th style="{_CELL}">exact Gaussian, same n and d: '
            "mean [95% band]</th></tr></thead><tbody>")]
    section = None
    for m in rows:
        if m.section != section:
            section = m.section
            out.append(f'<tr><th colspan="3" style="{_CELL}">{_esc(section)}</th></tr>')
        reference = f"{m.reference}: {m.note}" if m.note else m.reference
        out.append(f'<tr><td style="{_CELL}">{_esc(m.name)}</td><td style="{_NUM}">{_esc(m.text)}</td>'
                   f'<td style="{_CELL}">{_esc(reference)}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _check_html(outcome: Any, label: str = "") -> str:
    """The verdict line and one row per criterion (failures first), as the HTML report has them."""
    from .render import _status_word, check_rows

    if not outcome.results:
        return '<div style="color:#b3261e;font-weight:600">Check: no criteria were set (FAIL)</div>'
    ok = outcome.passed
    colour = "#126b2f" if ok else "#b3261e"
    out = [f'<div style="font-weight:600;color:{colour}">Check{_esc(label)}: {_esc(_verdict(outcome))}</div>',
           (f'<table style="{_TABLE}"><thead><tr><th style="{_CELL}">criterion</th>'
            f'<th style="{_NUM}">observed</th><th style="{_NUM}">limit</th><th style="{_CELL}">result</th>'
            "</tr></thead><tbody>")]
    for r, op, observed, limit in check_rows(outcome):
        word = _status_word(r, "" if r.passed else "FAIL")
        style = "color:#126b2f" if r.passed else "color:#b3261e;font-weight:600"
        note = f'<br><small style="{_MUTED}">{_esc(r.note)}</small>' if getattr(r, "note", "") else ""
        out.append(f'<tr><td style="{_CELL}"><code>{_esc(r.name)}</code></td>'
                   f'<td style="{_NUM}">{_esc(observed)}</td>'
                   f'<td style="{_NUM}">{_esc(op)} {_esc(limit)}</td>'
                   f'<td style="{_CELL}"><span style="{style}">{_esc(word)}</span>{note}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figures_html(make: Callable[[], Mapping[str, Any]]) -> str:
    """The figures ``make()`` draws, inlined as base64 PNG; a hint instead when matplotlib is missing."""
    if not _have_matplotlib():
        return f'<div style="{_MUTED}"><small>{_esc(_PLOT_HINT)}</small></div>'
    from .plotting import figure_to_data_uri

    figs = make()
    if not figs:
        return ""
    items = [f'<figure style="margin:4px;flex:1 1 320px;max-width:480px">'
             f'<img src="{_esc(figure_to_data_uri(fig))}" alt="{_esc(caption)}" style="width:100%;height:auto">'
             f'<figcaption style="font-size:0.85em;{_MUTED}">{_esc(caption)}</figcaption></figure>'
             for caption, fig in figs.items()]
    return '<div style="display:flex;flex-wrap:wrap">' + "".join(items) + "</div>"


def report_html(report: Any, *, plots: bool = True) -> str:
    """A compact HTML view of a report: provenance, the default check, the summary rows, the plots.

    An HTML fragment with inline styles only (no page-wide CSS, no scripts), safe to embed in a
    notebook; every string is HTML-escaped.
    """
    from .criteria import DEFAULT_PRESET
    from .render import _provenance, rows, skipped_lines

    parts = [f'<div class="gaussprobe-report" style="{_BOX}">',
             (f'<div><b>{_esc(type(report).__name__)}</b> <span style="{_MUTED}">'
              f"{_esc(_provenance(report))}</span></div>")]
    outcome, why = _default_check(report)
    if outcome is None:
        parts.append(f'<div style="color:#b3261e">Check not available: {_esc(why)}</div>')
    else:
        parts.append(_check_html(outcome, f" (preset {DEFAULT_PRESET!r})"))
    parts.append(_metrics_table(rows(report)))
    skipped = skipped_lines(report)
    if skipped:
        parts.append('<div><b>Skipped</b></div><ul style="margin:2px 0">'
                     + "".join(f"<li><b>{_esc(k)}</b>: {_esc(v)}</li>" for k, v in skipped)
                     + "</ul>")
    if plots:
        from .plotting import report_figures

        parts.append(_figures_html(lambda: report_figures(report)))
    parts.append("</div>")
    return "\n".join(p for p in parts if p)


def _as_report(result: Any) -> Any:
    """A stand-in report holding only ``result`` in its field, so that the report's rows and plots of
    that part can be drawn from it; None when the result is not a part of a report."""
    from ._registry import REPORT_FIELDS

    fields = [field for field, cls in REPORT_FIELDS if type(result) is cls]
    if not fields:
        return None
    section = fields[0]
    if len(fields) > 1 and getattr(result, "centered", False):  # the centred thin shell
        section = fields[1]
    return types.SimpleNamespace(**{section: result}, n_samples=getattr(result, "n_samples", None),
                                 n_features=getattr(result, "n_features", None),
                                 alpha=getattr(result, "alpha", None) or 0.05)


def _plot_source(result: Any) -> Any:
    if type(result).__name__ == "SpectrumResult":
        return types.SimpleNamespace(distance=types.SimpleNamespace(spectrum=result),
                                     n_samples=getattr(result, "n_samples", None))
    return _as_report(result)


def _cell(value: Any) -> tuple[str, bool]:
    """The escaped text of one scalar field and whether it is a number (right-aligned)."""
    from ._registry import format_value as _fmt

    if isinstance(value, (bool, np.bool_)):
        return _esc(bool(value)), False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _esc(_fmt(value)), True
    if isinstance(value, tuple) and all(isinstance(v, (int, float, np.number)) for v in value):
        return _esc("(" + ", ".join(_fmt(v) for v in value) + ")"), False
    return _esc(value), False


def _scalar_rows(result: Any, prefix: str = "") -> tuple[list[tuple[str, str, bool]], list[str]]:
    """``(rows, arrays)``: one ``(name, text, numeric)`` row per scalar field (nested results with
    scalar fields only are flattened as ``field.sub``; a reference band is one row) and the array fields
    as ``name (shape)``."""
    from ._registry import format_band as _band

    rows: list[tuple[str, str, bool]] = []
    arrays: list[str] = []
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        name = prefix + f.name
        if value is None or (isinstance(value, (str, dict, tuple, list)) and not value):
            continue
        if isinstance(value, np.ndarray):
            arrays.append(f"{name} {value.shape}")
        elif isinstance(value, Result) and {"mean", "low", "high"} <= {g.name for g in dataclasses.fields(value)}:  # type: ignore[arg-type]
            rows.append((name, _esc(_band(value)), False))  # type: ignore[arg-type]
        elif isinstance(value, Result) and not prefix and not any(
                isinstance(getattr(value, g.name), Result) for g in dataclasses.fields(value)):  # type: ignore[arg-type]
            sub_rows, sub_arrays = _scalar_rows(value, f"{name}.")
            rows += sub_rows
            arrays += sub_arrays
        elif isinstance(value, (Result, dict, list)) or (
                isinstance(value, tuple) and not all(isinstance(v, (int, float, np.number)) for v in value)):
            rows.append((name, _esc(repr(value) if isinstance(value, Result) else
                                    f"{type(value).__name__} of {len(value)}"), False))
        else:
            text, numeric = _cell(value)
            rows.append((name, text, numeric))
    return rows, arrays


def _fields_table(rows: list[tuple[str, str, bool]]) -> str:
    body = "".join(f'<tr><td style="{_CELL}"><code>{_esc(name)}</code></td>'
                   f'<td style="{_NUM if numeric else _CELL}">{text}</td></tr>' for name, text, numeric in rows)
    return (f'<table style="{_TABLE}"><thead><tr><th style="{_CELL}">field</th><th style="{_CELL}">value</th>'
            f"</tr></thead><tbody>{body}</tbody></table>")


def _items_table(items: tuple[Any, ...]) -> str:
    """One row per nested result (e.g. the criteria of a check), one column per scalar field."""
    names = [f.name for f in dataclasses.fields(items[0])
             if not isinstance(getattr(items[0], f.name), (np.ndarray, Result))]
    head = "".join(f'<th style="{_CELL}">{_esc(n)}</th>' for n in names)
    body = []
    for item in items:
        cells = []
        for n in names:
            value = getattr(item, n, None)
            text, numeric = ("", False) if value is None or value == "" else _cell(value)
            cells.append(f'<td style="{_NUM if numeric else _CELL}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def result_html(result: Any, *, plots: bool = True) -> str:
    """A compact HTML view of one result.

    The rows of its part of the summary (when it is a part of a report), a table of its scalar fields
    (folded away under the rows when those are shown), the names and shapes of its arrays, and the
    plots its values allow (with matplotlib). Every string is HTML-escaped.
    """
    from .render import rows as summary_rows

    name = type(result).__name__
    parts = [f'<div class="gaussprobe-result" style="{_BOX}">', f"<div><b>{_esc(name)}</b></div>"]
    if name == "CheckOutcome":
        parts += [_check_html(result), "</div>"]
        return "\n".join(parts)
    stand_in = _as_report(result)
    summary = summary_rows(stand_in) if stand_in is not None else []
    rows, arrays = _scalar_rows(result)
    if summary:
        parts.append(_metrics_table(summary))
    if rows:
        table = _fields_table(rows)
        parts.append(f"<details><summary>Fields</summary>{table}</details>" if summary else table)
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, tuple) and value and all(isinstance(v, Result) for v in value):
            parts.append(f"<div><code>{_esc(f.name)}</code></div>{_items_table(value)}")
    if arrays:
        frame = "; one row per entry: <code>.to_frame()</code>" if hasattr(result, "to_frame") else ""
        parts.append(f'<div style="{_MUTED}"><small>Arrays: {_esc(", ".join(arrays))}{frame}</small></div>')
    source = _plot_source(result)
    if plots and source is not None:
        from .plotting import report_figures

        parts.append(_figures_html(lambda: report_figures(source)))
    parts.append("</div>")
    return "\n".join(p for p in parts if p)


# ------------------------------------------------------------------------------------- DataFrames
def data_frame(owner: str, index_name: str, columns: Mapping[str, Any]) -> Any:
    """A :class:`pandas.DataFrame` of equal-length columns, its index named ``index_name``.

    Raises an ImportError that says how to install pandas when it is missing (``owner`` names the
    class whose ``to_frame()`` was called).
    """
    try:
        import pandas as pd
    except ImportError as exc:
        msg = (f"{owner}.to_frame() needs pandas, which is not installed. Install it with: pip install pandas "
               "(to_dict() gives the same values without it).")
        raise ImportError(msg) from exc
    frame = pd.DataFrame({key: np.asarray(value) for key, value in columns.items()})
    frame.index.name = index_name
    return frame


__all__ = ["data_frame", "report_html", "report_repr", "result_html"]
