/* Generated from fastinit/_contract/stream.toml by fastinit/_contract/generate.py: do not edit. */
#ifndef FASTINIT_CONTRACT_H
#define FASTINIT_CONTRACT_H

/* The version of the values; any change to any output value is a new version. */
#define FI_STREAM_VERSION 2
#define FI_MAXDIM 64
#define FI_BLOCK 16384

/* Philox4x32-10 */
#define FI_PHILOX_ROUNDS 10
#define FI_PHILOX_M0 0xD2511F53u /* multiplies counter word 0 */
#define FI_PHILOX_M1 0xCD9E8D57u /* multiplies counter word 2 */
#define FI_PHILOX_W0 0x9E3779B9u /* key bump of word 0 */
#define FI_PHILOX_W1 0xBB67AE85u /* key bump of word 1 */

/* Output element types. */
enum {
    FI_DT_U32 = 0,
    FI_DT_F32 = 1,
    FI_DT_F64 = 2,
    FI_DT_F16 = 3,
    FI_DT_BF16 = 4,
    FI_DT_COUNT
};

/* Distributions (the law of each: fastinit/_contract/stream.toml). */
enum {
    FI_KIND_RAW = 0, /* the words themselves (u32 only) */
    FI_KIND_CONST = 1, /* a */
    FI_KIND_UNIFORM = 2, /* clamp(a + b * unit, lo, hi) */
    FI_KIND_NORMAL = 3, /* a + b * z */
    FI_KIND_TRUNCNORM = 4, /* clamp(a + b * Phi^-1(c + d * unit31), lo, hi), in the compute type */
    FI_KIND_TRUNCNORM_F64 = 5, /* the same computed in float64 for a 32-bit output (narrow or far windows) */
    FI_KIND_COUNT
};

/* The parameter slots of fi_params, in order: X(name) for each. */
#define FI_PARAM_SLOTS(X) X(a) X(b) X(c) X(d) X(lo) X(hi)
#define FI_PARAM_SLOT_COUNT 6

/* f32 coefficients: the exact values, in stream.toml's order. */
#define FI_F32_LOG_0 0x1.204376p-4f
#define FI_F32_LOG_1 (-0x1.d7a37p-4f)
#define FI_F32_LOG_2 0x1.de4a34p-4f
#define FI_F32_LOG_3 (-0x1.fcba9ep-4f)
#define FI_F32_LOG_4 0x1.23d37ep-3f
#define FI_F32_LOG_5 (-0x1.555cap-3f)
#define FI_F32_LOG_6 0x1.999d58p-3f
#define FI_F32_LOG_7 (-0x1.fffff8p-3f)
#define FI_F32_LOG_8 0x1.555554p-2f
#define FI_F32_LN2_HI 0x1.63p-1f
#define FI_F32_LN2_LO (-0x1.bd0106p-13f)
#define FI_F32_ANGLE_SCALE 0x1.921fb6p-30f
#define FI_F32_SIN_0 (-0x1.9943f2p-13f)
#define FI_F32_SIN_1 0x1.11073cp-7f
#define FI_F32_SIN_2 (-0x1.555546p-3f)
#define FI_F32_COS_0 0x1.99eb9cp-16f
#define FI_F32_COS_1 (-0x1.6c0c34p-10f)
#define FI_F32_COS_2 0x1.55554ap-5f
#define FI_F32_ERFINV_CENTRAL_0 0x1.e2cb1p-26f
#define FI_F32_ERFINV_CENTRAL_1 0x1.70966cp-22f
#define FI_F32_ERFINV_CENTRAL_2 (-0x1.d8e6aep-19f)
#define FI_F32_ERFINV_CENTRAL_3 (-0x1.26b582p-18f)
#define FI_F32_ERFINV_CENTRAL_4 0x1.ca65b6p-13f
#define FI_F32_ERFINV_CENTRAL_5 (-0x1.48a81p-10f)
#define FI_F32_ERFINV_CENTRAL_6 (-0x1.11c9dep-8f)
#define FI_F32_ERFINV_CENTRAL_7 0x1.f91ec6p-3f
#define FI_F32_ERFINV_CENTRAL_8 0x1.805c5ep+0f
#define FI_F32_ERFINV_TAIL_0 (-0x1.a3e136p-13f)
#define FI_F32_ERFINV_TAIL_1 0x1.a76ad6p-14f
#define FI_F32_ERFINV_TAIL_2 0x1.61b8e4p-10f
#define FI_F32_ERFINV_TAIL_3 (-0x1.e17bcep-9f)
#define FI_F32_ERFINV_TAIL_4 0x1.7824f6p-8f
#define FI_F32_ERFINV_TAIL_5 (-0x1.f38baep-8f)
#define FI_F32_ERFINV_TAIL_6 0x1.354afcp-7f
#define FI_F32_ERFINV_TAIL_7 0x1.006db6p+0f
#define FI_F32_ERFINV_TAIL_8 0x1.6a9efcp+1f
#define FI_F32_ERFINV_CENTRAL_SHIFT 0x1.4p+1f
#define FI_F32_ERFINV_TAIL_SHIFT 0x1.8p+1f
#define FI_F32_ERFINV_TAIL_FROM 0x1.4p+2f
#define FI_F32_SQRT2 0x1.6a09e6p+0f
#define FI_F32_SQRT_HALF_BITS 0x3F3504F3u

