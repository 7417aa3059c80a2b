"""The ``gaussprobe`` command line: ``analyze``, ``check``, ``compare``, ``encode`` and ``demo``.

Exit codes: 0 success (``check``/``compare``: every criterion holds), 1 ``check`` or ``compare`` failed,
2 a usage or input error (one line on stderr; ``--debug`` shows the traceback).

What is printed on stderr depends on the level: ``-q`` only errors; the default adds each warning
once, a ``wrote FILE`` line and, on a terminal, a progress bar per step (see :mod:`gaussprobe._progress`);
``-v`` adds the settings, a line per finished step with its time, what was skipped and why, and the
total time. The result itself (report, verdict) goes to stdout or ``-o FILE`` at every level.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import _progress
from .stats.two_sample import DEFAULT_MAX_ROWS as DEFAULT_TWO_SAMPLE_ROWS

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
_OPTION_KEYS = ("seed", "n_projections", "tests", "dtype", "alpha")
_DTYPES = ("float64", "float32")
_ALIASES = {"min_ad_pass": "min_ad_pass_fraction", "min_dp_pass": "min_dp_pass_fraction",
            "max_projection_rejected": "max_projection_rejected_fraction"}
_INPUT_FORMATS = ("npy", "npz", "torch", "safetensors", "parquet", "arrow", "csv", "tsv", "jsonl")
#: ``-`` as a path: read the embeddings from stdin; as ``-o``: write the result to stdout.
STDIO = "-"
_STDIN_NAME = "stdin"


class UsageError(Exception):
    """A command-line or configuration error (exit code 2)."""


def _edits(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn ``a`` into ``b``."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string.

    Typing slips first (one edit, or one per three letters, counting a swap of neighbours as one:
    'nyp' -> 'npy'), then difflib's similarity for the rest.
    """
    names = list(dict.fromkeys(choices))
    if not names:
        return ""
    best = min(names, key=lambda c: _edits(word.lower(), c.lower()))
    if _edits(word.lower(), best.lower()) <= max(1, len(word) // 3):
        return f" (did you mean {best!r}?)"
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that raise instead of exiting, and "did you mean" for choices."""

    def error(self, message: str) -> NoReturn:
        named = re.match(r"argument (\S+): (must be .*)$", message)
        if named:  # our option types: "--seed must be a non-negative integer; got -1"
            message = f"{named.group(1)} {named.group(2)}"
        msg = f"{message} (see `{self.prog} --help`)"
        raise UsageError(msg)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check, with the valid names listed and the closest one suggested (argparse
        # has `suggest_on_error` only from Python 3.14)
        choices = action.choices
        if choices is not None and value not in choices:
            names = [str(c) for c in choices]
            msg = f"must be one of {', '.join(names)}; got {value!r}{_did_you_mean(str(value), names)}"
            raise argparse.ArgumentError(action, msg)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# ---------------------------------------------------------------- what is printed
@dataclasses.dataclass
class _Console:
    """Messages on stderr at the level chosen with ``-q``/``-v``; each warning is printed once."""

    level: int = 1  # 0 quiet, 1 default, 2 verbose
    #: notes already printed on stderr (a text report on stdout does not repeat them)
    shown: set[str] = dataclasses.field(default_factory=set)

    def warn(self, note: str, line: str | None = None) -> None:
        """A warning: printed once (as ``line`` when given), unless quiet."""
        if note in self.shown or self.level < 1:
            return
        self.shown.add(note)
        _progress.write(f"gaussprobe: warning: {line or note}")

    def info(self, text: str) -> None:
        if self.level >= 1:
            _progress.write(f"gaussprobe: {text}")

    def detail(self, text: str) -> None:
        if self.level >= 2:
            _progress.write(f"gaussprobe: {text}")


def _console(args: argparse.Namespace) -> _Console:
    console = getattr(args, "console", None)
    return console if isinstance(console, _Console) else _Console()


def _to_stdout(output: str | None) -> bool:
    return output is None or output == STDIO


def _display_name(path: str) -> str:
    return "<stdin>" if path == STDIO else Path(path).name


# ---------------------------------------------------------------- loading and analysis
def _sniff_text(head: bytes) -> str:
    """csv, tsv or jsonl from the first data line of a text stream."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("[", "{")):
            return "jsonl"
        return "tsv" if "\t" in line else "csv"
    return "csv"


def _stdin_file(args: argparse.Namespace) -> tuple[Path, str]:
    """Copy stdin to a temporary file (removed when the command ends); return it and its format.

    Binary formats are recognised from their first bytes, as for files; text is JSON lines when its
    first data line starts with ``[`` or ``{``, TSV when it holds a tab, CSV otherwise;
    ``--input-format`` overrides the guess.
    """
    from ._readers import sniff_format

    stream = sys.stdin
    if stream is None:
        msg = "`-` reads the embeddings from standard input, but there is no standard input"
        raise UsageError(msg)
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if stream.isatty():
            msg = ("`-` reads the embeddings from standard input, but stdin is a terminal; pipe a file in, "
                   "e.g. `cat emb.npy | gaussprobe analyze -`, or give the file's path")
            raise UsageError(msg)
    stack: contextlib.ExitStack = args.resources
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gaussprobe-",
                                                                  ignore_cleanup_errors=True)))
    path = folder / _STDIN_NAME
    source = getattr(stream, "buffer", None)
    with path.open("wb") as f:
        if source is not None:
            shutil.copyfileobj(source, f, 1 << 20)
        else:  # a text stream without bytes underneath (e.g. a StringIO in tests)
            f.write(stream.read().encode("utf-8"))
    fmt = args.input_format
    if fmt is None and path.stat().st_size:
        fmt = sniff_format(path)
        if fmt is None:
            with path.open("rb") as f:
                fmt = _sniff_text(f.read(1 << 16))
    return path, fmt or "npy"


