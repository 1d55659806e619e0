"""Machine instructions per element of fastinit's GPU kernels, without a GPU.

Triton compiles for a target it is told (here an H100, sm_90) on any
machine, and its wheel carries NVIDIA's ptxas and nvdisasm: this script
compiles each kernel as a real launch would (the same options, pointers
16-byte aligned, the element count a multiple of 16), disassembles it and
counts the instructions of the kernel body, then divides by the elements
one thread writes.  The count is static: the sqrt slow path (a subroutine
no value of the stream reaches) is left out, and a branch's two sides both
count.  Where a kernel is bound by instruction issue (the normals are), the
count is what its speed follows; it says nothing about memory-bound fills.

    python benchmarks/gpu_sass.py [--json FILE]
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

os.environ.pop("TRITON_INTERPRET", None)  # compile, do not interpret

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

from fastinit._backends import triton_kernels as K  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
POINTER = {K.DT_U32: "*i32", K.DT_F32: "*fp32", K.DT_F64: "*fp64", K.DT_F16: "*i16", K.DT_BF16: "*i16"}
ALIGNED16 = [["tt.divisibility", 16]]

# (name, kind, dtype code) of the fills measured
CASES = [("raw words", K.RAW, K.DT_U32), ("uniform float32", K.UNIFORM, K.DT_F32),
         ("normal float32", K.NORMAL, K.DT_F32), ("truncnorm float32", K.TRUNCNORM, K.DT_F32),
         ("uniform bfloat16", K.UNIFORM, K.DT_BF16), ("normal bfloat16", K.NORMAL, K.DT_BF16),
         ("normal float64", K.NORMAL, K.DT_F64)]


def _tool(name):
    found = glob.glob(os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", name))
    if not found:
        raise SystemExit(f"Triton's {name} is not there: this Triton wheel cannot compile for CUDA here")
    return found[0]


def compile_kernel(kernel, consts, aligned_args, num_warps):
    # integer arguments below 2^31 reach the kernel as i32, as in a launch of up to 2^31 elements
    sig = {a: "constexpr" if a in consts else {"out": POINTER[consts["DT"]], "P": "*i64"}.get(a, "i32")
           for a in kernel.arg_names}
    attrs = {(kernel.arg_names.index(a),): ALIGNED16 for a in aligned_args}
    src = ASTSource(fn=kernel, signature=sig, constexprs=consts, attrs=attrs)
    return triton.compile(src, target=TARGET, options=dict(K.OPTIONS, num_warps=num_warps))


def count(compiled) -> collections.Counter:
    """Opcodes of the kernel's own body (subroutines after it left out)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.cubin")
        with open(path, "wb") as f:
            f.write(compiled.asm["cubin"])
        sass = subprocess.run([_tool("nvdisasm"), "-c", path], capture_output=True, text=True, check=True).stdout
    body = re.split(r"^\$__internal\S*:$", sass, maxsplit=1, flags=re.M)[0]
    ops = collections.Counter()
    for line in body.splitlines():
        m = re.match(r"\s*/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P[T0-9]+\s+)?([A-Z][A-Z0-9_]*)", line)
        if m and m.group(1) != "NOP":
            ops[m.group(1)] += 1
    return ops


def cases():
    """(label, fill, kernel, constants, 16-byte aligned arguments, warps,
    elements a thread writes), as fastinit._backends.triton_kernels._launch makes them."""
    warps = K.CONFIG["num_warps"]
    for name, kind, dt in CASES:
        per = 2 if dt == K.DT_F64 else 4
        block = K.CONFIG["block_contig"]
        yield (f"contiguous {per * block}", name, K._fill_contig, dict(KIND=kind, DT=dt, SKIP=0, BLOCK=block),
               ("out", "P", "n"), warps, block * per // (32 * warps))
        # rows of 4 programs of block_contig blocks or more; shorter ones take block_rows blocks a program
        for rows_block, rows_warps in ((block, warps), (K.CONFIG["block_rows"], K.CONFIG["rows_warps"])):
            for aligned in (True, False):
                yield (f"rows {per * rows_block}{'' if aligned else ', unal.'}", name, K._fill_rows,
                       dict(KIND=kind, DT=dt, NDIM=2, BLOCK=rows_block, ALIGNED=aligned), ("out", "P", "row_len"),
                       rows_warps, rows_block * per // (32 * rows_warps))
        yield (f"elements {K.CONFIG['block_strided']}", name, K._fill_strided,
               dict(KIND=kind, DT=dt, NDIM=2, BLOCK=K.CONFIG["block_strided"]),
               ("out", "P", "n"), warps, K.CONFIG["block_strided"] // (32 * warps))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", metavar="FILE", help="also write the counts as JSON")
    a = p.parse_args(argv)
    rows = []
    print(f"fastinit's GPU kernels compiled for sm_90 (triton {triton.__version__}), launch shape {K.CONFIG}")
    print(f" {'kernel (elements a program)':<28} {'fill':<18} {'instr/elem':>10}  most frequent")
    for kernel_name, name, kernel, consts, aligned_args, warps, elems in cases():
        ops = count(compile_kernel(kernel, consts, aligned_args, warps))
        total = sum(ops.values())
        rows.append({"kernel": kernel_name, "fill": name, "instructions": total, "elements_per_thread": elems,
                     "per_element": total / elems, "opcodes": dict(ops)})
        top = " ".join(f"{k}:{v}" for k, v in ops.most_common(6))
        print(f" {kernel_name:<28} {name:<18} {total / elems:10.1f}  {top}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
