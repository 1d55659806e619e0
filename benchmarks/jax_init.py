"""A sharded JAX parameter tree three ways: time and peak host memory.

    python benchmarks/jax_init.py [--mib 512] [--devices 8] [--repeat 3]

Each method runs in its own process (8 CPU devices faked with XLA_FLAGS, so
the shards are host memory and the peak resident set shows what a method
holds at once), round robin, `--repeat` times; the table gives the median
seconds and the median peak RSS above the process's baseline, as a
multiple of the tree's bytes:

* fastinit.jax.init_tree(abstract, rules, shardings=...): each shard filled
  alone by fastinit (make_array_from_callback);
* jit(init, out_shardings=...): jax.nn.initializers under jit, XLA placing
  each output shard (what Flax's sharded init does);
* naive: the same init unsharded, then jax.device_put to the shardings.

The values differ between fastinit and JAX's own generator (different
streams); the three trees have the same shapes, dtypes and shardings.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, sys, time
import numpy as np
import jax, jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

def hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0

method, mib, n_dev = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mesh = Mesh(np.array(jax.devices()[:n_dev]).reshape(2, n_dev // 2), ("data", "model"))
d = 1024
layers = max(1, mib * 2**20 // (4 * (2 * d * 4 * d + 4 * d)))
shapes = {}
for i in range(layers):
    shapes[f"layers.{i}.mlp.up.kernel"] = ((d, 4 * d), P(None, "model"))
    shapes[f"layers.{i}.mlp.down.kernel"] = ((4 * d, d), P("model", None))
    shapes[f"layers.{i}.mlp.up.bias"] = ((4 * d,), P("model"))
abstract = {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, (s, _) in shapes.items()}
shardings = {k: NamedSharding(mesh, spec) for k, (_, spec) in shapes.items()}
nbytes = sum(4 * int(np.prod(s)) for s, _ in shapes.values())
base = hwm()
t0 = time.perf_counter()
if method == "fastinit":
    import fastinit.jax as fj
    tree = fj.init_tree(abstract, {"*.bias": "zeros", "*": "he_normal"}, rng=0, shardings=shardings)
else:
    he = jax.nn.initializers.he_normal()
    def init(key):
        keys = jax.random.split(key, len(abstract))
        return {k: (jnp.zeros(a.shape, a.dtype) if k.endswith("bias") else he(kk, a.shape, a.dtype))
                for kk, (k, a) in zip(keys, abstract.items())}
    if method == "jit":
        tree = jax.jit(init, out_shardings=shardings)(jax.random.key(0))
    else:
        tree = jax.device_put(jax.jit(init)(jax.random.key(0)), shardings)
jax.block_until_ready(tree)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peak": (hwm() - base) / nbytes, "bytes": nbytes, "layers": layers}))
"""

METHODS = {"fastinit": "fastinit.jax.init_tree(..., shardings=)", "jit": "jit(init, out_shardings=)",
           "naive": "init, then device_put"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mib", type=int, default=512, help="size of the tree (MiB of float32)")
    p.add_argument("--devices", type=int, default=8, help="CPU devices to fake (even)")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={a.devices}",
               JAX_PLATFORMS="cpu")
    runs = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:  # never the repository root: its fastinit/ has no compiled core
        for _ in range(a.repeat):
            for m in METHODS:
                r = subprocess.run([sys.executable, "-c", CHILD, m, str(a.mib), str(a.devices)], env=env,
                                   cwd=tmp, capture_output=True, text=True)
                if r.returncode:
                    print(r.stderr[-2000:], file=sys.stderr)
                    return 1
                runs[m].append(json.loads(r.stdout.strip().splitlines()[-1]))
    nbytes = runs["fastinit"][0]["bytes"]
    print(f"a tree of {nbytes / 2**20:.0f} MiB float32 on {a.devices} CPU devices, median of {a.repeat}")
    print(f"{'method':42s} {'seconds':>8s} {'peak RSS / tree bytes':>22s}")
    for m, label in METHODS.items():
        sec = statistics.median(r["seconds"] for r in runs[m])
        peak = statistics.median(r["peak"] for r in runs[m])
        print(f"{label:42s} {sec:8.3f} {peak:22.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
