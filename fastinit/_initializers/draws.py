"""From a distribution's parameters to a FillRequest, and where it goes.

Here live the parts of the stream contract that are decided in Python: how
parameters are rounded to the type the core computes in, the bounds that
keep rounded outputs inside a requested interval, and which kind computes a
law (a truncated normal's float32 or float64 path).  FillRequest (what) and
FillTarget (where) are the two values the backends take
(fastinit._backends.fill); the thread count and the SIMD path are the cpu
backend's business.
"""

from __future__ import annotations

import functools
import math
import struct
from typing import NamedTuple

import numpy as np

from .._contract import constants as C
from .._contract import dtype_code, words_per_element  # noqa: F401 (part of this module's vocabulary)
from .._contract.constants import CONST, NORMAL, RAW, TRUNCNORM, TRUNCNORM_F64, UNIFORM  # noqa: F401 (the kinds)
from . import ndtr as _ndtr

_DT_F64, _DT_BF16 = C.DT_F64, C.DT_BF16


class FillRequest(NamedTuple):
    """What a fill computes: a kind of the stream contract and its parameter
    slots, in the contract's order (a, b, c, d, lo, hi: the core's
    fi_params; stream.toml gives each kind's law).  Parameters of 16- and
    32-bit outputs are already rounded to float32, lo and hi to the output
    dtype: the constructors below do that."""

    kind: int
    a: float = 0.0
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    lo: float = -math.inf
    hi: float = math.inf


class FillTarget(NamedTuple):
    """Where a fill writes and which elements of which stream: local
    element (i_0, ..., i_{n-1}) of `out` (a validated buffer of a backend)
    takes element start + sum(i_d * gstrides[d]) of the (key, stream) stream
    (gstrides None: the C-order flat index, plus start)."""

    out: object
    key: tuple
    stream: int = 0
    start: int = 0
    gstrides: tuple | None = None


RAW_WORDS = FillRequest(RAW)  # the Philox words themselves


def compute_type(dt: np.dtype) -> type:
    """The type values are computed in: float64 for float64, else float32."""
    return np.float64 if dtype_code(dt) == _DT_F64 else np.float32


def _in_compute(x: float, dt: np.dtype, name: str) -> float:
    """x rounded to the compute type (float32 by round-to-nearest-even), as
    the float64 the core receives."""
    if dtype_code(dt) == _DT_F64:
        return x
    y = struct.unpack("f", struct.pack("f", x))[0]
    if y in (math.inf, -math.inf):
        raise OverflowError(f"{name} = {x} exceeds the range of float32")
    return y


def _next(x, dt: np.dtype, direction: float):
    return np.nextafter(x, dt.type(direction), dtype=dt) if dtype_code(dt) != _DT_BF16 else _next_bf16(x, direction)


def _next_bf16(x, direction: float):
    # ml_dtypes' bfloat16 has no nextafter ufunc loop: step the bit pattern.
    bits = np.array(x, dtype=x.dtype).view(np.uint16)
    positive = bits < 0x8000
    up = direction > float(x)
    if float(x) == 0.0:
        bits = np.uint16(0x0001 if up else 0x8001)
    elif positive == up:
        bits = bits + np.uint16(1)
    else:
        bits = bits - np.uint16(1)
    return np.array(bits, dtype=np.uint16).view(x.dtype)[()]


def inner_bounds(low: float, high: float, dt: np.dtype, closed_high: bool):
    """(lo, hi): the smallest dtype value >= low and the largest <= high (or
    < high when not closed_high), as floats; lo > hi when none lies between."""
    with np.errstate(over="ignore"):  # beyond the dtype's range: from +-inf inwards
        lo = dt.type(low)
        hi = dt.type(high)
    if float(lo) < low:
        lo = _next(lo, dt, np.inf)
    if float(hi) > high or (not closed_high and float(hi) >= high):
        hi = _next(hi, dt, -np.inf)
    return float(lo), float(hi)


def _span(low: float, high: float, dt: np.dtype, name: str) -> float:
    """high - low in the compute type; OverflowError where it is not finite
    (as NumPy's uniform raises for a range beyond float64)."""
    span = high - low
    if not math.isfinite(span):
        raise OverflowError(f"{name} = {high} - ({low}) exceeds the range of float64")
    return _in_compute(span, dt, name)


@functools.lru_cache(maxsize=256)
def _uniform_slots(low: float, high: float, dt: np.dtype):
    """(a, b, lo, hi) of a uniform [low, high) fill: clamp(a + b * unit, lo, hi)."""
    b = _span(low, high, dt, "high - low")
    lo, hi = inner_bounds(low, high, dt, closed_high=False)
    if lo > hi:
        raise ValueError(f"no {dt.name} value lies in [low, high) = [{low}, {high})")
    return _in_compute(low, dt, "low"), b, lo, hi


