"""Which methods leave threads spinning after they return?

For each method: run it, then measure the CPU time the whole process uses
while the calling thread sleeps 50 ms (median of 5), right away and after a
50 ms pause.  CPU used while the caller sleeps is threads spinning: they
would take cores from whatever is timed next.  `fastinit bench` pauses
--settle seconds (0.05) before each timed run for this reason.

    .venv/bin/python benchmarks/idle_threads.py
"""

import concurrent.futures
import resource
import time

import numpy as np

import fastinit

N = 1 << 23
WINDOW = 0.05


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def idle_cpu(fn, pause):
    used = []
    for _ in range(5):
        fn()
        time.sleep(pause)
        c0 = cpu_seconds()
        time.sleep(WINDOW)
        used.append(cpu_seconds() - c0)
    return sorted(used)[2]


def main():
    x = np.zeros(N, np.float32)
    w = x.reshape(-1, 1024)
    g = fastinit.default_rng(0)
    gens = [np.random.default_rng(s) for s in np.random.SeedSequence(0).spawn(fastinit.get_num_threads())]
    pool = concurrent.futures.ThreadPoolExecutor(len(gens))

    def recipe():
        step = -(-N // len(gens))
        for f in [pool.submit(r.standard_normal, dtype=np.float32, out=x[i * step:(i + 1) * step])
                  for i, r in enumerate(gens)]:
            f.result()

    methods = [("nothing", lambda: None), ("numpy multithreaded recipe (pool kept)", recipe),
               ("fastinit he_normal", lambda: g.he_normal(out=w))]
    try:
        import torch

        tx = torch.from_numpy(x)
        methods[1:1] = [("torch nn.init.kaiming_normal_", lambda: torch.nn.init.kaiming_normal_(tx.view(-1, 1024))),
                        ("torch Tensor.normal_", lambda: tx.normal_())]
    except ImportError:
        pass
    print(f"CPU ms the process uses in {WINDOW * 1e3:.0f} ms of sleep after each method ({N:,} float32)")
    print(f"{'method':<40} {'at once':>8} {'after a 50 ms pause':>20}")
    for name, fn in methods:
        print(f"{name:<40} {idle_cpu(fn, 0) * 1e3:8.1f} {idle_cpu(fn, 0.05) * 1e3:20.1f}")
    pool.shutdown()


if __name__ == "__main__":
    main()
