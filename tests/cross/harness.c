/*
 * A C harness for the core alone (no Python): it fills requests read from a
 * file on one SIMD path and writes each output's bytes to a file, so that
 * builds for different processors (x86-64 natively, aarch64 under qemu) can
 * be compared byte for byte.  tests/cross/aarch64.sh drives it.
 *
 *   fi_harness --paths                    the paths this build and CPU run,
 *                                         as name:vector-bits
 *   fi_harness PATH --kat FILE            Philox4x32-10 known answers
 *   fi_harness PATH --idle T              CPU time the process uses while
 *                                         idle after a fill on T threads
 *                                         (the engine's threads must sleep)
 *   fi_harness PATH REQUESTS OUTDIR [T]   fill each request, write
 *                                         OUTDIR/NNNN.bin; with T > 1 also
 *                                         on T threads, which must agree
 *
 * A request is one line of whitespace-separated fields ('#' starts a
 * comment line):
 *   kind dtype key0 key1 stream a b c d lo hi gbase ndim shape[ndim]
 *   gstride (C, or ndim integers) order (C or F: the output's memory order)
 * kind and dtype are the contract's codes (fi_contract.h); the parameters
 * are decimal doubles (17 significant digits round-trip exactly).
 *
 * FI_HARNESS_SVE_VL=BYTES (aarch64 Linux, with T > 1): after the first
 * request filled on several threads the calling thread sets its SVE vector
 * length to BYTES (prctl), so the later requests run at another length
 * than the engine's threads started with.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#if defined(__linux__) && defined(__aarch64__)
#include <sys/prctl.h>
#endif
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "fi_core.h"

static int isa_of(const char *name)
{
    for (int i = 0; i < FI_ISA_COUNT; i++)
        if (strcmp(name, fi_isa_name(i)) == 0)
            return i;
    return -1;
}

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "fi_harness: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 2;
}

/* Known answers, two formats (tests/data):
 * - philox4x32_10_kat.txt, "c0 c1 c2 c3 k0 k1 r0 r1 r2 r3" in hex: counter
 *   (c0, c1, c2, c3) is block c0 + 2^32 c1 of stream c2 + 2^32 c3, so the
 *   raw words of elements 4 b .. 4 b + 3 are the answer, checked alone and
 *   inside a fill that starts up to two blocks earlier.  Blocks from 2^62 on lie
 *   beyond a 64-bit element index: those rows are counted, not filled.
 * - philox_stream_kat.txt, "k0 k1 stream start w..." in hex: the raw words
 *   from element `start` on. */
static int run_kat(int isa, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fail("cannot open", path);
    static char line[1 << 16];
    static uint32_t out[4096], want[4096];
    int checked = 0, beyond = 0;
    long bad = 0, words = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        uint64_t v[4100];
        int nv = 0;
        for (char *t = strtok(line, " \t\r\n"); t != NULL && nv < 4100; t = strtok(NULL, " \t\r\n"))
            v[nv++] = strtoull(t, NULL, 16);
        if (nv < 5)
            continue;
        fi_params p;
        memset(&p, 0, sizeof p);
        p.kind = FI_KIND_RAW;
        p.dtype = FI_DT_U32;
        uint64_t start;
        int64_t n;
        if (nv == 10) { /* a Random123 row */
            const uint64_t block = v[0] | v[1] << 32;
            if (block >> 62) {
                beyond++;
                continue;
            }
            p.key[0] = (uint32_t)v[4];
            p.key[1] = (uint32_t)v[5];
            p.stream = v[2] | v[3] << 32;
            start = 4 * (block >= 2 ? block - 2 : 0);
            n = (int64_t)(4 * block - start) + 4;
            for (int k = 0; k < 4; k++)
                want[n - 4 + k] = (uint32_t)v[6 + k];
        } else { /* a stream row */
            p.key[0] = (uint32_t)v[0];
            p.key[1] = (uint32_t)v[1];
            p.stream = v[2];
            start = v[3];
            n = nv - 4;
            for (int64_t k = 0; k < n; k++)
                want[k] = (uint32_t)v[4 + k];
        }
        /* the whole run, then its last four words alone */
        for (int part = 0; part < 2; part++) {
            const uint64_t s = part ? start + (uint64_t)n - 4 : start;
            int64_t m = part ? 4 : n, ostride = 4;
            fi_layout L;
            if (fi_layout_init(&L, 1, &m, &ostride, NULL, (char *)out, s) != FI_OK ||
                fi_fill(&p, &L, 0, (uint64_t)m, 1, isa) != FI_OK)
                return fail("fill failed on a known answer", NULL);
            const int64_t first = nv == 10 && !part ? n - 4 : 0; /* a Random123 row knows its last block only */
            for (int64_t k = first; k < m; k++, words++)
                bad += out[k] != want[part ? n - 4 + k : k];
        }
        checked++;
    }
    fclose(f);
    if (checked == 0)
        return fail("no known answers in", path);
    printf("%s: %s: %d known answers (%ld words), %ld wrong; %d beyond a 64-bit element index\n", fi_isa_name(isa),
           path, checked, words, bad, beyond);
    return bad ? 1 : 0;
}

