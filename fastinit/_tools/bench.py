"""`fastinit bench`: fastinit against its peers, ratios taken in one run.

Every method fills the same preallocated, already touched buffer (so page
faults are not timed, except in the "fresh array" section, which measures
them on purpose).  After one warm-up each, the methods are timed round
robin, `repeat` rounds (a peer slower than a few seconds a run sits out the
later rounds), and each method's median is reported with the fastest and
slowest run: on a shared machine whose speed drifts over minutes, every
contender sees the same drift.

One method must not steal the next one's cores: the NumPy recipe's thread
pool is shut down after each of its runs (outside the timing), and before
each timed run the process sleeps `settle` seconds, so that thread pools
still spinning after the previous method (OpenMP's, OpenBLAS') go idle.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import fastinit

from .._backends import simd as _simd
from .._backends import threads as _threads
from .. import _core, _validate
from .._initializers.generator import default_rng

_SLOW = 10.0  # seconds a method may take in all; slower peers get fewer runs


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
        self.gens = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_threads)]
        self.pool = None

    def start(self):
        """The pool's threads (untimed, before a run)."""
        if self.pool is None:
            self.pool = concurrent.futures.ThreadPoolExecutor(len(self.gens))
            for f in [self.pool.submit(int) for _ in self.gens]:  # every worker started
                f.result()

    def close(self):
        """Shut the pool down (untimed, after a run): no idle worker is left
        to compete with the next method."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    def _run(self, method, out):
        self.start()
        step = -(-out.size // len(self.gens))
        jobs = [self.pool.submit(getattr(g, method), dtype=out.dtype, out=out[i * step:(i + 1) * step])
                for i, g in enumerate(self.gens)]
        for j in jobs:
            j.result()

    def standard_normal(self, out):
        self._run("standard_normal", out)

    def random(self, out):
        self._run("random", out)


class Timing(tuple):
    """(median, fastest, slowest) seconds of one method's timed runs."""

    __slots__ = ()

    def __new__(cls, runs):
        return super().__new__(cls, (statistics.median(runs), min(runs), max(runs)))

    median = property(lambda self: self[0])
    fastest = property(lambda self: self[1])
    slowest = property(lambda self: self[2])


def _time_round_robin(fns: list, repeat: int, settle: float = 0.0, before=None, after=None) -> list[Timing]:
    """Each function timed in turn `repeat` rounds after a warm-up.  Before
    every run, before[i]() (untimed) and a sleep of `settle` seconds; after
    it, after[i]() (untimed)."""
    before = before or [None] * len(fns)
    after = after or [None] * len(fns)

    def once(i):
        if before[i] is not None:
            before[i]()
        if settle:
            time.sleep(settle)
        t0 = time.perf_counter()
        fns[i]()
        dt = time.perf_counter() - t0
        if after[i] is not None:
            after[i]()
        return dt

    first = [once(i) for i in range(len(fns))]  # warm-up, and how slow each one is
    times = [[] for _ in fns]
    for r in range(repeat):
        for i in range(len(fns)):
            if r and first[i] * (r + 1) > _SLOW:
                continue
            times[i].append(once(i))
    return [Timing(t) for t in times]


def _peak_rss_of_fresh_fill(n: int) -> dict:
    """Peak RSS (VmHWM: this process image's own high-water mark, unlike
    ru_maxrss, which keeps the forking parent's) of a new Python process
    that fills a fresh array of n float32 with he_normal, and the same
    before the fill (the interpreter and its libraries)."""
    code = ("import sys, fastinit\n"
            "def hwm():\n"
            "    with open('/proc/self/status') as f:\n"
            "        return next(int(l.split()[1]) for l in f if l.startswith('VmHWM'))\n"
            "base = hwm()\n"
            "n = int(sys.argv[1])\n"
            "x = fastinit.he_normal((n // 1024, 1024), rng=0)\n"
            "print(base, hwm())\n")
    if not os.path.exists("/proc/self/status"):
        return None
    out = subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True, text=True,
                         cwd=tempfile.gettempdir())  # not a source checkout
    if out.returncode != 0:  # out of memory, or killed: the rest of the run stands
        last = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        return {"elements": n, "array_mib": n * 4 / 2**20, "failed": last}
    base_kib, peak_kib = map(int, out.stdout.split())
    return {"elements": n, "array_mib": n * 4 / 2**20, "peak_rss_mib": peak_kib / 1024,
            "before_fill_mib": base_kib / 1024}


