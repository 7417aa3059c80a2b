"""File readers behind :func:`gaussprobe.io.load_embeddings` (one per format, no unpickling)."""

from __future__ import annotations

import json
import math
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import optional_import

MMAP_THRESHOLD = 64 * 2**20  # bytes; larger .npy files are memory-mapped

FORMATS = {
    ".npy": "npy", ".npz": "npz", ".pt": "torch", ".pth": "torch", ".safetensors": "safetensors",
    ".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow",
    ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
}
_PICKLE_WHY = ("gaussprobe never unpickles files, because unpickling can run arbitrary code. Re-save the "
               "embeddings as a numeric array, e.g. np.save(path, np.asarray(x, dtype=np.float32)).")


class EmbeddingFileError(ValueError):
    """A file could not be read as an embedding matrix (missing, unknown format, corrupt, ambiguous...)."""


@dataclass(frozen=True, slots=True)
class _Shape:
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


def fail(path: Path | str, what: str) -> EmbeddingFileError:
    return EmbeddingFileError(f"{Path(path).name}: {what}")


#: Bytes a reader may allocate for data it must hold in memory (an inflated .npz member, a Parquet
#: table, a converted tensor); ``None``: half the physical memory. Memory-mapped reads do not count.
MEMORY_BUDGET: int | None = None


def memory_budget(max_bytes: int | None = None) -> int:
    """The in-memory budget in bytes: ``max_bytes`` when given, else :data:`MEMORY_BUDGET`, else the
    analysis budget of :func:`gaussprobe._budget.memory_budget` (``GAUSSPROBE_MAX_MEMORY``, else half RAM)."""
    if max_bytes is not None:
        return int(max_bytes)
    if MEMORY_BUDGET is not None:
        return int(MEMORY_BUDGET)
    from ._budget import memory_budget as analysis_budget  # one budget for loading and analysis

    limit = analysis_budget()
    return int(limit) if limit < 2**62 else 2**62


def _size(nbytes: int) -> str:
    for unit, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= factor:
            return f"{nbytes / factor:.3g} {unit}"
    return f"{nbytes} bytes"


def check_budget(path: Path, nbytes: int, what: str, budget: int) -> None:
    """Refuse (before allocating) to hold more than ``budget`` bytes in memory."""
    if nbytes > budget:
        msg = (f"{what} needs {_size(nbytes)} in memory, more than the loading budget of "
               f"{_size(budget)}; read fewer rows with --max-rows (max_rows=...), or raise the budget "
               "with max_bytes=... if the machine has the memory")
        raise fail(path, msg)


