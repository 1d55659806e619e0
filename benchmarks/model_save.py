"""A whole model into safetensors, end to end: fastinit against the torch way
and against writing the same bytes with dd.

    python benchmarks/model_save.py [--preset tinyllama-1.1b] [--dtype bfloat16] [--dir DIR] [--repeat 2]

Each contender runs in its own process (so its peak RSS, VmHWM, is its
own), in turn, `repeat` times; medians are reported.
  fastinit   fastinit.init_model(preset, out, dtype, rng=0): windowed memory
             map, fsync, atomic rename
  torch      allocate every tensor, normal_(0, 0.02) (ones_ for norm
             weights), safetensors.torch.save_file; and the same plus an
             fsync of the file, to compare durable writes with durable writes
  dd         dd if=/dev/zero bs=4M of the same byte count, conv=fdatasync
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FASTINIT = """
import json, sys, time, fastinit
t = time.perf_counter()
fastinit.init_model(sys.argv[1], sys.argv[2], dtype=sys.argv[3], rng=0)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

TORCH = """
import fnmatch, json, os, sys, time, torch
from safetensors.torch import save_file
from fastinit.model import load_spec
spec, rules = load_spec(sys.argv[1])
dtype = getattr(torch, sys.argv[3])
t = time.perf_counter()
sd = {}
for name, shape in spec.items():
    w = torch.empty(shape, dtype=dtype)
    if fnmatch.fnmatchcase(name, "*norm.weight") or ".ln_" in name and name.endswith(".weight"):
        w.fill_(1.0)
    elif name.endswith(".bias"):
        w.zero_()
    else:
        w.normal_(0.0, 0.02)
    sd[name] = w
save_file(sd, sys.argv[2])
t_nosync = time.perf_counter() - t
fd = os.open(sys.argv[2], os.O_RDONLY); os.fsync(fd); os.close(fd)
print(json.dumps({"seconds": t_nosync, "seconds_fsync": time.perf_counter() - t}))
"""

HWM = "import atexit\ndef _hwm():\n    print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], file=__import__('sys').stderr)\natexit.register(_hwm)\n"


def run_python(code, args, cwd):
    p = subprocess.run([sys.executable, "-c", HWM + code, *args], capture_output=True, text=True, cwd=cwd, check=True)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["peak_rss_mib"] = int(p.stderr.strip().splitlines()[-1]) / 1024
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tinyllama-1.1b")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    from fastinit.model import resolve

    tensors = resolve(a.preset, dtype=a.dtype)
    nbytes = sum(t.size * t.dtype.itemsize for t in tensors)
    folder = a.dir or tempfile.mkdtemp(prefix="fastinit-bench-")
    out = os.path.join(folder, "model.safetensors")
    res = {"fastinit": [], "torch": [], "dd": []}
    for _ in range(a.repeat):
        res["fastinit"].append(run_python(FASTINIT, [a.preset, out, a.dtype], folder))
        os.unlink(out)
        res["torch"].append(run_python(TORCH, [a.preset, out, a.dtype], folder))
        os.unlink(out)
        t = time.perf_counter()
        subprocess.run(["dd", "if=/dev/zero", f"of={out}", "bs=4M", f"count={-(-nbytes // (4 << 20))}",
                        "conv=fdatasync", "status=none"], check=True)
        res["dd"].append({"seconds": time.perf_counter() - t})
        os.unlink(out)
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in res.items()}
    tf = statistics.median(r["seconds_fsync"] for r in res["torch"])
    rss = statistics.median(r["peak_rss_mib"] for r in res["fastinit"])
    print(f"{a.preset} in {a.dtype}: {sum(t.size for t in tensors):,} parameters, {nbytes / 1e9:.2f} GB; "
          f"median of {a.repeat}; writing to {folder}")
    print(f"  fastinit.init_model (fsync + atomic rename)  {med['fastinit']:7.2f} s  {nbytes / med['fastinit'] / 1e9:5.2f} GB/s"
          f"  peak RSS {rss:6.0f} MiB")
    print(f"  torch: normal_ + save_file (no fsync)        {med['torch']:7.2f} s  {nbytes / med['torch'] / 1e9:5.2f} GB/s"
          f"  peak RSS {statistics.median(r['peak_rss_mib'] for r in res['torch']):6.0f} MiB")
    print(f"  torch: the same + fsync                      {tf:7.2f} s  {nbytes / tf / 1e9:5.2f} GB/s")
    print(f"  dd bs=4M conv=fdatasync, same bytes          {med['dd']:7.2f} s  {nbytes / med['dd'] / 1e9:5.2f} GB/s")
    print(f"  fastinit vs torch (no fsync) {med['torch'] / med['fastinit']:5.2f}x faster; vs torch + fsync "
          f"{tf / med['fastinit']:5.2f}x faster; fastinit / dd {med['fastinit'] / med['dd']:5.2f}")


if __name__ == "__main__":
    main()
