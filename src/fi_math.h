/*
 * The transforms from Philox words to values.
 *
 * These functions *define* fastinit's values: every SIMD path computes
 * exactly these IEEE operations in exactly this order (the build uses
 * -ffp-contract=off, so no FMA is fused in), and the NumPy reference in
 * tests/reference.py mirrors them operation by operation.  Changing any
 * constant (fastinit/_contract/stream.toml, the only place they are
 * written; fi_contract.h is generated from it) or the order of any
 * operation changes the stream: bump the version there and the golden
 * hashes when you do.
 *
 * 32-bit outputs are computed in float32 on vectors (fi_simd.h); float64
 * outputs by scalar functions that the compiler vectorizes.  No libm: log,
 * sin and cos are our own polynomials and sqrt is the correctly rounded IEEE
 * square root, so results depend on neither the C library nor the CPU.
 */
#ifndef FASTINIT_MATH_H
#define FASTINIT_MATH_H

#include <stdint.h>
#include <string.h>

#include "fi_simd.h"

FI_AI uint32_t fi_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
FI_AI double fi_u2d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
FI_AI uint64_t fi_d2u(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

/* Correctly rounded IEEE square root without libm or errno. */
FI_AI double fi_sqrt(double x) { return __builtin_sqrt(x); }

/* ------------------------------------------------------- float32 vectors */

/* Uniform [0, 1): the top 24 bits of a word (NumPy's float32 convention). */
FI_AI fi_vf fi_v_unit(fi_vu u) { return fi_cvt((fi_vi)(u >> 8)) * 0x1p-24f; }

/* log(2^k (1 + f)) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: Cephes' logf
 * polynomial (about 1 ulp). */
FI_AI fi_vf fi_v_log_kf(fi_vf k, fi_vf f)
{
    fi_vf z = f * f;
    fi_vf y = FI_F32_LOG_0 * f + FI_F32_LOG_1;
    y = y * f + FI_F32_LOG_2;
    y = y * f + FI_F32_LOG_3;
    y = y * f + FI_F32_LOG_4;
    y = y * f + FI_F32_LOG_5;
    y = y * f + FI_F32_LOG_6;
    y = y * f + FI_F32_LOG_7;
    y = y * f + FI_F32_LOG_8;
    y = y * f * z;
    y = y + k * FI_F32_LN2_LO;
    y = y - 0.5f * z;
    fi_vf r = f + y;
    return r + k * FI_F32_LN2_HI;
}

/* x = 2^k m with m in [sqrt(1/2), sqrt(2)): k and f = m - 1 (exact). */
FI_AI void fi_v_log_reduce(fi_vf x, fi_vf *k, fi_vf *f)
{
    fi_vu ix = (fi_vu)x + (0x3f800000u - FI_F32_SQRT_HALF_BITS);
    *k = fi_cvt((fi_vi)(ix >> 23) - 0x7f);
    *f = (fi_vf)((ix & 0x007fffffu) + FI_F32_SQRT_HALF_BITS) - 1.0f;
}

/* Natural log for positive, normal x. */
FI_AI fi_vf fi_v_log(fi_vf x)
{
    fi_vf k, f;
    fi_v_log_reduce(x, &k, &f);
    return fi_v_log_kf(k, f);
}

/* An open-interval uniform from the top 31 bits of a word:
 * ((u >> 1) + 1/2) 2^-31, in (0, 1]. */
FI_AI fi_vf fi_v_unit31(fi_vu u) { return fi_cvt((fi_vi)(u >> 1)) * 0x1p-31f + 0x1p-32f; }

/* Box-Muller on a pair of words (u1, u2) = (word 2k, word 2k + 1), giving
 * elements 2k (z0 = r cos t) and 2k + 1 (z1 = r sin t):
 *   q = unit31(u1) in (0, 1] and r = sqrt(-2 log q) (r <= 6.67), where for
 *   q >= sqrt(1/2) the log polynomial gets f = -(1 - q) computed as
 *   -unit31(~u1), exact where float32 q cannot get closer to 1 than 2^-24,
 *   so small radii are not quantized;
 *   t = 2 pi u2 / 2^32, reduced exactly in integers to the nearest quarter
 *   turn j and an angle a in [-pi/4, pi/4); Cephes' sinf/cosf polynomials
 *   on a, then the quarter-turn rotation as swaps and sign flips. */
FI_AI void fi_v_box_muller(fi_vu u1, fi_vu u2, fi_vf *z0, fi_vf *z1)
{
    fi_vf k, f;
    fi_v_log_reduce(fi_v_unit31(u1), &k, &f);
    f = fi_select(k == 0.0f, -fi_v_unit31(~u1), f);
    fi_vf r = fi_vsqrt(fi_v_log_kf(k, f) * -2.0f);
    fi_vu v = u2 + 0x20000000u;
    fi_vu j = v >> 30;
    fi_vf a = fi_cvt((fi_vi)(v & 0x3fffffffu) - 0x20000000) * FI_F32_ANGLE_SCALE; /* pi / 2^31 */
    fi_vf a2 = a * a;
    fi_vf s = FI_F32_SIN_0 * a2 + FI_F32_SIN_1;
    s = s * a2 + FI_F32_SIN_2;
    s = s * a2 * a + a;
    fi_vf c = FI_F32_COS_0 * a2 + FI_F32_COS_1;
    c = c * a2 + FI_F32_COS_2;
    c = c * a2 * a2;
    c = c - 0.5f * a2 + 1.0f;
    fi_vi odd = -(fi_vi)(j & 1u);
    fi_vf x = fi_select(odd, s, c), y = fi_select(odd, c, s);
    *z0 = (fi_vf)((fi_vu)(r * x) ^ (((j + 1u) & 2u) << 30));
    *z1 = (fi_vf)((fi_vu)(r * y) ^ ((j & 2u) << 30));
}

/* Giles' single-precision erfinv ("Approximating the erfinv function", GPU
 * Computing Gems, 2011): central and tail polynomials in w. */
FI_AI fi_vf fi_v_erfinv_central(fi_vf w)
{
    fi_vf v = w - FI_F32_ERFINV_CENTRAL_SHIFT;
    fi_vf p = FI_F32_ERFINV_CENTRAL_0 * v + FI_F32_ERFINV_CENTRAL_1;
    p = p * v + FI_F32_ERFINV_CENTRAL_2;
    p = p * v + FI_F32_ERFINV_CENTRAL_3;
    p = p * v + FI_F32_ERFINV_CENTRAL_4;
    p = p * v + FI_F32_ERFINV_CENTRAL_5;
    p = p * v + FI_F32_ERFINV_CENTRAL_6;
    p = p * v + FI_F32_ERFINV_CENTRAL_7;
    return p * v + FI_F32_ERFINV_CENTRAL_8;
}

FI_AI fi_vf fi_v_erfinv_tail(fi_vf w)
{
    fi_vf v = fi_vsqrt(w) - FI_F32_ERFINV_TAIL_SHIFT;
    fi_vf p = FI_F32_ERFINV_TAIL_0 * v + FI_F32_ERFINV_TAIL_1;
    p = p * v + FI_F32_ERFINV_TAIL_2;
    p = p * v + FI_F32_ERFINV_TAIL_3;
    p = p * v + FI_F32_ERFINV_TAIL_4;
    p = p * v + FI_F32_ERFINV_TAIL_5;
    p = p * v + FI_F32_ERFINV_TAIL_6;
    p = p * v + FI_F32_ERFINV_TAIL_7;
    return p * v + FI_F32_ERFINV_TAIL_8;
}

/* The z > 0 with P(|Z| > z) = q, for q in (0, 1], is sqrt(2) erfinv(1 - q).
 * With Giles' w = -log((1 - x)(1 + x)) written as -log(q (2 - q)) small tail
 * probabilities keep their precision; the erfinv polynomial is the central
 * one for w < 5 and the tail one (q < 0.0034) for w >= 5.  Kernels compute
 * the tail polynomial only when some lane of a step needs it; a lane's value
 * is the same either way.  In three phases: */
FI_AI fi_vf fi_v_halfnormal_w(fi_vf q) { return -fi_v_log(q * (2.0f - q)); }

FI_AI fi_vi fi_v_halfnormal_needs_tail(fi_vf w) { return w >= FI_F32_ERFINV_TAIL_FROM; }

FI_AI fi_vf fi_v_halfnormal_finish(fi_vf p, fi_vf q) { return p * (1.0f - q) * FI_F32_SQRT2; }

/* Truncated normal by inverse CDF in float32, one word per element, for
 * windows of probability d >= 1/16 (the caller decides; smaller windows go
 * through fi_truncnorm_z_u32 in float64):
 *   x = unit31(u),  p = c + d x clamped to [2^-24, 1 - 2^-24] (the range
 *   where float32 p resolves probabilities and Giles' polynomials are
 *   accurate to a few ulp: |z| <= 5.3),
 *   z = p < 1/2 ? -halfnormal(2 p) : halfnormal(2 (1 - p))
 * (2 p and 1 - p are exact), so z = Phi^-1(p) for p in (Phi(alpha), Phi(beta)).
 * fi_v_truncnorm_q gives the q to take the half-normal of and the lanes
 * where z is negative; fi_v_negate_where applies that sign.  The caller
 * scales, shifts and clamps. */
FI_AI fi_vf fi_v_truncnorm_q(fi_vu u, fi_vf c, fi_vf d, fi_vi *lower)
{
    fi_vf p = c + d * fi_v_unit31(u);
    p = fi_select(p > 0x1.fffffep-1f, fi_splat_f(0x1.fffffep-1f), p);
    p = fi_select(p < 0x1p-24f, fi_splat_f(0x1p-24f), p);
    *lower = p < 0.5f;
    fi_vf om = 1.0f - p;
    return fi_select(*lower, p + p, om + om);
}

FI_AI fi_vf fi_v_negate_where(fi_vi m, fi_vf h) { return (fi_vf)((fi_vu)h ^ ((fi_vu)m & 0x80000000u)); }

/* --------------------------------------------------------- float64 scalars */

/* float64 in [0, 1): the top 53 bits of (hi << 32 | lo).  The 53-bit integer
 * is assembled from two exact int32 conversions so that it vectorizes. */
FI_AI double fi_unit_f64(uint32_t lo, uint32_t hi)
{
    double top = (double)(int32_t)(hi >> 5);                         /* 27 bits */
    double bot = (double)(int32_t)(((hi & 31u) << 21) | (lo >> 11)); /* 26 bits */
    return (top * 0x1p26 + bot) * 0x1p-53;
}

/* log(2^k (1 + f)) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: fdlibm's
 * polynomial in s = f / (2 + f) (below 1 ulp). */
FI_AI double fi_log_kf(double k, double f)
{
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double t1 = w * (FI_F64_LOG_1 + w * (FI_F64_LOG_3 + w * FI_F64_LOG_5));
    double t2 = z * (FI_F64_LOG_0 + w * (FI_F64_LOG_2 + w * (FI_F64_LOG_4 + w * FI_F64_LOG_6)));
    double R = t2 + t1;
    return s * (hfsq + R) + k * FI_F64_LN2_LO - hfsq + f + k * FI_F64_LN2_HI;
}

/* x = 2^k m with m in [sqrt(1/2), sqrt(2)): k (exactly, through the 2^52
 * magic number) and f = m - 1 (exact). */
FI_AI void fi_log_reduce(double x, double *k, double *f)
{
    uint64_t ix = fi_d2u(x) + (0x3ff0000000000000ull - FI_F64_SQRT_HALF_BITS);
    *k = fi_u2d((ix >> 52) | 0x4330000000000000ull) - (0x1p52 + 1023.0);
    *f = fi_u2d((ix & 0x000fffffffffffffull) + FI_F64_SQRT_HALF_BITS) - 1.0;
}

/* Natural log for positive, normal x. */
FI_AI double fi_log(double x)
{
    double k, f;
    fi_log_reduce(x, &k, &f);
    return fi_log_kf(k, f);
}

/* c7 r^7 + ... + c0 by Horner's rule, highest coefficient first. */
FI_AI double fi_poly7(double r, double c7, double c6, double c5, double c4, double c3, double c2,
                          double c1, double c0)
{
    double y = c7;
    y = y * r + c6;
    y = y * r + c5;
    y = y * r + c4;
    y = y * r + c3;
    y = y * r + c2;
    y = y * r + c1;
    return y * r + c0;
}

/* fi_poly7 of a coefficient table T_0 .. T_7 of fi_contract.h. */
#define FI_POLY7(r, T) fi_poly7(r, T##_0, T##_1, T##_2, T##_3, T##_4, T##_5, T##_6, T##_7)

/* -Phi^{-1}(p) for p in (0, 1/2]: Wichura's AS 241 (PPND16), about 1e-16
 * relative.  The central branch is (q * num) / den as AS 241 writes it. */
FI_AI double fi_ppnd_tail_f64(double p)
{
    double q = p - 0.5;
    if (q >= -FI_F64_PPND_SPLIT) {
        double r = FI_F64_PPND_SPLIT_SQ - q * q;
        double num = FI_POLY7(r, FI_F64_PPND_A);
        double den = FI_POLY7(r, FI_F64_PPND_B);
        return -(q * num / den);
    }
    double r = fi_sqrt(-fi_log(p));
    if (r <= FI_F64_PPND_TAIL_FROM) {
        r = r - FI_F64_PPND_MID_SHIFT;
        return FI_POLY7(r, FI_F64_PPND_C) / FI_POLY7(r, FI_F64_PPND_D);
    }
    r = r - FI_F64_PPND_TAIL_FROM;
    return FI_POLY7(r, FI_F64_PPND_E) / FI_POLY7(r, FI_F64_PPND_F);
}

/* An open-interval uniform from 53 bits of a word pair:
 * (top 53 bits of (hi << 32 | lo)) 2^-53 + 2^-54, in (0, 1]. */
FI_AI double fi_unit53(uint32_t lo, uint32_t hi) { return fi_unit_f64(lo, hi) + 0x1p-54; }

/* fdlibm's sin and cos kernels on [-pi/4, pi/4] (about 1 ulp). */
FI_AI double fi_sin_kernel(double x)
{
    double z = x * x;
    double v = z * x;
    double r = FI_F64_SIN_1 + z * (FI_F64_SIN_2 + z * (FI_F64_SIN_3 + z * (FI_F64_SIN_4 + z * FI_F64_SIN_5)));
    return x + v * (FI_F64_SIN_0 + z * r);
}

FI_AI double fi_cos_kernel(double x)
{
    double z = x * x;
    double r = z * (FI_F64_COS_0 + z * (FI_F64_COS_1 + z * (FI_F64_COS_2 + z * (FI_F64_COS_3 +
               z * (FI_F64_COS_4 + z * FI_F64_COS_5)))));
    double hz = 0.5 * z;
    double w = 1.0 - hz;
    return w + (((1.0 - w) - hz) + z * r);
}

/* Box-Muller for float64 on one Philox block (w0, w1, w2, w3), giving
 * elements 2k (z0 = r cos t) and 2k + 1 (z1 = r sin t) of block k:
 *   q = unit53(w0, w1) in (0, 1], r = sqrt(-2 log q), where for q >=
 *   sqrt(1/2) the log polynomial gets f = -(1 - q) computed as
 *   -unit53(~w0, ~w1) (float64 q cannot come closer to 1 than 2^-53);
 *   t = 2 pi (top 53 bits of (w3 << 32 | w2)) / 2^53, reduced exactly in
 *   integers to the nearest quarter turn j and an angle a in [-pi/4, pi/4)
 *   (51 bits); fdlibm's kernels on a, then the quarter-turn rotation. */
FI_AI void fi_box_muller_f64(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3, double *z0, double *z1)
{
    double k, f;
    fi_log_reduce(fi_unit53(w0, w1), &k, &f);
    f = k == 0.0 ? -fi_unit53(~w0, ~w1) : f;
    double r = fi_sqrt(fi_log_kf(k, f) * -2.0);
    uint32_t v = w3 + 0x20000000u;
    uint32_t j = v >> 30;
    /* the 51-bit signed remainder: 30 bits of v, then the top 21 of w2 */
    double rem = (double)((int32_t)(v & 0x3fffffffu) - 0x20000000) * 0x1p21 + (double)(int32_t)(w2 >> 11);
    double a = rem * FI_F64_ANGLE_SCALE; /* pi / 2^52 */
    double s = fi_sin_kernel(a), c = fi_cos_kernel(a);
    double x = (j & 1u) ? s : c, y = (j & 1u) ? c : s;
    *z0 = ((j + 1u) & 2u) ? -(r * x) : r * x;
    *z1 = (j & 2u) ? -(r * y) : r * y;
}

/* Truncated normal, float64: x = top 53 bits 2^-53 + 2^-54 in (0, 1],
 * p = min(c + d x, 1 - 2^-53), z = p < 1/2 ? -H(p) : H(1 - p) with
 * H(p) = -Phi^-1(p) (AS 241; 1 - p is exact for p >= 1/2). */
FI_AI double fi_truncnorm_z_f64(uint32_t lo, uint32_t hi, double c, double d)
{
    double p = c + d * (fi_unit_f64(lo, hi) + 0x1p-54);
    p = p > 0x1.fffffffffffffp-1 ? 0x1.fffffffffffffp-1 : p;
    return p < 0.5 ? -fi_ppnd_tail_f64(p) : fi_ppnd_tail_f64(1.0 - p);
}

/* Truncated normal of a 32-bit output in float64, from one word u (element
 * i uses word i): x = u 2^-32 + 2^-33 in (0, 1) (exact), p = min(c + d x,
 * 1 - 2^-53), z = p < 1/2 ? -H(p) : H(1 - p) with H(p) = -Phi^-1(p) (AS
 * 241).  For windows too narrow or too far out for float32 probabilities:
 * the window's resolution is then that of u, whatever its place. */
FI_AI double fi_truncnorm_z_u32(uint32_t u, double c, double d)
{
    double p = c + d * ((double)u * 0x1p-32 + 0x1p-33);
    p = p > 0x1.fffffffffffffp-1 ? 0x1.fffffffffffffp-1 : p;
    return p < 0.5 ? -fi_ppnd_tail_f64(p) : fi_ppnd_tail_f64(1.0 - p);
}

/* -------------------------------------------------------- half precision */

/* float32 -> bfloat16 bits, round to nearest even (inputs are never NaN). */
FI_AI uint16_t fi_f32_to_bf16(float f)
{
    uint32_t x = fi_f2u(f);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* float32 -> IEEE binary16 bits, round to nearest even, with subnormals,
 * overflow to infinity and NaN: what F16C's vcvtps2ph does. */
static inline uint16_t fi_f32_to_f16(float f)
{
    uint32_t x = fi_f2u(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf or NaN */
        return sign | (ax > 0x7f800000u ? (uint16_t)(0x7e00u | ((ax >> 13) & 0x3ffu)) : 0x7c00u);
    if (ax >= 0x477ff000u) /* rounds to 65520 or more */
        return sign | 0x7c00u;
    if (ax >= 0x38800000u) { /* a normal half */
        uint32_t r = ax - 0x38000000u;
        r += 0x0fffu + ((r >> 13) & 1u);
        return sign | (uint16_t)(r >> 13);
    }
    /* a subnormal half (or zero): round m 2^(e-150) to a multiple of 2^-24 */
    uint32_t e = ax >> 23;
    uint32_t shift = 126u - e;
    if (shift > 24u)
        return sign;
    uint32_t m = (ax & 0x007fffffu) | 0x00800000u;
    uint32_t qt = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (qt & 1u)))
        qt++;
    return sign | (uint16_t)qt;
}

#endif /* FASTINIT_MATH_H */
