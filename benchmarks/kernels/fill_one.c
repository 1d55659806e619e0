/* A one-thread fill through the C engine, without Python: best-of-R ns/value
 * and a hash of the bytes (equal across SIMD paths and builds).
 *   fill_one KIND ISA N [REPEAT [DTYPE]]   (kinds: src/fi_contract.h; ISAs: src/fi_core.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fi_core.h"
int main(int argc, char **argv) {
    int kind = atoi(argv[1]), isa = atoi(argv[2]); size_t n = strtoull(argv[3], 0, 0); int reps = argc > 4 ? atoi(argv[4]) : 1;
    int dtype = argc > 5 ? atoi(argv[5]) : FI_DT_F32;
    size_t isz = fi_itemsize(dtype);
    char *buf = aligned_alloc(4096, n * isz); memset(buf, 0, n * isz);
    fi_params p = {{1, 2}, 3, kind, dtype, 0, 0.0, 0.01, 0.3, 0.4, -1e30, 1e30};
    if (kind == FI_KIND_UNIFORM) { p.a = -0.1; p.b = 0.2; p.lo = -0.1; p.hi = 0.1; }
    int64_t shape[1] = {(int64_t)n}, os[1] = {(int64_t)isz};
    fi_layout L; fi_layout_init(&L, 1, shape, os, NULL, buf, 0);
    struct timespec t0, t1; double best = 1e9;
    for (int r = 0; r < reps; r++) { clock_gettime(CLOCK_MONOTONIC, &t0); if (fi_fill(&p, &L, 0, n, 1, isa) != FI_OK) { printf("kind %d isa %d: not available here\n", kind, isa); return 0; } clock_gettime(CLOCK_MONOTONIC, &t1);
      double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec); if (s < best) best = s; }
    unsigned h = 0; for (size_t i = 0; i < n * isz; i++) h = h * 31 + (unsigned char)buf[i];
    printf("kind %d isa %d n %zu: %.3f ns/value, %.0f Melem/s hash %08x\n", kind, isa, n, best * 1e9 / n, n / best / 1e6, h);
    return 0;
}
