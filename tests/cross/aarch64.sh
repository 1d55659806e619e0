#!/usr/bin/env bash
# The aarch64 core gives x86's bytes: cross-compile the C core (engine and
# kernels, through the project's CMake build) with Debian's
# gcc-aarch64-linux-gnu and with clang, run its harness (tests/cross/harness.c) under
# qemu-aarch64 on every aarch64 path (generic; NEON on a CPU with SVE and
# on one without; SVE at 128-, 256- and 512-bit vector lengths) and compare
# every output byte with the x86 build's for the same requests:
#   - the request matrix of tests/cross/requests.py (every kind and output
#     type, starts across Philox, SIMD and engine blocks, strided layouts),
#     filled on one thread and on three, which must agree;
#   - with --python PY (a Python with fastinit installed): the core fills
#     behind the golden hashes (tests/cross/golden_requests.py), whose
#     SHA-256 the harness's output must match on both processors;
#   - Philox4x32-10 known answers (tests/data).
# Also: the aarch64 kernels hold no fused multiply-add (-ffp-contract=off
# kept), the SVE units are SVE code, SVE is offered only at a vector length
# a unit is compiled for, x86's dispatch offers AVX2 only where every
# x86-64-v3 feature is there (qemu-x86_64 CPU models), and builds without OpenMP (as Apple clang makes
# them: the engine's own threads) give the same bytes on 1 and 5 threads.
#
#   bash tests/cross/aarch64.sh [--python PY]
#
# The cross compiler and qemu are installed with apt-get where missing (as
# root); the build and outputs live in a temporary folder removed on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python=""
while [ $# -gt 0 ]; do
    case "$1" in
        --python) python="$2"; shift 2 ;;
        *) echo "usage: bash tests/cross/aarch64.sh [--python PY]" >&2; exit 2 ;;
    esac
done

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v cmake >/dev/null || need+=(cmake)
command -v clang >/dev/null || need+=(clang)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "aarch64.sh: needs ${need[*]} (Debian packages); install them, or run as root with apt-get" >&2
        exit 1
    fi
    echo "aarch64.sh: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)

build() { # build DIR [cmake args...]: the core and its harness
    local dir="$1"; shift
    cmake -S "$root" -B "$dir" "${gen[@]}" -DFASTINIT_CORE_ONLY=ON -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.log" 2>&1 ||
        { cat "$dir.log" >&2; exit 1; }
    cmake --build "$dir" >>"$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
    grep -m1 "SIMD paths" "$dir.log" | sed 's/^-- /  /'
}
echo "building the core for x86-64 and aarch64"
build "$tmp/x86"
build "$tmp/arm" -DCMAKE_TOOLCHAIN_FILE="$here/aarch64-linux-gnu.cmake"
build "$tmp/arm-clang" -DCMAKE_TOOLCHAIN_FILE="$here/aarch64-linux-gnu-clang.cmake"
build "$tmp/x86-noomp" -DFASTINIT_OPENMP=OFF
build "$tmp/x86-portable" -DFASTINIT_OPENMP=OFF -DCMAKE_C_FLAGS=-DFI_PORTABLE_WAIT  # macOS's sleep, on Linux
build "$tmp/arm-noomp" -DFASTINIT_OPENMP=OFF -DCMAKE_TOOLCHAIN_FILE="$here/aarch64-linux-gnu.cmake"
x86="$tmp/x86/fi_harness"
arm() { # arm CPU ARGS...: the aarch64 harness under qemu on that CPU model
    local cpu="$1"; shift
    qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu "$cpu" "${ARM_HARNESS:-$tmp/arm/fi_harness}" "$@"
}

fail=0
check() { # check WHAT COND-STATUS
    if [ "$2" = 0 ]; then echo "  ok    $1"; else echo "  FAIL  $1"; fail=1; fi
}

# same_outputs WANT GOT N: both folders hold the same N files, byte for
# byte (a missing folder or file, or fewer files, is a difference); sets
# $diffs to the lines diff printed.  Call it as `cmd || rc=$?` (set -e).
same_outputs() {
    local rc=0
    diff -rq "$1" "$2" >"$tmp/diff.txt" 2>&1 || rc=$?
    diffs=$(wc -l <"$tmp/diff.txt")
    [ "$rc" = 0 ] && [ "$(find "$2" -name '*.bin' | wc -l)" = "$3" ]
}

