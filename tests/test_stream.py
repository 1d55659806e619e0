"""Bit equality of every fill with the NumPy model of the stream contract.

Sizes 0, 1, 3, 4, 5, 1023 and 2**20 + 3; starts that are not multiples of 4,
beyond 2**32 and near the end of the 2**64 element space; streams beyond
2**32; every SIMD path this CPU has.
"""

import numpy as np
import pytest

import fastinit
import reference as R
from reference import bits

SEED = 20261123
KEY = R.key_from_seed(SEED)
SIZES = [0, 1, 3, 4, 5, 1023]
STARTS = [0, 1, 6, 2**32 + 1, 2**40 + 3]
STREAMS = [0, 7, 2**32 + 5, 2**64 - 1]


def rng():
    return fastinit.default_rng(SEED)


def test_key_is_seedsequence_state():
    assert tuple(rng().key.tolist()) == KEY
    assert rng().key.dtype == np.uint32


def test_issue_example_random_raw():
    """default_rng(0).random_raw(10, stream=7, start=6), computed by hand
    from the contract with the NumPy Philox."""
    k = np.random.SeedSequence(0).generate_state(2, np.uint32)
    expected = []
    for w in range(6, 16):
        b = w // 4
        ctr = [b & 0xFFFFFFFF, b >> 32, 7, 0]
        expected.append(R.philox4x32_10([ctr], k)[0][w % 4])
    np.testing.assert_array_equal(fastinit.default_rng(0).random_raw(10, stream=7, start=6), expected)


@pytest.mark.parametrize("n", SIZES + [2**20 + 3])
@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("stream", STREAMS)
def test_random_raw(simd, n, start, stream):
    if n > 2**16 and (start, stream) not in ((1, 7), (2**32 + 1, 2**32 + 5)):
        pytest.skip("the large size runs for two addresses only")
    np.testing.assert_array_equal(rng().random_raw(n, stream=stream, start=start), R.raw(KEY, stream, start, n))


def test_random_raw_at_the_end_of_the_stream(simd):
    start = 2**64 - 5
    np.testing.assert_array_equal(rng().random_raw(5, stream=3, start=start), R.raw(KEY, 3, start, 5))


@pytest.mark.parametrize("start", [2**63 - 3, 2**63 + 5, 2**64 - 1031])
def test_counters_past_2_62_blocks(simd, start):
    """float64 element e uses block e >> 1: past 2^63 elements the block
    counter passes 2^62 (its high word needs all 32 bits)."""
    n = 1031
    g = rng()
    np.testing.assert_array_equal(bits(g.standard_normal(n, stream=9, start=start)),
                                  bits(R.normal_f64(KEY, 9, start, n, 0.0, 1.0)))
    np.testing.assert_array_equal(bits(g.random(n, stream=9, start=start)),
                                  bits(R.uniform_f64(KEY, 9, start, n, 0.0, 1.0, 0.0, 1 - 2.0**-53)))
    s32 = 2**64 - 1031
    np.testing.assert_array_equal(bits(g.standard_normal(1031, dtype=np.float32, stream=9, start=s32)),
                                  bits(R.normal_f32(KEY, 9, s32, 1031, 0.0, 1.0)))


def test_random_raw_shapes():
    a = rng().random_raw((3, 5), stream=2, start=9)
    assert a.shape == (3, 5) and a.dtype == np.uint32
    np.testing.assert_array_equal(a.ravel(), R.raw(KEY, 2, 9, 15))


def _prev(x, dtype):
    """The largest value of dtype below x (x representable)."""
    b = bits(np.array([x], dtype=dtype))
    return (b - np.array(1, dtype=b.dtype)).view(dtype)[0]


def _expected(dist, dtype, stream, start, n):
    """The reference values of one of the fills below, in dtype."""
    f64 = dtype == np.float64
    if dist == "random":
        if f64:
            return R.uniform_f64(KEY, stream, start, n, 0.0, 1.0, 0.0, 1 - 2.0**-53)
        return R.uniform_f32(KEY, stream, start, n, 0.0, 1.0, 0.0, float(_prev(1.0, dtype)))
    if dist == "uniform":  # uniform(-3, 5)
        if f64:
            return R.uniform_f64(KEY, stream, start, n, -3.0, 8.0, -3.0, float(_prev(5.0, dtype)))
        v = R.uniform_f32(KEY, stream, start, n, -3.0, 8.0, -3.0, float(_prev(5.0, dtype)))
    elif dist == "normal":  # normal(0.5, 2)
        if f64:
            return R.normal_f64(KEY, stream, start, n, 0.5, 2.0)
        v = R.normal_f32(KEY, stream, start, n, 0.5, 2.0)
    else:  # standard_normal
        if f64:
            return R.normal_f64(KEY, stream, start, n, 0.0, 1.0)
        v = R.normal_f32(KEY, stream, start, n, 0.0, 1.0)
    if np.dtype(dtype).name == "bfloat16":
        return R.to_bf16_bits(v).view(dtype)
    if dtype == np.float16:
        return R.to_f16_bits(v).view(dtype)
    return v


def _fill(dist, dtype, stream, start, n):
    g = rng()
    if dist == "random":
        return g.random(n, dtype=dtype, stream=stream, start=start)
    if dist == "uniform":
        return g.uniform(-3, 5, n, dtype=dtype, stream=stream, start=start)
    if dist == "normal":
        return g.normal(0.5, 2.0, n, dtype=dtype, stream=stream, start=start)
    return g.standard_normal(n, dtype=dtype, stream=stream, start=start)