def default_rss_size(size: int) -> int:
    """Elements of the peak-RSS fill: 16 times the benchmark's buffer, at
    most 2**30 (4 GiB of float32), so that a small --size stays small."""
    return min(1 << 30, 16 * size)


@dataclass(frozen=True)
class Method:
    """One contender of the peer comparison.  `role` ("<library>.<what>",
    e.g. "torch.kaiming_normal_"; fastinit's own start with "fastinit.") is
    the key comparison() and report() find its row by; `group` and `name`
    are the row's; `fn` is the fill timed, `itemsize` the bytes it writes
    per element, `before` and `after` untimed hooks around each run."""

    role: str
    group: str
    name: str
    fn: Callable[[], object]
    itemsize: int = 4
    before: Callable[[], object] | None = None
    after: Callable[[], object] | None = None

    @property
    def who(self) -> str:
        return "fastinit" if self.role.startswith("fastinit.") else "peer"


class _Setup:
    """What every section fills and times with: one float32 buffer, touched
    once (no page faults timed), seen as a weight by the fan-based
    initializers; the generators; torch, where installed."""

    def __init__(self, size: int, nt: int, repeat: int, settle: float):
        self.size, self.nt, self.repeat, self.settle = size, nt, repeat, settle
        self.x = np.zeros(size, dtype=np.float32)
        self.w = self.x.reshape(-1, 1024) if size % 1024 == 0 else self.x.reshape(1, -1)
        self.g = default_rng(0)
        self.np_rng = np.random.default_rng(0)
        self.recipe = _NumpyThreaded(nt)
        try:
            import torch
        except ImportError:
            torch = None
        self.torch = torch
        if torch is not None:
            self.tx, self.tw = torch.from_numpy(self.x), torch.from_numpy(self.w)
            self.tv = f"torch {torch.__version__.split('+')[0]} ({torch.get_num_threads()} threads)"

    def time(self, fns, before=None, after=None) -> list[Timing]:
        """All of a section's fills, round robin in one call."""
        return _time_round_robin(fns, self.repeat, self.settle, before=before, after=after)


def _bandwidth(s: _Setup) -> list[Method]:
    """Write bandwidth: the ceiling."""
    return [Method("numpy.fill", "bandwidth", "numpy ndarray.fill(0.0)", lambda: s.x.fill(0.0)),
            Method("fastinit.zeros", "bandwidth", "fastinit zeros", lambda: fastinit.zeros(out=s.x))]


def _normal_or_uniform(s: _Setup, grp, np_m, t_m, t_init, fi_m, fi_init) -> list[Method]:
    """One distribution: NumPy's method, its multithreaded recipe, torch's
    method and torch.nn.init's initializer, fastinit's method and initializer."""
    ms = [Method(f"numpy.{np_m}", grp, f"numpy Generator.{np_m}(float32, out=)",
                 lambda: getattr(s.np_rng, np_m)(dtype=np.float32, out=s.x)),
          Method(f"numpy_recipe.{np_m}", grp, f"numpy multithreaded recipe {np_m} ({s.nt} threads)",
                 lambda: getattr(s.recipe, np_m)(s.x), before=s.recipe.start, after=s.recipe.close)]
    if s.torch is not None:
        ms += [Method(f"torch.{t_m}", grp, f"{s.tv} Tensor.{t_m}", lambda: getattr(s.tx, t_m)()),
               Method(f"torch.{t_init}", grp, f"{s.tv} nn.init.{t_init}",
                      lambda: getattr(s.torch.nn.init, t_init)(s.tw))]
    return ms + [Method(f"fastinit.{fi_m}", grp, f"fastinit {fi_m}(out=)", lambda: getattr(s.g, fi_m)(out=s.x)),
                 Method(f"fastinit.{fi_init}", grp, f"fastinit {fi_init}(out=)",
                        lambda: getattr(s.g, fi_init)(out=s.w))]


def _truncated(s: _Setup) -> list[Method]:
    """Truncated normal, std 0.02 cut at +-2 std (a real cut)."""
    ms = []
    if s.torch is not None:
        trunc = s.torch.nn.init.trunc_normal_
        ms += [Method("torch.trunc_normal_cut", "truncated", f"{s.tv} trunc_normal_(std=.02, a=-.04, b=.04)",
                      lambda: trunc(s.tx, std=0.02, a=-0.04, b=0.04)),
               Method("torch.trunc_normal_nocut", "truncated", f"{s.tv} trunc_normal_(std=.02), default a, b: no cut",
                      lambda: trunc(s.tx, std=0.02))]
    return ms + [Method("fastinit.truncated_normal", "truncated", "fastinit truncated_normal(std=.02, a=-.04, b=.04)",
                        lambda: s.g.truncated_normal(out=s.x, std=0.02, a=-0.04, b=0.04))]


