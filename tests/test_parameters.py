"""Every float parameter of every initializer: NaN and infinities are
ValueErrors naming the parameter, huge values either work or raise
OverflowError, and in every case the caller's buffer is untouched unless
the fill succeeds (then it holds finite values only)."""

import inspect

import numpy as np
import pytest
from scipy import stats

import fastinit
from fastinit._initializers.functions import __all__ as NAMES

# parameters that are not floats (or not the initializer's own numbers)
_NOT_FLOAT = {"shape", "out", "dtype", "rng", "stream", "start", "global_shape", "index", "layout", "mode",
              "nonlinearity", "distribution", "fan_in", "fan_out", "groups", "std_units", "truncated"}


def _float_parameters():
    for name in NAMES:
        if name in ("calculate_gain", "compute_fans"):
            continue
        for p in inspect.signature(getattr(fastinit, name)).parameters:
            if p not in _NOT_FLOAT:
                yield name, p


CASES = list(_float_parameters())


def test_the_sweep_covers_every_float_parameter():
    seen = {n for n, _ in CASES}
    assert {"he_normal", "he_uniform", "xavier_uniform", "truncated_normal", "variance_scaling", "orthogonal",
            "sparse", "constant", "eye", "uniform", "normal"} <= seen
    assert ("he_normal", "a") in CASES and ("truncated_normal", "b") in CASES


def _call(name, param, value, out):
    kw = {param: value}
    if name == "sparse" and param != "sparsity":
        kw["sparsity"] = 0.5
    return getattr(fastinit, name)(out=out, **kw)


def _buffer(name, dtype):
    shape = (6, 4, 3, 3) if name == "dirac" else (8, 8)
    return np.full(shape, 7, dtype=fastinit._validate.as_dtype(dtype))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")], ids=str)
@pytest.mark.parametrize("name,param", CASES, ids=lambda c: str(c))
def test_nan_and_infinity_are_value_errors_naming_the_parameter(name, param, value):
    out = _buffer(name, np.float32)
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        _call(name, param, value, out)
    assert (out == 7).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, "bfloat16"], ids=str)
@pytest.mark.parametrize("value", [1e200, -1e200, 1e38, 3.3e38, 1e300], ids=str)
@pytest.mark.parametrize("name,param", CASES, ids=lambda c: str(c))
def test_huge_values_fill_finite_values_or_raise_first(name, param, value, dtype):
    out = _buffer(name, dtype)
    try:
        _call(name, param, value, out)
    except (ValueError, OverflowError):
        assert (out.astype(np.float64) == 7).all()
        return
    assert np.isfinite(out.astype(np.float64)).all()


def test_leaky_relu_slope_beyond_float_squares():
    w = fastinit.he_normal((256, 256), a=1e200, dtype=np.float64, rng=0)
    # gain sqrt(2 / (1 + a^2)) = sqrt(2) / a when a^2 overflows
    assert w.std() == pytest.approx(np.sqrt(2) / 1e200 / 16, rel=0.02)


def test_float64_uniform_beyond_float64_range_is_an_overflow_error_as_numpy():
    with pytest.raises(OverflowError):
        np.random.default_rng(0).uniform(-1e308, 1e308, 5)
    with pytest.raises(OverflowError, match="high - low"):
        fastinit.default_rng(0).uniform(-1e308, 1e308, 5)
    out = np.full(5, 7.0)
    with pytest.raises(OverflowError):
        fastinit.uniform(out=out, low=-1e308, high=1e308)
    assert (out == 7).all()


def test_bfloat16_limits_are_its_own():
    with pytest.raises(OverflowError, match=r"largest bfloat16 \(3\.3895e\+38\)"):
        fastinit.normal((10**5,), mean=3.395e38, std=1e35, dtype="bfloat16", rng=0)
    x = fastinit.normal((10**5,), mean=3.38e38, std=1e34, dtype="bfloat16", rng=0)
    assert np.isfinite(x.astype(np.float64)).all()
    with pytest.raises(OverflowError, match="bfloat16"):
        fastinit.orthogonal((4, 4), gain=3.39e38, dtype="bfloat16", rng=0)


def test_a_window_narrower_than_the_density_varies_is_uniform():
    """std = 1e200 on [-2, 2]: the density is flat across the window (to far
    below 2^-52); version 2 samples the window's uniform law instead of
    rounding Phi(b) - Phi(a) to nothing."""
    x = fastinit.truncated_normal((10**5,), std=1e200, rng=0).astype(np.float64)
    assert x.min() >= -2 and x.max() <= 2
    assert stats.kstest(x, stats.uniform(-2, 4).cdf).pvalue > 1e-3


@pytest.mark.parametrize("dtype,start", [(np.float32, 2**64 - 64), (np.float64, 2**63 - 40)])
def test_sparse_checks_its_keys_address_before_writing(dtype, start):
    b = np.full((8, 8), 7, dtype=dtype)
    with pytest.raises(ValueError, match="start") as err:
        fastinit.sparse(out=b, sparsity=0.5, stream=0, start=start)
    assert (b == 7).all()
    assert str(start) in str(err.value)  # the caller's own start, not a derived range
