"""Each initializer against its formula, and against torch where torch has it.

Sample statistics use fixed seeds and at least 2^18 values, so a tolerance of
1% on a standard deviation is more than 5 standard errors wide."""

import math

import numpy as np
import pytest

import fastinit
import fastinit._backends.cpu
from reference import bits

torch = pytest.importorskip("torch")

# A dense weight, a conv weight in torch's layout and the same conv in Keras'.
SHAPES = {
    "dense": ((256, 1024), "torch", 1024, 256),
    "conv_torch": ((64, 32, 3, 3), "torch", 288, 576),
    "conv_keras": ((3, 3, 32, 64), "keras", 288, 576),
}
BIG = (512, 1024)  # for the tails and bounds


def _std(x):
    return float(np.asarray(x, dtype=np.float64).std())


def _close(a, b, rel=0.01):
    return abs(a - b) <= rel * abs(b)


def _check_uniform(x, limit):
    x = np.asarray(x, dtype=np.float64)
    assert x.min() >= -limit and x.max() < limit
    assert x.max() > limit * (1 - 1e-3) and x.min() < -limit * (1 - 1e-3)
    assert _close(_std(x), limit / math.sqrt(3))
    assert abs(x.mean()) < 5 * limit / math.sqrt(3 * x.size)


def _check_normal(x, std, truncated=False):
    x = np.asarray(x, dtype=np.float64)
    assert _close(_std(x), std)
    assert abs(x.mean()) < 5 * std / math.sqrt(x.size)
    if truncated:
        assert np.abs(x).max() <= 2 * std / fastinit._initializers.draws.TRUNCATED_STD
    else:
        assert np.abs(x).max() > 4 * std  # an untruncated normal reaches its tails


@pytest.mark.parametrize("case", SHAPES)
def test_fans(case):
    shape, layout, fi, fo = SHAPES[case]
    assert fastinit.compute_fans(shape, layout) == (fi, fo)
    if layout == "torch":
        assert fastinit.compute_fans(shape) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("case", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(case, gain):
    shape, layout, fi, fo = SHAPES[case]
    _check_uniform(fastinit.xavier_uniform(shape, gain=gain, layout=layout, rng=1), gain * math.sqrt(6 / (fi + fo)))
    _check_normal(fastinit.xavier_normal(shape, gain=gain, layout=layout, rng=2), gain * math.sqrt(2 / (fi + fo)))
    _check_normal(fastinit.glorot_normal(shape, gain=gain, layout=layout, rng=3, truncated=True),
                  gain * math.sqrt(2 / (fi + fo)), truncated=True)


@pytest.mark.parametrize("case", SHAPES)
@pytest.mark.parametrize("a,mode,nonlinearity", [
    (0.0, "fan_in", "leaky_relu"), (0.2, "fan_out", "leaky_relu"), (0.0, "fan_in", "relu"),
    (0.0, "fan_out", "tanh"), (0.0, "fan_in", "linear"), (0.0, "fan_in", "selu")])
def test_he(case, a, mode, nonlinearity):
    shape, layout, fi, fo = SHAPES[case]
    fan = fi if mode == "fan_in" else fo
    gain = torch.nn.init.calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    kw = dict(a=a, mode=mode, nonlinearity=nonlinearity, layout=layout)
    _check_uniform(fastinit.he_uniform(shape, rng=4, **kw), math.sqrt(3) * std)
    _check_normal(fastinit.he_normal(shape, rng=5, **kw), std)
    _check_normal(fastinit.kaiming_normal(shape, rng=6, truncated=True, **kw), std, truncated=True)


def test_he_defaults_are_torchs():
    """torch's defaults: a=0, mode='fan_in', nonlinearity='leaky_relu', so gain sqrt(2)."""
    w = fastinit.he_normal((512, 2048), rng=0)
    _check_normal(w, math.sqrt(2 / 2048))
    _check_uniform(fastinit.kaiming_uniform((512, 2048), rng=0), math.sqrt(6 / 2048))


@pytest.mark.parametrize("case", SHAPES)
def test_lecun(case):
    shape, layout, fi, _ = SHAPES[case]
    _check_uniform(fastinit.lecun_uniform(shape, layout=layout, rng=7), math.sqrt(3 / fi))
    _check_normal(fastinit.lecun_normal(shape, layout=layout, rng=8), math.sqrt(1 / fi))
    _check_normal(fastinit.lecun_normal(shape, layout=layout, rng=9, truncated=True), math.sqrt(1 / fi), truncated=True)


@pytest.mark.parametrize("case", SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling(case, mode, distribution):
    shape, layout, fi, fo = SHAPES[case]
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
    s = 2.0 / n
    x = fastinit.variance_scaling(shape, scale=2.0, mode=mode, distribution=distribution, layout=layout, rng=10)
    if distribution == "uniform":
        _check_uniform(x, math.sqrt(3 * s))
    else:
        _check_normal(x, math.sqrt(s), truncated=distribution == "truncated_normal")


def test_variance_scaling_is_glorot_and_he():
    """Keras: glorot_uniform = VS(1, fan_avg, uniform); he_uniform = VS(2, fan_in, uniform):
    the same limits, hence the same values from the same stream."""
    g = fastinit.default_rng(0)
    shape = (3, 3, 32, 64)
    np.testing.assert_array_equal(
        g.variance_scaling(shape, scale=1.0, mode="fan_avg", distribution="uniform", layout="keras", stream=1),
        g.glorot_uniform(shape, layout="keras", stream=1))
    vs = g.variance_scaling(shape, scale=2.0, mode="fan_in", distribution="uniform", layout="keras", stream=2)
    he = g.he_uniform(shape, layout="keras", stream=2)
    np.testing.assert_allclose(vs, he, rtol=1e-6)  # sqrt(3 * 2 / n) vs sqrt(2) * sqrt(3 / n): one ulp apart at most


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 0.02, -0.04, 0.04), (0.0, 1.0, -2.0, 2.0), (1.0, 1.0, 2.0, 3.5),
                                          (0.0, 1.0, -0.5, 10.0)])
