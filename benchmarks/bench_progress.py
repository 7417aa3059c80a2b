"""Progress feedback of ``gaussprobe analyze``: how long each reported step takes, and what reporting costs.

1. **Steps.** Runs ``gaussprobe analyze FILE --tests TESTS -v --no-progress`` in a fresh process on a
   Gaussian float32 file and prints every step the command reports (``-v`` writes one line per finished
   step with its time; on a terminal the same steps are the progress bars). With the default sizes
   this is the issue's case: ``--tests mardia`` on
   100,000 x 768, where Mardia's skewness is an O(n^2 d) pass over pairwise tiles.
2. **Overhead** (``--overhead``): ``gaussprobe.analyze`` on the same array with ``progress=False``
   against reporting with tqdm bars drawn into an in-memory terminal (so every refresh is rendered),
   best of ``--repeat`` runs each, side by side in one process. Target: ratio <= 1.02.

Run: ``python benchmarks/bench_progress.py`` (100,000 x 768, ``--tests mardia``; several minutes on two
cores), ``--quick`` (20,000 x 256), ``--tests default``, ``--overhead``.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import best_of


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def steps(path: Path, tests: str) -> list[tuple[str, float, str]]:
    cmd = [sys.executable, "-m", "gaussprobe", "analyze", str(path), "--tests", tests, "-v", "--no-progress",
           "--format", "json", "-o", os.devnull]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    found = [(m.group(1), float(m.group(2)), m.group(3) or "") for m in
             re.finditer(r"^gaussprobe: (.+?): (\d+\.\d+) s(?:, (.+))?$", out.stderr, re.MULTILINE)]
    found.append(("(whole command, wall clock)", wall, ""))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 x 256 instead of 100,000 x 768")
    ap.add_argument("--n", type=int)
    ap.add_argument("--d", type=int)
    ap.add_argument("--tests", default="mardia", help="--tests of the command (default mardia)")
    ap.add_argument("--overhead", action="store_true", help="also time reporting against progress=False")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    n = args.n or (20_000 if args.quick else 100_000)
    d = args.d or (256 if args.quick else 768)
    x = np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "emb.npy"
        np.save(path, x)
        print(f"gaussprobe analyze ({n:,} x {d} float32) --tests {args.tests}: reported steps")
        for name, seconds, count in steps(path, args.tests):
            print(f"  {name:<40} {seconds:9.2f} s  {count}")
    if args.overhead:
        import gaussprobe as gp
        from gaussprobe import _progress

        tests = None if args.tests == "default" else args.tests
        gp.analyze(x, rng=0, tests=tests)  # warm: imports, compilation, cached nulls

        def shown() -> None:
            with _progress.reporting(True, stream=_Terminal()):
                gp.analyze(x, rng=0, tests=tests, progress=True)

        off_times, on_times = [], []
        for _ in range(args.repeat):  # interleaved, so a busy machine slows both sides alike
            off_times.append(best_of(lambda: gp.analyze(x, rng=0, tests=tests, progress=False), 1))
            on_times.append(best_of(shown, 1))
        off, on = min(off_times), min(on_times)
        print(f"overhead of reporting (tqdm bars into an in-memory terminal), best of {args.repeat} interleaved: "
              f"off {off:.2f} s, on {on:.2f} s, ratio {on / off:.3f} (target <= 1.02)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
