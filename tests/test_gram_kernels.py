"""The blocked Gram tile engine, its reducers, and the numba kernel against its NumPy twin."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from gaussprobe._kernels import gram
from gaussprobe._kernels._numba import (
    cube_sum_kernel,
    cube_sum_lower_kernel,
    cube_sum_lower_twin,
    cube_sum_twin,
    numba_available,
)


def _logsumexp_offdiag(y: np.ndarray, u: np.ndarray) -> float:
    """Naive ``log Σ_{j != k} exp(u_j + u_k + y_j·y_k)`` with exact (fsum) accumulation."""
    n = y.shape[0]
    terms = [u[j] + u[k] + float(y[j] @ y[k]) for j in range(n) for k in range(n) if j != k]
    m = max(terms)
    return m + math.log(math.fsum(math.exp(t - m) for t in terms))


# ------------------------------------------------------------------------------ numba vs twin
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_cube_sum_matches_twin(rng, dtype):
    pytest.importorskip("numba")
    flat = (rng.standard_normal(10_007) * 40).astype(dtype)
    exact = math.fsum(float(v) ** 3 for v in flat.astype(np.float64))
    assert cube_sum_kernel()(flat) == pytest.approx(exact, rel=1e-12)
    assert cube_sum_twin(flat) == pytest.approx(exact, rel=1e-12)
    work, up = np.empty(20_000), np.empty(20_000)
    assert cube_sum_twin(flat, work, up) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", [1, 2, 17, 64])
def test_lower_triangle_cube_sum_matches_full_tile(rng, dtype, m):
    y = rng.standard_normal((m, 5)).astype(dtype)
    full = y.astype(np.float64) @ y.astype(np.float64).T
    exact = math.fsum((full**3).ravel().tolist())
    g = np.tril(y @ y.T) + np.triu(np.full((m, m), np.nan, dtype=dtype), 1)  # upper: garbage
    assert cube_sum_lower_twin(g.copy()) == pytest.approx(exact, rel=1e-5 if dtype == np.float32 else 1e-12)
    if numba_available():
        got = cube_sum_lower_kernel()(g)
        assert got == pytest.approx(exact, rel=1e-5 if dtype == np.float32 else 1e-12)


def test_importing_kernels_does_not_import_numba():
    code = ("import sys, gaussprobe._kernels.gram, gaussprobe._kernels._numba, "
            "gaussprobe.stats.mardia, gaussprobe.stats.henze_zirkler; "
            "print(sorted({'numba', 'torch', 'scipy.stats'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ tile engine
@pytest.mark.parametrize("block_size", [1, 3, 16, 37, 50])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_cube_sum_over_tiles_equals_full_gram(rng, block_size, n_threads):
    y = rng.standard_normal((37, 5))
    full = y @ y.T
    exact = math.fsum((full**3).ravel().tolist())
    tiles = gram.tile_values(y, gram.CubeSum(), block_size=block_size, n_threads=n_threads)
    n_blocks = math.ceil(37 / block_size)
    assert tiles.values.size == n_blocks * (n_blocks + 1) // 2
    assert int(tiles.diagonal.sum()) == n_blocks
    assert tiles.symmetric_sum() == pytest.approx(exact, rel=1e-12)


def test_cube_sum_numba_reducer_and_float32_tiles(rng):
    pytest.importorskip("numba")
    y = rng.standard_normal((64, 7))
    ref = gram.tile_values(y, gram.CubeSum(), block_size=10).symmetric_sum()
    fused = gram.tile_values(y, gram.CubeSum(kernel=cube_sum_kernel()), block_size=10).symmetric_sum()
    assert fused == pytest.approx(ref, rel=1e-12)
    y32 = y.astype(np.float32)
    exact32 = math.fsum(((y32.astype(np.float64) @ y32.astype(np.float64).T) ** 3).ravel().tolist())
    for reducer in (gram.CubeSum(), gram.CubeSum(kernel=cube_sum_kernel())):
        got = gram.tile_values(y32, reducer, block_size=10).symmetric_sum()
        assert got == pytest.approx(exact32, rel=1e-5)


@pytest.mark.parametrize("block_size", [1, 4, 9, 30])
def test_log_exp_sum_matches_naive(rng, block_size):
    y = rng.standard_normal((30, 3)) * 0.7
    u = rng.standard_normal(30) * 0.3
    expected = _logsumexp_offdiag(y, u)
    fast = gram.tile_values(y, gram.LogExpSum(u=u, exp_u=np.exp(u)), block_size=block_size)
    shifted = gram.tile_values(y, gram.LogExpSum(u=u), block_size=block_size)
    assert fast.symmetric_logsumexp() == pytest.approx(expected, rel=1e-13)
    assert shifted.symmetric_logsumexp() == pytest.approx(expected, rel=1e-13)


def test_log_exp_sum_falls_back_when_exp_overflows(rng):
    """Terms near exp(±800) overflow the factorised form; the shifted form is exact."""
    y = rng.standard_normal((12, 2))
    y[3] = y[2] = [20.0, 20.0]  # g_23 = 800
    u = np.full(12, -390.0)
    expected = _logsumexp_offdiag(y, u)
    tiles = gram.tile_values(y, gram.LogExpSum(u=u, exp_u=np.exp(u)), block_size=5)
    assert tiles.symmetric_logsumexp() == pytest.approx(expected, rel=1e-13)
    assert math.isfinite(tiles.symmetric_logsumexp())


def test_log_exp_sum_underflow_is_recovered(rng):
    y = rng.standard_normal((10, 2)) * 0.1
    u = np.full(10, -800.0)  # every exp(u) underflows to 0
    tiles = gram.tile_values(y, gram.LogExpSum(u=u, exp_u=np.exp(u)), block_size=4)
    assert tiles.symmetric_logsumexp() == pytest.approx(_logsumexp_offdiag(y, u), rel=1e-13)


def test_single_row_diagonal_tiles_are_empty(rng):
    y = rng.standard_normal((5, 2))
    u = np.zeros(5)
    tiles = gram.tile_values(y, gram.LogExpSum(u=u, exp_u=np.ones(5)), block_size=1)
    assert np.all(tiles.values[tiles.diagonal] == -np.inf)
    assert tiles.symmetric_logsumexp() == pytest.approx(_logsumexp_offdiag(y, u), rel=1e-13)


def test_device_path_matches_host(to_torch, rng):
    y = rng.standard_normal((41, 4))
    u = rng.standard_normal(41) * 0.2
    yt, ut = to_torch(y), to_torch(u)
    import array_api_compat

    xp = array_api_compat.array_namespace(yt)
    for bs in (1, 8, 41):
        host = gram.tile_values(y, gram.CubeSum(), block_size=bs)
        dev = gram.tile_values(yt, gram.CubeSum(), block_size=bs, xp=xp)
        assert dev.symmetric_sum() == pytest.approx(host.symmetric_sum(), rel=1e-12)
        host_l = gram.tile_values(y, gram.LogExpSum(u=u, exp_u=np.exp(u)), block_size=bs)
        dev_l = gram.tile_values(yt, gram.LogExpSum(u=ut), block_size=bs, xp=xp)
        assert dev_l.symmetric_logsumexp() == pytest.approx(host_l.symmetric_logsumexp(), rel=1e-13)


# ------------------------------------------------------------------------------ helpers
@pytest.mark.parametrize(("n", "parts"), [(0, 3), (1, 4), (10, 3), (100, 16), (5, 5)])
def test_split_range_covers_everything_once(n, parts):
    pieces = gram.split_range(n, parts)
    assert [i for p in pieces for i in p] == list(range(n))
    assert len(pieces) <= max(parts, 1)


def test_worker_count_respects_blas_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    assert gram.worker_count(1.0) == 1
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert gram.worker_count(1e15) == 1
    assert 1 <= gram.worker_count(1e15) <= gram.cpu_threads()


def test_parallel_map_keeps_order():
    assert gram.parallel_map(lambda v: v * v, range(20), 2) == [v * v for v in range(20)]
    assert gram.parallel_map(lambda v: v + 1, [], 2) == []


def test_scratch_reuses_buffers():
    s = gram.Scratch()
    a = s.get("x", 100)
    b = s.get("x", 50)
    assert np.shares_memory(a, b)
    c = s.matrix("x", 20, 10)
    assert c.shape == (20, 10)
    assert not np.shares_memory(a, c)
