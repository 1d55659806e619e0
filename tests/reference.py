"""A slow, obviously-correct NumPy model of fastinit's stream contract.

The tests compare the compiled core with this, bit for bit.  Philox runs in
NumPy uint64 arithmetic; every transform mirrors src/fi_math.h operation by
operation in float32 or float64 NumPy arithmetic (IEEE, one rounding per
operation, nothing fused).  Its constants are read from the contract's
spec, fastinit/_contract/stream.toml, by this file itself (not through the
code generated from it); its operations are its own.
"""

from __future__ import annotations

import pathlib
import tomllib

import numpy as np

SPEC_PATH = pathlib.Path(__file__).resolve().parents[1] / "fastinit" / "_contract" / "stream.toml"
SPEC = tomllib.loads(SPEC_PATH.read_text(encoding="utf-8"))


def _exact(pair, dtype):
    """A spec constant [hex, decimal] as a value of dtype; the hex must be
    exactly representable (tests/test_contract.py checks the decimal)."""
    x = float.fromhex(pair[0])
    y = dtype(x)
    assert float(y) == x, f"{pair} is not a {np.dtype(dtype).name} value"
    return y


def _table(section, name, dtype):
    v = SPEC[section][name]
    return _exact(v, dtype) if isinstance(v[0], str) else [_exact(c, dtype) for c in v]


MASK32 = np.uint64(0xFFFFFFFF)
M0, M1 = (np.uint64(m) for m in SPEC["philox"]["multipliers"])
W0, W1 = SPEC["philox"]["key_bumps"]
ROUNDS = SPEC["philox"]["rounds"]


# ---------------------------------------------------------------- Philox


