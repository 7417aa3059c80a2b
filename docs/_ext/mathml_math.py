"""Formulas rendered to MathML when the HTML is built, so that they display without any script.

Browsers render MathML natively (MathML Core), so the built pages show formulas offline, with
JavaScript disabled and when a page is saved on its own; nothing is fetched from a CDN. The LaTeX
source of every formula is kept beside the MathML as an ``application/x-tex`` annotation (for copying
and for screen readers).

The conversion uses ``latex2mathml`` (pure Python, MIT). A formula it cannot convert is a build
warning that names the formula and its document (an error under ``sphinx -W``).
"""

from __future__ import annotations

import html
import re
from typing import Any

from docutils import nodes
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)


# latex2mathml drops an \operatorname whose name has digits (expm1, log1p); upright text is the same
_OPERATOR_WITH_DIGITS = re.compile(r"\\operatorname\{([A-Za-z]*[0-9][A-Za-z0-9]*)\}")


def latex_to_mathml(latex: str, *, display: bool) -> str:
    """One formula as a ``<math>`` element with its LaTeX source as an annotation."""
    from latex2mathml.converter import convert

    source = _OPERATOR_WITH_DIGITS.sub(r"\\mathrm{\1}", latex)
    rendered = convert(source, display="block" if display else "inline")
    head, sep, rest = rendered.partition(">")
    body, _close, _tail = rest.rpartition("</math>")
    if not sep or not _close:  # pragma: no cover - latex2mathml always returns one <math> element
        msg = f"unexpected MathML output for {latex!r}: {rendered[:80]!r}"
        raise ValueError(msg)
    annotation = f'<annotation encoding="application/x-tex">{html.escape(latex)}</annotation>'
    return f"{head}><semantics><mrow>{body}</mrow>{annotation}</semantics></math>"


def _convert(self: Any, node: nodes.Element, latex: str, *, display: bool) -> str:
    try:
        return latex_to_mathml(latex, display=display)
    except Exception as exc:  # noqa: BLE001 - any converter failure becomes a located build warning
        logger.warning("formula not converted to MathML (%s): %s", exc, latex, location=node,
                       type="mathml", subtype="convert")
        return f'<code class="math-source">{self.encode(latex)}</code>'


def visit_math(self: Any, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_convert(self, node, node.astext(), display=False))
    self.body.append("</span>")
    raise nodes.SkipNode


def visit_displaymath(self: Any, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    # blank lines separate equations, as with Sphinx's other renderers
    for part in (p for p in node.astext().split("\n\n") if p.strip()):
        self.body.append(_convert(self, node, part, display=True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app: Any) -> dict[str, Any]:
    app.add_html_math_renderer("mathml", inline_renderers=(visit_math, None),
                               block_renderers=(visit_displaymath, None))
    app.add_css_file("mathml.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["latex_to_mathml", "setup"]
