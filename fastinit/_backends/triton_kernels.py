"""Triton kernels: the stream contract of src/fi_math.h on torch tensors.

Every function here computes the IEEE operations of its C counterpart in
the same order (named in each docstring), so the values equal the CPU
fill's bit for bit.  That needs: no fused multiply-add (kernels compile
with enable_fp_fusion=False), the correctly rounded division and square
root (div_rn and sqrt_rn in float32; in float64 Triton's division and
square root are the IEEE ones, div.rn.f64 and sqrt.rn.f64), no libdevice
transcendental (log, sin, cos are the project's polynomials), integer
constants at or above 2^31 made uint32 explicitly, and half-precision
rounding done in integers as in fi_math.h.

Three kernels share the transforms:

* _fill_contig: the output is one contiguous run of global elements
  [gbase, gbase + n).  A program computes BLOCK Philox blocks and stores
  their elements as one contiguous vector (a block's 4 words, or 2 float64
  elements, joined in element order: _run_values).
* _fill_rows: layouts whose last dimension runs on in the global index
  (a shard's rows, a transposed view's columns): each row is a run of
  global elements, filled as the contiguous kernel fills its run.
* _fill_strided: any layout: each element finds its global index from its
  position, computes its own Philox block and takes its lane.

Launched on CUDA tensors by fastinit._backends.cuda.fill; under TRITON_INTERPRET=1
the same launch runs on CPU tensors (the tests do that).
"""

from __future__ import annotations

import contextlib
import itertools
import struct

import torch
import triton
import triton.language as tl

# the stream contract: kinds and dtype codes (RAW, ..., DT_U32, ...; K_* as
# the kernels see them), the parameter words' layout (P_*), Philox's and the
# transforms' constants, all generated from fastinit/_contract/stream.toml
from .triton_constants import *  # noqa: F401,F403

_MAXDIM = 8  # dimensions of the strided kernel after merging
K_MAXDIM = tl.constexpr(_MAXDIM)


@triton.jit
def _u32(x, v: tl.constexpr):
    """A uint32 constant in x's shape (explicit: the interpreter and the
    compiler must agree on the type of constants >= 2^31)."""
    return tl.full(x.shape, v, tl.uint32)


# ------------------------------------------------------------------ Philox


@triton.jit
def _philox(c0, c1, c2, c3, P):
    """Philox4x32-10 (src/philox.h); round keys precomputed in P."""
    W = _words(P)
    for r in tl.static_range(PHILOX_ROUNDS):
        k0 = tl.load(W + 2 * (P_KEYS + 2 * r))
        k1 = tl.load(W + 2 * (P_KEYS + 2 * r + 1))
        # a 32 x 32 -> 64-bit product gives both halves in one widening multiply
        p0 = c0.to(tl.uint64) * PHILOX_M0
        p1 = c2.to(tl.uint64) * PHILOX_M1
        c0, c1, c2, c3 = (p1 >> 32).to(tl.uint32) ^ c1 ^ k0, p1.to(tl.uint32), (p0 >> 32).to(tl.uint32) ^ c3 ^ k1, \
            p0.to(tl.uint32)
    return c0, c1, c2, c3


@triton.jit
def _words(P):
    """P seen as uint32 words (word 2 i is the low half of P[i]): the keys and
    the stream load as 32-bit values, so that the rounds stay in 32 bits."""
    return P.to(tl.pointer_type(tl.uint32))


@triton.jit
def _block_words(b, P):
    """The four words of Philox blocks b (uint64) of the stream in P."""
    W = _words(P)
    c0 = b.to(tl.uint32)
    c1 = (b >> 32).to(tl.uint32)
    c2 = tl.zeros_like(c0) + tl.load(W + 2 * P_STREAM)
    c3 = tl.zeros_like(c0) + tl.load(W + 2 * (P_STREAM + 1))
    return _philox(c0, c1, c2, c3, P)


# ------------------------------------------------------- float32 transforms


@triton.jit
def _unit(u):
    """fi_v_unit: top 24 bits, [0, 1)."""
    return (u >> 8).to(tl.int32).to(tl.float32) * 5.9604644775390625e-08


@triton.jit
def _unit31(u):
    """fi_v_unit31: ((u >> 1) + 1/2) 2^-31, in (0, 1]."""
    return (u >> 1).to(tl.int32).to(tl.float32) * 4.656612873077393e-10 + 2.3283064365386963e-10


@triton.jit
def _log_reduce(x):
    """fi_v_log_reduce: x = 2^k (1 + f)."""
    ix = x.to(tl.uint32, bitcast=True) + (0x3f800000 - F32_SQRT_HALF_BITS)
    k = ((ix >> 23).to(tl.int32) - 0x7f).to(tl.float32)
    f = ((ix & 0x007fffff) + F32_SQRT_HALF_BITS).to(tl.float32, bitcast=True) - 1.0
    return k, f


