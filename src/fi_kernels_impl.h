/*
 * The body of every SIMD path (see fi_kernels.h).  Included once per path
 * with FI_RUN_NAME defined; everything but FI_RUN_NAME is static, so each
 * translation unit gets its own copy compiled for its instruction set.
 *
 * 32-bit outputs (words, float32, float16, bfloat16) go in steps of FI_U
 * groups of FI_VW Philox blocks: counters, ten rounds, the transform and a
 * transpose to element order all stay in registers.  float64 outputs go
 * through a small buffer of words and a scalar transform the compiler
 * vectorizes.
 */
#ifndef FI_RUN_NAME
#error "define FI_RUN_NAME before including fi_kernels_impl.h"
#endif

#include <string.h>

#include "fi_kernels.h"
#include "fi_math.h"
#include "fi_simd.h"
#include "philox.h"

/* Groups per step: enough independent Philox blocks to hide the multiply
 * latency, few enough to stay in registers (32 vector registers with
 * AVX-512, 16 otherwise).  llvm-mca cycles per value, 32-bit kinds
 * (benchmarks/PERFORMANCE.md): AVX-512 best at 3-4 (4 divides the engine's
 * block), AVX2 at 3-4 though 4 spills. */
#if defined(FI_U_OVERRIDE) /* benchmarks/kernels/counts.sh -DFI_U_OVERRIDE=n tries other widths */
#define FI_U FI_U_OVERRIDE
#elif defined(__AVX512F__)
#define FI_U 4
#elif defined(__AVX2__)
#define FI_U 4
#elif defined(FI_ARM_NEON) || defined(FI_ARM_SVE)
#define FI_U 4 /* 32 vector registers */
#else
#define FI_U 2
#endif
#define FI_GROUP (4 * FI_VW)     /* elements of a 32-bit output per group */
#define FI_STEP (FI_U * FI_GROUP) /* ... per step */

#define FI_ALIGN __attribute__((aligned(64)))

/* The float parameters of a 32-bit kind. */
typedef struct {
    float a, b, c, d, lo, hi;
} tf_params;

/* Elements [4 b, 4 b + U FI_GROUP) of a 32-bit kind, in element order, to
 * out (4-byte elements: words or float32). */
FI_AI void step32(int U, int kind, const fi_rkeys *K, uint64_t stream, uint64_t b, const tf_params *t,
                  void *out)
{
    fi_vu c[FI_U][4];
    fi_counters(U, c, b, stream);
    fi_philox_v(U, c, K);
    if (kind == FI_KIND_RAW) {
        FI_UNROLL for (int u = 0; u < U; u++) fi_store4(c[u][0], c[u][1], c[u][2], c[u][3], (char *)out + 4 * FI_GROUP * u);
        return;
    }
    fi_vf z[FI_U][4];
    if (kind == FI_KIND_UNIFORM) {
        const fi_vf lo = fi_splat_f(t->lo), hi = fi_splat_f(t->hi);
        FI_UNROLL for (int u = 0; u < U; u++) {
            FI_UNROLL for (int k = 0; k < 4; k++) {
                fi_vf v = t->a + t->b * fi_v_unit(c[u][k]);
                z[u][k] = fi_clamp_hi(fi_clamp_lo(v, lo), hi);
            }
        }
    } else if (kind == FI_KIND_TRUNCNORM) {
        /* in phases over the 4 vectors of a group, so that one branch per
         * group decides whether any lane needs the erfinv tail polynomial */
        const fi_vf cv = fi_splat_f(t->c), dv = fi_splat_f(t->d);
        const fi_vf lo = fi_splat_f(t->lo), hi = fi_splat_f(t->hi);
        FI_UNROLL for (int u = 0; u < U; u++) {
            fi_vf q[4], w[4];
            fi_vi lower[4], tail = {0};
            FI_UNROLL for (int k = 0; k < 4; k++) {
                q[k] = fi_v_truncnorm_q(c[u][k], cv, dv, &lower[k]);
                w[k] = fi_v_halfnormal_w(q[k]);
                z[u][k] = fi_v_erfinv_central(w[k]);
                tail |= fi_v_halfnormal_needs_tail(w[k]);
            }
            if (fi_any(tail)) {
                FI_UNROLL for (int k = 0; k < 4; k++)
                    z[u][k] = fi_select(fi_v_halfnormal_needs_tail(w[k]), fi_v_erfinv_tail(w[k]), z[u][k]);
            }
            FI_UNROLL for (int k = 0; k < 4; k++) {
                fi_vf v = t->a + t->b * fi_v_negate_where(lower[k], fi_v_halfnormal_finish(z[u][k], q[k]));
                v = fi_select(v < lo, lo, v);
                z[u][k] = fi_select(v > hi, hi, v);
            }
        }
    } else { /* FI_KIND_NORMAL: Box-Muller on word pairs (0, 1) and (2, 3) of each block */
        FI_UNROLL for (int u = 0; u < U; u++) {
            fi_v_box_muller(c[u][0], c[u][1], &z[u][0], &z[u][1]);
            fi_v_box_muller(c[u][2], c[u][3], &z[u][2], &z[u][3]);
        }
        FI_UNROLL for (int u = 0; u < U; u++) FI_UNROLL for (int k = 0; k < 4; k++) z[u][k] = t->a + t->b * z[u][k];
    }
    FI_UNROLL for (int u = 0; u < U; u++)
        fi_store4((fi_vu)z[u][0], (fi_vu)z[u][1], (fi_vu)z[u][2], (fi_vu)z[u][3], (char *)out + 4 * FI_GROUP * u);
}

