/* An experiment, not shipped: Philox4x32-10 on AVX2 with each word in the
 * low half of a 64-bit lane (vpmuludq's own layout), so a round needs no
 * blends: 2 multiplies, 2 shifts and 4 XORs per 4 blocks, against 2 x 7 + 4
 * per 8 blocks for the shipped kernel (fi_mulhilo in src/fi_simd.h), at the
 * cost of half-empty vectors and a longer transpose.  Checks its words
 * against the scalar reference and prints the one-core rate of raw words
 * for G groups of 4 blocks per step; compare with
 *   fill_one 0 1 1048576 31 0   (benchmarks/kernels/fill_one.c: the shipped AVX2 raw words)
 *   gcc -O3 -march=x86-64-v3 -Isrc -DG=3 benchmarks/kernels/philox_lanes64.c -o /tmp/p64 && /tmp/p64
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "philox.h"
#ifndef G
#define G 3
#endif
#define AI static inline __attribute__((always_inline))
AI void step(uint64_t b, uint64_t stream, uint32_t k0, uint32_t k1, uint32_t *out) {
    __m256i c[G][4];
    const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
    for (int g = 0; g < G; g++) {
        __m256i cnt = _mm256_add_epi64(_mm256_set1_epi64x((long long)(b + 4 * g)), lane);
        c[g][0] = cnt; c[g][1] = _mm256_srli_epi64(cnt, 32);
        c[g][2] = _mm256_set1_epi32((int)(uint32_t)stream); c[g][3] = _mm256_set1_epi32((int)(uint32_t)(stream >> 32));
    }
    const __m256i M0 = _mm256_set1_epi32((int)FI_PHILOX_M0), M1 = _mm256_set1_epi32((int)FI_PHILOX_M1);
    for (int r = 0; r < 10; r++) {
        const __m256i K0 = _mm256_set1_epi32((int)(k0 + r * FI_PHILOX_W0)), K1 = _mm256_set1_epi32((int)(k1 + r * FI_PHILOX_W1));
        for (int g = 0; g < G; g++) {
            __m256i P0 = _mm256_mul_epu32(c[g][0], M0), P1 = _mm256_mul_epu32(c[g][2], M1);
            __m256i n0 = _mm256_xor_si256(_mm256_srli_epi64(P1, 32), _mm256_xor_si256(c[g][1], K0));
            __m256i n2 = _mm256_xor_si256(_mm256_srli_epi64(P0, 32), _mm256_xor_si256(c[g][3], K1));
            c[g][0] = n0; c[g][1] = P1; c[g][2] = n2; c[g][3] = P0;
        }
    }
    for (int g = 0; g < G; g++) {
        __m256i A = _mm256_blend_epi32(c[g][0], _mm256_slli_epi64(c[g][1], 32), 0xAA);
        __m256i B = _mm256_blend_epi32(c[g][2], _mm256_slli_epi64(c[g][3], 32), 0xAA);
        __m256i L = _mm256_unpacklo_epi64(A, B), H = _mm256_unpackhi_epi64(A, B);
        _mm256_storeu_si256((__m256i *)(out + 16 * g), _mm256_permute2x128_si256(L, H, 0x20));
        _mm256_storeu_si256((__m256i *)(out + 16 * g + 8), _mm256_permute2x128_si256(L, H, 0x31));
    }
}
int main(int argc, char **argv) {
    size_t n = (size_t)1 << 20; int reps = 31; uint32_t *buf = aligned_alloc(64, n * 4 + 64 * G);
    uint64_t stream = 0x123456789abcull; uint32_t k0 = 7, k1 = 9;
    double best = 1e9; struct timespec t0, t1;
    for (int r = 0; r < reps; r++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < n; i += 16 * G) step(i / 4, stream, k0, k1, buf + i);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec); if (s < best) best = s;
    }
    for (size_t blk = 0; blk < n / 4; blk += 4099) {
        uint32_t c[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
        fi_philox4x32_10(c, k0, k1);
        if (memcmp(c, buf + 4 * blk, 16)) { printf("MISMATCH at block %zu\n", blk); return 1; }
    }
    printf("G=%d raw words %.3f ns/word %.0f Mword/s\n", G, best * 1e9 / n, n / best / 1e6);
}
