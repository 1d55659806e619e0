/*
 * The per-SIMD-path kernels: each computes the values of global elements
 * [g, g + n) of one distribution into a contiguous buffer.  fi_engine.c
 * splits work across threads and strided layouts and calls one of these.
 *
 * fi_kernels_impl.h holds the one body; fi_kernels_<isa>.c compile it with
 * that path's instruction set.  All paths give identical bits.
 */
#ifndef FASTINIT_KERNELS_H
#define FASTINIT_KERNELS_H

#include "fi_core.h"

typedef void (*fi_run_fn)(const fi_params *p, uint64_t g, size_t n, void *dst);

void fi_run_generic(const fi_params *p, uint64_t g, size_t n, void *dst);
#ifdef FI_HAVE_AVX2
void fi_run_avx2(const fi_params *p, uint64_t g, size_t n, void *dst);
#endif
#ifdef FI_HAVE_AVX512
void fi_run_avx512(const fi_params *p, uint64_t g, size_t n, void *dst);
#endif
#ifdef FI_HAVE_NEON
void fi_run_neon(const fi_params *p, uint64_t g, size_t n, void *dst);
#endif
#ifdef FI_HAVE_SVE
/* one unit per vector length; the engine picks the one equal to the CPU's */
void fi_run_sve128(const fi_params *p, uint64_t g, size_t n, void *dst);
void fi_run_sve256(const fi_params *p, uint64_t g, size_t n, void *dst);
void fi_run_sve512(const fi_params *p, uint64_t g, size_t n, void *dst);
int fi_sve_vector_bytes(void);
#endif

#endif /* FASTINIT_KERNELS_H */
