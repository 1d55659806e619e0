#!/usr/bin/env bash
# llvm-mca model of the 32-bit kernels on the aarch64 SIMD paths: one step of
# each kind (benchmarks/kernels/steps.c) compiled as the library compiles it
# (shipped flags, the NEON unit and the fixed-length SVE units), cut out of
# the assembly and run through llvm-mca for Arm cores.  A static model, not a
# measurement: no aarch64 machine is needed, and none is timed.
#   bash benchmarks/kernels/counts_aarch64.sh [EXTRA_CFLAGS]
# Prints, per path and core model: instructions per step, stack references
# (sp-addressed loads/stores and stack addresses taken; the d8-d15 saves and
# restores AAPCS64 asks of a function that uses v8-v15 are counted apart) and
# cycles per step and per value; then the same for FI_U = 2, 3, 4, 5
# (FI_U_SWEEP="..." to change); then, on an x86-64 host with gcc and
# llvm-mca, the x86 paths by the method of counts.sh, for comparison.
# CLANG=clang-19 adds the NEON and SVE rows compiled by that clang instead
# of GCC (its own table).
# Needs aarch64-linux-gnu-gcc (CC_A64=...) and llvm-mca-19 (MCA=...).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd); S=$HERE/../../src
CC_A64=${CC_A64:-aarch64-linux-gnu-gcc}; MCA=${MCA:-llvm-mca-19}
for tool in "$CC_A64" "$MCA"; do
  command -v "$tool" >/dev/null || { echo "counts_aarch64.sh: $tool not found" >&2; exit 1; }
done
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
SHIPPED="-O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -fschedule-insns -fsched-pressure"
EXTRA=${1:-}
FNS="step_raw step_uniform step_normal step_truncnorm"
ITER=200

