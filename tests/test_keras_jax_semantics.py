"""layout="keras" means Keras 3's and jax.nn.initializers' semantics: the
fans (0-d and 1-d shapes included), the std or limit each fan-based
initializer uses (read from Keras' and JAX's own code, by recording what
their initializers pass to their random functions), the truncation cut,
orthogonal's flattening and delta_orthogonal's structure.  Values cannot
match (other generators); laws and structure do."""

import math
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

jax = pytest.importorskip("jax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
    pytest.skip("keras was imported with another backend", allow_module_level=True)

import jax.numpy as jnp
from jax._src.nn import initializers as jax_init
from keras.src.initializers import random_initializers as keras_init

import fastinit
from fastinit._initializers import draws as fi_draws

TRUNC = 0.87962566103423978
SHAPES = [(), (7,), (5, 3), (3, 4, 6), (3, 3, 4, 5), (2, 3, 3, 4, 6)]


def _torch_layout(shape):
    """The torch-layout shape (out, in, *kernel) of a Keras-layout (*kernel, in, out)."""
    return (shape[-1], shape[-2], *shape[:-2])


# ------------------------------------------------------------------- fans


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_keras_layout_fans_are_keras_compute_fans(shape):
    assert fastinit.compute_fans(shape, "keras") == keras_init.compute_fans(shape)
    if len(shape) >= 2:  # JAX refuses fewer than 2 dimensions with its default axes
        assert fastinit.compute_fans(shape, "keras") == jax_init._compute_fans(shape)
    else:
        with pytest.raises(ValueError):
            jax_init._compute_fans(shape)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_torch_layout_fans_are_keras_fans_of_the_transposed_kernel(shape):
    if len(shape) < 2:
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            fastinit.compute_fans(shape, "torch")
        return
    tshape = _torch_layout(shape)
    assert fastinit.compute_fans(tshape, "torch") == keras_init.compute_fans(shape)
    assert fastinit.compute_fans(tshape, "torch") == jax_init._compute_fans(tshape, in_axis=1, out_axis=0)


AXES = [  # shape, in_axis, out_axis, batch_axis
    ((3, 3, 4, 5), -2, -1, ()),
    ((3, 3, 4, 5), (0, 1), -1, ()),
    ((3, 3, 4, 5), 2, 3, 0),
    ((2, 3, 4, 5, 6), (1, 2), 4, (0,)),
    ((6, 5, 4), 0, (1, 2), ()),
    ((8, 4, 3, 3), 1, 0, ()),
    ((7,), 0, (), ()),  # explicit axes: a vector's fans are JAX's
]


@pytest.mark.parametrize("shape,in_axis,out_axis,batch_axis", AXES, ids=str)
def test_axes_give_jax_compute_fans(shape, in_axis, out_axis, batch_axis):
    got = fastinit.compute_fans(shape, "keras", in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    assert got == jax_init._compute_fans(shape, in_axis, out_axis, batch_axis)
    # the axes replace the layout's
    assert got == fastinit.compute_fans(shape, "torch", in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)


def test_keras_input_output_axes_are_jax_axes_with_the_rest_as_batch():
    """Keras' input_axes/output_axes have no receptive field: the other axes
    are ignored, which is batch_axis= for every other axis."""
    shape = (3, 3, 4, 5)
    assert keras_init.compute_fans(shape, input_axes=[2], output_axes=[3]) == \
        fastinit.compute_fans(shape, "keras", in_axis=2, out_axis=3, batch_axis=(0, 1))


@pytest.mark.parametrize("kwargs,name", [
    (dict(in_axis=4), "in_axis"), (dict(out_axis=-5), "out_axis"), (dict(batch_axis=(0, 0)), "batch_axis"),
    (dict(in_axis=0, out_axis=0), "in_axis"), (dict(in_axis=0, batch_axis=0), "batch_axis"),
    (dict(in_axis=1.5), "in_axis"), (dict(out_axis="x"), "out_axis"), (dict(in_axis=True), "in_axis"),
], ids=str)
def test_bad_axes_are_value_errors_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        fastinit.compute_fans((3, 3, 4, 5), "keras", **kwargs)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        fastinit.variance_scaling((3, 3, 4, 5), layout="keras", rng=0, **kwargs)


def test_a_vector_with_one_axis_given_names_the_missing_one():
    with pytest.raises(ValueError, match=r"\bout_axis\b"):
        fastinit.compute_fans((7,), "keras", in_axis=0)


# ------------------------------------------- stds and limits, from their code


class _Recorder:
    """What an initializer asks of its random functions: ("truncated", std,
    lo, hi) or ("normal", std) or ("uniform", lo, hi)."""

    def __init__(self):
        self.calls = []


@pytest.fixture
def fi_params(monkeypatch):
    """fastinit's request parameters (the draws constructors, wrapped)."""
    rec = _Recorder()
    real_n, real_u, real_t = fi_draws.normal, fi_draws.uniform, fi_draws.truncated_normal

    def normal(mean, std, dt, truncated=False):
        if not truncated:
            rec.calls.append(("normal", std))
        return real_n(mean, std, dt, truncated)

    def truncated_normal(mean, std, a, b, dt):
        rec.calls.append(("truncated", std, a, b))
        return real_t(mean, std, a, b, dt)

    def uniform(low, high, dt):
        rec.calls.append(("uniform", low, high))
        return real_u(low, high, dt)

    monkeypatch.setattr(fi_draws, "normal", normal)
    monkeypatch.setattr(fi_draws, "truncated_normal", truncated_normal)
    monkeypatch.setattr(fi_draws, "uniform", uniform)

    def run(fn, shape, **kw):
        rec.calls.clear()
        fn(shape, rng=0, dtype=np.float64, **kw)
        (call,) = rec.calls
        return call

    return run


@pytest.fixture
def keras_params(monkeypatch):
    """Keras' (keras.src.random replaced by a recorder in its initializers)."""
    rec = _Recorder()

    real = keras_init.random

    class Random:
        def __getattr__(self, name):  # seeds and the rest: Keras' own
            return getattr(real, name)

        @staticmethod
        def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
            rec.calls.append(("truncated", stddev, mean - 2 * stddev, mean + 2 * stddev))  # keras cuts at 2 std
            return np.zeros(shape)

        @staticmethod
        def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
            rec.calls.append(("normal", stddev))
            return np.zeros(shape)

        @staticmethod
        def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
            rec.calls.append(("uniform", minval, maxval))
            return np.zeros(shape)

    monkeypatch.setattr(keras_init, "random", Random())

    def run(initializer, shape):
        rec.calls.clear()
        initializer(shape)
        (call,) = rec.calls
        return call

    return run


@pytest.fixture
def jax_params(monkeypatch):
    """JAX's: its random functions replaced by ones returning 1, the
    initializer's output is then the factor it scales them by; the cut of
    its truncated normal is recorded."""
    rec = _Recorder()

    class Random:
        @staticmethod
        def truncated_normal(key, lower, upper, shape, dtype, out_sharding=None):
            rec.calls.append(("truncated", float(lower), float(upper)))
            return jnp.ones(shape, dtype)

        @staticmethod
        def normal(key, shape, dtype, out_sharding=None):
            rec.calls.append(("normal",))
            return jnp.ones(shape, dtype)

        @staticmethod
        def uniform(key, shape, dtype, minval=0.0, maxval=1.0, out_sharding=None):
            rec.calls.append(("uniform", float(minval), float(maxval)))
            return jnp.ones(shape, dtype)

    monkeypatch.setattr(jax_init, "random", Random)

    def run(initializer, shape):
        rec.calls.clear()
        factor = float(np.asarray(initializer(None, shape, jnp.float32)).reshape(-1)[0])
        (call,) = rec.calls
        if call[0] == "truncated":  # N(0, 1) cut at [lower, upper], times factor
            return ("truncated", factor, call[1] * factor, call[2] * factor)
        if call[0] == "normal":
            return ("normal", factor)
        return ("uniform", call[1] * factor, call[2] * factor)

    return run


def _same(got, want, rel):
    assert got[0] == want[0], (got, want)
    assert got[1:] == pytest.approx(want[1:], rel=rel), (got, want)


KERAS_SHAPES = [(), (7,), (5, 3), (3, 4, 6), (3, 3, 4, 5), (2, 3, 3, 4, 6)]
KERAS_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


@pytest.mark.parametrize("shape", KERAS_SHAPES, ids=str)
@pytest.mark.parametrize("mode", ("fan_in", "fan_out", "fan_avg"))
@pytest.mark.parametrize("distribution", KERAS_DISTRIBUTIONS)
def test_variance_scaling_is_keras(fi_params, keras_params, shape, mode, distribution):
    want = keras_params(keras_init.VarianceScaling(scale=1.7, mode=mode, distribution=distribution), shape)
    got = fi_params(fastinit.variance_scaling, shape, scale=1.7, mode=mode, distribution=distribution,
                    layout="keras")
    _same(got, want, 1e-15)


def test_keras_normal_is_truncated_where_fastinit_follows_jax(fi_params, keras_params):
    """Keras maps distribution='normal' to 'truncated_normal'; JAX (and
    fastinit) draw an untruncated normal for 'normal'."""
    shape = (3, 3, 4, 5)
    want = keras_params(keras_init.VarianceScaling(distribution="normal"), shape)
    _same(fi_params(fastinit.variance_scaling, shape, distribution="truncated_normal", layout="keras"), want, 1e-15)
    assert fi_params(fastinit.variance_scaling, shape, distribution="normal", layout="keras")[0] == "normal"


KERAS_NAMED = [  # Keras initializer, fastinit function, its arguments
    (keras_init.GlorotUniform, fastinit.glorot_uniform, {}),
    (keras_init.GlorotNormal, fastinit.glorot_normal, dict(truncated=True)),
    (keras_init.HeUniform, fastinit.he_uniform, {}),
    (keras_init.HeNormal, fastinit.he_normal, dict(truncated=True)),
    (keras_init.LecunUniform, fastinit.lecun_uniform, {}),
    (keras_init.LecunNormal, fastinit.lecun_normal, dict(truncated=True)),
]


@pytest.mark.parametrize("shape", KERAS_SHAPES, ids=str)
@pytest.mark.parametrize("keras_cls,fn,kw", KERAS_NAMED, ids=lambda x: getattr(x, "__name__", ""))
def test_glorot_he_lecun_are_keras(fi_params, keras_params, shape, keras_cls, fn, kw):
    want = keras_params(keras_cls(), shape)
    _same(fi_params(fn, shape, layout="keras", **kw), want, 1e-14)


JAX_CASES = [  # shape, in_axis, out_axis, batch_axis
    ((5, 3), -2, -1, ()),
    ((3, 3, 4, 5), -2, -1, ()),
    ((2, 3, 3, 4, 6), -2, -1, ()),
    ((3, 3, 4, 5), (0, 1), -1, ()),
    ((2, 3, 4, 5, 6), (1, 2), 4, 0),
    ((8, 4, 3, 3), 1, 0, ()),
]


@pytest.mark.parametrize("shape,in_axis,out_axis,batch_axis", JAX_CASES, ids=str)
@pytest.mark.parametrize("mode", ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"))
@pytest.mark.parametrize("distribution", ("truncated_normal", "normal", "uniform"))
def test_variance_scaling_is_jax(fi_params, jax_params, shape, in_axis, out_axis, batch_axis, mode, distribution):
    init = jax.nn.initializers.variance_scaling(0.7, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                                batch_axis=batch_axis)
    want = jax_params(init, shape)
    got = fi_params(fastinit.variance_scaling, shape, scale=0.7, mode=mode, distribution=distribution,
                    layout="keras", in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    _same(got, want, 1e-6)  # JAX computes in float32


JAX_NAMED = [
    ("glorot_uniform", fastinit.glorot_uniform, {}),
    ("glorot_normal", fastinit.glorot_normal, dict(truncated=True)),
    ("he_uniform", fastinit.he_uniform, {}),
    ("he_normal", fastinit.he_normal, dict(truncated=True)),
    ("lecun_uniform", fastinit.lecun_uniform, {}),
    ("lecun_normal", fastinit.lecun_normal, dict(truncated=True)),
]


@pytest.mark.parametrize("shape,in_axis,out_axis,batch_axis", JAX_CASES, ids=str)
@pytest.mark.parametrize("name,fn,kw", JAX_NAMED, ids=lambda x: x if isinstance(x, str) else "")
def test_glorot_he_lecun_are_jax_with_axes(fi_params, jax_params, shape, in_axis, out_axis, batch_axis, name, fn,
                                           kw):
    init = getattr(jax.nn.initializers, name)(in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    want = jax_params(init, shape)
    got = fi_params(fn, shape, layout="keras", in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis, **kw)
    _same(got, want, 1e-6)


def test_fan_geo_avg_with_fan_overrides():
    w = fastinit.variance_scaling((64, 32), mode="fan_geo_avg", distribution="uniform", fan_in=100, fan_out=400,
                                  rng=0, dtype=np.float64)
    assert np.abs(w).max() <= math.sqrt(3.0 / 200.0)


def test_fan_geo_avg_is_refused_where_the_mode_is_fixed():
    with pytest.raises(ValueError, match="fan_geo_avg"):
        fastinit.he_normal((4, 4), mode="fan_geo_avg", rng=0)


@pytest.mark.parametrize("distribution", ("truncated_normal", "normal", "uniform"))
def test_samples_have_the_std_and_cut_keras_and_jax_use(distribution):
    """Sample std of 2^18 values within 1% (sd of the estimate < 0.2%);
    truncated values inside +-2 of their std (std / 0.8796 of the scaled one).
    (JAX's and Keras' std and cut for these are checked above, from their code.)"""
    shape = (8, 8, 64, 64)  # fan_in 4096, fan_out 4096
    scale = 2.0
    fan = 4096.0
    target = math.sqrt(scale / fan)
    w = fastinit.variance_scaling(shape, scale=scale, mode="fan_geo_avg", distribution=distribution,
                                  layout="keras", rng=2026, dtype=np.float64)
    assert w.std() == pytest.approx(target, rel=0.01)
    assert abs(w.mean()) < 0.01 * target
    if distribution == "truncated_normal":
        assert np.abs(w).max() <= 2 * target / TRUNC
        assert np.abs(w).max() > 1.9 * target / TRUNC
    if distribution == "uniform":
        assert np.abs(w).max() <= math.sqrt(3) * target


@pytest.mark.parametrize("shape", [(), (1000,)], ids=str)
def test_zero_and_one_d_keras_shapes_fill(shape):
    w = fastinit.he_normal(shape, truncated=True, layout="keras", rng=0, dtype=np.float64)
    assert w.shape == shape
    fan = 1 if not shape else shape[0]
    assert np.abs(w).max() <= 2 * math.sqrt(2.0 / fan) / TRUNC
    for fn in (fastinit.glorot_uniform, fastinit.lecun_normal, fastinit.variance_scaling):
        assert fn(shape, layout="keras", rng=0).shape == shape
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            fn(shape, rng=0)


# ------------------------------------------------------------- orthogonal


def _flat(w, column_axis=-1):
    w = np.moveaxis(np.asarray(w, dtype=np.float64), column_axis, -1)
    return w.reshape(-1, w.shape[-1])


def _assert_orthonormal(m, gain=1.0, atol=1e-5):
    """Orthonormal columns (rows >= cols) or rows, times gain."""
    m = m / gain
    g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(g, np.eye(g.shape[0]), atol=atol)


ORTHO_SHAPES = [(6, 4), (4, 6), (3, 3, 4, 5), (2, 3, 40), (2, 2, 3, 3, 5), (3, 50)]
KERAS_ORTHO_SHAPES = [(3, 3, 4, 5), (2, 3, 40)]  # tall and wide after flattening


@pytest.mark.parametrize("shape", ORTHO_SHAPES, ids=str)
def test_keras_orthogonal_flattens_as_keras_and_jax(shape):
    for dtype in (np.float64, np.float32):
        w = fastinit.orthogonal(shape, layout="keras", gain=1.5, rng=3, dtype=dtype)
        _assert_orthonormal(_flat(w), 1.5)
    if shape in KERAS_ORTHO_SHAPES:  # Keras' own output has the same property (JAX's: test_column_axis_is_jax)
        _assert_orthonormal(_flat(keras.initializers.Orthogonal(gain=1.5, seed=1)(shape)), 1.5)


@pytest.mark.parametrize("shape,column_axis", [((3, 4, 5), 1), ((3, 4, 5), 0), ((20, 3, 4), -3), ((6, 4), 0)],
                         ids=str)
def test_column_axis_is_jax(shape, column_axis):
    w = fastinit.orthogonal(shape, layout="keras", column_axis=column_axis, rng=3, dtype=np.float64)
    _assert_orthonormal(_flat(w, column_axis))
    if (shape, column_axis) in (((3, 4, 5), 1), ((20, 3, 4), -3)):  # JAX's own, tall and wide (a compile each)
        j = jax.nn.initializers.orthogonal(column_axis=column_axis)(jax.random.key(1), shape)
        _assert_orthonormal(_flat(j, column_axis))


def test_keras_orthogonal_is_haar():
    """Entries of a Haar orthogonal n x n matrix have mean 0 and variance 1/n."""
    w = np.stack([fastinit.orthogonal((2, 4, 8), layout="keras", rng=s, dtype=np.float64) for s in range(400)])
    assert abs(w.mean()) < 0.01
    assert w.var() == pytest.approx(1 / 8, rel=0.05)


def test_torch_layout_orthogonal_is_unchanged():
    shape = (4, 3, 5)
    w = fastinit.orthogonal(shape, rng=2026, dtype=np.float64)
    np.testing.assert_array_equal(w, fastinit.orthogonal(shape, layout="torch", rng=2026, dtype=np.float64))
    x = fastinit.default_rng(2026).standard_normal((4, 15))
    q, r = np.linalg.qr(x.T)
    np.testing.assert_allclose(w.reshape(4, 15), (q * np.sign(np.diag(r))).T, atol=1e-12)


def test_orthogonal_layouts_take_the_same_blocks():
    g1, g2 = fastinit.default_rng(5), fastinit.default_rng(5)
    g1.orthogonal((3, 4, 5))
    g2.orthogonal((3, 4, 5), layout="keras")
    assert g1.position == g2.position


@pytest.mark.parametrize("kwargs,name,exc", [
    (dict(column_axis=3, layout="keras"), "column_axis", ValueError),
    (dict(column_axis=1.0, layout="keras"), "column_axis", ValueError),
    (dict(column_axis=0), "column_axis", ValueError),  # layout='torch' has no column axis
    (dict(layout="tf"), "layout", ValueError),
], ids=str)
def test_orthogonal_bad_arguments(kwargs, name, exc):
    with pytest.raises(exc, match=rf"\b{name}\b"):
        fastinit.orthogonal((3, 4, 5), rng=0, **kwargs)


def test_orthogonal_refuses_vectors_as_keras_and_jax():
    with pytest.raises(ValueError):
        keras.initializers.Orthogonal()((5,))
    with pytest.raises(ValueError):
        jax.nn.initializers.orthogonal()(jax.random.key(0), (5,))
    with pytest.raises(ValueError, match="2 or more dimensions"):
        fastinit.orthogonal((5,), layout="keras", rng=0)


# ------------------------------------------------------- delta_orthogonal


def _assert_delta_structure(w, scale=1.0):
    w = np.asarray(w, dtype=np.float64)
    centre = tuple((k - 1) // 2 for k in w.shape[:-2])
    rest = w.copy()
    rest[centre] = 0
    assert not rest.any(), "non-zero values off the spatial centre"
    m = w[centre] / scale
    np.testing.assert_allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-5)  # in <= out: orthonormal rows


DELTA_SHAPES = [(3, 4, 6), (2, 4, 3, 5), (3, 3, 3, 2, 5)]  # 3-, 4-, 5-d, odd and even kernels


@pytest.mark.parametrize("shape", DELTA_SHAPES, ids=str)
def test_delta_orthogonal_has_jax_structure(shape):
    j = jax.nn.initializers.delta_orthogonal(scale=1.5)(jax.random.key(0), shape)  # a compile a shape
    _assert_delta_structure(j, 1.5)
    for dtype in (np.float64, np.float32):
        w = fastinit.delta_orthogonal(shape, scale=1.5, rng=7, dtype=dtype)
        assert w.shape == shape and w.dtype == dtype
        _assert_delta_structure(w, 1.5)
        assert ((w != 0) == (np.asarray(j) != 0)).all()  # the same centre (an orthogonal matrix has no zeros)
    w = fastinit.delta_orthogonal(shape, scale=1.5, rng=7, dtype="bfloat16").astype(np.float64)
    np.testing.assert_array_equal(w, fastinit.delta_orthogonal(shape, scale=1.5, rng=7, dtype=np.float64)
                                  .astype("bfloat16").astype(np.float64))  # float64, rounded once


def test_delta_orthogonal_column_axis():
    shape = (3, 3, 4, 6)
    w = fastinit.delta_orthogonal(shape, column_axis=-2, rng=1, dtype=np.float64)
    _assert_delta_structure(w)
    j = jax.nn.initializers.delta_orthogonal(column_axis=-2)(jax.random.key(0), shape)
    _assert_delta_structure(j)
    with pytest.raises(ValueError, match=r"\bcolumn_axis\b"):
        fastinit.delta_orthogonal(shape, column_axis=0, rng=1)


@pytest.mark.parametrize("shape", [(4, 6), (8,), (2, 2, 2, 2, 3, 3), (3, 5, 4), (3, 3, 6, 4)], ids=str)
def test_delta_orthogonal_bad_shapes_raise_what_jax_raises(shape):
    with pytest.raises(Exception) as jax_err:
        jax.nn.initializers.delta_orthogonal()(jax.random.key(0), shape)
    with pytest.raises(type(jax_err.value), match=r"\bshape\b"):
        fastinit.delta_orthogonal(shape, rng=0)
    assert type(jax_err.value) is ValueError


def test_delta_orthogonal_streams_shards_and_position():
    shape = (3, 3, 8, 16)
    a = fastinit.delta_orthogonal(shape, rng=4, stream="conv.weight", dtype=np.float64)
    b = fastinit.delta_orthogonal(shape, rng=4, stream="conv.weight", dtype=np.float64)
    np.testing.assert_array_equal(a, b)
    part = fastinit.delta_orthogonal(global_shape=shape, index=(slice(None), 1, slice(2, 6)), rng=4,
                                     stream="conv.weight", dtype=np.float64)
    np.testing.assert_array_equal(part, a[:, 1, 2:6])
    g, h = fastinit.default_rng(4), fastinit.default_rng(4)
    g.delta_orthogonal(shape)
    h.standard_normal(math.prod(shape), dtype=np.float64)  # a sequential draw: the whole tensor's float64 blocks
    assert g.position == h.position


def test_delta_orthogonal_is_a_dask_function():
    fd = pytest.importorskip("fastinit.dask")
    pytest.importorskip("dask.array")
    shape = (3, 3, 4, 6)
    d = fd.delta_orthogonal(shape, chunks=(2, 2, 2, 3), rng=9, dtype=np.float64).compute()
    np.testing.assert_array_equal(d, fastinit.delta_orthogonal(shape, rng=9, dtype=np.float64))
