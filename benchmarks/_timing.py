"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``): timing, CUDA."""

from __future__ import annotations

import time


def best_of(fn, repeat):
    """The fastest of ``repeat`` wall-clock timings of ``fn()``, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cuda_torch(skipping: str):
    """``torch`` when it is installed and sees a CUDA device; otherwise print why and return None.

    ``skipping`` ends the message, e.g. "nothing to check". GPU scripts exit 0 on None, so they are
    safe to run anywhere.
    """
    try:
        import torch
    except ImportError:
        print(f"torch is not installed: {skipping}")
        return None
    if not torch.cuda.is_available():
        print(f"CUDA is not available: {skipping}")
        return None
    return torch
