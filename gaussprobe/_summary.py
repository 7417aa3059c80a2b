"""The fixed-width text table of :meth:`GaussianityReport.summary`.

Its rows are :func:`gaussprobe.render.rows`, the rows of the Markdown and HTML reports (the same
labels, values, units and rounding); this module only lays them out in columns.
"""

from __future__ import annotations

import textwrap
from typing import Any

from . import _registry as registry

_W = 78
#: Longest line of the table: a reference that would pass it goes on the next line.
_MAX_LINE = 100
_LABEL, _VALUE = 40, 12


def _row(label: str, value: str, ref: str = "") -> list[str]:
    """One row; a reference too long for the line continues on the next ones, under itself, broken
    after its ``;``-separated parts where it can be."""
    head = f"  {label:<{_LABEL}}{value:>{_VALUE}}   "
    width = _MAX_LINE - len(head)
    parts: list[str] = []
    for piece in ref.split("; "):
        if parts and len(parts[-1]) + 2 + len(piece) <= width:
            parts[-1] += "; " + piece
        else:
            if parts:
                parts[-1] += ";"
            parts += textwrap.wrap(piece, width=width) or [""]
    indent = " " * len(head)
    return [(head + parts[0]).rstrip(), *(indent + p for p in parts[1:])]


def _note(note: str) -> list[str]:
    """A note under a row, wrapped to the table's width."""
    return textwrap.wrap(f"note: {note}", width=_MAX_LINE - 4, initial_indent="    ", subsequent_indent="      ")


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def format_summary(report: Any) -> str:
    """Render a report as a table (values on the left, what a Gaussian gives on the right)."""
    from .render import details, rows, skipped_lines

    lines = [
        "=" * _W,
        f"gaussprobe {report.gaussprobe_version} -- Gaussianity report",
        (f"n_samples={report.n_samples}  n_features={report.n_features}  backend={report.backend}  "
         f"device={report.device}  dtype={report.compute_dtype}  seed={report.seed}"),
        "=" * _W,
        f"  {'':<{_LABEL}}{'value':>{_VALUE}}   exact Gaussian (same n, d): mean [95%]",
    ]
    captions = {}
    for entry in registry.STATISTICS:
        result = getattr(report, entry.fields[0][0], None)
        if result is not None and entry.caption is not None:
            captions[entry.title] = entry.caption(result)
    found = details(report)
    section = None
    all_rows = rows(report)
    for i, row in enumerate(all_rows):
        if row.section != section:
            section = row.section
            lines += _heading(f"{section} ({captions[section]})" if section in captions else section)
        lines += _row(row.name, row.text, row.reference)
        if row.note:
            lines += _note(row.note)
        last_of_section = i + 1 == len(all_rows) or all_rows[i + 1].section != section
        if last_of_section:
            for sec, line in found:
                if sec == section:
                    lines += textwrap.wrap(line, width=_MAX_LINE, initial_indent="    ",
                                           subsequent_indent="      ")
    skipped = skipped_lines(report)
    if skipped:
        lines += _heading("Skipped")
        for name, reason in skipped:
            lines += textwrap.wrap(f"{name}: {reason}", width=_MAX_LINE, initial_indent="  ",
                                   subsequent_indent="    ")
    lines += ["", "Statistics report evidence only; report.check() gives a verdict (preset 'gaussian').",
              "=" * _W]
    return "\n".join(lines)
