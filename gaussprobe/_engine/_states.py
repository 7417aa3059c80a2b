"""The mergeable row states of the pass engine.

Every state is a small dataclass with ``fresh()``, ``update(block)``, ``merge(other)`` and
``result()``; its parameters (a shift, a mean, directions, a transform) are host NumPy arrays or
arrays on the input's device, fixed when the state is built, and its accumulators are ``O(d²)`` or
less — except the *collecting* states (:class:`RowValues`, :class:`FoldProjections`), which keep one or a
few numbers per row (``n_features`` times less than the data), and the *sinks*, which write per-row
outputs (projections, whitened rows) into memory or a file instead of keeping them.

Each state opens with the array-type dispatch (a NumPy fast path writing into per-thread buffers, then
the generic array-namespace body for torch and other libraries); statistic modules never test array
types.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._backend import to_numpy
from .._typing import Array
from ._rows import Block


# --------------------------------------------------------------------------------- second moments
@dataclasses.dataclass
class SecondMoments:
    """``n``, ``Σ (x - s)`` and ``Σ (x - s)(x - s)ᵀ`` about a fixed shift ``s`` (float64).

    The shift is chosen once before the pass (:func:`spread_shift`: the mean of up to 4096 rows spread
    over the input), so ``Σ (x - s)(x - s)ᵀ - n (μ - s)(μ - s)ᵀ`` loses nothing to cancellation whatever
    the order of the rows, and two states with the same shift merge by plain addition (no per-block
    d × d merges). ``products=False`` keeps only the sums (the mean).
    """

    shift: Array
    products: bool = True
    n: int = 0
    total: Any = None
    acc: Any = None

    def fresh(self) -> SecondMoments:
        return SecondMoments(shift=self.shift, products=self.products)

    def flop(self, n: int, d: int) -> float:
        return 2.0 * n * d * (d if self.products else 1)

    def update(self, block: Any) -> SecondMoments:
        m = block.n_rows
        if m == 0:
            return self
        d = int(self.shift.shape[0])
        if block.is_numpy:
            c = block.buffer("moments.c", (m, d))
            np.subtract(block.f64, self.shift, out=c)
            if self.total is None:
                self.total = np.zeros(d)
                self.acc = np.zeros((d, d)) if self.products else None
            self.total += c.sum(axis=0)
            if self.products:
                gram = block.buffer("moments.gram", (d, d))
                np.matmul(c.T, c, out=gram)  # NumPy takes cᵀc as a SYRK and releases the GIL
                self.acc += gram
        else:
            xp = block.xp
            c = block.f64 - self.shift
            s = xp.sum(c, axis=0)
            self.total = s if self.total is None else self.total + s
            if self.products:
                g = c.T @ c
                self.acc = g if self.acc is None else self.acc + g
        self.n += m
        return self

    def merge(self, other: SecondMoments) -> SecondMoments:
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.total, self.acc = other.n, other.total, other.acc
            return self
        self.n += other.n
        self.total = self.total + other.total
        if self.products:
            self.acc = self.acc + other.acc
        return self

    def result(self) -> Any:
        """A :class:`~gaussprobe.stats._moments.CovarianceState` (mean and centred ``M2``)."""
        from ..stats._moments import CovarianceState

        if self.n == 0:
            msg = "the moments state is empty: no rows were folded in."
            raise ValueError(msg)
        delta = self.total / self.n
        mean = self.shift + delta
        if not self.products:
            return CovarianceState(n=self.n, mean=mean, m2=None)
        if isinstance(self.acc, np.ndarray):
            m2 = self.acc.copy()
            m2 -= self.n * np.outer(delta, delta)
        else:
            m2 = self.acc - self.n * (delta[:, None] * delta[None, :])
        return CovarianceState(n=self.n, mean=mean, m2=m2)


def spread_shift(emb: Any) -> Array:
    """The shift of the moment states (float64, scaled, on the input's device): the mean of up to 4096
    rows spread evenly over ``emb``, or for a lazy input the column means of its validation read."""
    if emb.column_mean is not None:  # a lazy input: the mean of the validation read (no extra read)
        return emb.column_mean * emb.scale
    n = emb.n_samples
    spread = np.unique(np.linspace(0, n - 1, min(n, 4096)).round().astype(np.intp))
    if emb.is_numpy:
        sample = np.asarray(emb.storage[spread], dtype=np.float64)  # a small copy (fancy index)
        if emb.scale_exponent:
            sample *= emb.scale
        return sample.mean(axis=0)
    sample = emb.take_rows64(spread)
    return emb.xp.mean(sample, axis=0)


@dataclasses.dataclass
class FoldMoments:
    """:class:`SecondMoments` of two disjoint subsets of the rows (``labels`` True: fold 0, False: fold 1),
    with a common shift, so ``merge`` of the two folds gives the moments of every row exactly."""

    labels: np.ndarray
    shift: Array
    folds: tuple[SecondMoments, SecondMoments] | None = None

    def __post_init__(self) -> None:
        if self.folds is None:
            self.folds = (SecondMoments(shift=self.shift), SecondMoments(shift=self.shift))

    def fresh(self) -> FoldMoments:
        return FoldMoments(labels=self.labels, shift=self.shift)

    def flop(self, n: int, d: int) -> float:
        return 2.0 * n * d * d

    def update(self, block: Block) -> FoldMoments:
        lab = self.labels[block.start:block.stop]
        assert self.folds is not None
        for fold, mask in ((0, lab), (1, ~lab)):
            idx = np.flatnonzero(mask)
            if idx.size:
                self.folds[fold].update(_SubBlock(block, idx))
        return self

    def merge(self, other: FoldMoments) -> FoldMoments:
        assert self.folds is not None
        assert other.folds is not None
        self.folds[0].merge(other.folds[0])
        self.folds[1].merge(other.folds[1])
        return self

    def result(self) -> tuple[Any, Any, Any]:
        """``(fold 0, fold 1, all rows)`` as :class:`~gaussprobe.stats._moments.CovarianceState`."""
        assert self.folds is not None
        both = SecondMoments(shift=self.shift).merge(self.folds[0]).merge(self.folds[1])
        return self.folds[0].result(), self.folds[1].result(), both.result()


class _SubBlock:
    """The rows ``idx`` of a block, as a block (float64 and compute-dtype views gathered once)."""

    __slots__ = ("_f64", "_idx", "_parent", "_rows")

    def __init__(self, parent: Block, idx: np.ndarray) -> None:
        self._parent, self._idx = parent, idx
        self._f64: Any = None
        self._rows: Any = None

    @property
    def n_rows(self) -> int:
        return int(self._idx.size)

    @property
    def is_numpy(self) -> bool:
        return self._parent.is_numpy

    @property
    def xp(self) -> Any:
        return self._parent.xp

    @property
    def f64(self) -> Array:
        if self._f64 is None:
            self._f64 = _take(self._parent.xp, self._parent.f64, self._idx)
        return self._f64

    @property
    def rows(self) -> Array:
        if self._rows is None:
            self._rows = _take(self._parent.xp, self._parent.rows, self._idx)
        return self._rows

    def buffer(self, name: str, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
        return self._parent.buffer("sub." + name, shape, dtype)


def _take(xp: Any, a: Array, idx: np.ndarray) -> Array:
    if isinstance(a, np.ndarray):
        return a[idx]
    import array_api_compat

    return xp.take(a, xp.asarray(idx, device=array_api_compat.device(a)), axis=0)


# ------------------------------------------------------------------------------------- per-row values
@dataclasses.dataclass
class RowValues:
    """Collects one value per row: the row norm ``‖x - center‖`` (``kind="norm"``).

    Norms are taken in the compute dtype (float64 from the float64 view of the block). The pieces are
    kept with their first row index and put in row order by :meth:`result`, so the values do not depend
    on how the rows were split into blocks, threads or chunks.
    """

    center: Array | None = None
    pieces: list[tuple[int, Array]] = dataclasses.field(default_factory=list)

    def fresh(self) -> RowValues:
        return RowValues(center=self.center)

    def flop(self, n: int, d: int) -> float:
        return 2.0 * n * d * 8

    def update(self, block: Block) -> RowValues:
        if block.n_rows == 0:
            return self
        rows = block.rows
        if self.center is not None:
            rows = rows - self.center[None, :]
        if isinstance(rows, np.ndarray):  # the same per-row sums on every path
            values = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        else:
            values = block.xp.linalg.vector_norm(rows, axis=1)
        self.pieces.append((block.start, values))
        return self

    def merge(self, other: RowValues) -> RowValues:
        self.pieces.extend(other.pieces)
        return self

    def result(self) -> Array:
        """The values of every row folded in, in row order (on the input's device)."""
        if not self.pieces:
            msg = "no rows were folded in."
            raise ValueError(msg)
        self.pieces.sort(key=lambda p: p[0])
        values = [v for _, v in self.pieces]
        if len(values) == 1:
            return values[0]
        if isinstance(values[0], np.ndarray):
            return np.concatenate(values)
        import array_api_compat

        return array_api_compat.array_namespace(values[0]).concat(values)


# ------------------------------------------------------------------------------------------- sinks
@dataclasses.dataclass
class Projector:
    """Writes ``rows @ U`` (compute dtype) of every block into ``sink`` at the block's rows.

    ``directions`` is the host ``(d, k)`` matrix; it is moved to the block's namespace and dtype once
    per state. The sink is an ``(n, k)`` array in memory, or a file sink of a lazy input.
    """

    directions: np.ndarray
    sink: Any
    _u: Any = None

    def fresh(self) -> Projector:
        return Projector(directions=self.directions, sink=self.sink)

    def flop(self, n: int, d: int) -> float:
        return 2.0 * n * d * int(self.directions.shape[1])

    def update(self, block: Block) -> Projector:
        if block.n_rows == 0:
            return self
        if self._u is None:
            self._u = block.emb.asarray(self.directions)  # compute dtype, on the input's device
        out = self.sink.rows(block.start, block.stop)
        if isinstance(out, np.ndarray) and isinstance(block.rows, np.ndarray):
            np.matmul(block.rows, self._u, out=out)
        else:
            self.sink.write(block.start, block.stop, block.rows @ self._u)
        return self

    def merge(self, other: Projector) -> Projector:
        return self

    def result(self) -> Any:
        return self.sink


@dataclasses.dataclass
class ColumnWriter:
    """Writes the raw rows of every block (the storage dtype, unscaled) into a column ``sink``: the
    spill of a lazy input's columns for the column pass (one read of the data)."""

    sink: Any

    def fresh(self) -> ColumnWriter:
        return self

    def flop(self, n: int, d: int) -> float:
        return float(n) * d

    def update(self, block: Block) -> ColumnWriter:
        if block.n_rows:
            self.sink.write(block.start, block.stop, block.emb.storage[block.a:block.b])
        return self

    def merge(self, other: ColumnWriter) -> ColumnWriter:
        return self

    def result(self) -> Any:
        return self.sink


@dataclasses.dataclass
class ArraySink:
    """An ``(n, k)`` output array (NumPy or the input's namespace) written by row ranges."""

    out: Array

    def rows(self, start: int, stop: int) -> Any:
        """A writable view of rows ``start:stop`` (NumPy only; None for other namespaces)."""
        return self.out[start:stop] if isinstance(self.out, np.ndarray) else None

    def write(self, start: int, stop: int, values: Array) -> None:
        self.out[start:stop, ...] = values


@dataclasses.dataclass
class Transformed:
    """Collects ``(x - mean) @ transform`` of every block (float64, on the host), kept with the block's
    first row and put in row order by :meth:`result` (e.g. the whitened rows the projection pursuit
    searches; only where ``n × k`` fits in memory)."""

    mean: Array
    transform: Array
    pieces: list[tuple[int, np.ndarray]] = dataclasses.field(default_factory=list)

    def fresh(self) -> Transformed:
        return Transformed(mean=self.mean, transform=self.transform)

    def flop(self, n: int, d: int) -> float:
        return 2.0 * n * d * int(self.transform.shape[1])

    def update(self, block: Block) -> Transformed:
        if block.n_rows:
            z = (block.f64 - self.mean) @ self.transform
            self.pieces.append((block.start, np.asarray(to_numpy(z), dtype=np.float64)))
        return self

    def merge(self, other: Transformed) -> Transformed:
        self.pieces.extend(other.pieces)
        return self

    def result(self) -> np.ndarray:
        self.pieces.sort(key=lambda p: p[0])
        return np.concatenate([v for _, v in self.pieces]) if self.pieces else np.empty(
            (0, int(self.transform.shape[1])))


# ------------------------------------------------------------------------------ whitened quantities
@dataclasses.dataclass
class WhitenedNormPowers:
    """``Σ_i r_i²`` with ``r_i = ‖(x_i - mean) L‖²`` for a whitening factor ``L`` (Mardia's ``b2``).

    NumPy blocks apply a lower-triangular ``L`` in place with BLAS ``trmm`` (half the flops of a full
    product); other namespaces multiply by ``transform``.
    """

    mean: Array
    transform: Array
    factor: np.ndarray | None = None
    fourth: Any = 0.0
    n: int = 0

    def fresh(self) -> WhitenedNormPowers:
        return WhitenedNormPowers(mean=self.mean, transform=self.transform, factor=self.factor)

    def flop(self, n: int, d: int) -> float:
        return float(n) * d * d

    def update(self, block: Block) -> WhitenedNormPowers:
        m = block.n_rows
        if m == 0:
            return self
        if block.is_numpy and self.factor is not None:
            r = whitened_block_numpy(block, self.mean, self.factor)[1]
        else:
            z = (block.f64 - self.mean) @ self.transform
            r = block.xp.sum(z * z, axis=1)
        self.fourth = self.fourth + block.xp.sum(r * r)
        self.n += m
        return self

    def merge(self, other: WhitenedNormPowers) -> WhitenedNormPowers:
        self.fourth = self.fourth + other.fourth
        self.n += other.n
        return self

    def result(self) -> float:
        from .._backend import to_float

        return to_float(self.fourth)


def whitened_block_numpy(block: Block, mean: np.ndarray, factor: np.ndarray,
                         target: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``z = (x - mean) L`` of a NumPy block (float64, in ``target`` or a per-thread buffer) and
    ``|z_i|²``: the rows are written minus the mean, then multiplied in place by the lower-triangular
    ``L`` (``(c L)ᵀ = Lᵀ cᵀ`` with BLAS ``dtrmm`` on the Fortran view of the C-ordered block)."""
    from scipy.linalg import blas

    d = int(mean.shape[0])
    c = block.buffer("whiten.c", (block.n_rows, d)) if target is None else target
    block.into(c, subtract=mean)
    blas.dtrmm(1.0, factor, c.T, side=0, lower=1, trans_a=1, overwrite_b=1)
    return c, np.einsum("ij,ij->i", c, c)


@dataclasses.dataclass
class WhitenedRows:
    """Writes the whitened rows ``scale · z_i`` (compute dtype) and ``|z_i|²`` (float64, unscaled) of
    every block into ``z_out`` and ``r_out`` (arrays in memory: the tile statistics read them whole).

    ``z = (x - mean) @ transform``; NumPy blocks use the lower-triangular ``factor`` (``L Lᵀ =
    transform transformᵀ · scale²``) with BLAS ``trmm`` instead, another square root of the same
    matrix, so every statistic of the whitened rows is unchanged.
    """

    mean: Array
    transform: Array
    factor: np.ndarray | None
    scale: float
    z_out: Array
    r_out: Array

    def fresh(self) -> WhitenedRows:
        return self

    def flop(self, n: int, d: int) -> float:
        return float(n) * d * d

    def update(self, block: Block) -> WhitenedRows:
        a, b = block.start, block.stop
        if a == b:
            return self
        if block.is_numpy and self.factor is not None:
            direct = self.z_out.dtype == np.float64
            target = self.z_out[a:b] if direct else None
            z, r = whitened_block_numpy(block, self.mean, self.factor, target)
            self.r_out[a:b] = r * (1.0 / (self.scale * self.scale))
            if not direct:
                self.z_out[a:b] = z
            return self
        xp = block.xp
        zb = (block.f64 - self.mean) @ self.transform
        self.r_out[a:b] = xp.sum(zb * zb, axis=1)
        zs = zb * self.scale if self.scale != 1.0 else zb
        self.z_out[a:b, :] = zs if self.z_out.dtype == xp.float64 else xp.astype(zs, self.z_out.dtype)
        return self

    def merge(self, other: WhitenedRows) -> WhitenedRows:
        return self

    def result(self) -> tuple[Array, Array]:
        return self.z_out, self.r_out


@dataclasses.dataclass
class PowerSums:
    """Column sums of ``y²``, ``y³`` and ``y⁴`` for ``y = (x - mean) @ transform`` (Doornik–Hansen),
    in the compute dtype per thread or chunk; merged in float64."""

    mean: Array
    transform: Array
    sums: Any = None

    def fresh(self) -> PowerSums:
        return PowerSums(mean=self.mean, transform=self.transform)

    def flop(self, n: int, d: int) -> float:
        return 2.0 * n * d * d

    def update(self, block: Block) -> PowerSums:
        m = block.n_rows
        if m == 0:
            return self
        d = int(self.mean.shape[0])
        if block.is_numpy:
            dt = block.emb.float
            if self.sums is None:
                self.sums = np.zeros((3, d), dtype=dt)
            c = block.buffer("power.c", (m, d), dt)
            y = block.buffer("power.y", (m, d), dt)
            p = block.buffer("power.p", (m, d), dt)
            block.into(c, subtract=self.mean)
            np.matmul(c, self.transform, out=y)
            np.multiply(y, y, out=p)
            self.sums[0] += p.sum(axis=0)
            p *= y
            self.sums[1] += p.sum(axis=0)
            p *= y
            self.sums[2] += p.sum(axis=0)
            return self
        xp = block.xp
        y = (block.rows - self.mean) @ self.transform
        y2 = y * y
        part = xp.stack([xp.sum(y2, axis=0), xp.sum(y2 * y, axis=0), xp.sum(y2 * y2, axis=0)])
        self.sums = part if self.sums is None else self.sums + part
        return self

    def merge(self, other: PowerSums) -> PowerSums:
        if other.sums is None:
            return self
        if self.sums is None:
            self.sums = other.sums
            return self
        self.sums = self.sums + other.sums
        return self

    def result(self) -> np.ndarray:
        return np.asarray(to_numpy(self.sums), dtype=np.float64)


__all__ = [
    "ArraySink",
    "ColumnWriter",
    "FoldMoments",
    "PowerSums",
    "Projector",
    "RowValues",
    "SecondMoments",
    "Transformed",
    "WhitenedNormPowers",
    "WhitenedRows",
    "spread_shift",
    "whitened_block_numpy",
]