@triton.jit
def _log_kf(k, f):
    """fi_v_log_kf: Cephes' logf polynomial."""
    z = f * f
    y = F32_LOG_0 * f + F32_LOG_1
    y = y * f + F32_LOG_2
    y = y * f + F32_LOG_3
    y = y * f + F32_LOG_4
    y = y * f + F32_LOG_5
    y = y * f + F32_LOG_6
    y = y * f + F32_LOG_7
    y = y * f + F32_LOG_8
    y = y * f * z
    y = y + k * F32_LN2_LO
    y = y - 0.5 * z
    r = f + y
    return r + k * F32_LN2_HI


@triton.jit
def _flip_sign(x, bits):
    """x with its sign bit xored with bit 31 of bits."""
    return (x.to(tl.uint32, bitcast=True) ^ bits).to(tl.float32, bitcast=True)


@triton.jit
def _box_muller(u1, u2):
    """fi_v_box_muller: elements 2k and 2k + 1 from words (u1, u2)."""
    k, f = _log_reduce(_unit31(u1))
    f = tl.where(k == 0.0, -_unit31(u1 ^ _u32(u1, 0xFFFFFFFF)), f)
    r = tl.sqrt_rn(_log_kf(k, f) * -2.0)
    v = u2 + 0x20000000
    j = v >> 30
    # m = (v & 0x3fffffff) - 0x20000000 is u2's low 30 bits, signed; 4 m = int32(u2 << 2) converts
    # to exactly 4 float(m), so 4 m times angle_scale / 4 rounds as m times angle_scale (pi / 2^31)
    a = (u2 << 2).to(tl.int32, bitcast=True).to(tl.float32) * (F32_ANGLE_SCALE * 0.25)
    a2 = a * a
    s = F32_SIN_0 * a2 + F32_SIN_1
    s = s * a2 + F32_SIN_2
    s = s * a2 * a + a
    c = F32_COS_0 * a2 + F32_COS_1
    c = c * a2 + F32_COS_2
    c = c * a2 * a2
    c = c - 0.5 * a2 + 1.0
    odd = (j & 1) != 0
    x = tl.where(odd, s, c)
    y = tl.where(odd, c, s)
    z0 = _flip_sign(r * x, ((j + 1) & 2) << 30)
    z1 = _flip_sign(r * y, (j & 2) << 30)
    return z0, z1


@triton.jit
def _erfinv_central(w):
    v = w - F32_ERFINV_CENTRAL_SHIFT
    p = F32_ERFINV_CENTRAL_0 * v + F32_ERFINV_CENTRAL_1
    p = p * v + F32_ERFINV_CENTRAL_2
    p = p * v + F32_ERFINV_CENTRAL_3
    p = p * v + F32_ERFINV_CENTRAL_4
    p = p * v + F32_ERFINV_CENTRAL_5
    p = p * v + F32_ERFINV_CENTRAL_6
    p = p * v + F32_ERFINV_CENTRAL_7
    return p * v + F32_ERFINV_CENTRAL_8


@triton.jit
def _erfinv_tail(w):
    v = tl.sqrt_rn(w) - F32_ERFINV_TAIL_SHIFT
    p = F32_ERFINV_TAIL_0 * v + F32_ERFINV_TAIL_1
    p = p * v + F32_ERFINV_TAIL_2
    p = p * v + F32_ERFINV_TAIL_3
    p = p * v + F32_ERFINV_TAIL_4
    p = p * v + F32_ERFINV_TAIL_5
    p = p * v + F32_ERFINV_TAIL_6
    p = p * v + F32_ERFINV_TAIL_7
    return p * v + F32_ERFINV_TAIL_8


@triton.jit
def _tn_q(u, c, d):
    """fi_v_truncnorm_q and fi_v_halfnormal_w: p = c + d unit31(u) clamped
    to [2^-24, 1 - 2^-24]; q = 2 p or 2 (1 - p); w = -log(q (2 - q))."""
    p = c + d * _unit31(u)
    p = tl.where(p > 0.99999994039535522, 0.99999994039535522, p)
    p = tl.where(p < 5.9604644775390625e-08, 5.9604644775390625e-08, p)
    lower = p < 0.5
    om = 1.0 - p
    q = tl.where(lower, p + p, om + om)
    k, f = _log_reduce(q * (2.0 - q))
    return q, lower, -_log_kf(k, f)


@triton.jit
def _tn_finish(z, q, lower):
    """fi_v_halfnormal_finish and fi_v_negate_where."""
    h = z * (1.0 - q) * F32_SQRT2
    return _flip_sign(h, tl.where(lower, _u32(z, 0x80000000), _u32(z, 0)))


