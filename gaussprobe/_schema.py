"""What the registry of statistics generates: the JSON schema of the report and the code blocks of the
report's fields and the criteria's limits.

``python -m gaussprobe._schema --write`` rewrites ``gaussprobe/report_schema.json`` and the blocks
between ``# <registry:...>`` markers in ``gaussprobe/report.py`` and ``gaussprobe/criteria.py``;
``--check`` exits with status 1 (and says what differs) when any of them is not what the registry
gives. The test suite runs the check.

The schema (JSON Schema draft 2020-12) is built from the result dataclasses: each field's annotation
gives its type (``float`` is a number or ``null``, as NaN and infinities are written as ``null``;
``np.ndarray`` a possibly nested list of numbers; ``X | None`` also ``null``; a nested result a
``$ref``), a field without a default is required, and the ``Attributes`` section of the class's
docstring describes it. The criteria of ``gaussprobe check --format json`` are the registry's
criteria, each described by its metric.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from . import _registry as registry

SCHEMA_PATH = Path(__file__).with_name("report_schema.json")
_PACKAGE = Path(__file__).parent
_NUMBER_OR_NULL = {"$ref": "#/$defs/number_or_null"}


# ------------------------------------------------------------------------------------- docstrings
def attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> description, from the numpydoc ``Attributes`` section of ``cls``'s docstring
    (``a, b : type`` lines share the description below them; whitespace is collapsed)."""
    doc = cls.__doc__ or ""
    lines = doc.expandtabs().splitlines()
    out: dict[str, str] = {}
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes") + 2
    except StopIteration:
        return out
    names: list[str] = []
    body: list[str] = []
    indent = None

    def flush() -> None:
        text = " ".join(" ".join(body).split())
        for name in names:
            out[name] = text

    for line in lines[start:]:
        if not line.strip():
            body.append("")
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        if width < indent or re.fullmatch(r"\s*-{3,}\s*", line):
            break
        if width == indent:
            if ":" not in line:
                break
            flush()
            names = [n.strip() for n in line.split(":", 1)[0].split(",")]
            body = []
        else:
            body.append(line.strip())
    flush()
    return out


def _summary_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split())


