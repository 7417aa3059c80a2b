"""Dask execution of the passes: lazy inputs, read chunk by chunk, never whole.

* **Row passes** (:func:`dask_row_pass`): every row chunk of the array is one task that folds its rows
  into fresh copies of the states (the same in-memory code as a NumPy input, one thread per task); the
  partial states are merged by a binary tree of tasks. The states' parameters travel once per graph.
  Runs on whatever scheduler is active: Dask's threads by default, a ``distributed.Client`` when one is.
* **Column passes** need whole columns. Two routes, chosen by :func:`column_route`:

  - ``"spill"``: one row pass writes the columns (of the data, or of its projections) to ``.npy`` files
    of a few columns each in a temporary folder (``GAUSSPROBE_TMPDIR``, else the system's), then one task
    per file runs the column kernels. Reads of the data: one. The files live on the machine running the
    tasks, so this route is for the threaded scheduler and for clusters on one machine (or a shared folder).
  - ``"rechunk"``: Dask's own rechunk to blocks of whole columns (the peer-to-peer method of
    ``distributed`` when a client is active), then one task per block. For clusters of several machines.

* **Sinks in memory** (whitened rows for the tile statistics, rows gathered on the host):
  :func:`dask_local_pass` reads the chunks on this process, one after another.

Nothing here is imported unless the input is a Dask array.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import Embeddings
from ._rows import local_row_pass

#: Environment variable choosing the column route ("spill", "rechunk"; default "auto").
ROUTE_ENV = "GAUSSPROBE_COLUMN_ROUTE"


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a ``dask.array.Array`` (without importing Dask)."""
    return type(x).__module__.startswith("dask.array") and hasattr(x, "chunks") and hasattr(x, "dask")


def _row_chunked(x: Any) -> Any:
    """``x`` with one chunk along the columns (rows are the unit of every task)."""
    if len(x.chunks[1]) > 1:
        x = x.rechunk({1: -1})
    return x


def _offsets(x: Any) -> list[int]:
    starts = [0]
    for c in x.chunks[0][:-1]:
        starts.append(starts[-1] + int(c))
    return starts


def _chunk_states(block: np.ndarray, offset: int, states: Sequence[Any], dtype: str, scale_exponent: int,
                  block_size: int | None) -> list[Any]:
    """One task: the states of the rows of one chunk (the same code as an in-memory NumPy input)."""
    from .._validation import Embeddings

    block = np.asarray(block)
    emb = Embeddings(data=block, xp=_numpy_namespace(), device="cpu", dtype=dtype, backend="numpy",  # type: ignore[arg-type]
                     scale_exponent=scale_exponent)
    return local_row_pass(emb, states, block_size=block_size, offset=offset, threads=1)


def _merge(a: list[Any], b: list[Any]) -> list[Any]:
    return [x.merge(y) for x, y in zip(a, b, strict=True)]


def _numpy_namespace() -> Any:
    import array_api_compat

    return array_api_compat.array_namespace(np.empty(0))