@triton.jit
def _truncnorm_z32(u, c, d):
    """Phi^-1(p) in float32 for the one-word truncated normal (the erfinv
    tail polynomial where w >= 5, else the central one)."""
    q, lower, w = _tn_q(u, c, d)
    z = tl.where(w >= F32_ERFINV_TAIL_FROM, _erfinv_tail(w), _erfinv_central(w))
    return _tn_finish(z, q, lower)


@triton.jit
def _clamp(v, lo, hi):
    v = tl.where(v < lo, lo, v)
    return tl.where(v > hi, hi, v)


@triton.jit
def _value32(w, KIND: tl.constexpr, a, b, c, d, lo, hi, c64, d64, a64, b64):
    """Element value of a one-word-per-element kind (not NORMAL), float32."""
    if KIND == K_UNIFORM:
        v = _clamp(a + b * _unit(w), lo, hi)
    elif KIND == K_TRUNCNORM:
        v = _clamp(a + b * _truncnorm_z32(w, c, d), lo, hi)
    else:  # TRUNCNORM_F64: fi_truncnorm_z_u32 in float64, rounded once to float32
        x = w.to(tl.float64) * 2.3283064365386963e-10 + 1.1641532182693481e-10
        z = _truncnorm_z_f64(x, c64, d64)
        v = _clamp((a64 + b64 * z).to(tl.float32), lo, hi)
    return v


# ------------------------------------------------------- float64 transforms


@triton.jit
def _unit_f64(lo, hi):
    """fi_unit_f64: the top 53 bits of (hi << 32 | lo), [0, 1)."""
    top = (hi >> 5).to(tl.int32).to(tl.float64)
    bot = (((hi & 31) << 21) | (lo >> 11)).to(tl.int32).to(tl.float64)
    return (top * 67108864.0 + bot) * 1.1102230246251565e-16


@triton.jit
def _log_reduce_f64(x):
    ix = x.to(tl.uint64, bitcast=True) + (0x3ff0000000000000 - F64_SQRT_HALF_BITS)
    k = ((ix >> 52) | 0x4330000000000000).to(tl.float64, bitcast=True) - 4503599627371519.0  # 2^52 + 1023
    f = ((ix & 0x000fffffffffffff) + F64_SQRT_HALF_BITS).to(tl.float64, bitcast=True) - 1.0
    return k, f


@triton.jit
def _log_kf_f64(k, f):
    """fi_log_kf: fdlibm's log polynomial in s = f / (2 + f)."""
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (F64_LOG_1 + w * (F64_LOG_3 + w * F64_LOG_5))
    t2 = z * (F64_LOG_0 + w * (F64_LOG_2 + w * (F64_LOG_4 + w * F64_LOG_6)))
    R = t2 + t1
    return s * (hfsq + R) + k * F64_LN2_LO - hfsq + f + k * F64_LN2_HI


@triton.jit
def _poly7(r, c7, c6, c5, c4, c3, c2, c1, c0):
    y = c7 * r + c6
    y = y * r + c5
    y = y * r + c4
    y = y * r + c3
    y = y * r + c2
    y = y * r + c1
    return y * r + c0


@triton.jit
def _ppnd_tail_f64(p):
    """fi_ppnd_tail_f64: -Phi^-1(p) for p in (0, 1/2] (AS 241); all three
    branches computed, the one the C code takes selected."""
    q = p - 0.5
    r = F64_PPND_SPLIT_SQ - q * q
    num = _poly7(r, F64_PPND_A_0, F64_PPND_A_1, F64_PPND_A_2, F64_PPND_A_3,
                 F64_PPND_A_4, F64_PPND_A_5, F64_PPND_A_6, F64_PPND_A_7)
    den = _poly7(r, F64_PPND_B_0, F64_PPND_B_1, F64_PPND_B_2, F64_PPND_B_3,
                 F64_PPND_B_4, F64_PPND_B_5, F64_PPND_B_6, F64_PPND_B_7)
    central = -(q * num / den)
    k, f = _log_reduce_f64(p)
    t = tl.sqrt(-_log_kf_f64(k, f))
    r1 = t - F64_PPND_MID_SHIFT
    mid = (_poly7(r1, F64_PPND_C_0, F64_PPND_C_1, F64_PPND_C_2, F64_PPND_C_3,
               F64_PPND_C_4, F64_PPND_C_5, F64_PPND_C_6, F64_PPND_C_7) /
           _poly7(r1, F64_PPND_D_0, F64_PPND_D_1, F64_PPND_D_2, F64_PPND_D_3,
               F64_PPND_D_4, F64_PPND_D_5, F64_PPND_D_6, F64_PPND_D_7))
    r2 = t - F64_PPND_TAIL_FROM
    far = (_poly7(r2, F64_PPND_E_0, F64_PPND_E_1, F64_PPND_E_2, F64_PPND_E_3,
               F64_PPND_E_4, F64_PPND_E_5, F64_PPND_E_6, F64_PPND_E_7) /
           _poly7(r2, F64_PPND_F_0, F64_PPND_F_1, F64_PPND_F_2, F64_PPND_F_3,
               F64_PPND_F_4, F64_PPND_F_5, F64_PPND_F_6, F64_PPND_F_7))
    # a Python float in a comparison or a where() becomes a float32 constant
    # (the split would be rounded to float32): float64 constants explicitly
    split = tl.full(q.shape, -F64_PPND_SPLIT, tl.float64)
    tail_from = tl.full(q.shape, F64_PPND_TAIL_FROM, tl.float64)
    return tl.where(q >= split, central, tl.where(t <= tail_from, mid, far))


