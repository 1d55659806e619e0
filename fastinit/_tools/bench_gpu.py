"""`fastinit bench --device cuda`: fastinit's GPU fills against torch's on one
CUDA tensor, float32 and bfloat16, with a CPU-vs-GPU bit-equality check of
every fastinit fill measured.

Each method runs once to warm up (Triton compiles its kernel), then the
methods take turns, `--repeat` rounds, each timed between CUDA
synchronizations; the table gives medians, in Gelem/s and GB/s (bytes
written), and each fastinit row's ratio to the torch row of the same
operation and dtype, all from the same run.  The bit-equality check fills
the same tensor on the GPU and on the CPU (fastinit's own CPU path, same
seed) and compares every element.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

TRUNC = dict(std=0.02, a=-0.04, b=0.04)


def wants(argv) -> bool:
    """Whether a `fastinit bench` command line asks for the GPU comparison."""
    argv = list(argv or [])
    return "--device=cuda" in argv or any(a == "--device" and argv[i + 1:i + 2] == ["cuda"]
                                           for i, a in enumerate(argv))


def _methods():
    import torch
    from torch.nn import init as ti

    import fastinit.torch as fit

    seed = 20261123
    # (operation, torch's call, fastinit's call); fastinit's take an int seed
    return [
        ("fill_", lambda t: t.fill_(0.5), lambda t: fit.constant_(t, 0.5)),
        ("uniform_", lambda t: ti.uniform_(t), lambda t: fit.uniform_(t, generator=seed)),
        ("normal_", lambda t: ti.normal_(t), lambda t: fit.normal_(t, generator=seed)),
        ("kaiming_uniform_", lambda t: ti.kaiming_uniform_(t), lambda t: fit.kaiming_uniform_(t, generator=seed)),
        ("kaiming_normal_", lambda t: ti.kaiming_normal_(t), lambda t: fit.kaiming_normal_(t, generator=seed)),
        ("trunc_normal_(std=.02,a=-.04,b=.04)", lambda t: ti.trunc_normal_(t, **TRUNC),
         lambda t: fit.trunc_normal_(t, generator=seed, **TRUNC)),
    ], torch


SHARDS = 8  # the column-shard rows: one rank's part of an 8-way split along dimension 1


def _shard_method(shape):
    """(operation, torch's call, fastinit's call) on one rank's column shard
    (Shard(1), SHARDS ways) of a tensor of `shape`: torch fills the local
    tensor with its own generator (values that depend on the split);
    fastinit fills it with the whole tensor's values, its rows through the
    row kernel."""
    from torch.nn import init as ti

    import fastinit.torch as fit

    part = shape[1] // SHARDS
    index = (slice(None), slice(3 * part, 4 * part))
    return (f"kaiming_normal_, 1/{SHARDS} column shard", lambda t: ti.kaiming_normal_(t),
            lambda t: fit.init_shard_(t, "he_normal", shape, index, rng=20261123))


def _time(fn, t, torch) -> float:
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn(t)
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def _bits(t):
    """A tensor's raw bits on the host, as an integer ndarray."""
    import torch

    t = t.detach().cpu().contiguous()
    return t.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]).numpy()