echo "aarch64 objects"
objdump=aarch64-linux-gnu-objdump
objs=("$tmp"/arm/CMakeFiles/fi_core.dir/src/*.o "$tmp"/arm-clang/CMakeFiles/fi_core.dir/src/*.o)
$objdump -d "${objs[@]}" >"$tmp/arm.dis"  # fails the script if objdump cannot read one
units=$(grep -cE '^/.*\.o:\s+file format' "$tmp/arm.dis" || true)
check "disassembled ${#objs[@]} aarch64 objects (engine and 5 kernel units, gcc and clang): $units read" \
      "$([ "$units" = 12 ] && [ "${#objs[@]}" = 12 ]; echo $?)"
fused=$(grep -cE '\s(fmla|fmls|fmadd|fmsub|fnmadd|fnmsub|fmad|fmsb|fnmla|fnmls|fnmad|fnmsb)\s' "$tmp/arm.dis" || true)
check "no fused multiply-add in them ($fused found)" "$([ "$fused" = 0 ]; echo $?)"
for bits in 128 256 512; do
    $objdump -d "$tmp/arm/CMakeFiles/fi_core.dir/src/fi_kernels_sve$bits.c.o" >"$tmp/sve.dis"
    n=$(grep -cE 'umulh\s+z' "$tmp/sve.dis" || true)
    check "the sve$bits unit multiplies in SVE registers ($n UMULH z)" "$([ "$n" -gt 0 ]; echo $?)"
done

echo "paths offered (name:vector bits)"
expect_paths() { # expect_paths CPU WANT
    local got; got="$(arm "$1" --paths)"
    check "-cpu $1: $got" "$([ "$got" = "$2" ]; echo $?)"
}
expect_paths max,sve-max-vq=1 "generic:128 neon:128 sve:128"
expect_paths max,sve-max-vq=2 "generic:128 neon:128 sve:256"
expect_paths max,sve-max-vq=4 "generic:128 neon:128 sve:512"
expect_paths max,sve-max-vq=3 "generic:128 neon:128"
expect_paths max,sve-max-vq=8,sve-default-vector-length=128 "generic:128 neon:128"
expect_paths cortex-a72 "generic:128 neon:128"

echo "x86-64 dispatch under qemu-x86_64 (its TCG has AVX2, not AVX-512)"
x86_expect() { # x86_expect CPU WANT
    local got; got="$(qemu-x86_64 -cpu "$1" "$tmp/x86/fi_harness" --paths 2>/dev/null)"
    check "-cpu $1: $got" "$([ "$got" = "$2" ]; echo $?)"
}
x86_expect Nehalem "generic:128"
x86_expect Haswell "generic:128 avx2:256"
for f in avx2 fma bmi2 f16c movbe abm; do x86_expect "Haswell,-$f" "generic:128"; done

python3 "$here/requests.py" >"$tmp/requests.txt"
sets=(requests)
if [ -n "$python" ]; then
    "$python" "$here/golden_requests.py" "$tmp/golden.txt" "$tmp/golden.sha256" | sed 's/^/  /'
    sets+=(golden)
fi
declare -A count
for set in "${sets[@]}"; do count[$set]=$(grep -cv '^#' "$tmp/$set.txt"); done

# x86's output: every x86 path this CPU has must agree; the first is the reference
echo "x86-64 reference"
"$x86" --paths >"$tmp/x86-paths.txt"
read -r -a x86_paths <"$tmp/x86-paths.txt"
[ ${#x86_paths[@]} -gt 0 ] || { echo "aarch64.sh: the x86 harness names no SIMD path" >&2; exit 1; }
ref="$tmp/out/x86-${x86_paths[0]%%:*}"
best="${x86_paths[-1]%%:*}"
for set in "${sets[@]}"; do
    src="$tmp/$set.txt"
    for p in "${x86_paths[@]}"; do
        name="${p%%:*}"; out="$tmp/out/x86-$name/$set"; mkdir -p "$out"
        "$x86" "$name" "$src" "$out" 3 >/dev/null
        rc=0; same_outputs "$ref/$set" "$out" "${count[$set]}" || rc=$?
        check "x86 $name: $set, ${count[$set]} outputs, equal to x86 ${x86_paths[0]%%:*}'s" "$rc"
    done
done
if [ -n "$python" ]; then
    (cd "$ref/golden" && sha256sum ./*.bin | awk '{print $1}') >"$tmp/x86.sha256"
    check "x86 harness: $(wc -l <"$tmp/golden.sha256") golden fills hash as the Python package's" \
          "$(cmp -s "$tmp/x86.sha256" "$tmp/golden.sha256"; echo $?)"
fi

echo "aarch64 under qemu"
configs=("generic max" "neon max" "neon cortex-a72" "sve max,sve-max-vq=1" "sve max,sve-max-vq=2" "sve max,sve-max-vq=4")
for cc in gcc clang; do
for cfg in "${configs[@]}"; do
    read -r path cpu <<<"$cfg"
    label="$cc $path (-cpu $cpu)"
    export ARM_HARNESS="$tmp/arm/fi_harness"
    [ "$cc" = clang ] && ARM_HARNESS="$tmp/arm-clang/fi_harness"
    start=$SECONDS
    kat_ok=0
    for kat in "$root/tests/data/philox4x32_10_kat.txt" "$root/tests/data/philox_stream_kat.txt"; do
        arm "$cpu" "$path" --kat "$kat" >/dev/null || kat_ok=1
    done
    check "$label: Philox known answers" "$kat_ok"
    for set in "${sets[@]}"; do
        src="$tmp/$set.txt"
        out="$tmp/out/arm-$cc-$path-$cpu/$set"; mkdir -p "$out"
        if arm "$cpu" "$path" "$src" "$out" 3 >/dev/null; then
            rc=0; same_outputs "$ref/$set" "$out" "${count[$set]}" || rc=$?
            check "$label: $set, ${count[$set]} outputs byte-equal to x86's ($diffs differ; 1 and 3 threads agree)" "$rc"
        else
            check "$label: $set filled" 1
        fi
    done
    echo "        ($((SECONDS - start)) s)"
done
done
unset ARM_HARNESS

# a caller that changes its SVE vector length after its runner started:
# its parallel fills must not run the new length's unit on threads still
# at the old one (they fill serially instead)
out="$tmp/out/sve-vl-change"; mkdir -p "$out"
rc=0; FI_HARNESS_SVE_VL=16 arm max,sve-max-vq=2 sve "$tmp/requests.txt" "$out" 3 >/dev/null || rc=$?
ok=1; [ "$rc" = 0 ] && same_outputs "$ref/requests" "$out" "${count[requests]}" && ok=0
check "sve: from 256- to 128-bit vectors after the first parallel fill, ${count[requests]} requests equal x86's on 1 and 3 threads ($diffs differ)" "$ok"

echo "without OpenMP: the engine's own threads (runner and helpers)"
for cfg in "x86-noomp $best" "x86-portable $best" "arm-noomp neon"; do
    read -r build path <<<"$cfg"
    out="$tmp/out/$build"; mkdir -p "$out"
    rc=0
    if [ "$build" = arm-noomp ]; then
        ARM_HARNESS="$tmp/$build/fi_harness" arm max "$path" "$tmp/requests.txt" "$out" 5 >/dev/null || rc=$?
    else
        "$tmp/$build/fi_harness" "$path" "$tmp/requests.txt" "$out" 5 >/dev/null || rc=$?
    fi
    ok=1; [ "$rc" = 0 ] && same_outputs "$ref/requests" "$out" "${count[requests]}" && ok=0
    check "$build $path: ${count[requests]} requests on 1 and 5 threads agree and equal x86's ($diffs differ)" "$ok"
done

# after a parallel fill the engine's threads sleep (a futex on Linux, a
# condition variable elsewhere): the idle process uses no CPU to speak of
echo "idle threads sleep"
for build in x86 x86-noomp x86-portable; do
    cpu=$("$tmp/$build/fi_harness" "$best" --idle 5)
    check "$build: $cpu s of CPU in 0.5 s idle after a fill on 5 threads (at most 0.05)" \
          "$(awk -v c="$cpu" 'BEGIN {exit !(c <= 0.05)}'; echo $?)"
done

if [ "$fail" != 0 ]; then
    echo "aarch64 cross check: FAILED"
    exit 1
fi
echo "aarch64 cross check: every aarch64 path gives x86's bytes"
