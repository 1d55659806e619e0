/* The AVX2 path: compiled with -march=x86-64-v3 (AVX2, FMA, F16C; FMA is
 * never fused into our arithmetic: the build uses -ffp-contract=off). */
#define FI_RUN_NAME fi_run_avx2
#include "fi_kernels_impl.h"
