"""Per-core and all-core fill rates against the machine's write rate, one process.

    python benchmarks/cpu_rates.py [--size N] [--repeat R] [--threads T ...] [--simd PATH ...]

For each thread count and SIMD path, times round robin (median of R rounds,
min-max beside it) on one float32 buffer already touched:

* ``store``: a constant written with plain stores on all the fill's threads
  (the plain-store write rate: what any fill that computes its values must
  at least pay);
* ``zeros``: ``fastinit.zeros(out=)`` (non-temporal stores on large buffers);
* ``he_uniform`` and ``he_normal`` on a (N / 1024, 1024) weight;

and prints each rate in Melem/s and as a share of ``store`` and ``zeros``.
"""

import argparse
import statistics
import time

import numpy as np

import fastinit
from fastinit._initializers import draws as _draws
from fastinit._backends import simd as _simd
from fastinit import _core


def _round_robin(fns, repeat):
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1 << 26)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--threads", type=int, nargs="*", default=None,
                   help="thread counts (default: 1 and fastinit's default)")
    p.add_argument("--simd", nargs="*", default=None, help="SIMD paths (default: the widest)")
    a = p.parse_args()
    default = fastinit.get_num_threads()
    counts = a.threads or sorted({1, default})
    paths = a.simd or [_simd.available()[-1]]
    n = a.size - a.size % 1024
    x = np.zeros(n, dtype=np.float32)
    w = x.reshape(-1, 1024)
    g = fastinit.default_rng(0)
    dt = _draws.dtype_code(x.dtype)
    print(f"{n:,} float32 ({n * 4 / 2**20:.0f} MiB); default threads {default}; "
          f"SIMD paths {', '.join(_simd.available())}; {_core.compiler()}")

    def store():  # a constant with plain stores (flags 0), on the fill's threads
        _core.fill(x, _draws.CONST, dt, 1.0, 0.0, 0.0, 0.0, -np.inf, np.inf, 0, 0, 0, 0, None,
                   fastinit._backends.threads.threads_for(n), _simd.current(), 0, 0)

    methods = [("store", store), ("zeros", lambda: fastinit.zeros(out=x)),
               ("he_uniform", lambda: g.he_uniform(out=w)), ("he_normal", lambda: g.he_normal(out=w))]
    print(f"{'simd':<8} {'thr':>4} {'method':<11} {'Melem/s':>9} {'(min-max)':>17} {'GB/s':>6} "
          f"{'/store':>7} {'/zeros':>7} {'ns/value/thread':>16}")
    for path in paths:
        with _simd.forced(path):
            for t in counts:
                fastinit.set_num_threads(t)
                times = _round_robin([m for _, m in methods], a.repeat)
                rates = {name: n / statistics.median(ts) / 1e6 for (name, _), ts in zip(methods, times)}
                for (name, _), ts in zip(methods, times):
                    r = rates[name]
                    spread = f"({n / max(ts) / 1e6:.0f}-{n / min(ts) / 1e6:.0f})"
                    print(f"{path:<8} {t:>4} {name:<11} {r:>9.0f} {spread:>17} {r * 4e-3:>6.1f} "
                          f"{r / rates['store']:>6.0%} {r / rates['zeros']:>6.0%} {1e3 * t / r:>16.2f}",
                          flush=True)
    fastinit.set_num_threads(default)


if __name__ == "__main__":
    main()
