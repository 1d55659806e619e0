"""`python -m fastinit bench`: fastinit against its peers, in one process.

Every method fills the same preallocated (already touched) buffer, so page
faults are not timed; each is run `repeat` times after one warm-up and the
median is reported, with ratios to NumPy measured in the same run.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import platform
import statistics
import time

import numpy as np

from . import _core, _engine, _simd, _threads
from ._generator import default_rng


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class _NumpyThreaded:
    """NumPy's documented multithreaded recipe ("Multithreaded Generation" in
    the numpy.random docs): one Generator per thread from SeedSequence.spawn,
    each filling its slice of the output."""

    def __init__(self, n_threads: int, seed: int = 0):
        self.n = n_threads
        self.gens = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_threads)]
        self.pool = concurrent.futures.ThreadPoolExecutor(n_threads)

    def standard_normal(self, out):
        step = -(-out.size // self.n)
        jobs = [self.pool.submit(g.standard_normal, dtype=out.dtype, out=out[i * step:(i + 1) * step])
                for i, g in enumerate(self.gens)]
        for j in jobs:
            j.result()

    def random(self, out):
        step = -(-out.size // self.n)
        jobs = [self.pool.submit(g.random, dtype=out.dtype, out=out[i * step:(i + 1) * step])
                for i, g in enumerate(self.gens)]
        for j in jobs:
            j.result()


def _time(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(size: int = 1 << 26, repeat: int = 5, threads: int | None = None) -> dict:
    """Time every method on `size` float32 elements; return the results."""
    if threads is not None:
        from ._threads import set_num_threads

        set_num_threads(threads)
    nt = _threads.get_num_threads()
    x = np.zeros(size, dtype=np.float32)  # touched once: no page faults below
    g = default_rng(0)
    np_rng = np.random.default_rng(0)
    recipe = _NumpyThreaded(nt)
    rows = []

    def add(name, group, fn):
        t = _time(fn, repeat)
        rows.append({"method": name, "group": group, "seconds": t, "melem_s": size / t / 1e6,
                     "gb_s": size * x.itemsize / t / 1e9})

    add("numpy ndarray.fill(1.0) (1 thread)", "bandwidth", lambda: x.fill(1.0))
    add(f"fastinit constant fill ({nt} threads)", "bandwidth", lambda: _engine.fill(x, _engine.CONST, 1.0, key=(0, 0), stream=0))
    add("numpy Generator.random(float32, out=)", "uniform", lambda: np_rng.random(dtype=np.float32, out=x))
    add(f"numpy multithreaded recipe random ({nt} threads)", "uniform", lambda: recipe.random(x))
    add(f"fastinit random(float32, out=) ({nt} threads)", "uniform", lambda: g.random(out=x))
    add("numpy Generator.standard_normal(float32, out=)", "normal", lambda: np_rng.standard_normal(dtype=np.float32, out=x))
    add(f"numpy multithreaded recipe standard_normal ({nt} threads)", "normal", lambda: recipe.standard_normal(x))
    add(f"fastinit standard_normal(float32, out=) ({nt} threads)", "normal", lambda: g.standard_normal(out=x))
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        tx = torch.from_numpy(x)
        add(f"torch {torch.__version__} Tensor.uniform_ ({torch.get_num_threads()} threads)", "uniform", lambda: tx.uniform_())
        add(f"torch {torch.__version__} Tensor.normal_ ({torch.get_num_threads()} threads)", "normal", lambda: tx.normal_())
    recipe.pool.shutdown()
    order = ("bandwidth", "uniform", "normal")
    rows.sort(key=lambda r: order.index(r["group"]))  # stable: peers keep their order

    base = {grp: next(r["melem_s"] for r in rows if r["group"] == grp and r["method"].startswith("numpy Generator"))
            for grp in ("uniform", "normal")}
    base["bandwidth"] = rows[0]["melem_s"]
    for r in rows:
        r["vs_numpy"] = r["melem_s"] / base[r["group"]]
    return {
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "simd": _simd.current_name(),
                    "threads": nt, "openmp": bool(_core.openmp_version())},
        "size": size, "dtype": "float32", "repeat": repeat, "rows": rows,
    }


def report(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"fastinit bench: {res['size']:,} float32 elements ({res['size'] * 4 / 2**20:.0f} MiB), "
        f"median of {res['repeat']} runs",
        f"machine: {m['cpu']}, {m['cores']} cores; fastinit SIMD path {m['simd']}, {m['threads']} threads",
        "",
        f"{'method':<58} {'Melem/s':>9} {'GB/s':>7} {'vs numpy':>9}",
    ]
    group = None
    for r in res["rows"]:
        if r["group"] != group:
            group = r["group"]
            ref = "ndarray.fill" if group == "bandwidth" else f"Generator.{'random' if group == 'uniform' else 'standard_normal'}"
            lines.append(f"-- {group} (ratios to numpy {ref})")
        lines.append(f"{r['method']:<58} {r['melem_s']:9.0f} {r['gb_s']:7.2f} {r['vs_numpy']:8.1f}x")
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="fastinit bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1 << 26, help="float32 elements (default 2**26)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per method (default 5)")
    p.add_argument("--threads", type=int, default=None, help="fastinit threads (default: all)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    a = p.parse_args(argv)
    if a.size < 1 or a.repeat < 1:
        p.error("--size and --repeat must be positive")
    res = run(a.size, a.repeat, a.threads)
    print(report(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0