/* f64 coefficients: the exact values, in stream.toml's order. */
#define FI_F64_LOG_0 0x1.5555555555593p-1
#define FI_F64_LOG_1 0x1.999999997fa04p-2
#define FI_F64_LOG_2 0x1.2492494229359p-2
#define FI_F64_LOG_3 0x1.c71c51d8e78afp-3
#define FI_F64_LOG_4 0x1.7466496cb03dep-3
#define FI_F64_LOG_5 0x1.39a09d078c69fp-3
#define FI_F64_LOG_6 0x1.2f112df3e5244p-3
#define FI_F64_LN2_HI 0x1.62e42feep-1
#define FI_F64_LN2_LO 0x1.a39ef35793c76p-33
#define FI_F64_ANGLE_SCALE 0x1.921fb54442d18p-51
#define FI_F64_SIN_0 (-0x1.5555555555549p-3)
#define FI_F64_SIN_1 0x1.111111110f8a6p-7
#define FI_F64_SIN_2 (-0x1.a01a019c161d5p-13)
#define FI_F64_SIN_3 0x1.71de357b1fe7dp-19
#define FI_F64_SIN_4 (-0x1.ae5e68a2b9cebp-26)
#define FI_F64_SIN_5 0x1.5d93a5acfd57cp-33
#define FI_F64_COS_0 0x1.555555555554cp-5
#define FI_F64_COS_1 (-0x1.6c16c16c15177p-10)
#define FI_F64_COS_2 0x1.a01a019cb159p-16
#define FI_F64_COS_3 (-0x1.27e4f809c52adp-22)
#define FI_F64_COS_4 0x1.1ee9ebdb4b1c4p-29
#define FI_F64_COS_5 (-0x1.8fae9be8838d4p-37)
#define FI_F64_PPND_SPLIT 0x1.b333333333333p-2
#define FI_F64_PPND_SPLIT_SQ 0x1.71eb851eb851fp-3
#define FI_F64_PPND_MID_SHIFT 0x1.999999999999ap+0
#define FI_F64_PPND_TAIL_FROM 0x1.4p+2
#define FI_F64_PPND_A_0 0x1.39a296f7d925ep+11
#define FI_F64_PPND_A_1 0x1.052d26b2e45e4p+15
#define FI_F64_PPND_A_2 0x1.06c1c55b78f2p+16
#define FI_F64_PPND_A_3 0x1.66c3e869b752ap+15
#define FI_F64_PPND_A_4 0x1.ad1d8cd4ee71dp+13
#define FI_F64_PPND_A_5 0x1.ece5d2213c0ccp+10
#define FI_F64_PPND_A_6 0x1.0a4888b1a436ep+7
#define FI_F64_PPND_A_7 0x1.b18d91e9eef75p+1
#define FI_F64_PPND_B_0 0x1.46a7eca984b69p+12
#define FI_F64_PPND_B_1 0x1.c0e457cb1ae76p+14
#define FI_F64_PPND_B_2 0x1.3317caa64f4bep+15
#define FI_F64_PPND_B_3 0x1.4b772d5d65266p+14
#define FI_F64_PPND_B_4 0x1.512322e75c89fp+12
#define FI_F64_PPND_B_5 0x1.5797efdc8b3f7p+9
#define FI_F64_PPND_B_6 0x1.5281b386e1ab5p+5
#define FI_F64_PPND_B_7 0x1p+0
#define FI_F64_PPND_C_0 0x1.9615ac0b7ace9p-11
#define FI_F64_PPND_C_1 0x1.744eb6c45ec67p-6
#define FI_F64_PPND_C_2 0x1.ef2abb9b85c37p-3
#define FI_F64_PPND_C_3 0x1.453cc085375b2p+0
#define FI_F64_PPND_C_4 0x1.d2ecb1a3d02c4p+1
#define FI_F64_PPND_C_5 0x1.713f71462256ap+2
#define FI_F64_PPND_C_6 0x1.2857748cab19bp+2
#define FI_F64_PPND_C_7 0x1.6c665fde9526ap+0
#define FI_F64_PPND_D_0 0x1.20d3f686439e4p-30
#define FI_F64_PPND_D_1 0x1.1f18cbfdf2728p-11
#define FI_F64_PPND_D_2 0x1.f207a7eab17bfp-7
#define FI_F64_PPND_D_3 0x1.2f5123394f04p-3
#define FI_F64_PPND_D_4 0x1.61292f23385c9p-1
#define FI_F64_PPND_D_5 0x1.ad278e6526633p+0
#define FI_F64_PPND_D_6 0x1.06cefbb46a449p+1
#define FI_F64_PPND_D_7 0x1p+0
#define FI_F64_PPND_E_0 0x1.afb74d693bf93p-23
#define FI_F64_PPND_E_1 0x1.c6ec6cc59e02ap-16
#define FI_F64_PPND_E_2 0x1.45c1908425345p-10
#define FI_F64_PPND_E_3 0x1.b2b41193b4ee7p-6
#define FI_F64_PPND_E_4 0x1.2fad9315255cfp-2
#define FI_F64_PPND_E_5 0x1.c8ea6461fa445p+0
#define FI_F64_PPND_E_6 0x1.5daea6e875003p+2
#define FI_F64_PPND_E_7 0x1.aa1b1c13ee526p+2
#define FI_F64_PPND_F_0 0x1.269bff1f8c19p-49
#define FI_F64_PPND_F_1 0x1.31446f740b9ep-23
#define FI_F64_PPND_F_2 0x1.35c2c496374bfp-16
#define FI_F64_PPND_F_3 0x1.9c8bc979dc5d7p-11
#define FI_F64_PPND_F_4 0x1.e76f93215462ap-7
#define FI_F64_PPND_F_5 0x1.186eb183443fbp-3
#define FI_F64_PPND_F_6 0x1.331d34fc7d77fp-1
#define FI_F64_PPND_F_7 0x1p+0
#define FI_F64_SQRT_HALF_BITS 0x3FE6A09E667F3BCDull

#endif /* FASTINIT_CONTRACT_H */