# ------------------------------------------- array parameters (broadcasting)


def _round_array(x: np.ndarray, ct: type, name: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        y = x.astype(ct)
    if not np.isfinite(y).all():
        raise OverflowError(f"{name} exceeds the range of {np.dtype(ct).name}")
    return y


def _step_array(x: np.ndarray, up: bool) -> np.ndarray:
    """The next value of x's dtype towards +inf (up) or -inf, element-wise,
    by stepping the sign-magnitude bit pattern (bfloat16 has no nextafter)."""
    ut = {2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize]
    sign = ut(1 << (8 * x.dtype.itemsize - 1))
    b = x.view(ut)
    zero = (b & ~sign) == 0
    away = (b < sign) == up  # moving away from zero
    one = ut(1)
    stepped = np.where(away, b + one, b - one)
    stepped = np.where(zero, ut(1) if up else (sign | ut(1)), stepped)
    return stepped.astype(ut).view(x.dtype)


def inner_bounds_array(low: np.ndarray, high: np.ndarray, dt: np.dtype, closed_high: bool):
    """inner_bounds element-wise: (lo, hi) float64 arrays."""
    with np.errstate(over="ignore"):
        lo, hi = low.astype(dt), high.astype(dt)
    fix = lo.astype(np.float64) < low
    lo = np.where(fix, _step_array(lo, True), lo)
    fix = hi.astype(np.float64) > high if closed_high else hi.astype(np.float64) >= high
    hi = np.where(fix, _step_array(hi, False), hi)
    return lo.astype(np.float64), hi.astype(np.float64)


def uniform_array(low: np.ndarray, high: np.ndarray, dt: np.dtype):
    """For broadcast low/high arrays: a function from the standard uniforms
    (in the compute type) to the values, the scalar path's operations element
    by element (low == high gives low rounded once, as a constant fill)."""
    ct = compute_type(dt)
    with np.errstate(over="ignore"):
        span = high - low
    if not np.isfinite(span).all():
        raise OverflowError("uniform: high - low range exceeds valid bounds (beyond float64)")
    a, b = _round_array(low, ct, "low"), _round_array(span, ct, "high - low")
    lo, hi = inner_bounds_array(low, high, dt, closed_high=False)
    const = low == high
    if (lo > hi)[~const].any():
        raise ValueError(f"uniform: no {dt.name} value lies in [low, high) for some elements")
    with np.errstate(over="ignore"):
        cval = low.astype(dt)
    if not np.isfinite(cval.astype(np.float64))[const].all():
        raise OverflowError(f"uniform: low = high overflows {dt.name}")

    def values(u):
        v = a + b * u
        v = np.where(v < lo.astype(ct), lo.astype(ct), v)
        v = np.where(v > hi.astype(ct), hi.astype(ct), v)
        return np.where(const, cval, v.astype(dt)).astype(dt)

    return values


def normal_array(loc: np.ndarray, scale: np.ndarray, dt: np.dtype):
    """For broadcast loc/scale arrays: standard normals (compute type) to
    values, loc + scale * z element by element as the scalar path."""
    ct = compute_type(dt)
    largest = float((np.abs(loc) + scale * _MAX_Z[dtype_code(dt) == _DT_F64]).max()) if loc.size else 0.0
    check_fits(largest, dt, "normal(loc, scale)")
    a, b = _round_array(loc, ct, "loc"), _round_array(scale, ct, "scale")

    def values(z):
        return (a + b * z).astype(dt)

    return values


# The largest |z| a normal fill can produce: Box-Muller's largest radius,
# sqrt(-2 log 2^-32) for float32 and sqrt(-2 log 2^-54) for float64.
_MAX_Z = {False: 6.6605, True: 8.6524}


def _dtype_max(dt: np.dtype) -> float:
    """The largest finite value of the dtype itself (bfloat16's is 3.3895e38,
    below float32's 3.4028e38)."""
    if dtype_code(dt) == _DT_BF16:
        import ml_dtypes

        return float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)
    return float(np.finfo(dt).max)


def check_fits(largest: float, dt: np.dtype, what: str) -> None:
    """OverflowError where values up to `largest` in magnitude (with a margin
    of 2^-20 for the rounding of the parameters and of the arithmetic in the
    compute type) could round to infinity in the dtype."""
    if largest * (1 + 2.0**-20) > _dtype_max(dt):
        raise OverflowError(f"{what} can reach {largest:.5g}, beyond the largest {dt.name} ({_dtype_max(dt):.5g})")


