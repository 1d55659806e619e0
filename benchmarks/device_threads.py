"""Thread scaling and small-fill latency of fastinit, for the device scripts
(cpu_device.sh, arm_device.sh), which keep the printed lines.

    python benchmarks/device_threads.py scaling   # he_uniform/he_normal, 2^28 float32, 1..cpus threads
    python benchmarks/device_threads.py small     # random() of 2^15..2^21 elements, 1, 2 and all threads
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import fastinit
from fastinit._backends import threads as _threads


def scaling() -> None:
    n = 1 << 28
    w = np.zeros((n // 1024, 1024), np.float32)
    g = fastinit.default_rng(0)
    counts = [t for t in (1, 2, 4, 8, 16, 32, 64, 128, 256) if t <= _threads.cpu_limit()]
    for kind in ("he_uniform", "he_normal"):
        for t in counts:
            fastinit.set_num_threads(t)
            getattr(g, kind)(out=w)
            ts = []
            for _ in range(3):
                t0 = time.perf_counter()
                getattr(g, kind)(out=w)
                ts.append(time.perf_counter() - t0)
            print(f"{kind:<10} {t:>3} threads {n / statistics.median(ts) / 1e6:8.0f} Melem/s", flush=True)


def small() -> None:
    full = _threads.cpu_limit()
    g = fastinit.default_rng(0)
    for n in (1 << 15, 1 << 16, 1 << 18, 1 << 21):
        x = np.zeros(n, np.float32)
        row = []
        for t in sorted({1, 2, full}):
            fastinit.set_num_threads(t)
            for _ in range(50):
                g.random(out=x)
            ts = []
            for _ in range(200):
                t0 = time.perf_counter()
                g.random(out=x)
                ts.append(time.perf_counter() - t0)
            row.append(f"{t} threads {statistics.median(ts) * 1e6:8.1f} us")
        print(f"2^{n.bit_length() - 1}: " + "  ".join(row), flush=True)
    fastinit.set_num_threads(full)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) == 2 else ""
    if what not in ("scaling", "small"):
        sys.exit("usage: python benchmarks/device_threads.py scaling|small")
    {"scaling": scaling, "small": small}[what]()
