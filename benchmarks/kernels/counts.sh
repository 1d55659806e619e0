#!/usr/bin/env bash
# Instructions, stack references and llvm-mca cycles per step of the 32-bit
# kernels on each x86 SIMD path, and callgrind instruction counts per value
# of one-thread fills (deterministic: immune to other load on the machine).
#   bash benchmarks/kernels/counts.sh [EXTRA_CFLAGS]   e.g. -DFI_U_OVERRIDE=3
# Needs gcc, llvm-mca (apt: llvm) and valgrind.  Uses the shipped flags.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd); S=$HERE/../../src; T=$(mktemp -d)
F="-O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -fschedule-insns -fsched-pressure -I$S ${1:-}"
for isa in avx2 avx512; do
  case $isa in
    avx2) M="-march=x86-64-v3"; CPU=znver3;;
    avx512) M="-march=x86-64-v4 -mprefer-vector-width=512"; CPU=icelake-server;;
  esac
  gcc $F $M -S "$HERE/steps.c" -o "$T/steps.$isa.s"
  for fn in step_raw step_uniform step_normal; do
    awk -v f=$fn '$0 ~ "^"f":" {p=1; next} p && /^\t\.cfi_endproc/ {p=0} p && /^\t[a-z]/ && !/^\t\.cfi/' \
      "$T/steps.$isa.s" > "$T/$fn.$isa.s"
    n=$(grep -c . "$T/$fn.$isa.s"); spill=$(grep -cE "\((%rsp|%rbp)\)" "$T/$fn.$isa.s" || true)
    cyc=$(llvm-mca -mcpu=$CPU -iterations=200 "$T/$fn.$isa.s" 2>/dev/null | awk '/Total Cycles/ {print $3 / 200}')
    echo "$isa $fn: $n instructions/step, $spill stack references, llvm-mca ($CPU) $cyc cycles/step"
  done
done
echo "(values per step: 4 x lanes x FI_U groups: avx2 32 x FI_U, avx512 64 x FI_U; see src/fi_kernels_impl.h)"
G="$F -g -DFI_HAVE_AVX2 -DFI_HAVE_AVX512"
gcc $G -c "$S/fi_kernels_generic.c" -o "$T/g.o"
gcc $G -march=x86-64-v3 -c "$S/fi_kernels_avx2.c" -o "$T/a2.o"
gcc $G -march=x86-64-v4 -mprefer-vector-width=512 -c "$S/fi_kernels_avx512.c" -o "$T/a5.o"
gcc $G -fopenmp -c "$S/fi_engine.c" -o "$T/e.o"
gcc $G "$HERE/fill_one.c" "$T/g.o" "$T/a2.o" "$T/a5.o" "$T/e.o" -fopenmp -o "$T/fill_one"
N=$((1 << 20))
for isa in 0 1; do
  for kind in 2 3 4; do
    valgrind --tool=callgrind --callgrind-out-file="$T/cg" "$T/fill_one" $kind $isa $N 1 >/dev/null 2>&1
    callgrind_annotate "$T/cg" 2>/dev/null | grep -E "fi_run_(generic|avx2)" |
      awk -v k=$kind -v i=$isa -v n=$N '{gsub(",", "", $1); s += $1} END {printf "callgrind isa %d kind %d: %.2f instructions/value\n", i, k, s / n}'
  done
done
for isa in 0 1 2; do for kind in 2 3 4; do "$T/fill_one" $kind $isa $((1 << 24)) 5 || true; done; done
rm -rf "$T"
