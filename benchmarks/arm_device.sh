#!/usr/bin/env bash
# CPU checks and rates on a 64-bit Arm Linux host (Graviton, Grace, Ampere,
# any aarch64 machine with a C compiler), in one go.  Run from the
# repository root:
#
#     OUT=/some/folder bash benchmarks/arm_device.sh
#
# Builds and installs this checkout as benchmarks/cpu_device.sh does (no
# network: the build requirements, cython-cmake included, must already be
# installed, e.g. from wheels in .whl/).  The interpreter: $PYTHON (default
# python3); with VENV=/some/venv, that virtual environment, created there
# (with the system's site packages visible) if it does not exist.
# Writes to $OUT:
#   config.txt        fastinit.show_config(), the SIMD paths this build and
#                     CPU run, lscpu, the SVE vector length, cgroup CPU quota
#   tests_bits.log    the bit-equality tests: every SIMD path this CPU runs
#                     (NEON, SVE where the CPU has it), thread counts, golden
#                     hashes, the slow reference, known answers, fork and
#                     thread tests
#   rates_2e28.txt    benchmarks/cpu_rates.py on 2^28 float32 (1 GiB): plain
#                     stores, zeros, he_uniform, he_normal at 1 thread and at
#                     the default count, on each aarch64 path (sve, then neon)
#   simd_neon_sve.txt where the CPU has SVE: one-thread and all-thread
#                     Melem/s of raw words, uniform, normal and truncated
#                     normal float32 fills with FASTINIT_SIMD=neon and
#                     FASTINIT_SIMD=sve, each in its own process, side by side
#   scaling.txt       he_normal / he_uniform Melem/s at 1, 2, 4, ... threads
#   small.txt         microseconds per small fill (2^15 .. 2^21) at 1, 2 and
#                     all threads: the cost of handing work to threads
#   bench.txt, bench.json   fastinit bench --json (the default path)
set -u
case "$(uname -m)" in
  aarch64 | arm64) ;;
  *)
    echo "arm_device.sh: this is a $(uname -m) machine; it measures the aarch64 paths (NEON, SVE) and runs only on" \
         "64-bit Arm Linux.  On x86-64 use benchmarks/cpu_device.sh; for a model of the Arm kernels without Arm" \
         "hardware, bash benchmarks/kernels/counts_aarch64.sh" >&2
    exit 2;;
esac
[ "$(uname -s)" = Linux ] || { echo "arm_device.sh: needs Linux (the SVE path is built and chosen on Linux only); this is $(uname -s)" >&2; exit 2; }
OUT=${OUT:-/tmp/fastinit_arm_device}
mkdir -p "$OUT"
REPO=$(pwd)
PY=${PYTHON:-python3}
if [ -n "${VENV:-}" ]; then
  [ -x "$VENV/bin/python" ] || $PY -m venv --system-site-packages "$VENV" || { echo "arm_device.sh: cannot create $VENV" >&2; exit 1; }
  PY=$VENV/bin/python
fi
command -v "$PY" >/dev/null || { echo "arm_device.sh: no interpreter $PY" >&2; exit 1; }
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install --no-index --no-deps .whl/*.whl >"$OUT/wheels.log" 2>&1
fi
$PY -m pip install --no-build-isolation --no-deps . >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
cd /tmp  # import the installed package, not the source folder
{
  $PY -c "import fastinit; fastinit.show_config(); from fastinit._backends import threads as _threads, simd as _simd; print('simd paths', _simd.available(), 'default', _simd.NAMES[_simd._initial()]); print('cpu_limit', _threads.cpu_limit(), 'quota', _threads._QUOTA)"
  lscpu 2>/dev/null | grep -E "Model name|Vendor|^CPU\(s\)|Thread|Socket|NUMA|L2|L3|MHz|Flags" | cut -c1-300
  grep -m1 -E "^Features" /proc/cpuinfo | cut -c1-300
  [ -r /proc/sys/abi/sve_default_vector_length ] && echo "sve_default_vector_length (bytes): $(cat /proc/sys/abi/sve_default_vector_length)"
} >"$OUT/config.txt" 2>&1
cat "$OUT/config.txt"
PATHS=$($PY -c "from fastinit._backends import simd; print(' '.join(p for p in reversed(simd.available()) if p in ('sve', 'neon')))")
echo "aarch64 paths here: $PATHS"
timeout 300 $PY -m pytest -q -x -p no:cacheprovider --rootdir "$REPO" -c "$REPO/pyproject.toml" \
  "$REPO/tests/test_golden.py" "$REPO/tests/test_stream.py" "$REPO/tests/test_parallel.py" \
  "$REPO/tests/test_philox_kat.py" "$REPO/tests/test_reliability.py" "$REPO/tests/test_simd_forcing.py" \
  -k "not hostile" >"$OUT/tests_bits.log" 2>&1
echo "tests: rc=$? $(tail -1 "$OUT/tests_bits.log")"
# shellcheck disable=SC2086
timeout 240 $PY "$REPO/benchmarks/cpu_rates.py" --size $((1 << 28)) --repeat 5 --simd $PATHS \
  >"$OUT/rates_2e28.txt" 2>&1
cat "$OUT/rates_2e28.txt"
case " $PATHS " in
  *" sve "*)
    : >"$OUT/simd_neon_sve.txt"
    for simd in neon sve; do
      FASTINIT_SIMD=$simd timeout 120 $PY - >>"$OUT/simd_neon_sve.txt" 2>&1 <<'EOF'
import os, statistics, time
import numpy as np
import fastinit
from fastinit import _backends
from fastinit._backends import simd, threads
from fastinit._initializers.draws import RAW_WORDS, FillTarget
n = 1 << 26
x = np.empty(n, np.float32)
w = np.empty(n, np.uint32)
g = fastinit.default_rng(0)
fills = {
    "raw_words": lambda: _backends.fill(FillTarget(w, g._key, 0, 0), RAW_WORDS),  # into w, as random_raw fills
    "uniform": lambda: g.random(out=x),
    "normal": lambda: g.standard_normal(out=x),
    "truncnorm": lambda: g.truncated_normal(out=x),
}
for t in sorted({1, threads.cpu_limit()}):
    fastinit.set_num_threads(t)
    for name, f in fills.items():
        f()
        ts = []
        for _ in range(5):
            t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
        print(f"{t:>3} threads {name:<10} FASTINIT_SIMD={os.environ['FASTINIT_SIMD']:<5} (running {simd.current_name()}) "
              f"{n / min(ts) / 1e6:8.0f} Melem/s best of 5, {n / statistics.median(ts) / 1e6:8.0f} median", flush=True)
EOF
    done
    sort -s -k1,1n -k3,3 "$OUT/simd_neon_sve.txt" | tee "$OUT/simd_neon_sve.sorted.txt";;
  *) echo "no SVE on this CPU (or in this build): NEON only" | tee "$OUT/simd_neon_sve.txt";;
esac
timeout 90 $PY "$REPO/benchmarks/device_threads.py" scaling >"$OUT/scaling.txt" 2>&1
cat "$OUT/scaling.txt"
timeout 60 $PY "$REPO/benchmarks/device_threads.py" small >"$OUT/small.txt" 2>&1
cat "$OUT/small.txt"
timeout 600 $PY -m fastinit bench --json "$OUT/bench.json" >"$OUT/bench.txt" 2>&1
echo "fastinit bench: rc=$? (bench.txt, bench.json)"
tail -40 "$OUT/bench.txt"
