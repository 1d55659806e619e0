/*
 * Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy
 * as 1, 2, 3", SC'11; Random123), as plain static inline C.
 *
 * fastinit's stream contract addresses one 128-bit block per
 * (key, stream, block index):
 *
 *     counter = (block & 0xffffffff, block >> 32, stream & 0xffffffff, stream >> 32)
 *
 * and word w of a stream is lane w % 4 of block w / 4.  Everything here is
 * pure integer arithmetic: identical on every CPU and every compiler.
 */
#ifndef FASTINIT_PHILOX_H
#define FASTINIT_PHILOX_H

#include <stdint.h>

#include "fi_contract.h" /* FI_PHILOX_M0, M1, W0, W1, ROUNDS */

/* One round: {hi(M1*c2)^c1^k0, lo(M1*c2), hi(M0*c0)^c3^k1, lo(M0*c0)}. */
static inline void fi_philox_round(uint32_t c[4], uint32_t k0, uint32_t k1)
{
    uint64_t p0 = (uint64_t)FI_PHILOX_M0 * c[0];
    uint64_t p1 = (uint64_t)FI_PHILOX_M1 * c[2];
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c[0] = n0;
    c[1] = n1;
    c[2] = n2;
    c[3] = n3;
}

/* Philox4x32-10 of a counter under a key, in place. */
static inline void fi_philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < FI_PHILOX_ROUNDS; r++) {
        if (r > 0) {
            k0 += FI_PHILOX_W0;
            k1 += FI_PHILOX_W1;
        }
        fi_philox_round(c, k0, k1);
    }
}

#endif /* FASTINIT_PHILOX_H */
