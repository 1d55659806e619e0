# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""fastinit._core: thin wrappers over the C fill engine (src/fi_core.h).

Arguments arrive already validated by fastinit._validate and decided by
fastinit's policy modules (threads, SIMD path); this module only moves
them into C and releases the GIL while the engine runs.
"""

cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int64_t, uint32_t, uint64_t

cnp.import_array()

cdef extern from "philox.h" nogil:
    void fi_philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1)

# The contract's codes (FI_DT_*, FI_KIND_*, FI_MAXDIM, ...), exported as
# STREAM_VERSION, MAX_RANK, ENGINE_BLOCK, DTYPES and KINDS.
include "fi_contract.pxi"

cdef extern from "fi_core.h" nogil:
    enum:
        FI_OK
        FI_EINVAL
        FI_EISA
        FI_ISA_COUNT

    ctypedef struct fi_params:
        uint32_t key[2]
        uint64_t stream
        int kind
        int dtype
        int flags
        double a, b
        double c, d
        double lo, hi

    ctypedef struct fi_layout:
        int ndim

    size_t fi_itemsize(int dtype)
    int fi_layout_init(fi_layout *L, int ndim, const int64_t *shape, const int64_t *ostride,
                       const int64_t *gstride, char *data, uint64_t gbase)
    uint64_t fi_layout_size(const fi_layout *L)
    int fi_fill(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi,
                int nthreads, int isa)
    int fi_advise_hugepages(void *p, size_t n)
    int fi_isa_compiled(int isa)
    int fi_isa_supported(int isa)
    const char *fi_isa_name(int isa)
    int fi_isa_vector_bits(int isa)
    const char *fi_threading()
    int fi_openmp_enabled()
    int fi_openmp_max_threads()
    void fi_openmp_set_threads(int n)
    const char *fi_compiler()

ISA_NAMES = tuple(fi_isa_name(i).decode() for i in range(FI_ISA_COUNT))


def fill(cnp.ndarray out, int kind, int dtype, double a, double b, double c, double d, double lo, double hi,
         uint32_t key0, uint32_t key1, uint64_t stream, uint64_t gbase, object gstrides,
         int nthreads, int isa, uint64_t segment, int flags=0):
    """Fill `out` in place with values of global elements gbase + ... .

    gstrides: None (C-order flat indices of out.shape) or one global element
    stride per dimension of out.  The fill runs in segments of `segment`
    elements, checking for signals (Ctrl-C) between segments.
    """
    cdef fi_params p
    cdef fi_layout L
    cdef int64_t shape[FI_MAXDIM]
    cdef int64_t ostride[FI_MAXDIM]
    cdef int64_t gstride[FI_MAXDIM]
    cdef int64_t *gptr = NULL
    cdef int nd = cnp.PyArray_NDIM(out)
    cdef int k, rc = FI_OK
    cdef uint64_t n, pos, end

    p.key[0] = key0
    p.key[1] = key1
    p.stream = stream
    p.kind = kind
    p.dtype = dtype
    p.flags = flags
    p.a = a
    p.b = b
    p.c = c
    p.d = d
    p.lo = lo
    p.hi = hi
    for k in range(nd):
        shape[k] = cnp.PyArray_DIMS(out)[k]
        ostride[k] = cnp.PyArray_STRIDES(out)[k]
    if gstrides is not None:
        if len(gstrides) != nd:
            raise ValueError("gstrides must have one entry per dimension of out")
        for k in range(nd):
            gstride[k] = gstrides[k]
        gptr = gstride
    if fi_layout_init(&L, nd, shape, ostride, gptr, <char *>cnp.PyArray_DATA(out), gbase) != FI_OK:
        raise ValueError("invalid layout")
    n = fi_layout_size(&L)
    if segment == 0:
        segment = n
    pos = 0
    while pos < n:
        end = pos + segment if n - pos > segment else n
        with nogil:
            rc = fi_fill(&p, &L, pos, end, nthreads, isa)
        if rc != FI_OK:
            break
        pos = end
        if pos < n:
            PyErr_CheckSignals()
    if rc == FI_EISA:
        raise RuntimeError(f"SIMD path {isa} is not available on this machine")
    if rc != FI_OK:
        raise ValueError(f"invalid fill request (kind={kind}, dtype={dtype})")


def philox(counter, key):
    """Philox4x32-10 of one 4-word counter under a 2-word key (the scalar C
    function, for known-answer tests)."""
    cdef uint32_t c[4]
    for i in range(4):
        c[i] = counter[i]
    fi_philox4x32_10(c, key[0], key[1])
    return [c[0], c[1], c[2], c[3]]


def advise_hugepages(size_t address, size_t nbytes):
    """madvise(MADV_HUGEPAGE) on the whole pages of a byte range (Linux; a
    hint).  Returns 0 or the errno the kernel answered."""
    return fi_advise_hugepages(<void *>address, nbytes)


def isa_compiled(int isa):
    return bool(fi_isa_compiled(isa))


def isa_supported(int isa):
    return bool(fi_isa_supported(isa))


def isa_vector_bits(int isa):
    """The vector width (bits) a path runs at on this CPU; 0 where it cannot
    run.  SVE's is the CPU's vector length."""
    return fi_isa_vector_bits(isa)


def threading():
    """How the core runs parallel fills: "openmp" (its runner thread leads an
    OpenMP team), "pthreads" (no OpenMP: its runner and helper threads of
    its own), "none" (one thread)."""
    return fi_threading().decode()


def openmp_version():
    """The _OPENMP date macro the core was compiled with, or 0 (serial build)."""
    return fi_openmp_enabled()


def openmp_max_threads():
    return fi_openmp_max_threads()


def openmp_set_threads(int n):
    fi_openmp_set_threads(n)


def compiler():
    return fi_compiler().decode()
