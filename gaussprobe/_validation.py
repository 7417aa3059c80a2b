"""Input validation: turn anything array-like into a checked 2-D float array on its own device.

Every error says what was expected, what arrived and how to fix it. Precision policy: statistics are
computed in float64 unless ``dtype="float32"`` is asked for; half-precision, integer and boolean inputs
are upcast, never computed in place. float32/float64 inputs are *not* copied here: kernels upcast one
block of rows or columns at a time (see :meth:`Embeddings.rows` and :meth:`Embeddings.cols`), which
keeps the peak extra memory a small multiple of one block rather than of the whole input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

from ._backend import backend_name, float_dtype, is_torch, namespace_of, row_blocks
from ._typing import Array, ArrayLike, DTypeName

MIN_SAMPLES = 8


@dataclass(frozen=True, slots=True)
class Embeddings:
    """A validated embedding matrix and where it lives.

    ``data`` keeps the caller's storage dtype when it is float32 or float64 (no copy); ``rows`` and
    ``cols`` return blocks cast to the compute dtype.
    """

    data: Array
    xp: Any
    device: Any
    dtype: DTypeName
    backend: str
    #: One-pass results computed on this input (e.g. the covariance), shared by the tests run on it.
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.data.shape[1])

    @property
    def float(self) -> Any:
        """The compute dtype of the namespace."""
        return float_dtype(self.xp, self.dtype)

    def rows(self, start: int, stop: int) -> Array:
        """Rows ``start:stop`` in the compute dtype (a view when no cast is needed)."""
        return self._cast(self.data[start:stop, :])

    def cols(self, start: int, stop: int) -> Array:
        """Columns ``start:stop`` in the compute dtype."""
        return self._cast(self.data[:, start:stop])

    def full(self) -> Array:
        """The whole matrix in the compute dtype (a copy only when the storage dtype differs)."""
        return self._cast(self.data)

    def _cast(self, a: Array) -> Array:
        if a.dtype == self.float:
            return a
        return self.xp.astype(a, self.float)

    def asarray(self, a: Any) -> Array:
        """A host array moved to this input's namespace, device and compute dtype."""
        return self.xp.asarray(np.ascontiguousarray(a), dtype=self.float, device=self.device)


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    kind = type(x).__module__.split(".")[0] + "." + type(x).__name__
    parts = [kind]
    if shape is not None:
        parts.append(f"shape {tuple(shape)}")
    if dtype is not None:
        parts.append(f"dtype {dtype}")
    return ", ".join(parts)


def _to_array(x: ArrayLike, name: str, dtype: DTypeName) -> Any:
    """Convert to an array-API array without copying float32/float64 data."""
    if is_torch(x):
        t = x.detach()
        if t.is_complex():
            msg = (f"`{name}` must hold real numbers; got a complex tensor ({_describe(x)}). "
                   "Pass the real part or the magnitude explicitly.")
            raise TypeError(msg)
        import torch

        if t.dtype not in (torch.float32, torch.float64):
            t = t.to(torch.float64 if dtype == "float64" else torch.float32)
        return t
    if isinstance(x, np.ndarray):
        arr = x
    elif hasattr(x, "__array_namespace__") and not hasattr(x, "__array__"):
        return x  # another array-API library (e.g. cupy); used as is
    elif hasattr(x, "dtypes") and hasattr(x, "columns"):  # a DataFrame
        bad = [str(c) for c, t in zip(x.columns, x.dtypes, strict=True)
               if getattr(t, "kind", "O") not in "biuf"]
        if bad:
            msg = (f"`{name}` is a DataFrame with non-numeric columns {bad[:10]}; every column must be "
                   "numeric. Select the embedding columns, e.g. df[embedding_columns].")
            raise TypeError(msg)
        arr = np.asarray(x)
    elif hasattr(x, "__array__"):
        arr = np.asarray(x)
    elif hasattr(x, "__dlpack__"):
        arr = np.from_dlpack(x)
    else:
        try:
            arr = np.asarray(x)
        except ValueError as exc:
            msg = (f"`{name}` could not be read as a rectangular numeric array ({exc}). Rows of different "
                   "lengths (ragged input) are not embeddings; pad or drop them first.")
            raise ValueError(msg) from exc
    if arr.dtype.kind == "O":
        msg = (f"`{name}` has dtype object ({_describe(x)}); expected real numbers. Ragged lists or mixed "
               "types produce object arrays: convert with np.asarray(x, dtype=float) after fixing them.")
        raise TypeError(msg)
    if arr.dtype.kind == "c":
        msg = (f"`{name}` must hold real numbers; got complex dtype {arr.dtype}. "
               "Pass the real part or the magnitude explicitly.")
        raise TypeError(msg)
    if arr.dtype.kind not in "biuf":
        msg = f"`{name}` must be numeric; got dtype {arr.dtype} ({_describe(x)})."
        raise TypeError(msg)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64 if dtype == "float64" else np.float32)
    return arr


