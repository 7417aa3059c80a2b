"""The ``public-module`` directive: the API reference of one module, from its ``__all__``.

``.. public-module:: gaussprobe.criteria`` documents the module's docstring and then every name in its
``__all__`` (in that order):

* a class or function that a shallower public module also exports (``gaussprobe`` itself first, then
  packages before their submodules; among equals, the module that defines it) is documented there and
  listed here as the same object, with a link, so re-exports are not documented twice;
* every other name gets its full entry (``autofunction``, ``autoclass``, ``autoexception`` or
  ``autodata``).

The public modules are found by walking the package (names with a leading underscore are private).
``tests/test_docs.py`` checks the built reference against the same ``__all__`` lists, so a public name
that is documented nowhere fails the test suite.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.ext.autodoc.mock import mock
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# Data whose repr is longer than this is shown without its value (tables, dicts of rules).
MAX_VALUE_CHARS = 70


def public_module_names(package: str) -> list[str]:
    """The package and its submodules whose dotted names have no component starting with ``_``."""
    root = importlib.import_module(package)
    walked = pkgutil.walk_packages(root.__path__, prefix=f"{package}.", onerror=lambda _n: None)
    names = [package, *(info.name for info in walked
                        if not any(part.startswith("_") for part in info.name.split(".")))]
    return sorted(names, key=lambda n: (n.count("."), n))


def public_names(module: ModuleType) -> list[str]:
    """``__all__``, or the public names defined in the module itself when it has none."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(n for n, obj in vars(module).items()
                  if not n.startswith("_") and getattr(obj, "__module__", None) == module.__name__
                  and not inspect.ismodule(obj))


def _is_aliasable(obj: object) -> bool:
    # constants (ints, strings, tuples) are compared by identity only when they are classes or
    # routines: two modules' ``MIN_SAMPLES = 8`` are different names that happen to share a value
    return inspect.isclass(obj) or callable(obj)


class _Index:
    """Where each class and function of the public API is documented (see the module docstring)."""

    def __init__(self, package: str) -> None:
        self.modules = public_module_names(package)
        # the shallowest public module that exports an object documents it; among modules of the
        # same depth, the one that defines it
        best: dict[int, tuple[tuple[int, bool, str], str]] = {}
        for modname in self.modules:
            try:
                module = importlib.import_module(modname)
            except ImportError:
                continue
            for name in public_names(module):
                obj = getattr(module, name, None)
                if obj is None or not _is_aliasable(obj):
                    continue
                rank = (modname.count("."), getattr(obj, "__module__", None) != modname, modname)
                if id(obj) not in best or rank < best[id(obj)][0]:
                    best[id(obj)] = (rank, f"{modname}.{name}")
        self.canonical = {key: path for key, (_rank, path) in best.items()}

    def documented_at(self, obj: object) -> str | None:
        return self.canonical.get(id(obj)) if _is_aliasable(obj) else None


def _role(obj: object) -> str:
    if inspect.isclass(obj):
        return "exc" if issubclass(obj, BaseException) else "class"
    return "func" if callable(obj) else "data"


def _entry(modname: str, name: str, obj: object) -> Iterator[str]:
    full = f"{modname}.{name}"
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        yield f".. {kind}:: {full}"
        if kind == "autoclass":
            yield "   :members:"
    elif callable(obj):
        yield f".. autofunction:: {full}"
    else:
        yield f".. autodata:: {full}"
        if len(repr(obj)) > MAX_VALUE_CHARS:
            yield "   :no-value:"
    yield ""


def _alias(name: str, obj: object, target: str) -> Iterator[str]:
    directive = "py:exception" if _role(obj) == "exc" else \
        "py:class" if inspect.isclass(obj) else "py:function"
    # the name is relative to the module that ``automodule`` made current
    yield f".. {directive}:: {name}"
    yield "   :no-contents-entry:"
    yield ""
    yield f"   The same object as :{_role(obj)}:`{target}`, documented there."
    yield ""


class PublicModule(SphinxDirective):
    """``.. public-module:: dotted.name`` (see the module docstring)."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        modname = self.arguments[0]
        package = modname.split(".")[0]
        index = _cached_index(self.env, package)
        with mock(self.config.autodoc_mock_imports):
            module = importlib.import_module(modname)
        lines = [f".. automodule:: {modname}"]
        if _shadowed(modname):
            # ``gaussprobe.compare`` is the function; the module of that name gets no index entry
            lines.append("   :no-index:")
        lines.append("")
        for name in public_names(module):
            obj = getattr(module, name)
            target = index.documented_at(obj)
            if target is not None and target != f"{modname}.{name}":
                lines.extend(_alias(name, obj, target))
            else:
                lines.extend(_entry(modname, name, obj))
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source=f"<public-module {modname}>"), 0,
                                container)
        return list(container.children)


def _shadowed(modname: str) -> bool:
    """Whether the parent package's attribute of this name is not the module (a re-export)."""
    parent, _, last = modname.rpartition(".")
    return bool(parent) and not inspect.ismodule(getattr(importlib.import_module(parent), last, None))


def _cached_index(env: Any, package: str) -> _Index:
    cache = env.app.__dict__.setdefault("_public_module_index", {})
    if package not in cache:
        with mock(env.config.autodoc_mock_imports):
            cache[package] = _Index(package)
    return cache[package]


def drop_type_docstrings(app: Any, what: str, name: str, obj: object, options: Any,
                         lines: list[str]) -> None:
    """A constant without a ``#:`` comment shows nothing rather than the docstring of its type."""
    if what not in ("data", "attribute") or inspect.isclass(obj) or callable(obj):
        return
    type_doc = inspect.getdoc(type(obj)) or ""
    first = next((line.strip() for line in lines if line.strip()), None)
    if first is not None and type_doc and first == type_doc.splitlines()[0].strip():
        lines.clear()


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", drop_type_docstrings, priority=400)
    app.add_directive("public-module", PublicModule)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
