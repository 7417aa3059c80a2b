"""Rebuild a :class:`~gaussprobe.report.GaussianityReport` from the dictionary of ``to_dict()``.

The result classes are rebuilt generically from their dataclass field types (``typing.get_type_hints``,
with the result classes of the registry of statistics in scope): a nested dataclass becomes that class,
``np.ndarray`` a NumPy array (``null`` entries become NaN), a ``float`` that was written as ``null``
(NaN or an infinity) becomes NaN, ``X | None`` keeps ``None``, ``tuple[...]`` a tuple and ``dict[...]``
a dict. ``GaussianityReport.from_json(r.to_json()).to_json() == r.to_json()`` holds for every report.

Reports of schema 1.x are migrated (:func:`migrate_1x`); other versions are refused with both named.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Keys that ``gaussprobe analyze --format json`` adds beside the report's own fields.
CLI_KEYS = frozenset({"source", "notes"})

#: How the skip messages of schema 1.x begin, and the code each stands for (the 1.x wording is fixed:
#: it is only read here, to migrate reports written before skips carried codes).
_LEGACY_SKIP_CODES = (
    ("needs n_samples >= n_features + 2", "too_few_samples"),
    ("covariance has numerical rank", "rank_deficient"),
    ("needs at least 2 features", "too_few_features"),
    ("needs n_samples >= 40", "split_too_small"),
    ("Royston's test is defined for", "outside_sample_range"),
    ("not run at d=", "not_calibrated"),
    ("skipped by default: the search", "over_budget"),
    ("not run: ", "not_informative"),
)


@functools.lru_cache(maxsize=64)
def _hints(cls: type) -> dict[str, Any]:
    from ._registry import type_namespace

    return typing.get_type_hints(cls, localns=type_namespace())


def _fail(path: str, expected: str, value: Any) -> typing.NoReturn:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    msg = (f"Report JSON field `{path}`: expected {expected}; got {shown}. The file may be edited or "
           "truncated; write it again with `GaussianityReport.to_json()` or `gaussprobe analyze --format json`.")
    raise ValueError(msg)


def _has_none(value: Any) -> bool:
    return value is None or (isinstance(value, list) and any(_has_none(v) for v in value))


def _array(value: Any, path: str) -> np.ndarray:
    if not isinstance(value, list):
        _fail(path, "a list of numbers (an array)", value)
    try:
        if _has_none(value):
            return np.array(value, dtype=np.float64)  # null entries were NaN or infinities
        out = np.asarray(value)
    except (TypeError, ValueError):
        _fail(path, "a rectangular list of numbers", value)
    if out.dtype.kind not in "biuf" and out.size:
        _fail(path, "a list of numbers", value)
    return out


def convert(tp: Any, value: Any, path: str) -> Any:
    """``value`` (as read from JSON) converted to the annotated type ``tp``."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return convert(rest[0], value, path)
        for a in rest:  # e.g. ``float | str``: the first member that accepts the value
            try:
                return convert(a, value, path)
            except ValueError:  # noqa: PERF203 - try the next member of the union
                continue
        _fail(path, f"one of {rest}", value)
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            _fail(path, f"one of {list(typing.get_args(tp))}", value)
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return build(tp, value, path)
    if tp is np.ndarray:
        return _array(value, path)
    if tp is float:
        if value is None:
            return math.nan  # written as null: NaN or an infinity
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, "a number or null", value)
        return value  # an int stays an int, so it is written back unchanged
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, "an integer", value)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            _fail(path, "true or false", value)
        return value
    if tp is str:
        if not isinstance(value, str):
            _fail(path, "a string", value)
        return value
    if origin is tuple or tp is tuple:
        if not isinstance(value, list):
            _fail(path, "a list", value)
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            _fail(path, f"a list of {len(args)} items", value)
        members = args or (Any,) * len(value)
        return tuple(convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(members, value, strict=True)))
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, dict):
            _fail(path, "an object", value)
        args = typing.get_args(tp)
        vt = args[1] if len(args) == 2 else Any
        return {k: convert(vt, v, f"{path}.{k}") for k, v in value.items()}
    if origin in (list,) or tp is list:
        if not isinstance(value, list):
            _fail(path, "a list", value)
        (et,) = typing.get_args(tp) or (Any,)
        return [convert(et, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is frozenset:
        (et,) = typing.get_args(tp) or (Any,)
        return frozenset(convert(et, v, f"{path}[{i}]") for i, v in enumerate(value))
    return value


def build(cls: type, data: Any, path: str) -> Any:
    """An instance of the dataclass ``cls`` from ``data``, each field converted by its annotation."""
    if not isinstance(data, dict):
        _fail(path or cls.__name__, f"an object ({cls.__name__})", data)
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"`{path}`" if path else "the report"
        msg = (f"Report JSON {where} has unknown field(s) {unknown} for {cls.__name__}; known fields are "
               f"{sorted(fields)}. It was written by a different gaussprobe version or edited by hand.")
        raise ValueError(msg)
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                msg = (f"Report JSON is missing the field `{sub}` of {cls.__name__}; a complete report comes "
                       "from `GaussianityReport.to_json()` or `gaussprobe analyze --format json`.")
                raise ValueError(msg)
            continue
        kwargs[name] = convert(hints[name], data[name], sub)
    return cls(**kwargs)


def _major(version: Any) -> str:
    return str(version).split(".", 1)[0]


def migrate_1x(data: Mapping[str, Any], schema_version: str) -> dict[str, Any]:
    """A report of schema 1.x in the layout of ``schema_version`` (2.x).

    1.x wrote ``skipped`` as ``{test: message}``; each message becomes a ``Skip`` object
    ``{test, code, message}`` with the code its (fixed) 1.x wording stands for, or ``"unknown"``.
    Fields added since 1.0 are absent and take their defaults (None for the stored QQ points).
    """
    out = dict(data)
    skipped = data.get("skipped", {})
    if isinstance(skipped, Mapping):
        migrated = {}
        for test, reason in skipped.items():
            if isinstance(reason, str):
                code = next((c for start, c in _LEGACY_SKIP_CODES if reason.startswith(start)), "unknown")
                migrated[test] = {"test": test, "code": code, "message": reason}
            else:
                migrated[test] = reason
        out["skipped"] = migrated
    out["schema_version"] = schema_version
    return out


def report_from_dict(cls: type, data: Any, schema_version: str) -> Any:
    """A report of class ``cls`` from ``data`` (a report dictionary, or the output of
    ``gaussprobe analyze --format json`` / ``gaussprobe check --format json``)."""
    if not isinstance(data, Mapping):
        msg = (f"A report must be a JSON object (the output of `GaussianityReport.to_json()`); got "
               f"{type(data).__name__}.")
        raise TypeError(msg)
    if "schema_version" not in data and isinstance(data.get("report"), Mapping):
        data = data["report"]  # `gaussprobe check --format json` wraps the report
    if "schema_version" not in data:
        msg = ("This JSON is not a gaussprobe report: it has no `schema_version` field. Expected the output "
               "of `GaussianityReport.to_json()` or `gaussprobe analyze --format json`; got an object "
               f"with keys {sorted(data)[:8]}.")
        raise ValueError(msg)
    version = data["schema_version"]
    if _major(version) == "1" and _major(schema_version) == "2":
        data = migrate_1x(data, schema_version)
    elif _major(version) != _major(schema_version):
        written = data.get("gaussprobe_version", "unknown")
        msg = (f"This report has schema_version {version!r} (written by gaussprobe {written}), but this "
               f"gaussprobe reads schema_version {schema_version!r} (and migrates 1.x); there is no "
               "migration from that version. Analyse the embeddings again with this version, or load the "
               "report with the gaussprobe version that wrote it.")
        raise ValueError(msg)
    own = {k: v for k, v in data.items() if k not in CLI_KEYS}
    return build(cls, own, "")


__all__ = ["CLI_KEYS", "build", "convert", "migrate_1x", "report_from_dict"]