@triton.jit
def _truncnorm_z_f64(x, c, d):
    """fi_truncnorm_z_f64 / fi_truncnorm_z_u32 after the uniform x."""
    p = c + d * x
    top = tl.full(p.shape, 0.99999999999999989, tl.float64)  # 1 - 2^-53, not rounded to float32
    p = tl.where(p > top, top, p)
    lower = p < 0.5
    h = _ppnd_tail_f64(tl.where(lower, p, 1.0 - p))
    return tl.where(lower, -h, h)


@triton.jit
def _sin_kernel(x):
    z = x * x
    v = z * x
    r = F64_SIN_1 + z * (F64_SIN_2 + z * (F64_SIN_3 + z * (F64_SIN_4 + z * F64_SIN_5)))
    return x + v * (F64_SIN_0 + z * r)


@triton.jit
def _cos_kernel(x):
    z = x * x
    r = z * (F64_COS_0 + z * (F64_COS_1 + z * (F64_COS_2 + z * (F64_COS_3 + z * (F64_COS_4 + z * F64_COS_5)))))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + z * r)


@triton.jit
def _box_muller_f64(w0, w1, w2, w3):
    """fi_box_muller_f64: elements 2k and 2k + 1 from block k."""
    k, f = _log_reduce_f64(_unit_f64(w0, w1) + 5.551115123125783e-17)
    f = tl.where(k == 0.0, -(_unit_f64(w0 ^ _u32(w0, 0xFFFFFFFF), w1 ^ _u32(w1, 0xFFFFFFFF)) + 5.551115123125783e-17), f)
    r = tl.sqrt(_log_kf_f64(k, f) * -2.0)
    v = w3 + 0x20000000
    j = v >> 30
    rem = ((v & 0x3fffffff).to(tl.int32) - 0x20000000).to(tl.float64) * 2097152.0 + (w2 >> 11).to(
        tl.int32).to(tl.float64)
    a = rem * F64_ANGLE_SCALE  # pi / 2^52
    s = _sin_kernel(a)
    c = _cos_kernel(a)
    odd = (j & 1) != 0
    x = tl.where(odd, s, c)
    y = tl.where(odd, c, s)
    rx = r * x
    ry = r * y
    z0 = tl.where(((j + 1) & 2) != 0, -rx, rx)
    z1 = tl.where((j & 2) != 0, -ry, ry)
    return z0, z1


@triton.jit
def _value64(lo, hi, KIND: tl.constexpr, a, b, c, d, vlo, vhi):
    """A float64 element from its words (2g, 2g + 1): uniform or truncnorm."""
    if KIND == K_UNIFORM:
        v = a + b * _unit_f64(lo, hi)
    else:
        v = a + b * _truncnorm_z_f64(_unit_f64(lo, hi) + 5.551115123125783e-17, c, d)
    return _clamp(v, vlo, vhi)


# ---------------------------------------------------------------- storing


@triton.jit
def _to_half_bits(v, DT: tl.constexpr):
    """fi_f32_to_bf16 / fi_f32_to_f16 (round to nearest even, subnormals,
    overflow to infinity) as int16 bits."""
    x = v.to(tl.uint32, bitcast=True)
    if DT == K_BF16:
        r = (x + 0x7fff + ((x >> 16) & 1)) >> 16
    else:
        sign = (x >> 16) & 0x8000
        ax = x & 0x7fffffff
        rn = ax - 0x38000000
        rn = (rn + 0x0fff + ((rn >> 13) & 1)) >> 13
        e = ax >> 23
        shift = tl.minimum(tl.maximum(126 - e.to(tl.int32), 1), 25).to(tl.uint32)
        m = (ax & 0x007fffff) | 0x00800000
        qt = m >> shift
        rem = m & ((_u32(x, 1) << shift) - 1)
        half = _u32(x, 1) << (shift - 1)
        qt = tl.where((rem > half) | ((rem == half) & ((qt & 1) != 0)), qt + 1, qt)
        qt = tl.where(126 - e.to(tl.int32) > 24, 0, qt)
        r = tl.where(ax >= 0x38800000, rn, qt)
        r = tl.where(ax >= 0x477ff000, 0x7c00, r)
        r = r | sign
    return r.to(tl.uint16).to(tl.int16, bitcast=True)


