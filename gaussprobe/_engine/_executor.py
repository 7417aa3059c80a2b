"""The executor: how the passes of one call run, resolved once per call.

``Executor(kind="local")`` runs row passes on the input's own device (NumPy threads of
single-threaded BLAS, or one loop on a torch device); ``Executor(kind="dask")`` maps every row chunk
of a Dask array to a task that runs the same states and merges their results by a tree reduction, on
whatever scheduler is active (Dask's threads by default; a ``distributed.Client`` when one exists).
Column passes and tile passes go through the same object (see :mod:`._columns`), so statistics never
choose between them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .._validation import Embeddings
from ._rows import local_row_pass

#: Environment variable naming the folder for spilled columns (default: the system's temporary folder).
SPILL_ENV = "GAUSSPROBE_TMPDIR"
#: Projections larger than this (bytes) are spilled to a temporary folder instead of held in memory.
PROJECTIONS_IN_MEMORY_BYTES = 2**30


def projections_in_memory() -> float:
    """Bytes of projections held in memory: :data:`PROJECTIONS_IN_MEMORY_BYTES`, or a quarter of the
    memory budget when that is smaller."""
    from .._budget import memory_budget

    return min(float(PROJECTIONS_IN_MEMORY_BYTES), memory_budget() / 4)


@dataclasses.dataclass(frozen=True)
class Executor:
    """Where and how the passes of one call run.

    Attributes
    ----------
    kind : {"local", "dask"}
        ``"local"``: the data are in memory (NumPy, torch CPU or CUDA); ``"dask"``: a lazy Dask array.
    block_size : int or None
        Rows per block of the row passes (None: :func:`~._rows.default_block_rows`).
    """

    kind: str = "local"
    block_size: int | None = None

    def row_pass(self, emb: Embeddings, states: Sequence[Any], *,
                 block_size: int | None = None) -> list[Any]:
        """Fold every row of ``emb`` into ``states`` (one read of the data); the merged states."""
        bs = block_size or self.block_size
        active = [s for s in states if not _is_lazy_projector(s)]
        done = iter(self._row_pass(emb, active, bs) if active else [])
        return [s if _is_lazy_projector(s) else next(done) for s in states]

    def _row_pass(self, emb: Embeddings, states: Sequence[Any], bs: int | None) -> list[Any]:
        if self.kind == "dask":
            from ._dask import dask_row_pass

            return dask_row_pass(emb, states, block_size=bs)
        return local_row_pass(emb, states, block_size=bs)

    def local_pass(self, emb: Embeddings, states: Sequence[Any], *,
                   block_size: int | None = None) -> list[Any]:
        """A row pass whose states write into arrays of this process (sinks in memory): a lazy input
        is read chunk by chunk here instead of in Dask tasks."""
        bs = block_size or self.block_size
        if self.kind == "dask":
            from ._dask import dask_local_pass

            return dask_local_pass(emb, states, block_size=bs)
        return local_row_pass(emb, states, block_size=bs)

    def whitened_rows(self, emb: Embeddings, state: Any) -> None:
        """Run a :class:`~._states.WhitenedRows` state (its outputs are arrays in memory, which the
        tile statistics read whole)."""
        self.local_pass(emb, [state])

    def data_column_sink(self, emb: Embeddings, *, width: int) -> Any:
        """Where a row pass spills the data's columns for :meth:`data_column_tests` (a lazy input on the
        spill route: ``.npy`` files of ``width`` columns in the storage dtype), else None."""
        if self.kind != "dask":
            return None
        from ._dask import column_route, new_file_sink

        if column_route() != "spill":
            return None
        return new_file_sink(emb, "columns", emb.n_features, width, str(emb.storage.dtype))

    def data_column_tests(self, emb: Embeddings, *, block_size: int,
                          cell_means: tuple[Any, float] | None = None, sink: Any = None,
                          order_points: int | None = None) -> Any:
        """The column kernels (:func:`~gaussprobe.stats.univariate.univariate_tests`) on every column
        of the data, ``block_size`` columns at a time (from ``sink`` when a row pass already spilled
        them: see :meth:`data_column_sink`)."""
        if self.kind == "dask":
            from ._dask import dask_column_tests, dask_data_column_tests

            if sink is not None:
                return dask_column_tests(sink.columns(scale_exponent=emb.scale_exponent, dtype=emb.float),
                                         dtype=emb.float, block_size=sink.width, order_points=order_points)
            return dask_data_column_tests(emb, block_size=block_size, order_points=order_points)
        from ._columns import DataColumns

        return self.column_tests(DataColumns(emb), dtype=emb.float, block_size=block_size,
                                 cell_means=cell_means, order_points=order_points)

    def projection_sink(self, emb: Embeddings, k: int, *, width: int) -> Any:
        """Where a row pass writes the ``(n, k)`` projections: an array in memory when it fits
        :data:`PROJECTIONS_IN_MEMORY` (and the input is not lazy), else ``.npy`` files of ``width``
        columns in a temporary folder (file pages, not process memory; :meth:`release` deletes them)."""
        from ._states import ArraySink

        nbytes = float(emb.n_samples) * k * emb.float_itemsize
        if not emb.is_lazy and nbytes <= projections_in_memory():
            out = emb.xp.empty((emb.n_samples, k), dtype=emb.float, device=emb.device)
            return ArraySink(out)
        if emb.is_lazy:
            from ._dask import column_route

            if column_route() == "rechunk":
                return LazyProjections(emb=emb)
        from ._dask import new_file_sink

        return new_file_sink(emb, "projections", k, width, "float64" if emb.dtype == "float64" else "float32")

    def sink_column_tests(self, sink: Any, *, dtype: Any, block_size: int,
                          cell_means: tuple[Any, float] | None = None,
                          order_points: int | None = None) -> Any:
        """The column kernels on the columns a row pass wrote into ``sink``."""
        from ._columns import ArrayColumns, FileSink

        if isinstance(sink, LazyProjections):
            from ._dask import dask_projection_column_tests

            return dask_projection_column_tests(sink.emb, sink.directions, block_size=block_size,
                                                cell_means=cell_means, order_points=order_points)
        if isinstance(sink, FileSink):
            if self.kind == "dask":
                from ._dask import dask_column_tests

                return dask_column_tests(sink.columns(), dtype=dtype, block_size=sink.width,
                                         cell_means=cell_means, order_points=order_points)
            return self.column_tests(sink.columns(), dtype=dtype, block_size=sink.width,
                                     cell_means=cell_means, order_points=order_points)
        return self.column_tests(ArrayColumns(sink.out), dtype=dtype, block_size=block_size,
                                 cell_means=cell_means, order_points=order_points)

    @staticmethod
    def release(sink: Any) -> None:
        """Delete what a sink spilled to disk (nothing for a sink in memory)."""
        from ._columns import FileSink

        if isinstance(sink, FileSink):
            from ._dask import release

            release(sink)

    def projection_tests(self, emb: Embeddings, directions: Any, *, block_size: int | None,
                         cell_means: tuple[Any, float] | None = None,
                         order_points: int | None = None) -> Any:
        """Project ``emb`` onto the host ``directions`` (one row pass) and run the column kernels on
        the projections; nothing ``n × k`` stays in memory beyond :data:`PROJECTIONS_IN_MEMORY`."""
        from ..stats.univariate import default_columns_per_block
        from ._states import Projector

        k = int(directions.shape[1])
        cols = block_size or default_columns_per_block(emb.xp, emb.n_samples, k, emb.device)
        sink = self.projection_sink(emb, k, width=cols)
        try:
            self.row_pass(emb, [Projector(directions=directions, sink=sink)])
            cells = None
            if cell_means is not None:
                cells = (self.column_array(emb, cell_means[0]), cell_means[1])
            return self.sink_column_tests(sink, dtype=emb.float, block_size=cols, cell_means=cells,
                                          order_points=order_points)
        finally:
            self.release(sink)

    def column_array(self, emb: Embeddings, values: Any) -> Any:
        """A host vector moved where the column kernels run (the input's device; the host when lazy)."""
        import numpy as np

        if emb.is_lazy:
            return np.asarray(values, dtype=np.float64 if emb.dtype == "float64" else np.float32)
        return emb.asarray(values)

    def column_tests(self, columns: Any, *, dtype: Any, block_size: int,
                     cell_means: tuple[Any, float] | None = None, order_points: int | None = None) -> Any:
        """The column kernels on the columns of a column source (:mod:`._columns`)."""
        from ..stats.univariate import univariate_tests

        return univariate_tests(columns.xp, columns.block, columns.n_columns, columns.n_rows,
                                dtype=dtype, block_size=block_size, cell_means=cell_means,
                                order_points=order_points)


@dataclasses.dataclass
class LazyProjections:
    """The projections of a lazy input on the rechunk route: not written by a row pass, but computed by
    Dask block by block and rechunked to whole columns when the column pass runs."""

    emb: Embeddings
    directions: Any = None

    def rows(self, start: int, stop: int) -> None:
        return None

    def write(self, start: int, stop: int, values: Any) -> None:  # pragma: no cover - never called
        msg = "the rechunk route computes the projections in the column pass"
        raise RuntimeError(msg)


def _is_lazy_projector(state: Any) -> bool:
    from ._states import Projector

    if isinstance(state, Projector) and isinstance(state.sink, LazyProjections):
        state.sink.directions = state.directions
        return True
    return False


def executor_for(emb: Embeddings, *, block_size: int | None = None) -> Executor:
    """The executor of a validated input: Dask for a lazy input, local otherwise."""
    return Executor(kind="dask" if emb.is_lazy else "local", block_size=block_size)


__all__ = ["Executor", "executor_for"]
