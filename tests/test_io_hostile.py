"""Files that lie or surprise: pandas CSV conventions, decompression bombs, headers promising huge shapes."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from gaussprobe import GaussprobeWarning
from gaussprobe.io import EmbeddingFileError, load_embeddings, read_embeddings


@pytest.fixture
def x():
    return np.random.default_rng(5).standard_normal((30, 4))


def _csv(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def _rows(a, fmt="{:.6f}"):
    return "".join(",".join(fmt.format(v) for v in r) + "\n" for r in a)


# ---------------------------------------------------------------- CSV: headers, index columns, BOM
def test_numeric_header_row_is_read_as_labels(tmp_path, x):
    """pd.DataFrame(x).to_csv(index=False) writes the header 0,1,...,d-1."""
    p = _csv(tmp_path / "h.csv", "0,1,2,3\n" + _rows(x))
    a = load_embeddings(p)
    assert a.shape == x.shape
    np.testing.assert_allclose(a, x, atol=1e-6)


def test_numeric_first_row_that_is_not_the_labels_stays_data(tmp_path):
    p = _csv(tmp_path / "d.csv", "0,1,3\n1.5,2,3\n")  # not 0..d-1
    assert load_embeddings(p).shape == (2, 3)
    p = _csv(tmp_path / "f.csv", "0.0,1.0,2.0\n1.5,2,3\n")  # written as floats: data
    assert load_embeddings(p).shape == (2, 3)


def test_pandas_files_roundtrip(tmp_path, x):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(x)
    df.to_csv(tmp_path / "noindex.csv", index=False)
    np.testing.assert_allclose(load_embeddings(tmp_path / "noindex.csv"), x, rtol=1e-12)
    df.to_csv(tmp_path / "index.csv")
    with pytest.warns(GaussprobeWarning, match=r"dropped the first column: its header name is empty"):
        r = read_embeddings(tmp_path / "index.csv")
    np.testing.assert_allclose(r.data, x, rtol=1e-12)
    assert r.notes
    df.rename_axis("index").to_csv(tmp_path / "named.csv")
    with pytest.warns(GaussprobeWarning, match=r"dropped the first column 'index'.*0\.\.29"):
        a = load_embeddings(tmp_path / "named.csv")
    np.testing.assert_allclose(a, x, rtol=1e-12)
    df.to_csv(tmp_path / "bom.csv", index=False, encoding="utf-8-sig")
    np.testing.assert_allclose(load_embeddings(tmp_path / "bom.csv"), x, rtol=1e-12)


def test_empty_named_index_column_is_dropped_whatever_its_values(tmp_path, x):
    body = "".join(f"{7 * i + 3}," + ",".join(f"{v:.6f}" for v in r) + "\n" for i, r in enumerate(x))
    p = _csv(tmp_path / "i.csv", ",a,b,c,d\n" + body)
    with pytest.warns(GaussprobeWarning, match=r"empty"):
        a = load_embeddings(p, max_rows=5)
    np.testing.assert_allclose(a, x[:5], atol=1e-6)


def test_index_named_column_with_other_values_is_kept_with_a_warning(tmp_path, x):
    body = "".join(f"{i + 1000}," + ",".join(f"{v:.6f}" for v in r) + "\n" for i, r in enumerate(x))
    p = _csv(tmp_path / "id.csv", "id,a,b,c,d\n" + body)
    with pytest.warns(GaussprobeWarning, match=r"kept the first column 'id' as a feature"):
        a = load_embeddings(p)
    assert a.shape == (30, 5)


def test_a_feature_named_like_an_index_column_is_not_dropped_without_a_header(tmp_path):
    rows = "".join(f"{i},{i * 0.5:.3f}\n" for i in range(10))  # no header: nothing can name an index
    assert load_embeddings(_csv(tmp_path / "n.csv", rows)).shape == (10, 2)


def test_bom_does_not_swallow_the_first_row(tmp_path, x):
    p = _csv(tmp_path / "bom.csv", _rows(x), encoding="utf-8-sig")
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    a = load_embeddings(p)
    assert a.shape == x.shape
    np.testing.assert_allclose(a, x, atol=1e-6)
    q = _csv(tmp_path / "bomh.tsv", "a\tb\tc\td\n" + _rows(x).replace(",", "\t"), encoding="utf-8-sig")
    assert load_embeddings(q).shape == x.shape


def test_index_column_next_to_a_single_feature(tmp_path):
    p = _csv(tmp_path / "one.csv", "index,0\n0,1.5\n1,2.5\n")
    with pytest.warns(GaussprobeWarning, match=r"dropped the first column 'index'"):
        np.testing.assert_array_equal(load_embeddings(p), [[1.5], [2.5]])
    q = _csv(tmp_path / "q.csv", "index\n0\n1\n")
    assert load_embeddings(q).shape == (2, 1)  # a lone column is never taken for an index


# ---------------------------------------------------------------- .npz: bounded decompression
def _npz_member(path, name, header_shape, payload, *, compress=zipfile.ZIP_DEFLATED, dtype="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": header_shape})
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr(name + ".npy", buf.getvalue() + payload)


def test_npz_over_the_budget_is_refused_before_inflating(tmp_path, monkeypatch):
    import gaussprobe._readers as readers

    np.savez_compressed(tmp_path / "b.npz", emb=np.zeros((2000, 100)))  # 1.6 MB inflated, ~2 kB on disk
    with pytest.raises(EmbeddingFileError, match=r"needs 1.6 MB in memory, more than the loading budget"
                                                  r" of 100 kB.*--max-rows") as ei:
        load_embeddings(tmp_path / "b.npz", max_bytes=100_000)
    assert "\n" not in str(ei.value)
    inflated = []
    real_read = readers._read_exact
    monkeypatch.setattr(readers, "_read_exact", lambda *a: inflated.append(a) or real_read(*a))
    a = load_embeddings(tmp_path / "b.npz", max_rows=10, max_bytes=100_000)
    assert a.shape == (10, 100)
    assert len(inflated) == 1
    monkeypatch.setattr(readers, "MEMORY_BUDGET", 100_000)  # the module default applies the same way
    with pytest.raises(EmbeddingFileError, match=r"loading budget"):
        load_embeddings(tmp_path / "b.npz")


def test_npz_max_rows_streams_only_the_needed_rows(tmp_path):
    x = np.random.default_rng(0).standard_normal((20_000, 50))  # 8 MB inflated
    np.savez_compressed(tmp_path / "s.npz", emb=x)
    tracemalloc.start()
    a = load_embeddings(tmp_path / "s.npz", max_rows=10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_array_equal(a, x[:10])
    assert peak < 1_000_000  # the ten rows and zip buffers, not the 8 MB array


def test_npz_fortran_order_and_full_read(tmp_path):
    x = np.random.default_rng(1).standard_normal((300, 7))
    np.savez_compressed(tmp_path / "f.npz", emb=np.asfortranarray(x))
    np.testing.assert_array_equal(load_embeddings(tmp_path / "f.npz", max_rows=5), x[:5])
    np.testing.assert_array_equal(load_embeddings(tmp_path / "f.npz"), x)
    np.savez(tmp_path / "c.npz", emb=x.astype(">f4"))
    np.testing.assert_array_equal(load_embeddings(tmp_path / "c.npz", max_rows=3), x[:3].astype(np.float32))


def test_corrupt_npz_says_corrupt_not_out_of_memory(tmp_path):
    p = tmp_path / "c.npz"
    _npz_member(p, "emb", (250_000, 1000), b"\x00" * 64)  # a small file whose header promises 2 GB
    assert p.stat().st_size < 600
    with pytest.raises(EmbeddingFileError, match=r"corrupt \.npz: the header of array 'emb' declares shape "
                                                  r"\(250000, 1000\) float64 \(2,000,000,128 bytes\) but "
                                                  r"the archive records 192 bytes") as ei:
        load_embeddings(p, max_rows=10)
    assert "memory" not in str(ei.value)


def test_npz_member_with_an_impossible_compression_ratio_is_corrupt(tmp_path):
    p = tmp_path / "r.npz"
    n = 12_500_000  # the header claims 100 MB, the member holds 3,200 zero bytes
    _npz_member(p, "emb", (n, 1), b"\x00" * 3200)
    with zipfile.ZipFile(p) as z:
        recorded = z.infolist()[0].file_size
    data = p.read_bytes()
    old, new = recorded.to_bytes(4, "little"), (recorded - 3200 + 8 * n).to_bytes(4, "little")
    assert data.count(old) == 2  # the local header and the central directory
    p.write_bytes(data.replace(old, new))  # now the sizes agree with the header, the ratio cannot
    with pytest.raises(EmbeddingFileError, match=r"corrupt \.npz: array 'emb' claims 100,000,128 bytes "
                                                  r"from \d+ compressed bytes"):
        load_embeddings(p)


def test_npz_truncated_member_data(tmp_path):
    p = tmp_path / "t.npz"
    _npz_member(p, "emb", (100, 4), b"\x00" * 3200, compress=zipfile.ZIP_STORED)
    data = p.read_bytes()
    # cut the stored member's data in the middle but keep a consistent-looking archive end
    with zipfile.ZipFile(p) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode())
    cut = bytearray(data)
    cut[start + 1000:start + 3328] = b""
    (tmp_path / "cut.npz").write_bytes(bytes(cut))
    with pytest.raises(EmbeddingFileError, match=r"truncated|corrupt") as ei:
        load_embeddings(tmp_path / "cut.npz")
    assert "\n" not in str(ei.value)


def test_cut_npz_is_reported_corrupt(tmp_path):
    np.savez_compressed(tmp_path / "b.npz", emb=np.zeros((5000, 100)))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "b.npz").read_bytes()[:304])
    with pytest.raises(EmbeddingFileError, match=r"truncated or corrupt") as ei:
        load_embeddings(tmp_path / "cut.npz", max_rows=10)
    assert "memory" not in str(ei.value)


# ---------------------------------------------------------------- other containers
def test_npy_negative_dimension_is_a_corrupt_header(tmp_path):
    p = tmp_path / "n.npy"
    with p.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (-2, -3)})
        f.write(b"\x00" * 24)
    with pytest.raises(EmbeddingFileError, match=r"corrupt \.npy header \(negative dimension"):
        load_embeddings(p)


def test_npy_in_memory_read_respects_the_budget(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((1000, 10)))
    with pytest.raises(EmbeddingFileError, match=r"loading budget"):
        load_embeddings(tmp_path / "e.npy", mmap=False, max_bytes=10_000)
    assert load_embeddings(tmp_path / "e.npy", mmap=False, max_rows=100, max_bytes=10_000).shape == (100, 10)
    assert load_embeddings(tmp_path / "e.npy", mmap=True, max_bytes=10_000).shape == (1000, 10)  # mapped


def test_max_bytes_is_validated(tmp_path, x):
    np.save(tmp_path / "e.npy", x)
    with pytest.raises(ValueError, match=r"`max_bytes` must be a positive integer"):
        load_embeddings(tmp_path / "e.npy", max_bytes=0)


def _safetensors(path, header, payload):
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + payload)


def test_safetensors_lying_headers(tmp_path):
    p = tmp_path / "h.safetensors"
    _safetensors(p, {"emb": {"dtype": "F32", "shape": [10**9, 10**6], "data_offsets": [0, 4 * 10**15]}},
                 b"\x00" * 64)
    with pytest.raises(EmbeddingFileError, match=r"truncated"):
        load_embeddings(p)
    _safetensors(p, {"emb": {"dtype": "F32", "shape": [-2, -3], "data_offsets": [0, 24]}}, b"\x00" * 24)
    with pytest.raises(EmbeddingFileError, match=r"negative dimension"):
        load_embeddings(p)
    _safetensors(p, {"emb": {"dtype": "BF16", "shape": [100, 10], "data_offsets": [0, 2000]}}, b"\x00" * 2000)
    with pytest.raises(EmbeddingFileError, match=r"bfloat16 to float32 needs 4 kB"):
        load_embeddings(p, max_bytes=1000)
    assert load_embeddings(p, max_rows=10, max_bytes=1000).dtype == np.float32


def test_parquet_and_arrow_respect_the_budget(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x = np.zeros((5000, 16))
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 16)})
    pq.write_table(table, tmp_path / "z.parquet", compression="zstd")
    with pytest.raises(EmbeddingFileError, match=r"5,000 rows of 16 float64 values needs 640 kB"):
        load_embeddings(tmp_path / "z.parquet", max_bytes=100_000)
    assert load_embeddings(tmp_path / "z.parquet", max_rows=100, max_bytes=100_000).shape == (100, 16)
    with pa.OSFile(str(tmp_path / "s.arrows"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        for batch in table.to_batches(max_chunksize=500):
            w.write_batch(batch)
    with pytest.raises(EmbeddingFileError, match=r"Arrow stream's first .* rows needs"):
        load_embeddings(tmp_path / "s.arrows", format="arrow", max_bytes=100_000)
    r = read_embeddings(tmp_path / "s.arrows", format="arrow", max_rows=400, max_bytes=100_000)
    assert r.data.shape == (400, 16)
    assert r.n_rows_in_file is None  # a stream cut early: its length is unknown
    assert read_embeddings(tmp_path / "s.arrows", format="arrow").n_rows_in_file == 5000


def test_jsonl_respects_the_budget(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text("".join(json.dumps([0.0] * 50) + "\n" for _ in range(100)))
    with pytest.raises(EmbeddingFileError, match=r"100 rows of 50 values needs 40 kB"):
        load_embeddings(p, max_bytes=10_000)
    assert load_embeddings(p, max_rows=10, max_bytes=10_000).shape == (10, 50)


def test_torch_conversion_respects_the_budget(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.zeros((1000, 10), dtype=torch.bfloat16), tmp_path / "b.pt")
    with pytest.raises(EmbeddingFileError, match=r"converting the torch.bfloat16 tensor"):
        load_embeddings(tmp_path / "b.pt", max_bytes=10_000)
    assert load_embeddings(tmp_path / "b.pt", max_rows=100, max_bytes=10_000).shape == (100, 10)
    torch.save([torch.zeros(10) for _ in range(1000)], tmp_path / "l.pt")
    with pytest.raises(EmbeddingFileError, match=r"stacking 1,000 tensors"):
        load_embeddings(tmp_path / "l.pt", max_bytes=10_000)
    assert load_embeddings(tmp_path / "l.pt", max_rows=20, max_bytes=10_000).shape == (20, 10)
