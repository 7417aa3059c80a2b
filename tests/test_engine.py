"""The pass engine: mergeable states, one executor for NumPy, torch and Dask, and the pass plan.

* every row state gives the same result one-shot, chunked, and merged in any order (one harness);
* ``analyze`` gives the same report on NumPy, torch-CPU, a Dask array on the threaded scheduler and on a
  ``distributed.LocalCluster`` of two processes, whatever the row chunks (hypothesis);
* ``analyze`` reads the data the number of times ``docs/scaling.md`` says (counted by a wrapper array);
* both column routes of a lazy input (spill and rechunk) give the same numbers.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gaussprobe as gp
from gaussprobe._engine import executor_for
from gaussprobe._engine._rows import Block, local_row_pass
from gaussprobe._engine._states import (
    ArraySink,
    FoldMoments,
    PowerSums,
    Projector,
    RowValues,
    SecondMoments,
    WhitenedNormPowers,
    spread_shift,
)
from gaussprobe._kernels.gram import Scratch
from gaussprobe._random import random_directions
from gaussprobe._validation import check_embeddings

da = pytest.importorskip("dask.array")


# ----------------------------------------------------------------------------- the state harness
def _states(emb, n, d, sink_out):
    rng = np.random.default_rng(3)
    shift = spread_shift(emb)
    mean = np.asarray(emb.full(), dtype=np.float64).mean(axis=0) if emb.is_numpy else None
    labels = rng.random(n) < 0.5
    out = [SecondMoments(shift=shift), SecondMoments(shift=shift, products=False), RowValues(),
           FoldMoments(labels=labels, shift=shift)]
    if emb.is_numpy:
        from gaussprobe._engine._states import Transformed
        from gaussprobe.stats.directions import FoldProjections
        from gaussprobe.stats.mardia import MardiaTensorState

        u = random_directions(d, 5, 1)
        w = np.linalg.cholesky(np.linalg.inv(np.cov(emb.full().T, bias=True)))
        out += [Projector(directions=u, sink=ArraySink(sink_out)),
                WhitenedNormPowers(mean=mean, transform=w, factor=np.asfortranarray(w)),
                PowerSums(mean=mean, transform=np.eye(d)),
                MardiaTensorState(mean=mean, transform=w),
                FoldProjections(labels=labels, means=[mean, mean * 0.5], dirs=[u[:, :2], u[:, 2:4]]),
                Transformed(mean=mean, transform=w)]
    return out


def _value(state):
    res = state.result()
    if isinstance(res, tuple):
        return np.concatenate([_value(_Wrapped(r)) for r in res])
    if hasattr(res, "m2"):
        parts = [np.asarray(res.mean, dtype=np.float64).ravel()]
        if res.m2 is not None:
            parts.append(np.asarray(res.m2, dtype=np.float64).ravel())
        return np.concatenate([*parts, np.array([res.n], dtype=np.float64)])
    if isinstance(res, ArraySink):
        return np.asarray(res.out, dtype=np.float64).ravel()
    if isinstance(res, list):  # the held-out projections of both halves
        return np.concatenate([np.asarray(r, dtype=np.float64).ravel() for r in res])
    return np.atleast_1d(np.asarray(gp._backend.to_numpy(res), dtype=np.float64)).ravel()


class _Wrapped:
    def __init__(self, r):
        self.r = r

    def result(self):
        return self.r


def _fold(emb, states, spans, order):
    """Each span folded into fresh states, then merged in ``order``."""
    parts = []
    for a, b in spans:
        local = [s.fresh() for s in states]
        for s in local:
            s.update(Block(emb, a, b, 0, Scratch()))
        parts.append(local)
    merged = parts[order[0]]
    for i in order[1:]:
        merged = [x.merge(y) for x, y in zip(merged, parts[i], strict=True)]
    return merged


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=pytest.mark.torch)])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 119), max_size=6, unique=True), seed=st.integers(0, 2**16))
def test_every_state_is_chunked_equals_merged_in_any_order_equals_one_shot(backend, cuts, seed):
    n, d = 120, 6
    x = np.random.default_rng(0).standard_normal((n, d)) * np.linspace(1, 3, d) + 5.0
    if backend == "torch":
        torch = pytest.importorskip("torch")
        x = torch.as_tensor(x)
    emb = check_embeddings(x)
    edges = [0, *sorted(cuts), n]
    spans = list(itertools.pairwise(edges))
    order = list(np.random.default_rng(seed).permutation(len(spans)))
    sink_a, sink_b = np.empty((n, 5)), np.empty((n, 5))
    one = [s.update(Block(emb, 0, n, 0, Scratch())) for s in [s.fresh() for s in _states(emb, n, d, sink_a)]]
    chunked = _fold(emb, _states(emb, n, d, sink_b), spans, order)
    for a, b in zip(one, chunked, strict=True):
        np.testing.assert_allclose(_value(b), _value(a), rtol=1e-12, atol=1e-12)
    # and the executor's own (threaded) pass agrees
    via = executor_for(emb).row_pass(emb, _states(emb, n, d, np.empty((n, 5))), block_size=17)
    for a, b in zip(one, via, strict=True):
        np.testing.assert_allclose(_value(b), _value(a), rtol=1e-12, atol=1e-12)


def test_local_row_pass_offsets_place_rows(rng):
    x = rng.standard_normal((50, 3))
    emb = check_embeddings(x)
    (vals,) = local_row_pass(emb, [RowValues()], block_size=7, offset=1000)
    np.testing.assert_allclose(vals.result(), np.linalg.norm(x, axis=1), rtol=1e-14)
    assert vals.pieces[0][0] == 1000


# ------------------------------------------------------------------- the same report everywhere
def _numbers(report):
    d = report.to_dict()
    for k in ("backend", "device", "timings"):
        d.pop(k, None)
    return d


def _assert_same(a, b, rtol):
    def walk(x, y, path):
        if isinstance(x, dict):
            assert set(x) == set(y), path
            for k in x:
                walk(x[k], y[k], f"{path}/{k}")
        elif isinstance(x, list):
            assert len(x) == len(y), path
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                walk(u, v, f"{path}[{i}]")
        elif isinstance(x, float) and isinstance(y, float):
            if math.isnan(x):
                assert math.isnan(y), path
            else:
                assert abs(x - y) <= rtol * max(abs(x), abs(y), 1.0), (path, x, y)
        else:
            assert x == y, (path, x, y)

    walk(_numbers(a), _numbers(b), "")


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((900, 10))
    x[:, 2] = rng.exponential(size=900)
    return x


@pytest.fixture(scope="module")
def numpy_report(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gp.analyze(sample, rng=3, tests="all", n_resamples=9)


@pytest.mark.slow
def test_dask_threaded_and_torch_reports_equal_the_numpy_report(sample, numpy_report):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy = gp.analyze(da.from_array(sample, chunks=(250, 10)), rng=3, tests="all", n_resamples=9)
    assert lazy.backend == "dask" and lazy.tests == numpy_report.tests
    _assert_same(lazy, numpy_report, 1e-10)
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_torch = gp.analyze(torch.as_tensor(sample), rng=3, tests="all", n_resamples=9)
    _assert_same(on_torch, numpy_report, 1e-10)


@pytest.mark.slow
def test_distributed_local_cluster_report_equals_the_numpy_report(sample, numpy_report):
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster):
            lazy = gp.analyze(da.from_array(sample, chunks=(200, 10)), rng=3, tests="all", n_resamples=9)
    _assert_same(lazy, numpy_report, 1e-10)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 200), min_size=1, max_size=5))
def test_reports_do_not_depend_on_the_row_chunks(sizes):
    rng = np.random.default_rng(11)
    n = 400
    x = rng.standard_normal((n, 6)) ** 3
    chunks = []
    left = n
    for s in sizes:
        if left <= 0:
            break
        chunks.append(min(s, left))
        left -= chunks[-1]
    if left:
        chunks.append(left)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = gp.analyze(x, rng=1)
        lazy = gp.analyze(da.from_array(x, chunks=(tuple(chunks), 6)), rng=1)
    _assert_same(lazy, ref, 1e-12)


@pytest.mark.parametrize("route", ["spill", "rechunk"])
def test_both_column_routes_give_the_same_statistics(monkeypatch, route, rng):
    x = rng.standard_normal((500, 9)) * 1e-160  # a scale too: both routes apply it like memory does
    monkeypatch.setenv("GAUSSPROBE_COLUMN_ROUTE", route)
    ref = gp.analyze(x, rng=2, tests=["coordinates", "projections", "distance"])
    lazy = gp.analyze(da.from_array(x, chunks=(120, 9)), rng=2, tests=["coordinates", "projections", "distance"])
    _assert_same(lazy, ref, 1e-12)


def test_every_public_statistic_accepts_a_dask_array(rng):
    x = rng.standard_normal((300, 5))
    lazy = da.from_array(x, chunks=(64, 5))
    pairs = [
        (gp.thin_shell, {}), (gp.thin_shell, {"center": True}), (gp.coordinate_normality, {}),
        (gp.projection_normality, {"rng": 1, "n_projections": 12}), (gp.isotropic_distance, {"rng": 1}),
        (gp.mardia, {}), (gp.henze_zirkler, {}), (gp.doornik_hansen, {}), (gp.royston, {}),
        (gp.energy_test, {"rng": 1, "n_resamples": 9}), (gp.principal_direction_test, {"rng": 1}),
        (gp.least_gaussian_direction, {"rng": 1, "n_null": 9}), (gp.covariance_spectrum, {}),
        (gp.sphericity_test, {}),
    ]
    for fn, kw in pairs:
        a, b = fn(x, **kw), fn(lazy, **kw)
        ja = json.loads(json.dumps(a.to_dict(), default=str))
        jb = json.loads(json.dumps(b.to_dict(), default=str))
        assert json.dumps(ja, sort_keys=True)[:0] == ""
        _assert_dicts(ja, jb, fn.__name__)
    scores = gp.principal_projection(lazy, n_components=3)
    np.testing.assert_allclose(np.asarray(scores), gp.principal_projection(x, n_components=3), rtol=1e-10,
                               atol=1e-12)


def _assert_dicts(a, b, name):
    class R:
        def __init__(self, d):
            self.d = d

        def to_dict(self):
            return dict(self.d)

    _assert_same(R(a), R(b), 1e-10)


def test_lazy_input_is_validated_like_memory(rng):
    x = rng.standard_normal((200, 4))
    x[17, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or Inf in 1 row\(s\) \(first rows \[17\]"):
        gp.analyze(da.from_array(x, chunks=(50, 4)))
    with pytest.raises(ValueError, match="2-D"):
        gp.thin_shell(da.ones((10, 2, 2)))
    with pytest.raises(TypeError, match="complex"):
        gp.thin_shell(da.ones((10, 2), dtype=complex))
    ints = da.from_array(np.arange(400).reshape(100, 4) % 7, chunks=(30, 2))
    assert gp.thin_shell(ints).cv == pytest.approx(gp.thin_shell(np.arange(400).reshape(100, 4) % 7).cv,
                                                   rel=1e-13)


def test_a_memory_map_larger_than_the_budget_is_read_lazily(tmp_path, rng):
    from gaussprobe._budget import budget

    path = tmp_path / "x.npy"
    np.save(path, rng.standard_normal((2000, 8)).astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    with budget(memory=2 * mm.nbytes):
        assert check_embeddings(mm).backend == "numpy"
    with budget(memory=mm.nbytes // 2):
        emb = check_embeddings(mm)
        assert emb.backend == "dask"
        rep = gp.analyze(mm, rng=0, tests=["thin_shell", "coordinates"])
    ref = gp.analyze(np.asarray(mm), rng=0, tests=["thin_shell", "coordinates"])
    _assert_same(rep, ref, 1e-12)


# ------------------------------------------------------------------------------ the pass plan
class CountingArray:
    """An array that counts the rows read through it (what Dask's from_array asks for)."""

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.ndim = a, a.shape, a.dtype, a.ndim
        self.rows = 0
        self._lock = threading.Lock()

    def __getitem__(self, idx):
        out = self.a[idx]
        if out.ndim == 2:
            with self._lock:
                self.rows += out.shape[0]
        return out


def _reads(x, **kwargs):
    counter = CountingArray(x)
    lazy = da.from_array(counter, chunks=(256, x.shape[1]), asarray=True, lock=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gp.analyze(lazy, rng=0, **kwargs)
    return counter.rows / x.shape[0]


@pytest.mark.parametrize("block_size", [None, 100])
def test_analyze_reads_the_data_as_often_as_the_docs_say(rng, block_size):
    # docs/scaling.md: the validation (its value range and column means) 1, row pass 1 (moments, norms,
    # projections, the spilled columns) 1, row pass 2 (centred norms, Mardia's kurtosis or tensor route,
    # Doornik-Hansen, the principal directions' held-out projections, the pursuit's whitened rows) 1
    x = rng.standard_normal((5000, 8))
    assert _reads(x, block_size=block_size) == 3
    # "all" adds one read for each test that needs every whitened row in memory at once (Henze-Zirkler,
    # energy, and Mardia's Gram route when it is taken: not at d = 8) and one per block of sorted columns
    # for Royston's W (one block here)
    assert _reads(x[:2000], tests="all", n_resamples=2, block_size=block_size) == 6


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_file_sink_writes_row_ranges_from_threads_and_keeps_no_map(tmp_path, rng, dtype):
    from concurrent.futures import ThreadPoolExecutor

    from gaussprobe._engine._columns import FileSink, close_spill

    values = rng.standard_normal((97, 11))
    sink = FileSink(folder=str(tmp_path), prefix="cols", n_rows=97, n_columns=11, width=4, dtype=dtype).create()
    cuts = [0, 1, 30, 31, 64, 97]
    with ThreadPoolExecutor(3) as pool:  # row ranges in any order, from several threads
        list(pool.map(lambda ab: sink.write(ab[0], ab[1], values[ab[0]:ab[1]]),
                      reversed(list(itertools.pairwise(cuts)))))
    try:
        with open("/proc/self/maps") as f:  # positioned writes: no map of a spill file is held
            assert not any(str(tmp_path) in line for line in f)
    except FileNotFoundError:  # pragma: no cover - not Linux
        pass
    close_spill(str(tmp_path))
    cols = sink.columns()
    for a, b in sink.spans():
        np.testing.assert_array_equal(np.asarray(cols.block(a, b)), values[:, a:b].astype(dtype))
