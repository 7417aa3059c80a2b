"""Progress of long-running steps: named steps that library code reports, shown only when asked for.

Library code says what it is doing; it never decides whether anything is shown::

    from gaussprobe import _progress

    with _progress.step("covariance"):                   # a named step: its elapsed time is shown
        ...
    with _progress.step("pairwise tiles", total=len(tiles), unit="tile") as s:
        for tile in tiles:
            ...
            s.advance()                                 # thread-safe: worker threads may call it

A step is a no-op (no output, no thread, almost no cost) unless a caller enabled reporting around it:

* ``with _progress.reporting(): ...`` enables it for the steps opened inside the block (the command
  line does this; ``show=`` and ``log=`` choose what is printed);
* a public function with a ``progress`` keyword passes it to the steps it opens:
  ``step(name, progress=True)`` reports into the enclosing :func:`reporting` block, or into a default
  one on stderr when there is none; ``progress=False`` silences the step *and every step nested in
  it*; ``progress=None`` (the library default) follows the enclosing block, so nothing is shown
  outside one.

What is shown depends on the stream. On a terminal: one transient bar per open step (tqdm when it is
installed, which is optional) -- a counter with rate and time left for a step with a ``total``, the
elapsed time otherwise, refreshed twice a second by a ticker thread while any bar is open, so a single
long computation still shows that it is alive. Elsewhere (a file, a pipe, a notebook) and without
tqdm: one plain line when each step starts. With ``log=True`` a line with its duration is also written
when each step ends (the command line's ``-v``).

Threads. The enclosing :func:`reporting` block is found through a :class:`contextvars.ContextVar`, so
it applies to the thread (or the copied context) that opened it: open steps in the calling thread
and hand the :class:`Step` to workers, whose :meth:`Step.advance` calls are serialised by a lock.
A step opened in a worker thread that did not copy the context is a no-op. Nested steps are shown
indented below their parent. :func:`write` prints a line without tearing the bars.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

#: Seconds between refreshes of the open bars (so elapsed times move during a long single step).
REFRESH_SECONDS = 0.5
#: What every line starts with.
PREFIX = "gaussprobe: "


class Step:
    """One reported step: its name, nesting depth, optional total and the count advanced so far."""

    def __init__(self, reporter: _Reporter | None, name: str, total: int | None, unit: str, depth: int) -> None:
        self.name = name
        self.total = total
        self.unit = unit
        self.depth = depth
        self.count = 0
        self.start = time.perf_counter()
        self._reporter = reporter
        self._lock = threading.Lock()
        self._bar: Any = None

    @property
    def elapsed(self) -> float:
        """Seconds since the step started."""
        return time.perf_counter() - self.start

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done (safe to call from any thread)."""
        if self._reporter is None:
            return
        with self._lock:
            self.count += n
            if self._bar is not None:
                self._bar.update(n)


_NULL_STEP = Step(None, "", None, "", 0)
_ACTIVE: contextvars.ContextVar[_Reporter | None] = contextvars.ContextVar("gaussprobe_progress", default=None)
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("gaussprobe_progress_depth", default=0)


