"""`gaussprobe analyze FILE.npy` versus the library call on the same array.

Targets (issue: CLI): the command's wall time <= 1.3x the time of ``gaussprobe.analyze(x)`` on the
array already in memory, and the command's peak memory <= 1.5x the file size plus the library's own
working set (its peak minus the array it was handed).

Both sides run in fresh processes; peak resident memory comes from ``os.wait4`` (ru_maxrss of exactly
that child). The command's time is measured from outside, so it includes interpreter start-up, imports,
reading the file and printing the report; the library's time is the ``analyze`` call only, in a fresh
process (so both sides pay the same lazy imports and kernel compilation; ``--warm-library`` excludes
them from the library side, which is stricter than the target asks).

Run: ``python benchmarks/bench_cli.py`` (100,000 x 768 float32) or ``--quick`` (20,000 x 256).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LIBRARY = """
import json, sys, time
import numpy as np
import gaussprobe as gp
x = np.load(sys.argv[1])
if sys.argv[2] == "warm":
    gp.analyze(x[:2000], rng=0)  # imports, lazy compilation, as in a long-running session
t0 = time.perf_counter()
gp.analyze(x, rng=0)
print(json.dumps({"analyze_seconds": time.perf_counter() - t0}))
"""


def run_child(cmd: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stdout) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        msg = f"{cmd[:4]} exited with {proc.returncode}"
        raise RuntimeError(msg)
    return wall, int(usage.ru_maxrss) * 1024, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 x 256 instead of 100,000 x 768")
    ap.add_argument("--n", type=int)
    ap.add_argument("--d", type=int)
    ap.add_argument("--repeat", type=int, default=1, help="runs per side; the best is kept")
    ap.add_argument("--json", help="also write the numbers to this file")
    ap.add_argument("--warm-library", action="store_true",
                    help="warm the library side up first (excludes its lazy imports and kernel compilation)")
    args = ap.parse_args(argv)
    n = args.n or (20_000 if args.quick else 100_000)
    d = args.d or (256 if args.quick else 768)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "emb.npy"
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, d), dtype=np.float32)
        x *= np.linspace(0.5, 2.0, d, dtype=np.float32)
        np.save(path, x)
        del x
        size = path.stat().st_size
        cli_cmd = [sys.executable, "-m", "gaussprobe", "analyze", str(path), "--seed", "0"]
        lib_cmd = [sys.executable, "-c", LIBRARY, str(path), "warm" if args.warm_library else "cold"]
        run_child([sys.executable, "-c", "import gaussprobe.report, scipy.special"])  # warm the disk cache
        lib, cli = [], []
        for _ in range(args.repeat):
            wall, rss, out = run_child(lib_cmd)
            lib.append((json.loads(out)["analyze_seconds"], wall, rss))
            cli.append(run_child(cli_cmd)[:2])
    lib_seconds, lib_wall, lib_rss = min(lib)
    cli_wall, cli_rss = min(cli)
    working_set = max(lib_rss - size, 0)
    memory_bound = 1.5 * size + working_set
    result = {
        "n": n, "d": d, "file_bytes": size,
        "library_analyze_seconds": round(lib_seconds, 3), "library_process_seconds": round(lib_wall, 3),
        "cli_seconds": round(cli_wall, 3), "time_ratio": round(cli_wall / lib_seconds, 3), "time_target": 1.3,
        "library_peak_rss_bytes": lib_rss, "cli_peak_rss_bytes": cli_rss,
        "memory_bound_bytes": int(memory_bound), "memory_ratio_to_bound": round(cli_rss / memory_bound, 3),
        "memory_target": 1.0,
    }
    mib = 2**20
    print(f"gaussprobe analyze on {n:,} x {d} float32 ({size / mib:.0f} MiB file)")
    print(f"  library analyze(x):   {lib_seconds:8.2f} s   (process {lib_wall:.2f} s, peak RSS "
          f"{lib_rss / mib:.0f} MiB)")
    print(f"  gaussprobe analyze:   {cli_wall:8.2f} s   (peak RSS {cli_rss / mib:.0f} MiB)")
    print(f"  time ratio  {result['time_ratio']:.3f}  (target <= 1.3)")
    print(f"  memory      {cli_rss / mib:.0f} MiB vs bound 1.5 x file + working set = "
          f"{memory_bound / mib:.0f} MiB  (ratio {result['memory_ratio_to_bound']:.3f}, target <= 1)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
