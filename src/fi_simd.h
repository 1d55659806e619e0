/*
 * Vector types and primitives at the width of the translation unit's target:
 * 64 bytes with AVX-512, 32 with AVX2, the vector length a fixed-length SVE
 * unit is compiled for (16, 32 or 64 bytes: -msve-vector-bits), else 16
 * (NEON, and the generic path).
 *
 * Kernels are written once on these types with GCC/Clang vector extensions
 * (+ - * on whole vectors, lane-wise and IEEE, never fused: the build uses
 * -ffp-contract=off).  The few operations the extensions lack have an
 * intrinsic per instruction set and a portable lane loop, which the generic
 * path uses: every path computes the same IEEE operations on every lane.
 *
 * On 64-bit Arm a unit says which path it is: FI_ARM_NEON (Advanced SIMD,
 * baseline on every aarch64 CPU) or FI_ARM_SVE (compiled with +sve and a
 * fixed -msve-vector-bits; it may run only where the CPU's vector length is
 * exactly that, which the engine checks).  Without either, an aarch64 unit
 * is the generic path: lane loops, whatever the compiler makes of them.
 */
#ifndef FASTINIT_SIMD_H
#define FASTINIT_SIMD_H

#include <stdint.h>
#include <string.h>

#include "philox.h"

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#if defined(FI_ARM_SVE)
#if !defined(__ARM_FEATURE_SVE) || !defined(__ARM_FEATURE_SVE_BITS) || __ARM_FEATURE_SVE_BITS == 0
#error "an SVE unit needs -march=...+sve and -msve-vector-bits=128|256|512"
#endif
#include <arm_neon.h>
#include <arm_sve.h>
#elif defined(FI_ARM_NEON)
#if !defined(__ARM_NEON)
#error "a NEON unit needs an aarch64 target"
#endif
#include <arm_neon.h>
#endif

#if defined(__AVX512F__)
#define FI_VB 64
#elif defined(FI_ARM_SVE)
#define FI_VB (__ARM_FEATURE_SVE_BITS / 8)
#elif defined(__AVX2__)
#define FI_VB 32
#else
#define FI_VB 16
#endif
#define FI_VW (FI_VB / 4) /* 32-bit lanes per vector */

#define FI_AI static inline __attribute__((always_inline))
#define FI_UNROLL _Pragma("GCC unroll 16")

typedef float fi_vf __attribute__((vector_size(FI_VB)));
typedef uint32_t fi_vu __attribute__((vector_size(FI_VB)));
typedef int32_t fi_vi __attribute__((vector_size(FI_VB)));

#if defined(FI_ARM_SVE)
/* The SVE types at this unit's fixed vector length: a GNU vector of FI_VB
 * bytes converts to and from them by a cast.  Every predicate is all-true:
 * the vector length is exactly FI_VB bytes where this code runs. */
typedef svuint32_t fi_sv_u __attribute__((arm_sve_vector_bits(__ARM_FEATURE_SVE_BITS)));
typedef svfloat32_t fi_sv_f __attribute__((arm_sve_vector_bits(__ARM_FEATURE_SVE_BITS)));
#define FI_SV_ALL svptrue_b32()
#endif

/* Every lane x.  (A scalar operand of a vector operation is broadcast: one
 * instruction.  A loop over the lanes became one masked broadcast per lane
 * with AVX-512.) */
FI_AI fi_vu fi_splat_u(uint32_t x) { return (fi_vu){0} + x; }

FI_AI fi_vf fi_splat_f(float x) /* by its bits: -0.0 stays -0.0 */
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return (fi_vf)fi_splat_u(u);
}

/* int32 lanes to float, round to nearest even (as a scalar conversion). */
FI_AI fi_vf fi_cvt(fi_vi x) { return __builtin_convertvector(x, fi_vf); }

/* Lane-wise select: m is -1 (take a) or 0 (take b), as comparisons give. */
FI_AI fi_vf fi_select(fi_vi m, fi_vf a, fi_vf b) { return (fi_vf)(((fi_vi)a & m) | ((fi_vi)b & ~m)); }

/* lo > x ? lo : x and hi < x ? hi : x, lane-wise: exactly what
 * fi_select(x < lo, lo, x) and fi_select(x > hi, hi, x) give (NaN and signed
 * zeros included: maxps/minps return their second operand unless the first
 * compares greater/less), in one instruction.  Arm's FMAX/FMIN differ
 * (FMAX(+0, -0) is +0, and a NaN operand wins), so NEON and SVE take the
 * select: a compare and a bit select. */
