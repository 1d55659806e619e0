/*
 * The fill engine: splits a fill into fixed blocks of the output's index
 * space, deals chunks of them to the threads (each its contiguous share
 * first, then whatever the others have not yet taken, so a thread slowed by
 * other work on its CPU holds no one up), walks strided N-d layouts and
 * calls the chosen SIMD path's kernel on contiguous runs.
 *
 * Each element's value is a pure function of its global index, so neither
 * the block size, the thread count nor the layout changes any value.
 */
#include <stdint.h>
#include <string.h>

/* Parallel fills need threads of the engine's own (see "parallel fills"):
 * POSIX threads, with an OpenMP team where OpenMP is built in. */
#if defined(_OPENMP) || defined(__unix__) || defined(__APPLE__)
#define FI_RUNNERS 1
#endif

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef FI_RUNNERS
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif
#endif
#ifdef __linux__
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif
#endif

#include "fi_core.h"
#include "fi_kernels.h"

/* FI_BLOCK (fi_contract.h): elements per scheduling block (threads take
 * chunks of whole blocks), large enough that the walk's overhead vanishes. */
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
#ifdef FI_HAVE_NEON
    fi_run_neon,
#else
    NULL,
#endif
    NULL, /* FI_ISA_SVE: the unit of the CPU's vector length, fi_sve_run() */
};

static const char *const fi_isa_names[FI_ISA_COUNT] = {"generic", "avx2", "avx512", "neon", "sve"};

#ifdef FI_HAVE_SVE
/* The SVE unit compiled for the calling thread's vector length, or NULL
 * (no SVE, or a length no unit is compiled for).  Read on every fill: a
 * fixed-length unit run at another length would compute wrong values, and
 * a thread may change its length (prctl PR_SVE_SET_VL).  The engine's
 * threads inherit the length of the thread that started them, recorded in
 * its runner; a parallel fill whose caller now runs another length fills
 * serially (fi_parallel_fill). */
static fi_run_fn fi_sve_run(void)
{
#if defined(__linux__) && defined(HWCAP_SVE)
    if (!(getauxval(AT_HWCAP) & HWCAP_SVE))
        return NULL;
    switch (fi_sve_vector_bytes()) {
    case 16:
        return fi_run_sve128;
    case 32:
        return fi_run_sve256;
    case 64:
        return fi_run_sve512;
    default:
        return NULL;
    }
#else
    return NULL;
#endif
}
#endif

static fi_run_fn fi_run_of(int isa); /* machine facts, below */

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

/* ------------------------------------------------------- parallel fills
 *
 * A parallel fill never opens an OpenMP team on the calling thread.  The
 * calling thread fills alongside a "runner", a thread of fastinit's own
 * (one per calling thread, created at its first parallel fill), which works
 * alone for two threads, else as the master of an OpenMP team of
 * nthreads - 1 (without OpenMP, with nthreads - 2 helper threads of its
 * own, started at its first fill that needs them and kept).  Each thread has a share of the blocks, in chunks: the
 * contiguous run a static split would give it, so that the pages it touches
 * first are its own; when its share is done it takes the chunks still
 * untaken in the others' (one atomic counter a share).
 *
 * Why: libgomp keeps a thread pool per master thread, and after fork(2) the
 * child's copy of the forking thread still points at the parent's pool,
 * whose threads do not exist in the child; its next parallel region waits
 * for them forever.  That happens whoever ran OpenMP in the parent (torch,
 * an OpenMP BLAS, scikit-learn: one libgomp.so.1 serves them all), and even
 * when fastinit was first loaded after the fork.  A runner created in this
 * process has never been a master anywhere else, so its pool is always this
 * process's own.  A pthread_atfork child handler forgets the runners a child
 * inherits (their threads did not survive the fork), so forked children get
 * fresh ones and fill on all their threads.
 *
 * The calling thread works instead of waiting, so no core idles and no
 * thread spins while the others compute; a thread that loses its CPU for a
 * while (a busy or shared machine) leaves its chunks to the others.  The
 * hand-off is a flag the runner polls for a while after each fill (then
 * sleeps on a futex; elsewhere than Linux it yields).
 * A runner blocks every signal (so do the OpenMP threads or helpers it
 * starts, which inherit its mask), so Ctrl-C reaches the thread that
 * handles it, and it exits, with its helpers, when its calling thread
 * exits (a thread-specific destructor). */