@triton.jit
def _store(out, offs, v, mask, DT: tl.constexpr):
    """Store float32 values (uint32 words for DT_U32, float64 for DT_F64) in the output type."""
    if DT == K_U32:
        tl.store(out + offs, v.to(tl.int32, bitcast=True), mask=mask)
    elif DT == K_F32 or DT == K_F64:
        tl.store(out + offs, v, mask=mask)
    else:
        tl.store(out + offs, _to_half_bits(v, DT), mask=mask)


@triton.jit
def _params(P):
    a = tl.load(P + P_FLOATS + 0).to(tl.float64, bitcast=True)
    b = tl.load(P + P_FLOATS + 1).to(tl.float64, bitcast=True)
    c = tl.load(P + P_FLOATS + 2).to(tl.float64, bitcast=True)
    d = tl.load(P + P_FLOATS + 3).to(tl.float64, bitcast=True)
    lo = tl.load(P + P_FLOATS + 4).to(tl.float64, bitcast=True)
    hi = tl.load(P + P_FLOATS + 5).to(tl.float64, bitcast=True)
    return a, b, c, d, lo, hi


@triton.jit
def _gbase(P):
    lo = tl.load(P + P_GBASE).to(tl.uint64) & 0xFFFFFFFF
    hi = tl.load(P + P_GBASE + 1).to(tl.uint64)
    return (hi << 32) | lo


@triton.jit
def _value_at32(b, lane, P, KIND: tl.constexpr):
    """Element values of 32-bit kinds at (block b, lane) (strided kernel)."""
    w0, w1, w2, w3 = _block_words(b, P)
    a64, b64, c64, d64, lo64, hi64 = _params(P)
    if KIND == K_NORMAL:
        second = lane >= 2
        z0, z1 = _box_muller(tl.where(second, w2, w0), tl.where(second, w3, w1))
        v = a64.to(tl.float32) + b64.to(tl.float32) * tl.where((lane & 1) != 0, z1, z0)
    else:
        w = tl.where(lane == 0, w0, tl.where(lane == 1, w1, tl.where(lane == 2, w2, w3)))
        if KIND == K_RAW:
            v = w
        else:
            v = _value32(w, KIND, a64.to(tl.float32), b64.to(tl.float32), c64.to(tl.float32),
                         d64.to(tl.float32), lo64.to(tl.float32), hi64.to(tl.float32), c64, d64, a64, b64)
    return v


# ---------------------------------------------------------------- kernels


@triton.jit
def _offsets(rest, P, DIMS: tl.constexpr):
    """Output offset and global-index offset of C-order position `rest` over
    the layout's first DIMS dimensions (the outermost takes what the others
    leave: a position inside the layout is below its size)."""
    ooff = rest * 0
    goff = rest * 0
    for k in tl.static_range(DIMS):
        d = DIMS - 1 - k
        if d > 0:
            size = tl.load(P + P_LAYOUT + d)
            idx = rest % size
            rest = rest // size
        else:
            idx = rest
        ooff += idx * tl.load(P + P_LAYOUT + K_MAXDIM + d)
        goff += idx * tl.load(P + P_LAYOUT + 2 * K_MAXDIM + d)
    return ooff, goff


