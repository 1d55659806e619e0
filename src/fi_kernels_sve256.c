/* The SVE path for CPUs whose vector length is exactly 256 bits: compiled
 * with -march=armv8.2-a+sve -msve-vector-bits=256; the engine runs it only
 * where the vector length is 256 bits. */
#define FI_ARM_SVE 1
#define FI_RUN_NAME fi_run_sve256
#include "fi_kernels_impl.h"