def _tree_merge(parts: list[Any]) -> Any:
    import dask

    while len(parts) > 1:
        nxt = [dask.delayed(_merge, pure=True)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def dask_row_pass(emb: Embeddings, states: Sequence[Any], *, block_size: int | None = None) -> list[Any]:
    """Fold every row of the lazy input into ``states``: a task per row chunk, a tree of merges."""
    import dask

    x = _row_chunked(emb.storage)
    params = dask.delayed(list(states), pure=True)  # sent once per graph, not once per task
    blocks = x.to_delayed().ravel()
    parts = [dask.delayed(_chunk_states, pure=True)(blk, off, params, emb.dtype, emb.scale_exponent,
                                                    block_size)
             for blk, off in zip(blocks, _offsets(x), strict=True)]
    with _chunk_progress(len(parts)):
        (merged,) = dask.compute(_tree_merge(parts))
    return list(merged)


@contextlib.contextmanager
def _chunk_progress(total: int) -> Any:
    """A progress step counting the row chunks done (on Dask's local schedulers; on a ``distributed``
    cluster the step shows its elapsed time)."""
    from .. import _progress

    with _progress.step("row chunks", total=total, unit="chunk") as bar:
        if not _progress.active() or _active_client() is not None:
            yield
            return
        from dask.callbacks import Callback

        def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            name = key[0] if isinstance(key, tuple) else key
            if str(name).startswith("_chunk_states"):
                bar.advance()

        with Callback(posttask=posttask):
            yield


def dask_local_pass(emb: Embeddings, states: Sequence[Any], *, block_size: int | None = None) -> list[Any]:
    """Fold every row into ``states`` on this process (for states that write into its memory): the
    chunks are computed one after another, each folded with the in-memory NumPy code."""
    x = _row_chunked(emb.storage)
    merged: list[Any] | None = None
    for i, off in enumerate(_offsets(x)):
        block = np.asarray(x.blocks[i].compute())
        part = local_row_pass(emb.chunk(block), states, block_size=block_size, offset=off)
        merged = part if merged is None else _merge(merged, part)
    return merged if merged is not None else [s.fresh() for s in states]


# ------------------------------------------------------------------------------------ column passes
def column_route() -> str:
    """``"spill"`` or ``"rechunk"``: ``GAUSSPROBE_COLUMN_ROUTE`` when set, else ``"rechunk"`` when a
    ``distributed`` client with workers on another machine is active, else ``"spill"``."""
    route = os.environ.get(ROUTE_ENV, "auto").strip().lower()
    if route in {"spill", "rechunk"}:
        return route
    if route != "auto":
        msg = f"{ROUTE_ENV} must be 'auto', 'spill' or 'rechunk'; got {route!r}."
        raise ValueError(msg)
    client = _active_client()
    if client is None:
        return "spill"
    try:
        hosts = {str(addr).split("://")[-1].rsplit(":", 1)[0]
                 for addr in client.scheduler_info().get("workers", {})}
    except Exception:  # noqa: BLE001 - an unreachable scheduler: the conservative route
        return "rechunk"
    local = {"127.0.0.1", "localhost", "::1", "[::1]"}
    try:
        import socket

        local |= {socket.gethostname(), socket.gethostbyname(socket.gethostname())}
    except OSError:  # pragma: no cover - no resolver
        pass
    return "spill" if hosts and hosts <= local else "rechunk"


def _active_client() -> Any:
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _column_task(columns: Any, a: int, b: int, dtype: Any, cell_means: Any, order_points: Any) -> Any:
    """One task of a column pass: the column kernels on columns ``a:b`` of a column source."""
    return _column_array_task(np.asarray(columns.block(a, b)), dtype, cell_means, order_points)


def _stack_tests(parts: list[Any]) -> Any:
    """One :class:`~gaussprobe.stats.univariate.UnivariateTests` from the tests of column blocks."""
    from ..stats.univariate import UnivariateTests

    fields = {}
    for name in UnivariateTests._fields:
        values = [getattr(p, name) for p in parts]
        fields[name] = None if values[0] is None else np.concatenate(values, axis=0)
    return UnivariateTests(**fields)  # type: ignore[arg-type]


def dask_column_tests(columns: Any, *, dtype: Any, block_size: int,
                      cell_means: tuple[Any, float] | None = None, order_points: int | None = None) -> Any:
    """The column kernels on a column source, one task per block of ``block_size`` columns."""
    import dask

    spans = [(a, min(a + block_size, columns.n_columns)) for a in range(0, columns.n_columns, block_size)]
    tasks = [dask.delayed(_column_task, pure=True)(columns, a, b, dtype, cell_means, order_points)
             for a, b in spans]
    return _stack_tests(list(dask.compute(*tasks)))


def _rechunk(x: Any, cols: int) -> Any:
    target = (x.shape[0], cols)
    if _active_client() is not None:
        try:
            return x.rechunk(target, method="p2p")
        except (TypeError, ValueError, ImportError):  # pragma: no cover - an older Dask
            pass
    return x.rechunk(target)


def _rechunk_column_tests(x: Any, *, dtype: Any, block_size: int, cell_means: Any,
                          prepare: Any = None, order_points: int | None = None) -> Any:
    """The column kernels on the columns of a Dask array through Dask's rechunk (one task per block)."""
    import dask

    y = x if prepare is None else x.map_blocks(prepare, dtype=np.float64 if dtype == np.float64 else np.float32)
    y = _rechunk(y, block_size)
    tasks = [dask.delayed(_column_array_task, pure=True)(blk, dtype, cell_means, order_points)
             for blk in y.to_delayed().ravel()]
    return _stack_tests(list(dask.compute(*tasks)))


def _column_array_task(block: np.ndarray, dtype: Any, cell_means: Any, order_points: Any = None) -> Any:
    """The column kernels on an in-memory block of whole columns (one thread: Dask runs the blocks
    in parallel)."""
    from ..stats.univariate import univariate_tests

    block = np.asarray(block)
    m = block.shape[1]
    return univariate_tests(_numpy_namespace(), lambda i, j: block[:, i:j], m, block.shape[0], dtype=dtype,
                            block_size=m, cell_means=cell_means, order_points=order_points)


class _Scaled:
    """Block map of the rechunk route: the storage values cast to the compute dtype and scaled."""

    def __init__(self, dtype: Any, scale_exponent: int, directions: np.ndarray | None = None) -> None:
        self.dtype, self.scale_exponent, self.directions = dtype, scale_exponent, directions

    def __call__(self, block: np.ndarray) -> np.ndarray:
        emb = Embeddings(data=np.asarray(block), xp=_numpy_namespace(), device="cpu", backend="numpy",
                         dtype="float64" if self.dtype == np.float64 else "float32",
                         scale_exponent=self.scale_exponent)
        rows = emb.rows(0, emb.n_samples)
        if self.directions is None:
            return np.asarray(rows)
        return np.asarray(rows @ emb.asarray(self.directions))


def dask_data_column_tests(emb: Embeddings, *, block_size: int, order_points: int | None = None) -> Any:
    """The column kernels on every column of a lazy input (the per-coordinate tests)."""
    from ._states import ColumnWriter

    if column_route() == "rechunk":
        prepare = _Scaled(emb.float, emb.scale_exponent) if emb.scale_exponent else None
        x = _row_chunked(emb.storage)
        return _rechunk_column_tests(x, dtype=emb.float, block_size=block_size, cell_means=None,
                                     prepare=prepare, order_points=order_points)
    sink = new_file_sink(emb, "columns", emb.n_features, block_size, str(emb.storage.dtype))
    try:
        dask_row_pass(emb, [ColumnWriter(sink=sink)])
        return dask_column_tests(sink.columns(scale_exponent=emb.scale_exponent, dtype=emb.float),
                                 dtype=emb.float, block_size=block_size, order_points=order_points)
    finally:
        release(sink)


def dask_projection_column_tests(emb: Embeddings, directions: np.ndarray, *, block_size: int,
                                 cell_means: tuple[Any, float] | None,
                                 order_points: int | None = None) -> Any:
    """The column kernels on the projections ``x @ U`` of a lazy input, by the rechunk route."""
    x = _row_chunked(emb.storage)
    return _rechunk_column_tests(x, dtype=emb.float, block_size=block_size, cell_means=cell_means,
                                 prepare=_Scaled(emb.float, emb.scale_exponent, directions),
                                 order_points=order_points)


# -------------------------------------------------------------------------------------- tile passes
def _tile_task(yr: np.ndarray, yc: np.ndarray | None, reducer: Any, rows: tuple[int, int],
               cols: tuple[int, int]) -> float:
    from .._kernels.gram import Scratch, single_threaded_blas, tile_value

    with single_threaded_blas():
        return tile_value(np.ascontiguousarray(yr), None if yc is None else np.ascontiguousarray(yc),
                          reducer, Scratch(), rows, cols)


def dask_tile_values(y: np.ndarray, reducer: Any, tiles: list[tuple[tuple[int, int], tuple[int, int]]]
                     ) -> np.ndarray:
    """One task per tile ``i <= j`` of ``y yᵀ`` (the blocks of ``y`` and the reducer travel once each):
    the tile pass of Mardia's skewness, Henze–Zirkler and the energy statistic on a cluster."""
    import dask

    spans = sorted({r for r, _ in tiles})
    blocks = {s: dask.delayed(y[s[0]:s[1]], pure=True) for s in spans}
    red = dask.delayed(reducer, pure=True)
    tasks = [dask.delayed(_tile_task, pure=True)(blocks[r], None if r == c else blocks[c], red, r, c)
             for r, c in tiles]
    return np.asarray(dask.compute(*tasks), dtype=np.float64)


def new_file_sink(emb: Embeddings, prefix: str, k: int, width: int, dtype: str) -> Any:
    """A :class:`~._columns.FileSink` of ``k`` columns in a new temporary folder (created here)."""
    import shutil
    import tempfile

    from ._columns import FileSink
    from ._executor import SPILL_ENV

    parent = os.environ.get(SPILL_ENV) or tempfile.gettempdir()
    need = float(emb.n_samples) * k * np.dtype(dtype).itemsize
    free = float(shutil.disk_usage(parent).free)
    if need > free - 2**30:  # keep a GiB for everything else
        msg = (f"spilling {k} columns of {emb.n_samples:,} rows ({_gib(need)}) for the column pass needs "
               f"that much temporary disk space, but {parent} has {_gib(free)} free. Point {SPILL_ENV} at a "
               f"folder with more space, or set {ROUTE_ENV}=rechunk on a distributed cluster.")
        raise OSError(msg)
    folder = tempfile.mkdtemp(prefix="gaussprobe-", dir=parent)
    return FileSink(folder=folder, prefix=prefix, n_rows=emb.n_samples, n_columns=k, width=max(1, width),
                    dtype=dtype).create()


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


def release(sink: Any) -> None:
    """Delete a spill folder, after the processes that wrote it (this one, the workers of an active
    ``distributed`` client) have closed their files."""
    import shutil

    from ._columns import close_spill

    close_spill(sink.folder)
    client = _active_client()
    if client is not None:
        with contextlib.suppress(Exception):  # a worker that is gone holds no file
            client.run(close_spill, sink.folder)
    shutil.rmtree(sink.folder, ignore_errors=True)


__all__ = [
    "ROUTE_ENV",
    "column_route",
    "dask_column_tests",
    "dask_data_column_tests",
    "dask_local_pass",
    "dask_projection_column_tests",
    "dask_row_pass",
    "is_dask_array",
]
