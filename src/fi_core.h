/*
 * fastinit's compiled core: the C interface the Cython wrapper calls.
 *
 * The core fills a strided N-d buffer with the values of a distribution at
 * given global element indices of a (key, stream) Philox stream.  It knows
 * nothing about Python, fans, defaults or thread policy: every decision
 * (parameters, thread count, SIMD path) arrives as an argument.
 */
#ifndef FASTINIT_CORE_H
#define FASTINIT_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The stream contract's codes and limits: FI_STREAM_VERSION, FI_MAXDIM,
 * FI_DT_* (output types), FI_KIND_* (distributions), FI_PARAM_SLOTS
 * (generated from fastinit/_contract/stream.toml, which says what each
 * kind computes from the slots).  A 32-bit output type uses word i for
 * element i; float64 uses words 2i (low half) and 2i + 1 (high half). */
#include "fi_contract.h"

/* SIMD paths: the portable one, then x86-64's and aarch64's, each family in
 * increasing order of preference.  A build has the generic path and its
 * target's family; "sve" runs at the CPU's vector length (128, 256 or 512
 * bits). */
enum { FI_ISA_GENERIC = 0, FI_ISA_AVX2 = 1, FI_ISA_AVX512 = 2, FI_ISA_NEON = 3, FI_ISA_SVE = 4, FI_ISA_COUNT };

/* Flags. */
enum {
    FI_FLAG_STREAM_STORES = 1, /* FI_KIND_CONST: non-temporal stores (large buffers) */
};

/* What to compute: the key and stream, the kind and output type, and the
 * parameter slots a, b, c, d, lo, hi (the kinds' laws use them; lo and hi
 * are the inclusive clamp of bounded kinds, c and d Phi(alpha) and
 * Phi(beta) - Phi(alpha) of a truncated normal).  Parameters for 16- and
 * 32-bit outputs must be exactly representable in float32 (the caller
 * rounds them); lo/hi must be exactly representable in the output type. */
#define FI_PARAM_FIELD(name) double name;
typedef struct fi_params {
    uint32_t key[2];
    uint64_t stream;
    int kind;
    int dtype;
    int flags;
    FI_PARAM_SLOTS(FI_PARAM_FIELD)
} fi_params;

/* Where to write: element (i_0, ..., i_{n-1}) of the output lives at
 * data + sum(i_d * ostride[d]) bytes and takes the value of global element
 * gbase + sum(i_d * gstride[d]) (64-bit wrap-around arithmetic, so negative
 * strides work as long as every index is in range). */
typedef struct fi_layout {
    int ndim;
    int64_t shape[FI_MAXDIM];
    int64_t ostride[FI_MAXDIM];
    int64_t gstride[FI_MAXDIM];
    char *data;
    uint64_t gbase;
} fi_layout;

/* Error codes. */
enum { FI_OK = 0, FI_EINVAL = 1, FI_EISA = 2 };

size_t fi_itemsize(int dtype);

/* Fill a layout.  gstride may be NULL: then element indices are the C-order
 * flat indices of `shape` (plus gbase).  Dimensions are merged and size-1
 * dimensions dropped; the result describes the same elements. */
int fi_layout_init(fi_layout *L, int ndim, const int64_t *shape, const int64_t *ostride,
                   const int64_t *gstride, char *data, uint64_t gbase);
uint64_t fi_layout_size(const fi_layout *L);

/* Fill elements [lo, hi) (C-order positions in the layout's index space) on
 * nthreads threads (the caller, a thread of the engine's own and, beyond
 * two, its OpenMP team, or without OpenMP its own helper threads) with the
 * given SIMD path.  Safe to call without
 * the GIL; values depend on neither nthreads, isa nor the [lo, hi) split. */
int fi_fill(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi, int nthreads, int isa);

/* Advise the kernel to back [p, p + n) with transparent huge pages before
 * its first touch (Linux madvise MADV_HUGEPAGE on the whole pages inside;
 * a hint: 0, or an errno value where the kernel declines). */
int fi_advise_hugepages(void *p, size_t n);

/* Machine facts, for the Python layer's policy and show_config(). */
int fi_isa_compiled(int isa);  /* built into this binary */
int fi_isa_supported(int isa); /* compiled and supported by this CPU and OS */
const char *fi_isa_name(int isa);
int fi_isa_vector_bits(int isa); /* the vector width it runs at here (0: not supported) */
const char *fi_threading(void); /* "openmp" (runner + OpenMP team), "pthreads" (runner + helpers), "none" */
int fi_openmp_enabled(void);
int fi_openmp_max_threads(void);
void fi_openmp_set_threads(int n);
const char *fi_compiler(void);

#ifdef __cplusplus
}
#endif

#endif /* FASTINIT_CORE_H */