def _load(args: argparse.Namespace) -> tuple[Any, Any, list[str]]:
    """Read the file, handle non-finite rows, move to the device. Returns (x, loaded, notes)."""
    from .io import read_embeddings

    console = _console(args)
    name = _display_name(args.path)
    if _reads_lazily(args):
        return _open_lazily(args, name)
    with _progress.step(f"read {name}"):
        path, fmt = (_stdin_file(args) if args.path == STDIO else (Path(args.path), args.input_format))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what the reader left out comes back in loaded.notes
            try:
                loaded = read_embeddings(path, key=args.key, column=args.column, max_rows=args.max_rows,
                                         format=fmt)
            except (ValueError, OSError) as exc:
                if args.path != STDIO:
                    raise
                raise UsageError(_one_line(exc).replace(str(path), _STDIN_NAME)) from None
    x = loaded.data
    console.detail(f"input {name}: {x.shape[0]:,} x {x.shape[1]:,} {x.dtype} ({loaded.format}"
                   f"{f', key {loaded.key!r}' if loaded.key else ''})")
    notes: list[str] = []
    for note in loaded.notes:
        notes.append(note)
        console.warn(note, f"{name}: {note}")
    if loaded.n_rows_in_file is not None and loaded.n_rows_in_file > x.shape[0]:
        notes.append(f"read the first {x.shape[0]:,} of {loaded.n_rows_in_file:,} rows (--max-rows)")
    elif args.max_rows is not None and x.shape[0] == args.max_rows:
        notes.append(f"read at most the first {args.max_rows:,} rows (--max-rows)")
    bad = _nonfinite_rows(x)
    if bad.size:
        first = ", ".join(str(int(i)) for i in bad[:10])
        if not args.drop_nonfinite:
            msg = (f"{name}: {bad.size:,} of {x.shape[0]:,} rows contain NaN or Inf "
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


def _reads_lazily(args: argparse.Namespace) -> bool:
    """Whether the input is opened lazily (:func:`gaussprobe.open_embeddings`) instead of read into memory:
    a glob, a folder, a zarr store, a file larger than the memory budget, or a Dask cluster asked for."""
    path = args.path
    if path == STDIO:
        return False
    if getattr(args, "workers", None) or getattr(args, "scheduler", None):
        return True
    p = Path(path)
    if not p.exists():
        return bool(set("*?[") & set(path))
    if p.is_dir():
        return True
    from ._budget import memory_budget

    return p.is_file() and p.stat().st_size > memory_budget()


def _open_lazily(args: argparse.Namespace, name: str) -> tuple[Any, Any, list[str]]:
    """Open the input as a Dask array (read chunk by chunk by the analysis)."""
    from ._lazy import expand_paths, open_embeddings
    from .io import LoadedEmbeddings

    console = _console(args)
    if args.device and args.device != "cpu":
        msg = f"--device {args.device} needs the data in memory; data read lazily are analysed on the CPU"
        raise UsageError(msg)
    with _progress.step(f"open {name}"):
        x = open_embeddings(args.path, key=args.key, column=args.column, format=args.input_format)
    files = expand_paths(args.path) if not Path(args.path).is_dir() or not _is_zarr_dir(args.path) else []
    notes: list[str] = []
    n_file = int(x.shape[0])
    if args.max_rows is not None and args.max_rows < n_file:
        x = x[: args.max_rows]
        notes.append(f"read the first {args.max_rows:,} of {n_file:,} rows (--max-rows)")
    if args.drop_nonfinite:
        import dask.array as da

        keep = da.isfinite(x).all(axis=1)
        x = x[keep].compute_chunk_sizes()
        dropped = n_file - int(x.shape[0]) if args.max_rows is None else None
        if dropped:
            notes.append(f"dropped {dropped:,} non-finite row(s) because of --drop-nonfinite")
    console.detail(f"input {name}: {int(x.shape[0]):,} x {int(x.shape[1]):,} {x.dtype}, read lazily from "
                   f"{len(files) or 1} file(s) in {x.npartitions} chunks")
    loaded = LoadedEmbeddings(data=x, path=str(args.path), format="lazy", key=args.key, n_rows_in_file=n_file,
                              notes=notes)
    return x, loaded, notes


def _is_zarr_dir(path: str) -> bool:
    from ._lazy import _is_zarr

    return _is_zarr(Path(path))


def _nonfinite_rows(x: Any, block: int = 16384) -> np.ndarray:
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.dtype.kind not in "fc":
        return np.empty(0, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a, dtype=np.float64)):
            return np.empty(0, dtype=np.int64)
    bad = [np.nonzero(~np.isfinite(a[s:s + block]).all(axis=1))[0] + s for s in range(0, a.shape[0], block)]
    return np.concatenate(bad) if bad else np.empty(0, dtype=np.int64)


