"""``gp.open_embeddings``: files and shards opened lazily, with the loading rules of load_embeddings."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import gaussprobe as gp
from gaussprobe.io import EmbeddingFileError

da = pytest.importorskip("dask.array")


def _save_shards(folder, rng, rows=(120, 7, 300), d=6, dtype=np.float32):
    parts = []
    for i, r in enumerate(rows):
        a = rng.standard_normal((r, d)).astype(dtype)
        np.save(folder / f"part-{i:02d}.npy", a)
        parts.append(a)
    return np.concatenate(parts)


def test_npy_shards_of_mixed_row_counts_open_lazily_and_in_order(tmp_path, rng):
    full = _save_shards(tmp_path, rng)
    x = gp.open_embeddings(str(tmp_path / "part-*.npy"))
    assert isinstance(x, da.Array)
    assert x.shape == full.shape and x.dtype == np.float32
    np.testing.assert_array_equal(x.compute(), full)
    same = gp.open_embeddings(tmp_path)  # a folder: its embedding files, sorted
    np.testing.assert_array_equal(same.compute(), full)
    listed = gp.open_embeddings([tmp_path / "part-02.npy", tmp_path / "part-00.npy"])
    assert listed.shape == (420, 6)


def test_chunk_rows_sets_the_row_chunks(tmp_path, rng):
    a = rng.standard_normal((1000, 4))
    np.save(tmp_path / "a.npy", a)
    x = gp.open_embeddings(tmp_path / "a.npy", chunk_rows=128)
    assert x.chunks[0][0] == 128 and sum(x.chunks[0]) == 1000
    with pytest.raises(ValueError, match="chunk_rows"):
        gp.open_embeddings(tmp_path / "a.npy", chunk_rows=0)


def test_analyze_of_opened_shards_equals_analyze_in_memory(tmp_path, rng):
    full = _save_shards(tmp_path, rng, rows=(200, 150, 250), d=8, dtype=np.float64)
    lazy = gp.analyze(gp.open_embeddings(tmp_path / "part-*.npy"), rng=4)
    ref = gp.analyze(full, rng=4)
    assert lazy.n_samples == 600 and lazy.backend == "dask"
    assert lazy.coordinates.ad_mean == pytest.approx(ref.coordinates.ad_mean, rel=1e-12)
    assert lazy.mardia.kurtosis == pytest.approx(ref.mardia.kurtosis, rel=1e-12)


def test_a_shard_of_another_width_is_named(tmp_path, rng):
    _save_shards(tmp_path, rng, rows=(10, 10), d=6)
    np.save(tmp_path / "part-09.npy", rng.standard_normal((10, 5)))
    with pytest.raises(EmbeddingFileError, match=r"part-09\.npy.*5 columns but part-00\.npy has 6"):
        gp.open_embeddings(tmp_path / "part-*.npy")


def test_a_missing_glob_or_file_says_so(tmp_path):
    with pytest.raises(EmbeddingFileError, match="no file matches this pattern"):
        gp.open_embeddings(str(tmp_path / "nothing-*.npy"))
    with pytest.raises(EmbeddingFileError, match="no such file"):
        gp.open_embeddings(tmp_path / "missing.npy")
    with pytest.raises(EmbeddingFileError, match="no embedding files"):
        gp.open_embeddings(tmp_path)


def test_pickled_files_are_refused(tmp_path):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(EmbeddingFileError, match="pickle"):
        gp.open_embeddings(obj)
    raw = tmp_path / "emb.pkl"
    raw.write_bytes(pickle.dumps(np.ones((3, 3))))
    with pytest.raises(EmbeddingFileError):
        gp.open_embeddings(raw)


def test_parquet_row_groups_become_chunks(tmp_path, rng):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    a = rng.standard_normal((250, 5)).astype(np.float32)
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(a.ravel()), 5)})
    pq.write_table(table, tmp_path / "e.parquet", row_group_size=100)
    x = gp.open_embeddings(tmp_path / "e.parquet")
    assert x.chunks[0] == (100, 100, 50)
    np.testing.assert_array_equal(x.compute(), a)


def test_safetensors_and_zarr_open_lazily(tmp_path, rng):
    a = rng.standard_normal((90, 4)).astype(np.float32)
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"embeddings": a}, str(tmp_path / "e.safetensors"))
    np.testing.assert_array_equal(gp.open_embeddings(tmp_path / "e.safetensors").compute(), a)
    zarr = pytest.importorskip("zarr")
    z = zarr.open(str(tmp_path / "e.zarr"), mode="w", shape=a.shape, chunks=(25, 4), dtype="f4")
    z[:] = a
    x = gp.open_embeddings(tmp_path / "e.zarr")
    assert x.chunks[0] == (25, 25, 25, 15)
    np.testing.assert_array_equal(x.compute(), a)


def _maps_of(path) -> int:
    with open("/proc/self/maps") as f:
        return sum(str(path) in line for line in f)


@pytest.mark.parametrize("order", ["C", "F"])
def test_mapped_rows_read_like_the_memory_map_and_keep_no_mapping(tmp_path, rng, order):
    from gaussprobe._lazy import MappedRows

    x = rng.standard_normal((103, 7)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, np.asfortranarray(x) if order == "F" else x)
    m = np.load(path, mmap_mode="r")
    rows = MappedRows.of(m)
    assert rows is not None and rows.fortran == (order == "F")
    del m
    for index in [(slice(0, 10), slice(None)), (slice(95, 200), slice(0, 7)), (slice(5, 5), slice(None)),
                  (slice(None), slice(2, 4)), (slice(0, 50, 3), slice(None)), slice(10, 20), ([1, 5, 2], 3)]:
        got = rows[index]
        np.testing.assert_array_equal(got, x[index])
        assert type(got) is np.ndarray and not isinstance(got.base, np.memmap)
    # the rows read are arrays of their own: no map of the file outlives a read, so a worker's resident
    # set (which distributed holds against its memory limit) does not grow with the pages it has read
    if os.path.exists("/proc/self/maps"):
        kept = [rows[a:a + 10] for a in range(0, 100, 10)]
        assert _maps_of(path) == 0
        assert sum(k.shape[0] for k in kept) == 100
    # pickled as the file's name, offset, dtype and shape, not its contents
    assert len(pickle.dumps(rows)) < 1000
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(rows))[3:9], x[3:9])


def test_mapped_rows_name_a_truncated_file(tmp_path, rng):
    from gaussprobe._lazy import MappedRows

    x = rng.standard_normal((50, 4))
    path = tmp_path / "x.npy"
    np.save(path, x)
    rows = MappedRows.of(np.load(path, mmap_mode="r"))
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 8 * 4 * 10)
    with pytest.raises(OSError, match="truncated"):
        rows[30:50]
