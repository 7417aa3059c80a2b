"""The two-sample energy test: do two sets of embeddings come from the same distribution?

The energy distance between the two samples (Székely & Rizzo 2004; Baringhaus & Franz 2004) with a
permutation p-value. Every statistic the test needs, for the observed split and for all permuted
splits at once, is a quadratic form of the pooled distance matrix, accumulated in one pass over its
tiles ``i <= j`` (no ``N x N`` array): memory ``O(block_size² + N·B)``, work ``O(N²(d + B))``.
"""

from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np

from .. import _progress
from .._backend import to_numpy
from .._budget import check_budget
from .._kernels import gram
from .._random import as_generator
from .._results import Result
from .._typing import ArrayLike, DTypeName, RNGLike
from .._validation import Embeddings, check_embeddings, check_positive_int, ldexp
from .energy import distances_from_gram

#: Default number of permutations of the p-value.
DEFAULT_PERMUTATIONS = 199
#: Default largest number of rows used per sample (beyond it, a seeded random subsample).
DEFAULT_MAX_ROWS = 5000
#: Relative tolerance below which a permuted statistic counts as equal to the observed one (the same
#: split reached by a permutation gives the same value up to rounding of the sums).
_TIE = 1e-12


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class EnergyTwoSampleResult(Result):
    """The two-sample energy test of equal distributions.

    Attributes
    ----------
    statistic : float
        The scaled statistic ``T = n m / (n + m) · E`` of the rows used; 0 when the two samples are
        identical as sets, larger when their distributions differ.
    energy_distance : float
        The energy distance ``E`` between the two samples (V-statistic form), in the units of the
        embeddings (it scales like a distance).
    pvalue : float or None
        Permutation p-value ``(1 + #{T* >= T}) / (1 + n_permutations)``; None when
        ``n_permutations == 0`` (no test was run).
    n_permutations : int
        Number of random permutations of the pooled rows.
    n_baseline, n_candidate : int
        Rows of the first (``x``, the baseline) and second (``y``, the candidate) sample used.
    n_baseline_available, n_candidate_available : int
        Rows each sample had; more than the rows used when it was subsampled (``max_rows``).
    n_features : int
        Width of both samples.
    note : str
        Which rows were used when a sample was subsampled (empty otherwise).
    """

    statistic: float
    energy_distance: float
    pvalue: float | None
    n_permutations: int
    n_baseline: int
    n_candidate: int
    n_baseline_available: int
    n_candidate_available: int
    n_features: int
    note: str = ""


