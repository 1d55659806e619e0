"""The truncated normal over windows of every width and place, in every dtype.

Since stream version 2 a 32-bit output's window of probability below 1/16
is computed in float64 (one word per element), so a window 30 std out or
1e-6 std wide is sampled at the resolution of the uniform, not quantized by
float32 probabilities or by the range of a float32 erfinv polynomial."""

import numpy as np
import pytest
from scipy import stats

import fastinit
from reference import bits

DTYPES = [np.float32, np.float64, np.float16, "bfloat16"]

# windows in standard deviations: (alpha, width)
STARTS = [-30.5, -8.0, -3.0, -1e-6, 0.0, 2.0, 5.5, 7.5, 8.0, 29.0]
WIDTHS = [1e-6, 1e-4, 0.01, 0.5, 3.0]
MEAN, STD = 0.1, 0.02  # Keras-sized weights, away from 0 so that scaling is exercised
N = 20_000


def _as_continuous(x, dt, ref, lo_b, hi_b, seed):
    """Undo the rounding to the output type exactly: each value stands for
    the cell of reals that round to it (within [lo_b, hi_b]); draw the real
    from the reference law restricted to that cell.  The result has the
    reference law exactly when the cells hold the right masses, so a
    continuous test applies whatever the dtype and the window's width."""
    v = x.astype(np.float64)
    uniq, inv = np.unique(v, return_inverse=True)
    typed = np.array(uniq, dtype=dt)
    b = bits(typed).astype(np.int64)
    utype = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
    sign_bit = 1 << (8 * dt.itemsize - 1)
    # sign and magnitude: b + 1 is the next value away from zero, b - 1 the
    # next towards it, and beside +-0 lies the other sign's smallest subnormal
    up = (b + 1).astype(utype).view(dt).astype(np.float64)
    towards = np.where((b & (sign_bit - 1)) == 0, (b ^ sign_bit) + 1, b - 1)
    down = towards.astype(utype).view(dt).astype(np.float64)
    lo = np.minimum((uniq + down) / 2, (uniq + up) / 2)
    hi = np.maximum((uniq + down) / 2, (uniq + up) / 2)
    lo, hi = np.maximum(lo, lo_b), np.minimum(hi, hi_b)
    lo[0], hi[-1] = lo_b, hi_b  # the outermost values also hold what clamping kept inside
    flo, fhi = ref.cdf(lo), ref.cdf(hi)
    u = np.random.default_rng(seed).random(v.size)
    return ref.ppf(flo[inv] + (fhi[inv] - flo[inv]) * u)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("alpha", STARTS)
def test_truncated_normal_matches_scipy_over_a_grid_of_windows(dtype, alpha, width):
    dt = fastinit._validate.as_dtype(dtype)
    a, b = MEAN + alpha * STD, MEAN + (alpha + width) * STD
    lo_v, hi_v = fastinit._initializers.draws.inner_bounds(a, b, dt, closed_high=True)
    if lo_v > hi_v:  # no value of the dtype in the window: an error, not a guess
        with pytest.raises(ValueError, match="no .* value lies in"):
            fastinit.truncated_normal((N,), mean=MEAN, std=STD, a=a, b=b, dtype=dt, rng=0)
        return
    x = fastinit.truncated_normal((N,), mean=MEAN, std=STD, a=a, b=b, dtype=dt, rng=int(1000 * alpha + 7 / width) % 2**32)
    xf = x.astype(np.float64)
    assert xf.min() >= a and xf.max() <= b
    ref = stats.truncnorm((a - MEAN) / STD, (b - MEAN) / STD, loc=MEAN, scale=STD)
    y = xf if dt == np.float64 else _as_continuous(x, dt, ref, a, b, seed=3)
    assert stats.kstest(y, ref.cdf).pvalue > 1e-4


def test_far_tail_window_is_not_a_constant():
    x = fastinit.truncated_normal((10**5,), a=8, b=9, rng=0).astype(np.float64)
    ref = stats.truncnorm(8, 9)
    assert abs(x.mean() - ref.mean()) < 5 * ref.std() / np.sqrt(x.size)
    assert np.unique(x).size > 10**4


def test_keras_sized_window_far_out():
    x = fastinit.truncated_normal((10**5,), std=0.02, a=0.16, b=0.18, rng=0).astype(np.float64)
    ref = stats.truncnorm(8, 9, scale=0.02)
    assert abs(x.mean() - ref.mean()) < 5 * ref.std() / np.sqrt(x.size)
    assert x.min() >= 0.16 and x.max() <= 0.18


def test_window_7_to_8_reaches_its_upper_part():
    x = fastinit.truncated_normal((10**5,), a=7, b=8, rng=0)
    assert x.max() > 7.5


@pytest.mark.parametrize("lo,hi", [(0.0, 1e-6), (1.0, 1.0 + 1e-5), (-1e-6, 1e-6)])
def test_narrow_float32_windows_have_the_dtype_resolution(lo, hi):
    """[0, 1e-6] used to give 8 distinct float32 values (p in float32
    around 1/2 has 2^-24 spacing); now the uniform's 2^32 levels reach the
    output, which has millions of float32 values in such a window."""
    x = fastinit.truncated_normal((10**5,), a=lo, b=hi, rng=0)
    lo32, hi32 = fastinit._initializers.draws.inner_bounds(lo, hi, np.dtype(np.float32), closed_high=True)
    values = int(bits(np.array([hi32, lo32], np.float32)) @ np.array([1, -1])) if lo32 >= 0 else 10**9
    assert np.unique(x).size > 0.9 * min(x.size, values)
    ref = stats.truncnorm(lo, hi)
    y = _as_continuous(x, np.dtype(np.float32), ref, lo, hi, seed=5)
    assert stats.kstest(y, ref.cdf).pvalue > 1e-4


def test_float32_path_is_chosen_by_window_mass():
    from fastinit._initializers import draws as _draws

    f32 = np.dtype(np.float32)
    assert _draws.truncated_normal(0.0, 1.0, -2.0, 2.0, f32).kind == _draws.TRUNCNORM
    assert _draws.truncated_normal(0.0, 0.02, -2.0, 2.0, f32).kind == _draws.TRUNCNORM  # torch's default a, b
    assert _draws.truncated_normal(0.0, 1.0, 1.5, 10.0, f32).kind == _draws.TRUNCNORM   # mass 0.067
    assert _draws.truncated_normal(0.0, 1.0, 1.6, 10.0, f32).kind == _draws.TRUNCNORM_F64  # mass 0.055
    assert _draws.truncated_normal(0.0, 1.0, 1.6, 10.0, np.dtype(np.float64)).kind == _draws.TRUNCNORM


def test_windows_beyond_float64_raise():
    with pytest.raises(ValueError, match="too far in the tail"):
        fastinit.truncated_normal((4,), a=40, b=41, rng=0)
