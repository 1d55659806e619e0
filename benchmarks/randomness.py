"""Statistical quality of fastinit's streams.

    python benchmarks/randomness.py tails [--n 1e9]        tail frequencies of normals against theory
    python benchmarks/randomness.py xcorr [--n 1e8]        correlation between neighbouring streams
    python benchmarks/randomness.py dieharder [--tests -a] the raw word stream through dieharder

dieharder (Debian's package) reads the words of stream 0 of seed 0 on its
standard input (-g 200, raw 32-bit little-endian words) and runs its whole
battery (-a) or the tests given.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import time

import numpy as np
from scipy import stats

import fastinit

CHUNK = 1 << 25


def tails(n: int) -> int:
    """Counts of |z| > t on n float32 and n / 8 float64 standard normals,
    against n * 2 Phi(-t); z-scores of the differences (binomial)."""
    print(f"tail frequencies: {n:,} float32 and {n // 8:,} float64 standard normals (seed 0, stream 'tails')")
    worst = 0.0
    for dtype, count in ((np.float32, n), (np.float64, n // 8)):
        g = fastinit.default_rng(0)
        buf = np.empty(CHUNK, dtype=dtype)
        thresholds = (3.0, 4.0, 5.0, 6.0)
        hits = dict.fromkeys(thresholds, 0)
        t0 = time.perf_counter()
        for start in range(0, count, CHUNK):
            m = min(CHUNK, count - start)
            x = g.standard_normal(out=buf[:m], stream="tails", start=start)
            a = np.abs(x)
            for t in thresholds:
                hits[t] += int(np.count_nonzero(a > t))
        secs = time.perf_counter() - t0
        for t in thresholds:
            p = 2 * stats.norm.sf(t)
            exp = count * p
            z = (hits[t] - exp) / math.sqrt(exp * (1 - p))
            worst = max(worst, abs(z))
            print(f"  {np.dtype(dtype).name:<8} |z| > {t}: {hits[t]:>12,} observed, {exp:>14,.1f} expected, z = {z:+.2f}")
        print(f"  ({np.dtype(dtype).name}: {count / secs / 1e6:.0f} Melem/s generated and counted)")
    print(f"  largest |z-score|: {worst:.2f} (|z| < 4 expected for 8 independent counts)")
    return 0 if worst < 4 else 1


def xcorr(n: int) -> int:
    """Pearson correlation of n standard normals between pairs of streams
    that differ by one seed, one stream id or one layer number in a name."""
    pairs = {
        "adjacent seeds (0, 1), stream 0": ((0, 0), (1, 0)),
        "adjacent stream ids (7, 8), seed 0": ((0, 7), (0, 8)),
        "stream ids 2^32 apart, seed 0": ((0, 5), (0, 5 + 2**32)),
        "adjacent names (layers.0 / layers.1 .weight)": ((0, "model.layers.0.weight"), (0, "model.layers.1.weight")),
    }
    limit = 5 / math.sqrt(n)
    print(f"cross-correlation of {n:,} float32 standard normals (|r| < {limit:.2e} = 5/sqrt(n) expected)")
    bad = 0
    for label, ((s1, t1), (s2, t2)) in pairs.items():
        a = fastinit.default_rng(s1).standard_normal(n, dtype=np.float32, stream=t1).astype(np.float64)
        b = fastinit.default_rng(s2).standard_normal(n, dtype=np.float32, stream=t2).astype(np.float64)
        r = float(np.corrcoef(a, b)[0, 1])
        r_lag = float(np.corrcoef(a[:-1], b[1:])[0, 1])
        bad += abs(r) >= limit or abs(r_lag) >= limit
        print(f"  {label:<48} r = {r:+.2e}, lag 1 r = {r_lag:+.2e}")
    return 1 if bad else 0


def dieharder(tests: list[str]) -> int:
    exe = shutil.which("dieharder")
    if exe is None:
        print("dieharder is not installed (apt-get install dieharder)", file=sys.stderr)
        return 2
    g = fastinit.default_rng(0)
    cmd = [exe, "-g", "200", *tests]
    print("$ python benchmarks/randomness.py dieharder | " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    start = 0
    t0 = time.perf_counter()
    try:
        while p.poll() is None:
            p.stdin.write(g.random_raw(CHUNK, stream=0, start=start).tobytes())
            start += CHUNK
    except BrokenPipeError:
        pass
    p.wait()
    print(f"words supplied: {start:,} ({start * 4 / 2**30:.1f} GiB) in {time.perf_counter() - t0:.0f} s")
    return p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tails")
    t.add_argument("--n", type=float, default=1e9)
    x = sub.add_parser("xcorr")
    x.add_argument("--n", type=float, default=1e8)
    d = sub.add_parser("dieharder")
    d.add_argument("--tests", nargs=argparse.REMAINDER, default=["-a"], help="dieharder's test options (default -a)")
    a = ap.parse_args()
    if a.cmd == "tails":
        return tails(int(a.n))
    if a.cmd == "xcorr":
        return xcorr(int(a.n))
    return dieharder(a.tests or ["-a"])


if __name__ == "__main__":
    sys.exit(main())
