"""Open embedding files lazily: one file or many shards as one Dask array with row chunks.

The same safety rules as :func:`gaussprobe.io.load_embeddings` (nothing is unpickled; headers are
checked against the file size before anything is mapped): ``.npy`` files and ``.safetensors`` tensors
are memory-mapped and cut into row chunks; Parquet files are read one row group per chunk; zarr stores
keep their own chunks along the rows. Formats that cannot be read by rows without a full parse
(``.npz``, ``.pt``, Arrow, CSV, JSON lines) are read into memory within the loading budget and wrapped.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._readers import EmbeddingFileError, check_matrix, fail, memory_budget, resolve_format

#: Bytes of storage per row chunk of an opened file (rows of a ``.npy`` memory map, zarr rechunking).
CHUNK_BYTES = 64 * 2**20
_GLOB_CHARS = frozenset("*?[")
_SHARD_SUFFIXES = (".npy", ".safetensors", ".parquet", ".npz", ".pt", ".pth", ".arrow", ".feather",
                   ".csv", ".tsv", ".jsonl")


def expand_paths(path: Any) -> list[Path]:
    """The files named by ``path``: a file, a glob pattern, a folder (its embedding files, sorted), or a
    list of any of these. Raises when nothing matches."""
    if isinstance(path, (list, tuple)):
        out: list[Path] = []
        for p in path:
            out.extend(expand_paths(p))
        if not out:
            msg = "open_embeddings got an empty list of paths; pass at least one file, folder or glob."
            raise EmbeddingFileError(msg)
        return out
    text = os.fspath(path)
    if _GLOB_CHARS & set(text) and not os.path.exists(text):
        found = sorted(glob.glob(text))
        if not found:
            msg = (f"{text}: no file matches this pattern (check the folder and the pattern, e.g. "
                   "'embeddings/part-*.npy').")
            raise EmbeddingFileError(msg)
        return [Path(f) for f in found]
    p = Path(text)
    if p.is_dir() and not _is_zarr(p):
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in _SHARD_SUFFIXES)
        if not files:
            raise fail(p, f"is a folder with no embedding files ({', '.join(_SHARD_SUFFIXES)})")
        return files
    if not p.exists():
        raise fail(p, "no such file")
    return [p]


def _is_zarr(p: Path) -> bool:
    return p.is_dir() and (p.suffix.lower() == ".zarr" or (p / ".zarray").exists()
                           or (p / "zarr.json").exists() or (p / ".zgroup").exists())


class MappedRows:
    """Row slices of a 2-D array stored in a file (a ``.npy`` or safetensors region), for
    ``dask.array.from_array``.

    Dask copies array-like inputs that have a ``copy`` method (a whole-file read for a memory map) and
    pickles them into the graph it sends to a cluster (the whole file again). This object has no
    ``copy``, and it pickles as its file name, offset, dtype and shape. Each read returns the rows as
    an array of its own, read with ``readinto`` (a contiguous run of rows) or through a memory map that
    is closed again: no mapping outlives the read. A long-lived map would keep every page a worker has
    read in its resident set, which ``distributed`` counts against the worker's memory limit (it
    pauses, then stalls, once the pages it has read reach the limit).
    """

    def __init__(self, path: str, dtype: Any, shape: tuple[int, int], offset: int, fortran: bool = False) -> None:
        self.path, self.dtype, self.shape = str(path), np.dtype(dtype), (int(shape[0]), int(shape[1]))
        self.offset, self.fortran, self.ndim = int(offset), bool(fortran), 2

    @classmethod
    def of(cls, a: np.memmap) -> MappedRows | None:
        """The rows of an existing 2-D memory map (None when it is not a plain map of a whole file region)."""
        name = getattr(a, "filename", None)
        if name is None or a.ndim != 2 or not (a.flags.c_contiguous or a.flags.f_contiguous):
            return None
        base_offset = int(getattr(a, "offset", 0))
        return cls(name, a.dtype, a.shape, base_offset, fortran=not a.flags.c_contiguous)

    def __getitem__(self, index: Any) -> np.ndarray:
        rows = _row_run(index, self.shape) if not self.fortran else None
        if rows is not None:
            return self._read_rows(*rows)
        m = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape,
                      order="F" if self.fortran else "C")
        try:
            return np.array(m[index])
        finally:
            mapping = getattr(m, "_mmap", None)
            del m
            if mapping is not None:
                with contextlib.suppress(BufferError):  # a view still exported: the GC closes it
                    mapping.close()

    def _read_rows(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, self.shape[1]), dtype=self.dtype)
        view = out.reshape(-1).view(np.uint8).data
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.offset + start * self.shape[1] * self.dtype.itemsize)
            done = 0
            while done < view.nbytes:  # a read returns at most about 2 GiB on Linux
                got = f.readinto(view[done:])
                if not got:
                    msg = (f"{self.path} ended after {done:,} of the {view.nbytes:,} bytes of rows "
                           f"{start:,}-{stop:,}: was the file truncated while it was read?")
                    raise OSError(msg)
                done += got
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "dtype": self.dtype.str, "shape": self.shape, "offset": self.offset,
                "fortran": self.fortran}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], np.dtype(state["dtype"]), tuple(state["shape"]),  # type: ignore[misc]
                      state["offset"], state["fortran"])


def _row_run(index: Any, shape: tuple[int, int]) -> tuple[int, int] | None:
    """``(start, stop)`` when ``index`` selects a run of whole rows (a step-1 row slice, every column)."""
    parts = index if isinstance(index, tuple) else (index,)
    if len(parts) > 2 or not all(isinstance(p, slice) for p in parts):
        return None
    rows = parts[0]
    cols = parts[1] if len(parts) == 2 else slice(None)
    if rows.step not in (None, 1) or cols.indices(shape[1]) != (0, shape[1], 1):
        return None
    start, stop, _ = rows.indices(shape[0])
    return start, max(start, stop)


def lazy_rows(a: np.ndarray, *, chunk_rows: int | None = None, name: str | None = None) -> Any:
    """A NumPy array (a memory map: by file, without copying it) as a Dask array of row chunks."""
    import dask.array as da

    rows = _rows_per_chunk(int(a.shape[1]), a.dtype.itemsize, chunk_rows)
    source: Any = MappedRows.of(a) if isinstance(a, np.memmap) else None
    if source is None:
        return da.from_array(a, chunks=(rows, -1), name=name)
    return da.from_array(source, chunks=(rows, -1), name=name or f"gaussprobe-map-{_token(Path(source.path))}",
                         asarray=True, meta=np.empty((0, 0), dtype=a.dtype))


def _token(p: Path, *extra: Any) -> str:
    st = p.stat()
    text = "|".join(str(v) for v in (p.resolve(), st.st_size, st.st_mtime_ns, *extra))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _rows_per_chunk(d: int, itemsize: int, chunk_rows: int | None) -> int:
    if chunk_rows is not None:
        return int(chunk_rows)
    return max(1, CHUNK_BYTES // max(1, d * itemsize))


def _open_one(p: Path, *, key: str | None, column: str | None, format: str | None,
              chunk_rows: int | None) -> Any:

    from ._readers import read_npy, read_safetensors

    if _is_zarr(p):
        return _open_zarr(p, key, chunk_rows)
    if not p.is_file():
        raise fail(p, "is not a file")
    if p.stat().st_size == 0:
        raise fail(p, "is empty (0 bytes)")
    fmt = resolve_format(p, format)
    budget = memory_budget(None)
    if fmt == "npy":
        a = read_npy(p, None, True, budget)
        return lazy_rows(a, chunk_rows=chunk_rows, name=f"gaussprobe-npy-{_token(p)}")
    if fmt == "safetensors":
        a, chosen = read_safetensors(p, key, None, budget)
        return lazy_rows(a, chunk_rows=chunk_rows, name=f"gaussprobe-st-{_token(p, chosen)}")
    if fmt == "parquet":
        return _open_parquet(p, column if column is not None else key)
    from .io import read_embeddings

    a = read_embeddings(p, key=key, column=column, format=fmt).data
    return lazy_rows(a, chunk_rows=chunk_rows)


def _open_zarr(p: Path, key: str | None, chunk_rows: int | None) -> Any:
    from ._backend import optional_import

    optional_import("zarr")
    import dask.array as da

    try:
        x = da.from_zarr(str(p), component=key)
    except Exception as exc:  # noqa: BLE001 - zarr raises many types for bad stores
        raise fail(p, f"could not be opened as a zarr array ({type(exc).__name__}: {str(exc)[:200]}); "
                      "name the array inside a group with key=...") from None
    check_matrix(p, x, "the zarr array")
    if len(x.chunks[1]) > 1 or chunk_rows is not None:
        x = x.rechunk((_rows_per_chunk(x.shape[1], x.dtype.itemsize, chunk_rows), -1))
    return x


def _read_row_group(path: str, group: int, mode: str, cols: list[str]) -> np.ndarray:
    from ._backend import optional_import
    from ._readers import _fill_from_batch

    pa = optional_import("pyarrow")
    pq = optional_import("pyarrow.parquet")
    table = pq.ParquetFile(path).read_row_group(group, columns=cols)
    batch = table.combine_chunks().to_batches()[0] if table.num_rows else None
    if batch is None:
        raise fail(path, f"row group {group} is empty")
    return _fill_from_batch(Path(path), pa, None, batch, mode, cols, 0, batch.num_rows)


def _open_parquet(p: Path, column: str | None) -> Any:
    import dask
    import dask.array as da

    from ._backend import optional_import
    from ._readers import _plan_columns

    pa = optional_import("pyarrow")
    pq = optional_import("pyarrow.parquet")
    try:
        f = pq.ParquetFile(p)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for bad files
        raise fail(p, f"corrupt or unreadable parquet file ({type(exc).__name__}: {str(exc)[:200]})") from None
    mode, cols = _plan_columns(p, pa, f.schema_arrow, column)
    groups = [g for g in range(f.num_row_groups) if f.metadata.row_group(g).num_rows > 0]
    if not groups:
        raise fail(p, "contains no rows")
    first = _read_row_group(str(p), groups[0], mode, cols)  # the width and dtype (list columns)
    d, dtype = first.shape[1], first.dtype
    parts = [da.from_array(first, chunks=first.shape)]
    for g in groups[1:]:
        rows = f.metadata.row_group(g).num_rows
        block = dask.delayed(_read_row_group, pure=True)(str(p), g, mode, cols)
        parts.append(da.from_delayed(block, shape=(rows, d), dtype=dtype))
    return da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def open_embeddings(path: Any, /, *, key: str | None = None, column: str | None = None,
                    format: str | None = None, chunk_rows: int | None = None) -> Any:
    """Open embedding files lazily as one Dask array of shape ``(n_samples, n_features)``.

    Parameters
    ----------
    path : str, path-like, or a list of them
        A file (``.npy``, ``.safetensors``, ``.parquet``, a zarr store, or any format of
        :func:`~gaussprobe.io.load_embeddings`), a glob pattern such as ``"embeddings/part-*.npy"``, a
        folder (its embedding files, sorted by name), or a list of these. Shards are stacked along the
        rows in that order.
    key, column : str, optional
        As in :func:`~gaussprobe.io.load_embeddings` (the array of a zarr group is named by ``key``).
    format : str, optional
        Force a format instead of detecting it (every shard must then have it).
    chunk_rows : int, optional
        Rows per chunk (default: about 64 MiB of storage per chunk; Parquet keeps its row groups).

    Returns
    -------
    dask.array.Array
        Nothing is read beyond file headers (and the first row group of a Parquet file, for its width);
        :func:`~gaussprobe.analyze` and every statistic read it chunk by chunk.

    Raises
    ------
    EmbeddingFileError
        (a ``ValueError``) When nothing matches, a shard is missing, corrupt or holds pickled objects,
        or the shards do not have the same number of columns (the message names the shard).
    ImportError
        When Dask (``pip install 'gaussprobe[dask]'``), zarr or pyarrow is needed and missing.

    Examples
    --------
    >>> import numpy as np, tempfile, os, gaussprobe as gp
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     np.save(os.path.join(folder, f"part-{i}.npy"), np.ones((100 + i, 8), dtype=np.float32))
    >>> x = gp.open_embeddings(os.path.join(folder, "part-*.npy"))
    >>> print(x.shape, x.dtype, x.npartitions)
    (303, 8) float32 3
    """
    from ._backend import optional_import

    optional_import("dask.array")
    import dask.array as da

    if chunk_rows is not None and (isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int)
                                   or chunk_rows < 1):
        msg = f"`chunk_rows` must be a positive integer or None; got {chunk_rows!r}."
        raise ValueError(msg)
    files = expand_paths(path)
    parts = []
    width = None
    for f in files:
        a = _open_one(f, key=key, column=column, format=format, chunk_rows=chunk_rows)
        if a.ndim != 2:
            raise fail(f, f"holds an array of shape {tuple(a.shape)}; expected (n_samples, n_features)")
        if width is None:
            width, first = int(a.shape[1]), f
        elif int(a.shape[1]) != width:
            raise fail(f, f"has {int(a.shape[1])} columns but {first.name} has {width}; every shard must "
                          "hold embeddings of the same width")
        parts.append(a)
    x = parts[0] if len(parts) == 1 else da.concatenate(parts, axis=0)
    if any(math.isnan(c) for c in x.chunks[0]):  # pragma: no cover - every reader knows its row count
        x = x.compute_chunk_sizes()
    return x


__all__ = ["CHUNK_BYTES", "MappedRows", "expand_paths", "lazy_rows", "open_embeddings"]