def run(size: int = 1 << 30, repeat: int = 5, check: bool = True) -> dict:
    import numpy as np

    methods, torch = _methods()
    rows = 4096
    shape = (size // rows, rows)
    n = shape[0] * shape[1]
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "elements": n, "repeat": repeat,
           "rows": []}
    try:
        import triton

        res["triton"] = triton.__version__
    except ImportError:
        res["triton"] = None
    shard_op = _shard_method(shape)
    for dtype in (torch.float32, torch.bfloat16):
        t = torch.empty(shape, dtype=dtype, device="cuda")
        local = torch.empty((shape[0], shape[1] // SHARDS), dtype=dtype, device="cuda")
        calls = []
        for (op, torch_fn, fi_fn), out in [(m, t) for m in methods] + [(shard_op, local)]:
            calls += [(op, "torch", torch_fn, out), (op, "fastinit", fi_fn, out)]
        times = {(op, who): [] for op, who, _, _ in calls}
        for op, who, fn, out in calls:  # warm-up (and Triton's compilation)
            fn(out)
        for _ in range(repeat):
            for op, who, fn, out in calls:
                times[(op, who)].append(_time(fn, out, torch))
        for op, who, fn, out in calls:
            sec = statistics.median(times[(op, who)])
            m = out.numel()
            row = {"dtype": str(dtype).replace("torch.", ""), "op": op, "impl": who, "seconds": sec,
                   "gelem_s": m / sec / 1e9, "gb_s": m * out.element_size() / sec / 1e9}
            if who == "fastinit" and check:
                fn(out)
                gpu = _bits(out)
                cpu = torch.empty(out.shape, dtype=dtype)
                fn(cpu)
                row["bit_equal"] = bool(np.array_equal(gpu, _bits(cpu)))
                del gpu, cpu
            res["rows"].append(row)
        del t, local
        torch.cuda.empty_cache()
    return res


def sweep(size: int = 1 << 30, repeat: int = 3):
    """Gelem/s of fastinit's normal_, kaiming_uniform_ and trunc_normal_
    (float32, bfloat16) under each launch shape (values are the same under
    every one), then of the column-shard fill under each shape of the row
    kernel's short-row programs, one row at a time."""
    import itertools

    import torch

    import fastinit.torch as fit
    from .._backends import triton_kernels as _kernels

    keep = dict(_kernels.CONFIG)
    shape = (size // 4096, 4096)
    calls = [("normal_", lambda t: fit.normal_(t, generator=1)),
             ("kaiming_uniform_", lambda t: fit.kaiming_uniform_(t, generator=1)),
             ("trunc_normal_", lambda t: fit.trunc_normal_(t, generator=1, **TRUNC))]
    try:
        for dtype in (torch.float32, torch.bfloat16):
            t = torch.empty(shape, dtype=dtype, device="cuda")
            for block, warps in itertools.product((512, 1024), (4, 8)):
                _kernels.CONFIG.update(block_contig=block, num_warps=warps)
                for op, fn in calls:
                    fn(t)
                    sec = statistics.median(_time(fn, t, torch) for _ in range(repeat))
                    yield {"dtype": str(dtype).replace("torch.", ""), "op": op, "block": block,
                           "num_warps": warps, "gelem_s": t.numel() / sec / 1e9}
            _kernels.CONFIG.clear()
            _kernels.CONFIG.update(keep)
            # the row kernel's short-row programs, on one rank's column shard (rows of shape[1] / SHARDS)
            _, _, fn = _shard_method(shape)
            local = torch.empty((shape[0], shape[1] // SHARDS), dtype=dtype, device="cuda")
            for block, warps in ((64, 1), (128, 1), (128, 2), (128, 4)):
                _kernels.CONFIG.update(block_rows=block, rows_warps=warps)
                fn(local)
                sec = statistics.median(_time(fn, local, torch) for _ in range(repeat))
                yield {"dtype": str(dtype).replace("torch.", ""), "op": "column shard", "block": block,
                       "num_warps": warps, "gelem_s": local.numel() / sec / 1e9}
            del t, local
    finally:
        _kernels.CONFIG.clear()
        _kernels.CONFIG.update(keep)


def _ratio(res, dtype, op):
    by = {(r["dtype"], r["op"], r["impl"]): r for r in res["rows"]}
    f, t = by.get((dtype, op, "fastinit")), by.get((dtype, op, "torch"))
    return f["gelem_s"] / t["gelem_s"] if f and t else None


def report(res) -> str:
    lines = [f"fastinit GPU fills vs torch: {res['device']}, torch {res['torch']}, triton {res['triton']}, "
             f"{res['elements']:,} elements, median of {res['repeat']}",
             f" {'dtype':<9} {'operation':<36} {'impl':<9} {'Gelem/s':>8} {'GB/s':>8} {'ratio':>6}  CPU==GPU bits"]
    for r in res["rows"]:
        ratio = _ratio(res, r["dtype"], r["op"]) if r["impl"] == "fastinit" else None
        eq = {True: "equal", False: "DIFFERENT", None: ""}[r.get("bit_equal")]
        lines.append(f" {r['dtype']:<9} {r['op']:<36} {r['impl']:<9} {r['gelem_s']:8.1f} {r['gb_s']:8.1f} "
                     f"{'' if ratio is None else f'{ratio:5.2f}x':>6}  {eq}")
    checked = [r["bit_equal"] for r in res["rows"] if "bit_equal" in r]
    if checked:
        lines.append(f"-- CPU-vs-GPU bit equality: {sum(checked)} of {len(checked)} fastinit fills equal")
    return "\n".join(lines)


MIN_SIZE = 4096


def build_parser():
    import argparse

    from ..__main__ import file_name, int_at_least, positive_int

    p = argparse.ArgumentParser(prog="fastinit bench",
                                description="fastinit bench --device cuda: fastinit's GPU fills against torch's "
                                            "on a CUDA device")
    p.add_argument("--device", choices=["cuda"], default="cuda")
    p.add_argument("--size", type=int_at_least(MIN_SIZE), default=1 << 30,
                   help=f"elements, at least {MIN_SIZE} (default 2**30)")
    p.add_argument("--repeat", type=positive_int, default=5, help="timed runs per method (default 5)")
    p.add_argument("--no-check", action="store_true", help="skip the CPU-vs-GPU bit-equality check")
    p.add_argument("--json", metavar="FILE", type=file_name, help="also write the results as JSON")
    p.add_argument("--sweep", action="store_true",
                   help="instead: Gelem/s of fastinit's kernels under each launch shape (blocks, warps)")
    return p


def main(argv=None) -> int:
    p = build_parser()
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    if a.json is not None:
        from ..__main__ import check_output_file

        check_output_file(p, a.json, "--json")
    try:
        import torch
    except ImportError:
        p.error("argument --device: cuda needs torch with CUDA (pip install torch)")
    if not torch.cuda.is_available():
        p.error("argument --device: no CUDA device is available to this torch")
    try:
        return _main(a, torch)
    except torch.cuda.OutOfMemoryError:
        p.error(f"argument --size: {a.size:,} elements do not fit in the GPU's memory; try a smaller --size")


def _main(a, torch) -> int:
    if a.sweep:
        rows = []
        print(f" {'dtype':<9} {'operation':<18} {'block':>5} {'warps':>5} {'Gelem/s':>8}", flush=True)
        for r in sweep(a.size, a.repeat):
            rows.append(r)
            print(f" {r['dtype']:<9} {r['op']:<18} {r['block']:5d} {r['num_warps']:5d} {r['gelem_s']:8.1f}", flush=True)
        if a.json is not None:
            with open(a.json, "w") as f:
                json.dump(rows, f, indent=1)
        return 0
    res = run(a.size, a.repeat, not a.no_check)
    print(report(res))
    if a.json is not None:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if all(r.get("bit_equal", True) for r in res["rows"]) else 1