/* ------------------------------------------------------ half-precision store */

/* float32 -> bfloat16 with fi_f32_to_bf16's rounding, FI_VW at a time
 * (the auto-vectorized narrowing ran at half this speed). */
static void store_bf16(const float *restrict src, uint16_t *restrict dst, size_t m)
{
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= m; i += 16) {
        __m512i x = _mm512_loadu_si512(src + i);
        __m512i odd = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
        x = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), odd), 16);
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtepi32_epi16(x));
    }
#elif defined(__AVX2__)
    for (; i + 16 <= m; i += 16) {
        __m256i r[2];
        for (int h = 0; h < 2; h++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(src + i + 8 * h));
            __m256i odd = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
            r[h] = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), odd), 16);
        }
        /* packus interleaves the 128-bit halves; the permute restores order */
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xD8));
    }
#elif defined(FI_ARM_NEON) || defined(FI_ARM_SVE)
    /* (every SVE CPU has NEON too) */
    const uint32x4_t bias = vdupq_n_u32(0x7fffu), one = vdupq_n_u32(1u);
    for (; i + 8 <= m; i += 8) {
        uint32x4_t r[2];
        for (int h = 0; h < 2; h++) {
            uint32x4_t x = vld1q_u32((const uint32_t *)(src + i + 4 * h));
            r[h] = vaddq_u32(vaddq_u32(x, bias), vandq_u32(vshrq_n_u32(x, 16), one));
        }
        /* the high halves of the 32-bit lanes are the odd 16-bit lanes */
        vst1q_u16(dst + i, vuzp2q_u16(vreinterpretq_u16_u32(r[0]), vreinterpretq_u16_u32(r[1])));
    }
#endif
    for (; i < m; i++)
        dst[i] = fi_f32_to_bf16(src[i]);
}

static void store_f16(const float *restrict src, uint16_t *restrict dst, size_t m)
{
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= m; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
#if defined(__F16C__)
    for (; i + 8 <= m; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif defined(FI_ARM_NEON) || defined(FI_ARM_SVE)
    /* FCVTN rounds by FPCR: to nearest even, subnormals kept (the defaults
     * every thread starts with on Linux and macOS) */
    for (; i + 8 <= m; i += 8) {
        float16x8_t h = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(src + i)), vld1q_f32(src + i + 4));
        vst1q_u16(dst + i, vreinterpretq_u16_f16(h));
    }
#endif
    for (; i < m; i++)
        dst[i] = fi_f32_to_f16(src[i]);
}

/* ------------------------------------------------------------ 32-bit kinds */

/* Global elements [g, g + n) of a 32-bit kind into dst, whose element type
 * is p->dtype.  Whole steps inside the range of a 4-byte type are written
 * in place; the rest goes through a tile. */