#ifdef FI_RUNNERS
/* Polls of a hand-off word before sleeping on it (the runner after a fill:
 * the next one often follows at once; the caller after its share: the
 * runner's ends about when its own does). */
#define FI_SPIN_RUNNER 4000
#define FI_SPIN_CALLER 8000
/* Blocks per chunk of work at most. */
#define FI_CHUNK_MAX 32
#if defined(__x86_64__) || defined(__i386__)
#define FI_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define FI_PAUSE() __asm__ __volatile__("yield" ::: "memory")
#else
#define FI_PAUSE() __asm__ __volatile__("" ::: "memory")
#endif

/* Sleep while *w == v (or not: spurious wake-ups are fine), and wake the
 * sleepers on w: a futex on Linux; elsewhere (or built with
 * FI_PORTABLE_WAIT, which the tests use to run this code on Linux) one
 * process-wide mutex and condition variable, *w read under the mutex, so a
 * waker that changes *w before it broadcasts cannot be missed. */
#if defined(__linux__) && !defined(FI_PORTABLE_WAIT)
static void word_wait(uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void word_wake(uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void word_reset_after_fork(void) {}
#else
static pthread_mutex_t fi_word_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fi_word_cond = PTHREAD_COND_INITIALIZER;

static void word_wait(uint32_t *w, uint32_t v)
{
    pthread_mutex_lock(&fi_word_mutex);
    while (__atomic_load_n(w, __ATOMIC_SEQ_CST) == v)
        pthread_cond_wait(&fi_word_cond, &fi_word_mutex);
    pthread_mutex_unlock(&fi_word_mutex);
}

static void word_wake(uint32_t *w)
{
    (void)w;
    pthread_mutex_lock(&fi_word_mutex); /* a sleeper between its check and its wait holds it */
    pthread_cond_broadcast(&fi_word_cond);
    pthread_mutex_unlock(&fi_word_mutex);
}

/* A forked child has only the forking thread: the mutex may have been held
 * by another one at the fork. */
static void word_reset_after_fork(void)
{
    pthread_mutex_init(&fi_word_mutex, NULL);
    pthread_cond_init(&fi_word_cond, NULL);
}
#endif

/* Wait until *w != v: poll `spin` times, then sleep (announcing it in
 * *sleeping, which the waker reads after changing *w). */
static void await_change(uint32_t *w, uint32_t v, uint32_t *sleeping, int spin)
{
    for (int i = 0; i < spin; i++) {
        if (__atomic_load_n(w, __ATOMIC_ACQUIRE) != v)
            return;
        if (i % 64 == 63) /* the other side may be waiting for this CPU */
            sched_yield();
        else
            FI_PAUSE();
    }
    for (;;) {
        __atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(w, __ATOMIC_SEQ_CST) != v)
            break;
        word_wait(w, v);
        if (__atomic_load_n(w, __ATOMIC_ACQUIRE) != v)
            break;
    }
    __atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
}

static void publish(uint32_t *w, uint32_t v, uint32_t *sleeping)
{
    __atomic_store_n(w, v, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(sleeping, __ATOMIC_SEQ_CST))
        word_wake(w);
}

/* A thread's share of a parallel fill: chunks [next, end); each share on a
 * cache line of its own.  Its owner takes them from the front; a thread done
 * with its own share takes the next chunks of the others'. */
typedef struct {
    int64_t next, end;
} __attribute__((aligned(64))) fi_share;

typedef struct fi_runner {
    pthread_t thread;
    struct fi_runner *work; /* the runner whose posted work this one does: itself, or (a helper) its runner's */
    int me;                 /* a helper's share */
#ifndef _OPENMP
    struct fi_runner **helpers; /* started so far */
    int nhelpers;
    int helpers_refused; /* the system refused one: no more are tried */
#endif
#ifdef FI_HAVE_SVE
    int sve_bytes; /* the SVE vector length its threads run at (they inherit the caller's at creation) */
#endif
    uint32_t posted, done;                  /* sequence numbers of work posted and finished */
    uint32_t runner_sleeps, caller_sleeps;  /* set while that side sleeps */
    int quit;
    /* the posted work: blocks of FI_BLOCK elements from lo, up to hi, in
     * chunks of `chunk` blocks, dealt out in nthreads shares */
    const fi_params *p;
    const fi_layout *L;
    uint64_t lo, hi;
    int64_t nblocks, chunk;
    int nthreads;
    fi_share *shares;
    int nshares_max; /* shares allocated */
    fi_run_fn run;
    size_t isz;
} fi_runner;

static __thread fi_runner *fi_my_runner;
static pthread_key_t fi_runner_key;
static int fi_runner_key_ok;

static void fill_blocks(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi, int64_t b0,
                        int64_t b1, fi_run_fn run, size_t isz)
{
    uint64_t a = lo + (uint64_t)b0 * FI_BLOCK;
    uint64_t e = hi - lo > (uint64_t)b1 * FI_BLOCK ? lo + (uint64_t)b1 * FI_BLOCK : hi;
    fill_range(p, L, a, e, run, isz);
}

/* Thread `me` takes the chunks of its own share, then those left in the
 * others', until none is left. */
static void take_chunks(fi_runner *R, int me)
{
    for (int k = 0; k < R->nthreads; k++) {
        fi_share *s = &R->shares[(me + k) % R->nthreads];
        if (__atomic_load_n(&s->next, __ATOMIC_RELAXED) >= s->end)
            continue; /* taken already: no write to its line */
        for (;;) {
            int64_t c = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED);
            if (c >= s->end)
                break;
            int64_t b = c * R->chunk;
            fill_blocks(R->p, R->L, R->lo, R->hi, b, b + R->chunk < R->nblocks ? b + R->chunk : R->nblocks, R->run,
                        R->isz);
        }
    }
}

