"""Scale benchmark: ``analyze`` out of core, on a local Dask cluster, and in memory, in one run.

Three measurements, each printed as a table (times are wall-clock seconds, memory is the peak of the
measured process's anonymous resident memory, ``RssAnon``: a memory map's file pages do not count):

1. **Out of core.** A seeded ``--rows`` x ``--features`` float32 ``.npy`` file (default 10,000,000 x 768,
   30.7 GB: larger than the 24 GiB of RAM of the reference machine) is written to a temporary folder and
   analysed with the default tests through ``gp.open_embeddings`` (a lazy Dask array, threaded
   scheduler), in a child process whose peak ``RssAnon``, bytes read from disk (``/proc/<pid>/io``) and
   wall time are recorded. The same child process's time per row is compared with ``analyze`` of the
   first ``--memory-rows`` rows (default 100,000) held in memory, measured in the same run; the
   sequential read rate of the file (page cache dropped first when run as root) is printed beside it.
   Targets: peak anonymous memory <= 4 GiB, time per row <= 1.5x the in-memory call's.
2. **Strong scaling.** ``analyze`` of the first ``--scaling-rows`` rows (default 2,000,000) on a
   ``distributed.LocalCluster`` of two single-threaded worker processes against one. Target: >= 1.6x.
3. The in-memory benchmarks (``bench_analyze.py``, ``bench_mardia.py``, ``bench_hz.py``) are separate
   scripts; run them before and after a change on the same machine.

Every file is deleted when the script ends (also on an error or Ctrl-C). Usage::

    python benchmarks/bench_scale.py                              # the full run (about an hour here)
    python benchmarks/bench_scale.py --rows 400000 --features 64 --memory-rows 50000 --scaling-rows 200000
    python benchmarks/bench_scale.py --tmpdir /big/disk --skip-scaling
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import gaussprobe as gp
mode, path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
if mode == "memory":
    x = np.array(np.load(path, mmap_mode="r")[:rows])
    t0 = time.perf_counter()
    rep = gp.analyze(x, rng=0)
elif mode == "lazy":
    rep = gp.analyze(gp.open_embeddings(path), rng=0)
else:
    from distributed import Client, LocalCluster
    workers = int(sys.argv[4])
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit="8GiB") as cluster, Client(cluster):
        x = gp.open_embeddings(path)[:rows]
        t0 = time.perf_counter()
        rep = gp.analyze(x, rng=0)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "n": rep.n_samples, "timings": rep.timings,
                  "cv": rep.thin_shell.cv, "ad_mean": rep.coordinates.ad_mean,
                  "kurtosis": rep.mardia.kurtosis if rep.mardia is not None else None}))
"""


def _status(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def _io(pid: int) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/io") as f:
            return {k: int(v) for k, v in (line.split(":") for line in f)}
    except OSError:
        return {}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(p) for p in f.read().split()]
    except OSError:
        return []
    out = list(kids)
    for k in kids:
        out.extend(_children(k))
    return out