@triton.jit
def _run_values(b, P, KIND: tl.constexpr, DT: tl.constexpr, BLOCK: tl.constexpr):
    """The elements of the BLOCK consecutive Philox blocks b as one vector
    in element order: 4 BLOCK 32-bit values (a block's words 0, 1, 2, 3),
    or 2 BLOCK float64 values."""
    w0, w1, w2, w3 = _block_words(b, P)
    a64, b64, c64, d64, lo64, hi64 = _params(P)
    if DT == K_F64:
        if KIND == K_NORMAL:
            z0, z1 = _box_muller_f64(w0, w1, w2, w3)
            e0 = a64 + b64 * z0
            e1 = a64 + b64 * z1
        else:
            e0 = _value64(w0, w1, KIND, a64, b64, c64, d64, lo64, hi64)
            e1 = _value64(w2, w3, KIND, a64, b64, c64, d64, lo64, hi64)
        v = tl.reshape(tl.join(e0, e1), [2 * BLOCK])
    else:
        # the parameters of a 32-bit kind, rounded once to float32 as the C kernels take them
        a = a64.to(tl.float32)
        s = b64.to(tl.float32)
        c = c64.to(tl.float32)
        d = d64.to(tl.float32)
        lo = lo64.to(tl.float32)
        hi = hi64.to(tl.float32)
        if KIND == K_NORMAL:
            z0, z1 = _box_muller(w0, w1)
            z2, z3 = _box_muller(w2, w3)
            v0 = a + s * z0
            v1 = a + s * z1
            v2 = a + s * z2
            v3 = a + s * z3
        elif KIND == K_RAW:
            v0, v1, v2, v3 = w0, w1, w2, w3
        elif KIND == K_TRUNCNORM:
            # the tail polynomial (and its square root) only in programs
            # where some element needs it: a cut inside +-4.2 std never does
            q0, l0, x0 = _tn_q(w0, c, d)
            q1, l1, x1 = _tn_q(w1, c, d)
            q2, l2, x2 = _tn_q(w2, c, d)
            q3, l3, x3 = _tn_q(w3, c, d)
            z0 = _erfinv_central(x0)
            z1 = _erfinv_central(x1)
            z2 = _erfinv_central(x2)
            z3 = _erfinv_central(x3)
            if tl.max(tl.maximum(tl.maximum(x0, x1), tl.maximum(x2, x3)), axis=0) >= F32_ERFINV_TAIL_FROM:
                z0 = tl.where(x0 >= F32_ERFINV_TAIL_FROM, _erfinv_tail(x0), z0)
                z1 = tl.where(x1 >= F32_ERFINV_TAIL_FROM, _erfinv_tail(x1), z1)
                z2 = tl.where(x2 >= F32_ERFINV_TAIL_FROM, _erfinv_tail(x2), z2)
                z3 = tl.where(x3 >= F32_ERFINV_TAIL_FROM, _erfinv_tail(x3), z3)
            v0 = _clamp(a + s * _tn_finish(z0, q0, l0), lo, hi)
            v1 = _clamp(a + s * _tn_finish(z1, q1, l1), lo, hi)
            v2 = _clamp(a + s * _tn_finish(z2, q2, l2), lo, hi)
            v3 = _clamp(a + s * _tn_finish(z3, q3, l3), lo, hi)
        else:
            v0 = _value32(w0, KIND, a, s, c, d, lo, hi, c64, d64, a64, b64)
            v1 = _value32(w1, KIND, a, s, c, d, lo, hi, c64, d64, a64, b64)
            v2 = _value32(w2, KIND, a, s, c, d, lo, hi, c64, d64, a64, b64)
            v3 = _value32(w3, KIND, a, s, c, d, lo, hi, c64, d64, a64, b64)
        # element order: block j's words 0, 1, 2, 3 (join(join(v0, v2), join(v1, v3))[j, i, k] = v[2 i + k])
        v = tl.reshape(tl.join(tl.join(v0, v2), tl.join(v1, v3)), [4 * BLOCK])
    return v


@triton.jit
def _fill_contig(out, P, n, KIND: tl.constexpr, DT: tl.constexpr, SKIP: tl.constexpr, BLOCK: tl.constexpr):
    """Global elements [gbase, gbase + n) to out[0:n]; SKIP = the elements of
    gbase's Philox block before gbase (a constant, so that the stores of an
    aligned run are known to be aligned and go out as wide stores)."""
    PER: tl.constexpr = 2 if DT == K_F64 else 4  # elements per Philox block
    b0 = _gbase(P) // PER + (tl.program_id(0).to(tl.int64) * BLOCK).to(tl.uint64)  # the program's first block
    if DT == K_F16 or DT == K_BF16:
        # two consecutive blocks a thread, so that its 8 values go out as one 16-byte store (with
        # one block a thread, Triton regroups them through shared memory): blocks 2 i and 2 i + 1,
        # joined as [i, value, block] and turned to element order [i, block, value]
        HALF: tl.constexpr = BLOCK // 2
        b = b0 + 2 * tl.arange(0, HALF).to(tl.uint64)
        even = tl.reshape(_run_values(b, P, KIND, DT, HALF), [HALF, 4])
        odd = tl.reshape(_run_values(b + 1, P, KIND, DT, HALF), [HALF, 4])
        v = tl.reshape(tl.permute(tl.join(even, odd), (0, 2, 1)), [4 * BLOCK])
    else:
        v = _run_values(b0 + tl.arange(0, BLOCK).to(tl.uint64), P, KIND, DT, BLOCK)
    offs = tl.program_id(0).to(tl.int64) * (PER * BLOCK) + tl.arange(0, PER * BLOCK).to(tl.int64) - SKIP
    _store(out, offs, v, (offs >= 0) & (offs < n), DT)