_SKIPS = re.compile(r"Skipped \[(?P<names>[^\]]*)\]: (?P<reason>.*)$")


def _restates_skips(text: str, skipped: dict[str, str]) -> bool:
    """Whether a warning only repeats ``report.skipped`` (``analyze``'s "Skipped [...]: reason")."""
    m = _SKIPS.match(text)
    if m is None:
        return False
    names = re.findall(r"'([^']+)'", m.group("names"))
    return bool(names) and all(t in skipped for t in names) and skipped[names[0]] == m.group("reason")


def _analyze(x: Any, args: argparse.Namespace, notes: list[str]) -> Any:
    from .report import analyze

    console = _console(args)
    console.detail(f"analysing {x.shape[0]:,} x {x.shape[1]:,}: tests {args.tests or 'default'}, seed "
                   f"{args.seed}, {args.n_projections} projections, alpha {args.alpha}, dtype {args.dtype}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = analyze(x, rng=args.seed, n_projections=args.n_projections, tests=args.tests,
                         dtype=args.dtype, alpha=args.alpha, progress=_progress.active())
    # The text summary lists the skipped tests with their reasons: when it is what stdout shows,
    # analyze's warning that restates them is not printed a second time.
    summary_shown = getattr(args, "format", "text") == "text" and _to_stdout(getattr(args, "output", None))
    for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
        category = next(w.category.__name__ for w in caught if " ".join(str(w.message).split()) == text)
        note = f"{category}: {text}"
        notes.append(note)
        skips = {test: str(skip) for test, skip in report.skipped.items()}
        if _restates_skips(text, skips) and (summary_shown or console.level >= 2):
            console.shown.add(note)  # said by the summary, or by the verbose skip lines below
            continue
        console.warn(note, text)
    by_reason: dict[str, list[str]] = {}
    for test, skip in report.skipped.items():
        by_reason.setdefault(str(skip), []).append(test)
    for reason, tests in by_reason.items():
        console.detail(f"skipped {', '.join(tests)}: {reason}")
    return report


def _host(x: Any, loaded: Any) -> Any:
    """The embeddings as a host array for plotting (the loaded array when x was moved to a GPU; None for
    data read lazily, whose plots come from the report alone)."""
    from ._backend import is_torch

    if getattr(loaded, "format", None) == "lazy":
        return None

    return np.asarray(loaded.data) if is_torch(x) and x.shape == loaded.data.shape else (
        x.detach().cpu().numpy() if is_torch(x) else x)


def _summary(report: Any) -> str:
    try:
        return str(report.summary())
    except ImportError:  # the report's own table is not available: use the renderer's
        from .render import text_summary

        return text_summary(report)


def _source(args: argparse.Namespace, loaded: Any) -> str:
    name = "<stdin>" if args.path == STDIO else f"{loaded.path}"
    return name + (f" [{loaded.key}]" if loaded.key else "")


def _report_dict(report: Any, loaded: Any, notes: list[str], path: str | None = None) -> dict[str, Any]:
    out = dict(report.to_dict())
    if loaded is not None:
        out["source"] = {"path": "<stdin>" if path == STDIO else str(loaded.path), "format": loaded.format,
                         "key": loaded.key, "n_rows_in_file": loaded.n_rows_in_file}
    out["notes"] = list(notes)
    return out


def _text_notes(notes: Sequence[str], args: argparse.Namespace) -> list[str]:
    """The notes a text report lists: on stdout, those not already printed as warnings on stderr."""
    if _to_stdout(getattr(args, "output", None)):
        shown = _console(args).shown
        return [n for n in notes if n not in shown]
    return list(notes)


