"""Loading embedding files safely: every format, and every error path, with one-line messages."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussprobe.io import (
    EmbeddingFileError,
    load_demo,
    load_embeddings,
    read_embeddings,
    sniff_format,
)


@pytest.fixture
def x():
    return np.random.default_rng(3).standard_normal((40, 5)).astype(np.float32)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


# ---------------------------------------------------------------- formats that work
def test_npy_roundtrip_and_mmap(tmp_path, x):
    p = tmp_path / "e.npy"
    np.save(p, x)
    a = load_embeddings(p)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, x)
    m = load_embeddings(p, mmap=True)
    assert isinstance(m, np.memmap)
    np.testing.assert_array_equal(m, x)
    np.testing.assert_array_equal(load_embeddings(p, max_rows=7), x[:7])
    np.testing.assert_array_equal(load_embeddings(p, max_rows=7, mmap=True), x[:7])
    np.testing.assert_array_equal(load_embeddings(p, max_rows=1000), x)


def test_npy_fortran_order(tmp_path, x):
    p = tmp_path / "f.npy"
    np.save(p, np.asfortranarray(x))
    np.testing.assert_array_equal(load_embeddings(p, max_rows=3), x[:3])


def test_npz_keys(tmp_path, x):
    np.savez(tmp_path / "one.npz", x)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "one.npz"), x)
    # one 2-D numeric array next to labels: unambiguous
    np.savez_compressed(tmp_path / "two.npz", emb=x, labels=np.arange(len(x)))
    r = read_embeddings(tmp_path / "two.npz")
    assert r.key == "emb"
    np.testing.assert_array_equal(r.data, x)
    np.savez(tmp_path / "amb.npz", a=x, b=x[:, :3])
    with pytest.raises(EmbeddingFileError, match=r"ambiguous.*'a' \[40, 5\].*'b' \[40, 3\]") as ei:
        load_embeddings(tmp_path / "amb.npz")
    _one_line(ei.value)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "amb.npz", key="b"), x[:, :3])
    with pytest.raises(EmbeddingFileError, match=r"no array named 'c'; available: 'a'"):
        load_embeddings(tmp_path / "amb.npz", key="c")


def test_demo_npz_picks_the_embeddings():
    from importlib import resources

    with resources.as_file(resources.files("gaussprobe").joinpath("data", "minilm_stdlib.npz")) as p:
        r = read_embeddings(p)
    assert r.key == "embeddings"
    assert r.data.shape == (2000, 384)


@pytest.mark.torch
def test_torch_files(tmp_path, x):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x)
    torch.save(t, tmp_path / "t.pt")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "t.pt"), x)
    torch.save({"emb": t, "step": torch.tensor(3)}, tmp_path / "d.pth")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "d.pth"), x)
    torch.save({"a": t, "b": t}, tmp_path / "amb.pt")
    with pytest.raises(EmbeddingFileError, match=r"several tensors.*--key"):
        load_embeddings(tmp_path / "amb.pt")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "amb.pt", key="b", max_rows=4), x[:4])
    torch.save(t.to(torch.bfloat16), tmp_path / "bf.pt")
    a = load_embeddings(tmp_path / "bf.pt")
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, x, rtol=1e-2)
    torch.save([t[0], t[1], t[2]], tmp_path / "list.pt")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "list.pt"), x[:3])
    torch.save([t[0], t[1, :3]], tmp_path / "ragged.pt")
    with pytest.raises(EmbeddingFileError, match=r"ragged"):
        load_embeddings(tmp_path / "ragged.pt")


@pytest.mark.torch
def test_torch_pickled_objects_are_refused(tmp_path):
    torch = pytest.importorskip("torch")

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"emb": torch.zeros(10, 3), "obj": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(EmbeddingFileError, match=r"weights_only|never unpickles") as ei:
        load_embeddings(tmp_path / "evil.pt")
    _one_line(ei.value)


def test_safetensors_including_bf16(tmp_path, x):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"emb": x, "bias": x[0]}, tmp_path / "e.safetensors")
    a = load_embeddings(tmp_path / "e.safetensors")
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "e.safetensors", max_rows=5), x[:5])
    torch = pytest.importorskip("torch")
    sto = pytest.importorskip("safetensors.torch")
    sto.save_file({"emb": torch.from_numpy(x).to(torch.bfloat16)}, tmp_path / "bf.safetensors")
    bf = load_embeddings(tmp_path / "bf.safetensors")
    np.testing.assert_array_equal(bf, torch.from_numpy(x).to(torch.bfloat16).float().numpy())


def test_parquet_and_arrow(tmp_path, x):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    lists = pa.array(list(x), type=pa.list_(pa.float32()))
    table = pa.table({"text": [f"s{i}" for i in range(len(x))], "emb": lists})
    pq.write_table(table, tmp_path / "l.parquet", row_group_size=16)  # several batches
    r = read_embeddings(tmp_path / "l.parquet")
    assert (r.key, r.n_rows_in_file) == ("emb", 40)
    np.testing.assert_array_equal(r.data, x)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "l.parquet", max_rows=20), x[:20])
    with pytest.raises(EmbeddingFileError, match=r"--column needs a list"):
        load_embeddings(tmp_path / "l.parquet", column="text")
    pq.write_table(pa.table({f"c{i}": x[:, i] for i in range(5)}), tmp_path / "n.parquet")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "n.parquet"), x)
    pq.write_table(pa.table({"id": ["a"] * 40, "v": x[:, 0]}), tmp_path / "s.parquet")
    with pytest.raises(EmbeddingFileError, match=r"non-numeric columns \{'id': 'string'\}"):
        load_embeddings(tmp_path / "s.parquet")
    two = pa.table({"a": lists, "b": lists})
    pq.write_table(two, tmp_path / "two.parquet")
    with pytest.raises(EmbeddingFileError, match=r"several list columns \['a', 'b'\]"):
        load_embeddings(tmp_path / "two.parquet")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "two.parquet", column="b"), x)
    fixed = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 5)})
    with pa.ipc.new_file(tmp_path / "f.arrow", fixed.schema) as w:
        w.write_table(fixed, max_chunksize=15)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "f.arrow"), x)
    with pa.ipc.new_stream(tmp_path / "s.arrows", fixed.schema) as w:
        w.write_table(fixed)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "s.arrows"), x)  # sniffed


def test_parquet_ragged_and_null(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"emb": [[1.0, 2.0], [1.0, 2.0], [3.0]]}), tmp_path / "r.parquet")
    with pytest.raises(EmbeddingFileError, match=r"ragged rows.*row 2 has 1"):
        load_embeddings(tmp_path / "r.parquet")
    pq.write_table(pa.table({"emb": [[1.0, 2.0], None]}), tmp_path / "n.parquet")
    with pytest.raises(EmbeddingFileError, match=r"null in row 1"):
        load_embeddings(tmp_path / "n.parquet")


def test_csv_tsv(tmp_path, x):
    np.savetxt(tmp_path / "h.csv", x, delimiter=",", header="a,b,c,d,e", comments="")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "h.csv"), x.astype(np.float64))
    np.savetxt(tmp_path / "n.tsv", x, delimiter="\t")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "n.tsv", max_rows=3), x[:3])
    (tmp_path / "rag.csv").write_text("1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(EmbeddingFileError, match=r"ragged rows") as ei:
        load_embeddings(tmp_path / "rag.csv")
    _one_line(ei.value)
    (tmp_path / "txt.csv").write_text("text,a,b\nhello,1,2\nworld,3,4\n")
    with pytest.raises(EmbeddingFileError, match=r"could not convert.*columns: \['text', 'a', 'b'\]"):
        load_embeddings(tmp_path / "txt.csv")
    (tmp_path / "hdr.csv").write_text("a,b\n")
    with pytest.raises(EmbeddingFileError, match=r"no data rows|empty"):
        load_embeddings(tmp_path / "hdr.csv")


def test_jsonl(tmp_path, x):
    p = tmp_path / "e.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": "t", "embedding": r.tolist()}) + "\n"
                         for i, r in enumerate(x)))
    r = read_embeddings(p)
    assert r.key == "embedding"
    np.testing.assert_allclose(r.data, x)
    q = tmp_path / "arr.jsonl"
    q.write_text("[1, 2]\n\n[3, 4]\n[5, 6]\n")
    np.testing.assert_array_equal(load_embeddings(q, max_rows=2), [[1, 2], [3, 4]])
    (tmp_path / "rag.jsonl").write_text("[1, 2]\n[3]\n")
    with pytest.raises(EmbeddingFileError, match=r"ragged rows: line 2 has 1"):
        load_embeddings(tmp_path / "rag.jsonl")
    (tmp_path / "str.jsonl").write_text('[1, 2]\n[3, "x"]\n')
    with pytest.raises(EmbeddingFileError, match=r"line 2: non-numeric value 'x'"):
        load_embeddings(tmp_path / "str.jsonl")
    (tmp_path / "two.jsonl").write_text('{"a": [1, 2], "b": [3, 4]}\n')
    with pytest.raises(EmbeddingFileError, match=r"several list fields"):
        load_embeddings(tmp_path / "two.jsonl")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "two.jsonl", key="b"), [[3, 4]])
    (tmp_path / "bad.jsonl").write_text("[1, 2]\n[3, 4\n")
    with pytest.raises(EmbeddingFileError, match=r"line 2 is not valid JSON"):
        load_embeddings(tmp_path / "bad.jsonl")


def test_wrong_extension_is_sniffed(tmp_path, x):
    p = tmp_path / "really_npy.csv"
    with p.open("wb") as f:
        np.save(f, x)
    assert sniff_format(p) == "npy"
    np.testing.assert_array_equal(load_embeddings(p), x)
    q = tmp_path / "noext"
    np.savez(q.with_suffix(".npz"), x)
    (tmp_path / "noext.npz").rename(q)
    np.testing.assert_array_equal(load_embeddings(q), x)


# ---------------------------------------------------------------- error paths
def test_missing_empty_directory_unknown(tmp_path):
    with pytest.raises(EmbeddingFileError, match=r"nope.npy: no such file"):
        load_embeddings(tmp_path / "nope.npy")
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(EmbeddingFileError, match=r"empty"):
        load_embeddings(tmp_path / "empty.npy")
    with pytest.raises(EmbeddingFileError, match=r"is a directory"):
        load_embeddings(tmp_path)
    (tmp_path / "x.weird").write_bytes(b"\x00\x01garbage")
    with pytest.raises(EmbeddingFileError, match=r"unknown format.*\.npy"):
        load_embeddings(tmp_path / "x.weird")
    (tmp_path / "x.npy").write_bytes(b"not numpy at all")
    with pytest.raises(EmbeddingFileError, match=r"does not look like a .npy"):
        load_embeddings(tmp_path / "x.npy")
    with pytest.raises(EmbeddingFileError, match=r"unknown format 'xls'"):
        load_embeddings(tmp_path / "x.npy", format="xls")
    with pytest.raises(ValueError, match=r"max_rows"):
        load_embeddings(tmp_path / "x.npy", max_rows=0)


def test_truncated_npy(tmp_path, x):
    p = tmp_path / "t.npy"
    np.save(p, x)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 17])
    with pytest.raises(EmbeddingFileError, match=r"truncated: the header promises shape \(40, 5\)"):
        load_embeddings(p)
    p.write_bytes(data[:20])
    with pytest.raises(EmbeddingFileError, match=r"corrupt .npy header"):
        load_embeddings(p)


def test_huge_header_shape_does_not_allocate(tmp_path):
    p = tmp_path / "h.npy"
    with p.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 10**6)})
        f.write(b"\x00" * 64)
    with pytest.raises(EmbeddingFileError, match=r"truncated"):
        load_embeddings(p)


def test_pickled_object_arrays_are_refused(tmp_path):
    p = tmp_path / "o.npy"
    np.save(p, np.array([[1.0, "a"], [2.0, None]], dtype=object), allow_pickle=True)
    with pytest.raises(EmbeddingFileError, match=r"pickled object array.*arbitrary code") as ei:
        load_embeddings(p)
    _one_line(ei.value)
    np.savez(tmp_path / "o.npz", emb=np.array([[1.0], [2.0]], dtype=object))
    with pytest.raises(EmbeddingFileError, match=r"pickled object array"):
        load_embeddings(tmp_path / "o.npz")
    (tmp_path / "raw.pkl.npy").write_bytes(pickle.dumps(np.ones((3, 3))))
    with pytest.raises(EmbeddingFileError):
        load_embeddings(tmp_path / "raw.pkl.npy")


def test_wrong_shape_and_dtype(tmp_path):
    np.save(tmp_path / "v.npy", np.ones(5))
    with pytest.raises(EmbeddingFileError, match=r"shape \(5,\); expected 2-D"):
        load_embeddings(tmp_path / "v.npy")
    np.save(tmp_path / "c.npy", np.ones((3, 3), dtype=complex))
    with pytest.raises(EmbeddingFileError, match=r"complex"):
        load_embeddings(tmp_path / "c.npy")
    np.save(tmp_path / "s.npy", np.array([["a", "b"]]))
    with pytest.raises(EmbeddingFileError, match=r"not numeric"):
        load_embeddings(tmp_path / "s.npy")
    np.save(tmp_path / "z.npy", np.ones((0, 3), dtype=np.float32))
    with pytest.raises(EmbeddingFileError, match=r"empty"):
        load_embeddings(tmp_path / "z.npy")


def test_corrupt_binary_formats(tmp_path, x):
    np.savez_compressed(tmp_path / "z.npz", emb=x)
    data = (tmp_path / "z.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(EmbeddingFileError) as ei:
        load_embeddings(tmp_path / "cut.npz")
    _one_line(ei.value)
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"emb": x}, tmp_path / "e.safetensors")
    data = (tmp_path / "e.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-40])
    with pytest.raises(EmbeddingFileError, match=r"truncated"):
        load_embeddings(tmp_path / "cut.safetensors")
    pytest.importorskip("pyarrow")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": x[:, 0]}), tmp_path / "p.parquet")
    data = (tmp_path / "p.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[:-30])
    with pytest.raises(EmbeddingFileError, match=r"parquet") as ei:
        load_embeddings(tmp_path / "cut.parquet")
    _one_line(ei.value)


def test_missing_optional_dependency_gives_install_hint(tmp_path, x):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"a": x[:, 0]}), tmp_path / "p.parquet")
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from gaussprobe.io import load_embeddings\n"
        "try:\n"
        f"    load_embeddings({str(tmp_path / 'p.parquet')!r})\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'gaussprobe[io]'" in out.stdout


def test_key_and_column_together_is_a_usage_error(tmp_path, x):
    np.save(tmp_path / "e.npy", x)
    with pytest.raises(ValueError, match=r"either `key`"):
        load_embeddings(tmp_path / "e.npy", key="a", column="b")


# ---------------------------------------------------------------- demo data
def test_load_demo():
    emb, sentences, meta = load_demo()
    assert emb.shape == (2000, 384)
    assert emb.dtype == np.float32
    assert len(sentences) == 2000
    assert len(set(sentences)) == 2000
    assert all(isinstance(s, str) and 25 <= len(s) <= 200 for s in sentences)
    assert meta["weights_sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert meta["normalized"] is False
    norms = np.linalg.norm(emb.astype(np.float64), axis=1)
    assert 4.0 < norms.mean() < 7.0  # raw vectors: norms carry information
    cov = np.cov(emb.astype(np.float64), rowvar=False)
    ev = np.linalg.eigvalsh(cov)
    assert int((ev > ev.max() * 1e-10).sum()) == 381  # the encoder's known rank deficiency
    unit, _, meta_n = load_demo(normalize=True)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-6)
    assert meta_n["normalized"] is True


# ---------------------------------------------------------------- memory: no second full copy
def test_large_npy_is_memory_mapped(tmp_path, monkeypatch, x):
    import gaussprobe._readers as readers

    np.save(tmp_path / "big.npy", x)
    monkeypatch.setattr(readers, "MMAP_THRESHOLD", 100)  # make the small file count as large
    a = load_embeddings(tmp_path / "big.npy")
    assert isinstance(a, np.memmap)
    assert not a.flags.writeable


def test_parquet_batches_fill_one_array(tmp_path):
    import tracemalloc

    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x = np.random.default_rng(0).standard_normal((40_000, 32)).astype(np.float32)
    table = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 32)})
    pq.write_table(table, tmp_path / "e.parquet", row_group_size=4096)
    tracemalloc.start()
    a = load_embeddings(tmp_path / "e.parquet")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_array_equal(a, x)
    assert peak < 1.5 * x.nbytes  # the result plus one batch, not two full copies


# ---------------------------------------------------------------- fuzzing: only clear errors

_EXTS = [".npy", ".npz", ".pt", ".safetensors", ".parquet", ".arrow", ".csv", ".tsv", ".jsonl", ".bin"]
_PREFIXES = [b"", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"PAR1", b"ARROW1\x00\x00", b"\x80\x02",
             (16).to_bytes(8, "little") + b"{", b"[1, 2]\n"]


@settings(max_examples=200, deadline=5000)
@given(prefix=st.sampled_from(_PREFIXES), body=st.binary(max_size=400), ext=st.sampled_from(_EXTS))
def test_random_bytes_give_only_embedding_file_errors(prefix, body, ext):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f{ext}"
        p.write_bytes(prefix + body)
        error = None
        try:
            a = load_embeddings(p)
        except EmbeddingFileError as exc:
            error = exc
        if error is None:  # the bytes happened to form a valid matrix
            assert a.ndim == 2
            assert a.size > 0
        else:
            assert _one_line(error).startswith(f"f{ext}: ")
