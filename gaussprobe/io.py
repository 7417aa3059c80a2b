"""Load embedding matrices from files safely, and the bundled demo embeddings.

Nothing here unpickles data: ``.npy``/``.npz`` are read with ``allow_pickle=False`` and torch files with
``torch.load(weights_only=True)``. Large files are memory-mapped (``.npy``, ``.safetensors``, Arrow IPC)
or filled into one preallocated array (Parquet, CSV, JSON lines), so reading never holds a second full
copy of the data; data that must be held in memory is sized from the file's header first and refused
when it would exceed the loading budget (``max_bytes``), so a small compressed file cannot inflate to
gigabytes. Every failure raises :class:`EmbeddingFileError` with a one-line message that says
what was expected, what was found and how to fix it.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._readers import (
    EmbeddingFileError,
    check_matrix,
    fail,
    memory_budget,
    read_arrow_like,
    read_delimited,
    read_jsonl,
    read_npy,
    read_npz,
    read_safetensors,
    read_torch,
    resolve_format,
    sniff_format,
)
from ._warnings import GaussprobeWarning

DEMO_FILE = "minilm_stdlib.npz"
EmbeddingFileError.__module__ = __name__


@dataclass(frozen=True, slots=True)
class LoadedEmbeddings:
    """An embedding matrix read from a file, with where it came from (used by the CLI)."""

    data: np.ndarray
    path: str
    format: str
    key: str | None = None
    n_rows_in_file: int | None = None
    notes: list[str] = field(default_factory=list)



# ---------------------------------------------------------------- public entry points
def read_embeddings(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    column: str | None = None,
    max_rows: int | None = None,
    format: str | None = None,
    mmap: bool | None = None,
    max_bytes: int | None = None,
) -> LoadedEmbeddings:
    """Like :func:`load_embeddings`, but also say which format and key were used.

    What the reader left out of the data (a CSV row-index column) is both warned about
    (:class:`~gaussprobe.GaussprobeWarning`) and listed in ``notes``.
    """
    p = Path(path)
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        msg = f"`max_rows` must be a positive integer or None; got {max_rows!r}."
        raise ValueError(msg)
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                  or max_bytes < 1):
        msg = f"`max_bytes` must be a positive integer (bytes) or None; got {max_bytes!r}."
        raise ValueError(msg)
    budget = memory_budget(max_bytes)
    if key is not None and column is not None:
        msg = "give either `key` (npz, torch, safetensors, jsonl) or `column` (parquet, arrow), not both."
        raise ValueError(msg)
    if not p.exists():
        raise fail(p, "no such file")
    if p.is_dir():
        raise fail(p, "is a directory; expected an embedding file")
    if p.stat().st_size == 0:
        raise fail(p, "is empty (0 bytes)")
    fmt = resolve_format(p, format)
    chosen: str | None = None
    n_file: int | None = None
    notes: list[str] = []
    try:
        if fmt == "npy":
            data = read_npy(p, max_rows, mmap, budget)
        elif fmt == "npz":
            data, chosen = read_npz(p, key, max_rows, budget)
        elif fmt == "torch":
            data, chosen = read_torch(p, key, max_rows, budget)
        elif fmt == "safetensors":
            data, chosen = read_safetensors(p, key, max_rows, budget)
        elif fmt in {"parquet", "arrow"}:
            data, chosen, n_file = read_arrow_like(p, fmt, column if column is not None else key, max_rows,
                                                   budget)
        elif fmt in {"csv", "tsv"}:
            data, notes = read_delimited(p, "," if fmt == "csv" else "\t", max_rows)
        else:
            data, chosen = read_jsonl(p, key, max_rows, budget)
    except (EmbeddingFileError, ImportError):
        raise
    except MemoryError:
        raise fail(p, "does not fit in memory; read fewer rows with --max-rows (max_rows=...)") from None
    except Exception as exc:  # noqa: BLE001 - a parser failed in a way we did not foresee: still one clear line
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise fail(p, f"could not be read as {fmt} ({type(exc).__name__}: {text[:200]})") from None
    check_matrix(p, data, "the embedding matrix")
    for note in notes:
        warnings.warn(f"{p.name}: {note}", GaussprobeWarning, stacklevel=2)
    return LoadedEmbeddings(data=data, path=str(p), format=fmt, key=chosen, n_rows_in_file=n_file,
                            notes=notes)


def load_embeddings(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    column: str | None = None,
    max_rows: int | None = None,
    format: str | None = None,
    mmap: bool | None = None,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Read an embedding matrix ``(n_samples, n_features)`` from a file, safely.

    Parameters
    ----------
    path : str or path-like
        ``.npy``, ``.npz``, ``.pt``/``.pth``, ``.safetensors``, ``.parquet``, ``.arrow``/``.feather``,
        ``.csv``, ``.tsv`` or ``.jsonl``. The content is sniffed, so a wrong extension is tolerated.
    key : str, optional
        Which array of an ``.npz``, tensor of a torch dict or ``.safetensors`` file, or field of JSON-lines
        objects. Not needed when there is only one (or only one 2-D numeric one).
    column : str, optional
        Which list-of-numbers column of a Parquet/Arrow table. Without it, the only list column, or else
        all columns (which must then all be numeric), form the matrix.
    max_rows : int, optional
        Read only the first ``max_rows`` rows.
    format : str, optional
        Force a format (``"npy"``, ``"npz"``, ``"torch"``, ``"safetensors"``, ``"parquet"``, ``"arrow"``,
        ``"csv"``, ``"tsv"``, ``"jsonl"``) instead of detecting it.
    mmap : bool, optional
        Memory-map ``.npy`` files (default: when larger than 64 MiB). ``.safetensors`` are always
        memory-mapped.
    max_bytes : int, optional
        Memory budget of the read, in bytes (default: half the physical memory). Data that must be
        held in memory -- an inflated ``.npz`` array, Parquet/Arrow/JSON-lines values, a converted
        tensor -- is sized from the file's header before it is allocated and refused when it would
        exceed the budget; with ``max_rows`` only those rows count. Memory-mapped data does not count.

    Notes
    -----
    CSV/TSV: a UTF-8 byte-order mark is skipped, and ``#`` lines are comments. The first row is a
    header when one of its cells is not a number, or when its cells are exactly the integers
    ``0, 1, ..., d-1`` (the column labels ``pd.DataFrame(x).to_csv(index=False)`` writes; data written
    by NumPy or pandas always has a decimal point or exponent). The first column is a row index, and
    is dropped with a :class:`~gaussprobe.GaussprobeWarning`, when its header name is empty (what
    ``df.to_csv()`` writes) or when its name is one of ``index``, ``idx``, ``id``, ``row``, ``row_id``,
    ``Unnamed: 0`` and its values are exactly ``0, 1, ..., n-1``. An index-named column with other
    values is kept, with a warning. Without a header nothing is dropped.

    Returns
    -------
    ndarray
        The matrix in the file's numeric dtype (float32 stays float32; bfloat16 becomes float32).
        It may be a read-only memory map.

    Raises
    ------
    EmbeddingFileError
        (a ``ValueError``) when the file is missing, of unknown format, truncated or corrupt, holds
        pickled objects (refused: unpickling can run code), ragged rows or non-numeric columns, when
        several arrays could be meant (they are listed), or when the data would exceed ``max_bytes``.
    ImportError
        When reading the format needs an optional dependency that is missing (with the install command).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from gaussprobe.io import load_embeddings
    >>> path = os.path.join(tempfile.mkdtemp(), "emb.npy")
    >>> np.save(path, np.ones((10, 3), dtype=np.float32))
    >>> print(load_embeddings(path).shape)
    (10, 3)
    """
    return read_embeddings(path, key=key, column=column, max_rows=max_rows, format=format,
                           mmap=mmap, max_bytes=max_bytes).data