# path -> compiler flags and vector bytes
path_flags() {
  case $1 in
    neon) echo "-DFI_ARM_NEON";;
    sve*) echo "-DFI_ARM_SVE -march=armv8.2-a+sve -msve-vector-bits=${1#sve}";;
  esac
}
path_bytes() { case $1 in neon) echo 16;; sve*) echo $((${1#sve} / 8));; esac; }

# compile steps.c for a path: $1 path, $2 FI_U override ("" for the header's), $3 compiler
compile() {
  local out=$T/$1.u${2:-d}.$(basename "$3").s ov=""
  [ -n "$2" ] && ov="-DFI_U_OVERRIDE=$2"
  if [ ! -f "$out" ]; then
    if [ "$3" = "$CC_A64" ]; then
      # shellcheck disable=SC2046
      "$3" $SHIPPED -I"$S" $(path_flags "$1") $ov $EXTRA -S "$HERE/steps.c" -o "$out"
    else
      # shellcheck disable=SC2046
      # (clang has no -fschedule-insns / -fsched-pressure: GCC's scheduler flags dropped)
      "$3" --target=aarch64-linux-gnu ${SHIPPED% -fschedule-insns*} -I"$S" $(path_flags "$1") $ov $EXTRA -S "$HERE/steps.c" -o "$out"
    fi
  fi
  echo "$out"
}

# one function's body: instructions only (labels, directives and .cfi dropped)
cut_fn() { awk -v f="$2" '$0 ~ "^"f":" {p=1; next} p && /^\t\.cfi_endproc/ {p=0} p && /^\t[a-z]/ && !/^\t\.cfi/' "$1"; }

# the FI_U the header picks for aarch64 paths (read from the source, not assumed)
U_DEFAULT=$(echo 'FI_U' | "$CC_A64" -DFI_ARM_NEON -DFI_RUN_NAME=x -I"$S" -E -P -include "$S/fi_kernels_impl.h" - | tail -1)

# $1 asm, $2 fn, $3 cpu, $4 values per step -> "n stack csr cycles/step cycles/value"
measure() {
  local s=$T/cut.s n csr stack cyc
  cut_fn "$1" "$2" >"$s"
  n=$(grep -c . "$s")
  csr=$(grep -cE "^\s(stp|ldp|str|ldr)\s+d(8|9|1[0-5])," "$s" || true)
  stack=$(grep -E "\[sp|,\s*sp\b" "$s" | grep -cvE "^\s(stp|ldp|str|ldr)\s+d(8|9|1[0-5])," || true)
  cyc=$("$MCA" -mtriple=aarch64 -mcpu="$3" -iterations=$ITER "$s" 2>"$T/mca.err" | awk -v i=$ITER '/Total Cycles/ {print $3 / i}')
  if [ -z "$cyc" ]; then echo "$n $stack $csr error error"; return; fi
  echo "$n $stack $csr $cyc $(awk -v c="$cyc" -v v="$4" 'BEGIN {printf "%.2f", c / v}')"
}

# path:cpu pairs: each core model with the paths its CPU runs
# (Grace: 128-bit SVE2; Graviton 2 and Apple M1: no SVE; Graviton 3:
# 256-bit SVE; A64FX: 512-bit SVE)
PAIRS="neon:neoverse-v2 sve128:neoverse-v2 neon:neoverse-n1 neon:neoverse-v1 sve256:neoverse-v1 neon:apple-m1 sve512:a64fx"

table() { # $1 compiler, $2 U override ("" = header's), $3 pairs
  local cc=$1 ov=$2 p path cpu asm u vals fn r cpv
  for p in $3; do
    path=${p%%:*}; cpu=${p#*:}
    asm=$(compile "$path" "$ov" "$cc")
    u=${ov:-$U_DEFAULT}; vals=$(($(path_bytes "$path") * u))
    cpv=""; detail=""
    for fn in $FNS; do
      r=$(measure "$asm" "$fn" "$cpu" "$vals")
      set -- $r
      cpv="$cpv | $5"; detail="$detail | $1 / $2 (+$3) / $4"
    done
    printf "| %-7s | %-12s | %d | %3d%s |\n" "$path" "$cpu" "$u" "$vals" "$cpv"
    printf "| %s, %s%s%s |\n" "$path" "$cpu" "${ov:+, U=$ov}" "$detail" >>"$T/detail"
  done
}

echo "aarch64, $CC_A64 ($("$CC_A64" -dumpversion)), llvm-mca: $("$MCA" --version | grep -o "LLVM version [0-9.]*" | head -1 | cut -d" " -f3), FI_U from the header: $U_DEFAULT"
echo "cycles per value (llvm-mca cycles per step / values per step; values per step = vector bytes x FI_U):"
echo "| path    | model        | U | values/step | raw | uniform | normal | truncnorm |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
: >"$T/detail"
table "$CC_A64" "" "$PAIRS"
echo
echo "per step: instructions / stack references (+ d8-d15 saves and restores) / llvm-mca cycles, same rows:"
echo "| path, model | raw | uniform | normal | truncnorm |"
echo "|---|---|---|---|---|"
cat "$T/detail"

echo
echo "FI_U sweep (-DFI_U_OVERRIDE): cycles per value, then instructions / stack references (+ d8-d15) / cycles per step:"
echo "| path    | model        | U | values/step | raw | uniform | normal | truncnorm |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
SWEEP_PAIRS="neon:neoverse-v2 sve128:neoverse-v2 neon:neoverse-n1 neon:neoverse-v1 sve256:neoverse-v1 neon:apple-m1"
: >"$T/detail"
for u in ${FI_U_SWEEP-2 3 4 5}; do
  table "$CC_A64" "$u" "$SWEEP_PAIRS"
done
echo
echo "| path, model, U | raw | uniform | normal | truncnorm |"
echo "|---|---|---|---|---|"
cat "$T/detail"

if [ -n "${CLANG:-}" ] && command -v "$CLANG" >/dev/null; then
  echo
  echo "the same source compiled by $CLANG (--target=aarch64-linux-gnu, the shipped flags less GCC's two scheduler flags), not what the build ships with GCC:"
  echo "| path    | model        | U | values/step | raw | uniform | normal | truncnorm |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  : >"$T/detail"
  table "$CLANG" "" "$PAIRS"
  cat "$T/detail"
fi

# x86 side by side, by counts.sh's method (gcc, llvm-mca of the host's LLVM)
if [ "$(uname -m)" = x86_64 ] && command -v gcc >/dev/null && command -v llvm-mca >/dev/null; then
  echo
  echo "x86-64 for comparison (gcc $(gcc -dumpversion), llvm-mca $(llvm-mca --version | grep -o "LLVM version [0-9.]*" | head -1 | cut -d" " -f3), counts.sh's method):"
  echo "| path    | model          | U | values/step | raw | uniform | normal | truncnorm |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for isa in avx2 avx512; do
    case $isa in
      avx2) M="-march=x86-64-v3"; CPU=znver3; VB=32;;
      avx512) M="-march=x86-64-v4 -mprefer-vector-width=512"; CPU=icelake-server; VB=64;;
    esac
    # shellcheck disable=SC2086
    gcc $SHIPPED -I"$S" $M $EXTRA -S "$HERE/steps.c" -o "$T/x86.$isa.s"
    U=$(echo 'FI_U' | gcc $M -DFI_RUN_NAME=x -I"$S" -E -P -include "$S/fi_kernels_impl.h" - | tail -1)
    row=""
    for fn in $FNS; do
      cut_fn "$T/x86.$isa.s" "$fn" >"$T/cut.s"
      cyc=$(llvm-mca -mcpu=$CPU -iterations=$ITER "$T/cut.s" 2>/dev/null | awk -v i=$ITER '/Total Cycles/ {print $3 / i}')
      row="$row | $(awk -v c="$cyc" -v v=$((VB * U)) 'BEGIN {printf "%.2f", c / v}')"
    done
    printf "| %-7s | %-14s | %d | %3d%s |\n" "$isa" "$CPU" "$U" $((VB * U)) "$row"
  done
fi
echo
echo "(a static throughput model of one step, repeated: no memory traffic beyond the step's own loads and stores, no clock, no"
echo " front end beyond llvm-mca's; branches (truncnorm's tail test) are modelled as straight-line code, both sides taken)"
