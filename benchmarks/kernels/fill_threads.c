/* A parallel fill through the C engine, without Python: median and best
 * Melem/s of R fills of N float32 values on T threads (in 2^24-element
 * segments, as the Python layer calls the engine), and a hash of the bytes
 * (equal for every thread count).
 *   fill_threads KIND N R T     (kinds: src/fi_contract.h; the AVX2 path)
 * Build (the shipped flags, kernels compiled for their paths):
 *   F="-O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -Isrc"
 *   gcc $F -c src/fi_kernels_generic.c -o /tmp/g.o
 *   gcc $F -DFI_HAVE_AVX2 -march=x86-64-v3 -c src/fi_kernels_avx2.c -o /tmp/avx2.o
 *   gcc $F -fopenmp -DFI_HAVE_AVX2 benchmarks/kernels/fill_threads.c src/fi_engine.c \
 *       /tmp/g.o /tmp/avx2.o -o /tmp/fill_threads */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fi_core.h"

static int by_time(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: fill_threads KIND N REPEAT THREADS\n");
        return 2;
    }
    int kind = atoi(argv[1]), reps = atoi(argv[3]), threads = atoi(argv[4]);
    size_t n = strtoull(argv[2], 0, 0);
    if (reps < 1 || reps > 64)
        reps = 64;
    float *buf = aligned_alloc(4096, (n * 4 + 4095) / 4096 * 4096);
    memset(buf, 0, n * 4);
    fi_params p = {{1, 2}, 3, kind, FI_DT_F32, 0, 0.0, 0.01, 0.3, 0.4, -1e30, 1e30};
    if (kind == FI_KIND_UNIFORM) {
        p.a = -0.1; p.b = 0.2; p.lo = -0.1; p.hi = 0.1;
    }
    int64_t shape[1] = {(int64_t)n}, os[1] = {4};
    fi_layout L;
    fi_layout_init(&L, 1, shape, os, NULL, (char *)buf, 0);
    double ts[64];
    struct timespec t0, t1;
    for (int r = 0; r < reps; r++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t s = 0; s < n; s += (size_t)1 << 24)
            fi_fill(&p, &L, s, s + ((size_t)1 << 24) < n ? s + ((size_t)1 << 24) : n, threads, FI_ISA_AVX2);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ts[r] = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    }
    qsort(ts, reps, sizeof ts[0], by_time);
    unsigned h = 0;
    for (size_t i = 0; i < n * 4; i++)
        h = h * 31 + ((unsigned char *)buf)[i];
    printf("kind %d threads %d: median %.0f Melem/s (best %.0f) hash %08x\n", kind, threads, n / ts[reps / 2] / 1e6,
           n / ts[0] / 1e6, h);
    return 0;
}