def load_demo(*, normalize: bool = False) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """The bundled demo embeddings: 2,000 real sentence embeddings of standard-library docstrings.

    Parameters
    ----------
    normalize : bool, default False
        Return the model's usual L2-normalised output (every row divided by its norm) instead of the
        raw mean-pooled vectors.

    Returns
    -------
    embeddings : ndarray of shape (2000, 384), float32
        all-MiniLM-L6-v2 embeddings of the sentences; raw (before the final ``Normalize``) by default.
    sentences : list of str
        The encoded sentences, row-aligned with ``embeddings``.
    metadata : dict
        Provenance: model, model package version, SHA-256 of the weights, Python version of the text,
        library versions and creation date.

    Notes
    -----
    The file is made by ``examples/make_demo_data.py``; ``gaussprobe/data/README.md`` describes its
    origin and licences (docstrings: PSF License; model weights: Apache-2.0). The raw embeddings have a
    rank-deficient covariance (rank 381 of 384), a property of the encoder.

    Examples
    --------
    >>> from gaussprobe.io import load_demo
    >>> x, sentences, meta = load_demo()
    >>> print(x.shape, meta["model"])
    (2000, 384) sentence-transformers/all-MiniLM-L6-v2
    """
    ref = resources.files("gaussprobe").joinpath("data", DEMO_FILE)
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as f:
        embeddings = np.ascontiguousarray(f["embeddings"], dtype=np.float32)
        sentences = [s.decode("utf-8") for s in f["sentences"].tolist()]
        metadata = json.loads(str(f["metadata"][()]))
    if normalize:
        norms = np.linalg.norm(embeddings.astype(np.float64), axis=1, keepdims=True)
        embeddings = (embeddings / norms).astype(np.float32)
        metadata = {**metadata, "normalized": True}
    return embeddings, sentences, metadata


def open_embeddings(path: Any, /, *, key: str | None = None, column: str | None = None,
                    format: str | None = None, chunk_rows: int | None = None) -> Any:
    """Open one embedding file, a glob of shards, a folder or a zarr store lazily as a Dask array.

    See :func:`gaussprobe.open_embeddings` (the same function).
    """
    from ._lazy import open_embeddings as _open

    return _open(path, key=key, column=column, format=format, chunk_rows=chunk_rows)


__all__ = ["EmbeddingFileError", "LoadedEmbeddings", "load_demo", "load_embeddings", "open_embeddings",
           "read_embeddings", "sniff_format"]