@triton.jit
def _fill_rows(out, P, row_len, KIND: tl.constexpr, DT: tl.constexpr, NDIM: tl.constexpr, BLOCK: tl.constexpr,
               ALIGNED: tl.constexpr):
    """A layout whose last dimension runs on in the global index (global
    stride 1; any output stride): program (r, c) fills part c of row r, a
    run of consecutive global elements, with whole Philox blocks as the
    contiguous kernel does.  The row's place (output offset, first global
    index) comes from r over the other NDIM - 1 dimensions, once per
    program.  ALIGNED: every row starts at a Philox block and has output
    stride 1.  Rows are shorter than 2^31 elements (the launch sees to it)."""
    PER: tl.constexpr = 2 if DT == K_F64 else 4
    ooff, goff = _offsets(tl.program_id(0).to(tl.int64), P, NDIM - 1)
    g = _gbase(P) + goff.to(tl.uint64)  # the row's first global index (mod 2^64)
    c = tl.program_id(1)
    b = (g // PER) + (c.to(tl.int64) * BLOCK + tl.arange(0, BLOCK).to(tl.int64)).to(tl.uint64)
    v = _run_values(b, P, KIND, DT, BLOCK)
    pos = c * (PER * BLOCK) + tl.arange(0, PER * BLOCK)  # place in the row
    if ALIGNED:
        _store(out + ooff, pos, v, pos < row_len, DT)
    else:
        pos -= (g % PER).to(tl.int32)
        ostride = tl.load(P + P_LAYOUT + K_MAXDIM + NDIM - 1)
        _store(out + ooff, pos.to(tl.int64) * ostride, v, (pos >= 0) & (pos < row_len), DT)


@triton.jit
def _fill_strided(out, P, n, KIND: tl.constexpr, DT: tl.constexpr, NDIM: tl.constexpr, BLOCK: tl.constexpr):
    """Element at C-order position p of the layout in P: output offset
    sum(i_d ostride_d), global index gbase + sum(i_d gstride_d) (mod 2^64)."""
    pos = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK).to(tl.int64)
    mask = pos < n
    ooff, goff = _offsets(pos, P, NDIM)
    g = _gbase(P) + goff.to(tl.uint64)
    if DT == K_F64:
        w0, w1, w2, w3 = _block_words(g >> 1, P)
        second = (g & 1) != 0
        a64, b64, c64, d64, lo64, hi64 = _params(P)
        if KIND == K_NORMAL:
            z0, z1 = _box_muller_f64(w0, w1, w2, w3)
            v = a64 + b64 * tl.where(second, z1, z0)
        else:
            v = _value64(tl.where(second, w2, w0), tl.where(second, w3, w1), KIND, a64, b64, c64, d64, lo64,
                         hi64)
    else:
        v = _value_at32(g >> 2, (g & 3).to(tl.int32), P, KIND)
    _store(out, ooff, v, mask, DT)


# ------------------------------------------------------------------ launch

# Compile options of every launch: no fused multiply-add (the CPU rounds
# every product and every sum).
OPTIONS = dict(enable_fp_fusion=False)

# Launch shape (no effect on values): Philox blocks per program of the
# contiguous kernel (512: 2048 32-bit elements), elements per program of the
# strided one, warps per program.  `fastinit bench --device cuda --sweep`
# times alternatives.  Rows of at least rows_from elements that run on in the
# global index (a shard's rows, a transposed view's columns) go to the row
# kernel, with block_contig Philox blocks per program where a row has 4 of
# them, else block_rows blocks in rows_warps warps (two blocks a thread).
CONFIG = dict(block_contig=512, block_strided=1024, num_warps=4, rows_from=512, block_rows=128, rows_warps=2)
_GRID_Y = 65535  # CUDA's limit on a grid's second dimension (the first takes up to 2^31 - 1)


def _bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", float(x)))[0]


def _merge(shape, ostrides, gstrides):
    """Drop size-1 dimensions and merge dimensions that run on (in both the
    output and the global index), as fi_layout_init does."""
    dims = [(s, o, g) for s, o, g in zip(shape, ostrides, gstrides) if s != 1]
    merged = []
    for s, o, g in dims:
        if merged and merged[-1][1] == o * s and merged[-1][2] == g * s:
            ps, _, _ = merged[-1]
            merged[-1] = (ps * s, o, g)
        else:
            merged.append((s, o, g))
    return merged


def _key_schedule(key):
    out = []
    k0, k1 = key[0] & 0xFFFFFFFF, key[1] & 0xFFFFFFFF
    for r in range(PHILOX_ROUNDS.value):
        out += [(k0 + r * PHILOX_W0) & 0xFFFFFFFF, (k1 + r * PHILOX_W1) & 0xFFFFFFFF]
    return out


def _storage(t: torch.Tensor, dt: int) -> torch.Tensor:
    """The tensor as the kernels' element type (bits for 16-bit and words)."""
    if dt in (DT_F16, DT_BF16):
        return t.view(torch.int16)
    if dt == DT_U32:
        return t.view(torch.int32)
    return t