FI_AI fi_vf fi_clamp_lo(fi_vf x, fi_vf lo)
{
#if defined(__AVX512F__)
    return (fi_vf)_mm512_max_ps((__m512)lo, (__m512)x);
#elif defined(__AVX2__)
    return (fi_vf)_mm256_max_ps((__m256)lo, (__m256)x);
#elif defined(__SSE2__)
    return (fi_vf)_mm_max_ps((__m128)lo, (__m128)x);
#else
    return fi_select(x < lo, lo, x);
#endif
}

FI_AI fi_vf fi_clamp_hi(fi_vf x, fi_vf hi)
{
#if defined(__AVX512F__)
    return (fi_vf)_mm512_min_ps((__m512)hi, (__m512)x);
#elif defined(__AVX2__)
    return (fi_vf)_mm256_min_ps((__m256)hi, (__m256)x);
#elif defined(__SSE2__)
    return (fi_vf)_mm_min_ps((__m128)hi, (__m128)x);
#else
    return fi_select(x > hi, hi, x);
#endif
}

/* Whether any lane of a comparison mask is set. */
FI_AI int fi_any(fi_vi m)
{
#if defined(__AVX512F__)
    return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0;
#elif defined(FI_ARM_SVE)
    return svptest_any(FI_SV_ALL, svcmpne_n_u32(FI_SV_ALL, (fi_sv_u)m, 0));
#elif defined(FI_ARM_NEON)
    return vmaxvq_u32((uint32x4_t)m) != 0;
#elif defined(__AVX2__)
    return !_mm256_testz_si256((__m256i)m, (__m256i)m);
#elif defined(__SSE2__)
    return _mm_movemask_epi8((__m128i)m) != 0;
#else
    int32_t acc = 0;
    FI_UNROLL for (int i = 0; i < FI_VW; i++) acc |= m[i];
    return acc != 0;
#endif
}

/* Correctly rounded IEEE square root. */
FI_AI fi_vf fi_vsqrt(fi_vf x)
{
#if defined(__AVX512F__)
    return (fi_vf)_mm512_sqrt_ps((__m512)x);
#elif defined(FI_ARM_SVE)
    const fi_sv_f r = svsqrt_f32_x(FI_SV_ALL, (fi_sv_f)x); /* sizeless -> fixed length -> GNU vector */
    return (fi_vf)r;
#elif defined(FI_ARM_NEON)
    return (fi_vf)vsqrtq_f32((float32x4_t)x);
#elif defined(__AVX2__)
    return (fi_vf)_mm256_sqrt_ps((__m256)x);
#elif defined(__SSE2__)
    return (fi_vf)_mm_sqrt_ps((__m128)x);
#else
    fi_vf r;
    FI_UNROLL for (int i = 0; i < FI_VW; i++) r[i] = __builtin_sqrtf(x[i]);
    return r;
#endif
}