FI_AI void run32(const fi_params *p, int kind, uint64_t g, size_t n, char *dst)
{
    const int dt = p->dtype;
    const size_t isz = dt == FI_DT_F16 || dt == FI_DT_BF16 ? 2 : 4;
    const tf_params t = {(float)p->a, (float)p->b, (float)p->c, (float)p->d, (float)p->lo, (float)p->hi};
    fi_rkeys K;
    fi_rkeys_init(&K, p->key[0], p->key[1]);
    uint32_t tile[FI_STEP] FI_ALIGN;
    uint64_t b = g >> 2;           /* first block */
    size_t skip = (size_t)(g & 3u); /* elements of that block before g */
    while (n > 0) {
        /* a whole step where it fits, else one group at a time (one call
         * site each: the step is large, and two copies of it cost more in
         * instruction fetch than they could gain) */
        const int whole = skip == 0 && n >= FI_STEP;
        const size_t take = whole ? FI_STEP : (FI_GROUP - skip < n ? FI_GROUP - skip : n);
        const size_t groups = whole ? FI_U : 1;
        void *target = whole && isz == 4 ? (void *)dst : (void *)tile;
        if (whole)
            step32(FI_U, kind, &K, p->stream, b, &t, target);
        else
            step32(1, kind, &K, p->stream, b, &t, target);
        if (isz == 4 && target == tile)
            memcpy(dst, tile + skip, take * 4);
        if (isz == 2) {
            if (dt == FI_DT_BF16)
                store_bf16((const float *)tile + skip, (uint16_t *)dst, take);
            else
                store_f16((const float *)tile + skip, (uint16_t *)dst, take);
        }
        dst += take * isz;
        n -= take;
        b += groups * FI_VW;
        skip = 0;
    }
}

/* ------------------------------------------------------------------ float64 */

/* Words of blocks [b, b + nb) into w, nb a multiple of FI_VW. */
static void philox_words(const fi_rkeys *K, uint64_t stream, uint64_t b, size_t nb, uint32_t *w)
{
    for (size_t i = 0; i < nb; i += FI_VW) {
        fi_vu c[1][4];
        fi_counters(1, c, b + i, stream);
        fi_philox_v(1, c, K);
        fi_store4(c[0][0], c[0][1], c[0][2], c[0][3], w + 4 * i);
    }
}

#define FI_TILE64 256 /* float64 elements per tile */

static void run_f64(const fi_params *p, uint64_t g, size_t n, double *dst)
{
    uint32_t w[4 * (FI_TILE64 / 2 + 1 + FI_VW)] FI_ALIGN; /* whole groups of blocks */
    double pairs[FI_TILE64 + 2] FI_ALIGN;
    fi_rkeys K;
    fi_rkeys_init(&K, p->key[0], p->key[1]);
    const double a = p->a, bb = p->b, c = p->c, d = p->d, lo = p->lo, hi = p->hi;
    while (n > 0) {
        size_t off = 2 * (size_t)(g & 1u); /* element g uses words 2g, 2g + 1 */
        size_t m = FI_TILE64 - off / 2 < n ? FI_TILE64 - off / 2 : n;
        size_t nb = (off + 2 * m + 3) >> 2;
        philox_words(&K, p->stream, g >> 1, (nb + FI_VW - 1) / FI_VW * FI_VW, w);
        const uint32_t *ww = w + off;
        if (p->kind == FI_KIND_UNIFORM) {
            for (size_t i = 0; i < m; i++) {
                double v = a + bb * fi_unit_f64(ww[2 * i], ww[2 * i + 1]);
                v = v < lo ? lo : v;
                dst[i] = v > hi ? hi : v;
            }
        } else if (p->kind == FI_KIND_TRUNCNORM) {
            for (size_t i = 0; i < m; i++) {
                double v = a + bb * fi_truncnorm_z_f64(ww[2 * i], ww[2 * i + 1], c, d);
                v = v < lo ? lo : v;
                dst[i] = v > hi ? hi : v;
            }
        } else { /* Box-Muller: block k gives elements 2k and 2k + 1 */
            for (size_t k = 0; k < nb; k++) {
                double z0, z1;
                fi_box_muller_f64(w[4 * k], w[4 * k + 1], w[4 * k + 2], w[4 * k + 3], &z0, &z1);
                pairs[2 * k] = a + bb * z0;
                pairs[2 * k + 1] = a + bb * z1;
            }
            memcpy(dst, pairs + off / 2, m * sizeof(double));
        }
        dst += m;
        g += m;
        n -= m;
    }
}

/* ------------------------------------------ truncated normal in float64, 32-bit out */

/* Global elements [g, g + n) of FI_KIND_TRUNCNORM_F64 into dst (float32,
 * float16 or bfloat16): z in float64, a + b z in float64, rounded once to
 * float32, clamped into [lo, hi], then narrowed like every 32-bit kind. */