def philox4x32_10(counters, key) -> np.ndarray:
    """Philox4x32-10 of an (n, 4) array of 32-bit counters under key (k0, k1)."""
    c = np.asarray(counters, dtype=np.uint64).reshape(-1, 4)
    c0, c1, c2, c3 = (c[:, i].copy() for i in range(4))
    k0, k1 = int(key[0]), int(key[1])
    for r in range(ROUNDS):
        if r:
            k0 = (k0 + W0) & 0xFFFFFFFF
            k1 = (k1 + W1) & 0xFFFFFFFF
        p0 = c0 * M0  # < 2**64: exact
        p1 = c2 * M1
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & MASK32, \
            (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & MASK32
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def key_from_seed(seed) -> tuple[int, int]:
    k = np.random.SeedSequence(seed).generate_state(2, np.uint32)
    return int(k[0]), int(k[1])


def block_words(key, stream: int, blocks) -> np.ndarray:
    """The (n, 4) words of the given blocks (uint64 array) of (key, stream)."""
    b = np.asarray(blocks, dtype=np.uint64)
    ctr = np.stack([b & MASK32, b >> np.uint64(32),
                    np.full_like(b, stream & 0xFFFFFFFF), np.full_like(b, stream >> 32)], axis=1)
    return philox4x32_10(ctr, key)


def words(key, stream: int, word_index) -> np.ndarray:
    """Words at the given indices (uint64 array) of (key, stream)."""
    w = np.asarray(word_index, dtype=np.uint64)
    return block_words(key, stream, w >> np.uint64(2))[np.arange(w.size), (w & np.uint64(3)).astype(np.intp)]


def raw(key, stream: int, start: int, n: int) -> np.ndarray:
    return words(key, stream, np.uint64(start) + np.arange(n, dtype=np.uint64))


# ------------------------------------------------------------ float32 ops


F = np.float32


def _i32_to_f32(u):
    return u.astype(np.int32).astype(np.float32)


def unit_f32(u):
    return _i32_to_f32(u >> np.uint32(8)) * F(2.0**-24)


LOG_C = _table("f32", "log", F)
SQRT_HALF_F32 = np.uint32(SPEC["f32"]["sqrt_half_bits"])


def log_reduce_f32(x):
    ix = x.view(np.uint32) + (np.uint32(0x3F800000) - SQRT_HALF_F32)
    k = _i32_to_f32((ix >> np.uint32(23)).astype(np.int32) - np.int32(0x7F))
    f = ((ix & np.uint32(0x007FFFFF)) + SQRT_HALF_F32).view(np.float32) - F(1)
    return k, f


def log_f32(x):
    return log_kf_f32(*log_reduce_f32(x))


def unit31_f32(u):
    return _i32_to_f32(u >> np.uint32(1)) * F(2.0**-31) + F(2.0**-32)


def log_kf_f32(k, f):
    z = f * f
    y = LOG_C[0] * f + LOG_C[1]
    for c in LOG_C[2:]:
        y = y * f + c
    y = y * f * z
    y = y + k * _table("f32", "ln2_lo", F)
    y = y - F(0.5) * z
    r = f + y
    return r + k * _table("f32", "ln2_hi", F)


SIN_C = _table("f32", "sin", F)
COS_C = _table("f32", "cos", F)
PI_2_31 = _table("f32", "angle_scale", F)  # pi / 2**31


def box_muller_f32(u1, u2):
    """(z0, z1) of word pairs (u1, u2), as fi_v_box_muller computes them."""
    k, f = log_reduce_f32(unit31_f32(u1))
    f = np.where(k == F(0), -unit31_f32(~u1), f)
    r = np.sqrt(log_kf_f32(k, f) * F(-2))
    v = u2 + np.uint32(0x20000000)
    j = v >> np.uint32(30)
    a = _i32_to_f32((v & np.uint32(0x3FFFFFFF)).astype(np.int32) - np.int32(0x20000000)) * PI_2_31
    a2 = a * a
    s = SIN_C[0] * a2 + SIN_C[1]
    s = s * a2 + SIN_C[2]
    s = s * a2 * a + a
    c = COS_C[0] * a2 + COS_C[1]
    c = c * a2 + COS_C[2]
    c = c * a2 * a2
    c = c - F(0.5) * a2 + F(1)
    odd = (j & np.uint32(1)).astype(bool)
    x = np.where(odd, s, c)
    y = np.where(odd, c, s)
    z0 = ((r * x).view(np.uint32) ^ (((j + np.uint32(1)) & np.uint32(2)) << np.uint32(30))).view(np.float32)
    z1 = ((r * y).view(np.uint32) ^ ((j & np.uint32(2)) << np.uint32(30))).view(np.float32)
    return z0, z1


ERFINV_C = _table("f32", "erfinv_central", F)
ERFINV_T = _table("f32", "erfinv_tail", F)


def _horner32(v, coefs):
    p = coefs[0] * v + coefs[1]
    for c in coefs[2:]:
        p = p * v + c
    return p


def halfnormal_f32(q):
    """fi_v_halfnormal: sqrt(2) erfinv(1 - q) by Giles' polynomials."""
    w = -log_f32(q * (F(2) - q))
    central = _horner32(w - _table("f32", "erfinv_central_shift", F), ERFINV_C)
    with np.errstate(invalid="ignore"):
        tail = _horner32(np.sqrt(w) - _table("f32", "erfinv_tail_shift", F), ERFINV_T)
    p = np.where(w >= _table("f32", "erfinv_tail_from", F), tail, central)
    return p * (F(1) - q) * _table("f32", "sqrt2", F)


def truncnorm_f32(key, stream, start, n, a, b, c, d, lo, hi):
    u = words(key, stream, _elements(start, n))
    p = F(c) + F(d) * unit31_f32(u)
    pmax = F(float.fromhex("0x1.fffffep-1"))
    p = np.where(p > pmax, pmax, p)
    pmin = F(2.0**-24)
    p = np.where(p < pmin, pmin, p)
    lower = p < F(0.5)
    om = F(1) - p
    h = halfnormal_f32(np.where(lower, p + p, om + om))
    z = np.where(lower, -h, h)
    v = F(a) + F(b) * z
    v = np.where(v < F(lo), F(lo), v)
    return np.where(v > F(hi), F(hi), v).astype(np.float32)


def _elements(start: int, n: int) -> np.ndarray:
    return np.uint64(start) + np.arange(n, dtype=np.uint64)


def uniform_f32(key, stream, start, n, a, b, lo, hi):
    u = words(key, stream, _elements(start, n))
    v = F(a) + F(b) * unit_f32(u)
    v = np.where(v < F(lo), F(lo), v)
    return np.where(v > F(hi), F(hi), v).astype(np.float32)


def normal_f32(key, stream, start, n, a, b):
    e = _elements(start, n)
    even = e & ~np.uint64(1)
    z0, z1 = box_muller_f32(words(key, stream, even), words(key, stream, even + np.uint64(1)))
    z = np.where((e & np.uint64(1)).astype(bool), z1, z0)
    return (F(a) + F(b) * z).astype(np.float32)


# ------------------------------------------------------------ float64 ops


def unit_f64(lo, hi):
    top = (hi >> np.uint32(5)).astype(np.int32).astype(np.float64)
    bot = (((hi & np.uint32(31)) << np.uint32(21)) | (lo >> np.uint32(11))).astype(np.int32).astype(np.float64)
    return (top * 2.0**26 + bot) * 2.0**-53


SQRT_HALF_F64 = np.uint64(SPEC["f64"]["sqrt_half_bits"])
LG = _table("f64", "log", float)  # fdlibm's Lg1 .. Lg7
SIN64 = _table("f64", "sin", float)  # S1 .. S6
COS64 = _table("f64", "cos", float)  # C1 .. C6


def log_reduce_f64(x):
    ix = x.view(np.uint64) + (np.uint64(0x3FF0000000000000) - SQRT_HALF_F64)
    k = ((ix >> np.uint64(52)) | np.uint64(0x4330000000000000)).view(np.float64) - (2.0**52 + 1023.0)
    f = ((ix & np.uint64(0x000FFFFFFFFFFFFF)) + SQRT_HALF_F64).view(np.float64) - 1.0
    return k, f


def log_kf_f64(k, f):
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (LG[1] + w * (LG[3] + w * LG[5]))
    t2 = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])))
    R = t2 + t1
    return s * (hfsq + R) + k * _table("f64", "ln2_lo", float) - hfsq + f + k * _table("f64", "ln2_hi", float)