def _emit(text: str, output: str | None, args: argparse.Namespace | None = None) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if output is None or output == STDIO:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with _progress.step(f"write {Path(output).name}"):
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            msg = f"cannot write {output}: {exc.strerror or exc}"
            raise UsageError(msg) from None
    (_console(args) if args is not None else _Console()).info(f"wrote {output}")
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
    checks = {"seed": _seed, "n_projections": _positive_int, "alpha": _alpha, "dtype": _dtype,
              "tests": _tests_arg}
    out = {}
    for key, value in options.items():
        check = checks.get(key)
        if check is not None:
            if key == "tests" and isinstance(value, list):  # tests = ["coordinates", "mardia"]
                value = ",".join(str(v) for v in value)
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
        if file_preset is not None and str(file_preset) not in _presets():
            msg = (f"Unknown criteria preset {str(file_preset)!r} in {where}"
                   f"{_did_you_mean(str(file_preset), _presets())}; choose one of {', '.join(_presets())}")
            raise UsageError(msg)
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
    source = _source(args, loaded)
    fmt = args.format
    if fmt == "json":
        text = json.dumps(_report_dict(report, loaded, notes, args.path), indent=2, allow_nan=False)
    elif fmt == "markdown":
        from .render import to_markdown

        text = to_markdown(report, source=source, notes=notes)
    elif fmt == "html":
        from .render import to_html

        with _progress.step("render HTML"):
            text = to_html(report, _host(x, loaded), source=source, notes=notes, rng=args.seed)
    else:
        text = _summary(report) + "".join(f"\nnote: {n}" for n in _text_notes(notes, args))
    _emit(text, args.output, args)
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    criteria, criteria_source, options = resolve_criteria(args)
    for key, value in options.items():  # file options apply unless given on the command line
        if getattr(args, f"_given_{key}", False) is False:
            setattr(args, key, value)
    if args.html is not None and _to_stdout(args.output) and args.html == STDIO:
        msg = "--html - and the result both go to stdout; write one of them to a file (-o FILE or --html FILE)"
        raise UsageError(msg)
    console = _console(args)
    x, loaded, notes = _load(args)
    report = _analyze(x, args, notes)
    outcome = report.check(criteria)
    code = EXIT_OK if outcome.passed else EXIT_FAIL
    console.detail(f"criteria: {criteria_source}")
    source = _source(args, loaded)
    notes = [f"criteria: {criteria_source}", *notes]

    def html() -> str:
        from .render import to_html

        with _progress.step("render HTML"):
            return to_html(report, _host(x, loaded), outcome=outcome, source=source, notes=notes,
                           rng=args.seed)

    if args.format == "json":
        payload = {"passed": outcome.passed, "exit_code": code, "criteria": criteria.active(),
                   "criteria_source": criteria_source, "outcome": outcome.to_dict(),
                   "report": _report_dict(report, loaded, notes, args.path)}
        text = json.dumps(payload, indent=2, allow_nan=False)
    elif args.format == "markdown":
        from .render import to_markdown

        text = to_markdown(report, outcome=outcome, source=source, notes=notes,
                           title="gaussprobe check")
    elif args.format == "html":
        text = html()
    else:
        text = "\n".join([outcome.explain(), "", _summary(report),
                          *(f"note: {n}" for n in _text_notes(notes, args))])
    _emit(text, args.output, args)
    if args.html:
        _emit(html(), args.html, args)
    console.detail(f"verdict: {'passed' if outcome.passed else 'failed'} (exit code {code})")
    return code