static void *runner_main(void *arg);

#ifndef _OPENMP
/* Start helpers until R has `want` (fewer where the system refuses a
 * thread or memory: the others then take their shares' chunks, and no
 * helper is tried again).  Called on the runner's thread at the start of a
 * fill that needs more helpers than it has (the caller is already working
 * on its share), so a helper inherits the runner's signal mask (every
 * signal blocked) and SVE vector length. */
static void helpers_ensure(fi_runner *R, int want)
{
    if (R->nhelpers >= want || R->helpers_refused)
        return;
    fi_runner **hs = realloc(R->helpers, (size_t)want * sizeof *hs);
    if (hs == NULL) {
        R->helpers_refused = 1;
        return;
    }
    R->helpers = hs;
    while (R->nhelpers < want) {
        fi_runner *H = calloc(1, sizeof *H);
        if (H != NULL) {
            H->work = R;
            H->me = R->nhelpers + 1; /* the runner has share 0 */
        }
        if (H == NULL || pthread_create(&H->thread, NULL, runner_main, H) != 0) {
            free(H);
            R->helpers_refused = 1;
            return;
        }
        R->helpers[R->nhelpers++] = H;
    }
}
#endif

/* The runner's threads: shares 0 .. nthreads - 2 (the caller has the last). */
static void runner_work(fi_runner *R)
{
    if (R->nthreads <= 2) {
        take_chunks(R, 0);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(R->nthreads - 1)
    take_chunks(R, omp_get_thread_num());
#else
    helpers_ensure(R, R->nthreads - 2);
    const int n = R->nhelpers < R->nthreads - 2 ? R->nhelpers : R->nthreads - 2;
    for (int k = 0; k < n; k++) {
        fi_runner *H = R->helpers[k];
        publish(&H->posted, H->posted + 1, &H->runner_sleeps);
    }
    take_chunks(R, 0);
    for (int k = 0; k < n; k++) {
        fi_runner *H = R->helpers[k];
        await_change(&H->done, H->posted - 1, &H->caller_sleeps, FI_SPIN_CALLER);
    }
#endif
}

static void *runner_main(void *arg)
{
    fi_runner *R = arg;
    uint32_t seen = 0;
    for (;;) {
        await_change(&R->posted, seen, &R->runner_sleeps, FI_SPIN_RUNNER);
        seen = __atomic_load_n(&R->posted, __ATOMIC_ACQUIRE);
        if (R->quit)
            return NULL;
        if (R->work == R)
            runner_work(R);
        else
            take_chunks(R->work, R->me); /* a helper */
        publish(&R->done, seen, &R->caller_sleeps);
    }
}

/* The calling thread exits: so does its runner. */
static void runner_destroy(void *arg)
{
    fi_runner *R = arg;
    R->quit = 1;
    publish(&R->posted, R->posted + 1, &R->runner_sleeps);
    pthread_join(R->thread, NULL);
#ifndef _OPENMP
    for (int k = 0; k < R->nhelpers; k++)
        runner_destroy(R->helpers[k]);
    free(R->helpers);
#endif
    free(R->shares);
    free(R);
}

/* In a forked child: the runners of the parent's threads are gone (their
 * memory is left alone). */
static void runner_after_fork_child(void)
{
    word_reset_after_fork();
    fi_my_runner = NULL;
    if (fi_runner_key_ok)
        pthread_setspecific(fi_runner_key, NULL);
}

__attribute__((constructor)) static void runner_at_load(void)
{
    fi_runner_key_ok = pthread_key_create(&fi_runner_key, runner_destroy) == 0;
    pthread_atfork(NULL, NULL, runner_after_fork_child);
}

static fi_runner *runner_get(void)
{
    if (fi_my_runner != NULL || !fi_runner_key_ok)
        return fi_my_runner;
    fi_runner *R = calloc(1, sizeof *R);
    if (R == NULL)
        return NULL;
    R->work = R;
#ifdef FI_HAVE_SVE
    R->sve_bytes = fi_sve_run() != NULL ? fi_sve_vector_bytes() : 0;
#endif
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the runner inherits this mask */
    int rc = pthread_create(&R->thread, NULL, runner_main, R);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(R);
        return NULL;
    }
    if (pthread_setspecific(fi_runner_key, R) != 0) {
        runner_destroy(R); /* no destructor would stop it: stop it now */
        return NULL;
    }
    fi_my_runner = R;
    return R;
}

