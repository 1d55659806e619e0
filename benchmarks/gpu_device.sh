#!/bin/bash
# The GPU run, on a CUDA machine without a package registry, from the
# repository root: build and install fastinit (cython-cmake's wheel in .whl/,
# everything else preinstalled), run the GPU tests on the device and
# `fastinit bench --device cuda`.  Logs go to $OUT (default ./gpu-out).
# About 5-8 minutes on an H100 host with 16 cores (build 1-2, tests up to
# 4.5, bench up to 3.3, launch-shape sweep up to 1.25); each step has its own
# time limit so that the logs of the others come back.
#
#   OUT=/some/dir bash benchmarks/gpu_device.sh
set -u
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
pip_install() {  # system Pythons may refuse without --break-system-packages
    $PY -m pip install --no-index "$@" || $PY -m pip install --no-index --break-system-packages "$@"
}
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    $PY -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'cuda', torch.version.cuda)"
} > "$OUT/env.txt" 2>&1
{
    ls .whl/*.whl && pip_install --no-deps .whl/*.whl
    time pip_install --no-build-isolation --no-deps .
} > "$OUT/install.log" 2>&1 || { tail -40 "$OUT/install.log"; exit 1; }
(cd /tmp && $PY -c "import fastinit; fastinit.show_config()") > "$OUT/config.txt" 2>&1
# the GPU tests (interpreter tests become device tests where CUDA is there)
timeout 270 $PY -m pytest -q -p no:cacheprovider -rs --durations=10 tests/test_gpu.py > "$OUT/pytest_gpu.log" 2>&1
echo "pytest rc=$?" >> "$OUT/pytest_gpu.log"
# the comparison with torch, 2^30 elements, with the CPU-vs-GPU bit check
(cd /tmp && timeout 200 $PY -m fastinit bench --device cuda --json "$OUT/bench_gpu.json") > "$OUT/bench_gpu.txt" 2>&1
echo "bench rc=$?" >> "$OUT/bench_gpu.txt"
# launch shapes (blocks per program, warps): for tuning; values are the same
(cd /tmp && timeout 75 $PY -m fastinit bench --device cuda --sweep --size $((1 << 28)) --json "$OUT/sweep_gpu.json") \
    > "$OUT/sweep_gpu.txt" 2>&1
tail -25 "$OUT/pytest_gpu.log"
cat "$OUT/bench_gpu.txt"
tail -40 "$OUT/sweep_gpu.txt"
