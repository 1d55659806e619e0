/*
 * The fill engine: splits a fill into fixed blocks of the output's index
 * space, runs them on OpenMP threads (static schedule), walks strided N-d
 * layouts and calls the chosen SIMD path's kernel on contiguous runs.
 *
 * Each element's value is a pure function of its global index, so neither
 * the block size, the thread count nor the layout changes any value.
 */
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __linux__
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "fi_core.h"
#include "fi_kernels.h"

/* Elements per scheduling block: large enough that the walk's overhead
 * vanishes, small enough to balance the threads. */
#define FI_BLOCK 16384
/* Elements computed into a private tile before a strided scatter. */
#define FI_SCATTER_TILE 512
/* Global index steps up to this are served from the contiguous range that
 * covers them (|step| times the work, vectorized); larger ones element by
 * element. */
#define FI_GATHER_SPAN 16

static const fi_run_fn fi_runs[FI_ISA_COUNT] = {
    fi_run_generic,
#ifdef FI_HAVE_AVX2
    fi_run_avx2,
#else
    NULL,
#endif
#ifdef FI_HAVE_AVX512
    fi_run_avx512,
#else
    NULL,
#endif
};

static const char *const fi_isa_names[FI_ISA_COUNT] = {"generic", "avx2", "avx512"};