# ------------------------------------------------------------------------------------------ types
class _Builder:
    """Collects the ``$defs`` of the dataclasses a schema refers to."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def ref(self, cls: type) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # reserve (recursion)
            self.defs[name] = self.object_schema(cls)
        return {"$ref": f"#/$defs/{name}"}

    def object_schema(self, cls: type, *, description: str | None = None) -> dict[str, Any]:
        hints = typing.get_type_hints(cls, localns=registry.type_namespace())
        docs = attribute_docs(cls)
        props: dict[str, Any] = {}
        required = []
        for f in dataclasses.fields(cls):
            prop = dict(self.type_schema(hints[f.name]))
            if docs.get(f.name):
                prop = {**prop, "description": docs[f.name]} if "$ref" not in prop else {
                    "allOf": [prop], "description": docs[f.name]}
            props[f.name] = prop
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        return {"type": "object", "description": description if description is not None else _summary_line(cls),
                "properties": props, "required": required, "additionalProperties": True}

    def type_schema(self, tp: Any) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp is Any:
            return {}
        if origin in (typing.Union, types.UnionType):
            rest = [a for a in args if a is not type(None)]
            inner = self.type_schema(rest[0]) if len(rest) == 1 else {"anyOf": [self.type_schema(a) for a in rest]}
            if type(None) not in args or inner == _NUMBER_OR_NULL:
                return inner
            return {"anyOf": [inner, {"type": "null"}]}
        if origin is typing.Literal:
            return {"enum": list(args)}
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.ref(tp)
        if tp is np.ndarray:
            return {"$ref": "#/$defs/array"}
        simple = {float: _NUMBER_OR_NULL, int: {"type": "integer"}, bool: {"type": "boolean"},
                  str: {"type": "string"}}
        if tp in simple:
            return dict(simple[tp])
        if origin is tuple or tp is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.type_schema(args[0])}
            if args:
                return {"type": "array", "prefixItems": [self.type_schema(a) for a in args],
                        "minItems": len(args), "maxItems": len(args)}
            return {"type": "array"}
        if origin in (list, frozenset, set) or tp in (list, frozenset, set):
            return {"type": "array", "items": self.type_schema(args[0]) if args else {}}
        if origin in (dict, typing.Mapping) or tp is dict:
            return {"type": "object", "additionalProperties": self.type_schema(args[1]) if len(args) == 2 else {}}
        msg = f"no JSON schema for the annotation {tp!r}"
        raise TypeError(msg)


def report_schema() -> dict[str, Any]:
    """The JSON schema of ``GaussianityReport.to_dict()`` and of ``gaussprobe check --format json``."""
    from .criteria import CheckOutcome, CriterionResult
    from .report import SCHEMA_VERSION, GaussianityReport

    b = _Builder()
    major = SCHEMA_VERSION.split(".", 1)[0]
    report = b.object_schema(GaussianityReport, description=(
        "GaussianityReport.to_dict() / to_json(). Each statistic field holds the result of the test of the "
        "registry that fills it, or null when it was not run."))
    # the statistic fields are the registry's (not the class's, which the generator may be updating)
    own = list(report["properties"].items())
    cut = [name for name, _ in own].index("tests") + 1
    stats = {field: {"anyOf": [b.ref(cls), {"type": "null"}], "description": (
        f"Test `{registry.statistic_of_field(field).name}` ({registry.statistic_of_field(field).function}); "
        "null when it was not run.")} for field, cls in registry.REPORT_FIELDS}
    rest = own[[name for name, _ in own].index("skipped"):]
    report["properties"] = props = {**dict(own[:cut]), **stats, **dict(rest)}
    props["schema_version"] = {"type": "string", "pattern": f"^{major}\\.[0-9]+$", "description": (
        "Layout version: a new major version changes or removes fields (1.x is migrated on reading), a "
        "minor one only adds fields.")}
    props["source"] = {"type": "object", "description": "Added by the command line: the input file.",
                       "properties": {"path": {"type": "string"}, "format": {"type": "string"},
                                      "key": {"type": ["string", "null"]},
                                      "n_rows_in_file": {"type": ["integer", "null"]}},
                       "required": ["path", "format"]}
    props["notes"] = {"type": "array", "items": {"type": "string"},
                      "description": "Added by the command line: warnings, dropped rows, criteria source."}
    b.defs["report"] = report
    skip = b.defs["Skip"]
    skip["properties"]["code"] = {"enum": list(registry.SKIP_CODES), "description": "; ".join(
        f"{c.code}: {c.meaning}" + (f" ({c.warning.__name__})" if c.warning else "")
        for c in registry.SKIP_CODES.values())}
    skip["properties"]["test"] = {"enum": list(registry.ALL_TESTS)}

    outcome = b.object_schema(CheckOutcome)
    outcome["properties"]["passed"] = {"type": "boolean"}
    outcome["required"].append("passed")
    b.defs["check_outcome"] = outcome
    b.ref(CriterionResult)
    criteria = {name: {"type": "number", "description": (
        f"{m.description}; the limit on `{m.path}`, which must be "
        f"{'at most' if m.kind == 'max' else 'at least'} it")} for name, m in registry.CRITERIA.items()}
    b.defs["check_output"] = {
        "type": "object", "description": "`gaussprobe check --format json`.",
        "properties": {"passed": {"type": "boolean"}, "exit_code": {"enum": [0, 1]},
                       "criteria": {"type": "object", "properties": criteria, "additionalProperties": False},
                       "criteria_source": {"type": "string"}, "outcome": {"$ref": "#/$defs/check_outcome"},
                       "report": {"$ref": "#/$defs/report"}},
        "required": ["passed", "exit_code", "criteria", "outcome", "report"], "additionalProperties": True}
    defs = {"number_or_null": {"type": ["number", "null"],
                               "description": "A float; NaN and infinities are written as null."},
            "array": {"type": "array", "description": "An array: a (nested) list of numbers (or booleans), "
                      "NaN and infinities written as null.",
                      "items": {"anyOf": [{"type": ["number", "boolean", "null"]}, {"$ref": "#/$defs/array"}]}}}
    defs.update(sorted(b.defs.items()))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "gaussprobe report",
        "description": (f"JSON layout of GaussianityReport.to_dict() / to_json() (schema_version {major}.x) and "
                        "of `gaussprobe check --format json`, generated from the registry of statistics "
                        "(python -m gaussprobe._schema --write). Statistics that were not run are null; NaN "
                        "and infinities are written as null. See docs/report_schema.md."),
        "$ref": "#/$defs/report",
        "$defs": defs,
    }


def schema_text() -> str:
    """The schema as written to ``report_schema.json``."""
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------- code blocks
def _imports() -> list[str]:
    by_module: dict[str, set[str]] = {}
    for _, cls in registry.REPORT_FIELDS:
        by_module.setdefault(cls.__module__.removeprefix("gaussprobe"), set()).add(cls.__name__)
    return [f"from {mod} import {', '.join(sorted(names))}" for mod, names in sorted(by_module.items())]


def code_blocks() -> dict[tuple[str, str], list[str]]:
    """``{(file, block): lines}`` of every generated block (without indentation)."""
    return {
        ("report.py", "imports"): _imports(),
        ("report.py", "fields"): [f"{field}: {cls.__name__} | None = None" for field, cls in registry.REPORT_FIELDS],
        ("criteria.py", "criteria"): [f"{name}: float | None = None" for name in registry.CRITERIA],
    }


def _replace_block(text: str, block: str, lines: list[str], where: str) -> str:
    pattern = re.compile(rf"^([ \t]*)# <registry:{block}>[^\n]*\n(.*?)^[ \t]*# </registry:{block}>",
                         re.MULTILINE | re.DOTALL)
    m = pattern.search(text)
    if m is None:
        msg = f"{where} has no `# <registry:{block}>` ... `# </registry:{block}>` block."
        raise ValueError(msg)
    indent = m.group(1)
    body = "".join(f"{indent}{line}\n" for line in lines)
    return text[:m.start(2)] + body + text[m.end(2):]


def generated_files() -> dict[Path, str]:
    """Every generated file as the registry gives it."""
    out: dict[Path, str] = {SCHEMA_PATH: schema_text()}
    texts: dict[Path, str] = {}
    for (name, block), lines in code_blocks().items():
        path = _PACKAGE / name
        text = texts.get(path, path.read_text(encoding="utf-8"))
        texts[path] = _replace_block(text, block, lines, name)
    out.update(texts)
    return out


def stale_files() -> list[Path]:
    """The generated files whose content differs from what the registry gives."""
    return [path for path, text in generated_files().items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaussprobe._schema", description=(
        "Regenerate (--write) or check (--check) what the registry of statistics generates: "
        "gaussprobe/report_schema.json and the registry blocks of report.py and criteria.py."))
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="rewrite the generated files")
    group.add_argument("--check", action="store_true", help="exit 1 when a generated file is out of date")
    args = parser.parse_args(argv)
    files = generated_files()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(_PACKAGE.parent)}", file=sys.stderr)
        if stale:
            print("regenerate with: python -m gaussprobe._schema --write", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(files[p], encoding="utf-8")
        print(f"wrote {p.relative_to(_PACKAGE.parent)}")
    if not stale:
        print("up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["SCHEMA_PATH", "attribute_docs", "code_blocks", "generated_files", "main", "report_schema",
           "schema_text", "stale_files"]
