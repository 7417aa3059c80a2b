"""Rebuild a :class:`~gaussprobe.report.GaussianityReport` from the dictionary of ``to_dict()``.

The result classes are rebuilt generically from their dataclass field types (``typing.get_type_hints``):
a nested dataclass becomes that class, ``np.ndarray`` a NumPy array (``null`` entries become NaN), a
``float`` that was written as ``null`` (NaN or an infinity) becomes NaN, ``X | None`` keeps ``None``,
``tuple[...]`` a tuple and ``dict[...]`` a dict. Only the report's own statistic fields, which are typed
``Any`` so that the report module need not import every test, are named here, in :data:`RESULT_TYPES`.
``GaussianityReport.from_json(r.to_json()).to_json() == r.to_json()`` holds for every report.
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


@functools.lru_cache(maxsize=1)
def result_types() -> dict[str, type]:
    """The result class of each statistic field of the report (those fields are typed ``Any``)."""
    from .stats.coordinates import CoordinateNormalityResult
    from .stats.directions import LeastGaussianDirectionResult, PrincipalDirectionResult
    from .stats.distance import IsotropicDistanceResult
    from .stats.doornik_hansen import DoornikHansenResult
    from .stats.energy import EnergyTestResult
    from .stats.henze_zirkler import HenzeZirklerResult
    from .stats.mardia import MardiaResult
    from .stats.projections import ProjectionNormalityResult
    from .stats.royston import RoystonResult
    from .stats.thin_shell import ThinShellResult

    return {"thin_shell": ThinShellResult, "thin_shell_centered": ThinShellResult,
            "coordinates": CoordinateNormalityResult, "projections": ProjectionNormalityResult,
            "distance": IsotropicDistanceResult, "principal_directions": PrincipalDirectionResult,
            "pursuit": LeastGaussianDirectionResult, "mardia": MardiaResult,
            "henze_zirkler": HenzeZirklerResult, "royston": RoystonResult,
            "doornik_hansen": DoornikHansenResult, "energy": EnergyTestResult}


@functools.lru_cache(maxsize=64)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


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


def build(cls: type, data: Any, path: str, overrides: Mapping[str, type] | None = None) -> Any:
    """An instance of the dataclass ``cls`` from ``data``, each field converted by its annotation.

    ``overrides`` gives the class of fields annotated ``Any`` (the report's statistic fields).
    """
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
        tp = hints[name]
        if overrides and name in overrides and tp is Any and data[name] is not None:
            kwargs[name] = build(overrides[name], data[name], sub)
        else:
            kwargs[name] = convert(tp, data[name], sub)
    return cls(**kwargs)


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
    if version != schema_version:
        written = data.get("gaussprobe_version", "unknown")
        msg = (f"This report has schema_version {version!r} (written by gaussprobe {written}), but this "
               f"gaussprobe reads schema_version {schema_version!r}; there is no migration between the "
               "two. Analyse the embeddings again with this version, or load the report with the "
               "gaussprobe version that wrote it.")
        raise ValueError(msg)
    own = {k: v for k, v in data.items() if k not in CLI_KEYS}
    return build(cls, own, "", overrides=result_types())


__all__ = ["CLI_KEYS", "build", "convert", "report_from_dict", "result_types"]