def run_child(args: list[str], env: dict[str, str]) -> dict:
    """Run a child analysis; poll its (and its children's) anonymous memory and disk reads."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    peak = {"anon": 0, "anon_total": 0}
    reads = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            pids = [proc.pid, *_children(proc.pid)]
            anon = [_status(p, "RssAnon") for p in pids]
            peak["anon"] = max(peak["anon"], anon[0])
            peak["anon_total"] = max(peak["anon_total"], sum(anon))
            for p in pids:
                io = _io(p)
                if io:
                    reads[p] = io.get("read_bytes", 0)
            stop.wait(0.1)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    out, err = proc.communicate()
    stop.set()
    t.join()
    if proc.returncode:
        msg = f"child failed ({proc.returncode}):\n{err[-3000:]}"
        raise RuntimeError(msg)
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_anon"] = peak["anon"]
    res["peak_anon_all"] = peak["anon_total"]
    res["read_bytes"] = sum(reads.values())
    return res


def write_data(path: str, rows: int, d: int, seed: int = 20261206) -> float:
    """A seeded float32 Gaussian with an uneven spectrum, written in row blocks; returns seconds."""
    t0 = time.perf_counter()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, d))
    scale = np.linspace(0.5, 2.0, d).astype(np.float32)
    step = max(1, 2**26 // (4 * d))
    gens = np.random.default_rng(seed).spawn(-(-rows // step))
    for i, a in enumerate(range(0, rows, step)):
        b = min(rows, a + step)
        block = gens[i].standard_normal((b - a, d), dtype=np.float32)
        block *= scale
        out[a:b] = block
    out.flush()
    del out
    return time.perf_counter() - t0


def read_rate(path: str) -> tuple[float, bool]:
    """Sequential read rate of ``path`` in bytes per second (first 8 GiB), and whether the page cache
    could be dropped first (root only)."""
    dropped = False
    try:
        subprocess.run(["sync"], check=False)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        dropped = True
    except OSError:
        pass
    size = min(os.path.getsize(path), 8 * 2**30)
    buf = bytearray(64 * 2**20)
    t0 = time.perf_counter()
    done = 0
    with open(path, "rb", buffering=0) as f:
        while done < size:
            n = f.readinto(buf)
            if not n:
                break
            done += n
    return done / (time.perf_counter() - t0), dropped


def _gib(b: float) -> str:
    return f"{b / 2**30:.2f} GiB"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--features", type=int, default=768)
    p.add_argument("--memory-rows", type=int, default=100_000)
    p.add_argument("--scaling-rows", type=int, default=2_000_000)
    p.add_argument("--tmpdir", default=None, help="folder for the data and the spill (default: system's)")
    p.add_argument("--skip-out-of-core", action="store_true")
    p.add_argument("--skip-scaling", action="store_true")
    a = p.parse_args()
    folder = tempfile.mkdtemp(prefix="gaussprobe-bench-scale-", dir=a.tmpdir)
    env = dict(os.environ, GAUSSPROBE_TMPDIR=folder, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", ""))
    env = {k: v for k, v in env.items() if v != ""}
    try:
        path = os.path.join(folder, "embeddings.npy")
        nbytes = a.rows * a.features * 4
        print(f"writing {a.rows:,} x {a.features} float32 ({nbytes / 1e9:.1f} GB) to {folder} ...", flush=True)
        secs = write_data(path, a.rows, a.features)
        print(f"  written in {secs:.0f} s ({nbytes / secs / 1e9:.2f} GB/s)", flush=True)
        rate, dropped = read_rate(path)
        print(f"sequential read rate: {rate / 1e9:.2f} GB/s ({'page cache dropped' if dropped else 'cache not dropped'})",
              flush=True)
        mem = run_child(["memory", path, str(a.memory_rows)], env)
        per_row_mem = mem["wall"] / a.memory_rows
        print(f"\nin memory, {a.memory_rows:,} rows: {mem['wall']:.1f} s ({per_row_mem * 1e6:.1f} us/row), "
              f"peak RssAnon {_gib(mem['peak_anon'])}", flush=True)
        if not a.skip_out_of_core:
            print(f"out of core, {a.rows:,} rows (default tests) ...", flush=True)
            lazy = run_child(["lazy", path, str(a.rows)], env)
            per_row = lazy["wall"] / a.rows
            print("\n| measurement | value | target |\n|---|---|---|")
            print(f"| wall time | {lazy['wall']:.0f} s | |")
            print(f"| time per row | {per_row * 1e6:.1f} us ({per_row / per_row_mem:.2f}x in memory) | <= 1.5x |")
            print(f"| peak RssAnon | {_gib(lazy['peak_anon'])} | <= 4 GiB |")
            print(f"| bytes read from disk | {lazy['read_bytes'] / 1e9:.1f} GB ({lazy['read_bytes'] / nbytes:.2f}"
                  f" x the file) | |")
            print(f"| sequential read rate | {rate / 1e9:.2f} GB/s | |")
            print("\nsteps (s):", json.dumps({k: round(v, 1) for k, v in lazy["timings"].items()}))
        if not a.skip_scaling:
            rows = min(a.scaling_rows, a.rows)
            print(f"\nstrong scaling on {rows:,} rows: LocalCluster of single-threaded workers", flush=True)
            one = run_child(["cluster", path, str(rows), "1"], env)
            two = run_child(["cluster", path, str(rows), "2"], env)
            print("\n| workers | wall | speed-up |\n|---|---|---|")
            print(f"| 1 | {one['wall']:.0f} s | 1.00x |")
            print(f"| 2 | {two['wall']:.0f} s | {one['wall'] / two['wall']:.2f}x (target >= 1.6x) |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