/* hi and lo 32 bits of the 64-bit products a * m, lane-wise. */
FI_AI void fi_mulhilo(fi_vu a, uint32_t m, fi_vu *hi, fi_vu *lo)
{
#if defined(__AVX512F__)
    /* the odd lanes reach the multiplier and the halves their places by
     * in-lane shuffles, not 64-bit shifts: on Intel cores 512-bit shifts and
     * multiplies share one port, shuffles use another */
    const __m512i M = _mm512_set1_epi64(m), A = (__m512i)a;
    __m512i pe = _mm512_mul_epu32(A, M), po = _mm512_mul_epu32(_mm512_shuffle_epi32(A, _MM_PERM_DDBB), M);
    *hi = (fi_vu)_mm512_mask_blend_epi32(0xAAAA, _mm512_shuffle_epi32(pe, _MM_PERM_DDBB), po);
    *lo = (fi_vu)_mm512_mask_blend_epi32(0xAAAA, pe, _mm512_shuffle_epi32(po, _MM_PERM_CCAA));
#elif defined(FI_ARM_SVE)
    /* UMULH gives the high halves directly; MUL the low ones */
    const fi_sv_u h = svmulh_n_u32_x(FI_SV_ALL, (fi_sv_u)a, m);
    *hi = (fi_vu)h;
    *lo = a * m;
#elif defined(FI_ARM_NEON)
    /* widening products of the low and high lane pairs, then the odd
     * (high) and even (low) 32-bit halves gathered */
    const uint32x4_t A = (uint32x4_t)a;
    uint32x4_t p01 = vreinterpretq_u32_u64(vmull_n_u32(vget_low_u32(A), m));
    uint32x4_t p23 = vreinterpretq_u32_u64(vmull_high_n_u32(A, m));
    *hi = (fi_vu)vuzp2q_u32(p01, p23);
    *lo = (fi_vu)vuzp1q_u32(p01, p23);
#elif defined(__AVX2__)
    const __m256i M = _mm256_set1_epi64x(m), A = (__m256i)a;
    __m256i pe = _mm256_mul_epu32(A, M), po = _mm256_mul_epu32(_mm256_srli_epi64(A, 32), M);
    *hi = (fi_vu)_mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    *lo = (fi_vu)_mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
#elif defined(__SSE2__)
    /* no blend in SSE2: gather the halves with shuffles and interleaves */
    const __m128i M = _mm_set1_epi64x(m), A = (__m128i)a;
    __m128i pe = _mm_mul_epu32(A, M), po = _mm_mul_epu32(_mm_srli_epi64(A, 32), M);
    *hi = (fi_vu)_mm_unpacklo_epi32(_mm_shuffle_epi32(pe, _MM_SHUFFLE(3, 1, 3, 1)),
                                    _mm_shuffle_epi32(po, _MM_SHUFFLE(3, 1, 3, 1)));
    *lo = (fi_vu)_mm_unpacklo_epi32(_mm_shuffle_epi32(pe, _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm_shuffle_epi32(po, _MM_SHUFFLE(2, 0, 2, 0)));
#else
    FI_UNROLL for (int i = 0; i < FI_VW; i++) {
        uint64_t p = (uint64_t)a[i] * m;
        (*hi)[i] = (uint32_t)(p >> 32);
        (*lo)[i] = (uint32_t)p;
    }
#endif
}

/* Store four vectors of "lane j = block j" words in block order:
 * dst[4j + k] = ck[j].  (A 4 x FI_VW transpose.) */
FI_AI void fi_store4(fi_vu c0, fi_vu c1, fi_vu c2, fi_vu c3, void *dst)
{
#if defined(__AVX512F__)
    __m512i t0 = _mm512_unpacklo_epi32((__m512i)c0, (__m512i)c1), t1 = _mm512_unpackhi_epi32((__m512i)c0, (__m512i)c1);
    __m512i t2 = _mm512_unpacklo_epi32((__m512i)c2, (__m512i)c3), t3 = _mm512_unpackhi_epi32((__m512i)c2, (__m512i)c3);
    __m512i a0 = _mm512_unpacklo_epi64(t0, t2), a1 = _mm512_unpackhi_epi64(t0, t2);
    __m512i a2 = _mm512_unpacklo_epi64(t1, t3), a3 = _mm512_unpackhi_epi64(t1, t3);
    __m512i s0 = _mm512_shuffle_i32x4(a0, a1, 0x44), s1 = _mm512_shuffle_i32x4(a2, a3, 0x44);
    __m512i s2 = _mm512_shuffle_i32x4(a0, a1, 0xEE), s3 = _mm512_shuffle_i32x4(a2, a3, 0xEE);
    char *o = dst;
    _mm512_storeu_si512(o, _mm512_shuffle_i32x4(s0, s1, 0x88));
    _mm512_storeu_si512(o + 64, _mm512_shuffle_i32x4(s0, s1, 0xDD));
    _mm512_storeu_si512(o + 128, _mm512_shuffle_i32x4(s2, s3, 0x88));
    _mm512_storeu_si512(o + 192, _mm512_shuffle_i32x4(s2, s3, 0xDD));
#elif defined(FI_ARM_SVE)
    svst4_u32(FI_SV_ALL, (uint32_t *)dst, svcreate4_u32((fi_sv_u)c0, (fi_sv_u)c1, (fi_sv_u)c2, (fi_sv_u)c3));
#elif defined(FI_ARM_NEON)
    /* ST4 stores four registers interleaved: exactly this transpose */
    const uint32x4x4_t c = {{(uint32x4_t)c0, (uint32x4_t)c1, (uint32x4_t)c2, (uint32x4_t)c3}};
    vst4q_u32((uint32_t *)dst, c);
#elif defined(__AVX2__)
    __m256i t0 = _mm256_unpacklo_epi32((__m256i)c0, (__m256i)c1), t1 = _mm256_unpackhi_epi32((__m256i)c0, (__m256i)c1);
    __m256i t2 = _mm256_unpacklo_epi32((__m256i)c2, (__m256i)c3), t3 = _mm256_unpackhi_epi32((__m256i)c2, (__m256i)c3);
    __m256i a0 = _mm256_unpacklo_epi64(t0, t2), a1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i a2 = _mm256_unpacklo_epi64(t1, t3), a3 = _mm256_unpackhi_epi64(t1, t3);
    char *o = dst;
    _mm256_storeu_si256((__m256i *)o, _mm256_permute2x128_si256(a0, a1, 0x20));
    _mm256_storeu_si256((__m256i *)(o + 32), _mm256_permute2x128_si256(a2, a3, 0x20));
    _mm256_storeu_si256((__m256i *)(o + 64), _mm256_permute2x128_si256(a0, a1, 0x31));
    _mm256_storeu_si256((__m256i *)(o + 96), _mm256_permute2x128_si256(a2, a3, 0x31));
#elif defined(__SSE2__)
    __m128i t0 = _mm_unpacklo_epi32((__m128i)c0, (__m128i)c1), t1 = _mm_unpackhi_epi32((__m128i)c0, (__m128i)c1);
    __m128i t2 = _mm_unpacklo_epi32((__m128i)c2, (__m128i)c3), t3 = _mm_unpackhi_epi32((__m128i)c2, (__m128i)c3);
    char *o = dst;
    _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi64(t0, t2));
    _mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi64(t0, t2));
    _mm_storeu_si128((__m128i *)(o + 32), _mm_unpacklo_epi64(t1, t3));
    _mm_storeu_si128((__m128i *)(o + 48), _mm_unpackhi_epi64(t1, t3));