def _bfloat16(s: _Setup) -> list[Method]:
    """He normal into bfloat16, against the same into float32."""
    ms = []
    if s.torch is not None:
        tb = s.torch.zeros(s.size, dtype=s.torch.bfloat16)
        ms.append(Method("torch.normal_bf16", "bfloat16", f"{s.tv} bfloat16 Tensor.normal_", lambda: tb.normal_(),
                         itemsize=2))
    xb = np.zeros(s.size, dtype=_validate.as_dtype("bfloat16")).reshape(s.w.shape)
    return ms + [Method("fastinit.he_normal_f32", "bfloat16", "fastinit he_normal float32",
                        lambda: s.g.he_normal(out=s.w)),
                 Method("fastinit.he_normal_bf16", "bfloat16", "fastinit he_normal bfloat16",
                        lambda: s.g.he_normal(out=xb), itemsize=2)]


def _peer_rows(s: _Setup) -> list[dict]:
    """Every group's contenders, all timed round robin in one call."""
    methods = [*_bandwidth(s),
               *_normal_or_uniform(s, "normal", "standard_normal", "normal_", "kaiming_normal_", "standard_normal",
                                   "he_normal"),
               *_normal_or_uniform(s, "uniform", "random", "uniform_", "kaiming_uniform_", "random", "he_uniform"),
               *_truncated(s), *_bfloat16(s)]
    secs = s.time([m.fn for m in methods], before=[m.before for m in methods], after=[m.after for m in methods])
    s.recipe.close()
    return [{"group": m.group, "method": m.name, "who": m.who, "role": m.role, **_rates(t, s.size, m.itemsize)}
            for m, t in zip(methods, secs)]


def _thread_scaling(s: _Setup) -> list[dict]:
    """fastinit he_normal on 1, 2, 4, ... threads up to all of them, round robin."""
    counts = sorted({1, *[2**k for k in range(1, 10) if 2**k < s.nt], s.nt})

    def with_threads(t):
        def fn():
            fastinit.set_num_threads(t)
            s.g.he_normal(out=s.w)
        return fn

    secs = s.time([with_threads(t) for t in counts])
    fastinit.set_num_threads(s.nt)
    return [{"threads": t, **_rates(tm, s.size, 4), "speedup": secs[0].median / tm.median}
            for t, tm in zip(counts, secs)]


def _simd_paths(s: _Setup) -> list[dict]:
    """fastinit he_normal and he_uniform on each SIMD path, round robin."""
    def on_path(path, kind):
        def fn():
            with _simd.forced(path):
                getattr(s.g, kind)(out=s.w)
        return fn

    avail = _simd.available()
    secs = s.time([on_path(p, k) for p in avail for k in ("he_normal", "he_uniform")])
    return [{"simd": p, "he_normal": s.size / secs[2 * i].median / 1e6,
             "he_uniform": s.size / secs[2 * i + 1].median / 1e6} for i, p in enumerate(avail)]


def _fresh(s: _Setup) -> list[dict]:
    """A fresh array: allocation and first touch by the filling threads."""
    secs = s.time([lambda: fastinit.he_normal(s.w.shape, rng=0),
                   lambda: s.np_rng.standard_normal(s.size, dtype=np.float32)])
    return [{"method": "fastinit he_normal(shape) (new array)", **_rates(secs[0], s.size, 4)},
            {"method": "numpy standard_normal(size, float32) (new array)", **_rates(secs[1], s.size, 4)}]


def _rss(size: int, rss_size: int | None) -> dict | None:
    """The peak RSS of a fresh fill in a new process; None if rss_size is 0."""
    if rss_size is None:
        rss_size = default_rss_size(size)
    return _peak_rss_of_fresh_fill(rss_size) if rss_size else None


