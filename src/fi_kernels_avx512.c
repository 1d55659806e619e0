/* The AVX-512 path: compiled with -march=x86-64-v4 (AVX-512 F/BW/CD/DQ/VL). */
#define FI_RUN_NAME fi_run_avx512
#include "fi_kernels_impl.h"