def log_f64(x):
    return log_kf_f64(*log_reduce_f64(x))


def sin_kernel_f64(x):
    z = x * x
    v = z * x
    r = SIN64[1] + z * (SIN64[2] + z * (SIN64[3] + z * (SIN64[4] + z * SIN64[5])))
    return x + v * (SIN64[0] + z * r)


def cos_kernel_f64(x):
    z = x * x
    r = z * (COS64[0] + z * (COS64[1] + z * (COS64[2] + z * (COS64[3] + z * (COS64[4] + z * COS64[5])))))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + z * r)


def unit53(lo, hi):
    return unit_f64(lo, hi) + 2.0**-54


def box_muller_f64(w0, w1, w2, w3):
    """(z0, z1) of Philox blocks (w0, w1, w2, w3), as fi_box_muller_f64."""
    k, f = log_reduce_f64(unit53(w0, w1))
    f = np.where(k == 0.0, -unit53(~w0, ~w1), f)
    r = np.sqrt(log_kf_f64(k, f) * -2.0)
    v = w3 + np.uint32(0x20000000)
    j = v >> np.uint32(30)
    rem = (((v & np.uint32(0x3FFFFFFF)).astype(np.int32) - np.int32(0x20000000)).astype(np.float64) * 2.0**21
           + (w2 >> np.uint32(11)).astype(np.int32).astype(np.float64))
    a = rem * _table("f64", "angle_scale", float)
    s, c = sin_kernel_f64(a), cos_kernel_f64(a)
    odd = (j & np.uint32(1)).astype(bool)
    x, y = np.where(odd, s, c), np.where(odd, c, s)
    z0 = np.where(((j + np.uint32(1)) & np.uint32(2)).astype(bool), -(r * x), r * x)
    z1 = np.where((j & np.uint32(2)).astype(bool), -(r * y), r * y)
    return z0, z1


def _poly7(r, c):
    y = np.full_like(r, c[0])
    for ci in c[1:]:
        y = y * r + ci
    return y


AS241_A, AS241_B, AS241_C, AS241_D, AS241_E, AS241_F = (_table("f64", f"ppnd_{t}", float) for t in "abcdef")
PPND_SPLIT, PPND_SPLIT_SQ, PPND_MID, PPND_TAIL = (_table("f64", f"ppnd_{n}", float)
                                                  for n in ("split", "split_sq", "mid_shift", "tail_from"))