def launch(t: torch.Tensor, kind: int, dt: int, a: float, b: float, c: float, d: float, lo: float, hi: float,
           key, stream: int, gbase: int, gstrides=None) -> None:
    """Fill the torch tensor t in place (any device Triton runs on: CUDA, or
    the CPU under TRITON_INTERPRET=1) with global elements gbase + ... of
    the stream, as fastinit._core.fill does for an ndarray."""
    n = t.numel()
    if n == 0:
        return
    if kind == CONST:
        t.fill_(a)  # a is representable in t's dtype: any conversion is exact
        return
    shape = list(t.shape)
    if gstrides is None:
        gstrides = [1] * len(shape)
        for i in range(len(shape) - 2, -1, -1):
            gstrides[i] = gstrides[i + 1] * shape[i + 1]
    layout = _merge(shape, list(t.stride()), list(gstrides))
    if len(layout) > _MAXDIM:
        # more dimensions than the kernels index: one launch per index of the smallest ones (never
        # the last, which the row kernel may take), each on the part it selects: _MAXDIM dimensions
        # whose global strides give every element its own index, so the values are the same
        smallest = sorted(range(len(layout) - 1), key=lambda i: layout[i][0])[:len(layout) - _MAXDIM]
        outer = [layout[i] for i in sorted(smallest)]
        inner = [d for i, d in enumerate(layout) if i not in smallest]
        for idx in itertools.product(*(range(n) for n, _, _ in outer)):
            ooff = sum(i * o for i, (_, o, _) in zip(idx, outer))
            goff = sum(i * g for i, (_, _, g) in zip(idx, outer))
            part = t.as_strided([n for n, _, _ in inner], [o for _, o, _ in inner], t.storage_offset() + ooff)
            launch(part, kind, dt, a, b, c, d, lo, hi, key, stream, (gbase + goff) & 0xFFFFFFFFFFFFFFFF,
                   [g for _, _, g in inner])
        return
    words = [stream & 0xFFFFFFFF, stream >> 32, gbase & 0xFFFFFFFF, gbase >> 32]
    words += [_bits(x) for x in (a, b, c, d, lo, hi)]
    words += _key_schedule(key)
    contig = len(layout) == 0 or (len(layout) == 1 and layout[0][1] == 1 and layout[0][2] == 1)
    store = _storage(t, dt)
    if not contig:
        pad = [(1, 0, 0)] * (_MAXDIM - len(layout))
        words += [s for s, _, _ in layout + pad] + [o for _, o, _ in layout + pad]
        words += [_wrap64(g) for _, _, g in layout + pad]
    params = torch.tensor(words, dtype=torch.int64).to(t.device)
    with torch.cuda.device(t.device) if t.device.type == "cuda" else _nothing():
        _launch(store, params, n, kind, dt, gbase, contig, layout)


def _launch(store, params, n, kind, dt, gbase, contig, layout):
    per = 4 if dt != DT_F64 else 2  # elements per Philox block
    warps = CONFIG["num_warps"]
    if contig:
        skip = gbase % per
        grid = (triton.cdiv(n + skip, per * CONFIG["block_contig"]),)
        _fill_contig[grid](store, params, n, KIND=kind, DT=dt, SKIP=skip, BLOCK=CONFIG["block_contig"],
                           num_warps=warps, **OPTIONS)
        return
    row_len = layout[-1][0]
    if layout[-1][2] == 1 and row_len >= CONFIG["rows_from"]:
        long_rows = row_len >= 4 * per * CONFIG["block_contig"]
        block = CONFIG["block_contig"] if long_rows else CONFIG["block_rows"]
        aligned = layout[-1][1] == 1 and all(g % per == 0 for g in [gbase] + [g for _, _, g in layout[:-1]])
        # a row that starts inside a Philox block needs up to per - 1 lanes more
        grid = (n // row_len, triton.cdiv(row_len + (0 if aligned else per - 1), per * block))
        if grid[0] < 2**31 and grid[1] <= _GRID_Y:
            _fill_rows[grid](store, params, row_len, KIND=kind, DT=dt, NDIM=len(layout), BLOCK=block,
                             ALIGNED=aligned, num_warps=warps if long_rows else CONFIG["rows_warps"], **OPTIONS)
            return
    grid = (triton.cdiv(n, CONFIG["block_strided"]),)
    _fill_strided[grid](store, params, n, KIND=kind, DT=dt, NDIM=len(layout), BLOCK=CONFIG["block_strided"],
                        num_warps=warps, **OPTIONS)


_nothing = contextlib.nullcontext


def _wrap64(x: int) -> int:
    """A 64-bit two's complement value as a signed int64."""
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x
