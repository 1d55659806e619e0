#!/usr/bin/env bash
# CPU checks and rates on a many-core x86-64 host with AVX-512, in one go
# (about 5 minutes on 16 cores).  Run from the repository root:
#
#     OUT=/some/folder bash benchmarks/cpu_device.sh
#
# Builds and installs this checkout (no network: the build requirements,
# cython-cmake included, must already be installed, e.g. from wheels in .whl/),
# then writes to $OUT:
#   config.txt        fastinit.show_config(), lscpu, cgroup CPU quota
#   tests_bits.log    the bit-equality tests: every SIMD path (AVX-512
#                     included), thread counts, golden hashes, the slow
#                     reference, known answers, fork and thread tests
#   rates_2e28.txt    benchmarks/cpu_rates.py on 2^28 float32 (1 GiB): plain
#                     stores, zeros, he_uniform, he_normal at 1 thread and at
#                     the default count, on the avx512 and avx2 paths
#   scaling.txt       he_normal / he_uniform Melem/s at 1, 2, 4, 8, 16 threads
#   small.txt         microseconds per small fill (2^15 .. 2^21) at 1, 2 and
#                     all threads: the cost of handing work to threads
set -u
OUT=${OUT:-/tmp/fastinit_cpu_device}
mkdir -p "$OUT"
REPO=$(pwd)
PY=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install --no-index --no-deps .whl/*.whl >"$OUT/wheels.log" 2>&1
fi
$PY -m pip install --no-build-isolation --no-deps . >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
cd /tmp  # import the installed package, not the source folder
{
  $PY -c "import fastinit; fastinit.show_config(); from fastinit._backends import threads as _threads; print('cpu_limit', _threads.cpu_limit(), 'quota', _threads._QUOTA)"
  lscpu 2>/dev/null | grep -E "Model name|^CPU\(s\)|Thread|Socket|NUMA|L3|Flags" | cut -c1-300
} >"$OUT/config.txt" 2>&1
cat "$OUT/config.txt"
timeout 240 $PY -m pytest -q -x -p no:cacheprovider --rootdir "$REPO" -c "$REPO/pyproject.toml" \
  "$REPO/tests/test_golden.py" "$REPO/tests/test_stream.py" "$REPO/tests/test_parallel.py" \
  "$REPO/tests/test_philox_kat.py" "$REPO/tests/test_reliability.py" -k "not hostile" >"$OUT/tests_bits.log" 2>&1
echo "tests: rc=$? $(tail -1 "$OUT/tests_bits.log")"
timeout 150 $PY "$REPO/benchmarks/cpu_rates.py" --size $((1 << 28)) --repeat 5 --simd avx512 avx2 \
  >"$OUT/rates_2e28.txt" 2>&1
cat "$OUT/rates_2e28.txt"
timeout 90 $PY "$REPO/benchmarks/device_threads.py" scaling >"$OUT/scaling.txt" 2>&1
cat "$OUT/scaling.txt"
timeout 60 $PY "$REPO/benchmarks/device_threads.py" small >"$OUT/small.txt" 2>&1
cat "$OUT/small.txt"
