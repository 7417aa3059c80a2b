"""Input validation: turn anything array-like into a checked 2-D float array on its own device.

Every error says what was expected, what arrived and how to fix it. Precision policy: statistics are
computed in float64 unless ``dtype="float32"`` is asked for; half-precision, integer and boolean inputs
are upcast, never computed in place. float32/float64 inputs are *not* copied here: kernels upcast one
block of rows or columns at a time (see :meth:`Embeddings.rows` and :meth:`Embeddings.cols`), which
keeps the peak extra memory a small multiple of one block rather than of the whole input.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from ._backend import backend_name, float_dtype, is_torch, namespace_of, row_blocks, to_numpy
from ._typing import Array, ArrayLike, DTypeName

MIN_SAMPLES = 8


#: Largest and smallest magnitudes (as powers of two) that the statistics handle without rescaling,
#: per floating width: squares, fourth powers and their sums over n rows stay far from overflow and
#: from subnormals inside these ranges. Outside them, :func:`check_embeddings` attaches an exact
#: power-of-two scale (see :attr:`Embeddings.scale_exponent`).
SAFE_EXPONENTS: dict[int, tuple[int, int]] = {8: (-128, 128), 4: (-24, 24)}

@dataclass(frozen=True, slots=True, eq=False, init=False)
class Embeddings:
    """A validated embedding matrix and where it lives. Immutable; it holds no results.

    ``storage`` is the caller's array, never copied nor modified when it is float32 or float64 (a
    NumPy array or memmap, a torch tensor, another array-API array, or a lazy Dask array whose chunks
    are NumPy arrays). ``rows``, ``cols`` and ``full`` return blocks cast to the compute dtype and
    multiplied by :attr:`scale`, an exact power of two that is 1 unless the data's magnitude lies
    outside :data:`SAFE_EXPONENTS` (e.g. ``1e-155 * x`` or ``1e154 * x``): every statistic is then
    computed on ``scale * x``, which has the same invariant statistics, and the few scale-equivariant
    outputs (norms, eigenvalues, distances) are divided back by :meth:`unscale`. Multiplying by a power
    of two is exact, so moderate inputs are untouched and extreme ones are computed as accurately.

    Work shared between statistics (one covariance pass for several tests) is not kept here: the pass
    engine (:mod:`gaussprobe._engine`) returns it as explicit values.
    """

    storage: Array
    xp: Any
    device: Any
    dtype: DTypeName
    backend: str
    #: ``scale = 2**scale_exponent`` multiplies every value read through this object.
    scale_exponent: int
    #: Lazy inputs only: the float64 column means found by the validation read (unscaled), which the
    #: moment states take as their shift instead of reading a spread sample of rows again.
    column_mean: np.ndarray | None

    def __init__(self, data: Array | None = None, xp: Any = None, device: Any = None,
                 dtype: DTypeName = "float64", backend: str = "numpy", scale_exponent: int = 0, *,
                 storage: Array | None = None, column_mean: np.ndarray | None = None) -> None:
        arr = storage if storage is not None else data
        if arr is None:
            msg = "Embeddings needs the array: pass data=... (or storage=...)."
            raise TypeError(msg)
        object.__setattr__(self, "storage", arr)
        object.__setattr__(self, "xp", xp)
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "backend", backend)
        object.__setattr__(self, "scale_exponent", int(scale_exponent))
        object.__setattr__(self, "column_mean", column_mean)

    @property
    def n_samples(self) -> int:
        return int(self.storage.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.storage.shape[1])

    @property
    def float(self) -> Any:
        """The compute dtype of the namespace."""
        return float_dtype(self.xp, self.dtype)

    @property
    def float_itemsize(self) -> int:
        """Bytes per value in the compute dtype (8 or 4)."""
        return 8 if self.dtype == "float64" else 4

    @property
    def is_numpy(self) -> bool:
        """Whether the storage is a NumPy array (the host fast paths apply)."""
        return isinstance(self.storage, np.ndarray)

    @property
    def on_host(self) -> bool:
        """Whether the kernels run on host NumPy arrays (a NumPy input, or the chunks of a lazy one)."""
        return self.is_numpy or self.is_lazy

    @property
    def is_lazy(self) -> bool:
        """Whether the storage is a lazy (Dask) array: read by chunks, never whole."""
        return self.backend == "dask"

    @property
    def scale(self) -> builtins.float:  # (``float`` is the compute-dtype property here)
        """The exact power of two applied to every value read (1.0 for moderate magnitudes)."""
        return math.ldexp(1.0, self.scale_exponent)

    def chunk(self, data: Array, *, scaled: bool = True) -> Embeddings:
        """The same validation (dtype, and the scale unless ``scaled=False``) for ``data``: one in-memory
        chunk of a lazy input, or (``scaled=False``) data of moderate magnitude made to match this input,
        such as a null sample."""
        xp, device = namespace_of(data)
        return Embeddings(data=data, xp=xp, device=device, dtype=self.dtype, backend=backend_name(xp),
                          scale_exponent=self.scale_exponent if scaled else 0)

    def take_rows64(self, index: np.ndarray) -> Array:
        """The rows ``index`` (a short host index vector) in float64, scaled, in the input's namespace."""
        if self.is_lazy:
            return self._cast(np.asarray(self.storage[np.asarray(index)]), np.float64)
        if self.is_numpy:
            return self._cast(self.storage[index], np.float64)
        idx = self.xp.asarray(np.asarray(index), device=self.device)
        return self._cast(self.xp.take(self.storage, idx, axis=0), self.xp.float64)

    @property
    def data(self) -> Array:
        """The whole matrix in the storage dtype, scaled by :attr:`scale`: the caller's array itself when
        no scale applies (the usual case), else a scaled copy made on each access (prefer :meth:`rows`,
        :meth:`cols` or :meth:`rows_into`, which scale one block at a time)."""
        if self.scale_exponent == 0:
            return self.storage
        return self._read(self.storage) * self.scale

    def rows(self, start: int, stop: int) -> Array:
        """Rows ``start:stop`` in the compute dtype (a view when no cast or scale is needed)."""
        return self._cast(self._read(self.storage[start:stop, :]))

    def rows64(self, start: int, stop: int) -> Array:
        """Rows ``start:stop`` in float64 whatever the compute dtype (for sums that feed whitening)."""
        return self._cast(self._read(self.storage[start:stop, :]), self.xp.float64)

    def cols(self, start: int, stop: int) -> Array:
        """Columns ``start:stop`` in the compute dtype (of a lazy input: a read of every row)."""
        return self._cast(self._read(self.storage[:, start:stop]))

    def full(self) -> Array:
        """The whole matrix in the compute dtype (a copy only when the dtype differs or a scale applies;
        of a lazy input, the whole matrix read into memory)."""
        return self._cast(self._read(self.storage))

    def rows_into(self, start: int, stop: int, out: np.ndarray, *, subtract: Any = None) -> np.ndarray:
        """Write rows ``start:stop`` (scaled, minus ``subtract`` when given) into the NumPy buffer ``out``.

        One pass over the block in the common unscaled case (``np.copyto`` or ``np.subtract``), so the
        host fast paths keep their speed; ``out`` fixes the dtype.
        """
        src = self._read(self.storage[start:stop])
        if self.scale_exponent == 0:
            if subtract is None:
                np.copyto(out, src)
            else:
                np.subtract(src, subtract, out=out)
            return out
        np.multiply(src, self.scale, out=out)
        if subtract is not None:
            out -= subtract
        return out

    def _read(self, a: Any) -> Array:
        """A lazy (Dask) selection computed into a NumPy array; anything else as it is."""
        return np.asarray(a) if self.is_lazy else a

    def unscale(self, value: Any, power: int = 1) -> Any:
        """``value / scale**power``: a scale-equivariant output back in the units of the input.

        Exact (a power of two), and correctly rounded where the true value under- or overflows.
        """
        e = -power * self.scale_exponent
        if e == 0 or value is None:
            return value
        if isinstance(value, np.ndarray) or np.isscalar(value):
            return ldexp(value, e)
        half = e // 2  # device arrays: two exact multiplications keep each factor representable
        return value * math.ldexp(1.0, half) * math.ldexp(1.0, e - half)

    def _cast(self, a: Array, to: Any = None) -> Array:
        to = self.float if to is None else to
        e = self.scale_exponent
        if e == 0:
            return a if a.dtype == to else self.xp.astype(a, to)
        s = math.ldexp(1.0, e)
        if a.dtype == to:
            return a * s
        if _itemsize(a.dtype) > _itemsize(to):  # narrowing: scale first, then round
            return self.xp.astype(a * s, to)
        out = self.xp.astype(a, to)  # a fresh array, so scaling in place is safe
        out *= s
        return out

    def asarray(self, a: Any) -> Array:
        """A host array moved to this input's namespace, device and compute dtype."""
        return self.xp.asarray(np.ascontiguousarray(a), dtype=self.float, device=self.device)