def energy_two_sample(
    x: ArrayLike,
    y: ArrayLike,
    /,
    *,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    rng: RNGLike = None,
    block_size: int | None = None,
    dtype: DTypeName = "float64",
) -> EnergyTwoSampleResult:
    r"""Two-sample energy test: are ``x`` and ``y`` samples of the same distribution?

    Parameters
    ----------
    x, y : arrays of shape (n, d) and (m, d)
        The two samples, one embedding per row, of the same width ``d`` and at least 2 rows each
        (``x`` is called the baseline and ``y`` the candidate in the result). NumPy arrays, memory
        maps, torch tensors and other array-likes are accepted; the rows used are copied to the host
        in float64 (at most ``2 · max_rows`` of them by default) and the work runs there.
    n_permutations : int, default 199
        Random permutations of the pooled rows for the p-value; 0 computes the statistic only
        (``pvalue`` is then None).
    max_rows : int or None, default 5000
        Largest number of rows used per sample. A sample with more rows is replaced by a seeded
        random subsample of ``max_rows`` rows without replacement (reported in ``n_baseline``,
        ``n_candidate`` and ``note``). The test stays exact on the subsample; it only has less power.
        At the default, ``N = n + m <= 10,000`` pooled rows, and the test costs about
        :math:`N^2 (d + B)` multiply-adds: a few seconds on two cores at ``d = 768`` and
        ``B = 199`` (measured in ``docs/compare.md``). None uses every row (``O(N²(d + B))`` work,
        ``O(N·(d + B))`` memory).
    rng : int, numpy.random.Generator or None
        Seed or generator of the subsamples and the permutations.
    block_size : int, optional
        Rows per tile of the pooled distance matrix; each tile holds ``block_size²`` distances
        (default 512; the tiles run on a thread pool).
    dtype : {"float64", "float32"}
        Precision of the Gram products of the tiles; the centring, the squared norms, the distances
        and every sum are float64 either way.

    Returns
    -------
    EnergyTwoSampleResult
        ``statistic``, ``energy_distance``, ``pvalue``, the rows used and available, and a note.

    Raises
    ------
    ValueError
        When the two widths differ, a sample has fewer than 2 rows, or holds NaN or Inf.

    Notes
    -----
    With :math:`x_1, \dots, x_n` and :math:`y_1, \dots, y_m` the rows used, the energy distance in
    its V-statistic form (all ordered pairs, the zero diagonal included) is

    .. math::

        E = \frac{2}{nm}\sum_{i=1}^n\sum_{j=1}^m \lVert x_i - y_j\rVert
        - \frac{1}{n^2}\sum_{i,i'=1}^n \lVert x_i - x_{i'}\rVert
        - \frac{1}{m^2}\sum_{j,j'=1}^m \lVert y_j - y_{j'}\rVert ,

    which is :math:`\ge 0` and estimates :math:`2\mathbb E\lVert X - Y\rVert - \mathbb E\lVert X -
    X'\rVert - \mathbb E\lVert Y - Y'\rVert`, zero exactly when the two distributions are equal
    (for distributions with finite first moments) [1]_ [2]_. The test statistic is
    :math:`T = \frac{nm}{n+m} E` [1]_ (the statistic of Baringhaus & Franz [3]_ is :math:`T/2`).

    **p-value.** Under the null hypothesis of equal distributions the :math:`N = n + m` pooled rows
    are exchangeable, so every split of them into ``n`` and ``m`` rows is equally likely. The
    statistic is recomputed for ``B = n_permutations`` seeded random splits, and
    :math:`p = (1 + \#\{T^*_b \ge T\}) / (1 + B)`, which is exact (:math:`P(p \le \alpha) \le
    \alpha` at every level) for every ``B``, every ``n`` and ``m``, and any dimension. Permuted
    statistics within a relative :math:`10^{-12}` of :math:`T` count as ties.

    **Blocked computation.** With :math:`D` the pooled distance matrix and :math:`a` the indicator
    of the first sample under one split, :math:`S_{XX} = a^\top D a`, and with the row sums
    :math:`r = D\mathbf 1`, :math:`S_{XY} = a^\top r - a^\top D a` and
    :math:`S_{YY} = \mathbf 1^\top D \mathbf 1 - 2 a^\top r + a^\top D a`. The splits form a label
    matrix :math:`L` of :math:`N \times (B + 1)` (column 0 the observed split), and one pass over the
    tiles :math:`I \le J` of :math:`D` (formed from Gram products after centring, squared distances
    clipped at 0 before the square root) accumulates :math:`\sum (L_I \odot D_{IJ} L_J)` for every
    column at once (twice for an off-diagonal tile, which stands for its mirror image too) and the
    row sums. Memory is :math:`O(\text{block\_size}^2 + N(d + B))` and the work
    :math:`O(N^2 (d + B))`.

    References
    ----------
    .. [1] G. J. Székely, M. L. Rizzo, "Testing for equal distributions in high dimension",
       InterStat 5, 2004.
    .. [2] G. J. Székely, M. L. Rizzo, "Energy statistics: A class of statistics based on
       distances", Journal of Statistical Planning and Inference 143(8), 1249-1272, 2013.
    .. [3] L. Baringhaus, C. Franz, "On a new multivariate two-sample test", Journal of
       Multivariate Analysis 88(1), 190-206, 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.stats.two_sample import energy_two_sample
    >>> g = np.random.default_rng(0)
    >>> same = energy_two_sample(g.standard_normal((200, 8)), g.standard_normal((300, 8)), rng=1)
    >>> shifted = energy_two_sample(g.standard_normal((200, 8)), 0.5 + g.standard_normal((300, 8)),
    ...                             rng=1)
    >>> print(f"p = {same.pvalue:.2f} (same law), p = {shifted.pvalue:.3f} (shifted)")
    p = 0.67 (same law), p = 0.005 (shifted)
    """
    ex = check_embeddings(x, name="x", dtype=dtype, min_samples=2)
    ey = check_embeddings(y, name="y", dtype=dtype, min_samples=2)
    if ex.n_features != ey.n_features:
        msg = (f"The two samples must have the same width: `x` has {ex.n_features} features and `y` has "
               f"{ey.n_features}. The energy distance compares embeddings of one space; project both "
               "to a common width first, or compare their reports instead (gaussprobe.compare does that "
               "for encoders of different widths).")
        raise ValueError(msg)
    b = check_positive_int(n_permutations, "n_permutations", minimum=0)
    cap = None if max_rows is None else check_positive_int(max_rows, "max_rows", minimum=2)
    bs = gram.DEFAULT_TILE_HOST if block_size is None else check_positive_int(block_size, "block_size")
    gen = as_generator(rng)
    ix, iy = subsample(ex.n_samples, cap, gen), subsample(ey.n_samples, cap, gen)
    n, m, d = len(ix), len(iy), ex.n_features
    check_budget(n_samples=n + m, n_features=d, where="energy_two_sample", block_size=bs, tiles=True)
    z, exponent = pooled_rows(ex, ey, ix, iy)
    labels = permutation_labels(n, m, b, gen)
    energy = permutation_energies(z.astype(np.float32) if dtype == "float32" else z, labels,
                                  block_size=bs)
    energy = ldexp(energy, -exponent)  # back to the units of the input (exact: a power of two)
    stats = (n * m / (n + m)) * energy
    observed = float(stats[0])
    pvalue = None
    if b:
        ties = float(np.sum(stats[1:] >= observed - _TIE * abs(observed)))
        pvalue = (1.0 + ties) / (1.0 + b)
    notes = [f"{what} {used:,} of {avail:,} rows" for what, used, avail in
             (("baseline", n, ex.n_samples), ("candidate", m, ey.n_samples)) if used < avail]
    note = (f"subsampled to max_rows={cap} (seeded, without replacement): " + ", ".join(notes)
            if notes else "")
    return EnergyTwoSampleResult(
        statistic=observed, energy_distance=float(energy[0]), pvalue=pvalue, n_permutations=b,
        n_baseline=n, n_candidate=m, n_baseline_available=ex.n_samples,
        n_candidate_available=ey.n_samples, n_features=d, note=note,
    )