typedef struct {
    fi_params p;
    uint64_t gbase;
    int ndim;
    int64_t shape[FI_MAXDIM], gstride[FI_MAXDIM];
    int has_gstride;
    char order;
} request;

/* One request line; 0 on success. */
static int parse(char *line, request *r)
{
    memset(r, 0, sizeof *r);
    char *tok[8 + 4 * FI_MAXDIM + 8];
    int nt = 0;
    for (char *t = strtok(line, " \t\r\n"); t != NULL && nt < (int)(sizeof tok / sizeof *tok); t = strtok(NULL, " \t\r\n"))
        tok[nt++] = t;
    if (nt < 14)
        return 1;
    r->p.kind = atoi(tok[0]);
    r->p.dtype = atoi(tok[1]);
    r->p.key[0] = (uint32_t)strtoul(tok[2], NULL, 0);
    r->p.key[1] = (uint32_t)strtoul(tok[3], NULL, 0);
    r->p.stream = strtoull(tok[4], NULL, 0);
    r->p.a = strtod(tok[5], NULL);
    r->p.b = strtod(tok[6], NULL);
    r->p.c = strtod(tok[7], NULL);
    r->p.d = strtod(tok[8], NULL);
    r->p.lo = strtod(tok[9], NULL);
    r->p.hi = strtod(tok[10], NULL);
    r->gbase = strtoull(tok[11], NULL, 0);
    r->ndim = atoi(tok[12]);
    if (r->ndim < 0 || r->ndim > FI_MAXDIM)
        return 1;
    int i = 13;
    if (nt < i + r->ndim + 2)
        return 1;
    for (int d = 0; d < r->ndim; d++)
        r->shape[d] = strtoll(tok[i++], NULL, 0);
    if (strcmp(tok[i], "C") == 0) {
        i++;
    } else {
        if (nt < i + r->ndim + 1)
            return 1;
        r->has_gstride = 1;
        for (int d = 0; d < r->ndim; d++)
            r->gstride[d] = strtoll(tok[i++], NULL, 0);
    }
    r->order = tok[i][0];
    return r->order == 'C' || r->order == 'F' ? 0 : 1;
}

/* Fill request r into buf (its size bytes) on nthreads threads. */
static int fill(const request *r, char *buf, int nthreads, int isa)
{
    const size_t isz = fi_itemsize(r->p.dtype);
    int64_t ostride[FI_MAXDIM];
    int64_t step = (int64_t)isz;
    for (int k = 0; k < r->ndim; k++) { /* C order: last dimension fastest; F: first */
        int d = r->order == 'C' ? r->ndim - 1 - k : k;
        ostride[d] = step;
        step *= r->shape[d];
    }
    fi_layout L;
    if (fi_layout_init(&L, r->ndim, r->shape, ostride, r->has_gstride ? r->gstride : NULL, buf, r->gbase) != FI_OK)
        return FI_EINVAL;
    return fi_fill(&r->p, &L, 0, fi_layout_size(&L), nthreads, isa);
}