def check_embeddings(
    x: ArrayLike,
    /,
    *,
    name: str = "x",
    dtype: DTypeName = "float64",
    min_samples: int = MIN_SAMPLES,
    min_features: int = 1,
) -> Embeddings:
    """Validate an embedding matrix of shape ``(n_samples, n_features)``.

    Raises
    ------
    TypeError
        For object, complex or non-numeric input.
    ValueError
        For a shape that is not 2-D, empty input, fewer than ``min_samples`` rows, or NaN/Inf values
        (the message names the first offending rows and columns).
    """
    float_dtype(np, dtype)  # validates the name
    if isinstance(x, Embeddings):
        if x.dtype == dtype and x.n_samples >= min_samples and x.n_features >= min_features:
            return x  # already validated; keeps its cache of one-pass results
        x = x.data
    arr = _to_array(x, name, dtype)
    xp, device = namespace_of(arr)
    if arr.ndim != 2:
        shape = tuple(arr.shape)
        if arr.ndim == 1:
            hint = ("For n embeddings of one feature use x.reshape(-1, 1); for a single embedding "
                    "you need many rows, one per sample.")
        elif arr.ndim == 0:
            hint = "Pass a matrix with one embedding per row."
        else:
            hint = "Stack embeddings row-wise, e.g. x.reshape(len(x), -1)."
        msg = f"`{name}` must be 2-D with shape (n_samples, n_features); got shape {shape}. {hint}"
        raise ValueError(msg)
    n, d = (int(s) for s in arr.shape)
    if n == 0 or d == 0:
        msg = f"`{name}` is empty (shape {(n, d)}); expected at least {min_samples} rows and {min_features} column(s)."
        raise ValueError(msg)
    if n < min_samples:
        msg = (f"`{name}` has {n} rows; at least {min_samples} samples are needed for these tests "
               "(their null distributions are undefined below that). Collect more embeddings.")
        raise ValueError(msg)
    if d < min_features:
        msg = f"`{name}` has {d} feature(s); at least {min_features} are needed here."
        raise ValueError(msg)
    _check_finite(arr, xp, name)
    return Embeddings(data=arr, xp=xp, device=device, dtype=dtype, backend=backend_name(xp))


def _check_finite(arr: Array, xp: Any, name: str) -> None:
    """One cheap reduction; the detailed (blocked) scan runs only when something is off."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = xp.sum(arr, dtype=xp.float64) if arr.dtype != xp.float64 else xp.sum(arr)
    if bool(xp.isfinite(total)):
        return
    bad_rows: list[int] = []
    bad_cols: set[int] = set()
    n_bad_rows = 0
    n, d = arr.shape
    for a, b in row_blocks(int(n), max(1, 2**22 // max(1, int(d)))):
        ok = xp.isfinite(arr[a:b, :])
        if bool(xp.all(ok)):
            continue
        bad = np.asarray(_host(~ok))
        rows = np.nonzero(bad.any(axis=1))[0] + a
        n_bad_rows += int(rows.size)
        bad_rows.extend(int(r) for r in rows[: max(0, 10 - len(bad_rows))])
        bad_cols.update(int(c) for c in np.nonzero(bad.any(axis=0))[0][:10])
    if n_bad_rows == 0:  # the sum overflowed but every value is finite
        return
    msg = (f"`{name}` contains NaN or Inf in {n_bad_rows} row(s) (first rows {bad_rows}, columns "
           f"{sorted(bad_cols)[:10]}). Statistics of non-finite values are undefined: drop those rows "
           "(e.g. x[np.isfinite(x).all(axis=1)]) or fix the encoder that produced them.")
    raise ValueError(msg)


def _host(a: Array) -> np.ndarray:
    if is_torch(a):
        host: np.ndarray = a.detach().cpu().numpy()
        return host
    return np.asarray(a)


def check_nonconstant(variances: np.ndarray, *, name: str = "x", what: str = "coordinate tests") -> None:
    """Raise when some columns have zero variance; ``variances`` is a host vector of column variances."""
    v = np.asarray(variances, dtype=np.float64)
    const = np.nonzero(~(v > 0))[0]
    if const.size:
        msg = (f"`{name}` has {const.size} constant column(s) (indices {const[:20].tolist()}"
               f"{'...' if const.size > 20 else ''}); {what} are undefined on a column with zero variance. "
               "Drop them first, e.g. x[:, x.std(axis=0) > 0].")
        raise ValueError(msg)


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Validate an integer option (rejects bools and floats)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        msg = f"`{name}` must be an integer >= {minimum}; got {value!r} ({type(value).__name__})."
        raise TypeError(msg)
    if value < minimum:
        msg = f"`{name}` must be an integer >= {minimum}; got {value}."
        raise ValueError(msg)
    return int(value)


def check_probability(value: Any, name: str) -> float:
    """Validate a level in the open interval (0, 1)."""
    v = float(value)
    if not 0.0 < v < 1.0:
        msg = f"`{name}` must lie strictly between 0 and 1; got {value!r}."
        raise ValueError(msg)
    return v


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Validate a string option."""
    if value not in choices:
        msg = f"`{name}` must be one of {list(choices)}; got {value!r}."
        raise ValueError(msg)
    return str(value)


__all__ = [
    "MIN_SAMPLES",
    "Embeddings",
    "array_api_compat",
    "check_choice",
    "check_embeddings",
    "check_nonconstant",
    "check_positive_int",
    "check_probability",
]
