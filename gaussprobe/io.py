"""Load embedding matrices from files safely, and the bundled demo embeddings.

Nothing here unpickles data: ``.npy``/``.npz`` are read with ``allow_pickle=False`` and torch files with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np

DEMO_FILE = "minilm_stdlib.npz"


class EmbeddingFileError(ValueError):
    """A file could not be read as an embedding matrix (missing, unknown format, corrupt, ambiguous...)."""


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


__all__ = ["EmbeddingFileError", "load_demo"]