def ppnd_tail_f64(p):
    """-Phi^{-1}(p) for p in (0, 1/2], as fi_ppnd_tail_f64 computes it."""
    p = np.asarray(p, dtype=np.float64)
    q = p - 0.5
    out = np.empty_like(p)
    central = q >= -PPND_SPLIT
    qc = q[central]
    r = PPND_SPLIT_SQ - qc * qc
    out[central] = -(qc * _poly7(r, AS241_A) / _poly7(r, AS241_B))
    pt = p[~central]
    r = np.sqrt(-log_f64(pt))
    near = r <= PPND_TAIL
    rn = r[near] - PPND_MID
    rf = r[~near] - PPND_TAIL
    tail = np.empty_like(r)
    tail[near] = _poly7(rn, AS241_C) / _poly7(rn, AS241_D)
    tail[~near] = _poly7(rf, AS241_E) / _poly7(rf, AS241_F)
    out[~central] = tail
    return out


def _pairs_f64(key, stream, start, n):
    """Words 2e and 2e + 1 of float64 elements e: lanes 2 (e & 1) and
    2 (e & 1) + 1 of block e >> 1 (no 64-bit overflow for e >= 2^63)."""
    e = _elements(start, n)
    w = block_words(key, stream, e >> np.uint64(1))
    lane = ((e & np.uint64(1)) * np.uint64(2)).astype(np.intp)
    rows = np.arange(e.size)
    return w[rows, lane], w[rows, lane + 1]


def uniform_f64(key, stream, start, n, a, b, lo_b, hi_b):
    lo, hi = _pairs_f64(key, stream, start, n)
    v = a + b * unit_f64(lo, hi)
    v = np.where(v < lo_b, lo_b, v)
    return np.where(v > hi_b, hi_b, v)


def normal_f64(key, stream, start, n, a, b):
    """Element e is z0 (e even) or z1 (e odd) of Box-Muller on block e >> 1."""
    e = _elements(start, n)
    w = block_words(key, stream, e >> np.uint64(1))
    z0, z1 = box_muller_f64(w[:, 0], w[:, 1], w[:, 2], w[:, 3])
    z = np.where((e & np.uint64(1)).astype(bool), z1, z0)
    return a + b * z


def truncnorm_f64(key, stream, start, n, a, b, c, d, lo_b, hi_b):
    lo, hi = _pairs_f64(key, stream, start, n)
    p = c + d * (unit_f64(lo, hi) + 2.0**-54)
    pmax = float.fromhex("0x1.fffffffffffffp-1")
    p = np.where(p > pmax, pmax, p)
    lower = p < 0.5
    z = np.where(lower, -ppnd_tail_f64(np.where(lower, p, 0.5)), ppnd_tail_f64(np.where(lower, 0.5, 1.0 - p)))
    v = a + b * z
    v = np.where(v < lo_b, lo_b, v)
    return np.where(v > hi_b, hi_b, v)


def truncnorm_f64_u32(key, stream, start, n, a, b, c, d, lo, hi):
    """FI_KIND_TRUNCNORM_F64: a 32-bit output's truncated normal computed in
    float64 from one word per element, rounded once to float32, clamped."""
    u = words(key, stream, _elements(start, n))
    p = c + d * (u.astype(np.float64) * 2.0**-32 + 2.0**-33)
    pmax = float.fromhex("0x1.fffffffffffffp-1")
    p = np.where(p > pmax, pmax, p)
    lower = p < 0.5
    z = np.where(lower, -ppnd_tail_f64(np.where(lower, p, 0.5)), ppnd_tail_f64(np.where(lower, 0.5, 1.0 - p)))
    v = (a + b * z).astype(np.float32)
    v = np.where(v < F(lo), F(lo), v)
    return np.where(v > F(hi), F(hi), v).astype(np.float32)


# ------------------------------------------------------- half precision


def to_bf16_bits(x32):
    b = x32.astype(np.float32).view(np.uint32)
    return ((b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)


def to_f16_bits(x32):
    return x32.astype(np.float32).astype(np.float16).view(np.uint16)


# ------------------------------------------------------------- helpers


def bits(a) -> np.ndarray:
    """The raw bits of an array, for exact comparison (-0.0 and NaN included)."""
    a = np.ascontiguousarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])