size_t fi_itemsize(int dtype)
{
    switch (dtype) {
    case FI_DT_U32:
    case FI_DT_F32:
        return 4;
    case FI_DT_F64:
        return 8;
    case FI_DT_F16:
    case FI_DT_BF16:
        return 2;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ layout */

int fi_layout_init(fi_layout *L, int ndim, const int64_t *shape, const int64_t *ostride,
                   const int64_t *gstride, char *data, uint64_t gbase)
{
    int64_t cstride[FI_MAXDIM];
    if (ndim < 0 || ndim > FI_MAXDIM)
        return FI_EINVAL;
    if (gstride == NULL) { /* C-order flat indices of shape */
        int64_t s = 1;
        for (int d = ndim - 1; d >= 0; d--) {
            cstride[d] = s;
            s *= shape[d];
        }
        gstride = cstride;
    }
    L->data = data;
    L->gbase = gbase;
    L->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return FI_EINVAL;
        if (shape[d] == 0) { /* empty: one dimension of length 0 */
            L->ndim = 1;
            L->shape[0] = 0;
            L->ostride[0] = L->gstride[0] = 0;
            return FI_OK;
        }
    }
    for (int d = 0; d < ndim; d++) {
        int k = L->ndim - 1;
        if (shape[d] == 1) /* index always 0: contributes nothing */
            continue;
        if (k >= 0 && L->ostride[k] == ostride[d] * shape[d] && L->gstride[k] == gstride[d] * shape[d]) {
            L->shape[k] *= shape[d]; /* merge with the previous dimension */
            L->ostride[k] = ostride[d];
            L->gstride[k] = gstride[d];
        } else {
            L->shape[k + 1] = shape[d];
            L->ostride[k + 1] = ostride[d];
            L->gstride[k + 1] = gstride[d];
            L->ndim++;
        }
    }
    if (L->ndim == 0) { /* a single element */
        L->ndim = 1;
        L->shape[0] = 1;
        L->ostride[0] = L->gstride[0] = 1;
    }
    return FI_OK;
}

uint64_t fi_layout_size(const fi_layout *L)
{
    uint64_t n = 1;
    for (int d = 0; d < L->ndim; d++)
        n *= (uint64_t)L->shape[d];
    return n;
}

/* --------------------------------------------------------------- the walk */

static void copy_strided(char *dst, int64_t ostride, const char *src, size_t n, size_t isz)
{
    switch (isz) {
    case 2:
        for (size_t j = 0; j < n; j++)
            memcpy(dst + (int64_t)j * ostride, src + 2 * j, 2);
        break;
    case 4:
        for (size_t j = 0; j < n; j++)
            memcpy(dst + (int64_t)j * ostride, src + 4 * j, 4);
        break;
    default:
        for (size_t j = 0; j < n; j++)
            memcpy(dst + (int64_t)j * ostride, src + isz * j, isz);
        break;
    }
}

/* n elements of one innermost run: global indices g + j * gs, at dst + j * os.
 * Kernels write whole aligned elements; anything else goes through a tile. */
static void write_run(const fi_params *p, fi_run_fn run, uint64_t g, int64_t gs, char *dst, int64_t os,
                      size_t n, size_t isz)
{
    union {
        double align;
        char bytes[FI_SCATTER_TILE * 8];
    } tile;
    if (gs == 1 && os == (int64_t)isz && (uintptr_t)dst % isz == 0) {
        run(p, g, n, dst);
    } else if (gs == 1) {
        for (size_t k = 0; k < n; k += FI_SCATTER_TILE) {
            size_t m = n - k < FI_SCATTER_TILE ? n - k : FI_SCATTER_TILE;
            run(p, g + k, m, tile.bytes);
            copy_strided(dst + (int64_t)k * os, os, tile.bytes, m, isz);
        }
    } else if (gs != 0 && gs >= -FI_GATHER_SPAN && gs <= FI_GATHER_SPAN) {
        /* a small step: compute the covering range, keep every |gs|-th value */
        const size_t a = (size_t)(gs < 0 ? -gs : gs);
        const size_t c_max = (FI_SCATTER_TILE - 1) / a + 1;
        for (size_t k = 0; k < n; k += c_max) {
            size_t c = n - k < c_max ? n - k : c_max;
            uint64_t lowest = g + (uint64_t)(gs > 0 ? k : k + c - 1) * (uint64_t)gs;
            run(p, lowest, (c - 1) * a + 1, tile.bytes);
            for (size_t j = 0; j < c; j++) {
                size_t from = (gs > 0 ? j : c - 1 - j) * a;
                memcpy(dst + (int64_t)(k + j) * os, tile.bytes + from * isz, isz);
            }
        }
    } else { /* global indices far apart: one element at a time */
        for (size_t j = 0; j < n; j++) {
            run(p, g + (uint64_t)j * (uint64_t)gs, 1, tile.bytes);
            memcpy(dst + (int64_t)j * os, tile.bytes, isz);
        }
    }
}

/* Elements [lo, hi) of the layout's C-order index space. */
static void fill_range(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi, fi_run_fn run,
                       size_t isz)
{
    const int last = L->ndim - 1;
    int64_t idx[FI_MAXDIM];
    uint64_t g = L->gbase, rem = lo;
    int64_t o = 0;
    for (int d = last; d >= 0; d--) {
        idx[d] = (int64_t)(rem % (uint64_t)L->shape[d]);
        rem /= (uint64_t)L->shape[d];
        g += (uint64_t)idx[d] * (uint64_t)L->gstride[d];
        o += idx[d] * L->ostride[d];
    }
    const int64_t len = L->shape[last], gs = L->gstride[last], os = L->ostride[last];
    uint64_t pos = lo;
    while (pos < hi) {
        uint64_t n = (uint64_t)(len - idx[last]);
        if (n > hi - pos)
            n = hi - pos;
        write_run(p, run, g, gs, L->data + o, os, (size_t)n, isz);
        pos += n;
        if (pos >= hi)
            break;
        /* the run ended at the end of the innermost dimension: carry */
        g -= (uint64_t)idx[last] * (uint64_t)gs;
        o -= idx[last] * os;
        idx[last] = 0;
        for (int d = last - 1; d >= 0; d--) {
            idx[d]++;
            g += (uint64_t)L->gstride[d];
            o += L->ostride[d];
            if (idx[d] < L->shape[d])
                break;
            g -= (uint64_t)idx[d] * (uint64_t)L->gstride[d];
            o -= idx[d] * L->ostride[d];
            idx[d] = 0;
        }
    }
}

int fi_fill(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi, int nthreads, int isa)
{
    size_t isz = fi_itemsize(p->dtype);
    if (isz == 0 || p->kind < 0 || p->kind >= FI_KIND_COUNT || (p->kind == FI_KIND_RAW) != (p->dtype == FI_DT_U32))
        return FI_EINVAL;
    if (p->kind == FI_KIND_TRUNCNORM_F64 && (p->dtype == FI_DT_F64 || p->dtype == FI_DT_U32))
        return FI_EINVAL; /* a 32-bit output's float64 path */
    if (!fi_isa_supported(isa))
        return FI_EISA;
    if (hi > fi_layout_size(L))
        return FI_EINVAL;
    if (hi <= lo)
        return FI_OK;
    const fi_run_fn run = fi_runs[isa];
    const uint64_t n = hi - lo;
    const int64_t nblocks = (int64_t)((n + FI_BLOCK - 1) / FI_BLOCK);
    if (nthreads > nblocks)
        nthreads = (int)nblocks;
    if (nthreads <= 1) { /* no thread team for small fills */
        fill_range(p, L, lo, hi, run, isz);
        return FI_OK;
    }
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t b = 0; b < nblocks; b++) {
        uint64_t b_lo = lo + (uint64_t)b * FI_BLOCK;
        uint64_t b_hi = hi - b_lo > FI_BLOCK ? b_lo + FI_BLOCK : hi;
        fill_range(p, L, b_lo, b_hi, run, isz);
    }
    return FI_OK;
}

/* -------------------------------------------------------------- memory */

int fi_advise_hugepages(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi <= lo)
        return 0;
    return madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0 ? 0 : errno;
#else
    (void)p;
    (void)n;
    return 0;
#endif
}

/* ------------------------------------------------------------ machine facts */

int fi_isa_compiled(int isa)
{
    return isa >= 0 && isa < FI_ISA_COUNT && fi_runs[isa] != NULL;
}

int fi_isa_supported(int isa)
{
    if (!fi_isa_compiled(isa))
        return 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (isa == FI_ISA_AVX2)
        return __builtin_cpu_supports("x86-64-v3") != 0;
    if (isa == FI_ISA_AVX512)
        return __builtin_cpu_supports("x86-64-v4") != 0;
#endif
    return isa == FI_ISA_GENERIC;
}

const char *fi_isa_name(int isa)
{
    return isa >= 0 && isa < FI_ISA_COUNT ? fi_isa_names[isa] : "unknown";
}

int fi_openmp_enabled(void)
{
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}

int fi_openmp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void fi_openmp_set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

const char *fi_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}
