/* The SVE path for CPUs whose vector length is exactly 512 bits: compiled
 * with -march=armv8.2-a+sve -msve-vector-bits=512; the engine runs it only
 * where the vector length is 512 bits. */
#define FI_ARM_SVE 1
#define FI_RUN_NAME fi_run_sve512
#include "fi_kernels_impl.h"
