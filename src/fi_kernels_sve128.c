/* The SVE path for CPUs whose vector length is exactly 128 bits: compiled
 * with -march=armv8.2-a+sve -msve-vector-bits=128; the engine runs it only
 * where the vector length is 128 bits. */
#define FI_ARM_SVE 1
#define FI_RUN_NAME fi_run_sve128
#include "fi_kernels_impl.h"

/* This CPU's SVE vector length in bytes (RDVL); call only where the CPU
 * has SVE (HWCAP_SVE). */
int fi_sve_vector_bytes(void)
{
    long vl;
    __asm__ volatile("rdvl %0, #1" : "=r"(vl));
    return (int)vl;
}