def test_truncated_normal_matches_scipy(mean, std, a, b):
    from scipy import stats

    x = fastinit.truncated_normal(BIG, mean=mean, std=std, a=a, b=b, rng=11).astype(np.float64)
    assert x.min() >= a and x.max() <= b
    ref = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert abs(x.mean() - ref.mean()) < 5 * ref.std() / math.sqrt(x.size)
    assert _close(_std(x), ref.std())
    assert stats.kstest(x.ravel()[:200_000], ref.cdf).pvalue > 1e-3


def test_truncated_normal_in_std_units():
    g = fastinit.default_rng(3)
    np.testing.assert_array_equal(g.truncated_normal((1000,), mean=1.0, std=0.5, a=-2, b=2, std_units=True, stream=1),
                                  g.truncated_normal((1000,), mean=1.0, std=0.5, a=0.0, b=2.0, stream=1))


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16", np.float32, np.float64])
def test_truncated_normal_never_leaves_its_bounds_after_rounding(dtype):
    dt = fastinit._validate.as_dtype(dtype)
    x = fastinit.truncated_normal((1 << 20,), mean=0.0, std=1.0, a=-0.333, b=0.777, dtype=dt, rng=0).astype(np.float64)
    assert x.min() >= -0.333 and x.max() <= 0.777


