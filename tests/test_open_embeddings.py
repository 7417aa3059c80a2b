"""``gp.open_embeddings``: files and shards opened lazily, with the loading rules of load_embeddings."""

from __future__ import annotations

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