# ---------------------------------------------------------------- format detection
def sniff_format(path: str | os.PathLike[str]) -> str | None:
    """Guess the file format from its first bytes (None when the content is not recognised)."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"ARROW1", b"\xff\xff\xff\xff")):
        return "arrow"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return None
        if any(n.endswith("data.pkl") for n in names):
            return "torch"
        return "npz"
    if head[:1] == b"\x80" and len(head) > 1 and head[1:2] in {b"\x02", b"\x03", b"\x04", b"\x05"}:
        return "torch"  # legacy (non-zip) torch.save: a pickle stream
    if len(head) >= 9:
        n = int.from_bytes(head[:8], "little")
        if 2 <= n < 100 * 2**20 and head[8:9] == b"{":
            return "safetensors"
    return None


def resolve_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in set(FORMATS.values()):
            msg = f"unknown format {fmt!r}; expected one of {sorted(set(FORMATS.values()))}"
            raise fail(path, msg)
        return fmt
    by_ext = FORMATS.get(path.suffix.lower())
    sniffed = sniff_format(path)
    if sniffed is not None:
        return sniffed  # content wins over a misleading extension
    if by_ext in {"csv", "tsv", "jsonl"}:
        return by_ext
    if by_ext is not None:
        msg = (f"the file does not look like a {path.suffix} file (first bytes do not match the format); "
               "it is probably truncated or corrupt")
        raise fail(path, msg)
    msg = (f"unknown format (extension {path.suffix or 'none'!r}, content not recognised); supported: "
           f"{', '.join(sorted(FORMATS))}")
    raise fail(path, msg)


# ---------------------------------------------------------------- checks shared by the readers
def check_matrix(path: Path, a: Any, where: str) -> None:
    dt = np.dtype(a.dtype)
    if dt.kind == "O":
        raise fail(path, f"{where} is an array of Python objects. {_PICKLE_WHY}")
    if dt.kind == "c":
        raise fail(path, f"{where} holds complex numbers ({dt}); embeddings must be real")
    if dt.kind not in "biuf":
        raise fail(path, f"{where} is not numeric (dtype {dt}); expected a float matrix")
    shape = tuple(int(s) for s in a.shape)
    if len(shape) != 2:
        hint = ("a single vector; stack one embedding per row" if len(shape) <= 1
                else "reshape it to (n_samples, n_features) first, e.g. x.reshape(len(x), -1)")
        raise fail(path, f"{where} has shape {shape}; expected 2-D (n_samples, n_features): {hint}")
    if 0 in shape:
        raise fail(path, f"{where} is empty (shape {shape})")


def _describe_arrays(items: dict[str, tuple[tuple[int, ...], str]]) -> str:
    return ", ".join(f"{k!r} {list(s)} {d}" for k, (s, d) in items.items())


def _choose_key(path: Path, items: dict[str, tuple[tuple[int, ...], str]], key: str | None,
                what: str = "array") -> str:
    if key is not None:
        if key not in items:
            raise fail(path, f"no {what} named {key!r}; available: {_describe_arrays(items) or 'none'}")
        return key
    if not items:
        raise fail(path, f"contains no {what}s")
    if len(items) == 1:
        return next(iter(items))
    matrices = [k for k, (s, d) in items.items() if len(s) == 2 and np.dtype(d).kind in "biuf"]
    if len(matrices) == 1:
        return matrices[0]
    msg = (f"holds several {what}s, so which one is the embedding matrix is ambiguous; choose one with "
           f"--key (key=...): {_describe_arrays(items)}")
    raise fail(path, msg)


# ---------------------------------------------------------------- .npy / .npz
def _npy_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(f)
    elif version in {(2, 0), (3, 0)}:
        shape, fortran, dtype = fmt.read_array_header_2_0(f)
    else:  # pragma: no cover - read_magic already rejects other versions
        msg = f"unsupported .npy version {version}"
        raise ValueError(msg)
    if any(int(s) < 0 for s in shape):
        msg = f"negative dimension in shape {tuple(shape)}"
        raise ValueError(msg)
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype), int(f.tell())


def read_npy(path: Path, max_rows: int | None, mmap: bool | None, budget: int) -> np.ndarray:
    size = path.stat().st_size
    with path.open("rb") as f:
        try:
            shape, fortran, dtype, offset = _npy_header(f)
        except (ValueError, SyntaxError, EOFError, OverflowError) as exc:
            raise fail(path, f"corrupt .npy header ({exc})") from None
    if dtype.hasobject:
        raise fail(path, f"holds a pickled object array (dtype {dtype}). {_PICKLE_WHY}")
    expected = offset + math.prod(shape) * dtype.itemsize
    if size < expected:
        raise fail(path, f"is truncated: the header promises shape {shape} {dtype} ({expected:,} bytes) "
                          f"but the file has {size:,} bytes")
    check_matrix(path, _Shape(shape, dtype), "the array")
    if mmap is None:
        mmap = size > MMAP_THRESHOLD
    if mmap:
        a: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
        return a[:max_rows] if max_rows is not None else a
    rows = shape[0] if max_rows is None else min(max_rows, shape[0])
    check_budget(path, rows * shape[1] * dtype.itemsize, f"the array ({rows:,} x {shape[1]:,} {dtype})",
                 budget)
    with path.open("rb") as f:
        f.seek(offset)
        return _read_rows(path, f, shape, fortran, dtype, rows, "the array")


_SKIP_CHUNK = 2**20
# Deflate cannot shrink data by more than about 1032:1 (a 258-byte match costs at least 2 bits); a zip
# member that claims more is corrupt. The slack covers the zip and .npy headers.
_DEFLATE_MAX_RATIO = 1040


def _read_exact(path: Path, f: Any, out: np.ndarray, where: str) -> None:
    """Fill ``out`` (C-contiguous) from the stream ``f``; a short read means a truncated file."""
    view = memoryview(out.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
    got = 0
    while got < len(view):
        n = f.readinto(view[got:got + 64 * _SKIP_CHUNK])
        if not n:
            raise fail(path, f"is truncated: {where} ends after {got:,} of {len(view):,} data bytes")
        got += n


def _skip(path: Path, f: Any, nbytes: int, where: str) -> None:
    """Read past ``nbytes`` of the stream in bounded chunks (a zip member cannot seek without inflating)."""
    while nbytes > 0:
        chunk = f.read(min(nbytes, _SKIP_CHUNK))
        if not chunk:
            raise fail(path, f"is truncated: {where} ends before its declared size")
        nbytes -= len(chunk)


def _read_rows(path: Path, f: Any, shape: tuple[int, ...], fortran: bool, dtype: np.dtype[Any],
               rows: int, where: str) -> np.ndarray:
    """The first ``rows`` rows of an ``(n, d)`` .npy payload streamed from ``f`` (positioned at the data).

    Only the kept rows are stored: a C-ordered payload is read no further than they go; a Fortran-ordered
    one is streamed through, column by column, keeping the head of each column.
    """
    n, d = shape
    if not fortran:
        out = np.empty((rows, d), dtype=dtype)
        _read_exact(path, f, out, where)
        return out
    cols = np.empty((d, rows), dtype=dtype)
    for j in range(d):
        _read_exact(path, f, cols[j], where)
        if j < d - 1:
            _skip(path, f, (n - rows) * dtype.itemsize, where)
    return cols.T


def _check_member(path: Path, info: zipfile.ZipInfo, name: str, shape: tuple[int, ...],
                  dtype: np.dtype[Any], offset: int) -> None:
    """Refuse a zip member whose .npy header disagrees with the sizes the archive records for it."""
    declared = offset + math.prod(shape) * dtype.itemsize
    if info.file_size != declared:
        msg = (f"is a corrupt .npz: the header of array {name!r} declares shape {shape} {dtype} "
               f"({declared:,} bytes) but the archive records {info.file_size:,} bytes for it; re-save the "
               "file with np.savez or np.savez_compressed")
        raise fail(path, msg)
    stored = info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size
    deflated = (info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > _DEFLATE_MAX_RATIO * max(info.compress_size, 1) + 4096)
    if stored or deflated:
        msg = (f"is a corrupt .npz: array {name!r} claims {info.file_size:,} bytes from "
               f"{info.compress_size:,} compressed bytes, which its compression cannot produce; re-save "
               "the file with np.savez or np.savez_compressed")
        raise fail(path, msg)


def read_npz(path: Path, key: str | None, max_rows: int | None,
             budget: int) -> tuple[np.ndarray, str]:
    """Read one array of an .npz, streaming it from the zip member.

    Every member's .npy header is read first (shape and dtype, a few hundred bytes inflated), so a
    corrupt member or one that would not fit in ``budget`` bytes is refused before anything large is
    inflated; with ``max_rows`` only the needed rows are inflated (for a C-ordered array).
    """
    try:
        with zipfile.ZipFile(path) as z:
            items: dict[str, tuple[tuple[int, ...], str]] = {}
            headers: dict[str, tuple[zipfile.ZipInfo, bool, np.dtype[Any], int]] = {}
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as f:
                    shape, fortran, dtype, offset = _npy_header(f)
                name = info.filename[:-4]
                items[name] = (shape, str(dtype))
                headers[name] = (info, fortran, dtype, offset)
            chosen = _choose_key(path, items, key)
            shape = items[chosen][0]
            info, fortran, dtype, offset = headers[chosen]
            if dtype.hasobject:
                raise fail(path, f"array {chosen!r} is a pickled object array. {_PICKLE_WHY}")
            check_matrix(path, _Shape(shape, dtype), f"array {chosen!r}")
            _check_member(path, info, chosen, shape, dtype, offset)
            rows = shape[0] if max_rows is None else min(max_rows, shape[0])
            check_budget(path, rows * shape[1] * dtype.itemsize,
                         f"array {chosen!r} ({rows:,} x {shape[1]:,} {dtype}, decompressed)", budget)
            with z.open(info) as f:
                _npy_header(f)
                a = _read_rows(path, f, shape, fortran, dtype, rows, f"array {chosen!r}")
    except EmbeddingFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, SyntaxError, OSError, KeyError,
            NotImplementedError) as exc:
        raise fail(path, f"corrupt or truncated .npz archive ({type(exc).__name__}: {exc})") from None
    return a, chosen


# ---------------------------------------------------------------- torch files
def read_torch(path: Path, key: str | None, max_rows: int | None,
               budget: int) -> tuple[np.ndarray, str | None]:
    torch = optional_import("torch")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        name = type(exc).__name__
        text = str(exc).splitlines()[0] if str(exc) else name
        if "weights_only" in str(exc) or "Unpickl" in name:
            msg = (f"contains Python objects other than tensors, which torch.load(weights_only=True) "
                   f"refuses ({text[:200]}). {_PICKLE_WHY}")
            raise fail(path, msg) from None
        raise fail(path, f"corrupt or truncated torch file ({name}: {text[:200]})") from None
    chosen: str | None = None
    if isinstance(obj, dict):
        tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        items = {k: (tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in tensors.items()}
        items_np = {k: (s, d if d in _NUMPY_NAMES else "float32") for k, (s, d) in items.items()}
        chosen = _choose_key(path, items_np, key, what="tensor")
        obj = tensors[chosen]
    elif isinstance(obj, (list, tuple)) and obj and all(isinstance(t, torch.Tensor) for t in obj):
        lengths = {tuple(t.shape) for t in obj}
        if len(lengths) != 1:
            raise fail(path, f"holds a list of tensors of different shapes {sorted(lengths)[:5]} (ragged)")
        obj = list(obj)[:max_rows]
        check_budget(path, sum(t.numel() * t.element_size() for t in obj),
                     f"stacking {len(obj):,} tensors", budget)
        obj = torch.stack(obj)
    elif not isinstance(obj, torch.Tensor):
        raise fail(path, f"holds a {type(obj).__name__}; expected a tensor or a dict of tensors")
    t = obj.detach()
    if t.is_complex():
        raise fail(path, "holds a complex tensor; embeddings must be real")
    check_matrix(path, _Shape(tuple(t.shape), np.dtype("float32")), "the tensor")
    if max_rows is not None:
        t = t[:max_rows]
    if t.dtype == torch.bfloat16 or not (t.is_floating_point() or t.dtype in _torch_ints(torch)):
        check_budget(path, t.numel() * 4, f"converting the {t.dtype} tensor {tuple(t.shape)} to float32",
                     budget)
        t = t.float()
    return t.numpy(), chosen


_NUMPY_NAMES = {"float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"}


def _torch_ints(torch: Any) -> set[Any]:
    return {torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool}


# ---------------------------------------------------------------- safetensors (parsed directly)
_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
              "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def read_safetensors(path: Path, key: str | None, max_rows: int | None,
                     budget: int) -> tuple[np.ndarray, str]:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 2 <= n <= size - 8:
            raise fail(path, "corrupt or truncated .safetensors file (bad header length)")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise fail(path, f"corrupt .safetensors header ({exc})") from None
    if not isinstance(header, dict):
        raise fail(path, "corrupt .safetensors header (not a JSON object)")
    header.pop("__metadata__", None)
    items: dict[str, tuple[tuple[int, ...], str]] = {}
    spans: dict[str, tuple[str, int, int]] = {}
    for name, info in header.items():
        try:
            st_dtype, shape = info["dtype"], tuple(int(s) for s in info["shape"])
            begin, end = (int(v) for v in info["data_offsets"])
        except (TypeError, KeyError, ValueError):
            raise fail(path, f"corrupt .safetensors header entry {name!r}") from None
        if any(s < 0 for s in shape):
            raise fail(path, f"corrupt .safetensors header: tensor {name!r} has a negative dimension {shape}")
        if st_dtype not in _ST_DTYPES:
            raise fail(path, f"tensor {name!r} has unsupported dtype {st_dtype}")
        np_dtype = np.dtype(_ST_DTYPES[st_dtype])
        if end - begin != math.prod(shape) * np_dtype.itemsize or not 0 <= begin <= end:
            raise fail(path, f"corrupt .safetensors header: tensor {name!r} has inconsistent offsets")
        if 8 + n + end > size:
            raise fail(path, f"is truncated: tensor {name!r} ends past the end of the file")
        items[name] = (shape, "float32" if st_dtype == "BF16" else np_dtype.name)
        spans[name] = (st_dtype, 8 + n + begin, 8 + n + end)
    chosen = _choose_key(path, items, key, what="tensor")
    shape = items[chosen][0]
    check_matrix(path, _Shape(shape, np.dtype(items[chosen][1])), f"tensor {chosen!r}")
    st_dtype, start, _ = spans[chosen]
    rows = shape[0] if max_rows is None else min(max_rows, shape[0])
    a = np.memmap(path, dtype=np.dtype(_ST_DTYPES[st_dtype]), mode="r", offset=start,
                  shape=(rows, shape[1]))
    if st_dtype == "BF16":  # bfloat16 is the top half of a float32
        check_budget(path, rows * shape[1] * 4, f"converting tensor {chosen!r} from bfloat16 to float32",
                     budget)
        out = np.empty((rows, shape[1]), dtype=np.uint32)
        np.left_shift(a, 16, out=out, dtype=np.uint32)
        return out.view(np.float32), chosen
    return a, chosen


# ---------------------------------------------------------------- Arrow / Parquet
def _arrow_kind(pa: Any, t: Any) -> str:
    types = pa.types
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        v = t.value_type
        return "list" if (types.is_floating(v) or types.is_integer(v)) else "list-other"
    if types.is_floating(t) or types.is_integer(t) or types.is_boolean(t):
        return "number"
    return "other"


def _plan_columns(path: Path, pa: Any, schema: Any, column: str | None) -> tuple[str, list[str]]:
    kinds = {f.name: _arrow_kind(pa, f.type) for f in schema}
    if column is not None:
        if column not in kinds:
            raise fail(path, f"no column named {column!r}; columns: {list(kinds)[:20]}")
        if kinds[column] != "list":
            msg = (f"column {column!r} has type {schema.field(column).type}; --column needs a list of "
                   "numbers per row (omit --column to use all numeric columns)")
            raise fail(path, msg)
        return "list", [column]
    lists = [k for k, v in kinds.items() if v == "list"]
    if len(lists) == 1:
        return "list", lists
    if len(lists) > 1:
        raise fail(path, f"has several list columns {lists}; choose one with --column (column=...)")
    other = [k for k, v in kinds.items() if v != "number"]
    if other:
        types = {k: str(schema.field(k).type) for k in other[:10]}
        msg = (f"has non-numeric columns {types}; expected one list-of-numbers column or only numeric "
               "columns. Drop the non-numeric columns or store the embedding as a list column")
        raise fail(path, msg)
    return "numbers", list(kinds)


def _fill_from_batch(path: Path, pa: Any, out: np.ndarray | None, batch: Any, mode: str,
                     cols: list[str], row0: int, take: int) -> np.ndarray:
    if mode == "list":
        arr = batch.column(cols[0]).slice(0, take)
        if arr.null_count:
            first = int(np.nonzero(np.asarray(arr.is_null()))[0][0]) + row0
            raise fail(path, f"column {cols[0]!r} is null in row {first}")
        if pa.types.is_fixed_size_list(arr.type):
            d = arr.type.list_size
        else:
            offsets = np.asarray(arr.offsets)
            lengths = np.diff(offsets)
            d = int(lengths[0]) if lengths.size else 0
            bad = np.nonzero(lengths != d)[0]
            if bad.size:
                i = int(bad[0])
                msg = (f"ragged rows in column {cols[0]!r}: row {row0} has {d} values but row "
                       f"{row0 + i} has {int(lengths[i])}")
                raise fail(path, msg)
            if out is not None and d != out.shape[1]:
                raise fail(path, f"ragged rows in column {cols[0]!r}: {out.shape[1]} vs {d} values")
        values = arr.flatten()
        if values.null_count:
            raise fail(path, f"column {cols[0]!r} contains null values inside its lists")
        block: np.ndarray = values.to_numpy(zero_copy_only=False).reshape(take, d)
    else:
        block = np.column_stack([batch.column(c).slice(0, take).to_numpy(zero_copy_only=False)
                                 for c in cols])
    if out is None:
        return block
    out[row0:row0 + take] = block
    return out


_BATCH_BYTES = 64 * 2**20  # Parquet batches are sized to about this many bytes of values


def _batch_rows(pa: Any, schema: Any, mode: str, cols: list[str]) -> int:
    """Rows per Parquet batch, from the schema's row width where it is known (at most 65,536)."""
    if mode == "numbers":
        width = 8 * len(cols)
    else:
        t = schema.field(cols[0]).type
        width = 8 * t.list_size if pa.types.is_fixed_size_list(t) else 8 * 1024
    return max(1, min(65536, _BATCH_BYTES // max(width, 1)))


def _open_arrow(path: Path, fmt: str, pa: Any, column: str | None,
                max_rows: int | None, budget: int) -> tuple[Any, str, list[str], int | None, Any]:
    """(schema, mode, columns, number of rows or None, iterator of record batches); reads no data.

    A Parquet file is read column by column (only the chosen ones) in batches; an Arrow IPC file is
    memory-mapped. An IPC *stream* has no footer, so its batches are read one by one until ``max_rows``
    rows (or the end) and its row count is only known when it was read to the end.
    """
    if fmt == "parquet":
        source = optional_import("pyarrow.parquet").ParquetFile(path)
        schema = source.schema_arrow
        mode, cols = _plan_columns(path, pa, schema, column)
        batches = source.iter_batches(batch_size=_batch_rows(pa, schema, mode, cols), columns=cols)
        return schema, mode, cols, int(source.metadata.num_rows), batches
    mm = pa.memory_map(str(path), "r")
    try:
        reader = pa.ipc.open_file(mm)
    except pa.ArrowInvalid:
        mm.seek(0)
        stream = pa.ipc.open_stream(mm)
        mode, cols = _plan_columns(path, pa, stream.schema, column)
        kept, rows, held = [], 0, 0
        for batch in stream:
            kept.append(batch)
            rows += batch.num_rows
            held += batch.nbytes
            check_budget(path, held, f"the Arrow stream's first {rows:,} rows", budget)
            if max_rows is not None and rows >= max_rows:
                return stream.schema, mode, cols, None, iter(kept)
        return stream.schema, mode, cols, rows, iter(kept)
    mode, cols = _plan_columns(path, pa, reader.schema, column)
    n_batches = reader.num_record_batches
    n = int(reader.count_rows()) if hasattr(reader, "count_rows") else sum(
        reader.get_batch(i).num_rows for i in range(n_batches))
    return reader.schema, mode, cols, n, (reader.get_batch(i) for i in range(n_batches))


def read_arrow_like(path: Path, fmt: str, column: str | None, max_rows: int | None,
                    budget: int) -> tuple[np.ndarray, str | None, int | None]:
    pa = optional_import("pyarrow")
    try:
        _schema, mode, cols, n_total, batches = _open_arrow(path, fmt, pa, column, max_rows, budget)
        # n_total is None only for a stream cut at max_rows (its kept batches are already in memory)
        n = int(max_rows or 0) if n_total is None else min(n_total, max_rows or n_total)
        out: np.ndarray | None = None
        row = 0
        for batch in batches:
            if row >= n:
                break
            take = min(batch.num_rows, n - row)
            if take == 0:
                continue
            block = _fill_from_batch(path, pa, out, batch, mode, cols, row, take)
            if out is None:
                check_budget(path, n * block.shape[1] * block.dtype.itemsize,
                             f"{n:,} rows of {block.shape[1]:,} {block.dtype} values", budget)
                if take == n:  # a single batch: keep Arrow's buffer (zero copy where possible)
                    out = block
                else:  # several batches: fill one preallocated array, never a second full copy
                    out = np.empty((n, block.shape[1]), dtype=block.dtype)
                    out[:take] = block
            row += take
    except (EmbeddingFileError, ImportError):
        raise
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for bad files
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise fail(path, f"corrupt or unreadable {fmt} file ({type(exc).__name__}: {text[:200]})") from None
    if out is None:
        raise fail(path, "contains no rows")
    if row < n:
        raise fail(path, f"is truncated: the metadata promises {n:,} rows but the data holds {row:,}")
    return out, (cols[0] if mode == "list" else None), n_total


# ---------------------------------------------------------------- text formats
#: First-column header names read as a row index (compared case-insensitively). pandas writes an empty
#: name for an unnamed index (``df.to_csv()``) and reads it back as ``"Unnamed: 0"``.
INDEX_NAMES = frozenset({"", "index", "idx", "unnamed: 0", "row", "row_id", "id"})


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _is_header(cells: list[str]) -> bool:
    """A first row is a header when a cell is not a number, or when the cells are the labels 0..k-1.

    ``pd.DataFrame(x).to_csv(index=False)`` writes the integer column labels ``0,1,...,d-1``; with the
    index it writes ``,0,1,...,d-1``. Those labels are written without a decimal point, which a data row
    written by NumPy or pandas (``0.0``, ``1.5e-01``) never is, so a row of exactly these integers is
    read as labels. Empty cells are ignored here (an empty first cell is the index column's name).
    """
    filled = [c for c in cells if c]
    if any(not _is_number(c) for c in filled):
        return True
    labels = cells[1:] if cells and not cells[0] else cells
    return bool(labels) and labels == [str(i) for i in range(len(labels))]


def _first_row(path: Path) -> str:
    """The first line that is neither blank nor a ``#`` comment ("" when there is none)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for line in f:
                if line.strip() and not line.lstrip().startswith("#"):
                    return line
    except UnicodeDecodeError:
        raise fail(path, "is not UTF-8 text; expected delimited numbers") from None
    return ""


def read_delimited(path: Path, delimiter: str, max_rows: int | None) -> tuple[np.ndarray, list[str]]:
    """Read delimited numbers; returns the matrix and notes on what was not read as data.

    The first row is a header when :func:`_is_header` says so. The first column is a row index, and is
    dropped with a note, when the header names it so (:data:`INDEX_NAMES`) and either the name is empty
    (what ``DataFrame.to_csv()`` writes) or its values are exactly ``0, 1, ..., n-1``. A first column
    with an index-like name but other values is kept, with a note. A UTF-8 byte-order mark is skipped.
    """
    first = _first_row(path)
    if not first:
        raise fail(path, "contains no data rows")
    fields = [s.strip().strip('"') for s in first.rstrip("\r\n").split(delimiter)]
    header = _is_header(fields)
    index_name = fields[0] if header and len(fields) > 1 and fields[0].lower() in INDEX_NAMES else None
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": checked below
            a = np.loadtxt(path, delimiter=delimiter, skiprows=1 if header else 0, ndmin=2,
                           max_rows=max_rows, dtype=np.float64, quotechar='"', encoding="utf-8-sig",
                           comments="#", usecols=range(1, len(fields)) if index_name == "" else None)
    except ValueError as exc:
        text = str(exc).splitlines()[0]
        if "could not convert" in text and header:
            text += f" (columns: {fields[:12]}{' ...' if len(fields) > 12 else ''}); every column must be numeric"
        elif "number of columns changed" in text:
            text = f"ragged rows: {text.split(';')[0]}"
        raise fail(path, text) from None
    except UnicodeDecodeError:
        raise fail(path, "is not UTF-8 text; expected delimited numbers") from None
    if a.size == 0:
        raise fail(path, "contains no data rows")
    if index_name == "":
        notes.append("dropped the first column: its header name is empty, the mark of a pandas index "
                     "written by DataFrame.to_csv(); write with index=False to leave it out")
    elif index_name is not None:
        if np.array_equal(a[:, 0], np.arange(a.shape[0])):
            notes.append(f"dropped the first column {index_name!r}: its values are the row numbers "
                         f"0..{a.shape[0] - 1}, a row index rather than a feature; write with index=False "
                         "to leave it out")
            a = a[:, 1:]
        else:
            notes.append(f"kept the first column {index_name!r} as a feature although its name suggests a "
                         "row index (its values are not the row numbers 0..n-1); remove it from the file "
                         "if it is not part of the embedding")
    if a.shape[1] == 0:
        raise fail(path, "has no columns left after the row index; expected embedding columns")
    return a, notes


def _jsonl_vector(path: Path, obj: Any, line_no: int, key: str | None) -> tuple[list[Any], str | None]:
    if isinstance(obj, list):
        return obj, None
    if not isinstance(obj, dict):
        raise fail(path, f"line {line_no}: expected a JSON array of numbers or an object, got {type(obj).__name__}")
    if key is not None:
        if key not in obj:
            raise fail(path, f"line {line_no}: no field {key!r}; fields: {list(obj)[:20]}")
        return obj[key], key
    lists = [k for k, v in obj.items() if isinstance(v, list)]
    if len(lists) != 1:
        what = "no list field" if not lists else f"several list fields {lists}"
        raise fail(path, f"line {line_no}: {what}; choose the embedding field with --key (key=...)")
    return obj[lists[0]], lists[0]


def read_jsonl(path: Path, key: str | None, max_rows: int | None,
               budget: int) -> tuple[np.ndarray, str | None]:
    with path.open("rb") as f:
        n = sum(1 for line in f if line.strip())
    if max_rows is not None:
        n = min(n, max_rows)
    if n == 0:
        raise fail(path, "contains no data rows")
    out: np.ndarray | None = None
    row = 0
    used_key: str | None = None
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            if row >= n:
                break
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise fail(path, f"line {line_no} is not valid JSON ({exc})") from None
            vec, used_key = _jsonl_vector(path, obj, line_no, key or used_key)
            if out is None:
                check_budget(path, n * len(vec) * 8, f"{n:,} rows of {len(vec):,} values", budget)
                out = np.empty((n, len(vec)), dtype=np.float64)
            if len(vec) != out.shape[1]:
                raise fail(path, f"ragged rows: line {line_no} has {len(vec)} values, earlier rows have {out.shape[1]}")
            try:
                out[row] = np.asarray(vec, dtype=np.float64)
            except (TypeError, ValueError):
                bad = next((v for v in vec if not isinstance(v, (int, float)) or isinstance(v, bool)), "?")
                raise fail(path, f"line {line_no}: non-numeric value {str(bad)[:40]!r} in the embedding") from None
            row += 1
    assert out is not None
    if out.shape[1] == 0:
        raise fail(path, "rows are empty lists")
    return out, used_key