/* Fill [lo, hi) on nthreads threads; 0 where it cannot (then the caller
 * fills serially). */
static int fi_parallel_fill(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi, int nthreads,
                            fi_run_fn run, size_t isz, int sve_bytes)
{
#ifdef _OPENMP
    if (omp_in_parallel()) /* inside the caller's own team: no nested team */
        return 0;
#endif
    fi_runner *R = runner_get();
    if (R == NULL)
        return 0;
#ifdef FI_HAVE_SVE
    if (sve_bytes != 0 && R->sve_bytes != sve_bytes)
        return 0; /* the caller changed its vector length since its runner started: its threads run another */
#else
    (void)sve_bytes;
#endif
    const int64_t nblocks = (int64_t)((hi - lo + FI_BLOCK - 1) / FI_BLOCK);
    if (R->nshares_max < nthreads) {
        fi_share *sh = aligned_alloc(sizeof(fi_share), (size_t)nthreads * sizeof(fi_share));
        if (sh == NULL)
            return 0;
        free(R->shares);
        R->shares = sh;
        R->nshares_max = nthreads;
    }
    /* at least about 8 chunks a thread, at most FI_CHUNK_MAX blocks each;
     * thread t's share is the t-th run of them (the pages a static split
     * would give it, so first touch is as local), and a thread that falls
     * behind leaves the rest of its share to the others */
    int64_t chunk = nblocks / (8 * (int64_t)nthreads);
    chunk = chunk < 1 ? 1 : chunk > FI_CHUNK_MAX ? FI_CHUNK_MAX : chunk;
    const int64_t nchunks = (nblocks + chunk - 1) / chunk;
    const int64_t q = nchunks / nthreads, r = nchunks % nthreads;
    for (int t = 0; t < nthreads; t++) {
        R->shares[t].next = t * q + (t < r ? t : r);
        R->shares[t].end = R->shares[t].next + q + (t < r);
    }
    R->p = p;
    R->L = L;
    R->lo = lo;
    R->hi = hi;
    R->nblocks = nblocks;
    R->chunk = chunk;
    R->nthreads = nthreads;
    R->run = run;
    R->isz = isz;
    const uint32_t seq = R->posted + 1;
    publish(&R->posted, seq, &R->runner_sleeps);
    take_chunks(R, nthreads - 1);
    await_change(&R->done, seq - 1, &R->caller_sleeps, FI_SPIN_CALLER);
    return 1;
}
#else
static int fi_parallel_fill(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi, int nthreads,
                            fi_run_fn run, size_t isz, int sve_bytes)
{
    (void)p, (void)L, (void)lo, (void)hi, (void)nthreads, (void)run, (void)isz, (void)sve_bytes;
    return 0;
}
#endif