static int run_requests(int isa, const char *path, const char *outdir, int threads)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fail("cannot open", path);
    char line[4096];
    int n = 0, vl_set = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
            continue;
        request r;
        if (parse(line, &r) != 0)
            return fail("bad request line", NULL);
        size_t count = 1;
        for (int d = 0; d < r.ndim; d++)
            count *= (size_t)r.shape[d];
        const size_t isz = fi_itemsize(r.p.dtype), bytes = count * (isz ? isz : 1);
        char *a = malloc(bytes ? bytes : 1), *b = malloc(bytes ? bytes : 1);
        if (a == NULL || b == NULL)
            return fail("out of memory", NULL);
        memset(a, 0xA5, bytes); /* bytes a fill fails to write show up in the comparison */
        int rc = fill(&r, a, 1, isa);
        if (rc != FI_OK) {
            char msg[64];
            snprintf(msg, sizeof msg, "request %d: error %d", n, rc);
            return fail(msg, NULL);
        }
        if (threads > 1) {
            memset(b, 0x5A, bytes);
            if (fill(&r, b, threads, isa) != FI_OK || memcmp(a, b, bytes) != 0) {
                char msg[64];
                snprintf(msg, sizeof msg, "request %d differs on %d threads", n, threads);
                return fail(msg, NULL);
            }
        }
        char name[4096];
        snprintf(name, sizeof name, "%s/%04d.bin", outdir, n);
        FILE *o = fopen(name, "wb");
        if (o == NULL || fwrite(a, 1, bytes, o) != bytes || fclose(o) != 0)
            return fail("cannot write", name);
        free(a);
        free(b);
        n++;
        const char *vl = getenv("FI_HARNESS_SVE_VL");
        if (!vl_set && threads > 1 && count >= 2 * (size_t)FI_BLOCK && vl != NULL && *vl) {
            vl_set = 1; /* after the first parallel fill: its threads run at the old length */
#if defined(PR_SVE_SET_VL)
            if (prctl(PR_SVE_SET_VL, atol(vl)) < 0)
                return fail("prctl(PR_SVE_SET_VL) refused", vl);
#else
            return fail("FI_HARNESS_SVE_VL: no SVE vector length to set on this target", NULL);
#endif
        }
    }
    fclose(f);
    printf("%s: %d requests filled%s\n", fi_isa_name(isa), n, threads > 1 ? ", threads agree" : "");
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

static void sleep_seconds(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) != 0) {
    }
}

/* Fill 40 engine blocks on `threads` threads, let the threads settle for
 * 0.3 s, then print the CPU seconds the whole process uses in the next
 * 0.5 s, in which it does nothing. */
static int run_idle(int isa, int threads)
{
    fi_params p;
    memset(&p, 0, sizeof p);
    p.kind = FI_KIND_RAW;
    p.dtype = FI_DT_U32;
    int64_t n = 40 * (int64_t)FI_BLOCK, ostride = 4;
    uint32_t *buf = malloc((size_t)n * 4);
    fi_layout L;
    if (buf == NULL || fi_layout_init(&L, 1, &n, &ostride, NULL, (char *)buf, 0) != FI_OK)
        return fail("idle: setup failed", NULL);
    for (int k = 0; k < 3; k++)
        if (fi_fill(&p, &L, 0, (uint64_t)n, threads, isa) != FI_OK)
            return fail("idle: fill failed", NULL);
    sleep_seconds(0.3);
    const double before = cpu_seconds();
    sleep_seconds(0.5);
    printf("%.4f\n", cpu_seconds() - before);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--paths") == 0) {
        for (int i = 0; i < FI_ISA_COUNT; i++)
            if (fi_isa_supported(i))
                printf("%s%s:%d", i ? " " : "", fi_isa_name(i), fi_isa_vector_bits(i));
        printf("\n");
        return 0;
    }
    if (argc < 4)
        return fail("usage: fi_harness --paths | PATH --kat FILE | PATH REQUESTS OUTDIR [THREADS]", NULL);
    const int isa = isa_of(argv[1]);
    if (isa < 0 || !fi_isa_supported(isa))
        return fail("path not available here", argv[1]);
    if (strcmp(argv[2], "--kat") == 0)
        return run_kat(isa, argv[3]);
    if (strcmp(argv[2], "--idle") == 0)
        return run_idle(isa, atoi(argv[3]));
    return run_requests(isa, argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 1);
}