@pytest.mark.parametrize("shape", [(64, 128), (128, 64), (100, 100), (16, 4, 3, 3), (1, 7)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal(shape, gain):
    w = fastinit.orthogonal(shape, gain=gain, rng=12)
    assert w.shape == shape and w.dtype == np.float32
    flat = w.reshape(shape[0], -1).astype(np.float64)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, gain**2 * np.eye(small), atol=1e-5 * gain**2)


def test_orthogonal_is_haar_distributed():
    """With the sign correction, Q's entries average zero (without it, the
    diagonal of Q from Householder QR would be biased)."""
    diag = np.array([np.diag(fastinit.orthogonal((8, 8), rng=s, dtype=np.float64)) for s in range(400)])
    assert np.abs(diag.mean(axis=0)).max() < 5 * math.sqrt(1 / 8) / math.sqrt(400)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_eye_is_torchs(shape):
    np.testing.assert_array_equal(fastinit.eye(shape), torch.nn.init.eye_(torch.empty(shape)).numpy())
    np.testing.assert_array_equal(fastinit.identity(shape, gain=3.0), 3.0 * np.eye(*shape, dtype=np.float32))


@pytest.mark.parametrize("shape,groups", [((4, 2, 3), 1), ((6, 3, 5, 5), 1), ((6, 4, 3, 3), 3), ((8, 2, 3, 3, 3), 2),
                                          ((2, 6, 4, 4), 2)])
def test_dirac_is_torchs(shape, groups):
    np.testing.assert_array_equal(fastinit.dirac(shape, groups=groups),
                                  torch.nn.init.dirac_(torch.empty(shape), groups).numpy())


@pytest.mark.parametrize("shape,sparsity", [((100, 30), 0.1), ((64, 64), 0.5), ((7, 5), 0.0), ((7, 5), 1.0),
                                            ((10, 3), 0.33)])
def test_sparse_has_exact_zero_counts(shape, sparsity):
    w = fastinit.sparse(shape, sparsity=sparsity, std=0.5, rng=13)
    expected = math.ceil(sparsity * shape[0])
    np.testing.assert_array_equal((w == 0).sum(axis=0), np.full(shape[1], expected))
    again = fastinit.sparse(shape, sparsity=sparsity, std=0.5, rng=13)
    np.testing.assert_array_equal(bits(w), bits(again))


def test_sparse_statistics():
    w = fastinit.sparse((1000, 500), sparsity=0.25, std=0.02, rng=14).astype(np.float64)
    nz = w[w != 0]
    assert nz.size == 750 * 500
    assert _close(_std(nz), 0.02)
    rows_hit = (w == 0).mean(axis=1)  # each row is zeroed in ~25% of columns
    assert abs(rows_hit.mean() - 0.25) < 1e-12 and rows_hit.std() < 0.05


@pytest.mark.parametrize("nonlinearity", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                          "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
@pytest.mark.parametrize("param", [None, 0.2, 1, 3.0])
def test_calculate_gain_is_torchs(nonlinearity, param):
    assert fastinit.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("nonlinearity,param,msg", [("leaky_relu", True, "not a valid number"),
                                                    ("leaky_relu", "x", "not a valid number"),
                                                    ("softplus", None, "Unsupported nonlinearity")])
def test_calculate_gain_errors_are_torchs(nonlinearity, param, msg):
    with pytest.raises(ValueError, match=msg):
        torch.nn.init.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError, match=msg):
        fastinit.calculate_gain(nonlinearity, param)


_TS = fastinit._initializers.draws.TRUNCATED_STD
# name: (call, bounds (low, high, high_is_closed) or None)
RANDOM = {
    "xavier_uniform": (lambda **k: fastinit.xavier_uniform((300, 200), **k), (-math.sqrt(6 / 500), math.sqrt(6 / 500), False)),
    "xavier_normal": (lambda **k: fastinit.xavier_normal((300, 200), **k), None),
    "he_uniform": (lambda **k: fastinit.he_uniform((300, 200), **k), (-math.sqrt(6 / 200), math.sqrt(6 / 200), False)),
    "he_normal": (lambda **k: fastinit.he_normal((300, 200), **k), None),
    "he_normal_truncated": (lambda **k: fastinit.he_normal((300, 200), truncated=True, **k),
                            (-2 * math.sqrt(2 / 200) / _TS, 2 * math.sqrt(2 / 200) / _TS, True)),
    "lecun_uniform": (lambda **k: fastinit.lecun_uniform((300, 200), **k), (-math.sqrt(3 / 200), math.sqrt(3 / 200), False)),
    "lecun_normal": (lambda **k: fastinit.lecun_normal((300, 200), **k), None),
    "variance_scaling": (lambda **k: fastinit.variance_scaling((300, 200), **k),
                         (-2 * math.sqrt(1 / 200) / _TS, 2 * math.sqrt(1 / 200) / _TS, True)),
    "truncated_normal": (lambda **k: fastinit.truncated_normal((300, 200), mean=0.0, std=0.02, a=-0.04, b=0.04, **k), (-0.04, 0.04, True)),
    "uniform": (lambda **k: fastinit.uniform((300, 200), low=-0.1, high=0.1, **k), (-0.1, 0.1, False)),
    "normal": (lambda **k: fastinit.normal((300, 200), mean=0.0, std=0.02, **k), None),
    "sparse": (lambda **k: fastinit.sparse((300, 200), sparsity=0.2, **k), None),
}


@pytest.mark.parametrize("name", RANDOM)
@pytest.mark.parametrize("half", [np.float16, "bfloat16"])
def test_half_precision_is_float32_rounded_once(name, half):
    """A half-precision output is the float32 output rounded once to nearest
    even, except where that rounding would leave the requested bounds: there
    it is the nearest value inside them."""
    dt = fastinit._validate.as_dtype(half)
    call, bounds = RANDOM[name]
    x32 = call(rng=21, stream="w", dtype=np.float32)
    xh = call(rng=21, stream="w", dtype=dt)
    assert xh.dtype == dt
    want = x32.astype(dt)
    if bounds is None:
        np.testing.assert_array_equal(bits(xh), bits(want))
        return
    low, high, closed = bounds
    w64 = want.astype(np.float64)
    outside = (w64 < low) | ((w64 > high) if closed else (w64 >= high))
    np.testing.assert_array_equal(bits(xh)[~outside], bits(want)[~outside])
    got = xh.astype(np.float64)
    assert (got >= low).all() and ((got <= high) if closed else (got < high)).all()
    # the replaced ones sit on the innermost representable bound, one step in
    inner = {float(v) for v in got[outside]}
    assert inner <= {got.min(), got.max()}
    assert outside.mean() < 0.01


@pytest.mark.parametrize("name", RANDOM)
def test_float32_default_out_and_generator_methods(name):
    x = RANDOM[name][0](rng=5)
    assert x.dtype == np.float32 and x.shape == (300, 200)
    out = np.zeros((300, 200), dtype=np.float32)
    assert RANDOM[name][0](rng=5, out=out) is out
    np.testing.assert_array_equal(bits(out), bits(x))


def test_generator_methods_equal_module_functions():
    shape = (64, 32, 3, 3)
    assert bits(fastinit.default_rng(7).he_normal(shape)).tolist() == bits(fastinit.he_normal(shape, rng=7)).tolist()
    g = fastinit.default_rng(7)
    first, second = g.kaiming_normal(shape), g.kaiming_normal(shape)
    assert not np.array_equal(first, second)  # sequential draws move on
    np.testing.assert_array_equal(g.he_normal(shape, stream="conv.weight"),
                                  fastinit.he_normal(shape, rng=7, stream="conv.weight"))
    assert g.zeros((2, 2)).sum() == 0 and g.ones((2,)).sum() == 2


def test_constants():
    assert (fastinit.constant((3, 4), value=0.1) == np.float32(0.1)).all()
    assert (fastinit.constant((3,), value=0.1, dtype=np.float16) == np.float16(0.1)).all()
    assert fastinit.zeros((2, 3), dtype=np.float64).dtype == np.float64
    out = np.full((4, 5), 7.0, dtype=np.float32)[:, ::2]
    fastinit.ones(out=out)
    assert (out == 1).all()
    with pytest.raises(OverflowError, match="overflows float16"):
        fastinit.constant((2,), value=1e6, dtype=np.float16)


def test_zero_size_tensors_are_a_no_op():
    for f in (fastinit.he_normal, fastinit.xavier_uniform, fastinit.orthogonal, fastinit.lecun_normal):
        x = f((0, 5), rng=0)
        assert x.shape == (0, 5)
    g = fastinit.default_rng(0)
    g.he_normal((0, 10))
    assert g.position == 0


# ------------------------------------------------------------------ errors

SENTINEL = 3.25


def _buf(dtype=np.float32, shape=(8, 6)):
    return np.full(shape, SENTINEL, dtype=dtype)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda o: fastinit.he_normal(out=o[0]), ValueError, "fewer than 2 dimensions"),
    (lambda o: fastinit.xavier_uniform(out=o[0]), ValueError, "fewer than 2 dimensions"),
    (lambda o: fastinit.he_normal(out=o, mode="fan_avg"), ValueError, "Mode fan_avg not supported"),
    (lambda o: fastinit.he_uniform(out=o, nonlinearity="gelu"), ValueError, "Unsupported nonlinearity gelu"),
    (lambda o: fastinit.he_uniform(out=o, a="x"), ValueError, "negative_slope x not a valid number"),
    (lambda o: fastinit.xavier_normal(out=o, layout="jax"), ValueError, "layout must be one of"),
    (lambda o: fastinit.variance_scaling(out=o, distribution="cauchy"), ValueError, "distribution must be one of"),
    (lambda o: fastinit.variance_scaling(out=o, mode="fan_max"), ValueError, "mode must be one of"),
    (lambda o: fastinit.variance_scaling(out=o, scale=0), ValueError, "scale must be positive"),
    (lambda o: fastinit.truncated_normal(out=o, a=1, b=1), ValueError, "a < b"),
    (lambda o: fastinit.truncated_normal(out=o, a=2, b=-2), ValueError, "a < b"),
    (lambda o: fastinit.truncated_normal(out=o, std=-1), ValueError, "std must be non-negative"),
    (lambda o: fastinit.truncated_normal(out=o, mean=np.nan), ValueError, "mean must be finite"),
    (lambda o: fastinit.truncated_normal(out=o, b=np.inf), ValueError, "b must be finite"),
    (lambda o: fastinit.truncated_normal(out=o, a=50, b=60), ValueError, "too far in the tail"),
    (lambda o: fastinit.uniform(out=o, low=1, high=0), ValueError, "low must not exceed high"),
    (lambda o: fastinit.normal(out=o, std=-0.1), ValueError, "std must be non-negative"),
    (lambda o: fastinit.sparse(out=o, sparsity=1.5), ValueError, "sparsity must be in"),
    (lambda o: fastinit.sparse(out=o, sparsity=-0.1), ValueError, "sparsity must be in"),
    (lambda o: fastinit.sparse(out=o.reshape(2, 4, 6), sparsity=0.1), ValueError, "Only tensors with 2 dimensions"),
    (lambda o: fastinit.dirac(out=o), ValueError, "Only tensors with 3, 4, or 5 dimensions"),
    (lambda o: fastinit.dirac(out=o.reshape(4, 2, 6), groups=3), ValueError, "divisible by groups"),
    (lambda o: fastinit.eye(out=o.reshape(2, 4, 6)), ValueError, "Only tensors with 2 dimensions"),
    (lambda o: fastinit.orthogonal(out=o[0]), ValueError, "2 or more dimensions"),
    (lambda o: fastinit.he_normal(out=o, fan_in=0), ValueError, "fan_in must be at least 1"),
    (lambda o: fastinit.xavier_normal(out=o, gain=np.inf), ValueError, "gain must be finite"),
    (lambda o: fastinit.he_normal(out=o, dtype=np.float64), TypeError, "wrong dtype"),
    (lambda o: fastinit.he_normal((6, 8), out=o), ValueError, "shape must match out.shape"),
    (lambda o: fastinit.he_normal(), TypeError, "give a shape or out="),
])
def test_bad_input_leaves_the_buffer_untouched(call, exc, msg):
    o = _buf()
    with pytest.raises(exc, match=msg):
        call(o)
    assert (o == SENTINEL).all()


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.complex64, np.bool_])
@pytest.mark.parametrize("f", [fastinit.he_normal, fastinit.zeros, fastinit.orthogonal, fastinit.xavier_uniform])
def test_integer_or_complex_out_is_a_type_error(f, dtype):
    o = np.ones((4, 4), dtype=dtype)
    with pytest.raises(TypeError, match="unsupported dtype"):
        f(out=o)
    assert (o == 1).all()