int fi_fill(const fi_params *p, const fi_layout *L, uint64_t lo, uint64_t hi, int nthreads, int isa)
{
    size_t isz = fi_itemsize(p->dtype);
    if (isz == 0 || p->kind < 0 || p->kind >= FI_KIND_COUNT || (p->kind == FI_KIND_RAW) != (p->dtype == FI_DT_U32))
        return FI_EINVAL;
    if (p->kind == FI_KIND_TRUNCNORM_F64 && (p->dtype == FI_DT_F64 || p->dtype == FI_DT_U32))
        return FI_EINVAL; /* a 32-bit output's float64 path */
    const fi_run_fn run = fi_run_of(isa);
    if (run == NULL)
        return FI_EISA;
    if (hi > fi_layout_size(L))
        return FI_EINVAL;
    if (hi <= lo)
        return FI_OK;
    const uint64_t n = hi - lo;
    const int64_t nblocks = (int64_t)((n + FI_BLOCK - 1) / FI_BLOCK);
    if (nthreads > nblocks)
        nthreads = (int)nblocks;
    int sve_bytes = 0; /* the vector length an SVE unit was chosen for */
#ifdef FI_HAVE_SVE
    if (isa == FI_ISA_SVE)
        sve_bytes = fi_sve_vector_bytes();
#endif
    if (nthreads <= 1 || !fi_parallel_fill(p, L, lo, hi, nthreads, run, isz, sve_bytes))
        fill_range(p, L, lo, hi, run, isz); /* no thread team for small fills */
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

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#ifdef __APPLE__
#include <sys/sysctl.h>
#endif
/* The x86-64 level (2, 3 or 4) this CPU and OS run, read from CPUID and
 * XGETBV: every feature the -march=x86-64-v3 / -v4 units may use, and the
 * OS saving the AVX (and AVX-512) registers.  (Not __builtin_cpu_supports:
 * clang 14 rejects the level names and the f16c, movbe and lzcnt feature
 * names; clang 19 and GCC 12 accept them.) */
static int fi_x86_level(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 2;
    const unsigned c1 = c;
    const int fma = c1 >> 12 & 1, movbe = c1 >> 22 & 1, osxsave = c1 >> 27 & 1, avx = c1 >> 28 & 1,
              f16c = c1 >> 29 & 1;
    if (!(fma && movbe && osxsave && avx && f16c))
        return 2;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 0x6) != 0x6) /* XMM and YMM state */
        return 2;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 2;
    const unsigned b7 = b;
    if (!(__get_cpuid(0x80000001u, &a, &b, &c, &d) && (c >> 5 & 1))) /* LZCNT */
        return 2;
    if (!((b7 >> 3 & 1) && (b7 >> 5 & 1) && (b7 >> 8 & 1))) /* BMI1, AVX2, BMI2 */
        return 2;
    const unsigned avx512 = 1u << 16 | 1u << 17 | 1u << 28 | 1u << 30 | 1u << 31; /* F, DQ, CD, BW, VL */
    if ((b7 & avx512) != avx512)
        return 3;
