"""Row blocks and the in-memory row pass.

A :class:`Block` is a view of rows ``a:b`` of a validated input (:class:`~gaussprobe._validation.Embeddings`)
with the conversions states ask for made at most once per block: ``f64`` (float64, scaled; a view of
the storage when no cast or scale is needed, else an upcast into a per-thread buffer) and ``rows``
(the compute dtype). States read the block and never modify it, so every state of a fused pass sees
the same values.

:func:`local_row_pass` runs a list of states over all blocks of an in-memory input: NumPy input on
threads of single-threaded BLAS, each thread folding a contiguous run of blocks into fresh states
that are then merged in order; other namespaces (torch on CPU or CUDA) in one loop on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
from typing_extensions import Self

from .._backend import row_blocks
from .._kernels.gram import Scratch, parallel_map, split_range, worker_count
from .._typing import Array
from .._validation import Embeddings

S = TypeVar("S", bound="State")


class State(Protocol):
    """A mergeable one-pass state (see :mod:`gaussprobe._engine`)."""

    def fresh(self) -> Self:
        """An empty state with the same parameters."""

    def update(self, block: Block) -> Self:
        """Fold in the rows of ``block``; returns the state."""

    def merge(self, other: Self) -> Self:
        """Combine with another partial state (rows disjoint from this one's); returns the state."""

    def flop(self, n: int, d: int) -> float:
        """Rough work of a pass over ``n`` rows of ``d`` features (sets the thread count)."""


class Block:
    """Rows ``a:b`` of ``emb`` (its own row indices); ``start:stop`` are the same rows in the whole input
    (they differ when ``emb`` is one chunk of a larger, lazily read input)."""

    __slots__ = ("_f64", "_rows", "a", "b", "emb", "scratch", "start", "stop")

    def __init__(self, emb: Embeddings, a: int, b: int, offset: int = 0,
                 scratch: Scratch | None = None) -> None:
        self.emb = emb
        self.a, self.b = a, b
        self.start, self.stop = offset + a, offset + b
        self.scratch = scratch if scratch is not None else Scratch()
        self._f64: Array | None = None
        self._rows: Array | None = None

    @property
    def n_rows(self) -> int:
        return self.b - self.a

    @property
    def is_numpy(self) -> bool:
        return self.emb.is_numpy

    @property
    def xp(self) -> Any:
        return self.emb.xp

    @property
    def f64(self) -> Array:
        """The rows in float64, multiplied by the input's scale (read-only)."""
        if self._f64 is None:
            emb = self.emb
            if not emb.is_numpy:
                self._f64 = emb.rows64(self.a, self.b)
            else:
                src = emb.storage
                if emb.scale_exponent == 0 and src.dtype == np.float64 and src.flags.c_contiguous:
                    self._f64 = src[self.a:self.b]
                else:
                    buf = self.buffer("block.f64", (self.n_rows, emb.n_features))
                    self._f64 = emb.rows_into(self.a, self.b, buf)
        return self._f64

    @property
    def rows(self) -> Array:
        """The rows in the compute dtype, multiplied by the input's scale (read-only)."""
        if self._rows is None:
            self._rows = self.f64 if self.emb.dtype == "float64" else self.emb.rows(self.a, self.b)
        return self._rows

    def into(self, out: np.ndarray, *, subtract: Any = None) -> np.ndarray:
        """Write the scaled rows (minus ``subtract``) into the NumPy buffer ``out`` (its dtype)."""
        return self.emb.rows_into(self.a, self.b, out, subtract=subtract)

    def buffer(self, name: str, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
        """A per-thread reusable NumPy buffer (its contents are undefined)."""
        size = 1
        for s in shape:
            size *= int(s)
        return self.scratch.get(name, size, dtype)[:size].reshape(shape)


def default_block_rows(d: int) -> int:
    """Rows per block of a fused row pass: 16 MiB of float64 rows, at most 8192 rows."""
    from ..stats._moments import pass_rows

    return pass_rows(d)


def local_row_pass(emb: Embeddings, states: Sequence[Any], *, block_size: int | None = None,
                   offset: int = 0, threads: int | None = None) -> list[Any]:
    """Fold every row of ``emb`` into fresh copies of ``states``; returns the merged states.

    ``offset`` is the index of ``emb``'s first row in the whole input (a chunk of a lazy input).
    ``threads`` defaults to :func:`~gaussprobe._kernels.gram.worker_count` of the states' work for
    NumPy input (1 inside a Dask task, where Dask runs the chunks in parallel).
    """
    n, d = emb.n_samples, emb.n_features
    bs = max(1, min(block_size or default_block_rows(d), max(n, 1)))
    blocks = list(row_blocks(n, bs))
    if not blocks:
        return [s.fresh() for s in states]
    if not emb.is_numpy:
        local = [s.fresh() for s in states]
        scratch = Scratch()
        for a, b in blocks:
            blk = Block(emb, a, b, offset, scratch)
            for s in local:
                s.update(blk)
        return local
    if threads is None:
        threads = worker_count(sum(float(s.flop(n, d)) for s in states))

    def part(chunk: range) -> list[Any]:
        local = [s.fresh() for s in states]
        scratch = Scratch()
        for i in chunk:
            blk = Block(emb, *blocks[i], offset, scratch)
            for s in local:
                s.update(blk)
        return local

    parts = parallel_map(part, split_range(len(blocks), threads), threads)
    merged = parts[0]
    for p in parts[1:]:
        merged = [a.merge(b) for a, b in zip(merged, p, strict=True)]
    return merged


__all__ = ["Block", "State", "default_block_rows", "local_row_pass"]
