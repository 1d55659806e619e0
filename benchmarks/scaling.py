"""Thread and SIMD-path scaling of fastinit fills, one process, one buffer.

    python benchmarks/scaling.py [--size N] [--repeat R]

For each SIMD path this CPU has and each thread count 1, 2, 4, ... up to
the cores, prints Melem/s of float32 standard_normal and random (median of R
runs on a buffer already touched), and the speed-up over one thread.
"""

import argparse
import os
import statistics
import time

import numpy as np

import fastinit
from fastinit._backends import simd as _simd


def _median_rate(fn, n, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return n / statistics.median(ts) / 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1 << 26)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    cores = os.cpu_count()
    counts = sorted({1, *[2**k for k in range(1, 8) if 2**k <= cores], cores})
    x = np.zeros(a.size, dtype=np.float32)
    g = fastinit.default_rng(0)
    print(f"{a.size:,} float32; {cores} cores; SIMD paths: {', '.join(_simd.available())}")
    print(f"{'simd':<8} {'threads':>7} {'normal Melem/s':>15} {'x1':>6} {'random Melem/s':>15} {'x1':>6}")
    for path in _simd.available():
        base = None
        with _simd.forced(path):
            for t in counts:
                fastinit.set_num_threads(t)
                rn = _median_rate(lambda: g.standard_normal(out=x), a.size, a.repeat)
                ru = _median_rate(lambda: g.random(out=x), a.size, a.repeat)
                base = base or (rn, ru)
                print(f"{path:<8} {t:>7} {rn:>15.0f} {rn / base[0]:>5.2f}x {ru:>15.0f} {ru / base[1]:>5.2f}x", flush=True)


if __name__ == "__main__":
    main()