#ifdef __APPLE__
    /* macOS enables a thread's AVX-512 state at its first AVX-512
     * instruction, so XCR0 does not show it yet: the kernel says instead */
    static const char *const keys[] = {"hw.optional.avx512f", "hw.optional.avx512dq", "hw.optional.avx512cd",
                                       "hw.optional.avx512bw", "hw.optional.avx512vl"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        int on = 0;
        size_t len = sizeof on;
        if (sysctlbyname(keys[i], &on, &len, NULL, 0) != 0 || !on)
            return 3;
    }
    return 4;
#else
    return (xlo & 0xE0) == 0xE0 ? 4 : 3; /* opmask and ZMM state */
#endif
}
#endif

int fi_isa_compiled(int isa)
{
#ifdef FI_HAVE_SVE
    if (isa == FI_ISA_SVE)
        return 1;
#endif
    return isa >= 0 && isa < FI_ISA_COUNT && fi_runs[isa] != NULL;
}

/* The kernel this build and CPU run for a path, or NULL. */
static fi_run_fn fi_run_of(int isa)
{
    if (isa < 0 || isa >= FI_ISA_COUNT)
        return NULL;
#ifdef FI_HAVE_SVE
    if (isa == FI_ISA_SVE)
        return fi_sve_run();
#endif
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    if (isa == FI_ISA_AVX2 || isa == FI_ISA_AVX512) {
        /* read once (CPUID is slow, a VM exit under a hypervisor) and kept:
         * it cannot change; two threads computing it at once store the same */
        static int level;
        int lv = __atomic_load_n(&level, __ATOMIC_RELAXED);
        if (lv == 0) {
            lv = fi_x86_level();
            __atomic_store_n(&level, lv, __ATOMIC_RELAXED);
        }
        if (lv < (isa == FI_ISA_AVX2 ? 3 : 4))
            return NULL;
    }
#endif
    return fi_runs[isa]; /* generic everywhere, NEON on every aarch64 CPU: baseline */
}

int fi_isa_supported(int isa)
{
    return fi_run_of(isa) != NULL;
}

int fi_isa_vector_bits(int isa)
{
    if (!fi_isa_supported(isa))
        return 0;
    switch (isa) {
    case FI_ISA_AVX2:
        return 256;
    case FI_ISA_AVX512:
        return 512;
#ifdef FI_HAVE_SVE
    case FI_ISA_SVE:
        return 8 * fi_sve_vector_bytes();
#endif
    default: /* generic, NEON */
        return 128;
    }
}

const char *fi_isa_name(int isa)
{
    return isa >= 0 && isa < FI_ISA_COUNT ? fi_isa_names[isa] : "unknown";
}

const char *fi_threading(void)
{
#if defined(_OPENMP)
    return "openmp";
#elif defined(FI_RUNNERS)
    return "pthreads";
#else
    return "none";
#endif
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