def run(size: int = 1 << 26, repeat: int = 5, threads: int | None = None, rss_size: int | None = None,
        settle: float = 0.05) -> dict:
    """Time every method on `size` float32 elements; return the results."""
    if threads is not None:
        fastinit.set_num_threads(threads)
    nt = _threads.get_num_threads()
    s = _Setup(size, nt, repeat, settle)
    rows = _peer_rows(s)
    rate = {r["role"]: r["melem_s"] for r in rows}
    scaling, paths, fresh, rss = _thread_scaling(s), _simd_paths(s), _fresh(s), _rss(size, rss_size)
    return {
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "simd": _simd.current_name(),
                    "simd_available": _simd.available(), "threads": nt, "openmp": bool(_core.openmp_version()),
                    "threading": _core.threading()},
        "size": size, "dtype": "float32", "repeat": repeat, "settle": settle, "rows": rows, "threads": scaling,
        "simd_paths": paths, "fresh": fresh, "rss": rss,
        "bf16_vs_f32": rate["fastinit.he_normal_bf16"] / rate["fastinit.he_normal_f32"],
    }


def _rates(t: Timing, size: int, itemsize: int) -> dict:
    """Seconds and rates of a Timing: the median, and the spread (the rates
    of the slowest and the fastest run)."""
    return {"seconds": t.median, "melem_s": size / t.median / 1e6, "gb_s": size * itemsize / t.median / 1e9,
            "melem_s_min": size / t.slowest / 1e6, "melem_s_max": size / t.fastest / 1e6}


def comparison(res: dict) -> list[tuple[str, float | None]]:
    """(comparison, ratio of median rates) measured in this run; None where
    a peer did not run (torch not installed, a SIMD path missing)."""
    rate = {r["role"]: r["melem_s"] for r in res["rows"]}

    def ratio(a, b):
        return rate[a] / rate[b] if a in rate and b in rate else None

    p = {q["simd"]: q["he_normal"] for q in res["simd_paths"]}
    narrow, wide = simd_pair(res["machine"]["simd_available"])
    return [
        ("fastinit he_normal / numpy standard_normal(float32)", ratio("fastinit.he_normal", "numpy.standard_normal")),
        ("fastinit he_normal / torch kaiming_normal_", ratio("fastinit.he_normal", "torch.kaiming_normal_")),
        ("fastinit he_uniform / numpy random(float32)", ratio("fastinit.he_uniform", "numpy.random")),
        ("fastinit truncated_normal / torch trunc_normal_ (same cut)",
         ratio("fastinit.truncated_normal", "torch.trunc_normal_cut")),
        ("fastinit he_normal bfloat16 / float32 (elements per second)", res["bf16_vs_f32"]),
        ("fastinit he_normal, 2 threads / 1 thread", next((t["speedup"] for t in res["threads"] if t["threads"] == 2),
                                                          None)),
        (f"fastinit he_normal, {narrow} / {wide} path", p[narrow] / p[wide] if narrow in p and wide in p else None),
    ]


def simd_pair(available: list[str]) -> tuple[str, str]:
    """The two SIMD paths whose speeds the comparison sets side by side:
    avx2 and avx512 on x86-64, neon and sve on aarch64."""
    return ("neon", "sve") if "neon" in available else ("avx2", "avx512")


def _spread(r) -> str:
    return f"{r['melem_s_min']:6.0f}-{r['melem_s_max']:<6.0f}"


def report(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"fastinit bench: {res['size']:,} float32 elements ({res['size'] * 4 / 2**20:.0f} MiB), median of up to "
        f"{res['repeat']} runs after a warm-up (spread: the slowest and the fastest run)",
        f"machine: {m['cpu']}, {m['cores']} cores; fastinit SIMD path {m['simd']} "
        f"(available: {', '.join(m['simd_available'])}), {m['threads']} threads",
        "",
        f"{'method':<66} {'Melem/s':>8} {'spread':>13} {'GB/s':>6} {'ratio':>7}",
    ]
    for group in GROUPS:
        rows, ref = group_rows(res, group)
        if not rows:
            continue
        lines.append(f"-- {group} (ratio to {ref['method']})")
        for r in rows:
            mark = "*" if r["who"] == "fastinit" else " "
            lines.append(f"{mark}{r['method']:<65} {r['melem_s']:8.0f} {_spread(r)} {r['gb_s']:6.2f} "
                         f"{r['melem_s'] / ref['melem_s']:6.1f}x")
    lines.append("-- threads (fastinit he_normal float32; ratio to 1 thread)")
    for s in res["threads"]:
        lines.append(f" {s['threads']:>3} threads{'':<54} {s['melem_s']:8.0f} {_spread(s)} {'':>6} "
                     f"{s['speedup']:6.2f}x")
    lines.append("-- SIMD paths (fastinit, Melem/s: he_normal, he_uniform)")
    for p in res["simd_paths"]:
        lines.append(f" {p['simd']:<65} {p['he_normal']:8.0f} {p['he_uniform']:8.0f}")
    lines.append("-- a fresh array (allocation and first touch timed)")
    for r in res["fresh"]:
        lines.append(f" {r['method']:<65} {r['melem_s']:8.0f} {_spread(r)}")
    if res["rss"] and "failed" in res["rss"]:
        r = res["rss"]
        lines.append(f"-- peak RSS of a new process filling a fresh {r['elements']:,}-element float32 he_normal: "
                     f"the fill failed ({r['failed']})")
    elif res["rss"]:
        r = res["rss"]
        lines.append(f"-- peak RSS (VmHWM) of a new process filling a fresh {r['elements']:,}-element float32 "
                     f"he_normal: {r['peak_rss_mib']:.0f} MiB (array {r['array_mib']:.0f} MiB; "
                     f"{r['before_fill_mib']:.0f} MiB before the fill)")
    lines.append("-- comparison (ratio of median rates, this run)")
    for what, got in comparison(res):
        lines.append(f" {what:<66} {'n/a' if got is None else f'{got:.2f}x':>8}")
    return "\n".join(lines)


