/* The NEON path (Advanced SIMD, 128-bit): baseline on every aarch64 CPU. */
#define FI_ARM_NEON 1
#define FI_RUN_NAME fi_run_neon
#include "fi_kernels_impl.h"