def subsample(n: int, max_rows: int | None, gen: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``max_rows`` of ``n`` rows drawn without replacement (all rows when they fit)."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(gen.choice(n, size=max_rows, replace=False))


def pooled_rows(ex: Embeddings, ey: Embeddings, ix: np.ndarray, iy: np.ndarray) -> tuple[np.ndarray, int]:
    """The rows ``ix`` of ``ex`` over the rows ``iy`` of ``ey``, centred, as one float64 host array.

    Both are multiplied by the same exact power of two ``2**exponent`` (the smaller of the two inputs'
    scales, so the larger-magnitude sample stays in the safe range); distances come out multiplied by
    it and are divided back by the caller. The pooled mean is subtracted (distances do not change) so
    that the Gram form of the distances does not lose digits to a common offset.
    """
    exponent = min(ex.scale_exponent, ey.scale_exponent)
    parts = [ldexp(np.asarray(to_numpy(e.take_rows64(i)), dtype=np.float64), exponent - e.scale_exponent)
             for e, i in ((ex, ix), (ey, iy))]
    z = np.concatenate(parts, axis=0)
    z -= z.mean(axis=0)
    return z, exponent


def permutation_labels(n: int, m: int, n_permutations: int, gen: np.random.Generator) -> np.ndarray:
    """The label matrix ``L`` of ``(n + m) x (n_permutations + 1)``: 1 marks the first sample.

    Column 0 is the observed split (the first ``n`` pooled rows); column ``b`` is a random permutation
    of it drawn from ``gen``, one after the other.
    """
    observed = np.concatenate([np.ones(n), np.zeros(m)])
    labels = np.empty((n + m, n_permutations + 1))
    labels[:, 0] = observed
    for b in range(1, n_permutations + 1):
        labels[:, b] = gen.permutation(observed)
    return labels


def permutation_energies(z: np.ndarray, labels: np.ndarray, *, block_size: int = gram.DEFAULT_TILE_HOST,
                         n_threads: int | None = None) -> np.ndarray:
    """The energy distance ``E`` of every split (column) of ``labels`` of the pooled rows ``z``.

    One pass over the tiles ``I <= J`` of the distance matrix ``D`` accumulates ``aᵀDa`` of every
    column ``a`` and the row sums ``r = D·1``; the three sums of ``E`` follow from them (see
    :func:`energy_two_sample`). ``z`` is float64, or float32 for float32 Gram products.
    """
    z = np.ascontiguousarray(z)
    n_rows, k = labels.shape
    d = int(z.shape[1])
    labels = np.ascontiguousarray(labels, dtype=np.float64)
    n = labels[:, 0].sum()
    if not np.all(labels.sum(axis=0) == n):
        msg = "every column of `labels` must mark the same number of rows of the first sample"
        raise ValueError(msg)
    m = n_rows - n
    z64 = z.astype(np.float64) if z.dtype != np.float64 else z
    sq = np.einsum("ij,ij->i", z64, z64)
    tiles = gram.tile_spans(n_rows, block_size)
    flop = float(n_rows) * n_rows * (d + k)
    threads = gram.worker_count(flop) if n_threads is None else max(1, int(n_threads))
    local = threading.local()

    def run(chunk: range) -> tuple[np.ndarray, np.ndarray]:
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = gram.Scratch()
        quad, rows = np.zeros(k), np.zeros(n_rows)
        for t in chunk:
            (r0, r1), (c0, c1) = tiles[t]
            diagonal = r0 == c0
            g = scratch.matrix("gram", r1 - r0, c1 - c0, z.dtype)
            np.matmul(z[r0:r1], z[c0:c1].T, out=g)
            dist = g if g.dtype == np.float64 else scratch.matrix("dist", r1 - r0, c1 - c0)
            distances_from_gram(g, sq[r0:r1], sq[c0:c1], diagonal=diagonal, out=dist)
            prod = scratch.matrix("prod", r1 - r0, k)
            np.matmul(dist, labels[c0:c1], out=prod)
            prod *= labels[r0:r1]
            part = prod.sum(axis=0)
            quad += part if diagonal else 2.0 * part  # D_JI = D_IJᵀ gives the same sum again
            rows[r0:r1] += dist.sum(axis=1)
            if not diagonal:
                rows[c0:c1] += dist.sum(axis=0)
            bar.advance()
        return quad, rows

    with _progress.step("two-sample tiles", total=len(tiles), unit="tile", nested=False) as bar:
        chunks = gram.parallel_map(run, gram.split_range(len(tiles), 8 * threads if threads > 1 else 1),
                                   threads)
    quad = np.sum([c[0] for c in chunks], axis=0)  # chunk order: the same sums whatever the threads
    row_sums = np.sum([c[1] for c in chunks], axis=0)
    total = math.fsum(row_sums.tolist())
    a_r = labels.T @ row_sums
    s_xx = quad
    s_xy = a_r - quad
    s_yy = total - 2.0 * a_r + quad
    energies: np.ndarray = 2.0 * s_xy / (n * m) - s_xx / (n * n) - s_yy / (m * m)
    return energies


__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_PERMUTATIONS",
    "EnergyTwoSampleResult",
    "energy_two_sample",
    "permutation_energies",
    "permutation_labels",
    "pooled_rows",
    "subsample",
]
