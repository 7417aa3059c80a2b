"""The ``gaussprobe`` command line: ``analyze``, ``check``, ``encode`` and ``demo``.

Exit codes: 0 success (``check``: every criterion holds), 1 ``check`` failed a criterion, 2 a usage
or input error (one line on stderr; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
_OPTION_KEYS = ("seed", "n_projections", "tests", "dtype", "alpha")
_DTYPES = ("float64", "float32")
_ALIASES = {"min_ad_pass": "min_ad_pass_fraction", "min_dp_pass": "min_dp_pass_fraction",
            "max_projection_rejected": "max_projection_rejected_fraction"}


class UsageError(Exception):
    """A command-line or configuration error (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that raise instead of exiting."""

    def error(self, message: str) -> NoReturn:
        named = re.match(r"argument (\S+): (must be .*)$", message)
        if named:  # our option types: "--seed must be a non-negative integer; got -1"
            message = f"{named.group(1)} {named.group(2)}"
        msg = f"{message} (see `{self.prog} --help`)"
        raise UsageError(msg)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# ---------------------------------------------------------------- loading and analysis
def _load(args: argparse.Namespace) -> tuple[Any, Any, list[str]]:
    """Read the file, handle non-finite rows, move to the device. Returns (x, loaded, notes)."""
    from .io import read_embeddings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what the reader left out comes back in loaded.notes
        loaded = read_embeddings(args.path, key=args.key, column=args.column, max_rows=args.max_rows,
                                 format=args.input_format)
    x = loaded.data
    notes: list[str] = []
    for note in loaded.notes:
        notes.append(note)
        print(f"gaussprobe: warning: {Path(args.path).name}: {note}", file=sys.stderr)
    if loaded.n_rows_in_file is not None and loaded.n_rows_in_file > x.shape[0]:
        notes.append(f"read the first {x.shape[0]:,} of {loaded.n_rows_in_file:,} rows (--max-rows)")
    elif args.max_rows is not None and x.shape[0] == args.max_rows:
        notes.append(f"read at most the first {args.max_rows:,} rows (--max-rows)")
    bad = _nonfinite_rows(x)
    if bad.size:
        first = ", ".join(str(int(i)) for i in bad[:10])
        if not args.drop_nonfinite:
            msg = (f"{Path(args.path).name}: {bad.size:,} of {x.shape[0]:,} rows contain NaN or Inf "
                   f"(first rows: {first}); fix the encoder or pass --drop-nonfinite to ignore them")
            raise UsageError(msg)
        keep = np.ones(x.shape[0], dtype=bool)
        keep[bad] = False
        x = np.asarray(x)[keep]
        notes.append(f"dropped {bad.size:,} non-finite row(s) (first rows: {first}) because of --drop-nonfinite")
    if args.device and args.device != "cpu":
        from ._backend import optional_import

        torch = optional_import("torch")
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            msg = f"--device {args.device} was asked for but CUDA is not available; use --device cpu"
            raise UsageError(msg)
        x = torch.as_tensor(np.asarray(x), device=args.device)
    return x, loaded, notes


def _nonfinite_rows(x: Any, block: int = 16384) -> np.ndarray:
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.dtype.kind not in "fc":
        return np.empty(0, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a, dtype=np.float64)):
            return np.empty(0, dtype=np.int64)
    bad = [np.nonzero(~np.isfinite(a[s:s + block]).all(axis=1))[0] + s for s in range(0, a.shape[0], block)]
    return np.concatenate(bad) if bad else np.empty(0, dtype=np.int64)


def _analyze(x: Any, args: argparse.Namespace, notes: list[str]) -> Any:
    from .report import analyze

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = analyze(x, rng=args.seed, n_projections=args.n_projections, tests=args.tests,
                         dtype=args.dtype, alpha=args.alpha)
    seen = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in seen:
            seen.add(text)
            notes.append(f"{w.category.__name__}: {text}")
            print(f"gaussprobe: warning: {text}", file=sys.stderr)
    return report


def _host(x: Any, loaded: Any) -> Any:
    """The embeddings as a host array for plotting (the loaded array when x was moved to a GPU)."""
    from ._backend import is_torch

    return np.asarray(loaded.data) if is_torch(x) and x.shape == loaded.data.shape else (
        x.detach().cpu().numpy() if is_torch(x) else x)


def _summary(report: Any) -> str:
    try:
        return str(report.summary())
    except ImportError:  # the report's own table is not available: use the renderer's
        from .render import text_summary

        return text_summary(report)


def _report_dict(report: Any, loaded: Any, notes: list[str]) -> dict[str, Any]:
    out = dict(report.to_dict())
    if loaded is not None:
        out["source"] = {"path": str(loaded.path), "format": loaded.format, "key": loaded.key,
                         "n_rows_in_file": loaded.n_rows_in_file}
    out["notes"] = list(notes)
    return out


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        print(f"gaussprobe: wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


# ---------------------------------------------------------------- criteria
def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        from ._backend import optional_import

        tomllib = optional_import("tomli")
    try:
        with path.open("rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except OSError as exc:
        msg = f"cannot read criteria file {path}: {exc.strerror or exc}"
        raise UsageError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path.name} is not valid TOML: {exc}"
        raise UsageError(msg) from None
    return data


def _gaussprobe_table(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    table = data.get("tool", {}).get("gaussprobe") if isinstance(data.get("tool"), dict) else None
    if table is None:
        table = data.get("gaussprobe")
    if table is None and path.name != "pyproject.toml":
        table = data
    if table is not None and not isinstance(table, dict):
        msg = f"[tool.gaussprobe] in {path.name} must be a table of criteria"
        raise UsageError(msg)
    return table


def _find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _check_file_options(options: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate analysis options read from a criteria table with the command line's own rules."""
    checks = {"seed": _seed, "n_projections": _positive_int, "alpha": _alpha, "dtype": _dtype}
    out = {}
    for key, value in options.items():
        check = checks.get(key)
        if check is not None:
            try:
                value = check(str(value))
            except argparse.ArgumentTypeError as exc:
                msg = f"{key} in {where} {exc}"
                raise UsageError(msg) from None
        out[key] = value
    return out


def resolve_criteria(args: argparse.Namespace) -> tuple[Any, str, dict[str, Any]]:
    """The criteria of ``gaussprobe check``: a preset with limits overridden, or ``--only`` the limits given.

    The preset is ``--preset``, else the file's ``preset`` key, else :data:`~gaussprobe.criteria.DEFAULT_PRESET`.
    Limits in the criteria file (``--criteria``, or ``[tool.gaussprobe]`` of the nearest pyproject.toml when
    neither ``--criteria`` nor ``--preset`` is given) override the preset's limit of the same name and keep
    the rest; limit flags override the file. With ``--only`` no preset is applied: the criteria are exactly
    the limits from the file and the flags. Returns ``(Criteria, description of the source, analysis
    options from the file)``.
    """
    from .criteria import DEFAULT_PRESET, Criteria, resolve

    table: dict[str, Any] | None = None
    where = ""
    if args.criteria:
        path = Path(args.criteria)
        table = _gaussprobe_table(_read_toml(path), path)
        where = path.name
    elif not args.preset:
        found = _find_pyproject(Path.cwd())
        if found is not None:
            table = _gaussprobe_table(_read_toml(found), found)
            where = f"[tool.gaussprobe] in {found.name}"
    options: dict[str, Any] = {}
    file_limits: dict[str, Any] = {}
    file_preset = None
    if table:
        file_limits = {str(k).replace("-", "_"): v for k, v in table.items()}
        options = _check_file_options({k: file_limits.pop(k) for k in _OPTION_KEYS if k in file_limits}, where)
        for short, full in _ALIASES.items():
            if short in file_limits:
                file_limits[full] = file_limits.pop(short)
        file_preset = file_limits.pop("preset", None)
        for name, value in file_limits.items():  # the flags' range rules; unknown names: from_mapping
            if name in Criteria.names():
                try:
                    _limit_type(name)(str(value))
                except argparse.ArgumentTypeError as exc:
                    msg = f"{name} in {where} {exc}"
                    raise UsageError(msg) from None
    flags = {name: getattr(args, name) for name in Criteria.names() if getattr(args, name, None) is not None}
    try:
        if args.only:
            if args.preset:
                msg = (f"--only checks only the limits given, so it cannot start from --preset {args.preset}; "
                       "drop one of the two")
                raise UsageError(msg)
            if not file_limits and not flags:
                msg = ("--only needs at least one limit to check, e.g. `gaussprobe check emb.npy --only "
                       "--max-cv 0.2` (see `gaussprobe check --help` for the limit flags); got none")
                raise UsageError(msg)
            crit = resolve(None, only=True, **{**file_limits, **flags})
            desc = "only the limits given (--only, no preset)"
        else:
            name = args.preset or (str(file_preset) if file_preset is not None else DEFAULT_PRESET)
            crit = resolve(name, **{**file_limits, **flags})
            origin = "" if args.preset else f" from {where}" if file_preset is not None else " (default)"
            desc = f"preset {name!r}{origin}"
    except (ValueError, TypeError) as exc:
        raise UsageError(_one_line(exc)) from None
    overrides = []
    if file_limits:
        overrides.append(f"{where} ({', '.join(file_limits)})")
    if flags:
        overrides.append(f"the command line ({', '.join(flags)})")
    if overrides:
        desc += (": limits from " if args.only else ", overridden by ") + " and ".join(overrides)
    if args.only and file_preset is not None:
        desc += f"; the preset {str(file_preset)!r} named in {where} is not applied"
    return crit, desc, options


# ---------------------------------------------------------------- commands
def _cmd_analyze(args: argparse.Namespace) -> int:
    x, loaded, notes = _load(args)
    report = _analyze(x, args, notes)
    source = f"{loaded.path}" + (f" [{loaded.key}]" if loaded.key else "")
    fmt = args.format
    if fmt == "json":
        text = json.dumps(_report_dict(report, loaded, notes), indent=2, allow_nan=False)
    elif fmt == "markdown":
        from .render import to_markdown

        text = to_markdown(report, source=source, notes=notes)
    elif fmt == "html":
        from .render import to_html

        text = to_html(report, _host(x, loaded), source=source, notes=notes, rng=args.seed)
    else:
        text = _summary(report) + "".join(f"\nnote: {n}" for n in notes)
    _emit(text, args.output)
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    criteria, criteria_source, options = resolve_criteria(args)
    for key, value in options.items():  # file options apply unless given on the command line
        if getattr(args, f"_given_{key}", False) is False:
            setattr(args, key, value)
    x, loaded, notes = _load(args)
    report = _analyze(x, args, notes)
    outcome = report.check(criteria)
    code = EXIT_OK if outcome.passed else EXIT_FAIL
    source = f"{loaded.path}" + (f" [{loaded.key}]" if loaded.key else "")
    notes = [f"criteria: {criteria_source}", *notes]
    if args.format == "json":
        payload = {"passed": outcome.passed, "exit_code": code, "criteria": criteria.active(),
                   "criteria_source": criteria_source, "outcome": outcome.to_dict(),
                   "report": _report_dict(report, loaded, notes)}
        text = json.dumps(payload, indent=2, allow_nan=False)
    elif args.format == "markdown":
        from .render import to_markdown

        text = to_markdown(report, outcome=outcome, source=source, notes=notes,
                           title="gaussprobe check")
    else:
        text = "\n".join([outcome.explain(), "", _summary(report), *(f"note: {n}" for n in notes)])
    _emit(text, args.output)
    if args.html:
        from .render import to_html

        _emit(to_html(report, _host(x, loaded), outcome=outcome, source=source, notes=notes, rng=args.seed), args.html)
    return code


def _cmd_encode(args: argparse.Namespace) -> int:
    from .encoders import embed, load_encoder

    if args.input == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(args.input).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read --input {args.input}: {_one_line(exc)}"
            raise UsageError(msg) from None
    texts = [t for t in (line.strip() for line in lines) if t]
    if not texts:
        msg = f"--input {args.input} contains no non-empty lines (one text per line is expected)"
        raise UsageError(msg)
    out = Path(args.output)
    if out.suffix.lower() not in {".npy", ".npz"}:
        msg = f"-o must end in .npy or .npz; got {out.name}"
        raise UsageError(msg)
    model, tokenizer = load_encoder(args.model, device=args.device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        emb = embed(model, texts, batch_size=args.batch_size, raw=args.raw, tokenizer=tokenizer,
                    device=args.device, progress=None if args.progress is None else args.progress)
    _check_encoded(emb, len(texts), args.model)
    if out.suffix.lower() == ".npz":
        np.savez(out, embeddings=emb)
    else:
        np.save(out, emb)
    norms = np.linalg.norm(emb.astype(np.float64), axis=1)
    print(f"gaussprobe: wrote {emb.shape[0]:,} x {emb.shape[1]} float32 embeddings to {out} "
          f"({'raw' if args.raw else 'as the model outputs them'}; mean norm {norms.mean():.4g})",
          file=sys.stderr)
    return EXIT_OK


def _check_encoded(emb: Any, n_texts: int, model: str) -> None:
    """Refuse to write embeddings that do not line up one 2-D row per text, or hold NaN/Inf."""
    shape = tuple(getattr(emb, "shape", ()))
    if len(shape) != 2 or shape[0] != n_texts:
        msg = (f"--model {model} returned embeddings of shape {shape} for {n_texts:,} texts; expected "
               f"exactly one row per text, shape ({n_texts:,}, n_features). Nothing was written; make the "
               "encoder return one embedding row per input text")
        raise UsageError(msg)
    bad = _nonfinite_rows(emb)
    if bad.size:
        msg = (f"--model {model} returned NaN or Inf in {bad.size:,} of {n_texts:,} rows (first rows: "
               f"{', '.join(str(int(i)) for i in bad[:10])}); nothing was written; fix the encoder")
        raise UsageError(msg)


def _tolerance_item(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        msg = f"must be METRIC=VALUE, e.g. max_cv=0.01; got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return name.strip().replace("-", "_"), _number(value.strip(), "METRIC=VALUE with a finite VALUE >= 0",
                                                   lambda v: v >= 0)


def _cmd_compare(args: argparse.Namespace) -> int:
    import dataclasses

    from .compare import compare

    notes: list[str] = []
    inputs = []
    for path in (args.baseline, args.candidate):
        if path.lower().endswith(".json"):
            inputs.append(path)  # a saved report: compare() reads and validates it
            continue
        if not Path(path).exists():
            msg = f"{path} does not exist (expected an embeddings file or a saved .json report)"
            raise UsageError(msg)
        one = argparse.Namespace(**{**vars(args), "path": path})
        x, _, file_notes = _load(one)
        inputs.append(x)
        notes.extend(f"{Path(path).name}: {n}" for n in file_notes)
    options = {key: getattr(args, key) for key in ("n_projections", "tests", "dtype", "alpha")
               if getattr(args, f"_given_{key}", False)}
    tolerance = dict(args.tolerance or ())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare(inputs[0], inputs[1], tolerance=tolerance, alpha=args.level,
                         rng=args.seed,
                         options=options or None, n_bootstrap=args.n_bootstrap)
    for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
        notes.append(text)
        print(f"gaussprobe: warning: {text}", file=sys.stderr)
    result = dataclasses.replace(result, baseline_source=Path(args.baseline).name,
                                 candidate_source=Path(args.candidate).name,
                                 notes=(*result.notes, *notes))
    code = EXIT_OK if result.passed else EXIT_FAIL
    if args.format == "json":
        payload = {"passed": result.passed, "exit_code": code, **result.to_dict()}
        text = json.dumps(payload, indent=2, allow_nan=False)
    elif args.format == "markdown":
        text = result.to_markdown()
    else:
        text = result.explain()
    _emit(text, args.output)
    return code


_DEMO_INTRO = """\
Demo: {n:,} real sentence embeddings ({kind}) shipped with gaussprobe: all-MiniLM-L6-v2 encodings
of first sentences of Python standard-library docstrings. How close is this cloud of points to an
isotropic Gaussian, the shape that contrastive-learning theory predicts?
"""
_DEMO_OUTRO = """
Next: `gaussprobe analyze your_embeddings.npy --format html -o report.html` adds plots (norms against
chi(d), QQ plots, per-coordinate A^2, eigen-spectrum); `gaussprobe check your_embeddings.npy --preset
paper` gates a model in CI (exit code 0 pass, 1 fail, 2 error).
"""


def _cmd_demo(args: argparse.Namespace) -> int:
    from .io import load_demo
    from .render import interpretation

    x, _, meta = load_demo(normalize=args.normalized)
    notes: list[str] = []
    report = _analyze(x, args, notes)
    kind = "L2-normalised" if args.normalized else "raw: before the model's final normalisation"
    source = f"bundled demo: {meta['model']} on {meta['n_samples']:,} stdlib docstring sentences"
    if args.format == "markdown":
        from .render import to_markdown

        _emit(to_markdown(report, source=source, notes=notes, title="gaussprobe demo"), args.output)
        return EXIT_OK
    if args.format == "html":
        from .render import to_html

        _emit(to_html(report, x, source=source, notes=notes, title="gaussprobe demo", rng=args.seed),
              args.output)
        return EXIT_OK
    reading = "\n".join(f"  * {s}" for s in interpretation(report))
    text = "\n".join([_DEMO_INTRO.format(n=x.shape[0], kind=kind), _summary(report), "",
                      "Reading these numbers", reading, _DEMO_OUTRO])
    _emit(text, args.output)
    return EXIT_OK


# ---------------------------------------------------------------- parser
class _Given(argparse.Action):
    """Store a value and remember that it was given explicitly (file options must not override it)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"_given_{self.dest}", True)


# Option types. Their messages read "must be ...; got ..." and the parser puts the option's name in
# front ("--seed must be a non-negative integer; got -1"); file options get "seed in FILE" instead.
def _integer(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"must be {what}; got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < minimum:
        msg = f"must be {what}; got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _positive_int(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def _seed(text: str) -> int:
    return _integer(text, 0, "a non-negative integer")


def _number(text: str, what: str, ok: Callable[[float], bool] = lambda v: True) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"must be {what}; got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not (np.isfinite(value) and ok(value)):
        msg = f"must be {what}; got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _dtype(text: str) -> str:
    if text not in _DTYPES:
        msg = f"must be one of {', '.join(_DTYPES)}; got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def _alpha(text: str) -> float:
    return _number(text, "a level strictly between 0 and 1", lambda v: 0 < v < 1)


def _limit_type(name: str) -> Callable[[str], float]:
    """Fractions and p-values lie in [0, 1]; the other metrics (CVs, A^2, distances) are >= 0."""
    if "fraction" in name or "pvalue" in name:
        return lambda text: _number(text, "a number between 0 and 1", lambda v: 0 <= v <= 1)
    return lambda text: _number(text, "a finite number >= 0", lambda v: v >= 0)


def _analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=_seed, default=0, action=_Given,
                   help="seed of the random projections (default 0: reproducible reports)")
    p.add_argument("--n-projections", type=_positive_int, default=256, action=_Given,
                   help="random directions for the projection tests (default 256)")
    p.add_argument("--tests", default=None, action=_Given,
                   help="comma-separated tests to run, or 'all' (default: the standard set)")
    p.add_argument("--dtype", choices=_DTYPES, default="float64", action=_Given,
                   help="compute precision (default float64)")
    p.add_argument("--alpha", type=_alpha, default=0.05, action=_Given,
                   help="level for pass/rejected fractions, in (0, 1) (default 0.05)")


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="embedding file: .npy .npz .pt .safetensors .parquet .arrow .csv .tsv .jsonl")
    _reading_options(p)
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N (needs torch)")


def _reading_options(p: argparse.ArgumentParser, *, of: str = "") -> None:
    """How an embedding file is read (``of``: e.g. " (both files)" when the options serve two)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--key", help=f"array / tensor / JSON field holding the embeddings{of}")
    group.add_argument("--column", help=f"Parquet/Arrow list column holding the embeddings{of}")
    p.add_argument("--max-rows", type=_positive_int,
                   help=f"read only the first N rows{' of each file' if of else ''}")
    p.add_argument("--input-format", choices=("npy", "npz", "torch", "safetensors", "parquet", "arrow",
                                              "csv", "tsv", "jsonl"),
                   help="force the input format instead of detecting it")
    p.add_argument("--drop-nonfinite", action="store_true",
                   help="drop rows containing NaN/Inf instead of failing with exit code 2")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from . import __version__
    from .criteria import DEFAULT_PRESET, Criteria

    parser = _Parser(prog="gaussprobe", description="How Gaussian are your embeddings?",
                     epilog="Exit codes: 0 ok / check passed, 1 check failed, 2 usage or input error.")
    parser.add_argument("--version", action="version", version=f"gaussprobe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("analyze", help="measure and print a report", description="Measure how Gaussian "
                       "the embeddings in a file are and print (or write) the report.")
    _input_options(p)
    _analysis_options(p)
    p.add_argument("--format", choices=("text", "json", "markdown", "html"), default="text")
    p.add_argument("-o", "--output", help="write the report to this file instead of stdout")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("check", help="pass/fail against criteria (exit 0/1/2)", description="Check the "
                       "embeddings against criteria: exit 0 when all hold, 1 when one fails, 2 on error. "
                       f"The criteria start from a preset (--preset, default {DEFAULT_PRESET!r}); a limit "
                       "from --criteria FILE.toml / [tool.gaussprobe] in pyproject.toml, then a limit flag, "
                       "overrides that one limit and keeps the rest. --only checks just the limits given.")
    _input_options(p)
    _analysis_options(p)
    p.add_argument("--preset", help=f"start from this preset (paper, gaussian; default {DEFAULT_PRESET})")
    p.add_argument("--only", action="store_true",
                   help="check only the limits given (flags and file), without a preset")
    p.add_argument("--criteria", metavar="FILE.toml",
                   help="TOML file with a [tool.gaussprobe] or [gaussprobe] table (or top-level keys)")
    limits = p.add_argument_group("limits (each overrides that limit of the preset and of the file)")
    for name in Criteria.names():
        flags = [f"--{name.replace('_', '-')}"]
        flags += [f"--{short.replace('_', '-')}" for short, full in _ALIASES.items() if full == name]
        limits.add_argument(*flags, dest=name, type=_limit_type(name), metavar="X")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("-o", "--output", help="write the result to this file instead of stdout")
    p.add_argument("--html", metavar="FILE", help="also write the HTML report with plots")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("compare", help="gate a candidate against a baseline (exit 0/1/2)",
                       description="Compare a candidate's embeddings (or saved JSON report) with a "
                       "baseline's, metric by metric: exit 0 when no metric got worse beyond sampling noise "
                       "(and beyond its --tolerance), 1 when one did, 2 on bad input. Embeddings are "
                       "analysed with the same seed and options; a saved report's own options are used "
                       "for the other side unless given here.")
    p.add_argument("baseline", help="baseline embeddings file or saved report (.json)")
    p.add_argument("candidate", help="candidate embeddings file or saved report (.json)")
    _reading_options(p, of=" (both files)")
    _analysis_options(p)
    p.add_argument("--tolerance", type=_tolerance_item, action="append", metavar="METRIC=VALUE",
                   help="allowed worsening of one metric (repeatable), e.g. --tolerance max_cv=0.01")
    p.add_argument("--level", type=_alpha, default=0.01,
                   help="family-wise false-regression level over all metrics (default 0.01)")
    p.add_argument("--n-bootstrap", type=_seed, default=50,
                   help="bootstrap resamples of the smooth metrics when both are embeddings (0: off)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("-o", "--output", help="write the result to this file instead of stdout")
    p.set_defaults(func=_cmd_compare, device="cpu")

    p = sub.add_parser("encode", help="embed a text file with a local model (offline)",
                       description="Embed one text per line with a local model; never downloads.")
    p.add_argument("--model", required=True,
                   help="model directory (sentence-transformers or Hugging Face) or module:attribute")
    p.add_argument("--input", required=True, help="UTF-8 text file, one text per line ('-' for stdin)")
    p.add_argument("-o", "--output", required=True, help="output .npy (or .npz)")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--raw", action="store_true", help="drop a final Normalize module (meaningful norms)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cpu)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="tqdm progress bar (default: on a terminal outside CI)")
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("demo", help="analyse the bundled real embeddings and explain the numbers")
    p.add_argument("--normalized", action="store_true", help="use the L2-normalised embeddings")
    p.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    p.add_argument("-o", "--output")
    _analysis_options(p)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 check failed, 2 usage or input error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]  # accepted anywhere on the line
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return EXIT_ERROR
        return int(args.func(args))
    except KeyboardInterrupt:
        print("gaussprobe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - every error becomes one line and exit code 2
        if debug:
            traceback.print_exc()
        known = isinstance(exc, (UsageError, ValueError, TypeError, ImportError, OSError))
        text = _one_line(exc)
        if not known:
            text = f"unexpected {type(exc).__name__}: {text} (rerun with --debug for the traceback)"
        print(f"gaussprobe: error: {text}", file=sys.stderr)
        return EXIT_ERROR


__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_OK", "build_parser", "main", "resolve_criteria"]