def test_fan_overrides():
    w = fastinit.he_normal((10,), fan_in=10_000, rng=0)  # 1-d is fine when fans are given
    assert w.shape == (10,)
    x = fastinit.xavier_normal((1024, 512), fan_in=100, fan_out=100, rng=1)
    _check_normal(x, math.sqrt(2 / 200))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, "bfloat16"], ids=str)
def test_large_constant_fills(simd, dtype):
    """Beyond fastinit._backends.cpu.STREAM_STORES_FROM bytes constants go out in
    non-temporal stores; every element still gets the value, from any start."""
    dt = fastinit._validate.as_dtype(dtype)
    n = fastinit._backends.cpu.STREAM_STORES_FROM // dt.itemsize + 4099
    base = np.full(n + 3, 9, dtype=dt)
    view = base[3:]  # not aligned to a vector
    fastinit.constant(out=view, value=-0.3)
    assert (view == np.array(-0.3, dtype=dt)).all() and (base[:3] == 9).all()
    fastinit.zeros(out=base)
    assert not base.astype(np.float32).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "bfloat16"], ids=str)
def test_large_bounded_fills_stay_in_bounds(dtype):
    """Fills past fastinit._backends.cpu.HUGEPAGES_FROM bytes (advised to use huge
    pages first) keep their clamp bounds."""
    dt = fastinit._validate.as_dtype(dtype)
    n = fastinit._backends.cpu.HUGEPAGES_FROM // dt.itemsize + 5
    u = fastinit.uniform((n,), low=-0.5, high=0.5, dtype=dt, rng=0).astype(np.float64)
    assert u.min() >= -0.5 and u.max() < 0.5 and abs(u.mean()) < 1e-3
    t = fastinit.truncated_normal((n,), mean=0.0, std=1.0, a=-1.0, b=0.5, dtype=dt, rng=0).astype(np.float64)
    assert t.min() >= -1.0 and t.max() <= 0.5 and t.min() < -0.99 and t.max() > 0.49


@pytest.mark.parametrize("name", ["he_normal", "kaiming_normal", "glorot_uniform", "truncated_normal", "sparse"])
def test_an_unknown_keyword_names_the_module_function(name):
    with pytest.raises(TypeError, match=rf"^fastinit\.{name}\(\) got an unexpected keyword argument 'bogus'$"):
        getattr(fastinit, name)((4, 4), rng=0, bogus=1)


def test_an_unknown_keyword_names_the_generator_method():
    with pytest.raises(TypeError, match=r"^Generator\.he_normal\(\) got an unexpected keyword argument 'bogus'$"):
        fastinit.default_rng(0).he_normal((4, 4), bogus=1)