static void run_truncnorm_f64(const fi_params *p, uint64_t g, size_t n, char *dst)
{
    uint32_t w[FI_TILE64 + 4 + 4 * FI_VW] FI_ALIGN;
    float vals[FI_TILE64] FI_ALIGN;
    fi_rkeys K;
    fi_rkeys_init(&K, p->key[0], p->key[1]);
    const double a = p->a, bb = p->b, c = p->c, d = p->d;
    const float lo = (float)p->lo, hi = (float)p->hi;
    const size_t isz = fi_itemsize(p->dtype);
    while (n > 0) {
        size_t off = (size_t)(g & 3u); /* element g uses word g */
        size_t m = FI_TILE64 < n ? FI_TILE64 : n;
        size_t nb = (off + m + 3) >> 2;
        philox_words(&K, p->stream, g >> 2, (nb + FI_VW - 1) / FI_VW * FI_VW, w);
        for (size_t i = 0; i < m; i++) {
            float v = (float)(a + bb * fi_truncnorm_z_u32(w[off + i], c, d));
            v = v < lo ? lo : v;
            vals[i] = v > hi ? hi : v;
        }
        if (p->dtype == FI_DT_F32)
            memcpy(dst, vals, m * 4);
        else if (p->dtype == FI_DT_BF16)
            store_bf16(vals, (uint16_t *)dst, m);
        else
            store_f16(vals, (uint16_t *)dst, m);
        dst += m * isz;
        g += m;
        n -= m;
    }
}

/* -------------------------------------------------------------------- const */

/* A constant: its bytes repeated.  With FI_FLAG_STREAM_STORES the aligned
 * middle goes out in non-temporal stores, which skip reading the lines
 * first: measured 26% faster on buffers beyond the last-level cache. */
static void run_const(const fi_params *p, size_t n, void *dst)
{
    const size_t isz = fi_itemsize(p->dtype);
    unsigned char elem[8];
    if (p->dtype == FI_DT_F64) {
        double v = p->a;
        memcpy(elem, &v, 8);
    } else if (p->dtype == FI_DT_F32) {
        float v = (float)p->a;
        memcpy(elem, &v, 4);
    } else {
        float f = (float)p->a;
        uint16_t v;
        if (p->dtype == FI_DT_BF16)
            store_bf16(&f, &v, 1);
        else
            store_f16(&f, &v, 1);
        memcpy(elem, &v, 2);
    }
    fi_vu pattern;
    for (size_t i = 0; i < sizeof pattern; i++)
        ((unsigned char *)&pattern)[i] = elem[i % isz];
    char *d = dst;
    size_t i = 0;
    if (p->flags & FI_FLAG_STREAM_STORES) {
        for (; i < n && ((uintptr_t)(d + i * isz) % FI_VB) != 0; i++)
            memcpy(d + i * isz, elem, isz);
        for (; (n - i) * isz >= FI_VB; i += FI_VB / isz)
            fi_stream_store(d + i * isz, pattern);
        fi_stream_fence();
    }
    for (; (n - i) * isz >= FI_VB; i += FI_VB / isz)
        memcpy(d + i * isz, &pattern, FI_VB);
    for (; i < n; i++)
        memcpy(d + i * isz, elem, isz);
}

void FI_RUN_NAME(const fi_params *p, uint64_t g, size_t n, void *dst)
{
    switch (p->kind) {
    case FI_KIND_CONST:
        run_const(p, n, dst);
        break;
    case FI_KIND_RAW:
        run32(p, FI_KIND_RAW, g, n, dst);
        break;
    case FI_KIND_UNIFORM:
        if (p->dtype == FI_DT_F64)
            run_f64(p, g, n, dst);
        else
            run32(p, FI_KIND_UNIFORM, g, n, dst);
        break;
    case FI_KIND_NORMAL:
        if (p->dtype == FI_DT_F64)
            run_f64(p, g, n, dst);
        else
            run32(p, FI_KIND_NORMAL, g, n, dst);
        break;
    case FI_KIND_TRUNCNORM:
        if (p->dtype == FI_DT_F64)
            run_f64(p, g, n, dst);
        else
            run32(p, FI_KIND_TRUNCNORM, g, n, dst);
        break;
    case FI_KIND_TRUNCNORM_F64:
        run_truncnorm_f64(p, g, n, dst);
        break;
    default:
        break;
    }
}
