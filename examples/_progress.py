"""Progress lines for the example scripts: the elapsed time, then the message, flushed at once (the
runs take minutes, and their output often goes through a pipe)."""

from __future__ import annotations

import time


class Progress:
    """``progress(message)`` prints ``"   12.3 s  message"``. With ``steps``, ``progress(message,
    step=True)`` numbers the message ``[k/steps]`` and other messages are indented to match."""

    def __init__(self, steps: int | None = None) -> None:
        self.start, self.steps, self.step = time.perf_counter(), steps, 0

    def __call__(self, message: str, *, step: bool = False) -> None:
        if self.steps is not None:
            if step:
                self.step += 1
            prefix = f"[{self.step}/{self.steps}]" if step else " " * (2 * len(str(self.steps)) + 3)
            message = f"{prefix} {message}"
        print(f"{time.perf_counter() - self.start:7.1f} s  {message}", flush=True)
