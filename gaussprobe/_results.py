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


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return np.array2string(value, precision=4)
        if value.dtype.kind in "biuf":
            return f"array(shape={value.shape}, mean={float(np.mean(value)):.4g})"
        return f"array(shape={value.shape}, dtype={value.dtype})"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


class Result:
    """Mixin for result dataclasses: ``to_dict()`` and a compact ``repr`` (arrays summarised)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dictionary of every field (arrays become lists, NaN becomes None)."""
        out = to_jsonable(self)
        assert isinstance(out, dict)
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={_short(getattr(self, f.name))}"
                           for f in dataclasses.fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({fields})"


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


__all__ = ["Result", "TestResult", "to_jsonable"]