# The groups of methods, in report order: each one's title and the role of
# its reference row, whose rate the group's ratios divide by (where that
# peer did not run, the group's first row).
GROUPS = {"bandwidth": ("memory bandwidth (constant fills)", "numpy.fill"),
          "normal": ("normal", "numpy.standard_normal"),
          "uniform": ("uniform", "numpy.random"),
          "truncated": ("truncated normal", "torch.trunc_normal_cut"),
          "bfloat16": ("bfloat16 normal", "torch.normal_bf16")}


def group_rows(res: dict, group: str) -> tuple[list[dict], dict | None]:
    """A group's rows, in run order, and its reference row (None: no rows)."""
    rows = [r for r in res["rows"] if r["group"] == group]
    return rows, next((r for r in rows if r["role"] == GROUPS[group][1]), rows[0] if rows else None)


def figure(res: dict):
    """The comparison as a figure (a matplotlib Figure, not attached to
    pyplot): one panel of horizontal bars per group of methods, median
    Melem/s with the slowest and fastest run as a whisker, fastinit's bars
    in colour and its peers' in grey, each labelled with its ratio to the
    group's reference (as the text report); then the thread scaling."""
    from matplotlib.figure import Figure

    groups = [g for g in GROUPS if group_rows(res, g)[0]]
    heights = [len(group_rows(res, g)[0]) for g in groups] + [max(1, len(res["threads"]))]
    fig = Figure(figsize=(10, 1.2 + 0.36 * sum(heights) + 0.55 * len(heights)))
    grid = fig.add_gridspec(len(heights), 1, height_ratios=[h + 1.2 for h in heights], hspace=0.9,
                            left=0.42, right=0.9, top=1 - 0.9 / fig.get_figheight(), bottom=0.45 / fig.get_figheight())
    m = res["machine"]
    fig.suptitle(f"fastinit bench: {res['size']:,} float32 elements, median of {res['repeat']} runs\n"
                 f"{m['cpu']}, {m['threads']} threads, SIMD path {m['simd']}", fontsize=9)
    for k, g in enumerate(groups):
        rows, ref = group_rows(res, g)
        rows = rows[::-1]  # the first row on top
        ax = fig.add_subplot(grid[k])
        rates = [r["melem_s"] for r in rows]
        err = [[r["melem_s"] - r["melem_s_min"] for r in rows], [r["melem_s_max"] - r["melem_s"] for r in rows]]
        colours = ["C0" if r["who"] == "fastinit" else "0.6" for r in rows]
        ax.barh(range(len(rows)), rates, xerr=err, color=colours, height=0.7, error_kw=dict(lw=0.8, capsize=2))
        ax.set_yticks(range(len(rows)), [r["method"] for r in rows], fontsize=7)
        for i, r in enumerate(rows):
            ax.text(r["melem_s_max"], i, f"  {r['melem_s'] / ref['melem_s']:.1f}x", va="center", fontsize=7)
        ax.set_xlim(0, 1.18 * max(r["melem_s_max"] for r in rows))
        ax.set_title(f"{GROUPS[g][0]} (ratio to {ref['method']})", fontsize=8, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel("million elements per second", fontsize=7)
    ax = fig.add_subplot(grid[len(groups)])
    t = res["threads"][::-1]  # 1 thread on top
    ax.barh(range(len(t)), [s["melem_s"] for s in t], color="C0", height=0.7)
    ax.set_yticks(range(len(t)), [f"{s['threads']} threads" for s in t], fontsize=7)
    for i, s in enumerate(t):
        ax.text(s["melem_s"], i, f"  {s['speedup']:.2f}x", va="center", fontsize=7)
    if t:
        ax.set_xlim(0, 1.18 * max(s["melem_s"] for s in t))
    ax.set_title("fastinit he_normal float32 by thread count (ratio to 1 thread)", fontsize=8, loc="left")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("million elements per second", fontsize=7)
    return fig


def build_parser():
    """The command's arguments, all in one place."""
    import argparse

    from ..__main__ import file_name, int_at_least, non_negative_int, positive_int, seconds

    p = argparse.ArgumentParser(prog="fastinit bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int_at_least(MIN_SIZE), default=1 << 26,
                   help=f"float32 elements, at least {MIN_SIZE} (default 2**26)")
    p.add_argument("--repeat", type=positive_int, default=5, help="timed runs per method (default 5)")
    p.add_argument("--threads", type=positive_int, default=None, help="fastinit threads (default: all)")
    p.add_argument("--rss-size", type=non_negative_int, default=None,
                   help="elements of the fresh fill whose peak RSS is measured in a new process "
                        f"(default: 16 x --size, at most 2**30; 0 skips it, else at least {MIN_SIZE})")
    p.add_argument("--settle", type=seconds, default=0.05,
                   help="seconds to sleep before each timed run, so that the previous method's spinning "
                        "threads go idle (default 0.05, at most 3600)")
    p.add_argument("--json", metavar="FILE", type=file_name, help="also write the results as JSON")
    p.add_argument("--plot", metavar="FILE", type=file_name,
                   help="also draw the comparison (bars per group and thread count) into FILE; its extension "
                        "names the format (.png, .svg, .pdf; needs matplotlib)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: fastinit's GPU fills against torch's (see --device cuda -h)")
    return p


MIN_SIZE = 1024
# bytes per --size element the run holds at once: the float32 buffer, the
# bfloat16 one (fastinit's and torch's) and a fresh float32 array
BYTES_PER_ELEMENT = 4 + 2 + 2 + 4


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


def check_args(p, a) -> None:
    """Every value the run depends on, checked before it starts: a bad one is
    the parser's error (one line, exit status 2)."""
    from ..__main__ import physical_memory

    if a.rss_size is not None and 0 < a.rss_size < MIN_SIZE:
        p.error(f"argument --rss-size: must be 0 (skip the measurement) or at least {MIN_SIZE}, got {a.rss_size}")
    if a.threads is not None and a.threads != 1 and _core.threading() == "none":
        p.error(f"argument --threads: this build of fastinit has no threads and runs on 1 thread, got {a.threads}")
    mem = physical_memory()
    if mem:
        need = a.size * BYTES_PER_ELEMENT
        if need > mem:
            p.error(f"argument --size: {a.size:,} elements need about {_gib(need)} of memory, "
                    f"more than this machine's {_gib(mem)}")
        if a.rss_size and a.rss_size * 4 > mem:
            p.error(f"argument --rss-size: a fill of {a.rss_size:,} float32 elements needs {_gib(a.rss_size * 4)} "
                    f"of memory, more than this machine's {_gib(mem)}")
    if a.json is not None:
        from ..__main__ import check_output_file

        check_output_file(p, a.json, "--json")  # before minutes of timing, not after
    if a.plot is not None:
        from ..__main__ import check_figure_file

        check_figure_file(p, a.plot, "--plot")


def main(argv=None) -> int:
    from . import bench_gpu as _bench_gpu

    if _bench_gpu.wants(sys.argv[1:] if argv is None else argv):
        return _bench_gpu.main(argv)
    p = build_parser()
    a = p.parse_args(argv)
    check_args(p, a)
    try:
        res = run(a.size, a.repeat, a.threads, a.rss_size, a.settle)
    except MemoryError:
        p.error(f"argument --size: not enough memory for {a.size:,} elements (about {_gib(a.size * BYTES_PER_ELEMENT)}"
                f"); try a smaller --size")
    print(report(res))
    if a.json is not None:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    if a.plot is not None:
        from ..__main__ import save_figure

        save_figure(figure(res), a.plot, dpi=110, bbox_inches="tight", pad_inches=0.15)
        print(f"figure: {a.plot}")
    return 0