def _cmd_encode(args: argparse.Namespace) -> int:
    from .encoders import embed, load_encoder

    console = _console(args)
    if args.input == STDIO:
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
    out = None if args.output == STDIO else Path(args.output)
    if out is not None and out.suffix.lower() not in {".npy", ".npz"}:
        msg = f"-o must end in .npy or .npz (or be - for .npy on stdout); got {out.name}"
        raise UsageError(msg)
    console.detail(f"encoding {len(texts):,} texts with {args.model} (batch size {args.batch_size}, "
                   f"{'raw' if args.raw else 'as the model outputs them'})")
    with _progress.step(f"load {args.model}"):
        model, tokenizer = load_encoder(args.model, device=args.device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        emb = embed(model, texts, batch_size=args.batch_size, raw=args.raw, tokenizer=tokenizer,
                    device=args.device, progress=_progress.active())
    _check_encoded(emb, len(texts), args.model)
    if out is None:
        np.save(sys.stdout.buffer, emb)
        sys.stdout.buffer.flush()
    else:
        with _progress.step(f"write {out.name}"):
            if out.suffix.lower() == ".npz":
                np.savez(out, embeddings=emb)
            else:
                np.save(out, emb)
    norms = np.linalg.norm(emb.astype(np.float64), axis=1)
    console.info(f"wrote {emb.shape[0]:,} x {emb.shape[1]} float32 embeddings to "
                 f"{'stdout' if out is None else out} ({'raw' if args.raw else 'as the model outputs them'}; "
                 f"mean norm {norms.mean():.4g})")
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
    from .compare import compare

    console = _console(args)
    if args.baseline == STDIO and args.candidate == STDIO:
        msg = "only one of BASELINE and CANDIDATE can be read from stdin (-)"
        raise UsageError(msg)
    notes: list[str] = []
    inputs = []
    for path in (args.baseline, args.candidate):
        if path.lower().endswith(".json"):
            inputs.append(path)  # a saved report: compare() reads and validates it
            continue
        if path != STDIO and not Path(path).exists():
            msg = f"{path} does not exist (expected an embeddings file or a saved .json report)"
            raise UsageError(msg)
        one = argparse.Namespace(**{**vars(args), "path": path})
        x, _, file_notes = _load(one)
        inputs.append(x)
        notes.extend(f"{_display_name(path)}: {n}" for n in file_notes)
    options = {key: getattr(args, key) for key in ("n_projections", "tests", "dtype", "alpha")
               if getattr(args, f"_given_{key}", False)}
    tolerance = dict(args.tolerance or ())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare(inputs[0], inputs[1], tolerance=tolerance, alpha=args.level,
                         rng=args.seed,
                         options=options or None, n_bootstrap=args.n_bootstrap,
                         two_sample=not args.no_two_sample, two_sample_rows=args.two_sample_rows or None)
    for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
        notes.append(text)
        console.warn(text)
    result = dataclasses.replace(result, baseline_source=_display_name(args.baseline),
                                 candidate_source=_display_name(args.candidate),
                                 notes=(*result.notes, *notes))
    code = EXIT_OK if result.passed else EXIT_FAIL
    if args.format == "json":
        payload = {"passed": result.passed, "exit_code": code, **result.to_dict()}
        text = json.dumps(payload, indent=2, allow_nan=False)
    elif args.format == "markdown":
        text = result.to_markdown()
    else:
        text = result.explain()
    _emit(text, args.output, args)
    console.detail(f"verdict: {'no regression' if result.passed else 'regression'} (exit code {code})")
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

        _emit(to_markdown(report, source=source, notes=notes, title="gaussprobe demo"), args.output, args)
        return EXIT_OK
    if args.format == "html":
        from .render import to_html

        with _progress.step("render HTML"):
            page = to_html(report, x, source=source, notes=notes, title="gaussprobe demo", rng=args.seed)
        _emit(page, args.output, args)
        return EXIT_OK
    reading = "\n".join(f"  * {s}" for s in interpretation(report))
    text = "\n".join([_DEMO_INTRO.format(n=x.shape[0], kind=kind), _summary(report), "",
                      "Reading these numbers", reading, _DEMO_OUTRO])
    _emit(text, args.output, args)
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


def _two_sample_rows(text: str) -> int:
    value = _integer(text, 0, "0 (all rows) or an integer >= 2")
    if value == 1:
        msg = "must be 0 (all rows) or an integer >= 2; got 1"
        raise argparse.ArgumentTypeError(msg)
    return value


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
        msg = f"must be one of {', '.join(_DTYPES)}; got {text!r}{_did_you_mean(text, _DTYPES)}"
        raise argparse.ArgumentTypeError(msg)
    return text


def _alpha(text: str) -> float:
    return _number(text, "a level strictly between 0 and 1", lambda v: 0 < v < 1)


def _tests_arg(text: str) -> str:
    """``all``, ``default`` or comma-separated names from :data:`gaussprobe.report.ALL_TESTS`."""
    from .report import ALL_TESTS

    names = [t.strip() for t in text.split(",") if t.strip()]
    if names in (["all"], ["default"]):
        return names[0]
    unknown = [t for t in names if t not in ALL_TESTS]
    if names and not unknown:
        return ",".join(dict.fromkeys(names))
    bad = unknown[0] if unknown else text
    msg = (f"must be 'all', 'default' or comma-separated names from {', '.join(ALL_TESTS)}; got {bad!r}"
           f"{_did_you_mean(bad, (*ALL_TESTS, 'all', 'default'))}")
    raise argparse.ArgumentTypeError(msg)


def _limit_type(name: str) -> Callable[[str], float]:
    """Fractions and p-values lie in [0, 1]; the other metrics (CVs, A^2, distances) are >= 0."""
    if "fraction" in name or "pvalue" in name:
        return lambda text: _number(text, "a number between 0 and 1", lambda v: 0 <= v <= 1)
    return lambda text: _number(text, "a finite number >= 0", lambda v: v >= 0)


def _presets() -> tuple[str, ...]:
    """The names of the criteria presets, from :mod:`gaussprobe.criteria`."""
    from .criteria import _PRESETS

    return tuple(sorted(_PRESETS))


def _limit_help(name: str) -> str:
    """Help of one limit flag, from the criterion's own definition in :mod:`gaussprobe.criteria`."""
    from .criteria import _METRICS, Criteria

    metric = _METRICS[name]
    bound = "at most" if metric.kind == "max" else "at least"
    limits = {p: Criteria.preset(p).active().get(name) for p in _presets()}
    default = ("default: not checked (in no preset)" if all(v is None for v in limits.values()) else
               "default: the preset's limit (" + ", ".join(f"{p}: {'none' if v is None else f'{v:g}'}"
                                                           for p, v in limits.items()) + ")")
    return f"require the {metric.description} to be {bound} X; {default}".replace("%", "%%")


def _choices_help(what: str, choices: Sequence[str], default: str | None) -> str:
    listed = ", ".join(f"{c} (default)" if c == default else c for c in choices)
    return f"{what}: {listed}"


def _common_options(p: argparse.ArgumentParser) -> None:
    """-q / -v / --progress, on every command (see the module docstring for what each level prints)."""
    level = p.add_mutually_exclusive_group()
    level.add_argument("-q", "--quiet", action="store_true",
                       help="print only errors on stderr (the result still goes to stdout or -o); default: off")
    level.add_argument("-v", "--verbose", action="store_true",
                       help="also print the settings, each step with its time, what was skipped and why; "
                            "default: off")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar for each step on stderr (--no-progress: never, also for the "
                        "bars of model libraries); default: on when stderr is a terminal outside CI")


def _analysis_options(p: argparse.ArgumentParser) -> None:
    from .report import ALL_TESTS, DEFAULT_TESTS

    p.add_argument("--seed", type=_seed, default=0, action=_Given,
                   help="seed of the random projections and Monte-Carlo nulls (default %(default)s: "
                        "reproducible reports)")
    p.add_argument("--n-projections", type=_positive_int, default=256, action=_Given, metavar="K",
                   help="random directions for the projection tests (default %(default)s)")
    p.add_argument("--tests", type=_tests_arg, default=None, action=_Given, metavar="NAMES",
                   help=f"comma-separated tests to run: {', '.join(ALL_TESTS)}; or 'all' (default: "
                        f"'default', i.e. {', '.join(DEFAULT_TESTS)}, each where it is calibrated and "
                        "affordable at the data's size)")
    p.add_argument("--dtype", choices=_DTYPES, default="float64", action=_Given,
                   help=_choices_help("compute precision", _DTYPES, "float64"))
    p.add_argument("--alpha", type=_alpha, default=0.05, action=_Given,
                   help="level for pass/rejected fractions, in (0, 1) (default %(default)s)")


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="embedding file (.npy .npz .pt .safetensors .parquet .arrow .csv .tsv .jsonl), "
                                "a glob of shards in quotes (\"emb/part-*.npy\"), a folder, a zarr store, "
                                "or - to read it from stdin; a glob, folder, store or a file larger than the "
                                "memory budget is read lazily, chunk by chunk")
    _reading_options(p)
    p.add_argument("--device", default="cpu",
                   help="where to compute: cpu, cuda or cuda:N (needs torch); default %(default)s")
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=_positive_int, metavar="N",
                         help="run on a local Dask cluster of N single-threaded worker processes (needs "
                              "gaussprobe[dask]); default: no cluster (Dask's threads for lazy input)")
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on an existing Dask cluster, e.g. tcp://scheduler:8786; default: none")
    p.add_argument("--memory-limit", type=_memory_size, metavar="SIZE",
                   help="memory of each local worker (with --workers), e.g. 4GiB; also the memory budget of "
                        "the analysis (GAUSSPROBE_MAX_MEMORY); default: Dask's share of the machine")


