"""Column sources: whole columns of the data, or of its projections, read in blocks.

The sorted-column statistics (Anderson–Darling, the moments behind D'Agostino–Pearson, the sliced
distance's per-direction values) need every value of a column at once. A *column source* gives
``block(a, b)``, an ``(n, b - a)`` array of columns ``a:b``:

* :class:`DataColumns` — columns of an in-memory input (a strided view of the caller's array, scaled
  only when the input needs it);
* :class:`ArrayColumns` — columns of an array the engine made (projections held in memory);
* :class:`FileColumns` — columns spilled to a temporary folder by a row pass over a lazy input (one
  ``.npy`` file per block of columns, written row range by row range, read once);

and Dask arrays go through :func:`gaussprobe._engine._dask.dask_univariate` (the spill, or Dask's
rechunk on a distributed cluster). Every route runs the same column kernels on the same columns, so
the statistics are identical whatever the route.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any

import numpy as np

from .._typing import Array
from .._validation import Embeddings


@dataclasses.dataclass(frozen=True)
class DataColumns:
    """Columns of an in-memory validated input."""

    emb: Embeddings

    @property
    def n_rows(self) -> int:
        return self.emb.n_samples

    @property
    def n_columns(self) -> int:
        return self.emb.n_features

    @property
    def xp(self) -> Any:
        return self.emb.xp

    def block(self, a: int, b: int) -> Array:
        emb = self.emb
        if not emb.scale_exponent and not emb.is_lazy:
            return emb.storage[:, a:b]  # the kernels cast one sorted copy themselves
        return emb.cols(a, b)


@dataclasses.dataclass(frozen=True)
class ArrayColumns:
    """Columns of an ``(n, k)`` array in memory (NumPy or the input's namespace)."""

    values: Array

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_columns(self) -> int:
        return int(self.values.shape[1])

    @property
    def xp(self) -> Any:
        import array_api_compat

        return array_api_compat.array_namespace(self.values)

    def block(self, a: int, b: int) -> Array:
        return self.values[:, a:b]


@dataclasses.dataclass
class FileSink:
    """Per-row outputs of a row pass spilled to ``.npy`` files, one per block of ``width`` columns.

    ``rows(start, stop)`` is not available (the outputs of a block are split over files); ``write``
    puts columns ``j*width:(j+1)*width`` of rows ``start:stop`` into file ``j``: those rows are one
    contiguous run of the file's C-ordered data, written with one positioned write. Files are created
    once by :meth:`create` (on the machine that reads them), so tasks in other processes of the same
    machine can write their row ranges. No memory map is held while writing: a writable map kept for
    the pass would keep every page written in the writer's resident set, which ``distributed`` counts
    against a worker's memory limit.
    """

    folder: str
    prefix: str
    n_rows: int
    n_columns: int
    width: int
    dtype: str
    offsets: tuple[int, ...] = ()

    def create(self) -> FileSink:
        offsets = []
        for j, (a, b) in enumerate(self.spans()):
            m = np.lib.format.open_memmap(self.path(j), mode="w+", dtype=np.dtype(self.dtype),
                                          shape=(self.n_rows, b - a))
            offsets.append(int(m.offset))
            m.flush()
            del m
        self.offsets = tuple(offsets)
        return self

    def spans(self) -> list[tuple[int, int]]:
        return [(a, min(a + self.width, self.n_columns)) for a in range(0, self.n_columns, self.width)]

    def path(self, j: int) -> str:
        return os.path.join(self.folder, f"{self.prefix}-{j:05d}.npy")

    def rows(self, start: int, stop: int) -> None:
        return None

    def write(self, start: int, stop: int, values: Array) -> None:
        v = np.asarray(values)
        dtype = np.dtype(self.dtype)
        for j, (a, b) in enumerate(self.spans()):
            part = np.ascontiguousarray(v[:, a:b], dtype=dtype)
            _write_at(self.path(j), self.offsets[j] + start * (b - a) * dtype.itemsize, part)

    def columns(self, *, scale_exponent: int = 0, dtype: Any = None) -> FileColumns:
        """The files as a column source; ``scale_exponent`` and ``dtype``: the raw values written are
        cast and scaled on reading, as :meth:`Embeddings.cols` does (only when the scale is not 1)."""
        return FileColumns(self, scale_exponent, dtype)


_OPEN: dict[str, int] = {}
_OPEN_LOCK = threading.Lock()


def _write_at(path: str, offset: int, values: np.ndarray) -> None:
    """Write ``values``'s bytes at ``offset`` of a spill file, through a file descriptor opened once
    per process (positioned writes from several threads need no lock)."""
    fd = _OPEN.get(path)
    if fd is None:
        with _OPEN_LOCK:
            fd = _OPEN.get(path)
            if fd is None:
                fd = _OPEN[path] = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    view = values.reshape(-1).view(np.uint8).data
    done = 0
    while done < view.nbytes:
        if hasattr(os, "pwrite"):
            done += os.pwrite(fd, view[done:], offset + done)
        else:  # pragma: no cover - platforms without pwrite: seek and write under the lock
            with _OPEN_LOCK:
                os.lseek(fd, offset + done, os.SEEK_SET)
                done += os.write(fd, view[done:])


def close_spill(folder: str) -> None:
    """Close this process's file descriptors of the spill files in ``folder``."""
    with _OPEN_LOCK:
        for path in [p for p in _OPEN if os.path.dirname(p) == folder]:
            os.close(_OPEN.pop(path))


@dataclasses.dataclass(frozen=True)
class FileColumns:
    """Columns read back from a :class:`FileSink` (blocks must lie within one file)."""

    sink: FileSink
    scale_exponent: int = 0
    dtype: Any = None

    @property
    def n_rows(self) -> int:
        return self.sink.n_rows

    @property
    def n_columns(self) -> int:
        return self.sink.n_columns

    @property
    def xp(self) -> Any:
        import array_api_compat

        return array_api_compat.array_namespace(np.empty(0))

    def block(self, a: int, b: int) -> Array:
        w = self.sink.width
        j = a // w
        if b > (j + 1) * w:
            msg = f"column block {a}:{b} crosses a file of {w} columns."
            raise ValueError(msg)
        values = np.load(self.sink.path(j), mmap_mode="r")[:, a - j * w: b - j * w]
        if not self.scale_exponent:
            return values
        emb = Embeddings(data=np.asarray(values), xp=self.xp, device="cpu", backend="numpy",
                         dtype="float64" if self.dtype == np.float64 else "float32",
                         scale_exponent=self.scale_exponent)
        return emb.full()


__all__ = ["ArrayColumns", "DataColumns", "FileColumns", "FileSink"]