def ldexp(value: Any, exponent: int) -> Any:
    """``value * 2**exponent`` for a float or host array: exact, and IEEE-rounded (to 0 or inf, with no
    error or warning) where the true value leaves the float64 range. None stays None."""
    if value is None or exponent == 0:
        return value
    with np.errstate(over="ignore", under="ignore"):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return np.ldexp(value, int(exponent))  # keeps float32 arrays float32
        out = np.ldexp(np.asarray(value, dtype=np.float64), int(exponent))
    return out if isinstance(value, np.ndarray) else float(out)


def _itemsize(dtype: Any) -> int:
    if is_torch_dtype(dtype):
        return int(dtype.itemsize)
    return int(np.dtype(dtype).itemsize)


def is_torch_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a torch dtype (without importing torch)."""
    return type(dtype).__module__.startswith("torch")


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
            return x  # already validated
        x = x.storage  # the caller's values: the scale is chosen again for the new compute dtype
    if isinstance(x, np.memmap) and x.ndim == 2 and _larger_than_memory(x.nbytes):
        x = _as_lazy(x)  # a file larger than the memory budget is read by row chunks, not whole
    if _is_dask(x):
        return _check_lazy(x, name=name, dtype=dtype, min_samples=min_samples, min_features=min_features)
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
    _check_size(arr.shape, name, min_samples, min_features)
    lo, hi = _value_range(arr, xp)
    _check_finite(arr, xp, name, (lo, hi))
    scale_exponent = _scale_exponent(max(-lo, hi), arr.dtype, dtype)
    return Embeddings(data=arr, xp=xp, device=device, dtype=dtype, backend=backend_name(xp),
                      scale_exponent=scale_exponent)


def _larger_than_memory(nbytes: int) -> bool:
    from ._budget import memory_budget

    return float(nbytes) > memory_budget()


def _as_lazy(x: np.memmap) -> Any:
    """A memory map as a Dask array of row chunks (unchanged when Dask is not installed)."""
    try:
        import dask.array  # noqa: F401
    except ImportError:  # pragma: no cover - without Dask the map is read as an in-memory array
        return x
    from ._lazy import lazy_rows

    return lazy_rows(x)


def _is_dask(x: Any) -> bool:
    return type(x).__module__.startswith("dask.array") and hasattr(x, "chunks") and hasattr(x, "dask")


def _check_lazy(x: Any, *, name: str, dtype: DTypeName, min_samples: int, min_features: int) -> Embeddings:
    """:func:`check_embeddings` for a Dask array: the same rules, checked without loading it.

    The dtype and shape come from the array's metadata (unknown chunk sizes are computed); the value
    range — the finiteness check and the scale — takes one read of the data (both reductions share
    it). Non-float dtypes are upcast lazily, chunk by chunk; chunks along the columns are merged so
    that every task holds whole rows.
    """
    import array_api_compat

    kind = np.dtype(x.dtype).kind
    if kind == "O":
        msg = (f"`{name}` has dtype object ({_describe(x)}); expected real numbers. Convert the chunks "
               "with x.astype(float) after fixing them.")
        raise TypeError(msg)
    if kind == "c":
        msg = (f"`{name}` must hold real numbers; got complex dtype {x.dtype}. Pass the real part or "
               "the magnitude explicitly.")
        raise TypeError(msg)
    if kind not in "biuf":
        msg = f"`{name}` must be numeric; got dtype {x.dtype} ({_describe(x)})."
        raise TypeError(msg)
    if x.ndim != 2:
        msg = (f"`{name}` must be 2-D with shape (n_samples, n_features); got shape {tuple(x.shape)}. "
               "Stack embeddings row-wise, e.g. x.reshape(len(x), -1).")
        raise ValueError(msg)
    if any(math.isnan(c) for c in x.chunks[0]):
        x = x.compute_chunk_sizes()
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64 if dtype == "float64" else np.float32)
    if len(x.chunks[1]) > 1:
        x = x.rechunk({1: -1})
    n, _ = _check_size(x.shape, name, min_samples, min_features)
    import dask

    lo_a, hi_a, sums = dask.compute(x.min(), x.max(), x.sum(axis=0, dtype=np.float64))  # one read
    lo, hi = float(lo_a), float(hi_a)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        _report_lazy_nonfinite(x, name)
    xp = array_api_compat.array_namespace(np.empty(0, dtype=x.dtype))
    with np.errstate(over="ignore"):
        mean = np.asarray(sums, dtype=np.float64) / n
    return Embeddings(data=x, xp=xp, device="cpu", dtype=dtype, backend="dask",
                      scale_exponent=_scale_exponent(max(-lo, hi), x.dtype, dtype),
                      column_mean=mean if np.all(np.isfinite(mean)) else None)


def _bad_rows(block: np.ndarray, offset: int) -> tuple[int, list[int], list[int]]:
    ok = np.isfinite(block)
    rows = np.nonzero(~ok.all(axis=1))[0]
    cols = np.nonzero(~ok.all(axis=0))[0][:10]
    return int(rows.size), [int(r) + offset for r in rows[:10]], [int(c) for c in cols]


def _report_lazy_nonfinite(x: Any, name: str) -> None:
    import dask

    starts = np.concatenate([[0], np.cumsum(x.chunks[0])[:-1]]).astype(int)
    parts = dask.compute(*[dask.delayed(_bad_rows)(b, int(o))
                           for b, o in zip(x.to_delayed().ravel(), starts, strict=True)])
    n_bad = sum(p[0] for p in parts)
    rows = [r for p in parts for r in p[1]][:10]
    cols = sorted({c for p in parts for c in p[2]})[:10]
    msg = (f"`{name}` contains NaN or Inf in {n_bad} row(s) (first rows {rows}, columns {cols}). "
           "Statistics of non-finite values are undefined: drop those rows or fix the encoder that "
           "produced them.")
    raise ValueError(msg)


def _value_range(arr: Array, xp: Any) -> tuple[float, float]:
    """``(min, max)`` of every value in one pass (NaN when any value is NaN): the cheap first check of
    finiteness and the magnitude that sets the scale. NumPy input is read in ~1 MiB row blocks (both
    reductions run on a block while it is in cache: faster than two whole-array passes, and one read
    of a memory-mapped file); torch uses ``aminmax`` (one kernel, one host transfer)."""
    if isinstance(arr, np.ndarray):
        n, d = (int(s) for s in arr.shape)
        highs, lows = [], []
        for a, b in row_blocks(n, max(1, 2**17 // max(1, d))):
            block = arr[a:b]
            highs.append(block.max())
            lows.append(block.min())
        return float(np.min(lows)), float(np.max(highs))
    if is_torch(arr):
        lo, hi = arr.aminmax()
        host = to_numpy(xp.stack([lo, hi]))
        return float(host[0]), float(host[1])
    lo_hi = (float(xp.min(arr)), float(xp.max(arr)))  # other libraries: NaN in min/max is unspecified
    if math.isfinite(lo_hi[0]) and math.isfinite(lo_hi[1]) and not bool(xp.all(xp.isfinite(arr))):
        return math.nan, math.nan
    return lo_hi


def _scale_exponent(max_abs: float, storage_dtype: Any, compute: DTypeName) -> int:
    """The power of two that brings ``max_abs`` into the safe range of the narrower of the storage and
    compute dtypes (0 when it already lies there, or when every value is zero)."""
    if not max_abs > 0:
        return 0
    width = min(_itemsize(storage_dtype), 8 if compute == "float64" else 4)
    lo, hi = SAFE_EXPONENTS[width]
    _, e = math.frexp(max_abs)  # max_abs = m * 2**e with 0.5 <= m < 1
    if lo <= e <= hi:
        return 0
    # scaled maximum in [0.5, 1); the clip keeps the factor representable in the storage dtype
    top = 127 if _itemsize(storage_dtype) == 4 else 1023
    return int(min(-e, top))


def _check_size(shape: Any, name: str, min_samples: int, min_features: int) -> tuple[int, int]:
    """``(n, d)`` of a 2-D shape, or a clear error when it is empty or below the minimum sizes."""
    n, d = (int(s) for s in shape)
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
    return n, d


def _check_finite(arr: Array, xp: Any, name: str, value_range: tuple[float, float] | None = None) -> None:
    """One cheap reduction; the detailed (blocked) scan runs only when something is off."""
    lo, hi = _value_range(arr, xp) if value_range is None else value_range
    if math.isfinite(lo) and math.isfinite(hi):
        return
    bad_rows: list[int] = []
    bad_cols: set[int] = set()
    n_bad_rows = 0
    n, d = arr.shape
    for a, b in row_blocks(int(n), max(1, 2**22 // max(1, int(d)))):
        ok = xp.isfinite(arr[a:b, :])
        if bool(xp.all(ok)):
            continue
        bad = np.asarray(to_numpy(~ok))
        rows = np.nonzero(bad.any(axis=1))[0] + a
        n_bad_rows += int(rows.size)
        bad_rows.extend(int(r) for r in rows[: max(0, 10 - len(bad_rows))])
        bad_cols.update(int(c) for c in np.nonzero(bad.any(axis=0))[0][:10])
    if n_bad_rows == 0:  # pragma: no cover - the reductions disagree with the element-wise scan
        return
    msg = (f"`{name}` contains NaN or Inf in {n_bad_rows} row(s) (first rows {bad_rows}, columns "
           f"{sorted(bad_cols)[:10]}). Statistics of non-finite values are undefined: drop those rows "
           "(e.g. x[np.isfinite(x).all(axis=1)]) or fix the encoder that produced them.")
    raise ValueError(msg)


def check_nonconstant(variances: np.ndarray, *, name: str = "x", what: str = "coordinate tests") -> None:
    """Raise when some columns have zero variance; ``variances`` is a host vector of column variances."""
    v = np.asarray(variances, dtype=np.float64)
    const = np.nonzero(~(v > 0))[0]
    if const.size:
        msg = (f"`{name}` has {const.size} constant column(s) (indices {const[:20].tolist()}"
               f"{'...' if const.size > 20 else ''}); {what} are undefined on a column with zero variance. "
               "Drop them first, e.g. x[:, x.std(axis=0) > 0].")
        raise ValueError(msg)


class InvalidOptionError(ValueError, TypeError):
    """An option (keyword argument) of the wrong type or value. It is both a ValueError and a
    TypeError, so either ``except`` clause catches it (scikit-learn's convention for parameters)."""


def _got(value: Any) -> str:
    """``value!r (type)``, shortened, for error messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Validate an integer option ``>= minimum``: Python and NumPy integers only (no bools, floats,
    strings or None), with a message that names the option."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
            hint = f"Pass it as an int: {name}={int(value)}."
        else:
            hint = f"Pass a whole number (a Python or NumPy int) >= {minimum}."
        msg = f"`{name}` must be an integer >= {minimum}; got {_got(value)}. {hint}"
        raise InvalidOptionError(msg)
    if value < minimum:
        msg = f"`{name}` must be an integer >= {minimum}; got {int(value)}. Pass a value >= {minimum}."
        raise ValueError(msg)
    return int(value)


def check_probability(value: Any, name: str) -> float:
    """Validate a level in the open interval (0, 1): a real number (Python or NumPy), not a bool,
    string or None, and not NaN."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        msg = (f"`{name}` must be a number strictly between 0 and 1; got {_got(value)}. "
               f"Pass a float, e.g. {name}=0.05.")
        raise InvalidOptionError(msg)
    v = float(value)
    if not 0.0 < v < 1.0:
        msg = f"`{name}` must lie strictly between 0 and 1; got {value!r}. Pass e.g. {name}=0.05."
        raise ValueError(msg)
    return v


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Validate a string option (exact match; None, non-strings and unknown names are refused)."""
    if not isinstance(value, str) or value not in choices:
        close = [c for c in choices if isinstance(value, str) and c.lower() == value.strip().lower()]
        hint = f" Did you mean {close[0]!r}?" if close else f" Pass e.g. {name}={choices[0]!r}."
        msg = f"`{name}` must be one of {list(choices)}; got {_got(value)}.{hint}"
        raise InvalidOptionError(msg) if not isinstance(value, str) else ValueError(msg)
    return str(value)


__all__ = [
    "MIN_SAMPLES",
    "SAFE_EXPONENTS",
    "Embeddings",
    "InvalidOptionError",
    "array_api_compat",
    "check_choice",
    "check_embeddings",
    "check_nonconstant",
    "check_positive_int",
    "check_probability",
    "ldexp",
]