def _reading_options(p: argparse.ArgumentParser, *, of: str = "") -> None:
    """How an embedding file is read (``of``: e.g. " (both files)" when the options serve two)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--key", help=f"array / tensor / JSON field holding the embeddings{of}; default: the "
                                     "only (2-D numeric) one")
    group.add_argument("--column", help=f"Parquet/Arrow list column holding the embeddings{of}; default: the "
                                        "only list column, or all numeric columns")
    p.add_argument("--max-rows", type=_positive_int, metavar="N",
                   help=f"read only the first N rows{' of each file' if of else ''}; default: all")
    p.add_argument("--input-format", choices=_INPUT_FORMATS, metavar="FORMAT",
                   help=f"force the input format ({', '.join(_INPUT_FORMATS)}); default: detected from the "
                        "content and extension (for stdin: binary formats from their first bytes, text as "
                        "jsonl when it starts with [ or {, tsv when it has tabs, else csv)")
    p.add_argument("--drop-nonfinite", action="store_true",
                   help="drop rows containing NaN/Inf instead of failing with exit code 2; default: fail")


def _output_options(p: argparse.ArgumentParser, formats: Sequence[str], what: str) -> None:
    p.add_argument("--format", choices=formats, default=formats[0],
                   help=_choices_help(f"form of the {what}", formats, formats[0]))
    p.add_argument("-o", "--output", metavar="FILE",
                   help=f"write the {what} to FILE; default (or -): stdout")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from . import __version__
    from .criteria import DEFAULT_PRESET, Criteria

    parser = _Parser(prog="gaussprobe", description="How Gaussian are your embeddings?",
                     epilog="Exit codes: 0 ok / check passed, 1 check or compare failed, 2 usage or input "
                            "error. Add --debug anywhere to see the traceback of an error.")
    parser.add_argument("--version", action="version", version=f"gaussprobe {__version__}",
                        help="print the version and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors; default: off")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("analyze", help="measure and print a report", description="Measure how Gaussian "
                       "the embeddings in a file are and print (or write) the report.")
    _input_options(p)
    _analysis_options(p)
    _output_options(p, ("text", "json", "markdown", "html"), "report")
    _common_options(p)
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("check", help="pass/fail against criteria (exit 0/1/2)", description="Check the "
                       "embeddings against criteria: exit 0 when all hold, 1 when one fails, 2 on error. "
                       f"The criteria start from a preset (--preset, default {DEFAULT_PRESET!r}); a limit "
                       "from --criteria FILE.toml / [tool.gaussprobe] in pyproject.toml, then a limit flag, "
                       "overrides that one limit and keeps the rest. --only checks just the limits given.")
    _input_options(p)
    _analysis_options(p)
    p.add_argument("--preset", choices=_presets(), metavar="NAME",
                   help=f"start from this preset ({', '.join(_presets())}); default: the criteria file's "
                        f"preset, else {DEFAULT_PRESET}")
    p.add_argument("--only", action="store_true",
                   help="check only the limits given (flags and file), without a preset; default: off")
    p.add_argument("--criteria", metavar="FILE.toml",
                   help="TOML file with a [tool.gaussprobe] or [gaussprobe] table (or top-level keys); "
                        "default: [tool.gaussprobe] of the nearest pyproject.toml, unless --preset is given")
    limits = p.add_argument_group("limits (each overrides that limit of the preset and of the file)")
    for name in Criteria.names():
        flags = [f"--{name.replace('_', '-')}"]
        flags += [f"--{short.replace('_', '-')}" for short, full in _ALIASES.items() if full == name]
        limits.add_argument(*flags, dest=name, type=_limit_type(name), metavar="X", help=_limit_help(name))
    _output_options(p, ("text", "json", "markdown", "html"), "verdict and report")
    p.add_argument("--html", metavar="FILE",
                   help="also write the HTML report with plots to FILE (- for stdout); default: not written")
    _common_options(p)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("compare", help="gate a candidate against a baseline (exit 0/1/2)",
                       description="Compare a candidate's embeddings (or saved JSON report) with a "
                       "baseline's, metric by metric: exit 0 when no metric got worse beyond sampling noise "
                       "(and beyond its --tolerance), 1 when one did, 2 on bad input. Embeddings are "
                       "analysed with the same seed and options; a saved report's own options are used "
                       "for the other side unless given here.")
    p.add_argument("baseline", help="baseline embeddings file or saved report (.json); - reads embeddings "
                                    "from stdin")
    p.add_argument("candidate", help="candidate embeddings file or saved report (.json); - reads embeddings "
                                     "from stdin")
    _reading_options(p, of=" (both files)")
    _analysis_options(p)
    p.add_argument("--tolerance", type=_tolerance_item, action="append", metavar="METRIC=VALUE",
                   help="allowed worsening of one metric (repeatable), e.g. --tolerance max_cv=0.01; "
                        "default: 0 for every metric")
    p.add_argument("--level", type=_alpha, default=0.01,
                   help="family-wise false-regression level over all metrics (default %(default)s)")
    p.add_argument("--n-bootstrap", type=_seed, default=50, metavar="B",
                   help="bootstrap resamples of the smooth metrics when both are embeddings, 0 for none "
                        "(default %(default)s)")
    p.add_argument("--no-two-sample", action="store_true",
                   help="skip the two-sample energy test of the two embeddings files (informational, never "
                        "part of the verdict); default: off (it runs when both inputs are embeddings)")
    p.add_argument("--two-sample-rows", type=_two_sample_rows, default=DEFAULT_TWO_SAMPLE_ROWS, metavar="N",
                   help="rows per file used by the two-sample test (a seeded random subsample beyond it; "
                        "the cost grows as N²), 0 for all rows (default %(default)s)")
    _output_options(p, ("text", "markdown", "json"), "comparison")
    _common_options(p)
    p.set_defaults(func=_cmd_compare, device="cpu")

    p = sub.add_parser("encode", help="embed a text file with a local model (offline)",
                       description="Embed one text per line with a local model; never downloads.")
    p.add_argument("--model", required=True,
                   help="model directory (sentence-transformers or Hugging Face) or module:attribute "
                        "(required)")
    p.add_argument("--input", required=True, help="UTF-8 text file, one text per line, or - for stdin (required)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="output .npy or .npz, or - for .npy on stdout (required)")
    p.add_argument("--batch-size", type=_positive_int, default=64, metavar="N",
                   help="texts per forward pass (default %(default)s)")
    p.add_argument("--raw", action="store_true",
                   help="drop a final Normalize module, so the norms are the model's own; default: off")
    p.add_argument("--device", default=None,
                   help="where the model runs: cpu, cuda or cuda:N; default: the model's, cpu when it loads")
    _common_options(p)
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("demo", help="analyse the bundled real embeddings and explain the numbers",
                       description="Analyse 2,000 bundled all-MiniLM-L6-v2 sentence embeddings and explain "
                       "what each number says.")
    p.add_argument("--normalized", action="store_true",
                   help="use the L2-normalised embeddings; default: the raw ones")
    _output_options(p, ("text", "markdown", "html"), "report")
    _analysis_options(p)
    _common_options(p)
    p.set_defaults(func=_cmd_demo)
    parser.set_defaults(subparsers=dict(sub.choices))
    return parser


def _unknown_arguments(extras: list[str], args: argparse.Namespace) -> str:
    """The first unexpected argument, with the closest option of its command when it looks like one."""
    command = getattr(args, "command", None)
    sub = (getattr(args, "subparsers", None) or {}).get(command)
    options = [s for a in sub._actions for s in a.option_strings] if sub is not None else []
    for token in extras:
        if token.startswith("-") and token != STDIO:
            flag = token.split("=", 1)[0]
            return f"unrecognized option {flag}{_did_you_mean(flag, options)}"
    return f"unexpected argument{'s' if len(extras) > 1 else ''} {' '.join(extras)}"


def _level(args: argparse.Namespace) -> int:
    return 0 if getattr(args, "quiet", False) else 2 if getattr(args, "verbose", False) else 1


def _memory_size(text: str) -> int:
    from ._budget import _UNITS, _parse

    try:
        value = _parse(text, _UNITS, "--memory-limit", "4GiB")
    except ValueError:
        msg = f"--memory-limit must be a size such as 4GiB, 512M or 8G; got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not value > 0 or value == float("inf"):
        msg = f"--memory-limit must be a positive size such as 4GiB; got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(value)


def _cluster(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    """Start the local cluster or connect to the scheduler the options ask for (closed with ``stack``)."""
    workers, address = getattr(args, "workers", None), getattr(args, "scheduler", None)
    limit = getattr(args, "memory_limit", None)
    if limit is not None:
        from ._budget import budget

        stack.enter_context(budget(memory=float(limit)))
    if not workers and not address:
        if limit is not None and getattr(args, "console", None) is not None:
            args.console.detail(f"memory budget {limit / 2**30:.2f} GiB (--memory-limit)")
        return
    from ._backend import optional_import

    distributed = optional_import("distributed")
    with _progress.step("start Dask" if workers else f"connect to {address}"):
        if workers:
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                memory_limit=limit if limit is not None else "auto"))
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(address, timeout="30s"))
            except (OSError, TimeoutError) as exc:
                msg = f"--scheduler {address}: could not connect ({_one_line(exc)})"
                raise UsageError(msg) from None
    n = len(client.scheduler_info().get("workers", {}))
    args.console.detail(f"Dask cluster: {n} worker(s) at {client.scheduler.address}")


def _run(args: argparse.Namespace) -> int:
    """Run one command at its output level, with progress and warnings routed through the console."""
    console = _Console(level=_level(args))
    args.console = console
    show = args.progress
    if console.level == 0:
        show = False
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        args.resources = stack
        if console.level == 0:  # third-party loggers (model loading) too: errors only
            stack.callback(logging.disable, logging.root.manager.disable)
            logging.disable(max(logging.WARNING, logging.root.manager.disable))
        stack.enter_context(_progress.reporting(show, log=console.level >= 2))
        _cluster(args, stack)
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        code = int(args.func(args))
        for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
            console.warn(text)
    console.detail(f"done in {time.perf_counter() - start:.2f} s (exit code {code})")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 check failed, 2 usage or input error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]  # accepted anywhere on the line
    try:
        parser = build_parser()
        try:
            args, extras = parser.parse_known_args(argv)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        if not getattr(args, "command", None):
            if extras:
                parser.error(_unknown_arguments(extras, args))
            parser.print_help(sys.stderr)
            return EXIT_ERROR
        if extras:
            args.subparsers[args.command].error(_unknown_arguments(extras, args))
        return _run(args)
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


__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_OK", "STDIO", "build_parser", "main", "resolve_criteria"]
