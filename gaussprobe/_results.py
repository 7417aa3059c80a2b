"""Result types: frozen, slotted, keyword-only dataclasses holding host floats and small NumPy arrays."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Convert result fields to JSON-safe Python objects (NaN/Inf become None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()] if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


#: Longest ``repr`` of a result (the rest is elided with ``...``).
REPR_LIMIT = 200
#: Shape fields, shown first and under short names.
_SHAPE_NAMES = {"n_samples": "n", "n_features": "d"}


def brief(value: Any) -> str | None:
    """A few characters for one field value in a ``repr``; None when the value is not worth showing.

    Numbers get 4 significant digits, arrays their shape (never their values), strings are cut at 40
    characters, nested results their class name; None, empty strings and empty containers are skipped.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.4g}"
        return text if any(c in text for c in ".eni") else f"{text}.0"  # 1.0, not 1
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...") if value else None
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape})"
    if isinstance(value, (tuple, list)):
        if not value:
            return None
        if len(value) <= 3 and all(isinstance(v, (int, float, np.number)) for v in value):
            return "(" + ", ".join(str(brief(v)) for v in value) + ")"
        return f"{type(value).__name__}(len={len(value)})"
    if isinstance(value, dict):
        return f"dict(len={len(value)})" if value else None
    if isinstance(value, Result):
        return f"{type(value).__name__}(...)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def short_repr(obj: Any, *, limit: int = REPR_LIMIT) -> str:
    """``ClassName(n=..., d=..., headline p-values, other scalars, arrays by shape)`` in at most ``limit``
    characters (fields that do not fit are elided with ``...``).

    Fields come in order of use: the shape, the object's own ``statistic`` and ``pvalue``, the p-values
    of nested test results (``combined_test.pvalue``), the other scalars, then arrays and nested results.
    """
    groups: list[list[str]] = [[], [], [], [], []]
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name in _SHAPE_NAMES and isinstance(value, (int, np.integer)):
            groups[0].append(f"{_SHAPE_NAMES[f.name]}={int(value)}")
        elif isinstance(value, Result) and dataclasses.is_dataclass(value) and hasattr(value, "pvalue"):
            text = brief(getattr(value, "pvalue", None))
            if text is not None:
                groups[2].append(f"{f.name}.pvalue={text}")
        elif (text := brief(value)) is None:
            continue
        elif f.name in ("statistic", "pvalue"):
            groups[1].append(f"{f.name}={text}")
        elif isinstance(value, (np.ndarray, Result, dict, list)) or (
                isinstance(value, tuple) and text.startswith("tuple(")):
            groups[4].append(f"{f.name}={text}")
        else:
            groups[3].append(f"{f.name}={text}")
    if isinstance(getattr(type(obj), "passed", None), property):  # a verdict (CheckOutcome, ComparisonResult)
        groups[1].insert(0, f"passed={bool(obj.passed)}")
    return bounded(type(obj).__name__, [p for g in groups for p in g], limit=limit)


def bounded(name: str, parts: list[str], *, tail: str = "", limit: int = REPR_LIMIT) -> str:
    """``name(part, part, ..., tail)``, leaving out the parts that would pass ``limit`` characters."""
    end = f", {tail})" if tail else ")"
    out = f"{name}("
    for k, part in enumerate(parts):
        sep = ", " if out[-1] != "(" else ""
        rest = ", ..." if k < len(parts) - 1 else ""
        if len(out) + len(sep) + len(part) + len(rest) + len(end) > limit:
            out += f"{sep}..."
            break
        out += sep + part
    if tail and out[-1] == "(":
        return f"{name}({tail})"
    return out + end


class Result:
    """Mixin for result dataclasses: ``to_dict()``, a short ``repr`` and an HTML view for notebooks.

    The mixin adds no instance attributes (the result classes are slotted).
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dictionary of every field (arrays become lists, NaN becomes None)."""
        out = to_jsonable(self)
        assert isinstance(out, dict)
        return out

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        """A compact HTML table of the scalar fields (and the plots, with matplotlib), for Jupyter."""
        from ._notebook import result_html

        return result_html(self)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class TestResult(Result):
    """Outcome of one hypothesis test: statistic and p-value on the host.

    Attributes
    ----------
    statistic : float
        The test statistic.
    pvalue : float
        The p-value under ``null_distribution``.
    null_distribution : str
        The (asymptotic or exact) null distribution, e.g. ``"chi2(df=56)"`` or ``"normal(0, 1)"``.
    df : float or None
        Degrees of freedom where the null has them.
    calibration : str
        How the p-value's null was obtained: ``"asymptotic"``, ``"exact moments"``,
        ``"monte-carlo"`` (a seeded simulation at the same ``(n, d)``), ...; ``"not calibrated"`` when
        no null is known to hold at this size, in which case ``pvalue`` is NaN (unless the caller
        forced that null by name, e.g. ``null="asymptotic"``).
    note : str
        Why the p-value is not shown, or why the test cannot have power here (empty when neither).
    """

    __test__ = False  # not a pytest class

    statistic: float
    pvalue: float
    null_distribution: str
    df: float | None = None
    calibration: str = "asymptotic"
    note: str = ""


__all__ = ["REPR_LIMIT", "Result", "TestResult", "brief", "short_repr", "to_jsonable"]