def _dtypes():
    import ml_dtypes

    return [np.float32, np.float64, np.float16, ml_dtypes.bfloat16]


DISTS = ["random", "uniform", "normal", "standard_normal"]


@pytest.mark.parametrize("dtype", _dtypes(), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("start", STARTS)
def test_float_fills(simd, dist, dtype, n, start):
    if dist == "random" and dtype not in (np.float32, np.float64):
        pytest.skip("random() covers float32 and float64")
    got = _fill(dist, dtype, 2**32 + 5, start, n)
    assert got.dtype == np.dtype(dtype) and got.shape == (n,)
    np.testing.assert_array_equal(bits(got), bits(_expected(dist, dtype, 2**32 + 5, start, n)))


@pytest.mark.parametrize("dtype", _dtypes(), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("dist", DISTS)
def test_float_fills_large(simd, dist, dtype):
    if dist == "random" and dtype not in (np.float32, np.float64):
        pytest.skip("random() covers float32 and float64")
    n, start = 2**20 + 3, 2**32 + 1
    np.testing.assert_array_equal(bits(_fill(dist, dtype, 7, start, n)), bits(_expected(dist, dtype, 7, start, n)))


# Truncated normals: (mean, std, a, b), covering both halves, a one-sided
# upper tail (mirrored to the lower tail) and a far one-sided cut.
# Since stream version 2 windows of probability below 1/16 (the last five)
# are computed in float64 for every dtype, and the float32 path clamps p
# into [2^-24, 1 - 2^-24] (the fourth reaches below it).
TRUNC = [(0.0, 1.0, -2.0, 2.0), (0.1, 0.02, 0.05, 0.2), (0.0, 1.0, -30.0, 1.5), (1.0, 2.0, -30.0, 1.5),
         (0.0, 1.0, 2.0, 3.0), (0.0, 0.02, 0.16, 0.18), (0.0, 1.0, -31.0, -30.0), (0.0, 1.0, 0.0, 1e-6),
         (0.0, 1.0, 1.0, 1.00001)]


@pytest.mark.parametrize("dtype", _dtypes(), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("params", TRUNC, ids=str)
@pytest.mark.parametrize("n,start", [(0, 0), (1, 5), (5, 3), (1023, 2**32 + 1), (2**20 + 3, 6)])
def test_truncated_normal(simd, dtype, params, n, start):
    from fastinit._initializers import draws as _draws

    dt = fastinit._validate.as_dtype(dtype)
    mean, std, a, b = params
    request = _draws.truncated_normal(mean, std, a, b, dt)
    kind = request.kind
    f32_path = dt == np.float64 or fastinit._initializers.ndtr.truncation((a - mean) / std, (b - mean) / std)[1] >= 1 / 16
    assert kind == (_draws.TRUNCNORM if f32_path else _draws.TRUNCNORM_F64)
    pa, pw, flipped = fastinit._initializers.ndtr.truncation((a - mean) / std, (b - mean) / std)
    assert flipped == ((a - mean) / std > 0)
    sa, sb, c, d, lo, hi = request.a, request.b, request.c, request.d, request.lo, request.hi
    got = rng().truncated_normal((n,), mean=mean, std=std, a=a, b=b, dtype=dt, stream=9) if start == 0 else None
    if start:
        out = np.empty(n, dtype=dt)
        rng()._draw(request, dt, (n,), out, (9, start))
        got = out
    if dt == np.float64:
        want = R.truncnorm_f64(KEY, 9, start, n, sa, sb, c, d, lo, hi)
    else:
        want = (R.truncnorm_f32 if f32_path else R.truncnorm_f64_u32)(KEY, 9, start, n, sa, sb, c, d, lo, hi)
        if dt.name == "bfloat16":
            want = R.to_bf16_bits(want).view(dt)
        elif dt == np.float16:
            want = R.to_f16_bits(want).view(dt)
    np.testing.assert_array_equal(bits(got), bits(want))
    assert (got.astype(np.float64) >= a).all() and (got.astype(np.float64) <= b).all()


def test_sequential_draws_follow_the_position():
    """Without stream/start, a draw takes the elements from the Generator's
    next unused block of stream 0 and moves past every block it used."""
    g = rng()
    a = g.standard_normal(5, dtype=np.float32)  # blocks 0, 1
    b = g.random(3)  # float64: elements 4, 5, 6 = blocks 2, 3
    c = g.random_raw(3)  # pure: words 0..2 of stream 0
    d = g.normal(1.0, 3.0, 2, dtype=np.float32)  # block 4 = elements 16, 17
    assert g.position == 5
    np.testing.assert_array_equal(bits(a), bits(R.normal_f32(KEY, 0, 0, 5, 0.0, 1.0)))
    np.testing.assert_array_equal(bits(b), bits(R.uniform_f64(KEY, 0, 4, 3, 0.0, 1.0, 0.0, 1 - 2.0**-53)))
    np.testing.assert_array_equal(c, R.raw(KEY, 0, 0, 3))
    np.testing.assert_array_equal(bits(d), bits(R.normal_f32(KEY, 0, 16, 2, 1.0, 3.0)))


def test_successive_draws_continue_the_stream():
    """Draws of whole blocks concatenate: two draws of 1000 float32 equal one
    of 2000, so no word is used twice."""
    g, h = rng(), rng()
    both = np.concatenate([g.standard_normal(1000, dtype=np.float32), g.standard_normal(1000, dtype=np.float32)])
    np.testing.assert_array_equal(bits(both), bits(h.standard_normal(2000, dtype=np.float32)))