def _normal_slots(loc: float, scale: float, dt: np.dtype):
    """(a, b, lo, hi) of N(loc, scale): a + b * z."""
    check_fits(abs(loc) + scale * _MAX_Z[dtype_code(dt) == _DT_F64], dt, f"normal(loc={loc}, scale={scale})")
    return _in_compute(loc, dt, "loc"), _in_compute(scale, dt, "scale"), -np.inf, np.inf


# ------------------------------------------------------------- requests

# The standard deviation of a standard normal truncated to [-2, 2]: Keras and
# JAX divide by it so that a truncated draw keeps the intended variance.
TRUNCATED_STD = C.TRUNCATED_STD


def constant(value: float, dt: np.dtype) -> FillRequest:
    """A constant, rounded once (to nearest even) to the dtype."""
    with np.errstate(over="ignore"):
        v = float(np.array(value, dtype=dt))
    if not math.isfinite(v):
        raise OverflowError(f"value {value} overflows {dt.name}")
    return FillRequest(CONST, v)


def uniform(low: float, high: float, dt: np.dtype) -> FillRequest:
    """U[low, high), kept inside [low, high) after rounding to the dtype."""
    if low == high:
        return constant(low, dt)
    a, b, lo, hi = _uniform_slots(low, high, dt)
    return FillRequest(UNIFORM, a, b, lo=lo, hi=hi)


def normal(mean: float, std: float, dt: np.dtype, truncated: bool = False) -> FillRequest:
    """N(mean, std), or with truncated=True Keras' and JAX's truncated normal:
    std / TRUNCATED_STD, cut at 2 of those standard deviations."""
    if truncated:
        s = std / TRUNCATED_STD
        return truncated_normal(mean, s, mean - 2 * s, mean + 2 * s, dt)
    a, b, lo, hi = _normal_slots(mean, std, dt)
    return FillRequest(NORMAL, a, b, lo=lo, hi=hi)


# A 32-bit output's truncated normal is computed in float32 where the window
# holds at least this much probability (float32 p then resolves the window to
# 2^-20 of its mass or finer), else in float64 (kind TRUNCNORM_F64).
FLOAT32_TRUNCNORM_MASS = C.FLOAT32_TRUNCNORM_MASS


def truncated_normal(mean: float, std: float, a: float, b: float, dt: np.dtype) -> FillRequest:
    """N(mean, std) truncated to [a, b] (a < b): clamp(mean + s z, lo, hi) with
    z = Phi^-1(c + d u); see fi_math.h.  Phi comes from fastinit._initializers.ndtr.

    For float16/32/bfloat16 outputs, windows of probability d >= 1/16 are
    computed in float32 (kind TRUNCNORM); narrower or farther ones in float64
    from the same one word per element (kind TRUNCNORM_F64), so that a
    window 1e-6 std wide or 30 std out is sampled at its own resolution.
    A window so narrow that the density is flat across it to 2^-52 is the
    uniform law on [a, b]."""
    lo, hi = inner_bounds(a, b, dt, closed_high=True)
    if lo > hi:
        raise ValueError(f"no {dt.name} value lies in [a, b] = [{a}, {b}]")
    if std == 0:
        return constant(min(max(mean, lo), hi), dt)
    with np.errstate(over="ignore"):
        alpha, beta = (a - mean) / std, (b - mean) / std
    if not (math.isfinite(alpha) and math.isfinite(beta)):
        raise OverflowError(f"(a - mean) / std or (b - mean) / std overflows float64 "
                            f"(mean={mean}, std={std}, a={a}, b={b})")
    width = beta - alpha
    if max(abs(alpha), abs(beta)) * width + width * width / 2 < 2.0**-52:
        # the density is flat across the window to float64's precision (and
        # Phi(b) - Phi(a) would have lost its digits): the window's uniform
        # law, closed at both ends
        return FillRequest(UNIFORM, _in_compute(a, dt, "a"), _span(a, b, dt, "b - a"), lo=lo, hi=hi)
    pa, pw, flipped = _ndtr.truncation(alpha, beta)
    # c + d u must stay a normal float64 for the smallest u (2^-33 or 2^-54)
    if not pw >= 2.0**-968:
        raise ValueError(f"[a, b] = [{a}, {b}] has probability {pw:.3g} under N({mean}, {std}): "
                         "too far in the tail to sample in float64 (beyond about 37 std)")
    if dtype_code(dt) != _DT_F64 and pw < FLOAT32_TRUNCNORM_MASS:
        return FillRequest(TRUNCNORM_F64, mean, -std if flipped else std, pa, pw, lo, hi)
    c, d = _in_compute(pa, dt, "Phi(a)"), _in_compute(pw, dt, "Phi(b) - Phi(a)")
    s = _in_compute(-std if flipped else std, dt, "std")
    return FillRequest(TRUNCNORM, _in_compute(mean, dt, "mean"), s, c, d, lo, hi)
