"""fastinit.Generator mirrors numpy.random.Generator: every behaviour the
README claims is checked here against NumPy itself, side by side, and every
deliberate difference is asserted as such."""

import ml_dtypes
import numpy as np
import pytest

import fastinit
from reference import bits

DTYPES = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16]


def _both(call):
    """(NumPy's outcome, fastinit's outcome): a value's shape or the exception type."""
    res = []
    for g in (np.random.default_rng(0), fastinit.default_rng(0)):
        try:
            r = call(g)
            res.append(("ok", np.shape(r)))
        except Exception as exc:  # noqa: BLE001 - the type is what is compared
            res.append((type(exc).__mro__, None))
    return res


SAME_AS_NUMPY = {
    "spawn(0)": lambda g: g.spawn(0),
    "size=True": lambda g: g.random(size=True),
    "size=(True, 2)": lambda g: g.random(size=(True, 2)),
    "size=-1": lambda g: g.random(size=-1),
    "size=1.5": lambda g: g.standard_normal(size=1.5),
    "uniform(True, 2)": lambda g: g.uniform(True, 2),
    "uniform('0', 1)": lambda g: g.uniform("0", 1),
    "uniform(0, inf)": lambda g: g.uniform(0, np.inf),
    "uniform(-inf, 0)": lambda g: g.uniform(-np.inf, 0),
    "uniform(0, nan)": lambda g: g.uniform(0, np.nan),
    "uniform(-1e308, 1e308)": lambda g: g.uniform(-1e308, 1e308, 3),
    "uniform(2, 1)": lambda g: g.uniform(2, 1),
    "normal(0, -1)": lambda g: g.normal(0, -1),
    "normal(0j, 1)": lambda g: g.normal(0j, 1),
    "out=list": lambda g: g.random(out=[1.0]),
    "out=int32": lambda g: g.random(out=np.zeros(3, np.int32)),
    "out=byte-swapped": lambda g: g.random(out=np.zeros(3, ">f8")),
    "size != out.shape": lambda g: g.random(3, out=np.zeros(4)),
    "arrays broadcast": lambda g: g.normal([0, 1, 2], [[1], [2]]),
    "arrays and size": lambda g: g.normal([0, 1, 2], 1, size=(2, 3)),
    "arrays against a smaller size": lambda g: g.normal([0, 1, 2], 1, size=(2, 2)),
    "uniform arrays": lambda g: g.uniform([0, 1], [[1], [2], [3]]),
    "uniform arrays low > high": lambda g: g.uniform(np.array([1.0]), 0.5),
    "uniform array with inf": lambda g: g.uniform([0, 0], [1, np.inf]),
    "normal array scale < 0": lambda g: g.normal([0, 1, 2], [1, -1, 1]),
    "uniform string array": lambda g: g.uniform(["0", "1"], 2),
}


@pytest.mark.parametrize("case", SAME_AS_NUMPY)
def test_same_outcome_as_numpy(case):
    np_res, fi_res = _both(SAME_AS_NUMPY[case])
    if np_res[0] == "ok":
        assert fi_res == np_res
    else:  # fastinit's exception is (a subclass of) NumPy's
        assert fi_res[0] != "ok" and np_res[0][0] in fi_res[0], (np_res, fi_res)


def test_readonly_out_is_a_value_error_as_numpy():
    ro = np.zeros(3)
    ro.flags.writeable = False
    for g in (np.random.default_rng(0), fastinit.default_rng(0)):
        with pytest.raises(ValueError):
            g.random(out=ro)


def test_deliberate_differences_from_numpy():
    g = fastinit.default_rng(0)
    # NumPy refuses a non-contiguous out; fastinit fills it with a contiguous fill's values
    with pytest.raises(ValueError):
        np.random.default_rng(0).random(out=np.zeros(8)[::2])
    x = np.zeros(8)
    g.random(out=x[::2], stream=1)
    np.testing.assert_array_equal(x[::2], g.random(4, stream=1))
    # NumPy returns NaN for a NaN loc; fastinit refuses to fill NaN weights
    assert np.isnan(np.random.default_rng(0).normal(np.nan, 1))
    with pytest.raises(ValueError, match="loc"):
        g.normal(np.nan, 1)
    # float16 and bfloat16 outputs (NumPy has neither for random)
    with pytest.raises(TypeError):
        np.random.default_rng(0).random(3, dtype=np.float16)
    assert g.random(3, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_array_parameters_give_each_element_its_scalar_value(dtype):
    """Element i takes its word(s) as always; its parameters are applied with
    the scalar path's operations: equal bits to the scalar call."""
    g = fastinit.default_rng(11)
    low, high = np.array([-1.0, 0.25, 3.0, 1e-3]), np.array([[2.0], [0.5]]) + np.array([0, 0, 3, 0])
    x = g.uniform(low, high, dtype=dtype, stream=5)
    assert x.shape == (2, 4)
    for i in range(2):
        for j in range(4):
            want = g.uniform(low[j], high[i, j], size=(2, 4), dtype=dtype, stream=5)[i, j]
            assert bits(np.array([x[i, j]], dtype=dtype)) == bits(np.array([want], dtype=dtype))
    loc, scale = np.array([0.0, 1.0, -2.0]), np.array([[1.0], [0.5], [0.0]])
    y = g.normal(loc, scale, size=(3, 3), dtype=dtype, stream=6)
    for i in range(3):
        for j in range(3):
            want = g.normal(loc[j], scale[i, 0], size=(3, 3), dtype=dtype, stream=6)[i, j]
            assert bits(np.array([y[i, j]], dtype=dtype)) == bits(np.array([want], dtype=dtype))


def test_array_parameters_advance_the_position_like_scalars():
    g, h = fastinit.default_rng(4), fastinit.default_rng(4)
    a = g.normal(np.arange(6.0), 2.0, dtype=np.float32)
    b = h.normal(0.0, 2.0, 6, dtype=np.float32)
    np.testing.assert_allclose(a - np.arange(6.0, dtype=np.float32), b, atol=1e-6)  # the same words
    assert g.position == h.position
    np.testing.assert_array_equal(g.random(5), h.random(5))


def test_array_parameters_into_out_and_errors_leave_it_untouched():
    g = fastinit.default_rng(1)
    out = np.full((2, 3), 7.0)
    with pytest.raises(ValueError):
        g.normal([0, 1, 2], [1, -1, 1], out=out)
    assert (out == 7).all()
    r = g.normal([0, 1, 2], 1.0, out=out)
    assert r is out and (out != 7).all()


def test_random_raw_stream_none_is_stream_zero():
    g = fastinit.default_rng(2)
    np.testing.assert_array_equal(g.random_raw(4, stream=None), g.random_raw(4, stream=0))


def test_slice_step_beyond_the_axis_works_as_numpy():
    full = fastinit.he_normal((4, 8), rng=0)
    for index in [(slice(None, None, 2**62),), (slice(None), slice(1, None, 2**62)), (slice(3, 0, -(2**62)),)]:
        part = fastinit.he_normal(global_shape=(4, 8), index=index, rng=0)
        np.testing.assert_array_equal(part, full[index])


def test_a_stream_name_that_is_not_text_names_the_stream():
    with pytest.raises(ValueError, match="stream"):
        fastinit.default_rng(0).standard_normal(4, stream="\ud800")
    with pytest.raises(ValueError, match="stream"):
        fastinit.he_normal((4, 4), rng=0, stream="layer\udcff")