def _tqdm() -> Any:
    try:
        return importlib.import_module("tqdm")
    except ImportError:
        return None


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal where bars make sense (not CI, not TERM=dumb)."""
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or replaced streams
        return False
    return tty and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


class _Reporter:
    """Shows and logs the steps opened while it is active (see the module docstring)."""

    def __init__(self, *, show: bool = True, log: bool = False, stream: TextIO | None = None) -> None:
        self._stream = stream
        self.show = show
        self.log = log
        out = self.stream
        self.tqdm = _tqdm() if show and is_terminal(out) else None
        self._lock = threading.RLock()
        self._bars: list[Step] = []
        #: set to stop the ticker thread of the bars now open (None while no bar is open)
        self._stop: threading.Event | None = None

    @property
    def stream(self) -> TextIO:
        """The stream written to: the one given, else ``sys.stderr`` as it is now (tests redirect it)."""
        return self._stream if self._stream is not None else sys.stderr

    def label(self, s: Step) -> str:
        return f"{PREFIX}{'  ' * s.depth}{s.name}"

    def open(self, name: str, total: int | None, unit: str, depth: int) -> Step:
        s = Step(self, name, total, unit, depth)
        if not self.show:
            return s
        if self.tqdm is None:
            what = f" ({total:,} {unit})" if total is not None else ""
            self.write(f"{self.label(s)}{what} ...")
            return s
        with self._lock:
            fmt = None if total is not None else "{desc} {elapsed}"
            s._bar = self.tqdm.tqdm(total=total, desc=self.label(s), unit=unit, file=self.stream, leave=False,
                                    dynamic_ncols=True, mininterval=0.2, bar_format=fmt, disable=False)
            self._bars.append(s)
            if self._stop is None:
                self._stop = threading.Event()
                threading.Thread(target=self._tick, args=(self._stop,), name="gaussprobe-progress",
                                 daemon=True).start()
        return s

    def close(self, s: Step) -> None:
        seconds = s.elapsed
        with self._lock:
            if s._bar is not None:
                with s._lock:
                    s._bar.close()
                    s._bar = None
                self._bars.remove(s)
                if not self._bars and self._stop is not None:
                    self._stop.set()  # this ticker ends; the next bar starts a new one
                    self._stop = None
        if self.log:
            unit = s.unit if s.count == 1 or s.unit.endswith("s") else f"{s.unit}s"
            done = f", {s.count:,} {unit}" if s.total is not None else ""
            self.write(f"{self.label(s)}: {seconds:.2f} s{done}")

    def write(self, text: str) -> None:
        with self._lock:
            if self._bars and self.tqdm is not None:
                self.tqdm.tqdm.write(text, file=self.stream)
            else:
                self.stream.write(text + "\n")
                self.stream.flush()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(REFRESH_SECONDS):
            with self._lock:
                for s in list(self._bars):
                    with s._lock:
                        if s._bar is not None:
                            s._bar.refresh()


def _resolve(progress: bool | None) -> _Reporter | None:
    if progress is False:
        return None
    active = _ACTIVE.get()
    if active is None and progress:
        return _Reporter()
    return active


@contextlib.contextmanager
def step(name: str, *, total: int | None = None, unit: str = "it", progress: bool | None = None,
         nested: bool = True) -> Iterator[Step]:
    """Report a named step for the duration of the ``with`` block.

    Parameters
    ----------
    name : str
        What is being done, short and lower case ("covariance", "mardia", "read emb.npy").
    total : int, optional
        Number of units the step will :meth:`~Step.advance` through (a counter with time left is
        shown); ``None`` shows the elapsed time only.
    unit : str
        What one unit is ("tile", "draw", "text").
    progress : bool or None
        ``None``: report into the enclosing :func:`reporting` block, if any. ``True``: also when there
        is none (a default one on stderr). ``False``: show nothing for this step or any step nested
        in it.
    nested : bool
        Whether steps opened inside this one are reported too. ``False`` for a step that repeats
        work which reports itself (e.g. a Monte-Carlo null that runs a statistic once per draw).

    Yields
    ------
    Step
        Call ``advance(n)`` on it as units complete (from any thread).
    """
    reporter = _resolve(progress)
    if reporter is None:
        token = _ACTIVE.set(None) if progress is False else None
        try:
            yield _NULL_STEP
        finally:
            if token is not None:
                _ACTIVE.reset(token)
        return
    depth = _DEPTH.get()
    s = reporter.open(name, total, unit, depth)
    token_r, token_d = _ACTIVE.set(reporter if nested else None), _DEPTH.set(depth + 1)
    try:
        yield s
    finally:
        _DEPTH.reset(token_d)
        _ACTIVE.reset(token_r)
        reporter.close(s)


@contextlib.contextmanager
def reporting(show: bool | None = None, *, log: bool = False, stream: TextIO | None = None) -> Iterator[None]:
    """Show (and optionally log) the steps opened inside the ``with`` block.

    Parameters
    ----------
    show : bool or None
        Show each open step (bars on a terminal, a plain line per step elsewhere). ``None``: only when
        ``stream`` is a terminal outside CI (see :func:`is_terminal`).
    log : bool
        Also write ``name: 1.23 s`` when each step ends.
    stream : text stream, optional
        Where to write (default: ``sys.stderr`` at the time of writing).
    """
    if show is None:
        show = is_terminal(stream if stream is not None else sys.stderr)
    token = _ACTIVE.set(_Reporter(show=show, log=log, stream=stream))
    depth = _DEPTH.set(0)
    try:
        yield
    finally:
        _DEPTH.reset(depth)
        _ACTIVE.reset(token)


def active() -> bool:
    """Whether steps opened here are reported (an enclosing :func:`reporting` block or step exists)."""
    return _ACTIVE.get() is not None


def write(text: str) -> None:
    """Write one line to the reporting stream without tearing open bars (stderr when not reporting)."""
    reporter = _ACTIVE.get()
    if reporter is None:
        print(text, file=sys.stderr, flush=True)
    else:
        reporter.write(text)


@contextlib.contextmanager
def third_party_bars_hidden() -> Iterator[None]:
    """Hide the progress bars of Hugging Face libraries inside the block (transformers' "Loading
    weights", hub downloads), restoring their settings afterwards.

    Works at run time on modules already imported, which is what ``HF_HUB_DISABLE_PROGRESS_BARS`` and
    ``TQDM_DISABLE`` cannot do: both are read once, when the library is first imported. Import the
    library before entering the block.
    """
    hf_logging = sys.modules.get("transformers.utils.logging")
    hub_tqdm = sys.modules.get("huggingface_hub.utils.tqdm")
    was_on = bool(hf_logging is not None and hf_logging.is_progress_bar_enabled())
    states = dict(getattr(hub_tqdm, "progress_bar_states", {}) or {})
    hub_on = hub_tqdm is not None and not hub_tqdm.are_progress_bars_disabled()
    if hf_logging is not None:
        hf_logging.disable_progress_bar()
    if hub_tqdm is not None:
        hub_tqdm.disable_progress_bars()
    try:
        yield
    finally:
        if hf_logging is not None and was_on:
            hf_logging.enable_progress_bar()
        if hub_tqdm is not None:
            if hub_on:
                hub_tqdm.enable_progress_bars()
            current = getattr(hub_tqdm, "progress_bar_states", None)
            if isinstance(current, dict):
                current.clear()
                current.update(states)


__all__ = ["Step", "active", "is_terminal", "reporting", "step", "third_party_bars_hidden", "write"]
