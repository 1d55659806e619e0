"""Bad input raises a clear error naming the argument, before any byte of
the caller's buffer is written."""

import numpy as np
import pytest

import fastinit
from reference import bits

SENTINEL = 1234.5


def _buffer(dtype=np.float32, shape=(4, 5)):
    return np.full(shape, SENTINEL, dtype=dtype)


def _unchanged(buf):
    return bool((buf.astype(np.float64) == SENTINEL).all())


rng = fastinit.default_rng(0)
METHODS = {
    "random": lambda **kw: rng.random(**kw),
    "uniform": lambda **kw: rng.uniform(0, 1, **kw),
    "standard_normal": lambda **kw: rng.standard_normal(**kw),
    "normal": lambda **kw: rng.normal(0, 1, **kw),
}


@pytest.mark.parametrize("method", METHODS)
class TestOut:
    def test_wrong_dtype(self, method):
        buf = _buffer(np.float32)
        with pytest.raises(TypeError, match="out has the wrong dtype; expected float64, got float32"):
            METHODS[method](out=buf, dtype=np.float64)
        assert _unchanged(buf)

    def test_byteswapped_dtype(self, method):
        buf = _buffer(np.dtype(">f4"))
        with pytest.raises(ValueError, match="non-native byte order"):  # NumPy: ValueError too
            METHODS[method](out=buf)
        with pytest.raises(ValueError, match="non-native byte order"):
            METHODS[method](out=buf, dtype=np.float32)
        assert _unchanged(buf)

    @pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.bool_, np.complex64])
    def test_non_float_out(self, method, dtype):
        buf = np.zeros((3,), dtype=dtype)
        before = buf.copy()
        with pytest.raises(TypeError, match="out has unsupported dtype"):
            METHODS[method](out=buf)
        np.testing.assert_array_equal(buf, before)

    def test_size_mismatch(self, method):
        buf = _buffer()
        with pytest.raises(ValueError, match="size must match out.shape"):
            METHODS[method](out=buf, size=(5, 4))
        with pytest.raises(ValueError, match="size must match out.shape"):
            METHODS[method](out=buf, size=20)
        assert _unchanged(buf)

    def test_read_only(self, method):
        buf = _buffer()
        buf.flags.writeable = False
        with pytest.raises(ValueError, match="out is read-only"):
            METHODS[method](out=buf)
        assert _unchanged(buf)

    @pytest.mark.parametrize("bad", [[1.0, 2.0], (1.0,), 3.0, "x", memoryview(bytearray(8))], ids=type)
    def test_not_an_array(self, method, bad):
        with pytest.raises(ValueError, match="out must be a numpy.ndarray"):  # as NumPy
            METHODS[method](out=bad)

    def test_matching_size_and_dtype_are_fine(self, method):
        buf = _buffer()
        assert METHODS[method](out=buf, size=(4, 5), dtype=np.float32) is buf
        assert not _unchanged(buf)


@pytest.mark.parametrize("size,exc,msg", [
    (-1, ValueError, "negative dimensions"),
    ((3, -2), ValueError, "negative dimensions"),
    (2.5, TypeError, "size must be an int or a tuple of ints"),
    ("3", TypeError, "size must be an int or a tuple of ints"),
    ((2**40, 2**40), ValueError, "too many elements"),
    ((1,) * 65, ValueError, "at most 64"),
])
def test_bad_size(size, exc, msg):
    with pytest.raises(exc, match=msg):
        rng.standard_normal(size)


@pytest.mark.parametrize("dtype", [np.int32, "complex64", np.uint8, ">f8", "not-a-dtype"])
def test_bad_dtype(dtype):
    with pytest.raises(TypeError, match="dtype"):
        rng.standard_normal(3, dtype=dtype)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda b: rng.uniform(np.nan, 1, out=b), OverflowError, "range exceeds valid bounds"),
    (lambda b: rng.uniform(0, np.inf, out=b), OverflowError, "range exceeds valid bounds"),
    (lambda b: rng.uniform(2, 1, out=b), ValueError, "low must not exceed high"),
    (lambda b: rng.uniform(-3e38, 3e38, out=b), OverflowError, "high - low"),
    (lambda b: rng.uniform(1 + 2**-25, 1 + 2**-24, out=b), ValueError, "no float32 value lies in"),
    (lambda b: rng.uniform([0, 1], 2, out=b), ValueError, "shape mismatch"),
    (lambda b: rng.uniform("a", 2, out=b), TypeError, "low must be a real number"),
    (lambda b: rng.uniform(1j, 2, out=b), TypeError, "low must be a real number"),
    (lambda b: rng.normal(0, -1, out=b), ValueError, "scale must be non-negative"),
    (lambda b: rng.normal(np.inf, 1, out=b), ValueError, "loc must be finite"),
    (lambda b: rng.normal(0, np.nan, out=b), ValueError, "scale must be finite"),
    (lambda b: rng.normal(None, 1, out=b), TypeError, "loc must be a real number"),
    (lambda b: rng.normal("0", 1, out=b), TypeError, "loc must be a real number"),
    (lambda b: rng.normal(0, 1, out=b, stream=-1), ValueError, "stream must be in"),
    (lambda b: rng.normal(0, 1, out=b, stream=2**64), ValueError, "stream must be in"),
    (lambda b: rng.normal(0, 1, out=b, stream=1.5), TypeError, "stream must be an int or a str"),
    (lambda b: rng.normal(0, 1, out=b, start=-1), ValueError, "start must be non-negative"),
    (lambda b: rng.normal(0, 1, out=b, start=2**64 - 10), ValueError, "past the end of the stream"),
    (lambda b: rng.normal(0, 1, out=b, start=1.0), TypeError, "start must be an int"),
])
def test_bad_parameters_leave_out_untouched(call, exc, msg):
    buf = _buffer()
    with pytest.raises(exc, match=msg):
        call(buf)
    assert _unchanged(buf)


def test_random_raw_arguments():
    with pytest.raises(TypeError, match="size is required"):
        rng.random_raw(None)
    with pytest.raises(ValueError, match="past the end"):
        rng.random_raw(11, start=2**64 - 10)
    assert rng.random_raw(10, start=2**64 - 10).shape == (10,)
    with pytest.raises(ValueError, match="stream must be in"):
        rng.random_raw(3, stream=2**64)


@pytest.mark.parametrize("seed,exc", [
    (-1, ValueError), (1.5, TypeError), (True, TypeError), ("abc", TypeError),
    (np.random.default_rng(0), TypeError), (np.random.PCG64(0), TypeError),
])
def test_bad_seeds(seed, exc):
    with pytest.raises(exc, match="default_rng"):
        fastinit.default_rng(seed)


def test_uniform_with_equal_bounds_is_constant():
    buf = _buffer()
    rng.uniform(0.25, 0.25, out=buf)
    assert (buf == 0.25).all()


def test_errors_do_not_advance_the_generator():
    g = fastinit.default_rng(3)
    with pytest.raises(ValueError):
        g.normal(0, -1, 10)
    assert g.position == 0
    assert bits(g.random(4, dtype=np.float32)).tolist() == bits(fastinit.default_rng(3).random(4, dtype=np.float32)).tolist()