#else
    uint32_t t[4 * FI_VW];
    FI_UNROLL for (int j = 0; j < FI_VW; j++) {
        t[4 * j] = c0[j];
        t[4 * j + 1] = c1[j];
        t[4 * j + 2] = c2[j];
        t[4 * j + 3] = c3[j];
    }
    memcpy(dst, t, sizeof t);
#endif
}

/* A non-temporal store of one vector to a FI_VB-aligned address (a plain
 * store where the target has none: on Arm, whose STNP takes register
 * pairs, too), and the fence that orders such stores before anything that
 * follows. */
FI_AI void fi_stream_store(void *dst, fi_vu v)
{
#if defined(__AVX512F__)
    _mm512_stream_si512(dst, (__m512i)v);
#elif defined(__AVX2__)
    _mm256_stream_si256(dst, (__m256i)v);
#elif defined(__SSE2__)
    _mm_stream_si128(dst, (__m128i)v);
#else
    memcpy(dst, &v, sizeof v);
#endif
}

FI_AI void fi_stream_fence(void)
{
#if defined(__SSE2__) || defined(__AVX2__) || defined(__AVX512F__)
    _mm_sfence();
#endif
}

/* ------------------------------------------------------------ vector Philox */

/* The ten round keys, broadcast once per kernel call. */
typedef struct fi_rkeys {
    fi_vu k[FI_PHILOX_ROUNDS][2];
} fi_rkeys;

FI_AI void fi_rkeys_init(fi_rkeys *K, uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < FI_PHILOX_ROUNDS; r++) {
        K->k[r][0] = fi_splat_u(k0 + (uint32_t)r * FI_PHILOX_W0);
        K->k[r][1] = fi_splat_u(k1 + (uint32_t)r * FI_PHILOX_W1);
    }
}

/* Philox4x32-10 of U independent counter vector sets c[u][0..3], in place;
 * the U sets interleave so their dependency chains overlap. */
FI_AI void fi_philox_v(int U, fi_vu c[][4], const fi_rkeys *K)
{
    FI_UNROLL for (int r = 0; r < FI_PHILOX_ROUNDS; r++) {
        FI_UNROLL for (int u = 0; u < U; u++) {
            fi_vu h0, l0, h1, l1;
            fi_mulhilo(c[u][0], FI_PHILOX_M0, &h0, &l0);
            fi_mulhilo(c[u][2], FI_PHILOX_M1, &h1, &l1);
            c[u][0] = h1 ^ c[u][1] ^ K->k[r][0];
            c[u][1] = l1;
            c[u][2] = h0 ^ c[u][3] ^ K->k[r][1];
            c[u][3] = l0;
        }
    }
}

/* Counters of U * FI_VW consecutive blocks from block b: set u, lane j is
 * block b + u * FI_VW + j (with the carry into the high word). */
FI_AI void fi_counters(int U, fi_vu c[][4], uint64_t b, uint64_t stream)
{
    fi_vu lane;
    FI_UNROLL for (int j = 0; j < FI_VW; j++) lane[j] = (uint32_t)j;
    FI_UNROLL for (int u = 0; u < U; u++) {
        uint64_t bu = b + (uint64_t)u * FI_VW;
        fi_vu lo = fi_splat_u((uint32_t)bu);
        c[u][0] = lo + lane;
        c[u][1] = fi_splat_u((uint32_t)(bu >> 32)) - (fi_vu)(c[u][0] < lo); /* +1 where it wrapped */
        c[u][2] = fi_splat_u((uint32_t)stream);
        c[u][3] = fi_splat_u((uint32_t)(stream >> 32));
    }
}

#endif /* FASTINIT_SIMD_H */
